//! The poll schedule of the official SDKs and an overall deadline, as pure functions of milliseconds.

/// Delay before the first poll and the base of the doubling.
pub const FIRST_DELAY_MS: u32 = 1_000;
/// The delay never grows past this.
pub const MAX_DELAY_MS: u32 = 5_000;
/// The delay doubles after this many polls.
pub const POLLS_PER_STEP: u32 = 3;
/// How long a client keeps polling one task before it gives up: the service answers in
/// 15-30 s, so three minutes covers a long queue without leaving a shopper waiting forever.
pub const DEFAULT_DEADLINE_MS: u64 = 180_000;

/// The wait before poll number `attempt` (0-based), as the official SDKs do it:
/// 1 s, doubling every 3 polls, capped at 5 s.
pub fn delay_before_poll_ms(attempt: u32) -> u32 {
    let doublings = (attempt / POLLS_PER_STEP).min(8);
    FIRST_DELAY_MS
        .saturating_mul(1 << doublings)
        .min(MAX_DELAY_MS)
}

/// Whether a client that started at `started_ms` must stop polling at `now_ms`.
pub fn deadline_passed(started_ms: f64, now_ms: f64, deadline_ms: u64) -> bool {
    now_ms - started_ms >= deadline_ms as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_starts_at_one_second_doubles_every_three_polls_and_caps_at_five() {
        let delays: Vec<u32> = (0..10).map(delay_before_poll_ms).collect();
        assert_eq!(
            delays,
            vec![1000, 1000, 1000, 2000, 2000, 2000, 4000, 4000, 4000, 5000]
        );
        assert_eq!(delay_before_poll_ms(u32::MAX), MAX_DELAY_MS);
    }

    #[test]
    fn the_deadline_is_inclusive() {
        assert!(!deadline_passed(0.0, 179_999.0, DEFAULT_DEADLINE_MS));
        assert!(deadline_passed(0.0, 180_000.0, DEFAULT_DEADLINE_MS));
    }
}

//! The dashboard's rules: how long its figures are kept and how many funnel events one shopper may send, counted per minute in memory.
//!
//! The figures themselves (one anonymous row per job and the widget's funnel events) are
//! kept by the state store ([`crate::store::StateStore`]); see its SQLite tables for what
//! each row holds and why no shopper key, photo or URL is in a job's row.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// How long funnel events and job rows are kept for the dashboard.
pub const KEPT_FOR: Duration = Duration::from_secs(90 * 24 * 3600);
/// Funnel events one shopper may send per minute unless `TRYON_EVENTS_PER_MINUTE` says
/// otherwise: a shopper's whole try-on is about ten.
pub const DEFAULT_EVENTS_PER_MINUTE: u32 = 60;
/// The length of the event rate window.
const RATE_WINDOW_MS: u64 = 60_000;

/// The per-shopper rate of funnel events: a fixed one-minute window per shopper key, in
/// memory (a limit against abuse may start afresh after a restart).
pub struct EventRate {
    per_minute: u32,
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

impl EventRate {
    /// At most `per_minute` events per shopper and minute; 0 turns the limit off.
    pub fn new(per_minute: u32) -> EventRate {
        EventRate {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// The limit per shopper and minute (0: none).
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// Counts `count` more events of `shopper` at `now_ms` if they fit in its minute;
    /// otherwise counts nothing and answers the milliseconds until the minute is over.
    pub fn take(&self, shopper: &str, count: u32, now_ms: u64) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        // Old windows are dropped now and then, so that the map stays as large as one
        // minute's shoppers.
        if windows.len() > 10_000 {
            windows.retain(|_, (start, _)| now_ms.saturating_sub(*start) < RATE_WINDOW_MS);
        }
        let window = windows.entry(shopper.to_owned()).or_insert((now_ms, 0));
        if now_ms.saturating_sub(window.0) >= RATE_WINDOW_MS {
            *window = (now_ms, 0);
        }
        if window.1.saturating_add(count) > self.per_minute {
            return Err((window.0 + RATE_WINDOW_MS).saturating_sub(now_ms));
        }
        window.1 += count;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_rate_allows_a_minute_of_events_and_says_when_more_fit() {
        let rate = EventRate::new(5);
        assert_eq!(rate.take("t:a", 3, 1_000), Ok(()));
        assert_eq!(rate.take("t:a", 2, 2_000), Ok(()));
        assert_eq!(rate.take("t:a", 1, 3_000), Err(58_000));
        assert_eq!(rate.take("t:b", 5, 3_000), Ok(()), "per shopper");
        assert_eq!(rate.take("t:a", 5, 61_000), Ok(()), "a new minute");
        assert_eq!(EventRate::new(0).take("t:a", 1000, 0), Ok(()), "0 is off");
    }
}

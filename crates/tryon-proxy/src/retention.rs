//! The retention sweeper: deletes photos, results, cut-outs, finished jobs and idempotency keys older than `TRYON_RETENTION_HOURS`.
//!
//! Shopper photos are personal data and the shop keeps them no longer than it needs
//! them: by default 24 h, as long as the upstream keeps its own results. The ledger is
//! kept (it holds no photo and no address), and daily counts are pruned after two days.
//! The dashboard's anonymous job rows and the widget's funnel events are kept 90 days
//! ([`analytics::KEPT_FOR`]), whatever the retention period.

use std::time::Duration;

use crate::analytics;
use crate::policy::today;
use crate::state::AppState;
use crate::storage::FileId;

/// How often the sweeper runs for a retention period: a quarter of it, between one
/// second (tests use very short periods) and ten minutes.
pub fn sweep_interval(retention: Duration) -> Duration {
    (retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(600))
}

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Swept {
    pub files: u64,
    pub jobs: u64,
    /// Idempotency keys forgotten (those of swept jobs included).
    pub keys: u64,
    /// Funnel events and dashboard job rows older than 90 days.
    pub events: u64,
    pub job_rows: u64,
}

/// Runs [`sweep_once`] at start and then every sweep interval of the proxy's clock, for
/// the life of the proxy.
pub async fn run_sweeper(state: AppState) {
    let mut shutdown = state.shutdown.clone();
    let interval = sweep_interval(state.retention);
    loop {
        let swept = sweep_once(&state).await;
        if swept != Swept::default() {
            tracing::info!(
                files = swept.files,
                jobs = swept.jobs,
                keys = swept.keys,
                events = swept.events,
                job_rows = swept.job_rows,
                "retention sweep"
            );
        }
        tokio::select! {
            () = state.clock.sleep(interval) => {}
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        }
    }
}

/// Deletes everything older than the retention period, once.
pub async fn sweep_once(state: &AppState) -> Swept {
    let cutoff = state
        .clock
        .unix_ms()
        .saturating_sub(state.retention.as_millis() as u64);
    let mut swept = Swept::default();
    match state.store.files_before(cutoff).await {
        Ok(ids) => {
            for raw in ids {
                if let Some(id) = FileId::parse(&raw)
                    && let Err(err) = state.storage.delete(&id).await
                {
                    // Kept in the index, so the next sweep tries again.
                    tracing::error!(file = %raw, error = %err, "an expired file could not be deleted");
                    continue;
                }
                if state.store.remove_file(&raw).await.is_ok() {
                    swept.files += 1;
                }
            }
        }
        Err(err) => tracing::error!(error = %err, "the file index could not be read"),
    }
    for job in state.jobs.finished_before(cutoff).await {
        state.jobs.remove(&job.id).await;
        swept.jobs += 1;
    }
    // A key older than the period is forgotten even if its job is not finished yet: the
    // widget repeats a create within seconds, never after a retention period.
    swept.keys = state.jobs.forget_keys_before(cutoff).await;
    if let Err(err) = state.store.prune_days(today(&state.clock) - 2).await {
        tracing::error!(error = %err, "old daily counts could not be pruned");
    }
    let kept_since = state
        .clock
        .unix_ms()
        .saturating_sub(analytics::KEPT_FOR.as_millis() as u64);
    match state.store.prune_stats_before(kept_since).await {
        Ok((events, job_rows)) => {
            swept.events = events;
            swept.job_rows = job_rows;
        }
        Err(err) => tracing::error!(error = %err, "old funnel events could not be pruned"),
    }
    swept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_interval_follows_the_retention_within_bounds() {
        assert_eq!(
            sweep_interval(Duration::from_secs(24 * 3600)),
            Duration::from_secs(600)
        );
        assert_eq!(
            sweep_interval(Duration::from_secs(8)),
            Duration::from_secs(2)
        );
        assert_eq!(
            sweep_interval(Duration::from_millis(100)),
            Duration::from_secs(1)
        );
    }
}

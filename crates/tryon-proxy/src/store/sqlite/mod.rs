//! The embedded state store: one SQLite file in the data folder (`jobs.sqlite3`), for a proxy that runs alone.
//!
//! Writes are small statements done synchronously under a mutex per table group: SQLite
//! in WAL mode finishes them in well under a millisecond, far less than the network calls
//! that cause them, and doing them in order keeps an older state from overwriting a newer
//! one. Each group has its own connection to the one file, as before the seam existed.

mod analytics;
mod jobs;
mod ledger;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tryon_clock::Clock;

use tryon_api::ErrorKind;

use super::{
    CapCheck, FileEntry, FileKind, JobFilter, JobRow, JobStat, StateStore, StepCount, StoreError,
    StoredEvent, StoredJob, StoredKey, Totals, UploadLimits, UploadTake,
};
use analytics::Analytics;
use jobs::JobDb;
use ledger::Ledger;

/// One connection to the file, set up as every table group's: WAL with normal syncing,
/// and a short wait for another group's connection's lock, which is better than failing
/// a save.
fn connect(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    let connection = rusqlite::Connection::open(path)?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(connection)
}

/// The state in one SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    jobs: JobDb,
    ledger: Ledger,
    analytics: Analytics,
}

impl SqliteStore {
    /// Opens (and creates or brings up to date) the database at `path`; the ends of jobs
    /// are read from `clock`, the proxy's own.
    pub fn open(path: &Path, clock: Clock) -> Result<SqliteStore, StoreError> {
        Ok(SqliteStore {
            path: path.to_owned(),
            jobs: JobDb::open(path)?.with_clock(clock),
            ledger: Ledger::open(path)?,
            analytics: Analytics::open(path)?,
        })
    }
}

#[async_trait]
impl StateStore for SqliteStore {
    fn describe(&self) -> String {
        format!("SQLite at {}", self.path.display())
    }

    async fn writable(&self) -> Result<(), StoreError> {
        self.ledger.writable()
    }

    async fn save_new_job(
        &self,
        job: JobRow<'_>,
        key: Option<(&str, &str)>,
    ) -> Result<(), StoreError> {
        self.jobs.save_new(
            job.id,
            job.created_ms,
            job.shopper,
            job.request,
            job.record,
            key,
        )
    }

    async fn delete_job(&self, id: &str) -> Result<(), StoreError> {
        self.jobs.delete(id)
    }

    async fn load_jobs(&self) -> Result<Vec<StoredJob>, StoreError> {
        self.jobs.load_all()
    }

    async fn load_job(&self, id: &str) -> Result<Option<StoredJob>, StoreError> {
        self.jobs.load_one(id)
    }

    async fn job_for_key(
        &self,
        shopper: &str,
        key: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        self.jobs.key(shopper, key)
    }

    async fn count_unfinished(&self) -> Result<u64, StoreError> {
        self.jobs.count_unfinished()
    }

    async fn admit_job(
        &self,
        job: JobRow<'_>,
        key: Option<(&str, &str)>,
        day: i64,
        check: &CapCheck,
    ) -> Result<Result<(), ErrorKind>, StoreError> {
        let totals = self.ledger.day_totals(day)?;
        let unfinished = self.jobs.count_unfinished()?;
        if let Err(refusal) = check(totals, unfinished) {
            return Ok(Err(refusal));
        }
        self.save_new_job(job, key).await?;
        Ok(Ok(()))
    }

    async fn job_ids(&self, filter: JobFilter<'_>) -> Result<Vec<String>, StoreError> {
        self.jobs.ids(filter)
    }

    async fn load_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.jobs.load_keys()
    }

    async fn delete_keys_before(&self, cutoff_ms: u64) -> Result<(), StoreError> {
        self.jobs.delete_keys_before(cutoff_ms)
    }

    async fn delete_keys_of(&self, shopper: &str) -> Result<(), StoreError> {
        self.jobs.delete_keys_of(shopper)
    }

    async fn bill(
        &self,
        reference: &str,
        day: i64,
        at_ms: u64,
        model: &str,
        images: u32,
        cny: f64,
    ) -> Result<bool, StoreError> {
        self.ledger.bill(reference, day, at_ms, model, images, cny)
    }

    async fn day_totals(&self, day: i64) -> Result<Totals, StoreError> {
        self.ledger.day_totals(day)
    }

    async fn totals_by_model(&self) -> Result<Vec<(String, u64, f64)>, StoreError> {
        self.ledger.totals_by_model()
    }

    async fn take_shopper_slot(
        &self,
        day: i64,
        shopper: &str,
        limit: u32,
    ) -> Result<bool, StoreError> {
        self.ledger.take_shopper_slot(day, shopper, limit)
    }

    async fn refund_shopper_slot(&self, day: i64, shopper: &str) -> Result<(), StoreError> {
        self.ledger.refund_shopper_slot(day, shopper)
    }

    async fn shopper_used(&self, day: i64, shopper: &str) -> Result<u32, StoreError> {
        self.ledger.shopper_used(day, shopper)
    }

    async fn take_upload(
        &self,
        shopper: &str,
        day: i64,
        now_ms: u64,
        bytes: u64,
        limits: UploadLimits,
    ) -> Result<UploadTake, StoreError> {
        self.ledger.take_upload(shopper, day, now_ms, bytes, limits)
    }

    async fn refund_upload(&self, id: i64) -> Result<(), StoreError> {
        self.ledger.refund_upload(id)
    }

    async fn uploads_used(
        &self,
        shopper: &str,
        day: i64,
        now_ms: u64,
    ) -> Result<(u32, u64), StoreError> {
        self.ledger.uploads_used(shopper, day, now_ms)
    }

    async fn prune_days(&self, day: i64) -> Result<(), StoreError> {
        self.ledger.prune_days(day)
    }

    async fn add_file(
        &self,
        id: &str,
        kind: FileKind,
        shopper: &str,
        created_ms: u64,
    ) -> Result<(), StoreError> {
        self.ledger.add_file(id, kind, shopper, created_ms)
    }

    async fn file(&self, id: &str) -> Result<Option<FileEntry>, StoreError> {
        self.ledger.file(id)
    }

    async fn files_of(&self, shopper: &str) -> Result<Vec<String>, StoreError> {
        self.ledger.files_of(shopper)
    }

    async fn files_before(&self, cutoff_ms: u64) -> Result<Vec<String>, StoreError> {
        self.ledger.files_before(cutoff_ms)
    }

    async fn remove_file(&self, id: &str) -> Result<(), StoreError> {
        self.ledger.remove_file(id)
    }

    async fn record_events(&self, events: &[StoredEvent]) -> Result<(), StoreError> {
        self.analytics.record_events(events)
    }

    async fn link_product(&self, job_id: &str, product: &str) -> Result<(), StoreError> {
        self.analytics.link_product(job_id, product)
    }

    async fn jobs_since(&self, since_ms: u64, since_day: i64) -> Result<Vec<JobStat>, StoreError> {
        self.analytics.jobs_since(since_ms, since_day)
    }

    async fn funnel_since(&self, since_ms: u64) -> Result<Vec<StepCount>, StoreError> {
        self.analytics.funnel_since(since_ms)
    }

    async fn prune_stats_before(&self, cutoff_ms: u64) -> Result<(u64, u64), StoreError> {
        self.analytics.prune_before(cutoff_ms)
    }

    async fn forget_events_of(&self, shopper: &str) -> Result<u64, StoreError> {
        self.analytics.forget_shopper(shopper)
    }
}

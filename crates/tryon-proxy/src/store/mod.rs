//! The state seam: everything the proxy must remember (jobs, idempotency keys, the spend ledger, daily counts, the file index, the dashboard's rows), behind one trait with two implementations.
//!
//! [`sqlite::SqliteStore`] keeps it in one SQLite file in the data folder: the embedded
//! default, nothing to install. [`postgres::PgStore`] keeps it in PostgreSQL
//! (`TRYON_DATABASE_URL=postgres://...`), so that several replicas of one shop share it;
//! its schema is made by the migrations in `crates/tryon-proxy/migrations/postgres`.
//!
//! Architecture invariant: this module imports no service of the proxy (jobs, admission,
//! policy, routes); they import it. Its callers pass what a row needs (the day, the clock's
//! time), so the rules of days, caps and limits stay with the services.

pub mod postgres;
mod record;
pub mod sqlite;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tryon_api::ErrorKind;
use tryon_api::funnel::FunnelStep;
use tryon_api::wire::CreateTaskRequest;

pub use record::JobRecord;

/// One job as stored.
#[derive(Debug, Clone)]
pub struct StoredJob {
    pub id: String,
    pub created_ms: u64,
    /// The shopper key of the caller who created it; only that shopper may see it.
    pub shopper: String,
    pub request: CreateTaskRequest,
    pub record: JobRecord,
}

/// A job to write: borrowed from the live job, so that a save copies nothing.
#[derive(Debug, Clone, Copy)]
pub struct JobRow<'a> {
    pub id: &'a str,
    pub created_ms: u64,
    pub shopper: &'a str,
    pub request: &'a CreateTaskRequest,
    pub record: &'a JobRecord,
}

/// One idempotency key as stored: the shopper's key of a create, the fingerprint of the
/// body it came with, and the job it made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub shopper: String,
    pub key: String,
    pub fingerprint: String,
    pub job_id: String,
    pub created_ms: u64,
}

/// What a hosted file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A shopper's uploaded photo (or garment picture).
    Upload,
    /// A try-on result kept from the upstream.
    Result,
    /// A garment crop from segmentation: usable as a garment URL.
    Crop,
    /// A full-canvas garment mask from segmentation.
    Parsing,
}

impl FileKind {
    /// The kind as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Upload => "upload",
            FileKind::Result => "result",
            FileKind::Crop => "crop",
            FileKind::Parsing => "parsing",
        }
    }

    /// The kind of a stored name; only the four above are ever written.
    pub fn parse(raw: &str) -> FileKind {
        match raw {
            "result" => FileKind::Result,
            "crop" => FileKind::Crop,
            "parsing" => FileKind::Parsing,
            _ => FileKind::Upload,
        }
    }
}

/// One hosted file's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub kind: FileKind,
    pub shopper: String,
    pub created_ms: u64,
}

/// What one day (or all days) cost.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Totals {
    /// Billed images of the try-on models (segmentation inputs are not try-on images).
    pub tryon_images: u64,
    /// Billed images of every model.
    pub all_images: u64,
    pub cny: f64,
}

/// How many uploads one shopper may store: a count per rolling hour and bytes per
/// Beijing day; 0 turns either off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UploadLimits {
    pub per_hour: u32,
    pub bytes_per_day: u64,
}

impl UploadLimits {
    /// Whether either limit is on.
    pub fn any(self) -> bool {
        self.per_hour > 0 || self.bytes_per_day > 0
    }
}

/// The answer of [`StateStore::take_upload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadTake {
    /// Counted; the id gives it back with [`StateStore::refund_upload`] if storing fails.
    Taken(i64),
    /// Not counted: one limit or both are reached. Both are reported, so that the caller
    /// can name the reason and say when the later of the two frees.
    Full {
        /// The hour's count is used up, and a slot frees at this moment.
        hourly_frees_at_ms: Option<u64>,
        /// Today's bytes would be exceeded; they start again at the next Beijing day.
        daily: bool,
    },
}

/// The length of the rolling upload window.
pub const UPLOAD_WINDOW_MS: u64 = 3600 * 1000;

/// One funnel event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub at_ms: u64,
    pub product: String,
    pub step: FunnelStep,
    pub shopper: String,
}

/// One job's row for the dashboard and the export.
#[derive(Debug, Clone, PartialEq)]
pub struct JobStat {
    pub id: String,
    pub created_ms: u64,
    /// When the proxy saw it end; `None` while it runs, and for jobs saved before this
    /// row existed.
    pub finished_ms: Option<u64>,
    /// The wire state (`SUCCEEDED`, `FAILED`, ...).
    pub status: String,
    /// The catalogue code it failed with.
    pub code: Option<String>,
    pub model: String,
    pub upstream: String,
    /// The product, when a funnel event tied the job to one.
    pub product: Option<String>,
    /// Billed images and their cost, from the ledger.
    pub images: u64,
    pub cny: f64,
}

/// How often one step of one product was reached, and by how many shoppers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepCount {
    /// `None` for the total over every product.
    pub product: Option<String>,
    pub step: FunnelStep,
    pub events: u64,
    pub shoppers: u64,
}

/// The shop's caps, as the caller's policy judges them: given the day's bills and the
/// jobs not yet ended, whether one more try-on may start, or the refusal.
pub type CapCheck = dyn Fn(Totals, u64) -> Result<(), ErrorKind> + Send + Sync;

/// Which stored jobs [`StateStore::job_ids`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobFilter<'a> {
    /// Every job of this shopper.
    OfShopper(&'a str),
    /// Ended jobs created before this time (Unix ms).
    FinishedBefore(u64),
}

/// A change another replica committed (or this one: a replica hears its own too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The job with this id was saved or deleted.
    Job(String),
    /// A job joined the queue of jobs waiting to be sent.
    Queued,
    /// The connection that brings changes was lost and is back: some may have been
    /// missed, so everything watched is to be read again.
    Resync,
}

/// Why the state could not be read or written. The message names the backend and the
/// operation, never a password (the URL's password is never part of it).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("job database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database (PostgreSQL): {0}")]
    Postgres(#[from] sqlx::Error),
    #[error("database schema (PostgreSQL): {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("job database row could not be read: {0}")]
    Json(#[from] serde_json::Error),
}

/// Everything the proxy remembers. Every change is one statement or one transaction, so
/// a failure leaves nothing half-written; every answer is the state after all earlier
/// calls of this process.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// What holds the state, for the logs and `/readyz` (no password).
    fn describe(&self) -> String;

    /// Whether the store answers a write: for the readiness check.
    async fn writable(&self) -> Result<(), StoreError>;

    // Jobs and idempotency keys.

    /// Writes a new job and, when its create carried one, its idempotency key
    /// (`(key, fingerprint)`), with its dashboard row, in one transaction: after a crash
    /// either both are there or neither is, so a repeat can never find a key without its
    /// job nor a job made twice for one key.
    async fn save_new_job(
        &self,
        job: JobRow<'_>,
        key: Option<(&str, &str)>,
    ) -> Result<(), StoreError>;

    /// Writes a new job as [`StateStore::save_new_job`] does once `check` accepts the
    /// shop's bills of `day` and the number of jobs not yet ended (each may still bill an
    /// image); answers the check's refusal otherwise, with nothing written. Check and
    /// write are one step for every process on the store (PostgreSQL: a transaction under
    /// the shop's lock; SQLite has one process, whose caller holds its admission gate),
    /// so a burst spread over replicas cannot together overshoot a cap.
    async fn admit_job(
        &self,
        job: JobRow<'_>,
        key: Option<(&str, &str)>,
        day: i64,
        check: &CapCheck,
    ) -> Result<Result<(), ErrorKind>, StoreError>;

    /// Writes the job's current state (and its dashboard row), replacing the previous one.
    async fn save_job(&self, job: JobRow<'_>) -> Result<(), StoreError> {
        self.save_new_job(job, None).await
    }

    /// Deletes a job's row and the idempotency keys that lead to it, in one transaction.
    /// Its anonymous dashboard row stays, for the month's figures.
    async fn delete_job(&self, id: &str) -> Result<(), StoreError>;

    /// Every stored job, oldest first (the order in which queued ones are resumed).
    async fn load_jobs(&self) -> Result<Vec<StoredJob>, StoreError>;

    /// Every stored idempotency key.
    async fn load_keys(&self) -> Result<Vec<StoredKey>, StoreError>;

    /// Forgets the idempotency keys made before `cutoff_ms`.
    async fn delete_keys_before(&self, cutoff_ms: u64) -> Result<(), StoreError>;

    /// Forgets every idempotency key of `shopper`.
    async fn delete_keys_of(&self, shopper: &str) -> Result<(), StoreError>;

    /// One stored job, as it is now.
    async fn load_job(&self, id: &str) -> Result<Option<StoredJob>, StoreError>;

    /// The job that `shopper`'s create with `key` made, and the fingerprint of that
    /// create's body: `(fingerprint, job id)`.
    async fn job_for_key(
        &self,
        shopper: &str,
        key: &str,
    ) -> Result<Option<(String, String)>, StoreError>;

    // What several replicas share. A store no other process uses (SQLite) answers these
    // as the only process: every claim is its own, nothing changes behind its back.

    /// Whether other replicas may share this store: jobs may then be made, changed and run
    /// by another process, which the callers below coordinate with.
    fn is_shared(&self) -> bool {
        false
    }

    /// Marks a never-sent job as being sent, unless another replica did or it was
    /// cancelled: answers whether this caller may send it. Exactly one caller wins, so a
    /// job is never sent twice.
    /// `replica` claims it at `now_ms`; both are written into the record.
    async fn claim_submission(
        &self,
        _id: &str,
        _replica: &str,
        _now_ms: u64,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// Cancels a job that nobody claimed for sending, as one step with the claim's check:
    /// answers whether it did (false: it is being sent, or it ended).
    async fn cancel_unsent(&self, _id: &str) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// Ids of the jobs waiting to be sent: never claimed, not ended, oldest first.
    async fn queued_job_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    /// How many jobs have not ended: each may still bill one image.
    async fn count_unfinished(&self) -> Result<u64, StoreError>;

    /// Ids of the stored jobs `filter` picks.
    async fn job_ids(&self, filter: JobFilter<'_>) -> Result<Vec<String>, StoreError>;

    /// How many jobs wait to be sent before the job `id`, while it waits; `None` once it
    /// is being sent or has ended.
    async fn queue_position(&self, _id: &str) -> Result<Option<u32>, StoreError> {
        Ok(None)
    }

    /// Takes the lease `name` for `holder` until `now_ms + ttl_ms`, or renews it: answers
    /// whether `holder` holds it now. Another holder's lease is taken only once expired.
    async fn hold_lease(
        &self,
        _name: &str,
        _holder: &str,
        _now_ms: u64,
        _ttl_ms: u64,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// Whether someone holds the lease `name` at `now_ms` (it has not expired).
    async fn lease_held(&self, _name: &str, _now_ms: u64) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// Lets the lease `name` go if `holder` holds it, so that another may take it now.
    async fn release_lease(&self, _name: &str, _holder: &str) -> Result<(), StoreError> {
        Ok(())
    }

    /// The changes other replicas make, as they commit; `None` for a store no other
    /// process shares.
    async fn watch_changes(&self) -> Result<Option<mpsc::Receiver<Change>>, StoreError> {
        Ok(None)
    }

    // The spend ledger and the daily counts.

    /// Records a billed call once; answers false when `reference` was already billed.
    async fn bill(
        &self,
        reference: &str,
        day: i64,
        at_ms: u64,
        model: &str,
        images: u32,
        cny: f64,
    ) -> Result<bool, StoreError>;

    /// What `day` cost so far.
    async fn day_totals(&self, day: i64) -> Result<Totals, StoreError>;

    /// What every recorded day cost, by model: `(model, images, cny)`, by model name.
    async fn totals_by_model(&self) -> Result<Vec<(String, u64, f64)>, StoreError>;

    /// Counts one more try-on for `shopper` on `day` if `limit` allows it; answers whether
    /// it did. Check and count are one statement, so concurrent creates cannot both take
    /// the last one.
    async fn take_shopper_slot(
        &self,
        day: i64,
        shopper: &str,
        limit: u32,
    ) -> Result<bool, StoreError>;

    /// Gives back a try-on counted by [`StateStore::take_shopper_slot`].
    async fn refund_shopper_slot(&self, day: i64, shopper: &str) -> Result<(), StoreError>;

    /// Try-ons `shopper` started on `day`.
    async fn shopper_used(&self, day: i64, shopper: &str) -> Result<u32, StoreError>;

    /// Counts one more stored upload of `bytes` for `shopper` at `now_ms` (on Beijing day
    /// `day`) if `limits` allow it, or answers which limit is reached. Check and count are
    /// one transaction that shuts out every other upload of the shopper meanwhile.
    async fn take_upload(
        &self,
        shopper: &str,
        day: i64,
        now_ms: u64,
        bytes: u64,
        limits: UploadLimits,
    ) -> Result<UploadTake, StoreError>;

    /// Gives back an upload counted by [`StateStore::take_upload`] that was not stored.
    async fn refund_upload(&self, id: i64) -> Result<(), StoreError>;

    /// Uploads `shopper` stored within the hour before `now_ms`, and their bytes on `day`.
    async fn uploads_used(
        &self,
        shopper: &str,
        day: i64,
        now_ms: u64,
    ) -> Result<(u32, u64), StoreError>;

    /// Forgets the daily counts (try-ons and uploads) of days before `day`.
    async fn prune_days(&self, day: i64) -> Result<(), StoreError>;

    // The index of hosted files.

    /// Records a hosted file.
    async fn add_file(
        &self,
        id: &str,
        kind: FileKind,
        shopper: &str,
        created_ms: u64,
    ) -> Result<(), StoreError>;

    /// A hosted file's entry.
    async fn file(&self, id: &str) -> Result<Option<FileEntry>, StoreError>;

    /// Ids of the files of `shopper`.
    async fn files_of(&self, shopper: &str) -> Result<Vec<String>, StoreError>;

    /// Ids of the files created before `cutoff_ms`.
    async fn files_before(&self, cutoff_ms: u64) -> Result<Vec<String>, StoreError>;

    /// Forgets a hosted file.
    async fn remove_file(&self, id: &str) -> Result<(), StoreError>;

    // The dashboard's rows.

    /// Stores a batch of funnel events in one transaction: all of them or none.
    async fn record_events(&self, events: &[StoredEvent]) -> Result<(), StoreError>;

    /// Ties a job to its product, unless an earlier event already did.
    async fn link_product(&self, job_id: &str, product: &str) -> Result<(), StoreError>;

    /// The job rows created at or after `since_ms` (on or after Beijing day `since_day`),
    /// oldest first, with what the ledger billed for each.
    async fn jobs_since(&self, since_ms: u64, since_day: i64) -> Result<Vec<JobStat>, StoreError>;

    /// Events and distinct shoppers per step since `since_ms`: per product, and in total
    /// (a shopper who reached a step on two products counts once in the total).
    async fn funnel_since(&self, since_ms: u64) -> Result<Vec<StepCount>, StoreError>;

    /// Deletes the events and job rows older than `cutoff_ms`; answers how many of each.
    async fn prune_stats_before(&self, cutoff_ms: u64) -> Result<(u64, u64), StoreError>;

    /// Deletes every funnel event of `shopper` (who deletes their data); answers how many.
    async fn forget_events_of(&self, shopper: &str) -> Result<u64, StoreError>;
}

/// A store that fails answers the shopper 503 `Proxy.DatabaseUnavailable` (nothing was
/// changed; trying again later helps) and logs the cause, which never reaches the browser.
/// A row that cannot be read back is a fault of the proxy itself, answered as internal.
impl From<StoreError> for crate::error::ApiError {
    fn from(err: StoreError) -> crate::error::ApiError {
        match err {
            StoreError::Json(_) => crate::error::ApiError::internal(err),
            _ => {
                tracing::error!(cause = %err, "the state store failed");
                crate::error::ApiError::new(tryon_api::ErrorKind::DatabaseUnavailable)
            }
        }
    }
}

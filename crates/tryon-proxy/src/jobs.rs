//! Job records (the proxy's own view of each try-on task) and the background poll loop that keeps them current.
//!
//! Architecture invariant: the browser never causes an upstream query. Browsers read the
//! record kept here; exactly one worker per job talks to the upstream (a poll loop on the
//! official SDK schedule for an asynchronous adapter, the held call for a synchronous
//! one), and [`finish`] re-hosts the result before the job is shown as SUCCEEDED.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tryon_api::generation::UpstreamKind;
use tryon_api::poll::{DEFAULT_DEADLINE_MS, delay_before_poll_ms};
use tryon_api::proxy::FILES_PATH;
use tryon_api::wire::{CreateTaskRequest, Usage};
use tryon_api::{ErrorKind, IdempotencyKey, ImageFormat, TaskStatus};

use crate::error::ApiError;
use crate::policy::day_of;
use crate::state::AppState;
use crate::storage::FileId;
pub use crate::store::JobRecord;
use crate::store::{
    CapCheck, FileKind, JobFilter, JobRow, StateStore, StoredJob, StoredKey, Totals,
};
use crate::upstream::adapter::Hints;
use crate::upstream::{Adapter, Outcome, Progress, Times, UpstreamError};

/// One job: its id, the request it submits, and its record, which waiters can watch.
pub struct Job {
    pub id: String,
    /// The validated create body, sent upstream exactly once.
    pub request: CreateTaskRequest,
    /// When the job was accepted, in milliseconds since the Unix epoch; the poll deadline
    /// counts from here, across restarts.
    pub created_ms: u64,
    /// The shopper key of its creator: any other caller is told the job does not exist.
    pub shopper: String,
    record: watch::Sender<JobRecord>,
    db: Option<Arc<dyn StateStore>>,
    /// Held from a change to the end of its save, so that saves of one job reach the
    /// store in the order of the changes and an older state never overwrites a newer one.
    save_order: tokio::sync::Mutex<()>,
    /// Set when the job is forgotten (deleted by its shopper or the sweeper), so that a
    /// poll loop still running cannot write it back.
    deleted: AtomicBool,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.id)
            .field("record", &*self.record.borrow())
            .finish()
    }
}

impl Job {
    fn with(
        id: String,
        request: CreateTaskRequest,
        created_ms: u64,
        shopper: String,
        record: JobRecord,
        db: Option<Arc<dyn StateStore>>,
    ) -> Job {
        Job {
            id,
            request,
            created_ms,
            shopper,
            record: watch::Sender::new(record),
            db,
            save_order: tokio::sync::Mutex::new(()),
            deleted: AtomicBool::new(false),
        }
    }

    /// Whether the job was forgotten while something still held it.
    pub fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::SeqCst)
    }

    /// A job made for unit tests, stored nowhere.
    #[cfg(test)]
    pub fn for_tests() -> Job {
        Job::with(
            uuid::Uuid::new_v4().to_string(),
            CreateTaskRequest {
                model: String::new(),
                input: Default::default(),
                parameters: None,
            },
            tryon_clock::Clock::system().unix_ms(),
            String::new(),
            JobRecord::pending(UpstreamKind::Aitryon),
            None,
        )
    }

    /// Takes the record as the store holds it, waking the waiters only if it differs.
    fn take_stored(&self, stored: JobRecord) {
        self.record.send_if_modified(|record| {
            let changed = *record != stored;
            if changed {
                *record = stored;
            }
            changed
        });
    }

    /// A copy of the current record.
    pub fn snapshot(&self) -> JobRecord {
        self.record.borrow().clone()
    }

    /// A receiver that wakes on every change, for long polls.
    pub fn subscribe(&self) -> watch::Receiver<JobRecord> {
        self.record.subscribe()
    }

    /// Changes the record, wakes the waiters and saves it.
    pub async fn update(&self, change: impl FnOnce(&mut JobRecord)) {
        let _in_order = self.save_order.lock().await;
        self.record.send_modify(change);
        self.save().await;
    }

    /// The job as a row to write.
    fn row<'a>(&'a self, record: &'a JobRecord) -> JobRow<'a> {
        JobRow {
            id: &self.id,
            created_ms: self.created_ms,
            shopper: &self.shopper,
            request: &self.request,
            record,
        }
    }

    async fn save(&self) {
        if self.is_deleted() {
            return;
        }
        if let Some(db) = &self.db {
            let record = self.snapshot();
            if let Err(err) = db.save_job(self.row(&record)).await {
                // The job goes on in memory; only a restart would lose it.
                tracing::error!(job = %self.id, error = %err, "the job could not be saved");
            }
        }
    }
}

/// The idempotency key a create came with, and the fingerprint of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClaim {
    pub key: IdempotencyKey,
    pub fingerprint: String,
}

/// What a shopper's idempotency key leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyEntry {
    fingerprint: String,
    job_id: String,
    created_ms: u64,
}

/// All jobs of this process, by id, and the idempotency keys that made them.
#[derive(Default)]
pub struct JobStore {
    jobs: Mutex<HashMap<String, Arc<Job>>>,
    /// `(shopper key, idempotency key)` to the job its first create made. Keys of one
    /// shopper mean nothing to another, so the shopper is part of the key.
    keys: Mutex<HashMap<(String, String), KeyEntry>>,
    db: Option<Arc<dyn StateStore>>,
}

impl JobStore {
    /// A store that keeps jobs in memory only.
    pub fn in_memory() -> JobStore {
        JobStore::default()
    }

    /// A store that saves every change to `db`, holding the jobs `db` already has and the
    /// idempotency keys of those jobs.
    pub fn with_db(
        db: Arc<dyn StateStore>,
        stored: Vec<StoredJob>,
        stored_keys: Vec<StoredKey>,
    ) -> (JobStore, Vec<Arc<Job>>) {
        let restored: Vec<Arc<Job>> = stored
            .into_iter()
            .map(|s| {
                Arc::new(Job::with(
                    s.id,
                    s.request,
                    s.created_ms,
                    s.shopper,
                    s.record,
                    Some(db.clone()),
                ))
            })
            .collect();
        let jobs: HashMap<String, Arc<Job>> = restored
            .iter()
            .map(|job| (job.id.clone(), job.clone()))
            .collect();
        // Keys and jobs are saved and deleted together, so every key has its job; one
        // without would be forgotten, so that a repeat is judged afresh.
        let keys = stored_keys
            .into_iter()
            .filter(|stored| jobs.contains_key(&stored.job_id))
            .map(|stored| {
                (
                    (stored.shopper, stored.key),
                    KeyEntry {
                        fingerprint: stored.fingerprint,
                        job_id: stored.job_id,
                        created_ms: stored.created_ms,
                    },
                )
            })
            .collect();
        (
            JobStore {
                jobs: Mutex::new(jobs),
                keys: Mutex::new(keys),
                db: Some(db),
            },
            restored,
        )
    }

    /// Creates, saves and keeps a new pending job of `shopper` for `request`, to be
    /// sent to `upstream`, made at `created_ms` (Unix milliseconds of the proxy's clock),
    /// once `caps` accept the bills of `day` and the jobs not yet ended (see
    /// [`StateStore::admit_job`]). With `key`, the create's idempotency key is recorded
    /// with the job, in the same database transaction, so that a repeat of the create
    /// finds this job. Nothing is kept when the caps refuse or the store fails.
    #[allow(clippy::too_many_arguments)]
    pub async fn create(
        &self,
        request: CreateTaskRequest,
        shopper: &str,
        upstream: UpstreamKind,
        created_ms: u64,
        key: Option<&KeyClaim>,
        day: i64,
        caps: &CapCheck,
    ) -> Result<Arc<Job>, ApiError> {
        let job = Arc::new(Job::with(
            uuid::Uuid::new_v4().to_string(),
            request,
            created_ms,
            shopper.to_owned(),
            JobRecord::pending(upstream),
            self.db.clone(),
        ));
        if let Some(db) = &self.db {
            let record = job.snapshot();
            let stored_key = key.map(|claim| (claim.key.as_str(), claim.fingerprint.as_str()));
            db.admit_job(job.row(&record), stored_key, day, caps)
                .await?
                .map_err(ApiError::new)?;
        } else if let Err(refusal) = caps(Totals::default(), self.count_unfinished() as u64) {
            return Err(ApiError::new(refusal));
        }
        self.lock().insert(job.id.clone(), job.clone());
        if let Some(claim) = key {
            self.lock_keys().insert(
                (shopper.to_owned(), claim.key.as_str().to_owned()),
                KeyEntry {
                    fingerprint: claim.fingerprint.clone(),
                    job_id: job.id.clone(),
                    created_ms,
                },
            );
        }
        Ok(job)
    }

    /// Jobs held here that have not ended.
    pub fn count_unfinished(&self) -> usize {
        self.lock()
            .values()
            .filter(|job| !job.snapshot().status.is_terminal())
            .count()
    }

    /// The job that `shopper`'s create with `key` made, and the fingerprint of that
    /// create's body; `None` when the key is new to this shopper (or its job is gone).
    pub async fn job_for_key(
        &self,
        shopper: &str,
        key: &IdempotencyKey,
    ) -> Option<(String, Arc<Job>)> {
        let held = self
            .lock_keys()
            .get(&(shopper.to_owned(), key.as_str().to_owned()))
            .map(|entry| (entry.fingerprint.clone(), entry.job_id.clone()));
        // A repeat may reach another replica than the first create did.
        let entry = match (held, self.db.as_ref().filter(|db| db.is_shared())) {
            (Some(entry), _) => entry,
            (None, Some(db)) => match db.job_for_key(shopper, key.as_str()).await {
                Ok(found) => found?,
                Err(err) => {
                    tracing::error!(error = %err, "an idempotency key could not be read");
                    return None;
                }
            },
            (None, None) => return None,
        };
        let (fingerprint, job_id) = entry;
        let job = self.get_for(&job_id, shopper).await?;
        Some((fingerprint, job))
    }

    /// Forgets the idempotency keys made before `cutoff_ms`, for the retention sweeper;
    /// answers how many were forgotten.
    pub async fn forget_keys_before(&self, cutoff_ms: u64) -> u64 {
        if let Some(db) = &self.db
            && let Err(err) = db.delete_keys_before(cutoff_ms).await
        {
            // Kept in memory too, so that memory and database agree; the next sweep retries.
            tracing::error!(error = %err, "expired idempotency keys could not be deleted");
            return 0;
        }
        let mut keys = self.lock_keys();
        let before = keys.len();
        keys.retain(|_, entry| entry.created_ms >= cutoff_ms);
        (before - keys.len()) as u64
    }

    /// Forgets every idempotency key of `shopper` (who deletes their data).
    pub async fn forget_keys_of(&self, shopper: &str) {
        if let Some(db) = &self.db
            && let Err(err) = db.delete_keys_of(shopper).await
        {
            tracing::error!(error = %err, "a shopper's idempotency keys could not be deleted");
        }
        self.lock_keys().retain(|(owner, _), _| owner != shopper);
    }

    /// Points a job that was never sent at another upstream and model (the shop switched
    /// upstreams while it waited): a fresh [`Job`] under the same id replaces it, saved.
    pub async fn retarget(&self, job: &Arc<Job>, upstream: UpstreamKind, model: &str) -> Arc<Job> {
        let mut request = job.request.clone();
        request.model = model.to_owned();
        let mut record = job.snapshot();
        record.upstream = upstream;
        let moved = Arc::new(Job::with(
            job.id.clone(),
            request,
            job.created_ms,
            job.shopper.clone(),
            record,
            self.db.clone(),
        ));
        {
            // Once only: a job already moved (by another look at the queue) stays the one
            // held, so that every worker and waiter sees the same job.
            let mut jobs = self.lock();
            match jobs.get(&job.id) {
                Some(held) if !Arc::ptr_eq(held, job) => return held.clone(),
                _ => {
                    jobs.insert(moved.id.clone(), moved.clone());
                }
            }
        }
        moved.save().await;
        moved
    }

    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.lock().get(id).cloned()
    }

    /// The job when `shopper` created it; another shopper's job is as good as unknown.
    /// With a store other replicas share, a job another replica made is read from it
    /// (and kept here from then on, current through [`JobStore::refresh`]).
    pub async fn get_for(&self, id: &str, shopper: &str) -> Option<Arc<Job>> {
        self.get_or_load(id)
            .await
            .filter(|job| job.shopper == shopper)
    }

    /// The job `id` held here or, with a shared store, read from it: for the dispatcher.
    pub async fn get_or_load(&self, id: &str) -> Option<Arc<Job>> {
        match self.get(id) {
            Some(job) => Some(job),
            None => self.load_shared(id).await,
        }
    }

    /// A job of the shared store that this replica does not hold yet.
    async fn load_shared(&self, id: &str) -> Option<Arc<Job>> {
        let db = self.db.as_ref().filter(|db| db.is_shared())?;
        match db.load_job(id).await {
            Ok(stored) => stored.map(|stored| self.adopt(stored)),
            Err(err) => {
                tracing::error!(job = %id, error = %err, "a job could not be read");
                None
            }
        }
    }

    /// Holds `stored` here: a job this replica did not hold joins it; one it held takes
    /// the stored record. Answers the job held.
    pub fn adopt(&self, stored: StoredJob) -> Arc<Job> {
        let mut jobs = self.lock();
        if let Some(job) = jobs.get(&stored.id) {
            let job = job.clone();
            drop(jobs);
            job.take_stored(stored.record);
            return job;
        }
        let job = Arc::new(Job::with(
            stored.id,
            stored.request,
            stored.created_ms,
            stored.shopper,
            stored.record,
            self.db.clone(),
        ));
        jobs.insert(job.id.clone(), job.clone());
        job
    }

    /// Reads a job this replica holds afresh from the shared store, after another
    /// replica (or this one) changed it: waiters wake on a new state, and a job deleted
    /// elsewhere is forgotten here too. Runs between this replica's own changes of the
    /// job, never inside one, so it cannot put back an older state.
    pub async fn refresh(&self, id: &str) {
        let (Some(job), Some(db)) = (self.get(id), self.db.as_ref()) else {
            return;
        };
        let _in_order = job.save_order.lock().await;
        match db.load_job(id).await {
            Ok(Some(stored)) => {
                job.take_stored(stored.record);
            }
            Ok(None) => {
                job.deleted.store(true, Ordering::SeqCst);
                self.lock().remove(id);
                self.lock_keys().retain(|_, entry| entry.job_id != id);
                // Waiters hear that nothing more will come: the record is left as it was.
                job.record.send_modify(|_| {});
            }
            Err(err) => tracing::warn!(job = %id, error = %err, "a changed job could not be read"),
        }
    }

    /// Every job held here, in no particular order.
    pub fn all(&self) -> Vec<Arc<Job>> {
        self.lock().values().cloned().collect()
    }

    /// Every job of `shopper`: those held here and, with a shared store, those another
    /// replica made.
    pub async fn of_shopper(&self, shopper: &str) -> Vec<Arc<Job>> {
        self.adopt_shared(JobFilter::OfShopper(shopper)).await;
        self.lock()
            .values()
            .filter(|job| job.shopper == shopper)
            .cloned()
            .collect()
    }

    /// Finished jobs created before `cutoff_ms`, for the retention sweeper; with a
    /// shared store, also those only another replica held.
    pub async fn finished_before(&self, cutoff_ms: u64) -> Vec<Arc<Job>> {
        self.adopt_shared(JobFilter::FinishedBefore(cutoff_ms))
            .await;
        self.lock()
            .values()
            .filter(|job| job.created_ms < cutoff_ms && job.snapshot().status.is_terminal())
            .cloned()
            .collect()
    }

    /// Holds the shared store's jobs that `filter` picks and this replica does not hold.
    async fn adopt_shared(&self, filter: JobFilter<'_>) {
        let Some(db) = self.db.as_ref().filter(|db| db.is_shared()) else {
            return;
        };
        let ids = match db.job_ids(filter).await {
            Ok(ids) => ids,
            Err(err) => {
                tracing::error!(error = %err, "the shared jobs could not be listed");
                return;
            }
        };
        for id in ids {
            if self.get(&id).is_none() {
                self.load_shared(&id).await;
            }
        }
    }

    /// Forgets a job entirely: a create call answered with a refusal leaves nothing
    /// behind, so its id never answers anything but 404.
    /// Its idempotency keys go with it, so that a repeat of a refused create is judged
    /// afresh.
    pub async fn remove(&self, id: &str) {
        if let Some(job) = self.lock().remove(id) {
            job.deleted.store(true, Ordering::SeqCst);
        }
        self.lock_keys().retain(|_, entry| entry.job_id != id);
        if let Some(db) = &self.db
            && let Err(err) = db.delete_job(id).await
        {
            tracing::error!(job = %id, error = %err, "the job could not be deleted");
        }
    }

    /// How many jobs are in each state, for the metrics.
    pub fn count_by_status(&self) -> HashMap<String, u64> {
        let mut counts = HashMap::new();
        for job in self.lock().values() {
            *counts
                .entry(job.snapshot().status.as_str().to_owned())
                .or_insert(0) += 1;
        }
        counts
    }

    fn lock_keys(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), KeyEntry>> {
        // Each change is one insert or retain, so a poisoned lock is safe to keep using.
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Job>>> {
        // A panic while holding this lock cannot leave the map half-changed (each change is
        // one insert or remove), so a poisoned lock is safe to keep using.
        self.jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Scales a schedule delay by the emulator's time scale (1.0 against the real service),
/// with a floor so that a tiny scale does not turn the loop into a busy wait.
fn scaled(ms: u64, time_scale: f64) -> Duration {
    Duration::from_millis(((ms as f64 * time_scale) as u64).max(10))
}

/// Polls the upstream task of `job` through `adapter` (the adapter of the job's own
/// upstream) until it ends or the deadline passes, keeping the record current. Runs as
/// one tokio task per job.
///
/// `running_slot` is the admission slot of the task, freed when the task ends.
pub async fn poll_until_done(
    state: AppState,
    job: Arc<Job>,
    adapter: Arc<dyn Adapter>,
    running_slot: Option<OwnedSemaphorePermit>,
) {
    let mut running_slot = running_slot;
    let record = job.snapshot();
    let Some(mut upstream_id) = record.upstream_id else {
        tracing::error!(job = %job.id, "poll loop started for a job that was never submitted");
        return;
    };
    let deadline_ms = record.submitted_ms.unwrap_or(job.created_ms)
        + scaled(DEFAULT_DEADLINE_MS, state.time_scale).as_millis() as u64;
    // Read once, for an adapter that sends a next step of the job from here (FASHN's
    // outfit sends its bottom once the top is done).
    let hints = if adapter.needs_hints() && !adapter.answers_synchronously() {
        crate::admission::hints_for(&state, &job).await
    } else {
        Hints::default()
    };
    let mut attempt = 0u32;
    let mut shutdown = state.shutdown.clone();
    let term = state.current_term();
    loop {
        let delay = scaled(delay_before_poll_ms(attempt) as u64, state.time_scale);
        tokio::select! {
            () = state.clock.sleep(delay) => {}
            // On shutdown the loop just stops; the saved record lets the next start resume it.
            _ = shutdown.wait_for(|stopping| *stopping) => return,
            // Another replica took over dispatching, and follows the job from its record.
            () = state.until_term_ends(term) => return,
        }
        attempt = attempt.saturating_add(1);
        if job.snapshot().status.is_terminal() {
            // Cancelled through the proxy meanwhile: nothing more to learn.
            return;
        }
        let progress = match adapter.poll(&job, &upstream_id, &hints).await {
            Ok(progress) => progress,
            Err(err) if err.is_transient() => {
                tracing::warn!(job = %job.id, error = %err, "task query failed; trying again");
                if deadline_passed(&job, deadline_ms, state.clock.unix_ms()).await {
                    return;
                }
                continue;
            }
            Err(err) => {
                tracing::error!(job = %job.id, error = %err, "task query refused; giving up");
                let kind = poll_refusal_kind(&err);
                job.update(|r| r.fail(kind, None)).await;
                return;
            }
        };
        match progress {
            Progress::Ended { outcome, times } => {
                if let Some(code) = earns_resubmission(&state, &job, adapter.as_ref(), &outcome) {
                    // The same running slot carries the second task; one is taken if the
                    // job was resumed without one.
                    let permit = match running_slot.take() {
                        Some(permit) => permit,
                        None => match state.admission.running_slot().await {
                            Some(permit) => permit,
                            None => return,
                        },
                    };
                    tokio::spawn(crate::admission::resubmit(state.clone(), job, permit, code));
                    return;
                }
                // The upstream counts the task as done now, before the result is downloaded.
                running_slot.take();
                finish(&state, &job, outcome, &times).await;
                return;
            }
            Progress::Continued {
                upstream_id: next,
                status,
                times,
            } => {
                tracing::info!(job = %job.id, upstream_task = %next, "the next step of the task was submitted");
                job.update(|r| {
                    if r.status.is_terminal() {
                        return;
                    }
                    copy_times(r, &times);
                    r.status = status;
                    r.upstream_id = Some(next.clone());
                })
                .await;
                upstream_id = next;
                // The new step is followed on the schedule of a new task.
                attempt = 0;
            }
            Progress::Ongoing { status, times } => {
                job.update(|r| {
                    // A job cancelled through the proxy is already final here; a query
                    // answered just before the cancel must not bring it back to life.
                    if r.status.is_terminal() {
                        return;
                    }
                    copy_times(r, &times);
                    r.status = shown_status(r, status);
                })
                .await;
            }
        }
        if deadline_passed(&job, deadline_ms, state.clock.unix_ms()).await {
            return;
        }
    }
}

/// The failure code for which an ended task earns its job the one free resubmission, if
/// it does: the task failed with a transient code (see
/// [`tryon_api::status::is_transient_task_failure`]), the job was never resubmitted and
/// nothing of it was billed, nobody cancelled or deleted it, the shop still uses the
/// adapter that ran it, and the proxy is not stopping.
pub fn earns_resubmission(
    state: &AppState,
    job: &Job,
    adapter: &dyn Adapter,
    outcome: &Outcome,
) -> Option<String> {
    let Outcome::Failed {
        status: TaskStatus::Failed,
        code: Some(code),
        billed: None,
        ..
    } = outcome
    else {
        return None;
    };
    let record = job.snapshot();
    let earns = tryon_api::status::is_transient_task_failure(code)
        && !record.resubmitted
        && record.usage.is_none()
        && !record.status.is_terminal()
        && !job.is_deleted()
        && adapter.kind() == state.adapter.kind()
        && !*state.shutdown.borrow();
    earns.then(|| code.clone())
}

/// The state to show for an upstream state: a resubmitted job already showed its first
/// task generating, and the second task's early states must not send the shopper's
/// progress back to the queue.
pub fn shown_status(record: &JobRecord, upstream: TaskStatus) -> TaskStatus {
    let early = matches!(
        upstream,
        TaskStatus::Pending | TaskStatus::PreProcessing | TaskStatus::Suspended
    );
    if record.resubmitted && early {
        TaskStatus::Running
    } else {
        upstream
    }
}

/// Records how a job ended, whichever upstream ran it: a success is billed first (the
/// upstream bills it whatever happens next), then its result is kept here before the
/// job shows SUCCEEDED; a failure shows its status, code and message.
pub async fn finish(state: &AppState, job: &Job, outcome: Outcome, times: &Times) {
    match outcome {
        Outcome::Succeeded { result_url, usage } => {
            bill(state, job, usage).await;
            if job.is_deleted() {
                tracing::info!(job = %job.id, "the shopper deleted this job; its result is not kept");
                return;
            }
            let kept = match result_url.as_deref() {
                Some(url) => keep_file(state, url, FileKind::Result, &job.shopper).await,
                None => Err(KeepError::Download(
                    "the upstream reported success without an image URL".to_owned(),
                )),
            };
            job.update(|r| {
                copy_times(r, times);
                r.usage = usage;
                match kept {
                    Ok(url) => {
                        r.status = TaskStatus::Succeeded;
                        r.image_url = Some(url);
                    }
                    Err(KeepError::Download(reason)) => {
                        tracing::error!(job = %job.id, %reason, "the result could not be kept");
                        r.fail(
                            ErrorKind::UpstreamUnavailable,
                            Some("the result could not be downloaded"),
                        );
                    }
                    Err(KeepError::Store(reason)) => {
                        tracing::error!(job = %job.id, %reason, "the result could not be kept");
                        r.fail(
                            ErrorKind::StorageUnavailable,
                            Some("the result could not be stored"),
                        );
                    }
                }
            })
            .await;
            tracing::info!(job = %job.id, "task succeeded");
        }
        Outcome::Failed {
            status,
            code,
            message,
            billed,
        } => {
            tracing::info!(job = %job.id, %status, code = code.as_deref().unwrap_or(""), "task ended");
            if billed.is_some() {
                // The provider charged for a step that produced no picture: the ledger
                // and the spend cap must know, though the shopper gets nothing.
                bill(state, job, billed).await;
            }
            job.update(|r| {
                if r.status.is_terminal() {
                    return;
                }
                copy_times(r, times);
                r.status = status;
                r.code = code;
                r.message = message;
                r.usage = billed;
            })
            .await;
        }
    }
}

/// Fails the job when its deadline has passed. Checked after a query, never before, so
/// that a job resumed after a long restart still learns a result that is already there.
async fn deadline_passed(job: &Job, deadline_ms: u64, now_ms: u64) -> bool {
    if now_ms < deadline_ms {
        return false;
    }
    tracing::warn!(job = %job.id, "the task did not finish before the deadline");
    job.update(|r| r.fail(ErrorKind::InternalTimeout, None))
        .await;
    true
}

fn copy_times(record: &mut JobRecord, times: &Times) {
    if times.submit_time.is_some() {
        record.submit_time = times.submit_time.clone();
    }
    if times.scheduled_time.is_some() {
        record.scheduled_time = times.scheduled_time.clone();
    }
    if times.end_time.is_some() {
        record.end_time = times.end_time.clone();
    }
}

/// What the shopper sees when the upstream refuses a query for good: key and account
/// problems are the shop's business and show as an unavailable service.
fn poll_refusal_kind(err: &UpstreamError) -> ErrorKind {
    match err {
        UpstreamError::Api { status, body }
            if *status != StatusCode::UNAUTHORIZED && *status != StatusCode::FORBIDDEN =>
        {
            ErrorKind::from_wire(&body.code, &body.message)
                .unwrap_or(ErrorKind::UpstreamUnavailable)
        }
        _ => ErrorKind::UpstreamUnavailable,
    }
}

/// Records the billed images of a succeeded job in the ledger, once per job.
async fn bill(state: &AppState, job: &Job, usage: Option<Usage>) {
    let images = usage.map_or(1, |u| u.image_count);
    let model = job.request.model.as_str();
    let cny = f64::from(images) * state.policy.price_of(model);
    let at = state.clock.unix_ms();
    match state
        .store
        .bill(&job.id, day_of(at), at, model, images, cny)
        .await
    {
        Ok(true) => tracing::info!(job = %job.id, images, cny, "billed"),
        Ok(false) => {}
        Err(err) => tracing::error!(job = %job.id, error = %err, "the bill could not be recorded"),
    }
}

/// Why a file of the upstream's could not be kept here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepError {
    /// The download failed (after its retries), or did not bring an image.
    Download(String),
    /// The proxy's own store failed or did not answer in time, or the file index could
    /// not record the file.
    Store(String),
}

impl std::fmt::Display for KeepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeepError::Download(reason) | KeepError::Store(reason) => f.write_str(reason),
        }
    }
}

/// Downloads an upstream file at once (the upstream keeps it only 24 h), stores it as
/// `kind` of `shopper` and answers the proxy's own URL for it. A few quick retries cover
/// a flaky download.
pub async fn keep_file(
    state: &AppState,
    url: &str,
    kind: FileKind,
    shopper: &str,
) -> Result<String, KeepError> {
    let mut last_error = String::new();
    for attempt in 0..3u64 {
        if attempt > 0 {
            state
                .clock
                .sleep(scaled(500 << attempt, state.time_scale))
                .await;
        }
        match state.upstream.download(url).await {
            Ok(bytes) => return store_file(state, bytes, kind, shopper).await,
            Err(err) => last_error = err.to_string(),
        }
    }
    Err(KeepError::Download(last_error))
}

async fn store_file(
    state: &AppState,
    bytes: Bytes,
    kind: FileKind,
    shopper: &str,
) -> Result<String, KeepError> {
    if ImageFormat::sniff(&bytes).is_none() {
        return Err(KeepError::Download("the file is not an image".to_owned()));
    }
    let id = FileId::random();
    if let Err(err) = state.storage.put(&id, bytes).await {
        crate::storage::clean_up_failed_put(&state.storage, &id);
        return Err(KeepError::Store(format!("storing the file failed: {err}")));
    }
    if let Err(err) = state
        .store
        .add_file(id.as_str(), kind, shopper, state.clock.unix_ms())
        .await
    {
        // A file nobody recorded would never be swept, so it goes again at once.
        let _ = state.storage.delete(&id).await;
        return Err(KeepError::Store(format!(
            "recording the file failed: {err}"
        )));
    }
    Ok(state.file_url(&id))
}

/// The public URL of a stored file.
pub fn file_url(public_base_url: &str, id: &FileId) -> String {
    format!("{public_base_url}{FILES_PATH}/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_record_carries_the_catalogue_code_and_message() {
        let mut record = JobRecord::pending(UpstreamKind::Aitryon);
        record.fail(ErrorKind::InternalTimeout, Some("after 180 s"));
        let answer = record.to_response("job-1", "req".into(), None);
        assert_eq!(answer.output.task_status, TaskStatus::Failed);
        assert_eq!(answer.output.code.as_deref(), Some("InternalError.Timeout"));
        assert!(answer.output.message.unwrap().ends_with("(after 180 s)"));
        assert_eq!(answer.output.task_id, "job-1");
    }

    #[tokio::test]
    async fn waiters_wake_on_update() {
        let job = Job::for_tests();
        let mut rx = job.subscribe();
        job.update(|r| r.status = TaskStatus::Running).await;
        rx.changed().await.unwrap();
        assert_eq!(rx.borrow().status, TaskStatus::Running);
    }

    #[test]
    fn key_problems_while_polling_show_as_an_unavailable_service() {
        let refused = |status: u16, code: &str| UpstreamError::Api {
            status: StatusCode::from_u16(status).unwrap(),
            body: tryon_api::wire::ErrorBody {
                code: code.into(),
                message: String::new(),
                request_id: String::new(),
            },
        };
        assert_eq!(
            poll_refusal_kind(&refused(401, "InvalidApiKey")),
            ErrorKind::UpstreamUnavailable
        );
        assert_eq!(
            poll_refusal_kind(&refused(400, "InvalidParameter")),
            ErrorKind::InvalidParameter
        );
    }
}

//! The emulator's shared state: task records, FASHN predictions, produced files, rate windows, the running-task slots, the account's standing and the current faults.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tryon_clock::Clock;

use tokio::sync::Semaphore;
use tryon_api::wire::{TaskOutput, TaskQueryResponse, Usage};
use tryon_api::{ErrorKind, TaskStatus};

use crate::config::{Account, Faults, SimConfig};
use crate::fashn::Prediction;
use tryon_api::fashn::PredictionStatus;

/// A fresh id for a task, a request or a file.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Locks a mutex even if a panicking holder poisoned it: the data are plain records, and
/// one failed request must not take the whole emulator down.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One task as the emulator remembers it.
#[derive(Debug, Clone)]
pub(crate) struct TaskRecord {
    pub status: TaskStatus,
    /// The model the task was created for, for listing by `model_name`.
    pub model: String,
    pub created: Instant,
    /// The order of creation, which breaks ties between tasks created at the same moment.
    pub sequence: u64,
    /// The wall-clock creation time, for listing by `start_time` and `end_time`.
    pub created_at: SystemTime,
    pub submit_time: String,
    pub scheduled_time: Option<String>,
    pub end_time: Option<String>,
    pub image_url: Option<String>,
    pub error: Option<ErrorKind>,
}

impl TaskRecord {
    /// A PENDING task created now by `clock`.
    pub fn new(model: &str, clock: &Clock) -> TaskRecord {
        let created_at = clock.wall();
        TaskRecord {
            status: TaskStatus::Pending,
            model: model.to_owned(),
            created: clock.now(),
            sequence: 0,
            created_at,
            submit_time: crate::clock::format_system_time(created_at),
            scheduled_time: None,
            end_time: None,
            image_url: None,
            error: None,
        }
    }

    /// The query answer for this record.
    pub fn to_response(&self, task_id: &str, request_id: String) -> TaskQueryResponse {
        let mut output = TaskOutput::new(task_id, self.status.clone());
        output.submit_time = Some(self.submit_time.clone());
        output.scheduled_time = self.scheduled_time.clone();
        output.end_time = self.end_time.clone();
        output.image_url = self.image_url.clone();
        if let Some(kind) = self.error {
            output.code = Some(kind.code().to_owned());
            output.message = Some(kind.message().to_owned());
        }
        let usage = (self.status == TaskStatus::Succeeded).then_some(Usage { image_count: 1 });
        TaskQueryResponse {
            request_id,
            output,
            usage,
        }
    }
}

/// A file the emulator produced and serves under `/results/`.
#[derive(Debug, Clone)]
pub(crate) struct StoredFile {
    pub bytes: Arc<Vec<u8>>,
    pub content_type: &'static str,
    pub created: Instant,
    /// How long after `created` the file is served: the scaled 24 h of DashScope's
    /// links, or the scaled 72 h of FASHN's CDN URLs.
    pub lifetime: Duration,
}

/// Timestamps of admitted calls within the last second.
#[derive(Debug, Default)]
struct RateWindow(VecDeque<Instant>);

impl RateWindow {
    /// Admits a call unless `limit` calls were admitted within the last second.
    fn admit(&mut self, limit: u32, now: Instant) -> bool {
        while self
            .0
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            self.0.pop_front();
        }
        if limit == 0 {
            return true;
        }
        if self.0.len() >= limit as usize {
            return false;
        }
        self.0.push_back(now);
        true
    }
}

/// Which rate window a call counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Window {
    Create,
    Segment,
    /// Query, list and cancel, which share one limit upstream.
    Query,
}

struct Inner {
    config: SimConfig,
    base_url: String,
    client: reqwest::Client,
    slots: Arc<Semaphore>,
    tasks: Mutex<HashMap<String, TaskRecord>>,
    files: Mutex<HashMap<String, StoredFile>>,
    create_window: Mutex<RateWindow>,
    segment_window: Mutex<RateWindow>,
    query_window: Mutex<RateWindow>,
    faults: Mutex<Faults>,
    account: Mutex<Account>,
    /// Tasks past PENDING right now, and the most there ever were at once.
    running: AtomicUsize,
    peak_running: AtomicUsize,
    /// Tasks created and not yet ended right now, and the most there ever were at once.
    open: AtomicUsize,
    peak_open: AtomicUsize,
    /// Bumped whenever a task is created or changes state.
    changes: watch::Sender<u64>,
    /// Images billed so far, per model: what the shop's invoice would list.
    billed: Mutex<HashMap<String, u64>>,
    /// Inputs whose task an injected transient failure has already failed.
    failed_inputs: Mutex<std::collections::HashSet<String>>,
    /// FASHN predictions by id (see [`crate::fashn`]).
    predictions: Mutex<HashMap<String, Prediction>>,
    /// The sequence number of the next task created.
    next_sequence: std::sync::atomic::AtomicU64,
    /// Calls refused because a rate window was full (429): a client within the account's
    /// limits draws none.
    throttled: std::sync::atomic::AtomicU64,
    /// While true, tasks that have made their result wait before they end (a test's
    /// way to hold the upstream still at a chosen moment, whatever its clock does).
    held: watch::Sender<bool>,
}

/// Everything the handlers and task runners share. Cloning is cheap (one `Arc`).
#[derive(Clone)]
pub struct SimState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The config holds API keys, which must never reach a log line.
        f.debug_struct("SimState")
            .field("base_url", &self.inner.base_url)
            .field("time_scale", &self.inner.config.time_scale)
            .finish_non_exhaustive()
    }
}

impl SimState {
    /// State for an emulator whose result links start with `base_url`
    /// (for example `http://127.0.0.1:8790`, without a trailing slash).
    pub fn new(config: SimConfig, base_url: impl Into<String>) -> SimState {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        let client = reqwest::Client::builder()
            .timeout(config.download_timeout)
            .build()
            .unwrap_or_default();
        let slots = Arc::new(Semaphore::new(config.max_running_tasks.max(1)));
        let faults = config.faults.clone();
        let account = config.account.clone();
        SimState {
            inner: Arc::new(Inner {
                config,
                base_url,
                client,
                slots,
                tasks: Mutex::default(),
                files: Mutex::default(),
                create_window: Mutex::default(),
                segment_window: Mutex::default(),
                query_window: Mutex::default(),
                faults: Mutex::new(faults),
                account: Mutex::new(account),
                running: AtomicUsize::new(0),
                peak_running: AtomicUsize::new(0),
                open: AtomicUsize::new(0),
                peak_open: AtomicUsize::new(0),
                changes: watch::channel(0).0,
                billed: Mutex::default(),
                failed_inputs: Mutex::default(),
                predictions: Mutex::default(),
                next_sequence: std::sync::atomic::AtomicU64::new(0),
                throttled: std::sync::atomic::AtomicU64::new(0),
                held: watch::channel(false).0,
            }),
        }
    }

    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    /// The clock every phase, expiry and rate window is measured on.
    pub fn clock(&self) -> &Clock {
        &self.inner.config.clock
    }

    /// A receiver that is marked changed whenever a task is created or changes state, so
    /// that a client in the same process (a test) can wait for a state instead of polling
    /// for it.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    pub(crate) fn bump_changes(&self) {
        self.inner.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The base URL result links start with.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The faults currently injected.
    pub fn faults(&self) -> Faults {
        lock(&self.inner.faults).clone()
    }

    /// Replaces the injected faults.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.inner.faults) = faults;
    }

    /// The account's standing now.
    pub fn account(&self) -> Account {
        lock(&self.inner.account).clone()
    }

    /// Replaces the account's standing.
    pub fn set_account(&self, account: Account) {
        *lock(&self.inner.account) = account;
    }

    /// Bills one image of `model`: a succeeded task, a returned generated image or a
    /// successful segmentation. It uses one free image, if any are left, and is counted
    /// either way, as the invoice lists free images too.
    pub(crate) fn bill_image(&self, model: &str) {
        let mut account = lock(&self.inner.account);
        account.free_images_left = account.free_images_left.saturating_sub(1);
        drop(account);
        self.count_billed(model);
    }

    /// Bills one image of a completed FASHN prediction: it uses one of the account's FASHN
    /// credits (not DashScope's free images, which are another provider's quota) and is
    /// counted under `model` on the same bill.
    pub(crate) fn bill_fashn_image(&self, model: &str) {
        let mut account = lock(&self.inner.account);
        account.fashn_credits_left = account.fashn_credits_left.saturating_sub(1);
        drop(account);
        self.count_billed(model);
    }

    fn count_billed(&self, model: &str) {
        *lock(&self.inner.billed)
            .entry(model.to_owned())
            .or_default() += 1;
    }

    /// Images billed so far for `model`, so that a test can hold a client to "the shop
    /// pays for exactly the pictures its shoppers received".
    pub fn billed_images(&self, model: &str) -> u64 {
        lock(&self.inner.billed).get(model).copied().unwrap_or(0)
    }

    /// Whether `input` may fail now under a transient injected failure: only the first
    /// time it is drawn to fail.
    pub(crate) fn first_failure_of(&self, input: &str) -> bool {
        lock(&self.inner.failed_inputs).insert(input.to_owned())
    }

    /// Images billed so far, per model.
    pub fn billed_images_by_model(&self) -> std::collections::BTreeMap<String, u64> {
        lock(&self.inner.billed)
            .iter()
            .map(|(model, n)| (model.clone(), *n))
            .collect()
    }

    /// Images billed so far, all models together.
    pub fn billed_images_total(&self) -> u64 {
        lock(&self.inner.billed).values().sum()
    }

    /// How many tasks are past PENDING and not yet ended, right now.
    pub fn running_tasks(&self) -> usize {
        self.inner.running.load(Ordering::SeqCst)
    }

    /// The most tasks that were ever past PENDING at once, for checking the concurrency
    /// limit without racing the task runners.
    pub fn peak_running_tasks(&self) -> usize {
        self.inner.peak_running.load(Ordering::SeqCst)
    }

    /// How many tasks are created and not yet ended, right now.
    pub fn open_tasks(&self) -> usize {
        self.inner.open.load(Ordering::SeqCst)
    }

    /// The most tasks that were ever created and not yet ended at once: what a client
    /// that promises "at most N tasks at a time" is held to, PENDING ones included.
    pub fn peak_open_tasks(&self) -> usize {
        self.inner.peak_open.load(Ordering::SeqCst)
    }

    /// Counts a task as running until the returned guard drops.
    pub(crate) fn start_running(&self) -> RunningGuard {
        let now = self.inner.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner.peak_running.fetch_max(now, Ordering::SeqCst);
        RunningGuard(self.clone())
    }

    /// How many calls a full rate window refused (429) so far.
    pub fn throttled_calls(&self) -> u64 {
        self.inner.throttled.load(Ordering::SeqCst)
    }

    /// Holds every task that has made its result before it ends (true), or lets them
    /// end (false). Held tasks stay open, so a client within the running limit has
    /// nothing on its way to the emulator once all its slots hold such tasks.
    pub fn hold_tasks(&self, held: bool) {
        self.inner.held.send_replace(held);
    }

    /// Waits while tasks are held.
    pub(crate) async fn while_held(&self) {
        let mut held = self.inner.held.subscribe();
        let _ = held.wait_for(|held| !*held).await;
    }

    /// The status a query would report for a task now.
    pub fn task_status(&self, task_id: &str) -> TaskStatus {
        self.task(task_id)
            .map_or(TaskStatus::Unknown, |record| record.status)
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.inner.client
    }

    pub(crate) fn slots(&self) -> Arc<Semaphore> {
        self.inner.slots.clone()
    }

    fn is_expired(&self, created: Instant) -> bool {
        self.age(created) > self.inner.config.expiry()
    }

    /// How long ago `moment` was, on the emulator's clock.
    fn age(&self, moment: Instant) -> Duration {
        self.clock().now().saturating_duration_since(moment)
    }

    /// Admits a call against a rate window, or refuses it when the window is full.
    pub(crate) fn admit(&self, window: Window) -> bool {
        let config = &self.inner.config;
        let (mutex, limit) = match window {
            Window::Create => (&self.inner.create_window, config.max_creates_per_second),
            Window::Segment => (&self.inner.segment_window, config.max_creates_per_second),
            Window::Query => (&self.inner.query_window, config.max_queries_per_second),
        };
        let admitted = lock(mutex).admit(limit, self.clock().now());
        if !admitted {
            self.inner.throttled.fetch_add(1, Ordering::SeqCst);
            // Debug level: a client that polls too fast would otherwise flood the log.
            tracing::debug!(?window, limit, "rate limit refused a call");
        }
        admitted
    }

    /// Records a new PENDING task and forgets expired ones, which bounds memory without
    /// a background sweeper.
    pub(crate) fn insert_task(&self, task_id: &str, mut record: TaskRecord) {
        record.sequence = self.inner.next_sequence.fetch_add(1, Ordering::SeqCst);
        let expiry = self.inner.config.expiry();
        let mut tasks = lock(&self.inner.tasks);
        tasks.retain(|_, r| self.age(r.created) <= expiry);
        tasks.insert(task_id.to_owned(), record);
        drop(tasks);
        let open = self.inner.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner.peak_open.fetch_max(open, Ordering::SeqCst);
        lock(&self.inner.files).retain(|_, f| self.age(f.created) <= f.lifetime);
        self.bump_changes();
    }

    /// A copy of a live task record; expired tasks are removed and reported as absent.
    pub(crate) fn task(&self, task_id: &str) -> Option<TaskRecord> {
        let mut tasks = lock(&self.inner.tasks);
        let record = tasks.get(task_id)?;
        if self.is_expired(record.created) {
            tasks.remove(task_id);
            return None;
        }
        Some(record.clone())
    }

    /// Every live task, oldest first, for the listing call.
    pub(crate) fn live_tasks(&self) -> Vec<(String, TaskRecord)> {
        let expiry = self.inner.config.expiry();
        let mut tasks = lock(&self.inner.tasks);
        tasks.retain(|_, r| self.age(r.created) <= expiry);
        let mut live: Vec<(String, TaskRecord)> = tasks
            .iter()
            .map(|(id, r)| (id.clone(), r.clone()))
            .collect();
        drop(tasks);
        live.sort_by_key(|(_, record)| (record.created, record.sequence));
        live
    }

    /// Applies `change` to a live task if its status is `from`; returns whether it did.
    /// Checking and changing under one lock makes cancel and start exclusive.
    pub(crate) fn transition(
        &self,
        task_id: &str,
        from: &TaskStatus,
        change: impl FnOnce(&mut TaskRecord),
    ) -> bool {
        let mut tasks = lock(&self.inner.tasks);
        let changed = match tasks.get_mut(task_id) {
            Some(record) if &record.status == from && !self.is_expired(record.created) => {
                change(record);
                if record.status.is_terminal() && !from.is_terminal() {
                    self.inner.open.fetch_sub(1, Ordering::SeqCst);
                }
                true
            }
            _ => false,
        };
        drop(tasks);
        if changed {
            self.bump_changes();
        }
        changed
    }

    /// Stores a produced file and returns its public URL. Like the service's signed OSS
    /// links, the URL carries `?Expires=<unix seconds>`, the moment the file stops being
    /// served (the scaled 24 h); the file itself is found by its path alone.
    pub(crate) fn store_file(
        &self,
        name: &str,
        bytes: Vec<u8>,
        content_type: &'static str,
    ) -> String {
        let lifetime = self.inner.config.expiry();
        self.store_file_for(name, bytes, content_type, lifetime)
    }

    /// Like [`SimState::store_file`], for a file served `lifetime` (already scaled) long.
    pub(crate) fn store_file_for(
        &self,
        name: &str,
        bytes: Vec<u8>,
        content_type: &'static str,
        lifetime: Duration,
    ) -> String {
        lock(&self.inner.files).insert(
            name.to_owned(),
            StoredFile {
                bytes: Arc::new(bytes),
                content_type,
                created: self.clock().now(),
                lifetime,
            },
        );
        let lifetime = lifetime.min(Duration::from_secs(100 * 365 * 24 * 60 * 60));
        let expires = (self.clock().wall() + lifetime)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        format!(
            "{}{}/{name}?Expires={expires}",
            self.inner.base_url,
            crate::api::RESULTS_PATH
        )
    }

    /// A live produced file; expired files are removed and reported as absent.
    pub(crate) fn file(&self, name: &str) -> Option<StoredFile> {
        let mut files = lock(&self.inner.files);
        let file = files.get(name)?;
        if self.age(file.created) > file.lifetime {
            files.remove(name);
            return None;
        }
        Some(file.clone())
    }
}

impl SimState {
    /// Records a new FASHN prediction unless `limit` predictions have not ended yet;
    /// returns whether it did. Counting and inserting under one lock keeps two
    /// simultaneous runs from both taking the last place. Expired predictions are
    /// forgotten here, which bounds memory without a sweeper.
    pub(crate) fn insert_prediction(&self, id: &str, record: Prediction, limit: usize) -> bool {
        let now = self.clock().now();
        let mut predictions = lock(&self.inner.predictions);
        predictions.retain(|_, p| !p.is_expired(now));
        let open = predictions.values().filter(|p| !p.has_ended()).count();
        if open >= limit {
            return false;
        }
        predictions.insert(id.to_owned(), record);
        drop(predictions);
        self.bump_changes();
        true
    }

    /// A copy of a live prediction; expired ones are removed and reported as absent.
    pub(crate) fn prediction(&self, id: &str) -> Option<Prediction> {
        let now = self.clock().now();
        let mut predictions = lock(&self.inner.predictions);
        let record = predictions.get(id)?;
        if record.is_expired(now) {
            predictions.remove(id);
            return None;
        }
        Some(record.clone())
    }

    /// Applies `change` to a live prediction if its status is `from`; returns whether it did.
    pub(crate) fn update_prediction(
        &self,
        id: &str,
        from: &PredictionStatus,
        change: impl FnOnce(&mut Prediction),
    ) -> bool {
        let now = self.clock().now();
        let mut predictions = lock(&self.inner.predictions);
        let changed = match predictions.get_mut(id) {
            Some(record) if &record.status == from && !record.is_expired(now) => {
                change(record);
                true
            }
            _ => false,
        };
        drop(predictions);
        if changed {
            self.bump_changes();
        }
        changed
    }

    /// The state a FASHN status call would report for a prediction now; `None` when it
    /// would answer 404 `NotFound`.
    pub fn prediction_status(&self, id: &str) -> Option<PredictionStatus> {
        self.prediction(id).map(|p| p.status)
    }

    /// FASHN predictions accepted and not yet ended, right now: what the concurrency
    /// limit counts.
    pub fn open_predictions(&self) -> usize {
        lock(&self.inner.predictions)
            .values()
            .filter(|p| !p.has_ended())
            .count()
    }
}

/// Marks a task as no longer running when dropped, however its runner ends.
pub(crate) struct RunningGuard(SimState);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.inner.running.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_window_admits_the_limit_per_second() {
        let mut window = RateWindow::default();
        let start = Instant::now();
        for _ in 0..10 {
            assert!(window.admit(10, start));
        }
        assert!(!window.admit(10, start + Duration::from_millis(999)));
        assert!(window.admit(10, start + Duration::from_secs(1)));
        assert!(window.admit(0, start), "zero disables the limit");
    }
}

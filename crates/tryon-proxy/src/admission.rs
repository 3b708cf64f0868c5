//! The admission queue: jobs wait here in FIFO order and are submitted upstream one at a time, within the account's limits (5 running tasks, 10 creates per second).
//!
//! Architecture invariant: a job is submitted at most once. Only the dispatcher submits,
//! it takes each job off the queue before sending it, and it retries a create call only
//! when the upstream certainly did not accept it (a refused connection, 429 or 5xx).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;
use crate::jobs::{Job, now_ms, poll_until_done};
use crate::state::AppState;
use crate::upstream::{UpstreamError, shopper_error};

/// The account's limits and how long a create call waits for its own submission.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdmissionLimits {
    /// Upstream tasks between submission and their end (the documented limit is 5).
    pub max_running: usize,
    /// Create calls per second (the documented limit is 10).
    pub max_creates_per_second: usize,
    /// How long a create call waits for its job to be submitted. Within it, upstream
    /// refusals are answered directly; after it the job is answered PENDING with its
    /// queue position, and a later refusal shows as a FAILED job.
    pub create_wait: Duration,
}

impl Default for AdmissionLimits {
    fn default() -> Self {
        AdmissionLimits {
            max_running: 5,
            max_creates_per_second: 10,
            create_wait: Duration::from_secs(10),
        }
    }
}

/// How often one create call is tried when the upstream is throttling or failing.
pub const MAX_SUBMIT_ATTEMPTS: u32 = 5;

/// The queue and the running-task slots.
pub struct Admission {
    limits: AdmissionLimits,
    queue: Mutex<VecDeque<Arc<Job>>>,
    wake: Notify,
    running: Arc<Semaphore>,
}

impl Admission {
    pub fn new(limits: AdmissionLimits) -> Admission {
        Admission {
            limits,
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            running: Arc::new(Semaphore::new(limits.max_running.max(1))),
        }
    }

    pub fn limits(&self) -> AdmissionLimits {
        self.limits
    }

    /// Puts a job at the back of the queue.
    pub fn enqueue(&self, job: Arc<Job>) {
        self.lock().push_back(job);
        self.wake.notify_one();
    }

    /// How many jobs wait before this one, or `None` when it is not queued.
    pub fn position(&self, job_id: &str) -> Option<u32> {
        self.lock()
            .iter()
            .position(|job| job.id == job_id)
            .map(|at| u32::try_from(at).unwrap_or(u32::MAX))
    }

    /// Takes a job out of the queue (a cancel); false when it was not queued.
    pub fn remove(&self, job_id: &str) -> bool {
        let mut queue = self.lock();
        let before = queue.len();
        queue.retain(|job| job.id != job_id);
        queue.len() != before
    }

    /// A running slot if one is free now: for polls resumed after a restart, which must
    /// count against the limit without waiting behind new jobs.
    pub fn try_running_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.running.clone().try_acquire_owned().ok()
    }

    /// How many jobs wait.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Upstream tasks running now (submitted and not yet ended).
    pub fn running(&self) -> usize {
        self.limits.max_running.max(1) - self.running.available_permits()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<Job>>> {
        // Each change is a single push, pop or retain, so a poisoned lock is consistent.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the queue holds a job.
    async fn until_not_empty(&self) {
        loop {
            let notified = self.wake.notified();
            if !self.is_empty() {
                return;
            }
            notified.await;
        }
    }
}

/// The dispatcher: takes jobs off the front of the queue when a running slot and a rate
/// slot are free, and submits them. Runs for the life of the proxy.
pub async fn run_dispatcher(state: AppState) {
    let admission = &state.admission;
    let mut recent_creates: VecDeque<Instant> = VecDeque::new();
    let mut shutdown = state.shutdown.clone();
    loop {
        // Stops between jobs on shutdown; queued jobs are saved and resumed at next start.
        let permit = tokio::select! {
            permit = async {
                admission.until_not_empty().await;
                admission.running.clone().acquire_owned().await
            } => permit,
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        };
        let Ok(permit) = permit else {
            return;
        };
        // The head may have been cancelled while waiting: take whatever is first now.
        let Some(job) = admission.lock().pop_front() else {
            continue;
        };
        submit(&state, job, permit, &mut recent_creates).await;
    }
}

/// Waits until one more create call fits into the per-second limit, and records it.
async fn take_rate_slot(recent: &mut VecDeque<Instant>, per_second: usize) {
    // A little over a second: the upstream counts a call when it arrives, and network
    // jitter can bring two calls sent exactly a second apart closer than that.
    let window = Duration::from_millis(1_050);
    loop {
        while recent.front().is_some_and(|at| at.elapsed() >= window) {
            recent.pop_front();
        }
        match recent.front() {
            Some(oldest) if recent.len() >= per_second.max(1) => {
                tokio::time::sleep(window.saturating_sub(oldest.elapsed())).await;
            }
            _ => break,
        }
    }
    recent.push_back(Instant::now());
}

/// Submits one job, retrying while the upstream certainly did not take it, then hands it
/// to its poll loop (which keeps the running slot until the task ends).
async fn submit(
    state: &AppState,
    job: Arc<Job>,
    permit: OwnedSemaphorePermit,
    recent: &mut VecDeque<Instant>,
) {
    job.update(|record| record.submit_attempted = true);
    let mut attempt = 0;
    loop {
        take_rate_slot(recent, state.admission.limits.max_creates_per_second).await;
        match state.upstream.create(&job.request).await {
            Ok(created) => {
                job.update(|record| {
                    record.upstream_id = Some(created.output.task_id.clone());
                    record.submitted_ms = Some(now_ms());
                    record.status = created.output.task_status.clone();
                });
                tracing::info!(job = %job.id, upstream_task = %created.output.task_id, "task submitted");
                tokio::spawn(poll_until_done(state.clone(), job, Some(permit)));
                return;
            }
            Err(err) if attempt + 1 < MAX_SUBMIT_ATTEMPTS && not_accepted(&err) => {
                let delay = backoff_with_jitter(attempt);
                tracing::warn!(job = %job.id, error = %err, ?delay, "create call not accepted; retrying");
                attempt += 1;
                tokio::time::sleep(delay).await;
            }
            Err(err) => {
                let refusal: ApiError = shopper_error(err);
                tracing::info!(job = %job.id, code = %refusal.body.code, "task refused");
                job.update(|record| record.refuse(refusal));
                return;
            }
        }
    }
}

/// Whether the upstream certainly did not create a task, so sending again cannot make a
/// second one: it answered 429 or 5xx, or the connection was never made.
fn not_accepted(err: &UpstreamError) -> bool {
    match err {
        UpstreamError::Api { status, .. } => status.as_u16() == 429 || status.is_server_error(),
        UpstreamError::Network(e) => e.is_connect(),
        UpstreamError::Decode(_) => false,
    }
}

/// 250 ms doubling per attempt, at most 4 s, with ±50 % jitter so that several proxies
/// (or restarts) do not retry in step. Not scaled by the emulator's time scale: rate
/// windows are real seconds. Five attempts wait at least 1.9 s in all, so a one-second
/// throttling window always clears.
fn backoff_with_jitter(attempt: u32) -> Duration {
    let base = (250u64 << attempt.min(4)).min(4_000) as f64;
    let jitter = 0.5 + rand::random::<f64>();
    Duration::from_millis((base * jitter) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        for attempt in 0..10 {
            let base = (250u64 << attempt.min(4)).min(4_000);
            let delay = backoff_with_jitter(attempt).as_millis() as u64;
            assert!(
                delay >= base / 2 && delay <= base * 3 / 2,
                "{attempt}: {delay}"
            );
        }
    }

    #[tokio::test]
    async fn the_rate_slot_holds_back_the_eleventh_call_within_a_second() {
        let mut recent = VecDeque::new();
        let started = Instant::now();
        for _ in 0..10 {
            take_rate_slot(&mut recent, 10).await;
        }
        assert!(started.elapsed() < Duration::from_millis(100));
        take_rate_slot(&mut recent, 10).await;
        assert!(started.elapsed() >= Duration::from_millis(990));
    }

    #[test]
    fn the_queue_is_fifo_and_a_removed_job_leaves_no_gap() {
        let admission = Admission::new(AdmissionLimits::default());
        let jobs: Vec<Arc<Job>> = (0..3).map(|_| Arc::new(Job::for_tests())).collect();
        for job in &jobs {
            admission.enqueue(job.clone());
        }
        assert_eq!(admission.position(&jobs[2].id), Some(2));
        assert!(admission.remove(&jobs[1].id));
        assert!(!admission.remove(&jobs[1].id));
        assert_eq!(admission.position(&jobs[2].id), Some(1));
        assert_eq!(admission.position(&jobs[1].id), None);
        assert_eq!(admission.lock().pop_front().unwrap().id, jobs[0].id);
    }
}

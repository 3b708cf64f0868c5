//! The admission queue: jobs wait here in FIFO order and are submitted upstream in that order, within the limits of the current upstream adapter (running jobs, submissions per period).
//!
//! Architecture invariant: a job is submitted at most once. Only the dispatcher takes
//! jobs off the queue, each before its worker sends it, and a worker retries a
//! submission only when the upstream certainly did not accept it (a refused connection,
//! 429 or 5xx). The limits are the adapter's ([`Adapter::submission_rate`],
//! [`Adapter::max_running`]), so no upstream's constants live here.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::time::Instant;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use tryon_api::TaskStatus;
use tryon_api::generation::SubmissionRate;
use tryon_clock::Clock;

use crate::error::ApiError;
use crate::jobs::{self, Job, poll_until_done};
use crate::state::AppState;
use crate::upstream::adapter::{Hints, HostedImage};
use crate::upstream::{Adapter, Submission, Times, UpstreamError, shopper_error};

/// What the shop (or a test) sets about admission; the upstream's own limits come from
/// its adapter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdmissionLimits {
    /// A lower bound on running jobs than the adapter's, or `None` for the adapter's
    /// (5 for the seed's API). Tests use 1 to see jobs queue.
    pub max_running: Option<usize>,
    /// How long a create call waits for its job to be submitted. Within it, upstream
    /// refusals are answered directly; after it the job is answered PENDING with its
    /// queue position, and a later refusal shows as a FAILED job.
    pub create_wait: Duration,
}

impl Default for AdmissionLimits {
    fn default() -> Self {
        AdmissionLimits {
            max_running: None,
            create_wait: Duration::from_secs(10),
        }
    }
}

/// Spaces submissions so that no window of the upstream's period holds more than its
/// count. Shared by the dispatcher and the workers' retries; the async mutex queues
/// waiters in order, so a retry cannot starve the queue or the other way round.
///
/// A call counts from the moment its [`RateSlot`] is dropped, which the caller does once
/// the upstream has answered an asynchronous create: the upstream counted the call when
/// it arrived, which was before that answer, so the next window starts no earlier than
/// the upstream's own, whatever the network and the machine's load did to either call.
/// A call held open for its whole result (a synchronous generation) is counted when it
/// is sent instead, with a margin for the network.
pub struct RateLimiter {
    rate: SubmissionRate,
    clock: Clock,
    /// Held by the one caller waiting for a slot, so that waiters are served in order.
    turn: tokio::sync::Mutex<()>,
    /// The calls of the current window: `None` while a call is still out.
    calls: Mutex<Vec<(u64, Option<Instant>)>>,
    next_call: std::sync::atomic::AtomicU64,
    /// Woken whenever a call is counted, so that a waiter can look again.
    counted: Notify,
}

/// One call's place in the rate; it counts from the moment it is dropped.
pub struct RateSlot {
    limiter: Arc<RateLimiter>,
    call: u64,
}

impl RateSlot {
    /// Gives the place back without a call: the job it was taken for is not sent after
    /// all (another replica sends it, or it was cancelled), so no window is spent on it.
    pub fn unused(self) {
        self.limiter
            .lock_calls()
            .retain(|(call, _)| *call != self.call);
        self.limiter.counted.notify_waiters();
        // The entry is gone, so the drop below counts nothing.
    }
}

impl Drop for RateSlot {
    fn drop(&mut self) {
        let now = self.limiter.clock.now();
        if let Some(entry) = self
            .limiter
            .lock_calls()
            .iter_mut()
            .find(|(call, _)| *call == self.call)
        {
            entry.1 = Some(now);
        }
        self.limiter.counted.notify_waiters();
    }
}

impl RateLimiter {
    /// A limiter of `rate` whose windows are measured on `clock`.
    pub fn new(rate: SubmissionRate, clock: Clock) -> RateLimiter {
        RateLimiter {
            rate,
            clock,
            turn: tokio::sync::Mutex::new(()),
            calls: Mutex::new(Vec::new()),
            next_call: std::sync::atomic::AtomicU64::new(0),
            counted: Notify::new(),
        }
    }

    pub fn rate(&self) -> SubmissionRate {
        self.rate
    }

    /// The period of the rate, and a little more: a call counted when it was sent may
    /// reach the upstream a little later than the next one.
    fn window(&self) -> Duration {
        Duration::from_secs(u64::from(self.rate.per_seconds.max(1))) + Duration::from_millis(50)
    }

    /// The calls are plain values, so a panic elsewhere cannot leave them inconsistent.
    fn lock_calls(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Option<Instant>)>> {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until one more call fits into the rate, and reserves its place; the call
    /// counts from when the returned slot is dropped.
    pub async fn take(self: &Arc<Self>) -> RateSlot {
        let _turn = self.turn.lock().await;
        let window = self.window();
        let count = (self.rate.count as usize).max(1);
        loop {
            // Registered before looking, so that a call counted meanwhile wakes it.
            let counted = self.counted.notified();
            tokio::pin!(counted);
            counted.as_mut().enable();
            let now = self.clock.now();
            let frees_at = {
                let mut calls = self.lock_calls();
                calls.retain(|(_, at)| {
                    at.is_none_or(|at| now.saturating_duration_since(at) < window)
                });
                if calls.len() < count {
                    let call = self
                        .next_call
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    calls.push((call, None));
                    return RateSlot {
                        limiter: self.clone(),
                        call,
                    };
                }
                calls
                    .iter()
                    .filter_map(|(_, at)| *at)
                    .min()
                    .map(|at| at + window)
            };
            match frees_at {
                Some(frees_at) => {
                    tokio::select! {
                        () = self.clock.sleep_until(frees_at) => {}
                        () = counted => {}
                    }
                }
                // Every call of the window is still out: the first answer frees nothing
                // yet, but starts the wait for its window.
                None => counted.await,
            }
        }
    }
}

/// How often one create call is tried when the upstream is throttling or failing.
pub const MAX_SUBMIT_ATTEMPTS: u32 = 5;

/// The queue, the running-job slots and the submission rate.
pub struct Admission {
    limits: AdmissionLimits,
    max_running: usize,
    queue: Mutex<VecDeque<Arc<Job>>>,
    /// Jobs taken off the queue whose worker has not yet finished sending them: with a
    /// shared store the queue is filled from it too, and these must not join it again.
    sending: Mutex<HashSet<String>>,
    wake: Notify,
    /// Woken when the store announces a job queued by another replica.
    queued_elsewhere: Notify,
    running: Arc<Semaphore>,
    rate: Arc<RateLimiter>,
}

impl Admission {
    /// The queue for an upstream allowing `max_running` jobs at once and `rate`
    /// submissions (the adapter's), with the shop's `limits` on top, its submission
    /// windows measured on `clock`.
    pub fn new(
        limits: AdmissionLimits,
        max_running: usize,
        rate: SubmissionRate,
        clock: Clock,
    ) -> Admission {
        let max_running = limits
            .max_running
            .map_or(max_running, |shop| shop.min(max_running))
            .max(1);
        Admission {
            limits,
            max_running,
            queue: Mutex::new(VecDeque::new()),
            sending: Mutex::new(HashSet::new()),
            queued_elsewhere: Notify::new(),
            wake: Notify::new(),
            running: Arc::new(Semaphore::new(max_running)),
            rate: Arc::new(RateLimiter::new(rate, clock)),
        }
    }

    /// Jobs that may run at once.
    pub fn max_running(&self) -> usize {
        self.max_running
    }

    /// The submission rate in force.
    pub fn rate(&self) -> SubmissionRate {
        self.rate.rate()
    }

    pub fn limits(&self) -> AdmissionLimits {
        self.limits
    }

    /// Puts a job at the back of the queue, unless it is queued or being sent already.
    pub fn enqueue(&self, job: Arc<Job>) {
        if self.is_sending(&job.id) {
            return;
        }
        let mut queue = self.lock();
        if queue.iter().any(|queued| queued.id == job.id) {
            return;
        }
        queue.push_back(job);
        drop(queue);
        self.wake.notify_one();
    }

    /// Notes that another replica queued a job in the store.
    pub fn hear_queued(&self) {
        self.queued_elsewhere.notify_one();
    }

    /// Waits until another replica queues a job in the store.
    pub async fn queued_elsewhere(&self) {
        self.queued_elsewhere.notified().await;
    }

    /// Empties the queue: a replica that becomes the dispatcher fills it from the store.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Whether a worker is sending the job `id` now.
    pub fn is_sending(&self, id: &str) -> bool {
        self.lock_sending().contains(id)
    }

    fn lock_sending(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // Each change is one insert or remove, so a poisoned lock is consistent.
        self.sending.lock().unwrap_or_else(|p| p.into_inner())
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

    /// A running slot, waiting for one to be free; `None` only once the admission closes.
    pub async fn running_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.running.clone().acquire_owned().await.ok()
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
        self.max_running - self.running.available_permits()
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
/// slot are free, and hands each to its worker. Runs for the life of the proxy.
pub async fn run_dispatcher(state: AppState) {
    let admission = &state.admission;
    let mut shutdown = state.shutdown.clone();
    let term = state.current_term();
    loop {
        // Stops between jobs on shutdown; queued jobs are saved and resumed at next start.
        // The rate slot is taken while the job is still queued, so that a job waiting for
        // it (a minute under a -pro model) keeps showing its queue position.
        let permit = tokio::select! {
            // Shutdown first: a poll loop ending on shutdown frees a running slot at the
            // same moment, and the next job must not be taken then.
            biased;
            _ = shutdown.wait_for(|stopping| *stopping) => return,
            // Another replica dispatches now (see `replicas`): this one sends no more.
            () = state.until_term_ends(term) => return,
            taken = async {
                admission.until_not_empty().await;
                let permit = admission.running.clone().acquire_owned().await;
                let slot = admission.rate.take().await;
                (permit, slot)
            } => taken,
        };
        let (Ok(permit), slot) = permit else {
            return;
        };
        if *shutdown.borrow() {
            return;
        }
        // The head may have been cancelled while waiting: take whatever is first now.
        let Some(job) = admission.lock().pop_front() else {
            slot.unused();
            continue;
        };
        tokio::spawn(run_job(state.clone(), job, permit, slot));
    }
}

/// The worker of one job: submits it through the current adapter, retrying while the
/// upstream certainly did not take it. An accepted job goes to its poll loop (which
/// keeps the running slot until the task ends); a synchronous adapter's answer ends the
/// job here, and this worker records RUNNING while it holds the call.
///
/// `slot` is the job's place in the submission rate; it is let go once the upstream has
/// answered the create (or, for a synchronous upstream, as the call is sent).
async fn run_job(state: AppState, job: Arc<Job>, permit: OwnedSemaphorePermit, slot: RateSlot) {
    let _sending = Sending::start(&state, &job.id);
    let mut slot = Some(slot);
    let adapter = state.adapter.clone();
    let hints = if adapter.needs_hints() {
        hints_for(&state, &job).await
    } else {
        Hints::default()
    };
    if *state.shutdown.borrow() {
        // Not sent and not marked: the next start queues it again.
        return;
    }
    // The claim is the one step that lets exactly one worker of every replica send it.
    let claimed_ms = state.clock.unix_ms();
    match state
        .store
        .claim_submission(&job.id, &state.replica_id, claimed_ms)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(job = %job.id, "not sent here: another replica sends it, or it was cancelled");
            if let Some(slot) = slot.take() {
                slot.unused();
            }
            return;
        }
        Err(err) => {
            // Unclaimed, it stays queued in the store, and the next look at it sends it.
            tracing::error!(job = %job.id, error = %err, "the job could not be claimed for sending");
            if let Some(slot) = slot.take() {
                slot.unused();
            }
            return;
        }
    }
    // From here on the job may exist upstream, so it is never sent again after a restart.
    job.update(|record| {
        record.submit_attempted = true;
        record.claimed_by = Some(state.replica_id.clone());
        record.claimed_ms = Some(claimed_ms);
    })
    .await;
    let mut attempt = 0;
    loop {
        if adapter.answers_synchronously() && attempt == 0 {
            // In the upstream's task-time format; the widget shows these as opaque text.
            let now = dashscope_sim::clock::now_string(&state.clock);
            let now_ms = state.clock.unix_ms();
            job.update(|record| {
                record.status = TaskStatus::Running;
                record.submitted_ms = Some(now_ms);
                record.submit_time = Some(now.clone());
                record.scheduled_time = Some(now);
            })
            .await;
        }
        if adapter.answers_synchronously() {
            // The call is held open for the whole generation: it counts as it is sent.
            slot = None;
        }
        // On shutdown the call is let go and the record left as it is: submitted, with no
        // upstream id, so the next start fails it as interrupted instead of sending it again.
        let mut shutdown = state.shutdown.clone();
        let answer = tokio::select! {
            answer = adapter.submit(&job, &hints) => answer,
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        };
        // The upstream has counted the call by now, whatever it answered.
        drop(slot.take());
        match answer {
            Ok(Submission::Accepted {
                upstream_id,
                status,
            }) => {
                job.update(|record| {
                    record.upstream_id = Some(upstream_id.clone());
                    record.submitted_ms = Some(state.clock.unix_ms());
                    record.status = jobs::shown_status(record, status);
                })
                .await;
                tracing::info!(job = %job.id, upstream_task = %upstream_id, "task submitted");
                tokio::spawn(poll_until_done(state.clone(), job, adapter, Some(permit)));
                return;
            }
            Ok(Submission::Finished(outcome)) => {
                if let Some(code) =
                    jobs::earns_resubmission(&state, &job, adapter.as_ref(), &outcome)
                {
                    resubmit(state, job, permit, code).await;
                    return;
                }
                // The upstream is done with the job: its slot is free before the download.
                drop(permit);
                let times = Times {
                    end_time: Some(dashscope_sim::clock::now_string(&state.clock)),
                    ..Times::default()
                };
                jobs::finish(&state, &job, outcome, &times).await;
                return;
            }
            Err(err) if attempt + 1 < MAX_SUBMIT_ATTEMPTS && not_accepted(&err) => {
                let delay = backoff_with_jitter(attempt);
                tracing::warn!(job = %job.id, error = %err, ?delay, "submission not accepted; retrying");
                attempt += 1;
                state.clock.sleep(delay).await;
                slot = Some(state.admission.rate.take().await);
            }
            Err(err) => {
                let refusal: ApiError = shopper_error(err);
                tracing::info!(job = %job.id, code = %refusal.body.code, "task refused");
                job.update(|record| record.refuse(refusal)).await;
                return;
            }
        }
    }
}

/// Marks a job as being sent by this replica's worker for as long as the worker holds it.
struct Sending {
    state: AppState,
    id: String,
}

impl Sending {
    fn start(state: &AppState, id: &str) -> Sending {
        state.admission.lock_sending().insert(id.to_owned());
        Sending {
            state: state.clone(),
            id: id.to_owned(),
        }
    }
}

impl Drop for Sending {
    fn drop(&mut self) {
        self.state.admission.lock_sending().remove(&self.id);
    }
}

/// Submits a job once more after its task failed transiently (`code`), under the same job
/// id and in the running slot its first task held, so that the shopper sees one try-on
/// that took a little longer. The provider did not bill the failed task, so the shop pays
/// for at most the one image the shopper receives. Counted in `tryon_resubmissions_total`.
///
/// Boxed, because the job's poll loop starts it and it starts the job's next poll loop: a
/// named future type breaks that cycle for the compiler.
pub fn resubmit(
    state: AppState,
    job: Arc<Job>,
    permit: OwnedSemaphorePermit,
    code: String,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    Box::pin(resubmit_now(state, job, permit, code))
}

async fn resubmit_now(state: AppState, job: Arc<Job>, permit: OwnedSemaphorePermit, code: String) {
    state
        .resubmissions
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(job = %job.id, %code, "the task failed transiently; submitting it once more, free");
    // Saved before the call: a restart from here queues the job again (never sent), and
    // the flag keeps a second failure final.
    job.update(|record| {
        record.resubmitted = true;
        record.upstream_id = None;
        record.submit_attempted = false;
        record.claimed_by = None;
        record.claimed_ms = None;
        record.submitted_ms = None;
    })
    .await;
    let slot = state.admission.rate.take().await;
    run_job(state, job, permit, slot).await;
}

/// Whether `url` is a garment crop this proxy made (an unreadable index counts as no).
async fn is_own_crop(state: &AppState, url: &Option<String>) -> bool {
    let Some(id) = url
        .as_deref()
        .and_then(|url| crate::policy::own_file_id(state, url.trim()))
    else {
        return false;
    };
    let entry = state.store.file(id.as_str()).await.ok().flatten();
    entry.is_some_and(|file| file.kind == crate::store::FileKind::Crop)
}

/// What a translating adapter needs to know about a job's images: the person photo's
/// size from its stored header (a photo hosted elsewhere is fetched for it), which
/// garment URL is a crop this proxy made of the person's own garment, and the stored
/// bytes of every other image this proxy hosts, to be sent inline.
pub async fn hints_for(state: &AppState, job: &Job) -> Hints {
    let input = &job.request.input;
    let (own_garment, own_crop_url) = if is_own_crop(state, &input.bottom_garment_url).await {
        (
            Some(tryon_api::ClothesType::Lower),
            input.bottom_garment_url.as_deref(),
        )
    } else if is_own_crop(state, &input.top_garment_url).await {
        (
            Some(tryon_api::ClothesType::Upper),
            input.top_garment_url.as_deref(),
        )
    } else {
        (None, None)
    };
    let person = input.person_image_url.trim();
    let mut hosted: Vec<HostedImage> = Vec::new();
    let urls = [
        Some(person),
        input.top_garment_url.as_deref(),
        input.bottom_garment_url.as_deref(),
    ];
    // Beside a garment, the own-garment crop is left out of the request (the prompt keeps
    // the person's own one), so its bytes are not read; alone, it is the garment.
    let dropped_crop = own_crop_url
        .filter(|_| input.top_garment_url.is_some() && input.bottom_garment_url.is_some())
        .map(str::trim);
    for url in urls.into_iter().flatten().map(str::trim) {
        if dropped_crop == Some(url) || hosted.iter().any(|image| image.url == url) {
            continue;
        }
        let Some(id) = crate::policy::own_file_id(state, url) else {
            continue;
        };
        match state.storage.get(&id).await {
            Ok(Some(bytes)) => hosted.push(HostedImage {
                url: url.to_owned(),
                bytes,
            }),
            // Gone (retention, or the shopper deleted it): the URL is sent as it is and
            // the upstream's refusal of it fails the job in the usual way.
            Ok(None) => {
                tracing::warn!(job = %job.id, file = %id, "an image of the job is no longer stored")
            }
            Err(err) => {
                tracing::warn!(job = %job.id, file = %id, error = %err, "an image of the job could not be read")
            }
        }
    }
    let person_bytes = match hosted.iter().find(|image| image.url == person) {
        Some(image) => Some(image.bytes.clone()),
        None if crate::policy::own_file_id(state, person).is_some() => None,
        None => state.upstream.download(person).await.ok(),
    };
    let person_size = person_bytes
        .and_then(|bytes| tryon_api::rules::read_header(&bytes).ok())
        .map(|(_, width, height)| (width, height));
    if person_size.is_none() {
        tracing::warn!(job = %job.id, "the person photo's size could not be read");
    }
    Hints {
        person_size,
        own_garment,
        hosted,
    }
}

/// The adapter that follows `job`: the current one when the job was sent to the current
/// upstream, otherwise one built for the job's own upstream and model, so that a job
/// sent before a switch is still followed where it runs.
pub fn adapter_for(state: &AppState, job: &Job) -> Option<Arc<dyn Adapter>> {
    let kind = job.snapshot().upstream;
    let model = job.request.model.as_str();
    if kind == state.adapter.kind() && model == state.adapter.model() {
        return Some(state.adapter.clone());
    }
    crate::upstream::build_adapter(
        kind,
        model,
        state.upstream.clone(),
        state.prompt_locale,
        state.policy.price_of(model),
        &state.fashn,
        state.clock.clone(),
    )
    .ok()
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
    use tryon_clock::ManualClock;

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

    const TEN_PER_SECOND: SubmissionRate = SubmissionRate {
        count: 10,
        per_seconds: 1,
    };

    /// Takes `calls` slots of `limiter` at once (each call answered at once), then one
    /// more, and answers how long the clock had to move before that last one was granted.
    async fn wait_for_one_over(
        limiter: Arc<RateLimiter>,
        time: &ManualClock,
        calls: usize,
    ) -> Duration {
        for _ in 0..calls {
            drop(limiter.take().await);
        }
        assert_eq!(
            time.elapsed(),
            Duration::ZERO,
            "the first calls wait for nothing"
        );
        let over = tokio::spawn(async move { drop(limiter.take().await) });
        time.until_sleepers(1).await;
        let moved = time.advance_to_next_deadline().await;
        over.await.unwrap();
        moved
    }

    #[tokio::test]
    async fn the_rate_slot_holds_back_the_eleventh_call_for_the_rest_of_the_second() {
        let time = ManualClock::new();
        let limiter = Arc::new(RateLimiter::new(TEN_PER_SECOND, time.clock()));
        // A second and the 50 ms margin for network jitter.
        assert_eq!(
            wait_for_one_over(limiter, &time, 10).await,
            Duration::from_millis(1050)
        );
    }

    #[tokio::test]
    async fn a_call_counts_from_its_answer_so_a_slow_answer_moves_the_window() {
        let time = ManualClock::new();
        let limiter = Arc::new(RateLimiter::new(TEN_PER_SECOND, time.clock()));
        let mut out = Vec::new();
        for _ in 0..10 {
            out.push(limiter.take().await);
        }
        // The ten calls are answered 300 ms later: the window runs from then.
        let over = tokio::spawn({
            let limiter = limiter.clone();
            async move { drop(limiter.take().await) }
        });
        time.advance(Duration::from_millis(300));
        out.clear();
        time.until_sleepers(1).await;
        assert_eq!(
            time.advance_to_next_deadline().await,
            Duration::from_millis(1050)
        );
        over.await.unwrap();
    }

    #[tokio::test]
    async fn a_pro_model_rate_holds_the_third_call_for_a_minute() {
        // The -pro limit: two per minute.
        let time = ManualClock::new();
        let limiter = Arc::new(RateLimiter::new(
            SubmissionRate {
                count: 2,
                per_seconds: 60,
            },
            time.clock(),
        ));
        assert_eq!(
            wait_for_one_over(limiter, &time, 2).await,
            Duration::from_millis(60_050)
        );
    }

    #[test]
    fn the_shop_may_lower_the_adapters_running_limit_but_not_raise_it() {
        let of = |shop: Option<usize>| {
            let limits = AdmissionLimits {
                max_running: shop,
                ..AdmissionLimits::default()
            };
            Admission::new(limits, 5, TEN_PER_SECOND, Clock::system()).max_running()
        };
        assert_eq!(of(None), 5);
        assert_eq!(of(Some(1)), 1);
        assert_eq!(of(Some(50)), 5);
    }

    #[test]
    fn the_queue_is_fifo_and_a_removed_job_leaves_no_gap() {
        let admission = Admission::new(
            AdmissionLimits::default(),
            5,
            TEN_PER_SECOND,
            Clock::system(),
        );
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

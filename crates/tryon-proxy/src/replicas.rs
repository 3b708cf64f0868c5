//! Several replicas of one shop on one PostgreSQL: one of them dispatches (holds the dispatcher lease, alone sends jobs upstream and follows them there, within the account's limits), every one hears the others' changes at once (LISTEN/NOTIFY), and a dispatcher that dies hands its jobs on within seconds.
//!
//! On a store no other process shares (SQLite), this process dispatches from the start
//! and nothing here runs but [`take_over`] of the previous run's jobs.
//!
//! Architecture invariants: at most one replica sends jobs at a time, and only while its
//! lease holds, so the upstream never sees more than the account's running tasks and
//! submissions per second; a job is sent by the one worker that claims it in the store
//! ([`crate::store::StateStore::claim_submission`]), so it is never sent twice, whoever
//! dispatched it; a replica that takes over resumes the dead one's submitted jobs from
//! their upstream task ids and fails (never resends) the ones cut off mid-submission.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tryon_api::ErrorKind;

use crate::admission;
use crate::jobs::{Job, poll_until_done};
use crate::state::AppState;
use crate::store::Change;

/// The number of this process's next dispatch term (1 is a lone process's only one).
static NEXT_TERM: AtomicU64 = AtomicU64::new(2);

/// The lease that makes its holder the dispatcher.
const DISPATCHER_LEASE: &str = "dispatcher";
/// The prefix of the lease every replica holds on its own name while it runs: whether a
/// replica is alive, for a takeover that finds a job it claimed.
const ALIVE_LEASE_PREFIX: &str = "replica:";
/// How long a job claimed by a replica that is still alive may stay unanswered before the
/// dispatcher fails it as interrupted: longer than every attempt of its submission, the
/// held call of a synchronous upstream included.
const SEND_GRACE: Duration = Duration::from_secs(180);
/// How long a lease lasts unless renewed: a dispatcher that dies is replaced after at
/// most this and one renewal period.
const LEASE_TTL: Duration = Duration::from_secs(6);
/// How often every replica renews (or tries to take) the lease.
const RENEW_EVERY: Duration = Duration::from_secs(2);
/// How often the dispatcher looks at the store's queue besides when it hears of a new
/// job there: a notice lost with a connection costs at most this.
const QUEUE_LOOK_EVERY: Duration = Duration::from_secs(2);

/// How many of this process's background loops sleep on its clock besides the
/// retention sweeper while nothing happens: the lease's renewal on a shared store, and
/// the dispatcher's look at the store's queue. Tests that move a manual clock from one
/// sleeper's deadline to the next count them.
pub fn idle_clock_waiters(state: &AppState) -> usize {
    match (state.store.is_shared(), state.is_dispatching()) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 2,
    }
}

/// Starts this process's part: dispatching at once when alone on the store; otherwise
/// hearing the others' changes and competing for the dispatcher lease, tried once before
/// the proxy serves, so that a replica starting alone dispatches from its first request.
pub async fn start(state: &AppState, restored: Vec<Arc<Job>>) {
    if !state.store.is_shared() {
        tokio::spawn(admission::run_dispatcher(state.clone()));
        take_over(state, restored).await;
        return;
    }
    match state.store.watch_changes().await {
        Ok(Some(changes)) => {
            tokio::spawn(follow_changes(state.clone(), changes));
        }
        Ok(None) => {}
        Err(err) => {
            // Long polls on this replica then hear of other replicas' changes only when
            // they ask again; the start goes on, as without the database's notices.
            tracing::error!(error = %err, "the database's change notices could not be followed");
        }
    }
    let mut held_until_ms = 0;
    renew_lease(state, &mut held_until_ms).await;
    tokio::spawn(run_lease(state.clone(), held_until_ms));
}

/// Renews the lease every [`RENEW_EVERY`] for the life of the proxy; on shutdown a
/// dispatcher lets it go at once, so that a rolling deploy hands over without a wait.
async fn run_lease(state: AppState, mut held_until_ms: u64) {
    let mut shutdown = state.shutdown.clone();
    loop {
        let stopping = tokio::select! {
            () = state.clock.sleep(RENEW_EVERY) => false,
            _ = shutdown.wait_for(|stopping| *stopping) => true,
        };
        if stopping {
            let dispatching = state.is_dispatching();
            state.dispatch_term.send_replace(0);
            let _ = state
                .store
                .release_lease(&alive_lease(&state.replica_id), &state.replica_id)
                .await;
            if dispatching
                && let Err(err) = state
                    .store
                    .release_lease(DISPATCHER_LEASE, &state.replica_id)
                    .await
            {
                tracing::warn!(error = %err, "the dispatcher lease could not be let go; it expires by itself");
            }
            return;
        }
        renew_lease(&state, &mut held_until_ms).await;
    }
}

/// Takes or renews the lease once, and becomes or stops being the dispatcher as it says.
/// A lease that cannot be renewed (the database does not answer) is given up once it
/// would have expired, when another replica may hold it.
async fn renew_lease(state: &AppState, held_until_ms: &mut u64) {
    let now_ms = state.clock.unix_ms();
    let ttl_ms = LEASE_TTL.as_millis() as u64;
    // This replica's own lease says it is alive; nobody else takes it.
    if let Err(err) = state
        .store
        .hold_lease(
            &alive_lease(&state.replica_id),
            &state.replica_id,
            now_ms,
            ttl_ms,
        )
        .await
    {
        tracing::warn!(error = %err, "this replica's own lease could not be renewed");
    }
    let dispatching = state.is_dispatching();
    match state
        .store
        .hold_lease(DISPATCHER_LEASE, &state.replica_id, now_ms, ttl_ms)
        .await
    {
        Ok(true) => {
            *held_until_ms = now_ms + ttl_ms;
            if !dispatching {
                become_dispatcher(state).await;
            }
        }
        Ok(false) if dispatching => step_down(state, "another replica holds the dispatcher lease"),
        Ok(false) => {}
        Err(err) => {
            tracing::warn!(error = %err, "the dispatcher lease could not be renewed");
            if dispatching && now_ms >= *held_until_ms {
                step_down(state, "the dispatcher lease expired unrenewed");
            }
        }
    }
}

/// Starts dispatching: every unfinished job of the store is taken over (the previous
/// dispatcher's running tasks followed again, its queue sent), and the queue is kept
/// filled from the store from now on.
async fn become_dispatcher(state: &AppState) {
    tracing::info!(replica = %state.replica_id, "this replica dispatches now");
    let term = NEXT_TERM.fetch_add(1, Ordering::Relaxed);
    state.dispatch_term.send_replace(term);
    let unfinished = match state.store.load_jobs().await {
        Ok(stored) => stored
            .into_iter()
            .filter(|stored| !stored.record.status.is_terminal())
            .map(|stored| state.jobs.adopt(stored))
            .collect(),
        Err(err) => {
            // The queue look below sends the waiting ones once the store answers; the
            // running ones wait for the next dispatcher's start.
            tracing::error!(error = %err, "the unfinished jobs could not be read for the takeover");
            Vec::new()
        }
    };
    // The queue is built afresh from the store: a job queued here while another replica
    // dispatched may have been sent since, and a worker trying it would hide it from the
    // takeover as being sent here.
    state.admission.clear();
    take_over(state, unfinished).await;
    tokio::spawn(admission::run_dispatcher(state.clone()));
    // After the takeover, so that a job waiting for a previous upstream is moved once.
    tokio::spawn(fill_queue(state.clone()));
}

/// Stops dispatching: the dispatcher and this replica's poll loops stop, and the next
/// dispatcher follows the jobs from their stored records.
fn step_down(state: &AppState, reason: &str) {
    tracing::warn!(replica = %state.replica_id, reason, "this replica no longer dispatches");
    state.dispatch_term.send_replace(0);
}

/// Keeps the dispatcher's queue filled with the jobs other replicas accepted: on every
/// notice of one, and every [`QUEUE_LOOK_EVERY`] in case a notice was lost.
async fn fill_queue(state: AppState) {
    let term = state.current_term();
    let mut shutdown = state.shutdown.clone();
    loop {
        match state.store.queued_job_ids().await {
            Ok(ids) => {
                for id in ids {
                    if state.admission.is_sending(&id) {
                        continue;
                    }
                    if let Some(job) = state.jobs.get_or_load(&id).await {
                        queue_for_current(&state, job).await;
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "the store's queue could not be read"),
        }
        tokio::select! {
            () = state.clock.sleep(QUEUE_LOOK_EVERY) => {}
            () = state.admission.queued_elsewhere() => {}
            () = state.until_term_ends(term) => return,
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        }
    }
}

/// Applies the changes the store announces: a changed job is read again (its waiters
/// wake), a job queued elsewhere wakes the queue, and after a lost connection every
/// unfinished job held here is read again.
async fn follow_changes(state: AppState, mut changes: mpsc::Receiver<Change>) {
    let mut shutdown = state.shutdown.clone();
    loop {
        // On shutdown the receiver goes, which ends the store's listening connection.
        let change = tokio::select! {
            change = changes.recv() => change,
            _ = shutdown.wait_for(|stopping| *stopping) => None,
        };
        let Some(change) = change else {
            return;
        };
        match change {
            Change::Job(id) => state.jobs.refresh(&id).await,
            Change::Queued => state.admission.hear_queued(),
            Change::Resync => {
                for job in state.jobs.all() {
                    if !job.snapshot().status.is_terminal() {
                        state.jobs.refresh(&job.id).await;
                    }
                }
                state.admission.hear_queued();
            }
        }
    }
}

/// The name of the lease that says `replica` is alive.
fn alive_lease(replica: &str) -> String {
    format!("{ALIVE_LEASE_PREFIX}{replica}")
}

/// Whether the job's submission may still be answered: another replica claimed it, that
/// replica is alive (it stepped down, or stalled, while sending), and the grace since the
/// claim has not passed. A lone process's earlier run is dead by definition.
async fn claimer_may_still_send(state: &AppState, job: &Job) -> bool {
    let record = job.snapshot();
    let (Some(claimer), Some(claimed_ms)) = (record.claimed_by, record.claimed_ms) else {
        return false;
    };
    if !state.store.is_shared() || claimer == state.replica_id {
        return false;
    }
    let now_ms = state.clock.unix_ms();
    if now_ms >= claimed_ms.saturating_add(SEND_GRACE.as_millis() as u64) {
        return false;
    }
    // A database that cannot say counts as alive: failing a job that may exist upstream
    // would lose a picture the shop pays for.
    state
        .store
        .lease_held(&alive_lease(&claimer), now_ms)
        .await
        .unwrap_or(true)
}

/// Judges a job found claimed by a live replica once that replica has answered, died or
/// run out of grace: a task id stored meanwhile is followed from here; still none, it
/// fails as interrupted. Stops if this replica stops dispatching first.
async fn judge_when_claimer_is_done(state: AppState, job: Arc<Job>) {
    let term = state.current_term();
    loop {
        tokio::select! {
            () = state.clock.sleep(RENEW_EVERY) => {}
            () = state.until_term_ends(term) => return,
        }
        state.jobs.refresh(&job.id).await;
        let record = job.snapshot();
        if record.status.is_terminal() {
            return;
        }
        if record.upstream_id.is_some() {
            if let Some(adapter) = admission::adapter_for(&state, &job) {
                let slot = state.admission.try_running_slot();
                tokio::spawn(poll_until_done(state.clone(), job, adapter, slot));
            }
            return;
        }
        if !claimer_may_still_send(&state, &job).await {
            fail_interrupted(&job).await;
            return;
        }
    }
}

/// Fails a job whose submission was cut short: it may exist upstream, so it is never sent
/// again.
async fn fail_interrupted(job: &Job) {
    job.update(|r| {
        r.fail(
            ErrorKind::UpstreamUnavailable,
            Some(
                "the proxy restarted while sending this try-on (interrupted); it was not sent again",
            ),
        )
    })
    .await;
}

/// Queues a never-sent job, moved to the current upstream first when it waited for a
/// previous one.
async fn queue_for_current(state: &AppState, job: Arc<Job>) {
    if job.snapshot().upstream != state.adapter.kind() {
        requeue_for_current(state, job).await;
    } else {
        state.admission.enqueue(job);
    }
}

/// Picks up the unfinished jobs a previous run (or a replica that died) left: polls the submitted ones again
/// (through the adapter of each job's own upstream, which may not be the current one
/// after a switch), queues the ones never sent, and fails the ones whose submission was
/// cut short (they may exist upstream, and sending them again could bill the shop
/// twice). A synchronous call cut short by the restart is such a job: it never has an
/// upstream id, so it fails as interrupted and is never sent again.
pub async fn take_over(state: &AppState, unfinished: Vec<Arc<Job>>) {
    let mut counts = (0, 0, 0);
    for job in unfinished {
        let record = job.snapshot();
        // A job this process's worker is sending now (it stepped down and back up
        // meanwhile) is that worker's to finish.
        if record.status.is_terminal() || state.admission.is_sending(&job.id) {
            continue;
        }
        match (&record.upstream_id, record.submit_attempted) {
            (Some(_), _) => match admission::adapter_for(state, &job) {
                Some(adapter) => {
                    counts.0 += 1;
                    let slot = state.admission.try_running_slot();
                    tokio::spawn(poll_until_done(state.clone(), job, adapter, slot));
                }
                None => {
                    counts.2 += 1;
                    job.update(|r| {
                        r.fail(
                            ErrorKind::UpstreamUnavailable,
                            Some("the upstream this try-on was sent to is no longer configured"),
                        )
                    })
                    .await;
                }
            },
            // Queued and never sent (for a previous upstream: the current one takes it,
            // with the current model, as a create made now would be).
            (None, false) => {
                counts.1 += 1;
                queue_for_current(state, job).await;
            }
            // Claimed by a replica that may still be sending it: judged once it is done.
            (None, true) if claimer_may_still_send(state, &job).await => {
                counts.1 += 1;
                tokio::spawn(judge_when_claimer_is_done(state.clone(), job));
            }
            (None, true) => {
                counts.2 += 1;
                fail_interrupted(&job).await;
            }
        }
    }
    if counts != (0, 0, 0) {
        tracing::info!(
            polling = counts.0,
            queued = counts.1,
            failed = counts.2,
            "resumed the unfinished jobs of the previous run or dispatcher"
        );
    }
}

/// Moves a never-sent job to the current upstream: its record and model now name the
/// current adapter, so that billing and the worker use it.
async fn requeue_for_current(state: &AppState, job: Arc<Job>) {
    let moved = state
        .jobs
        .retarget(&job, state.adapter.kind(), &state.model)
        .await;
    state.admission.enqueue(moved);
}

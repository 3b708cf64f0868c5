//! The DashScope-shaped task endpoints: create (submitted upstream with the shop's key, answered once per idempotency key), query (from the proxy's own record, with long polling) and cancel.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use tryon_api::generation::UpstreamKind;
use tryon_api::wire::{
    CancelResponse, CreateTaskRequest, CreateTaskResponse, CreatedTask, TaskQueryResponse,
};
use tryon_api::{ErrorKind, ImageUrl, TaskStatus};

use super::{ReqId, body_refusal};
use crate::error::ApiError;
use crate::idempotency;
use crate::jobs::KeyClaim;
use crate::policy::{self, Shopper, check_garment, check_origin, check_person};
use crate::state::AppState;
use crate::upstream::shopper_error;

/// The longest a long poll may wait; below common proxy and browser idle limits (30 s+).
pub const MAX_WAIT_MS: u64 = 25_000;

/// `POST /api/v1/services/aigc/image2image/image-synthesis`, as the browser sends it:
/// no key and no async header; the proxy adds both.
pub async fn create_task(
    State(state): State<AppState>,
    ReqId(request_id): ReqId,
    shopper: Shopper,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CreateTaskResponse>, ApiError> {
    check_origin(&state, &headers, &shopper)?;
    let bytes = body.map_err(body_refusal)?;
    let key = idempotency::key_of(&headers)?;
    // With a key, the create holds it until it has answered, and a repeat is judged
    // before anything is validated or counted: it costs no limit, cap or bill.
    let _held = match &key {
        Some(key) => Some(state.key_locks.hold(&shopper.key, key).await),
        None => None,
    };
    let claim = key.map(|key| KeyClaim {
        key,
        fingerprint: idempotency::fingerprint(&bytes),
    });
    if let Some(claim) = &claim
        && let Some((fingerprint, job)) = state.jobs.job_for_key(&shopper.key, &claim.key).await
        && !forget_if_refused(&state, &job).await
    {
        if fingerprint != claim.fingerprint {
            return Err(ApiError::new(ErrorKind::IdempotencyKeyReused));
        }
        tracing::debug!(job = %job.id, "a create repeated under its idempotency key");
        return Ok(Json(CreateTaskResponse {
            output: CreatedTask {
                task_id: job.id.clone(),
                task_status: job.snapshot().status,
            },
            request_id,
        }));
    }
    let request = validate(&state, &bytes).await?;
    check_person(&state, &request.input.person_image_url).await?;
    let day = policy::today(&state.clock);
    let job = admit(&state, &shopper, day, request, claim.as_ref()).await?;
    // The dispatcher queues it at once; on another replica it waits in the store, whose
    // notice wakes the dispatcher's queue.
    if state.is_dispatching() {
        state.admission.enqueue(job.clone());
    }
    // Wait for this job's own submission, so that an upstream refusal is answered here
    // in its own shape and status; a long queue answers PENDING with a position instead.
    // A synchronous upstream counts as submitted once its call is held (RUNNING): the
    // create answers then rather than after the whole generation.
    let mut changes = job.subscribe();
    let _ = state
        .clock
        .timeout(
            state.admission.limits().create_wait,
            changes.wait_for(|record| {
                record.upstream_id.is_some()
                    || record.submitted_ms.is_some()
                    || record.status.is_terminal()
            }),
        )
        .await;
    let record = job.snapshot();
    if let Some(refusal) = record.refusal {
        // Removing the job frees its idempotency key too: a retry is judged afresh.
        state.jobs.remove(&job.id).await;
        // Nothing was made, so it does not count against the shopper's day.
        if state.policy.shopper_daily_limit > 0
            && let Err(err) = state.store.refund_shopper_slot(day, &shopper.key).await
        {
            tracing::error!(error = %err, "the shopper's daily count could not be corrected");
        }
        return Err(refusal);
    }
    Ok(Json(CreateTaskResponse {
        output: CreatedTask {
            task_id: job.id.clone(),
            task_status: record.status,
        },
        request_id,
    }))
}

/// Removes a job whose create was refused but whose handler went away before it could
/// answer and clean up (the caller hung up); answers whether it did. Nothing was made, so
/// its idempotency key goes with it and the repeat is judged afresh.
async fn forget_if_refused(state: &AppState, job: &crate::jobs::Job) -> bool {
    if job.snapshot().refusal.is_none() {
        return false;
    }
    state.jobs.remove(&job.id).await;
    true
}

/// Checks the shop's caps and the shopper's daily limit, and creates the job (with the
/// create's idempotency key, if any), all under one lock so that concurrent creates
/// cannot overshoot a limit together.
async fn admit(
    state: &AppState,
    shopper: &Shopper,
    day: i64,
    request: CreateTaskRequest,
    key: Option<&KeyClaim>,
) -> Result<std::sync::Arc<crate::jobs::Job>, ApiError> {
    // The gate orders this process's admissions; the store's admission orders them
    // across replicas.
    let _gate = state.admission_gate.lock().await;
    let limit = state.policy.shopper_daily_limit;
    if limit > 0 {
        let took = state
            .store
            .take_shopper_slot(day, &shopper.key, limit)
            .await
            .map_err(ApiError::from)?;
        if !took {
            return Err(ApiError::with_detail(
                ErrorKind::ShopperDailyLimit,
                format!("{limit} per day"),
            ));
        }
    }
    let caps = policy::caps_check(state);
    let created = state
        .jobs
        .create(
            request,
            &shopper.key,
            state.adapter.kind(),
            state.clock.unix_ms(),
            key,
            day,
            &caps,
        )
        .await;
    if created.is_err()
        && limit > 0
        && let Err(err) = state.store.refund_shopper_slot(day, &shopper.key).await
    {
        // Nothing was made, so it does not count against the shopper's day.
        tracing::error!(error = %err, "the shopper's daily count could not be corrected");
    }
    created
}

/// Parses and checks a create body; the model is forced to the configured one and the
/// refiner-only fields are dropped, so a browser cannot choose what the shop pays for.
async fn validate(state: &AppState, bytes: &[u8]) -> Result<CreateTaskRequest, ApiError> {
    let mut request: CreateTaskRequest = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::with_detail(ErrorKind::InvalidParameter, e))?;
    request.model = state.model.clone();
    let input = &mut request.input;
    input.coarse_image_url = None;
    if let Some(parameters) = request.parameters.as_mut() {
        parameters.gender = None;
    }
    // An empty garment field means "no such garment", as the widget may send it.
    for garment in [&mut input.top_garment_url, &mut input.bottom_garment_url] {
        if garment.as_deref().is_some_and(|url| url.trim().is_empty()) {
            *garment = None;
        }
    }
    let urls = [
        Some(&input.person_image_url),
        input.top_garment_url.as_ref(),
        input.bottom_garment_url.as_ref(),
    ];
    for url in urls.into_iter().flatten() {
        ImageUrl::parse(url)
            .map_err(|violation| ApiError::with_detail(ErrorKind::InvalidUrl, violation))?;
    }
    if input.top_garment_url.is_none() && input.bottom_garment_url.is_none() {
        return Err(ApiError::new(ErrorKind::InvalidGarment));
    }
    for garment in [&input.top_garment_url, &input.bottom_garment_url]
        .into_iter()
        .flatten()
    {
        check_garment(state, garment).await?;
    }
    Ok(request)
}

/// Query string of a task query.
#[derive(Debug, Deserialize)]
pub struct WaitQuery {
    /// Wait up to this long (capped at [`MAX_WAIT_MS`]) for a change.
    pub wait_ms: Option<u64>,
    /// The status the caller already knows; defaults to the current one.
    pub since: Option<String>,
}

/// `GET /api/v1/tasks/{job_id}`: the proxy's record, never an upstream query.
pub async fn get_task(
    State(state): State<AppState>,
    ReqId(request_id): ReqId,
    shopper: Shopper,
    Path(job_id): Path<String>,
    query: Result<Query<WaitQuery>, QueryRejection>,
) -> Result<Json<TaskQueryResponse>, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::with_detail(ErrorKind::InvalidParameter, e.body_text()))?;
    let job = state
        .jobs
        .get_for(&job_id, &shopper.key)
        .await
        .ok_or_else(|| ApiError::new(ErrorKind::TaskNotFound))?;

    let wait = Duration::from_millis(query.wait_ms.unwrap_or(0).min(MAX_WAIT_MS));
    let current = job.snapshot().status;
    if !wait.is_zero() && !current.is_terminal() {
        let since = query.since.map(TaskStatus::from).unwrap_or(current);
        let mut changes = job.subscribe();
        let mut shutdown = state.shutdown.clone();
        let _waiting = LongPollGuard::enter(&state);
        tokio::select! {
            _ = state.clock.timeout(wait, changes.wait_for(|record| record.status != since)) => {}
            _ = shutdown.wait_for(|stopping| *stopping) => {}
        }
    }
    let record = job.snapshot();
    let queue_position = if record.upstream_id.is_none() && !record.status.is_terminal() {
        if state.is_dispatching() {
            state.admission.position(&job.id)
        } else {
            // Another replica holds the queue; the store knows what waits before the job.
            state.store.queue_position(&job.id).await.ok().flatten()
        }
    } else {
        None
    };
    Ok(Json(record.to_response(
        &job.id,
        request_id,
        queue_position,
    )))
}

/// `POST /api/v1/tasks/{job_id}/cancel`: forwarded upstream while the task is pending.
pub async fn cancel_task(
    State(state): State<AppState>,
    ReqId(request_id): ReqId,
    shopper: Shopper,
    Path(job_id): Path<String>,
) -> Result<Json<CancelResponse>, ApiError> {
    let job = state
        .jobs
        .get_for(&job_id, &shopper.key)
        .await
        .ok_or_else(|| ApiError::new(ErrorKind::TaskNotFound))?;
    let record = job.snapshot();
    if !record.status.is_cancellable() {
        return Err(ApiError::new(ErrorKind::UnsupportedOperation));
    }
    match &record.upstream_id {
        // Only the seed's task API has a cancel call; a FASHN prediction already sent
        // runs to its end (unseen, as a running aitryon task does).
        Some(_) if record.upstream != UpstreamKind::Aitryon => {
            return Err(ApiError::new(ErrorKind::UnsupportedOperation));
        }
        Some(upstream_id) => {
            state
                .upstream
                .cancel(upstream_id)
                .await
                .map_err(shopper_error)?;
        }
        // Still queued: taking it off the queue is the whole cancel, nothing was sent.
        // The store's cancel is the same, for a job another replica's queue holds.
        None if state.admission.remove(&job.id)
            || (state.store.is_shared()
                && state
                    .store
                    .cancel_unsent(&job.id)
                    .await
                    .map_err(ApiError::from)?) => {}
        // Off the queue but without an upstream id: the create call is on its way.
        None => return Err(ApiError::new(ErrorKind::UnsupportedOperation)),
    }
    job.update(|record| record.status = TaskStatus::Canceled)
        .await;
    tracing::info!(job = %job.id, "task cancelled");
    Ok(Json(CancelResponse { request_id }))
}

/// Counts a waiting long poll for the metrics, also when the client goes away mid-wait
/// (the handler's future is then dropped, and the guard with it).
struct LongPollGuard<'a>(&'a AppState);

impl<'a> LongPollGuard<'a> {
    fn enter(state: &'a AppState) -> LongPollGuard<'a> {
        state
            .long_polls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        LongPollGuard(state)
    }
}

impl Drop for LongPollGuard<'_> {
    fn drop(&mut self) {
        self.0
            .long_polls
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

//! The HTTP surface: the DashScope paths (create, query, list, cancel, segmentation), FASHN's run and status (in `fashn.rs`), result files, the admin endpoints (faults, account) and the fault-injection layer.

use std::collections::HashMap;
use std::time::SystemTime;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value};
use tracing::info;
use tryon_api::wire::{
    ASYNC_HEADER, ASYNC_HEADER_VALUE, CREATE_TASK_PATH, CancelResponse, CreateTaskRequest,
    CreateTaskResponse, CreatedTask, LIST_DEFAULT_PAGE_SIZE, LIST_MAX_PAGE_SIZE, LIST_TASKS_PATH,
    MODEL_REFINER, MODEL_TRYON, MODEL_TRYON_PLUS, SEGMENT_PATH, TASKS_PATH, TaskListItem,
    TaskListResponse, TaskOutput, TaskQueryResponse,
};
use tryon_api::{ErrorKind, ImageUrl, TaskStatus};

use crate::clock::{now_string, parse_compact_time};
use crate::config::{Account, Faults};
use crate::segment;
use crate::state::{SimState, TaskRecord, Window, new_id};
use crate::tasks::{self, Job};

/// Path of the fault admin endpoint: `GET` shows, `POST` replaces the injected faults.
pub const ADMIN_FAULTS_PATH: &str = "/sim/admin/faults";
/// Path of the account admin endpoint: `GET` shows, `POST` replaces the account's standing.
pub const ADMIN_ACCOUNT_PATH: &str = "/sim/admin/account";
/// What the account has been billed: images per model and in all.
pub const ADMIN_BILLING_PATH: &str = "/sim/admin/billing";
/// Prefix of the produced files.
pub const RESULTS_PATH: &str = "/results";

/// The error answer of a catalogue entry, with a fresh request id.
pub(crate) fn error_response(kind: ErrorKind) -> Response {
    let status =
        StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(kind.body(new_id()))).into_response()
}

/// Checks the `Authorization: Bearer <key>` header against the configured keys.
pub(crate) fn check_auth(state: &SimState, headers: &HeaderMap) -> Result<(), ErrorKind> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .and_then(|v| {
            let (scheme, key) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(key.trim())
        })
        .filter(|key| !key.is_empty());
    match presented {
        None => Err(ErrorKind::NoApiKey),
        Some(key) if state.config().api_keys.iter().any(|k| k == key) => Ok(()),
        Some(_) => Err(ErrorKind::InvalidApiKey),
    }
}

/// Builds the router. Result links in answers start with the state's base URL, so it must
/// be the address clients reach this router at.
pub fn app(state: SimState) -> Router {
    let task_path = format!("{TASKS_PATH}/{{task_id}}");
    let cancel_path = format!("{TASKS_PATH}/{{task_id}}/cancel");
    // The documented curl examples end the create path with a slash, so both spellings work.
    let create_slash = format!("{CREATE_TASK_PATH}/");
    let api = Router::new()
        .route(CREATE_TASK_PATH, post(create_task))
        .route(&create_slash, post(create_task))
        .route(&task_path, get(query_task))
        .route(&cancel_path, post(cancel_task))
        // The documented listing path ends with a slash; without one works as well.
        .route(LIST_TASKS_PATH, get(list_tasks))
        .route(TASKS_PATH, get(list_tasks))
        .route(SEGMENT_PATH, post(segment::segment))
        // The successor's synchronous endpoint (qwen-image-2.0 and later).
        .merge(crate::generation::router())
        // FASHN's try-on API on the same listener, so that one emulator serves both
        // providers and the fault layer below hits it too.
        .merge(crate::fashn::router())
        .layer(middleware::from_fn_with_state(state.clone(), inject_faults));
    Router::new()
        .merge(api)
        .route(&format!("{RESULTS_PATH}/{{file}}"), get(result_file))
        .route(ADMIN_FAULTS_PATH, get(get_faults).post(set_faults))
        .route(ADMIN_ACCOUNT_PATH, get(get_account).post(set_account))
        .route(ADMIN_BILLING_PATH, get(get_billing))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// Draws whether an event with probability `share` happens.
pub(crate) fn roll(share: f64) -> bool {
    share > 0.0 && rand::random::<f64>() < share
}

/// Applies the injected latency and random 5xx/429 answers before the real handler, so
/// that they hit every API call alike, as an overloaded gateway would. FASHN's paths get
/// them in FASHN's shape: 500 `InternalServerError` and 429 `RateLimitExceeded`, since
/// the configured codes are DashScope's.
async fn inject_faults(State(state): State<SimState>, request: Request, next: Next) -> Response {
    let fashn = crate::fashn::is_fashn_path(request.uri().path());
    let faults = state.faults();
    if faults.latency_ms > 0 {
        // Real time on purpose: injected latency stands for a slow network, which no
        // clock of the emulator's schedules.
        tokio::time::sleep(std::time::Duration::from_millis(faults.latency_ms)).await;
    }
    if roll(faults.error_share) {
        if fashn {
            info!("injected FASHN server error");
            return crate::fashn::api_error(
                ErrorKind::FashnInternalServerError,
                "Internal server error (injected by the emulator).",
            );
        }
        let kind = faults.error_kind().unwrap_or_else(|| {
            let kinds = [
                ErrorKind::InternalError,
                ErrorKind::ModelServingError,
                ErrorKind::ModelUnavailable,
            ];
            kinds[rand::random_range(0..kinds.len())]
        });
        info!(code = kind.code(), "injected server error");
        return error_response(kind);
    }
    if roll(faults.throttle_share) {
        if fashn {
            info!("injected FASHN rate limit");
            return crate::fashn::api_error(
                ErrorKind::FashnRateLimitExceeded,
                "Rate limit exceeded (injected by the emulator).",
            );
        }
        let kind = faults.throttle_kind();
        info!(code = kind.code(), "injected throttling");
        return error_response(kind);
    }
    next.run(request).await
}

/// Treats an empty or blank string like an absent field, as a form would send it.
fn present(url: &Option<String>) -> Option<&str> {
    url.as_deref().map(str::trim).filter(|u| !u.is_empty())
}

/// `POST /api/v1/services/aigc/image2image/image-synthesis`.
async fn create_task(State(state): State<SimState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refusal) = check_auth(&state, &headers) {
        return error_response(refusal);
    }
    let is_async = headers
        .get(ASYNC_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == ASYNC_HEADER_VALUE);
    if !is_async {
        return error_response(ErrorKind::AccessDenied);
    }
    if !state.admit(Window::Create) {
        return error_response(ErrorKind::ThrottlingRateQuota);
    }
    let request: CreateTaskRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => return error_response(ErrorKind::InvalidParameter),
    };
    let job = match validate(&state, request) {
        Ok(job) => job,
        Err(kind) => return error_response(kind),
    };
    let task_id = job.task_id.clone();
    state.insert_task(&task_id, TaskRecord::new(&job.model, state.clock()));
    info!(task_id, model = job.model, "task created");
    tokio::spawn(tasks::run(state.clone(), job));
    Json(CreateTaskResponse {
        output: CreatedTask {
            task_id,
            task_status: TaskStatus::Pending,
        },
        request_id: new_id(),
    })
    .into_response()
}

/// The synchronous checks of a create call, in the order the service applies them.
fn validate(state: &SimState, request: CreateTaskRequest) -> Result<Job, ErrorKind> {
    let faults = state.faults();
    let model = request.model.trim();
    if ![MODEL_TRYON_PLUS, MODEL_TRYON, MODEL_REFINER].contains(&model) {
        return Err(ErrorKind::ModelNotFound);
    }
    if let Some(refusal) = state.account().refusal(model) {
        return Err(refusal);
    }
    let input = &request.input;
    if input.person_image_url.trim().is_empty() {
        return Err(ErrorKind::InvalidParameter);
    }
    let top = present(&input.top_garment_url);
    let bottom = present(&input.bottom_garment_url);
    if top.is_none() && bottom.is_none() {
        return Err(ErrorKind::InvalidGarment);
    }
    let parameters = request.parameters.clone().unwrap_or_default();
    let coarse = present(&input.coarse_image_url);
    if model == MODEL_REFINER {
        // The refiner needs the try-on result, a top and the gender (woman or man).
        let gender_ok = matches!(parameters.gender.as_deref(), Some("woman" | "man"));
        if coarse.is_none() || top.is_none() || !gender_ok {
            return Err(ErrorKind::InvalidParameter);
        }
    }
    let parse = |url: Option<&str>| -> Result<Option<String>, ErrorKind> {
        url.map(|u| {
            ImageUrl::parse(u)
                .map(|u| u.as_str().to_owned())
                .map_err(|v| v.upstream_error())
        })
        .transpose()
    };
    let person = parse(Some(&input.person_image_url))?.unwrap_or_default();
    let top = parse(top)?;
    let bottom = parse(bottom)?;
    let coarse = if model == MODEL_REFINER {
        parse(coarse)?
    } else {
        None
    };
    Ok(Job {
        task_id: new_id(),
        model: model.to_owned(),
        input: tryon_api::wire::TryOnInput {
            person_image_url: person,
            top_garment_url: top,
            bottom_garment_url: bottom,
            coarse_image_url: coarse,
        },
        resolution: parameters.resolution.unwrap_or_default(),
        restore_face: parameters.restore_face.unwrap_or(true),
        injected_failure: roll(faults.task_failure_share).then(|| faults.task_failure_kind()),
        running_override: (faults.task_duration_ms > 0)
            .then(|| std::time::Duration::from_millis(faults.task_duration_ms)),
        created: state.clock().now(),
    })
}

/// `GET /api/v1/tasks/{task_id}`: unknown or expired ids answer 200 with `UNKNOWN`.
async fn query_task(
    State(state): State<SimState>,
    headers: HeaderMap,
    Path(task_id): Path<String>,
) -> Response {
    if let Err(refusal) = check_auth(&state, &headers) {
        return error_response(refusal);
    }
    if !state.admit(Window::Query) {
        return error_response(ErrorKind::ThrottlingRateQuota);
    }
    let answer = match state.task(&task_id) {
        Some(record) => record.to_response(&task_id, new_id()),
        None => TaskQueryResponse {
            request_id: new_id(),
            output: TaskOutput::new(task_id, TaskStatus::Unknown),
            usage: None,
        },
    };
    Json(answer).into_response()
}

/// `POST /api/v1/tasks/{task_id}/cancel`: only a PENDING task can be cancelled.
async fn cancel_task(
    State(state): State<SimState>,
    headers: HeaderMap,
    Path(task_id): Path<String>,
) -> Response {
    if let Err(refusal) = check_auth(&state, &headers) {
        return error_response(refusal);
    }
    if !state.admit(Window::Query) {
        return error_response(ErrorKind::ThrottlingRateQuota);
    }
    let cancelled = state.transition(&task_id, &TaskStatus::Pending, |r| {
        r.status = TaskStatus::Canceled;
        r.end_time = Some(now_string(state.clock()));
    });
    if !cancelled {
        return error_response(ErrorKind::UnsupportedOperation);
    }
    info!(task_id, "task cancelled");
    Json(CancelResponse {
        request_id: new_id(),
    })
    .into_response()
}

/// The filters and paging of a listing, checked.
struct ListFilter {
    start: Option<SystemTime>,
    end: Option<SystemTime>,
    model: Option<String>,
    status: Option<TaskStatus>,
    page_no: u32,
    page_size: u32,
}

impl ListFilter {
    /// Reads the query string; a malformed value answers `InvalidParameter`, as a bad
    /// request body does. Times are `YYYYMMDDhhmmss` in UTC (the emulator's clock).
    fn parse(params: &HashMap<String, String>) -> Result<ListFilter, ErrorKind> {
        let text = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let time = |name: &str| {
            text(name)
                .map(|v| parse_compact_time(v).ok_or(ErrorKind::InvalidParameter))
                .transpose()
        };
        let number = |name: &str, default: u32, max: u32| match text(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or(ErrorKind::InvalidParameter),
        };
        Ok(ListFilter {
            start: time("start_time")?,
            end: time("end_time")?,
            model: text("model_name").map(str::to_owned),
            status: text("status").map(|v| TaskStatus::from(v.to_owned())),
            page_no: number("page_no", 1, u32::MAX)?,
            page_size: number("page_size", LIST_DEFAULT_PAGE_SIZE, LIST_MAX_PAGE_SIZE)?,
        })
    }

    fn matches(&self, record: &TaskRecord) -> bool {
        self.start.is_none_or(|start| record.created_at >= start)
            && self.end.is_none_or(|end| record.created_at <= end)
            && self.model.as_deref().is_none_or(|m| record.model == m)
            && self.status.as_ref().is_none_or(|s| &record.status == s)
    }
}

/// One listing entry. The emulator writes the state under both spellings (see
/// [`TaskListItem`]) and the times in the query answer's format.
fn list_item(task_id: String, record: TaskRecord) -> TaskListItem {
    let mut extra = Map::new();
    extra.insert("submit_time".into(), Value::from(record.submit_time));
    for (name, value) in [
        ("scheduled_time", record.scheduled_time),
        ("end_time", record.end_time),
    ] {
        if let Some(value) = value {
            extra.insert(name.into(), Value::from(value));
        }
    }
    if let Some(kind) = record.error {
        extra.insert("code".into(), Value::from(kind.code()));
        extra.insert("message".into(), Value::from(kind.message()));
    }
    TaskListItem {
        task_id,
        task_status: Some(record.status.clone()),
        status: Some(record.status),
        model_name: Some(record.model),
        extra,
    }
}

/// `GET /api/v1/tasks/?start_time=&end_time=&model_name=&status=&page_no=&page_size=`:
/// the live tasks that match, newest first, one page at a time.
async fn list_tasks(
    State(state): State<SimState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Err(refusal) = check_auth(&state, &headers) {
        return error_response(refusal);
    }
    if !state.admit(Window::Query) {
        return error_response(ErrorKind::ThrottlingRateQuota);
    }
    let filter = match ListFilter::parse(&params) {
        Ok(filter) => filter,
        Err(kind) => return error_response(kind),
    };
    let mut matching: Vec<(String, TaskRecord)> = state
        .live_tasks()
        .into_iter()
        .filter(|(_, record)| filter.matches(record))
        .collect();
    matching.reverse();
    let total = matching.len() as u64;
    let page_size = u64::from(filter.page_size);
    let skip = (u64::from(filter.page_no) - 1).saturating_mul(page_size);
    let data = matching
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(filter.page_size as usize)
        .map(|(id, record)| list_item(id, record))
        .collect();
    Json(TaskListResponse {
        request_id: new_id(),
        data,
        total,
        total_page: total.div_ceil(page_size),
        page_no: filter.page_no,
        page_size: filter.page_size,
    })
    .into_response()
}

/// `GET /results/{file}`: a produced image, until it expires.
async fn result_file(State(state): State<SimState>, Path(file): Path<String>) -> Response {
    match state.file(&file) {
        Some(stored) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(stored.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, max-age=86400"),
                ),
            ],
            stored.bytes.as_ref().clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /sim/admin/faults`: the faults in force.
async fn get_faults(State(state): State<SimState>, headers: HeaderMap) -> Response {
    if let Err(refusal) = check_auth(&state, &headers) {
        return error_response(refusal);
    }
    Json(state.faults()).into_response()
}

/// `GET /sim/admin/account`: the account's standing.
async fn get_account(State(state): State<SimState>, headers: HeaderMap) -> Response {
    if let Err(refusal) = check_auth(&state, &headers) {
        return error_response(refusal);
    }
    Json(state.account()).into_response()
}

/// `GET /sim/admin/billing`: the images billed so far, as `{"images": {model: n}, "total": n}`,
/// so that a load run against the emulator binary can compare the bill with what its
/// clients received.
async fn get_billing(State(state): State<SimState>, headers: HeaderMap) -> Response {
    if let Err(refusal) = check_auth(&state, &headers) {
        return error_response(refusal);
    }
    Json(serde_json::json!({
        "images": state.billed_images_by_model(),
        "total": state.billed_images_total(),
    }))
    .into_response()
}

/// `POST /sim/admin/account`: replaces the account's standing; fields left out take
/// their defaults (good standing, 400 free images).
async fn set_account(State(state): State<SimState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refusal) = check_auth(&state, &headers) {
        return error_response(refusal);
    }
    match serde_json::from_slice::<Account>(&body) {
        Ok(account) => {
            info!(?account, "account changed");
            state.set_account(account.clone());
            Json(account).into_response()
        }
        Err(_) => error_response(ErrorKind::InvalidParameter),
    }
}

/// `POST /sim/admin/faults`: replaces the faults; fields left out become zero.
async fn set_faults(State(state): State<SimState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refusal) = check_auth(&state, &headers) {
        return error_response(refusal);
    }
    match serde_json::from_slice::<Faults>(&body) {
        Ok(faults) if faults.is_valid() => {
            info!(?faults, "faults changed");
            state.set_faults(faults.clone());
            Json(faults).into_response()
        }
        _ => error_response(ErrorKind::InvalidParameter),
    }
}

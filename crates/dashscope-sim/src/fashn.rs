//! FASHN's try-on API on the emulator's listener: `POST /v1/run` and `GET /v1/status/{id}` for `tryon-v1.6`, with FASHN's auth and error shapes, prediction states timed by `mode`, previews from the shared compositor, credits, the concurrency limit and the injected faults.
//!
//! The shapes are those of [`tryon_api::fashn`] (docs.fashn.ai and the official Python
//! SDK `fashn` 0.9.0, which drives this emulator unchanged in
//! `scripts/fashn-sdk-check.sh`).
//!
//! A run is checked in this order, each refusal an API-level error
//! `{"error": <name>, "message": <text>}` without a prediction id: the Bearer key (one of
//! the emulator's keys, else 401 `UnauthorizedAccess`); the body (400 `BadRequest` for
//! JSON that is not an object, a missing or unknown `model_name` (only `tryon-v1.6` is
//! served), missing `inputs`, a missing or empty `model_image` / `garment_image`, an enum
//! value FASHN does not list, `num_samples` outside 1-4); the account's FASHN credits
//! (fewer left than `num_samples`: 429 `OutOfCredits`); the concurrency limit (6
//! predictions accepted and not ended: 429 `ConcurrencyLimitExceeded`). The fault layer
//! of the API router answers before all of these: `error_share` with 500
//! `InternalServerError`, `throttle_share` with 429 `RateLimitExceeded`.
//!
//! An accepted prediction runs `starting` → `in_queue` → `processing` → `completed`, in
//! the documented time of its `mode` (performance 5 s, balanced 8 s, the default, quality
//! 14 s, the middle of 12-17 s), scaled by the time scale and measured on the emulator's
//! clock: the first tenth `starting`, the next tenth `in_queue`, the rest `processing`.
//! The `task_duration_ms` fault replaces the `processing` time, as it replaces RUNNING
//! for the DashScope tasks. Failures end the prediction `failed` with a runtime error at
//! the end of the phase that found it:
//! - **`ImageLoadError`** (end of `starting`, where the inputs are loaded): an image that
//!   is neither an http(s) URL nor a `data:image/<format>;base64,` URL, a download that
//!   fails, answers an HTTP error or takes longer than the download timeout, more than
//!   20 MB (UNCONFIRMED limit), or bytes the emulator cannot decode. DashScope's input
//!   rules (5 KB-5 MB, 150-4096 px) do not apply: FASHN documents none.
//! - **`ContentModerationError`** (end of `starting`): an http(s) image URL whose path
//!   contains `inappropriate`, the emulator's moderation rule shared with the DashScope
//!   tasks, unless `moderation_level` is `none`.
//! - **`PoseError`** (end of `processing`): the person rule of [`crate::person`] finds no
//!   person in `model_image`. Several persons are accepted (FASHN documents no such
//!   refusal); the compositor then works on the whole picture.
//! - **Injected** (end of `processing`): `task_failure_share` picks predictions that
//!   fail with [`Faults::fashn_failure_name`](crate::Faults::fashn_failure_name).
//!
//! The result is the compositor's preview (garment on the person, OFFLINE PREVIEW banner)
//! at 864x1296: the person photo is scaled and cropped to that size first. `category`
//! picks the garment's slot: `tops` the top, `bottoms` the bottom, `one-pieces` and
//! `auto` the top slot, where the compositor draws a cut-out taller than 1.2 times its
//! width as a one-piece and anything else as a top (so `auto` never picks a bottom; a
//! client sending trousers says `bottoms`). `num_samples` images (one rendering, as
//! nothing here is random) come as URLs of the emulator's result files, or as
//! `data:image/png;base64,...` (`jpeg` with `output_format: jpeg`) with `return_base64`.
//! `seed`, `garment_photo_type` and `segmentation_free` are accepted and change nothing.
//!
//! Each image of a completed prediction uses one FASHN credit and is billed as
//! `tryon-v1.6` ([`SimState::billed_images`]); the terminal status answer carries the
//! count in `x-fashn-credits-used` (0 for a failure), which the SDK reports as
//! `credits_used`. A failed prediction costs nothing. Ended predictions are tracked for
//! 72 h (scaled; the SDK documents CDN outputs for 72 h) or, with `return_base64`, 60
//! minutes (the SDK documents base64 outputs for 60 minutes), then their status answers
//! 404 `NotFound`, as does an id that never existed. Result files are served 72 h.

use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use image::DynamicImage;
use image::imageops::FilterType;
use serde_json::Value;
use tracing::{info, warn};
use tryon_api::fashn::{
    ApiErrorBody, CREDITS_USED_HEADER, Category, FashnMode, GarmentPhotoType, MAX_NUM_SAMPLES,
    MODEL_TRYON, ModerationLevel, OUTPUT_HEIGHT, OUTPUT_WIDTH, OutputFormat, PredictionStatus,
    RUN_PATH, RunResponse, RuntimeError, STATUS_PATH, StatusResponse, TryOnInputs, runtime,
};
use tryon_api::{ErrorKind, Resolution};

use crate::api::{check_auth, roll};
use crate::person::{PersonCheck, check_person};
use crate::render::{self, TryOn};
use crate::samples::{Encoding, encode};
use crate::state::{SimState, new_id};
use crate::tasks::fails_inspection;

/// The largest run body read: two 20 MB images inline as base64 (4/3 of their size).
const RUN_BODY_LIMIT: usize = 2 * MAX_INPUT_BYTES as usize * 4 / 3 + 64 * 1024;
/// The largest input image loaded (UNCONFIRMED upstream; FASHN documents no limit).
const MAX_INPUT_BYTES: u64 = 20 * 1024 * 1024;
/// How long an ended prediction with URL outputs, and its files, are kept.
const URL_OUTPUT_LIFETIME: Duration = Duration::from_secs(72 * 60 * 60);
/// How long an ended prediction with base64 outputs is kept.
const BASE64_OUTPUT_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// Whether a request path is one of FASHN's, so that the fault layer answers in its shape.
pub(crate) fn is_fashn_path(path: &str) -> bool {
    path == RUN_PATH
        || path
            .strip_prefix(STATUS_PATH)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// An API-level error in FASHN's shape, with the status of its catalogue entry.
pub(crate) fn api_error(kind: ErrorKind, message: impl Into<String>) -> Response {
    let status =
        StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = ApiErrorBody {
        error: kind.code().to_owned(),
        message: message.into(),
    };
    (status, Json(body)).into_response()
}

/// The routes, merged into the API router (under its fault layer).
pub(crate) fn router() -> Router<SimState> {
    Router::new()
        .route(RUN_PATH, post(run))
        .route(&format!("{STATUS_PATH}/{{id}}"), get(status))
        // Inline images as base64 data URLs go far past axum's 2 MB default.
        .layer(DefaultBodyLimit::max(RUN_BODY_LIMIT))
}

/// One prediction as the emulator remembers it.
#[derive(Debug, Clone)]
pub(crate) struct Prediction {
    pub status: PredictionStatus,
    pub output: Option<Vec<String>>,
    pub error: Option<RuntimeError>,
    /// Credits the prediction used: its images when completed, else 0.
    pub credits_used: u32,
    /// When an ended prediction is forgotten; `None` while it runs (or never, when the
    /// time scale is zero).
    pub expires: Option<Instant>,
}

impl Prediction {
    fn starting() -> Prediction {
        Prediction {
            status: PredictionStatus::Starting,
            output: None,
            error: None,
            credits_used: 0,
            expires: None,
        }
    }

    /// Whether the prediction reached a final state (it no longer counts against the
    /// concurrency limit).
    pub(crate) fn has_ended(&self) -> bool {
        self.status.is_terminal()
    }

    pub(crate) fn is_expired(&self, now: Instant) -> bool {
        self.expires.is_some_and(|at| now > at)
    }
}

/// A validated run, ready to go.
#[derive(Debug, Clone)]
struct Job {
    id: String,
    inputs: TryOnInputs,
    mode: FashnMode,
    samples: u32,
    format: OutputFormat,
    base64: bool,
    /// Decided at the run from the injected `task_failure_share`.
    injected_failure: Option<String>,
    /// The `processing` time at time scale 1.0, when the `task_duration_ms` fault sets it.
    processing_override: Option<Duration>,
    created: Instant,
}

/// The phase durations of a mode at time scale 1.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeline {
    pub starting: Duration,
    pub in_queue: Duration,
    pub processing: Duration,
}

impl Timeline {
    /// The documented time of `mode`, split a tenth, a tenth and the rest.
    pub fn of(mode: FashnMode) -> Timeline {
        let total = Duration::from_secs(u64::from(mode.documented_seconds()));
        Timeline {
            starting: total / 10,
            in_queue: total / 10,
            processing: total - total / 5,
        }
    }

    /// The whole run.
    pub fn total(&self) -> Duration {
        self.starting + self.in_queue + self.processing
    }
}

/// Why a run is refused with 400 `BadRequest`.
fn bad_request(message: impl Into<String>) -> Response {
    api_error(ErrorKind::FashnBadRequest, message)
}

/// Reads and checks the body of a run; the error is the `BadRequest` message.
fn parse_run(body: &[u8]) -> Result<TryOnInputs, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("The body is not valid JSON: {e}"))?;
    let object = value
        .as_object()
        .ok_or("The body must be a JSON object with model_name and inputs")?;
    let model = match object.get("model_name") {
        Some(Value::String(model)) => model.as_str(),
        Some(_) => return Err("model_name must be a string".to_owned()),
        None => return Err("model_name is required".to_owned()),
    };
    if model != MODEL_TRYON {
        return Err(format!(
            "Unsupported model_name {model:?}; this emulator serves {MODEL_TRYON:?}"
        ));
    }
    let inputs = match object.get("inputs") {
        Some(inputs @ Value::Object(_)) => inputs.clone(),
        Some(_) => return Err("inputs must be an object".to_owned()),
        None => return Err("inputs is required".to_owned()),
    };
    check_fields(&inputs)?;
    let inputs: TryOnInputs =
        serde_json::from_value(inputs).map_err(|e| format!("Invalid inputs: {e}"))?;
    for (name, image) in [
        ("model_image", &inputs.model_image),
        ("garment_image", &inputs.garment_image),
    ] {
        if image.trim().is_empty() {
            return Err(format!("inputs.{name} must not be empty"));
        }
    }
    if let Some(n) = inputs.num_samples
        && !(1..=MAX_NUM_SAMPLES).contains(&n)
    {
        return Err(format!(
            "inputs.num_samples must be between 1 and {MAX_NUM_SAMPLES}, not {n}"
        ));
    }
    Ok(inputs)
}

/// Checks the options one by one, so that a refusal names the field it is about (serde
/// names the value only).
fn check_fields(inputs: &Value) -> Result<(), String> {
    fn one_of(field: &str, value: &Value, allowed: &[&str]) -> Result<(), String> {
        match value.as_str() {
            Some(text) if allowed.contains(&text) => Ok(()),
            _ => Err(format!(
                "inputs.{field} must be one of {}, not {value}",
                allowed.join(", ")
            )),
        }
    }
    fn names<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> Vec<&'static str> {
        all.iter().map(|v| as_str(*v)).collect()
    }
    for (field, value) in inputs.as_object().into_iter().flatten() {
        match field.as_str() {
            "model_image" | "garment_image" if !value.is_string() => {
                return Err(format!("inputs.{field} must be a string"));
            }
            "category" => one_of(field, value, &names(Category::ALL, Category::as_str))?,
            "mode" => one_of(field, value, &names(FashnMode::ALL, FashnMode::as_str))?,
            "garment_photo_type" => one_of(
                field,
                value,
                &names(GarmentPhotoType::ALL, GarmentPhotoType::as_str),
            )?,
            "moderation_level" => one_of(
                field,
                value,
                &names(ModerationLevel::ALL, ModerationLevel::as_str),
            )?,
            "output_format" => one_of(
                field,
                value,
                &names(OutputFormat::ALL, OutputFormat::as_str),
            )?,
            "return_base64" | "segmentation_free" if !value.is_boolean() => {
                return Err(format!("inputs.{field} must be true or false, not {value}"));
            }
            "seed" | "num_samples" if !value.is_u64() => {
                return Err(format!(
                    "inputs.{field} must be a non-negative integer, not {value}"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// `POST /v1/run`.
async fn run(State(state): State<SimState>, headers: HeaderMap, body: Bytes) -> Response {
    if check_auth(&state, &headers).is_err() {
        return api_error(
            ErrorKind::FashnUnauthorizedAccess,
            ErrorKind::FashnUnauthorizedAccess.message(),
        );
    }
    let inputs = match parse_run(&body) {
        Ok(inputs) => inputs,
        Err(message) => return bad_request(message),
    };
    let samples = inputs.num_samples.unwrap_or(1);
    let left = state.account().fashn_credits_left;
    if left < u64::from(samples) {
        return api_error(
            ErrorKind::FashnOutOfCredits,
            format!("{} ({left} left)", ErrorKind::FashnOutOfCredits.message()),
        );
    }
    let faults = state.faults();
    let id = format!("{}-u1", new_id());
    let job = Job {
        id: id.clone(),
        mode: inputs.mode.unwrap_or(FashnMode::DEFAULT),
        samples,
        format: inputs.output_format.unwrap_or(OutputFormat::Png),
        base64: inputs.return_base64.unwrap_or(false),
        injected_failure: roll(faults.task_failure_share)
            .then(|| faults.fashn_failure_name().to_owned()),
        processing_override: (faults.task_duration_ms > 0)
            .then(|| Duration::from_millis(faults.task_duration_ms)),
        created: state.clock().now(),
        inputs,
    };
    let limit = state.config().fashn_concurrency;
    if !state.insert_prediction(&id, Prediction::starting(), limit) {
        return api_error(
            ErrorKind::FashnConcurrencyLimitExceeded,
            format!(
                "{} ({limit} predictions at once)",
                ErrorKind::FashnConcurrencyLimitExceeded.message()
            ),
        );
    }
    info!(id, mode = job.mode.as_str(), "FASHN prediction accepted");
    tokio::spawn(run_prediction(state.clone(), job));
    Json(RunResponse {
        id: Some(id),
        error: None,
    })
    .into_response()
}

/// `GET /v1/status/{id}`.
async fn status(
    State(state): State<SimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if check_auth(&state, &headers).is_err() {
        return api_error(
            ErrorKind::FashnUnauthorizedAccess,
            ErrorKind::FashnUnauthorizedAccess.message(),
        );
    }
    let Some(prediction) = state.prediction(&id) else {
        return api_error(
            ErrorKind::FashnNotFound,
            format!("Prediction {id} is not tracked: it never existed or has expired"),
        );
    };
    let ended = prediction.has_ended();
    let credits = prediction.credits_used;
    let mut response = Json(StatusResponse {
        id,
        status: prediction.status,
        output: prediction.output,
        error: prediction.error,
    })
    .into_response();
    if ended {
        response
            .headers_mut()
            .insert(CREDITS_USED_HEADER, HeaderValue::from(credits));
    }
    response
}

/// A runtime error by name, with the emulator's detail.
fn runtime_error(name: &str, detail: impl Into<String>) -> RuntimeError {
    RuntimeError {
        name: name.to_owned(),
        message: detail.into(),
    }
}

/// Runs a prediction to its end. Spawned once per accepted run.
async fn run_prediction(state: SimState, job: Job) {
    let mut timeline = Timeline::of(job.mode);
    if let Some(processing) = job.processing_override {
        timeline.processing = processing;
    }
    let scaled = |d: Duration| state.config().scaled(d);
    let clock = state.clock().clone();
    let id = job.id.as_str();
    // Phase ends are counted from the run, so that each state change happens exactly
    // at its documented moment whatever the real work took.
    let starting_end = job.created + scaled(timeline.starting);
    let queue_end = starting_end + scaled(timeline.in_queue);
    let processing_end = queue_end + scaled(timeline.processing);

    let loaded = load_inputs(&state, &job).await;
    clock.sleep_until(starting_end).await;
    let (person, garment) = match loaded {
        Ok(images) => images,
        Err(error) => return fail(&state, id, PredictionStatus::Starting, error),
    };
    advance(
        &state,
        id,
        PredictionStatus::Starting,
        PredictionStatus::InQueue,
    );
    clock.sleep_until(queue_end).await;
    advance(
        &state,
        id,
        PredictionStatus::InQueue,
        PredictionStatus::Processing,
    );

    let rendered = produce(&job, person, garment).await;
    clock.sleep_until(processing_end).await;
    let image = match (rendered, &job.injected_failure) {
        (Ok(_), Some(name)) => Err(runtime_error(
            name,
            "The prediction failed (injected by the emulator).",
        )),
        (other, _) => other,
    };
    let image = match image {
        Ok(image) => image,
        Err(error) => return fail(&state, id, PredictionStatus::Processing, error),
    };
    let (mime, extension) = match job.format {
        OutputFormat::Png => ("image/png", "png"),
        OutputFormat::Jpeg => ("image/jpeg", "jpg"),
    };
    let config = state.config();
    let output: Vec<String> = (0..job.samples)
        .map(|n| {
            if job.base64 {
                format!("data:{mime};base64,{}", encode_base64(&image))
            } else {
                let name = format!("{id}-output_{n}.{extension}");
                state.store_file_for(
                    &name,
                    image.clone(),
                    mime,
                    config.lifetime(URL_OUTPUT_LIFETIME),
                )
            }
        })
        .collect();
    let keep = config.lifetime(if job.base64 {
        BASE64_OUTPUT_LIFETIME
    } else {
        URL_OUTPUT_LIFETIME
    });
    let now = clock.now();
    let billing = state.clone();
    state.update_prediction(id, &PredictionStatus::Processing, |p| {
        p.status = PredictionStatus::Completed;
        p.output = Some(output);
        p.credits_used = job.samples;
        p.expires = now.checked_add(keep);
        // Billed under the record's lock, so that whoever sees `completed` sees the bill.
        for _ in 0..job.samples {
            billing.bill_fashn_image(MODEL_TRYON);
        }
    });
    info!(id, images = job.samples, "FASHN prediction completed");
}

fn advance(state: &SimState, id: &str, from: PredictionStatus, to: PredictionStatus) {
    state.update_prediction(id, &from, |p| p.status = to);
}

fn fail(state: &SimState, id: &str, from: PredictionStatus, error: RuntimeError) {
    warn!(id, name = error.name, "FASHN prediction failed");
    let keep = state.config().lifetime(URL_OUTPUT_LIFETIME);
    let now = state.clock().now();
    state.update_prediction(id, &from, |p| {
        p.status = PredictionStatus::Failed;
        p.error = Some(error);
        p.credits_used = 0;
        p.expires = now.checked_add(keep);
    });
}

/// `starting`: the moderation rule, then both images loaded concurrently.
async fn load_inputs(
    state: &SimState,
    job: &Job,
) -> Result<(DynamicImage, DynamicImage), RuntimeError> {
    let inputs = &job.inputs;
    let moderated = inputs.moderation_level != Some(ModerationLevel::None);
    for (name, url) in [
        ("model_image", &inputs.model_image),
        ("garment_image", &inputs.garment_image),
    ] {
        let is_http = url.starts_with("http://") || url.starts_with("https://");
        if moderated && is_http && fails_inspection(url) {
            return Err(runtime_error(
                runtime::CONTENT_MODERATION_ERROR,
                format!("Prohibited content detected in {name}"),
            ));
        }
    }
    let (person, garment) = tokio::join!(
        load_image(state, "model_image", &inputs.model_image),
        load_image(state, "garment_image", &inputs.garment_image),
    );
    Ok((person?, garment?))
}

/// Loads one image from an http(s) URL or a base64 data URL.
async fn load_image(state: &SimState, name: &str, url: &str) -> Result<DynamicImage, RuntimeError> {
    let failure = |detail: &str| {
        runtime_error(
            runtime::IMAGE_LOAD_ERROR,
            format!("Error loading {name}: {detail}"),
        )
    };
    let url = url.trim();
    let bytes = if url.starts_with("data:") {
        crate::generation::decode_data_url(url)
            .ok_or_else(|| failure("not a data:image/<format>;base64, URL"))?
    } else if url.starts_with("http://") || url.starts_with("https://") {
        let timeout = state.config().download_timeout;
        let download = crate::generation::download(state.client(), url, MAX_INPUT_BYTES);
        match tokio::time::timeout(timeout, download).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(_)) => return Err(failure("the URL could not be downloaded")),
            Err(_) => return Err(failure("the download timed out")),
        }
    } else {
        return Err(failure(
            "use a public http(s) URL or a data:image/<format>;base64, URL",
        ));
    };
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(failure("the image is larger than 20 MB"));
    }
    // Decoding is CPU work on a large buffer, so it leaves the async workers free.
    tokio::task::spawn_blocking(move || image::load_from_memory(&bytes))
        .await
        .map_err(|_| failure("the emulator could not decode it"))?
        .map_err(|_| failure("the data is not an image the emulator can decode"))
}

/// `processing`: the pose rule, then the preview, encoded in the requested format.
async fn produce(
    job: &Job,
    person: DynamicImage,
    garment: DynamicImage,
) -> Result<Vec<u8>, RuntimeError> {
    let category = job.inputs.category.unwrap_or(Category::Auto);
    let format = job.format;
    tokio::task::spawn_blocking(move || {
        if let PersonCheck::NotExactlyOne { found: 0 } = check_person(&person.to_rgba8()) {
            return Err(runtime_error(
                runtime::POSE_ERROR,
                "Unable to detect a body pose in model_image",
            ));
        }
        let person = person.resize_to_fill(OUTPUT_WIDTH, OUTPUT_HEIGHT, FilterType::Triangle);
        let bottom_slot = category == Category::Bottoms;
        let out = render::render(&TryOn {
            person: &person,
            top: (!bottom_slot).then_some(&garment),
            bottom: bottom_slot.then_some(&garment),
            resolution: Resolution::Original,
            restore_face: true,
        });
        let encoded = match format {
            OutputFormat::Png => render::encode_png(&out),
            OutputFormat::Jpeg => encode(&out, Encoding::Jpeg),
        };
        encoded.map_err(|_| {
            runtime_error(
                runtime::PIPELINE_ERROR,
                "The emulator could not encode the result",
            )
        })
    })
    .await
    .map_err(|_| runtime_error(runtime::PIPELINE_ERROR, "The emulator's renderer failed"))?
}

/// Standard base64 with padding, the encoding of `data:` URLs.
pub fn encode_base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timelines_last_as_documented() {
        assert_eq!(
            Timeline::of(FashnMode::Performance).total(),
            Duration::from_secs(5)
        );
        assert_eq!(
            Timeline::of(FashnMode::Balanced).total(),
            Duration::from_secs(8)
        );
        let quality = Timeline::of(FashnMode::Quality).total();
        assert!((Duration::from_secs(12)..=Duration::from_secs(17)).contains(&quality));
    }

    #[test]
    fn base64_round_trips_through_the_decoder_of_data_urls() {
        for bytes in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            let url = format!("data:image/png;base64,{}", encode_base64(bytes));
            assert_eq!(
                crate::generation::decode_data_url(&url).as_deref(),
                Some(bytes)
            );
        }
        assert_eq!(encode_base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(encode_base64(b"fo"), "Zm8=");
    }

    #[test]
    fn only_fashns_paths_are_fashns() {
        assert!(is_fashn_path("/v1/run"));
        assert!(is_fashn_path("/v1/status/abc"));
        assert!(!is_fashn_path("/v1/statusx"));
        assert!(!is_fashn_path("/api/v1/tasks/abc"));
    }

    #[test]
    fn bodies_are_checked_with_fashns_messages() {
        let parse = |body: &str| parse_run(body.as_bytes());
        assert!(parse("not json").unwrap_err().contains("not valid JSON"));
        assert!(
            parse(r#"{"inputs": {}}"#)
                .unwrap_err()
                .contains("model_name")
        );
        assert!(
            parse(r#"{"model_name": "tryon-v1.5", "inputs": {}}"#)
                .unwrap_err()
                .contains("Unsupported model_name")
        );
        assert!(
            parse(r#"{"model_name": "tryon-v1.6", "inputs": {"garment_image": "g"}}"#)
                .unwrap_err()
                .contains("model_image")
        );
        assert!(
            parse(r#"{"model_name": "tryon-v1.6", "inputs": {"model_image": "m", "garment_image": "g", "mode": "fast"}}"#)
                .unwrap_err()
                .contains("fast")
        );
        assert!(
            parse(r#"{"model_name": "tryon-v1.6", "inputs": {"model_image": "m", "garment_image": "g", "num_samples": 5}}"#)
                .unwrap_err()
                .contains("num_samples")
        );
        let inputs = parse(
            r#"{"model_name": "tryon-v1.6", "inputs": {"model_image": "m", "garment_image": "g"}}"#,
        )
        .unwrap();
        assert_eq!(inputs.model_image, "m");
    }
}

//! FASHN's try-on API (`tryon-v1.6` through `POST /v1/run` and `GET /v1/status/{id}`): paths, the request and answer shapes, the prediction states and the transient runtime errors, shared by the proxy's adapter and the emulator.
//!
//! The shapes follow docs.fashn.ai (API fundamentals, the tryon-v1.6 reference, error
//! handling) and the official Python SDK `fashn` 0.9.0, whose `subscribe` posts to
//! `/v1/run`, polls `/v1/status/{id}` while the state is `starting`, `in_queue` or
//! `processing`, and returns on any other state. Like the rest of this crate it does no
//! I/O.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::TaskStatus;

/// Where predictions are submitted (every FASHN model shares it; `model_name` picks one).
pub const RUN_PATH: &str = "/v1/run";
/// The prefix of the status endpoint; the prediction id follows after a slash.
pub const STATUS_PATH: &str = "/v1/status";
/// The try-on model this product uses.
pub const MODEL_TRYON: &str = "tryon-v1.6";
/// The documented processing (and output) width of `tryon-v1.6`.
pub const OUTPUT_WIDTH: u32 = 864;
/// The documented processing (and output) height of `tryon-v1.6`.
pub const OUTPUT_HEIGHT: u32 = 1296;
/// Predictions an account may have running at once before `/v1/run` answers 429
/// `ConcurrencyLimitExceeded` ("The default concurrency limit is 6 requests").
pub const DEFAULT_CONCURRENCY: usize = 6;
/// The production service; the SDK's default base URL (it also reads `FASHN_BASE_URL`).
pub const DEFAULT_BASE_URL: &str = "https://api.fashn.ai";
/// The response header in which the service reports the credits a finished prediction
/// used; the SDK reads it from the terminal status answer into `credits_used`.
pub const CREDITS_USED_HEADER: &str = "x-fashn-credits-used";
/// The most images one prediction may ask for (`num_samples` is 1 to 4).
pub const MAX_NUM_SAMPLES: u32 = 4;

/// The status path of one prediction: `/v1/status/{id}`.
pub fn status_path(id: &str) -> String {
    format!("{STATUS_PATH}/{id}")
}

/// The body of `POST /v1/run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRequest {
    pub model_name: String,
    pub inputs: TryOnInputs,
}

impl RunRequest {
    /// A `tryon-v1.6` request with these inputs.
    pub fn tryon(inputs: TryOnInputs) -> RunRequest {
        RunRequest {
            model_name: MODEL_TRYON.to_owned(),
            inputs,
        }
    }
}

/// The `inputs` of a `tryon-v1.6` prediction. Only the two images are required; every
/// option left `None` is left out of the JSON so that the service applies its default.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TryOnInputs {
    /// The person: an http(s) URL or a `data:image/<format>;base64,` URL.
    pub model_image: String,
    /// The garment, in the same two forms.
    pub garment_image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<FashnMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garment_photo_type: Option<GarmentPhotoType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderation_level: Option<ModerationLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_samples: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_base64: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<OutputFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmentation_free: Option<bool>,
}

impl TryOnInputs {
    /// Inputs with the two images and every option at the service's default.
    pub fn new(model_image: impl Into<String>, garment_image: impl Into<String>) -> TryOnInputs {
        TryOnInputs {
            model_image: model_image.into(),
            garment_image: garment_image.into(),
            ..TryOnInputs::default()
        }
    }
}

/// Declares a string enum of FASHN's with its exact wire spellings, `parse` and `as_str`.
/// Serde goes through the same table so that the two can never disagree.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $wire)] $variant ),*
        }

        impl $name {
            /// Every value, in the documentation's order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),* ];

            /// The exact wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $wire ),* }
            }

            /// Reads the exact wire spelling; `None` for anything else.
            pub fn parse(raw: &str) -> Option<$name> {
                match raw { $( $wire => Some($name::$variant), )* _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// Which garment the `garment_image` holds, and so which part of the person changes.
    Category {
        /// The service classifies the garment itself (the default).
        Auto => "auto",
        Tops => "tops",
        Bottoms => "bottoms",
        OnePieces => "one-pieces",
    }
}

wire_enum! {
    /// Speed against quality; the documented times are 5 s, 8 s and 12–17 s.
    FashnMode {
        Performance => "performance",
        /// The default.
        Balanced => "balanced",
        Quality => "quality",
    }
}

impl FashnMode {
    /// The mode the service uses when the request names none.
    pub const DEFAULT: FashnMode = FashnMode::Balanced;

    /// The documented processing time in seconds (quality: the middle of 12–17 s), which
    /// the emulator takes and a poller may use to space its first queries.
    pub fn documented_seconds(self) -> u32 {
        match self {
            FashnMode::Performance => 5,
            FashnMode::Balanced => 8,
            FashnMode::Quality => 14,
        }
    }
}

wire_enum! {
    /// How the garment was photographed.
    GarmentPhotoType {
        Auto => "auto",
        FlatLay => "flat-lay",
        Model => "model",
    }
}

wire_enum! {
    /// How strictly garment images are moderated.
    ModerationLevel {
        Conservative => "conservative",
        Permissive => "permissive",
        None => "none",
    }
}

wire_enum! {
    /// The format of the result images.
    OutputFormat {
        Png => "png",
        Jpeg => "jpeg",
    }
}

impl OutputFormat {
    /// The media type of an image in this format, as the `data:` URL of a base64 result
    /// names it.
    pub fn mime(self) -> &'static str {
        match self {
            OutputFormat::Png => "image/png",
            OutputFormat::Jpeg => "image/jpeg",
        }
    }
}

/// The answer to `POST /v1/run`: an id, and `error: null`, when the prediction was
/// accepted. The SDK types `error` as a string; it is kept as any JSON value here so that
/// a differently shaped error never makes an accepted prediction unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunResponse {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub error: Option<serde_json::Value>,
}

/// The answer to `GET /v1/status/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResponse {
    pub id: String,
    pub status: PredictionStatus,
    /// When completed: one entry per sample, each a CDN URL or a `data:` URL with base64.
    #[serde(default)]
    pub output: Option<Vec<String>>,
    /// When failed: what went wrong, by name.
    #[serde(default)]
    pub error: Option<RuntimeError>,
}

/// Why an accepted prediction failed. `name` is one of FASHN's runtime error names
/// (`ImageLoadError`, `PoseError`, ...), the catalogue code of the matching entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeError {
    pub name: String,
    pub message: String,
}

/// An API-level refusal, answered before a prediction id exists, with the HTTP status of
/// the catalogue entry named by `error` (400 `BadRequest`, 401 `UnauthorizedAccess`, 404
/// `NotFound`, 429 `RateLimitExceeded` / `ConcurrencyLimitExceeded` / `OutOfCredits`, 500
/// `InternalServerError`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    pub error: String,
    pub message: String,
}

/// The state of a prediction. Unknown strings become [`PredictionStatus::Other`] instead
/// of failing, for the same reason as [`TaskStatus::Other`]: a poller that crashes on a
/// new state loses the shopper's paid image.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum PredictionStatus {
    Starting,
    InQueue,
    Processing,
    Completed,
    Failed,
    Canceled,
    TimeOut,
    Other(String),
}

impl PredictionStatus {
    /// The exact wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            PredictionStatus::Starting => "starting",
            PredictionStatus::InQueue => "in_queue",
            PredictionStatus::Processing => "processing",
            PredictionStatus::Completed => "completed",
            PredictionStatus::Failed => "failed",
            PredictionStatus::Canceled => "canceled",
            PredictionStatus::TimeOut => "time_out",
            PredictionStatus::Other(other) => other,
        }
    }

    /// The contract's task state for this prediction state. An unknown state counts as
    /// running, which is not terminal, so the poller keeps asking until its own deadline.
    pub fn task_status(&self) -> TaskStatus {
        match self {
            PredictionStatus::Starting | PredictionStatus::InQueue => TaskStatus::Pending,
            PredictionStatus::Processing => TaskStatus::Running,
            PredictionStatus::Completed => TaskStatus::Succeeded,
            PredictionStatus::Failed | PredictionStatus::TimeOut => TaskStatus::Failed,
            PredictionStatus::Canceled => TaskStatus::Canceled,
            PredictionStatus::Other(_) => TaskStatus::Running,
        }
    }

    /// Whether the state is final. The SDK stops polling on anything but the three
    /// waiting states; this contract keeps polling on unknown states instead (see
    /// [`PredictionStatus::task_status`]).
    pub fn is_terminal(&self) -> bool {
        self.task_status().is_terminal()
    }
}

impl From<String> for PredictionStatus {
    fn from(value: String) -> Self {
        match value.as_str() {
            "starting" => PredictionStatus::Starting,
            "in_queue" => PredictionStatus::InQueue,
            "processing" => PredictionStatus::Processing,
            "completed" => PredictionStatus::Completed,
            "failed" => PredictionStatus::Failed,
            "canceled" => PredictionStatus::Canceled,
            "time_out" => PredictionStatus::TimeOut,
            _ => PredictionStatus::Other(value),
        }
    }
}

impl From<PredictionStatus> for String {
    fn from(value: PredictionStatus) -> Self {
        value.as_str().to_owned()
    }
}

impl fmt::Display for PredictionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// FASHN's runtime error names (the `error.name` of a failed prediction), as documented
/// and as the SDK types them (`InputValidationError` is reframe-only and left out).
pub mod runtime {
    pub const IMAGE_LOAD_ERROR: &str = "ImageLoadError";
    pub const CONTENT_MODERATION_ERROR: &str = "ContentModerationError";
    pub const POSE_ERROR: &str = "PoseError";
    pub const PIPELINE_ERROR: &str = "PipelineError";
    pub const THIRD_PARTY_ERROR: &str = "ThirdPartyError";
    pub const THIRD_PARTY_PROVIDER_ERROR: &str = "3rdPartyProviderError";
    pub const INTERNAL_SERVER_ERROR: &str = "InternalServerError";
    /// Not sent by the service: the SDK's `subscribe` reports its own deadline this way.
    pub const POLLING_TIMEOUT: &str = "PollingTimeout";
}

/// FASHN's API-level error names (the `error` of an [`ApiErrorBody`]).
pub mod api {
    pub const BAD_REQUEST: &str = "BadRequest";
    pub const UNAUTHORIZED_ACCESS: &str = "UnauthorizedAccess";
    pub const NOT_FOUND: &str = "NotFound";
    pub const RATE_LIMIT_EXCEEDED: &str = "RateLimitExceeded";
    pub const CONCURRENCY_LIMIT_EXCEEDED: &str = "ConcurrencyLimitExceeded";
    pub const OUT_OF_CREDITS: &str = "OutOfCredits";
    pub const INTERNAL_SERVER_ERROR: &str = "InternalServerError";
}

/// Whether a failed prediction with this runtime error name may succeed if submitted
/// again unchanged.
///
/// The docs' advice decides it: `PipelineError` ("retry request, no charge for
/// failures"), `3rdPartyProviderError` and `InternalServerError` ("retry request") are
/// failures of the service. `ThirdPartyError` is not: the docs blame content or prompt
/// restrictions of an external processor and advise changing the inputs, so the same
/// inputs fail again. `ImageLoadError`, `ContentModerationError` and `PoseError` are about
/// the photos. `PollingTimeout` is left out on purpose: it is the poller's own deadline,
/// the prediction may still complete (and be billed), so submitting again could pay twice.
pub fn is_transient_fashn(name: &str) -> bool {
    matches!(
        name,
        runtime::PIPELINE_ERROR
            | runtime::THIRD_PARTY_PROVIDER_ERROR
            | runtime::INTERNAL_SERVER_ERROR
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_paths_and_constants_are_the_documented_ones() {
        assert_eq!(
            status_path("123a87r9-4129-4bb3-be18-9c9fb5bd7fc1-u1"),
            "/v1/status/123a87r9-4129-4bb3-be18-9c9fb5bd7fc1-u1"
        );
        assert_eq!(RUN_PATH, "/v1/run");
        assert_eq!((OUTPUT_WIDTH, OUTPUT_HEIGHT), (864, 1296));
        assert_eq!(FashnMode::DEFAULT.documented_seconds(), 8);
    }

    #[test]
    fn the_docs_minimal_request_round_trips_without_the_unset_options() {
        let docs = json!({
            "model_name": "tryon-v1.6",
            "inputs": {
                "model_image": "http://example.com/path/to/model.jpg",
                "garment_image": "http://example.com/path/to/garment.jpg"
            }
        });
        let request: RunRequest = serde_json::from_value(docs.clone()).unwrap();
        assert_eq!(
            request,
            RunRequest::tryon(TryOnInputs::new(
                "http://example.com/path/to/model.jpg",
                "http://example.com/path/to/garment.jpg"
            ))
        );
        assert_eq!(serde_json::to_value(&request).unwrap(), docs);
    }

    #[test]
    fn every_option_has_the_documented_spelling() {
        let full = json!({
            "model_name": "tryon-v1.6",
            "inputs": {
                "model_image": "data:image/jpeg;base64,AAAA",
                "garment_image": "https://example.com/garment.png",
                "category": "one-pieces",
                "mode": "quality",
                "garment_photo_type": "flat-lay",
                "moderation_level": "none",
                "seed": 42,
                "num_samples": 2,
                "return_base64": true,
                "output_format": "jpeg",
                "segmentation_free": false
            }
        });
        let request: RunRequest = serde_json::from_value(full.clone()).unwrap();
        assert_eq!(request.inputs.category, Some(Category::OnePieces));
        assert_eq!(request.inputs.mode, Some(FashnMode::Quality));
        assert_eq!(
            request.inputs.garment_photo_type,
            Some(GarmentPhotoType::FlatLay)
        );
        assert_eq!(request.inputs.moderation_level, Some(ModerationLevel::None));
        assert_eq!(request.inputs.output_format, Some(OutputFormat::Jpeg));
        assert_eq!(serde_json::to_value(&request).unwrap(), full);
        assert!(
            serde_json::from_value::<RunRequest>(json!({
                "model_name": "tryon-v1.6",
                "inputs": {"model_image": "a", "garment_image": "b", "category": "dresses"}
            }))
            .is_err()
        );
    }

    #[test]
    fn parse_and_as_str_agree_for_every_enum_value() {
        for value in Category::ALL {
            assert_eq!(Category::parse(value.as_str()), Some(*value));
            assert_eq!(serde_json::to_value(value).unwrap(), json!(value.as_str()));
        }
        for value in FashnMode::ALL {
            assert_eq!(FashnMode::parse(value.as_str()), Some(*value));
        }
        for value in GarmentPhotoType::ALL {
            assert_eq!(GarmentPhotoType::parse(value.as_str()), Some(*value));
        }
        for value in ModerationLevel::ALL {
            assert_eq!(ModerationLevel::parse(value.as_str()), Some(*value));
        }
        for value in OutputFormat::ALL {
            assert_eq!(OutputFormat::parse(value.as_str()), Some(*value));
        }
        assert_eq!(Category::parse("one_pieces"), None);
        assert_eq!(FashnMode::parse("Balanced"), None);
        assert_eq!(OutputFormat::Jpeg.mime(), "image/jpeg");
    }

    #[test]
    fn the_docs_answers_parse() {
        let run: RunResponse = serde_json::from_value(json!({
            "id": "123a87r9-4129-4bb3-be18-9c9fb5bd7fc1-u1",
            "error": null
        }))
        .unwrap();
        assert_eq!(
            run.id.as_deref(),
            Some("123a87r9-4129-4bb3-be18-9c9fb5bd7fc1-u1")
        );
        assert_eq!(run.error, None);

        let done: StatusResponse = serde_json::from_value(json!({
            "id": "123a87r9-4129-4bb3-be18-9c9fb5bd7fc1-u1",
            "status": "completed",
            "output": ["https://cdn.fashn.ai/123a87r9-4129-4bb3-be18-9c9fb5bd7fc1-u1/output_0.png"],
            "error": null
        }))
        .unwrap();
        assert_eq!(done.status, PredictionStatus::Completed);
        assert_eq!(done.output.as_ref().map(Vec::len), Some(1));

        let failed: StatusResponse = serde_json::from_value(json!({
            "id": "123a87r9-4129-4bb3-be18-9c9fb5bd7fc1-u1",
            "status": "failed",
            "output": null,
            "error": {"name": "ImageLoadError", "message": "Error loading model image"}
        }))
        .unwrap();
        assert_eq!(failed.status.task_status(), TaskStatus::Failed);
        assert_eq!(failed.error.unwrap().name, runtime::IMAGE_LOAD_ERROR);

        // A status answer while waiting has neither output nor error.
        let waiting: StatusResponse =
            serde_json::from_value(json!({"id": "x", "status": "in_queue"})).unwrap();
        assert_eq!(waiting.output, None);

        let refusal: ApiErrorBody = serde_json::from_value(json!({
            "error": "UnauthorizedAccess",
            "message": "Unauthorized: Invalid token"
        }))
        .unwrap();
        assert_eq!(refusal.error, api::UNAUTHORIZED_ACCESS);
        assert_eq!(
            serde_json::to_value(&refusal).unwrap(),
            json!({"error": "UnauthorizedAccess", "message": "Unauthorized: Invalid token"})
        );
    }

    #[test]
    fn every_state_maps_to_the_contract_and_unknown_ones_keep_the_poller_waiting() {
        let table = [
            ("starting", TaskStatus::Pending, false),
            ("in_queue", TaskStatus::Pending, false),
            ("processing", TaskStatus::Running, false),
            ("completed", TaskStatus::Succeeded, true),
            ("failed", TaskStatus::Failed, true),
            ("canceled", TaskStatus::Canceled, true),
            ("time_out", TaskStatus::Failed, true),
        ];
        for (wire, task, terminal) in table {
            let status: PredictionStatus = serde_json::from_value(json!(wire)).unwrap();
            assert!(!matches!(status, PredictionStatus::Other(_)), "{wire}");
            assert_eq!(status.task_status(), task, "{wire}");
            assert_eq!(status.is_terminal(), terminal, "{wire}");
            assert_eq!(serde_json::to_value(&status).unwrap(), json!(wire));
        }
        let new: PredictionStatus = serde_json::from_value(json!("warming_up")).unwrap();
        assert_eq!(new, PredictionStatus::Other("warming_up".into()));
        assert_eq!(new.task_status(), TaskStatus::Running);
        assert!(!new.is_terminal());
        assert_eq!(new.as_str(), "warming_up");
    }

    #[test]
    fn only_failures_of_the_service_are_transient() {
        for name in [
            runtime::PIPELINE_ERROR,
            runtime::THIRD_PARTY_PROVIDER_ERROR,
            runtime::INTERNAL_SERVER_ERROR,
        ] {
            assert!(is_transient_fashn(name), "{name}");
        }
        for name in [
            runtime::IMAGE_LOAD_ERROR,
            runtime::CONTENT_MODERATION_ERROR,
            runtime::POSE_ERROR,
            runtime::THIRD_PARTY_ERROR,
            runtime::POLLING_TIMEOUT,
            "SomethingNew",
        ] {
            assert!(!is_transient_fashn(name), "{name}");
        }
    }
}

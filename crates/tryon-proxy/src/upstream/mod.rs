//! The DashScope client (one `reqwest::Client` with timeouts, the key sent only in the upstream's Authorization header) and the upstream seam above it.
//!
//! [`adapter::Adapter`] is the seam: everything the job worker needs from an upstream
//! (submit a job, learn its state, its rules, limits and price). Two adapters implement
//! it over this one client: [`async_task::AsyncTaskAdapter`] (the seed's asynchronous
//! create/poll, `aitryon-plus`), [`multimodal::MultimodalAdapter`] (the synchronous
//! multi-image editing successor, `qwen-image-2.0` and later) and [`fashn::FashnAdapter`]
//! (FASHN's `tryon-v1.6`, whose client calls live beside its adapter; the same client
//! type then holds FASHN's base URL and key).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use tryon_api::generation::{
    GENERATION_PATH, GenerationRequest, GenerationResponse, SuccessorModel, UpstreamKind,
};
use tryon_api::wire::{
    ASYNC_HEADER, ASYNC_HEADER_VALUE, CREATE_TASK_PATH, CancelResponse, CreateTaskRequest,
    CreateTaskResponse, ErrorBody, SEGMENT_PATH, SegmentRequest, SegmentResponse,
    TaskQueryResponse, cancel_path, task_path,
};
use tryon_api::{ErrorKind, Locale};

use crate::error::ApiError;

pub mod adapter;
pub mod async_task;
pub mod fashn;
pub mod multimodal;

pub use adapter::{Adapter, Outcome, Progress, Submission, Times};
pub use async_task::AsyncTaskAdapter;
pub use fashn::{FashnAdapter, FashnOptions};
pub use multimodal::MultimodalAdapter;

/// The largest result image the proxy downloads; results are a few MB at most.
pub const MAX_DOWNLOAD_BYTES: usize = 20 * 1024 * 1024;

/// The adapter of `kind` for `model`, over the shared client: the current one at start,
/// or the one of a job sent before the shop switched upstreams. `fashn` are the shop's
/// FASHN options, `clock` the one the task times are read on.
pub fn build_adapter(
    kind: UpstreamKind,
    model: &str,
    client: UpstreamClient,
    locale: Locale,
    price_cny: f64,
    fashn: &FashnOptions,
    clock: tryon_clock::Clock,
) -> Result<Arc<dyn Adapter>, String> {
    Ok(match kind {
        UpstreamKind::Aitryon => Arc::new(AsyncTaskAdapter::new(client, model, price_cny)),
        UpstreamKind::QwenImage => {
            let model = SuccessorModel::parse(model).map_err(|refusal| refusal.to_string())?;
            Arc::new(MultimodalAdapter::new(client, model, locale, price_cny))
        }
        UpstreamKind::Fashn => {
            if model != tryon_api::fashn::MODEL_TRYON {
                return Err(format!(
                    "{model:?} is not a FASHN try-on model; use {:?}",
                    tryon_api::fashn::MODEL_TRYON
                ));
            }
            Arc::new(FashnAdapter::new(
                client,
                model,
                price_cny,
                fashn.clone(),
                clock,
            ))
        }
    })
}

/// Why an upstream call did not give the expected answer.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The service answered with an error body (or a status without one).
    #[error("the upstream answered {status} {code}: {message}", code = body.code, message = body.message)]
    Api { status: StatusCode, body: ErrorBody },
    /// The service could not be reached or the connection broke.
    #[error("the upstream could not be reached: {0}")]
    Network(#[source] reqwest::Error),
    /// The service answered 2xx with a body that is not the documented shape.
    #[error("the upstream answer could not be read: {0}")]
    Decode(String),
}

impl UpstreamError {
    /// Whether trying again later may succeed: network trouble, throttling and 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            UpstreamError::Api { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            UpstreamError::Network(_) => true,
            UpstreamError::Decode(_) => false,
        }
    }
}

/// Upper bounds (seconds) of the latency histogram buckets: from a loopback emulator
/// (milliseconds) to a slow download (the 30 s client timeout) and a held synchronous
/// generation call (up to [`GENERATION_TIMEOUT`]).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// How long a synchronous generation call may be held: the answer carries the image, so
/// the call lasts as long as the model works, far beyond the 30 s of the other calls.
pub const GENERATION_TIMEOUT: Duration = Duration::from_secs(120);

/// One call kind's latency histogram.
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    /// Cumulative counts per bucket of [`LATENCY_BUCKETS`].
    pub buckets: Vec<u64>,
    pub count: u64,
    pub sum_seconds: f64,
}

/// What the upstream answered and how fast, for the metrics.
#[derive(Debug, Default)]
pub struct UpstreamStats {
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
    /// `(call, HTTP status or "network")` to count.
    answers: Mutex<BTreeMap<(&'static str, String), u64>>,
}

impl UpstreamStats {
    fn record(&self, call: &'static str, outcome: String, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        {
            let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
            let histogram = latency.entry(call).or_insert_with(|| Histogram {
                buckets: vec![0; LATENCY_BUCKETS.len()],
                ..Histogram::default()
            });
            for (bucket, bound) in histogram.buckets.iter_mut().zip(LATENCY_BUCKETS) {
                if seconds <= *bound {
                    *bucket += 1;
                }
            }
            histogram.count += 1;
            histogram.sum_seconds += seconds;
        }
        *self
            .answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((call, outcome))
            .or_insert(0) += 1;
    }

    /// A copy of the latency histograms by call.
    pub fn latency(&self) -> BTreeMap<&'static str, Histogram> {
        self.latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A copy of the answer counts by call and status.
    pub fn answers(&self) -> BTreeMap<(&'static str, String), u64> {
        self.answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The DashScope API as the proxy uses it.
#[derive(Clone)]
pub struct UpstreamClient {
    http: reqwest::Client,
    base_url: String,
    api_key: SecretString,
    stats: Arc<UpstreamStats>,
}

impl UpstreamClient {
    /// A client for the service at `base_url` (no trailing slash) using `api_key`.
    pub fn new(base_url: impl Into<String>, api_key: SecretString) -> reqwest::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            // Redirects could carry the Authorization header to another host; the API never
            // redirects, so none are followed.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tryon-proxy/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(UpstreamClient {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            api_key,
            stats: Arc::new(UpstreamStats::default()),
        })
    }

    /// Latency and answer counts of the calls made so far.
    pub fn stats(&self) -> &UpstreamStats {
        &self.stats
    }

    /// Runs one upstream call and records its latency and outcome.
    async fn timed<T>(
        &self,
        call: &'static str,
        run: impl Future<Output = Result<T, UpstreamError>>,
    ) -> Result<T, UpstreamError> {
        let started = Instant::now();
        let result = run.await;
        let outcome = match &result {
            Ok(_) => "200".to_owned(),
            Err(UpstreamError::Api { status, .. }) => status.as_u16().to_string(),
            Err(UpstreamError::Network(_)) => "network".to_owned(),
            Err(UpstreamError::Decode(_)) => "undecodable".to_owned(),
        };
        self.stats.record(call, outcome, started.elapsed());
        result
    }

    /// Sends one call to the API host with the key, records its latency and outcome, and
    /// reads the JSON answer (or the error body). Every call to the API host goes through
    /// here, so the key is attached in one place and only for that host.
    async fn authorized<T: serde::de::DeserializeOwned>(
        &self,
        call: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, UpstreamError> {
        self.authorized_reading(call, request, dashscope_error)
            .await
    }

    /// [`Self::authorized`] for an API whose refusals have their own body shape:
    /// `refusal` reads a non-2xx answer's status and bytes into the error.
    pub(crate) async fn authorized_reading<T: serde::de::DeserializeOwned>(
        &self,
        call: &'static str,
        request: reqwest::RequestBuilder,
        refusal: fn(StatusCode, &[u8]) -> UpstreamError,
    ) -> Result<T, UpstreamError> {
        self.timed(call, async {
            let response = request
                .bearer_auth(self.api_key.expose_secret())
                .send()
                .await
                .map_err(UpstreamError::Network)?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(UpstreamError::Network)?;
            if status.is_success() {
                return serde_json::from_slice(&bytes)
                    .map_err(|e| UpstreamError::Decode(e.to_string()));
            }
            Err(refusal(status, &bytes))
        })
        .await
    }

    /// Cuts garments out of a person photo (`aitryon-parsing-v1`), synchronously.
    pub async fn segment(
        &self,
        request: &SegmentRequest,
    ) -> Result<SegmentResponse, UpstreamError> {
        let url = format!("{}{SEGMENT_PATH}", self.base_url);
        self.authorized("segment", self.http.post(url).json(request))
            .await
    }

    /// Whether the upstream answers and accepts the key: a query of a task id that does
    /// not exist, which the service answers without doing any work.
    pub async fn probe(&self) -> Result<(), UpstreamError> {
        reachable_with_key(self.query("readyz-probe").await)
    }

    /// Submits an asynchronous try-on task.
    pub async fn create(
        &self,
        request: &CreateTaskRequest,
    ) -> Result<CreateTaskResponse, UpstreamError> {
        let url = format!("{}{CREATE_TASK_PATH}", self.base_url);
        let call = self
            .http
            .post(url)
            .header(ASYNC_HEADER, ASYNC_HEADER_VALUE)
            .json(request);
        self.authorized("create", call).await
    }

    /// Runs one synchronous multi-image editing call (`qwen-image-2.0` and later) and
    /// waits for its answer, which carries the result image, for up to `timeout`.
    pub async fn generate(
        &self,
        request: &GenerationRequest,
        timeout: Duration,
    ) -> Result<GenerationResponse, UpstreamError> {
        let url = format!("{}{GENERATION_PATH}", self.base_url);
        let call = self.http.post(url).timeout(timeout).json(request);
        self.authorized("generate", call).await
    }

    /// Queries one task.
    pub async fn query(&self, task_id: &str) -> Result<TaskQueryResponse, UpstreamError> {
        let url = format!("{}{}", self.base_url, task_path(task_id));
        self.authorized("query", self.http.get(url)).await
    }

    /// Cancels a task that is still pending.
    pub async fn cancel(&self, task_id: &str) -> Result<CancelResponse, UpstreamError> {
        let url = format!("{}{}", self.base_url, cancel_path(task_id));
        self.authorized("cancel", self.http.post(url)).await
    }

    /// Downloads a result image. The result lives on object storage, not on the API host,
    /// so no Authorization header is sent: the key must never leave for another host.
    /// A `data:` URL (a result the upstream answered inline, as FASHN does with
    /// `return_base64`) is decoded here instead, with no call at all.
    pub async fn download(&self, url: &str) -> Result<Bytes, UpstreamError> {
        if let Some(inline) = decode_data_url(url) {
            return inline;
        }
        self.timed("download", self.download_untimed(url)).await
    }

    async fn download_untimed(&self, url: &str) -> Result<Bytes, UpstreamError> {
        let mut response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(UpstreamError::Network)?;
        let status = response.status();
        if !status.is_success() {
            return Err(UpstreamError::Api {
                status,
                body: ErrorBody {
                    code: String::new(),
                    message: format!("the result download answered {status}"),
                    request_id: String::new(),
                },
            });
        }
        // Read chunk by chunk so that a huge or endless answer cannot fill the memory.
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(UpstreamError::Network)? {
            if bytes.len() + chunk.len() > MAX_DOWNLOAD_BYTES {
                return Err(UpstreamError::Decode(format!(
                    "the result is larger than {MAX_DOWNLOAD_BYTES} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(bytes))
    }
}

/// The bytes of a `data:<type>;base64,<data>` URL, or `None` when `url` is not one. The
/// same size bound as a download applies, checked before decoding.
pub fn decode_data_url(url: &str) -> Option<Result<Bytes, UpstreamError>> {
    use base64::Engine;
    let rest = url.strip_prefix("data:")?;
    Some((|| {
        let (head, data) = rest
            .split_once(',')
            .ok_or_else(|| UpstreamError::Decode("a data URL without a comma".to_owned()))?;
        if !head.ends_with(";base64") {
            return Err(UpstreamError::Decode(
                "a data URL that is not base64".to_owned(),
            ));
        }
        if data.len() / 4 * 3 > MAX_DOWNLOAD_BYTES {
            return Err(UpstreamError::Decode(format!(
                "the result is larger than {MAX_DOWNLOAD_BYTES} bytes"
            )));
        }
        base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map(Bytes::from)
            .map_err(|e| UpstreamError::Decode(format!("a data URL that is not base64: {e}")))
    })())
}

/// Decodes a 2xx answer as `T`, any other as an [`ErrorBody`].
fn dashscope_error(status: StatusCode, bytes: &[u8]) -> UpstreamError {
    let body = serde_json::from_slice::<ErrorBody>(bytes).unwrap_or_else(|_| ErrorBody {
        code: String::new(),
        message: format!("the upstream answered {status} without an error body"),
        request_id: String::new(),
    });
    UpstreamError::Api { status, body }
}

/// What a readiness probe's answer says: a refused key (401, 403) or no connection is a
/// failure; any other answer, even an error body, proves the service is reachable.
pub(crate) fn reachable_with_key<T>(answer: Result<T, UpstreamError>) -> Result<(), UpstreamError> {
    match answer {
        Err(UpstreamError::Api { status, body })
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN =>
        {
            Err(UpstreamError::Api { status, body })
        }
        Err(UpstreamError::Network(err)) => Err(UpstreamError::Network(err)),
        _ => Ok(()),
    }
}

/// What the shopper is told when an upstream call fails.
///
/// Upstream refusals are relayed in the same shape and with the same status, except key
/// and account problems (401, 403): those are the shop's to fix, are logged for it, and
/// show to the shopper as an unavailable service so that nothing about the key leaks.
pub fn shopper_error(err: UpstreamError) -> ApiError {
    match err {
        UpstreamError::Api { status, body }
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN =>
        {
            tracing::error!(
                %status,
                code = %body.code,
                message = %body.message,
                "the upstream refused the shop's key or account; check DASHSCOPE_API_KEY (FASHN_API_KEY under TRYON_UPSTREAM=fashn) and the account"
            );
            ApiError::new(ErrorKind::UpstreamUnavailable)
        }
        UpstreamError::Api { status, body } => {
            match ErrorKind::from_wire(&body.code, &body.message) {
                Some(kind) => {
                    let message = if body.message.trim().is_empty() {
                        kind.message().to_owned()
                    } else {
                        body.message
                    };
                    ApiError {
                        status,
                        body: ErrorBody {
                            code: kind.code().to_owned(),
                            message,
                            request_id: String::new(),
                        },
                        retry_after_secs: None,
                    }
                }
                None => {
                    tracing::error!(%status, code = %body.code, message = %body.message, "the upstream answered an unknown error");
                    ApiError::new(ErrorKind::UpstreamUnavailable)
                }
            }
        }
        other => {
            tracing::error!(error = %other, "the upstream call failed");
            ApiError::new(ErrorKind::UpstreamUnavailable)
        }
    }
}

//! The widget's only I/O edge: the proxy calls (upload, check or delete a remembered upload, segment, create with its idempotency key, long-poll, cancel a task) over the browser's `fetch`.
//!
//! Every body is a contract type from `tryon_api`; this module only moves them over HTTP
//! and sorts failures into [`ApiError`], so that the flow above it stays free of `fetch`.
//! The browser's own `JSON` parses and writes the bodies, and [`crate::body`] maps them to
//! and from the contract types: a JSON reader and writer in Rust would cost the bundle
//! far more than these few calls into JavaScript.

use tryon_api::proxy::{UPLOADS_PATH, UploadResponse, upload_path};
use tryon_api::wire::{
    CREATE_TASK_PATH, CancelResponse, CreateTaskRequest, CreateTaskResponse, ErrorBody,
    SEGMENT_PATH, SegmentRequest, SegmentResponse, TaskQueryResponse, cancel_path, task_path,
};
use tryon_api::{ErrorKind, IDEMPOTENCY_KEY_HEADER, IdempotencyKey, TaskStatus};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::body::{self, Answer};
use crate::problem::Problem;

/// The header that carries the anonymous shopper token for pages whose browsers block the
/// proxy's cookie (the proxy reads the header first, then the cookie).
pub const SHOPPER_HEADER: &str = "X-Tryon-Shopper";

/// How long the proxy may hold one task query open while nothing changes.
pub const LONG_POLL_WAIT_MS: u32 = 20_000;

/// Where the proxy is and who the shopper is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Proxy {
    /// Base URL of the proxy; empty for the page's own origin.
    pub base: String,
    /// The shopper token from the proxy's status answer, when the loader got one.
    pub token: Option<String>,
}

/// Why a proxy call gave no usable answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The proxy answered with an error body in the DashScope shape.
    Service { status: u16, body: ErrorBody },
    /// The proxy answered an error status without a readable error body.
    Status(u16),
    /// No answer at all: offline, DNS, refused connection, CORS, or an aborted request.
    Network(String),
    /// A success status whose body is not the expected JSON.
    Decode(String),
}

impl ApiError {
    /// The HTTP status of an error answer; `None` when there was no answer to read.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Service { status, .. } | ApiError::Status(status) => Some(*status),
            ApiError::Network(_) | ApiError::Decode(_) => None,
        }
    }

    /// Whether asking again later may succeed. Polling retries these quietly, because a
    /// query is free and a shopper should not lose a paid picture to a network hiccup.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Network(_) => true,
            ApiError::Status(status) => *status == 429 || *status >= 500,
            ApiError::Service { body, .. } => {
                ErrorKind::from_wire(&body.code, &body.message).is_some_and(ErrorKind::retryable)
            }
            ApiError::Decode(_) => false,
        }
    }

    /// Whether a create that ended so may be sent again with its idempotency key: its
    /// answer was lost, or the server failed (5xx) for a reason that may pass. A 4xx is
    /// the proxy's judgement of the request and is never repeated, nor is a 5xx the
    /// catalogue calls final (the shop's daily caps).
    pub fn repeats_a_create(&self) -> bool {
        match self {
            ApiError::Network(_) => true,
            ApiError::Status(status) => *status >= 500,
            ApiError::Service { status, body } => {
                *status >= 500
                    && ErrorKind::from_wire(&body.code, &body.message)
                        .is_none_or(ErrorKind::retryable)
            }
            ApiError::Decode(_) => false,
        }
    }

    /// What the shopper is told when this error ends a try-on.
    pub fn problem(&self) -> Problem {
        match self {
            ApiError::Service { body, .. } => Problem::from_body(body),
            ApiError::Network(_) => Problem::Network,
            ApiError::Status(_) | ApiError::Decode(_) => Problem::BadAnswer,
        }
    }
}

/// The URL of `path` on the proxy at `base` (empty for the page's own origin).
pub fn endpoint(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// The long-poll query parameters: answer as soon as the status is no longer `since`.
pub fn long_poll_params(since: &TaskStatus) -> [(&'static str, String); 2] {
    [
        ("wait_ms", LONG_POLL_WAIT_MS.to_string()),
        ("since", since.as_str().to_owned()),
    ]
}

/// What one call sends besides its method and URL.
#[derive(Default)]
struct Call<'a> {
    /// The body, and its content type.
    body: Option<(JsValue, &'a str)>,
    /// The create's idempotency key.
    key: Option<&'a str>,
    /// Ends a held query at once when the shopper leaves.
    abort: Option<&'a web_sys::AbortSignal>,
}

impl Proxy {
    /// Stores the shopper's photo on the proxy, which answers with a URL the upstream can fetch.
    pub async fn upload_photo(
        &self,
        blob: &web_sys::Blob,
        content_type: &str,
    ) -> Result<UploadResponse, ApiError> {
        let call = Call {
            body: Some((blob.into(), content_type)),
            ..Call::default()
        };
        read(
            self.call("POST", &endpoint(&self.base, UPLOADS_PATH), call)
                .await,
        )
    }

    /// Asks whether the proxy still keeps the shopper's upload `id` (a remembered photo):
    /// `Ok(false)` once it answers 404 `Proxy.PhotoExpired` (gone, or not the shopper's).
    /// Only the status is read: the dialog needs nothing else, and a body type of its own
    /// would cost the bundle its reader.
    pub async fn upload_is_kept(&self, id: &str) -> Result<bool, ApiError> {
        let escaped = String::from(js_sys::encode_uri_component(id));
        let url = endpoint(&self.base, &upload_path(&escaped));
        match self.call("GET", &url, Call::default()).await {
            Ok(_) => Ok(true),
            Err(error) if error.status() == Some(404) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Deletes the shopper's upload `id` on the proxy ("Forget my photo"). A photo that is
    /// already gone counts as deleted.
    pub async fn delete_upload(&self, id: &str) -> Result<(), ApiError> {
        let escaped = String::from(js_sys::encode_uri_component(id));
        let url = endpoint(&self.base, &upload_path(&escaped));
        match self.call("DELETE", &url, Call::default()).await {
            Err(error) if error.status() != Some(404) => Err(error),
            _ => Ok(()),
        }
    }

    /// Cuts the shopper's own garment out of their photo (the keep-own modes); the proxy
    /// re-hosts the crops, so their URLs pass its garment policy.
    pub async fn segment(&self, body: &SegmentRequest) -> Result<SegmentResponse, ApiError> {
        let call = Call {
            body: Some(json(&body::segment(body))?),
            ..Call::default()
        };
        read(
            self.call("POST", &endpoint(&self.base, SEGMENT_PATH), call)
                .await,
        )
    }

    /// Creates the asynchronous try-on task. `key` is the attempt's idempotency key: the
    /// same key with the same body makes the proxy answer the task it already made, so a
    /// create whose answer was lost can be sent again without paying twice.
    pub async fn create_task(
        &self,
        body: &CreateTaskRequest,
        key: &IdempotencyKey,
    ) -> Result<CreateTaskResponse, ApiError> {
        // No `X-DashScope-Async` header: the proxy adds it upstream.
        let call = Call {
            body: Some(json(&body::create_task(body))?),
            key: Some(key.as_str()),
            ..Call::default()
        };
        read(
            self.call("POST", &endpoint(&self.base, CREATE_TASK_PATH), call)
                .await,
        )
    }

    /// Asks for the state of one task; with `since`, the proxy holds the answer until the
    /// status differs or its wait ends. `abort` ends the wait early when the shopper leaves.
    pub async fn query_task(
        &self,
        task_id: &str,
        since: Option<&TaskStatus>,
        abort: Option<&web_sys::AbortSignal>,
    ) -> Result<TaskQueryResponse, ApiError> {
        // The id came from the network, so it is escaped before it becomes part of a path.
        let escaped = String::from(js_sys::encode_uri_component(task_id));
        let mut url = endpoint(&self.base, &task_path(&escaped));
        if let Some(since) = since {
            // The status came from the network as well, so the values are escaped too.
            let mut separator = '?';
            for (name, value) in long_poll_params(since) {
                url.push(separator);
                separator = '&';
                url.push_str(name);
                url.push('=');
                url.push_str(&String::from(js_sys::encode_uri_component(&value)));
            }
        }
        let call = Call {
            abort,
            ..Call::default()
        };
        read(self.call("GET", &url, call).await)
    }

    /// Asks the proxy to cancel a task; the service only cancels tasks that are still queued.
    pub async fn cancel_task(&self, task_id: &str) -> Result<CancelResponse, ApiError> {
        let escaped = String::from(js_sys::encode_uri_component(task_id));
        let url = endpoint(&self.base, &cancel_path(&escaped));
        read(self.call("POST", &url, Call::default()).await)
    }

    /// Sends one call with the shopper's identity (the token header when known, and
    /// cookies on cross-origin calls; same-origin calls send them anyway) and answers the
    /// parsed JSON body of a success, or the error an error answer stands for. Every call
    /// goes through this one function, whatever it answers, so that the bundle holds the
    /// waiting on `fetch` once rather than once per call.
    async fn call(&self, method: &str, url: &str, call: Call<'_>) -> Result<JsValue, ApiError> {
        let headers = web_sys::Headers::new().map_err(network)?;
        let init = web_sys::RequestInit::new();
        init.set_method(method);
        if !self.base.is_empty() {
            init.set_credentials(web_sys::RequestCredentials::Include);
        }
        if let Some(token) = &self.token {
            headers.set(SHOPPER_HEADER, token).map_err(network)?;
        }
        if let Some(key) = call.key {
            headers.set(IDEMPOTENCY_KEY_HEADER, key).map_err(network)?;
        }
        if let Some((body, content_type)) = &call.body {
            headers.set("Content-Type", content_type).map_err(network)?;
            init.set_body(body);
        }
        init.set_headers(&headers);
        init.set_signal(call.abort);
        let request = web_sys::Request::new_with_str_and_init(url, &init).map_err(network)?;
        let response = fetch(&request).await.map_err(network)?;
        let status = response.status();
        let text = JsFuture::from(response.text().map_err(network)?)
            .await
            .map_err(network)?
            .as_string()
            .unwrap_or_default();
        let parsed = js_sys::JSON::parse(&text);
        if response.ok() {
            parsed.map_err(|_| ApiError::Decode("the answer is not JSON".to_owned()))
        } else {
            match parsed.ok().map(|value| ErrorBody::read(&value)) {
                Some(Ok(body)) => Err(ApiError::Service { status, body }),
                _ => Err(ApiError::Status(status)),
            }
        }
    }
}

/// Fetches a file the page may read (a sample model, a result to save) as a blob; `None`
/// when it cannot be had.
pub async fn fetch_blob(url: &str) -> Option<web_sys::Blob> {
    let request = web_sys::Request::new_with_str(url).ok()?;
    let response = fetch(&request).await.ok()?;
    if !response.ok() {
        return None;
    }
    JsFuture::from(response.blob().ok()?)
        .await
        .ok()?
        .dyn_into()
        .ok()
}

/// The page's own `fetch` of `request`, looked up when it is called (so that tests can
/// put a fake in its place).
async fn fetch(request: &web_sys::Request) -> Result<web_sys::Response, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    JsFuture::from(window.fetch_with_request(request))
        .await
        .map(JsCast::unchecked_into)
}

/// `body` as the JSON text of a call, labelled as JSON.
fn json(body: &JsValue) -> Result<(JsValue, &'static str), ApiError> {
    let text = js_sys::JSON::stringify(body)
        .map_err(|_| ApiError::Decode("JSON.stringify refused the body".to_owned()))?;
    Ok((text.into(), "application/json"))
}

/// Reads a call's answer as `T`.
fn read<T: Answer>(answer: Result<JsValue, ApiError>) -> Result<T, ApiError> {
    T::read(&answer?)
        .map_err(|body::Unreadable(name)| ApiError::Decode(["unreadable field ", name].concat()))
}

/// A call that got no answer: the browser's words for why.
fn network(error: JsValue) -> ApiError {
    ApiError::Network(
        error
            .dyn_ref::<js_sys::Error>()
            .map(|error| String::from(error.message()))
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_join_the_base_and_the_contract_path() {
        assert_eq!(
            endpoint("", UPLOADS_PATH),
            "/api/v1/tryon/uploads".to_owned()
        );
        assert_eq!(
            endpoint("http://127.0.0.1:8787/", CREATE_TASK_PATH),
            "http://127.0.0.1:8787/api/v1/services/aigc/image2image/image-synthesis"
        );
        assert_eq!(
            endpoint("", SEGMENT_PATH),
            "/api/v1/services/vision/image-process/process"
        );
    }

    #[test]
    fn the_long_poll_waits_twenty_seconds_for_a_change_of_status() {
        assert_eq!(
            long_poll_params(&TaskStatus::PreProcessing),
            [
                ("wait_ms", "20000".to_owned()),
                ("since", "PRE-PROCESSING".to_owned())
            ]
        );
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let body = |kind: ErrorKind| ApiError::Service {
            status: kind.http_status(),
            body: kind.body("r"),
        };
        assert!(ApiError::Network("offline".into()).is_transient());
        assert!(ApiError::Status(502).is_transient());
        assert!(body(ErrorKind::Throttling).is_transient());
        assert!(!body(ErrorKind::InvalidPerson).is_transient());
        assert!(!body(ErrorKind::TaskNotFound).is_transient());
        assert!(!ApiError::Status(404).is_transient());
    }

    #[test]
    fn a_create_is_sent_again_only_when_its_answer_was_lost_or_the_server_failed() {
        let body = |kind: ErrorKind| ApiError::Service {
            status: kind.http_status(),
            body: kind.body("r"),
        };
        assert!(ApiError::Network("offline".into()).repeats_a_create());
        assert!(ApiError::Status(503).repeats_a_create());
        assert!(body(ErrorKind::UpstreamUnavailable).repeats_a_create());
        assert!(body(ErrorKind::ModelUnavailable).repeats_a_create());
        assert!(!body(ErrorKind::DailyImageCap).repeats_a_create());
        assert!(!body(ErrorKind::Throttling).repeats_a_create(), "a 4xx");
        assert!(!body(ErrorKind::IdempotencyKeyReused).repeats_a_create());
        assert!(!ApiError::Status(429).repeats_a_create());
        assert!(!ApiError::Decode("bad".into()).repeats_a_create());
    }
}

//! The widget's only I/O edge: the proxy calls (upload, create, query and cancel a task) over gloo-net.
//!
//! Every body is a contract type from `tryon_api`; this module only moves them over HTTP
//! and sorts failures into [`ApiError`], so that the flow above it stays free of `fetch`.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use tryon_api::ErrorKind;
use tryon_api::proxy::{UPLOADS_PATH, UploadResponse};
use tryon_api::wire::{
    CREATE_TASK_PATH, CancelResponse, CreateTaskRequest, CreateTaskResponse, ErrorBody,
    TaskQueryResponse, cancel_path, task_path,
};

use crate::photo::PreparedPhoto;
use crate::problem::Problem;

/// Why a proxy call gave no usable answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The proxy answered with an error body in the DashScope shape.
    Service { status: u16, body: ErrorBody },
    /// The proxy answered an error status without a readable error body.
    Status(u16),
    /// No answer at all: offline, DNS, refused connection, CORS.
    Network(String),
    /// A success status whose body is not the expected JSON.
    Decode(String),
}

impl ApiError {
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

/// Stores the shopper's photo on the proxy, which answers with a URL the upstream can fetch.
pub async fn upload_photo(base: &str, photo: &PreparedPhoto) -> Result<UploadResponse, ApiError> {
    let request = Request::post(&endpoint(base, UPLOADS_PATH))
        .header("Content-Type", &photo.content_type)
        .body(photo.blob.clone())
        .map_err(|error| ApiError::Network(error.to_string()))?;
    decode(request.send().await).await
}

/// Creates the asynchronous try-on task.
pub async fn create_task(
    base: &str,
    body: &CreateTaskRequest,
) -> Result<CreateTaskResponse, ApiError> {
    // No `X-DashScope-Async` header: the proxy adds it upstream, and a custom header would
    // force a CORS preflight whenever the proxy lives on another origin than the shop.
    let request = Request::post(&endpoint(base, CREATE_TASK_PATH))
        .json(body)
        .map_err(|error| ApiError::Decode(error.to_string()))?;
    decode(request.send().await).await
}

/// Asks for the state of one task.
pub async fn query_task(base: &str, task_id: &str) -> Result<TaskQueryResponse, ApiError> {
    // The id came from the network, so it is escaped before it becomes part of a path.
    let escaped = String::from(js_sys::encode_uri_component(task_id));
    let request = Request::get(&endpoint(base, &task_path(&escaped)));
    decode(request.send().await).await
}

/// Asks the proxy to cancel a task; the service only cancels tasks that are still queued.
pub async fn cancel_task(base: &str, task_id: &str) -> Result<CancelResponse, ApiError> {
    let escaped = String::from(js_sys::encode_uri_component(task_id));
    let request = Request::post(&endpoint(base, &cancel_path(&escaped)));
    decode(request.send().await).await
}

/// Reads a success body as `T`, or an error body as [`ApiError::Service`].
async fn decode<T: DeserializeOwned>(
    sent: Result<Response, gloo_net::Error>,
) -> Result<T, ApiError> {
    let response = sent.map_err(|error| ApiError::Network(error.to_string()))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|error| ApiError::Network(error.to_string()))?;
    if response.ok() {
        serde_json::from_str(&text).map_err(|error| ApiError::Decode(error.to_string()))
    } else {
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => Err(ApiError::Service { status, body }),
            Err(_) => Err(ApiError::Status(status)),
        }
    }
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
}

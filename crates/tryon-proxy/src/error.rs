//! The one error type handlers answer with, always in the contract's `{"code","message","request_id"}` shape.
//!
//! Use [`ApiError`] for every refusal a shopper should see. Internal failures go through
//! [`ApiError::internal`], which logs the real cause and answers a generic
//! `Proxy.InternalError`, so that no path, key or stack detail reaches the browser.
//! The request id is filled in by [`fill_request_id`], which runs after the handler, so
//! that errors raised outside handlers (timeouts, rejections) carry it as well.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::request_id::RequestId;
use tryon_api::ErrorKind;
use tryon_api::wire::ErrorBody;

/// A refusal in the contract's error shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status; usually the catalogue's, but relayed upstream answers keep theirs.
    pub status: StatusCode,
    pub body: ErrorBody,
    /// Seconds after which the same request may succeed, sent as `Retry-After` when known.
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    /// The catalogue entry as it stands.
    pub fn new(kind: ErrorKind) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(kind.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: kind.body(String::new()),
            retry_after_secs: None,
        }
    }

    /// The catalogue entry with `detail` appended to its message, so that the shopper
    /// learns exactly why (for example the size of a refused photo).
    pub fn with_detail(kind: ErrorKind, detail: impl std::fmt::Display) -> ApiError {
        let mut error = ApiError::new(kind);
        error.body.message = format!("{} ({detail})", error.body.message);
        error
    }

    /// The same body with another HTTP status.
    pub fn with_status(mut self, status: StatusCode) -> ApiError {
        self.status = status;
        self
    }

    /// The same refusal with a `Retry-After` of `secs` seconds (at least one).
    pub fn with_retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after_secs = Some(secs.max(1));
        self
    }

    /// Logs `cause`, a failure of the file store, and answers 503
    /// `Proxy.StorageUnavailable`: the shopper learns that trying again later helps,
    /// and nothing of the store (its address, bucket or error) leaves the proxy.
    pub fn storage(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "the file store failed");
        ApiError::new(ErrorKind::StorageUnavailable)
    }

    /// Logs `cause` and answers a generic internal error that reveals nothing of it.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "internal error");
        ApiError::new(ErrorKind::ProxyInternal)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(&self.body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        // The body is kept beside the response so that the request id can be set later.
        response.extensions_mut().insert(self.body);
        response
    }
}

/// Middleware: writes the request id into every error body produced below it.
pub async fn fill_request_id(request: Request, next: Next) -> Response {
    let request_id = request_id_of(&request);
    let mut response = next.run(request).await;
    if let Some(mut body) = response.extensions_mut().remove::<ErrorBody>() {
        body.request_id = request_id;
        let status = response.status();
        let mut rebuilt = (status, Json(&body)).into_response();
        // Keep headers set on the way out (CORS is added above, but others may be here).
        for (name, value) in response.headers() {
            if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
                rebuilt.headers_mut().append(name.clone(), value.clone());
            }
        }
        return rebuilt;
    }
    response
}

/// The id that `SetRequestIdLayer` gave this request, or an empty string without one.
pub fn request_id_of<B>(request: &axum::http::Request<B>) -> String {
    request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

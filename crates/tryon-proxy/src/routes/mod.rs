//! The HTTP endpoints, one module per resource, and the request-id extractor they share.

mod capabilities;
mod events;
mod fallback;
mod files;
mod health;
mod metrics;
mod segment;
mod shopper;
mod status;
mod tasks;
mod uploads;

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::http::request::Parts;
use tower_http::request_id::RequestId;
use tryon_api::ErrorKind;

use crate::error::ApiError;

pub use capabilities::capabilities;
pub use events::post_events;
pub use fallback::{method_not_allowed, route_not_found};
pub use files::serve_file;
pub use health::{healthz, readyz};
pub use metrics::metrics;
pub use segment::segment;
pub use shopper::{SHOPPER_PATH, ShopperDeletion, delete_shopper};
pub use status::shop_status;
pub use tasks::{cancel_task, create_task, get_task};
pub use uploads::{MAX_UPLOAD_BYTES, UploadDeletion, delete_upload, stored_upload, upload};

/// The id of the current request, as set by `SetRequestIdLayer`; echoed in every body.
#[derive(Debug, Clone)]
pub struct ReqId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ReqId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let id = parts
            .extensions
            .get::<RequestId>()
            .and_then(|id| id.header_value().to_str().ok())
            .map(str::to_owned)
            // Without the layer (a bare router in a unit test) a fresh id still keeps bodies valid.
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        Ok(ReqId(id))
    }
}

/// The refusal for a body that could not be read: 413 `Proxy.PayloadTooLarge` over the
/// route's limit, 400 `InvalidParameter` otherwise.
pub fn body_refusal(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorKind::PayloadTooLarge)
    } else {
        ApiError::with_detail(ErrorKind::InvalidParameter, rejection.body_text())
    }
}

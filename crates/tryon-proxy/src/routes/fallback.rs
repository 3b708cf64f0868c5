//! Answers for paths and methods no route serves, in the contract's error shape rather than axum's empty 404 and 405.

use tryon_api::ErrorKind;

use crate::error::ApiError;

/// Any path without a route: 404 `Proxy.RouteNotFound`.
pub async fn route_not_found() -> ApiError {
    ApiError::new(ErrorKind::RouteNotFound)
}

/// A known path with a method it does not serve: 405 `Proxy.MethodNotAllowed`.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorKind::MethodNotAllowed)
}

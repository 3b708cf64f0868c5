//! `GET /api/v1/tryon/files/{id}`: serves stored photos and results with the type read from their magic bytes.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tryon_api::{ErrorKind, ImageFormat};

use crate::error::ApiError;
use crate::state::AppState;
use crate::storage::FileId;

/// How long browsers may keep a file; `private` keeps shared caches from storing photos.
const CACHE_CONTROL: &str = "private, max-age=86400";

pub async fn serve_file(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(ErrorKind::FileNotFound);
    let id = FileId::parse(&raw_id).ok_or_else(not_found)?;
    let bytes = state
        .storage
        .get(&id)
        .await
        .map_err(ApiError::storage)?
        .ok_or_else(not_found)?;
    let mime = ImageFormat::sniff(&bytes).map_or("application/octet-stream", ImageFormat::mime);
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response())
}

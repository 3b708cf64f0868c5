//! `POST /api/v1/tryon/uploads`: accepts a photo's raw bytes, strips its metadata (EXIF, XMP, IPTC, text chunks: GPS and camera) in whatever format it comes, checks it against the input rules and stores it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use tryon_api::proxy::UploadResponse;
use tryon_api::rules::check_image;
use tryon_api::{ErrorKind, ImageFormat, RuleViolation};

use super::{ReqId, body_refusal};
use crate::error::ApiError;
use crate::ledger::FileKind;
use crate::photo::strip_metadata;
use crate::policy::Shopper;
use crate::state::AppState;
use crate::storage::FileId;

/// The largest body read at all. A little above the 5 MB rule, so that a file slightly too
/// large gets the precise rule message (422) instead of a bare size refusal (413).
pub const MAX_UPLOAD_BYTES: usize = 6 * 1024 * 1024;

pub async fn upload(
    State(state): State<AppState>,
    ReqId(request_id): ReqId,
    shopper: Shopper,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<UploadResponse>), ApiError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            body_refusal(rejection)
        } else {
            ApiError::with_detail(ErrorKind::PhotoNotAccepted, rejection.body_text())
        }
    })?;

    // Metadata is removed before the rules are checked, so that the stored file (not the
    // uploaded one) is the one that meets them.
    let format =
        ImageFormat::sniff(&bytes).ok_or_else(|| refusal(&RuleViolation::UnsupportedFormat))?;
    let cleaned = Bytes::from(
        strip_metadata(format, &bytes)
            .map_err(|e| ApiError::with_detail(ErrorKind::PhotoNotAccepted, e))?,
    );
    let facts = check_image(&cleaned).map_err(|violation| refusal(&violation))?;
    // The current upstream's own rules on top of the contract's (HEIC under qwen-image),
    // so that the shopper learns it now rather than when the try-on fails.
    state.adapter.check_photo(&facts)?;

    let id = FileId::random();
    state
        .storage
        .put(&id, cleaned)
        .await
        .map_err(ApiError::internal)?;
    // Recorded with its owner, so that the sweeper and "delete my data" find it.
    state
        .ledger
        .add_file(
            id.as_str(),
            FileKind::Upload,
            &shopper.key,
            state.clock.unix_ms(),
        )
        .map_err(ApiError::internal)?;
    tracing::info!(file = %id, format = facts.format.name(), bytes = facts.bytes, "photo stored");
    Ok((
        StatusCode::CREATED,
        Json(UploadResponse {
            url: state.file_url(&id),
            id: id.to_string(),
            format: facts.format.name().to_owned(),
            width: facts.width,
            height: facts.height,
            bytes: facts.bytes,
            request_id,
        }),
    ))
}

/// The contract's refusal for a rule violation, with the violation's own words appended.
fn refusal(violation: &RuleViolation) -> ApiError {
    ApiError::with_detail(violation.upload_error(), violation)
}

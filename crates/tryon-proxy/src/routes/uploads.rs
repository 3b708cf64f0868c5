//! `POST /api/v1/tryon/uploads`, and `GET`/`DELETE` on one of the caller's uploads: accepts a photo's raw bytes, strips its metadata (EXIF, XMP, IPTC, text chunks: GPS and camera) in whatever format it comes, checks it against the input rules and stores it, within the shopper's upload limits and the shop's free-space floor.
//!
//! The limits count what is stored: the cleaned file's bytes, taken in the ledger before
//! the write and given back if the write fails, so that a refused or failed upload counts
//! nothing and concurrent uploads cannot overshoot.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tryon_api::proxy::{StoredUpload, UploadResponse};
use tryon_api::rules::check_image;
use tryon_api::{ErrorKind, ImageFormat, RuleViolation};

use super::{ReqId, body_refusal};
use crate::error::ApiError;
use crate::photo::strip_metadata;
use crate::policy::{Shopper, day_of, ms_until_next_day, own_upload};
use crate::state::AppState;
use crate::storage::{FileId, clean_up_failed_put};
use crate::store::{FileKind, UploadTake};

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

    let size = cleaned.len() as u64;
    check_free_space(&state, size).await?;
    let taken = take_upload(&state, &shopper, size).await?;
    let id = FileId::random();
    if let Err(err) = store(&state, &shopper, &id, cleaned).await {
        // Nothing is kept, so nothing counts: the limit's share goes back.
        if let Some(taken) = taken
            && let Err(refund) = state.store.refund_upload(taken).await
        {
            tracing::error!(error = %refund, "the shopper's upload count could not be corrected");
        }
        return Err(err);
    }
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

/// Answer of a deleted upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadDeletion {
    pub id: String,
    pub deleted: bool,
    pub request_id: String,
}

/// Tells a widget that remembers the shopper's photo whether the proxy still keeps it, and
/// until when. Another shopper's upload, or a file that is not an upload, answers like a
/// missing one: a caller learns nothing about files that are not theirs.
pub async fn stored_upload(
    State(state): State<AppState>,
    ReqId(request_id): ReqId,
    shopper: Shopper,
    Path(raw_id): Path<String>,
) -> Result<Json<StoredUpload>, ApiError> {
    let (id, expires_at_ms) = own_upload(&state, &shopper, &raw_id).await?;
    Ok(Json(StoredUpload {
        url: state.file_url(&id),
        id: id.to_string(),
        expires_at_ms,
        request_id,
    }))
}

/// Deletes one of the caller's uploads at once ("Forget my photo"), before its retention
/// period ends. The results made from it stay until their own period ends: they are the
/// shopper's looks, and "delete my data" removes everything.
pub async fn delete_upload(
    State(state): State<AppState>,
    ReqId(request_id): ReqId,
    shopper: Shopper,
    Path(raw_id): Path<String>,
) -> Result<Json<UploadDeletion>, ApiError> {
    let (id, _) = own_upload(&state, &shopper, &raw_id).await?;
    // The file goes first: while the store is down the index keeps the photo, so that
    // the shopper's next try (or the sweeper) still finds it to delete.
    state.storage.delete(&id).await.map_err(ApiError::storage)?;
    state
        .store
        .remove_file(id.as_str())
        .await
        .map_err(ApiError::from)?;
    tracing::info!(file = %id, "a shopper deleted a photo");
    Ok(Json(UploadDeletion {
        id: id.to_string(),
        deleted: true,
        request_id,
    }))
}

/// Writes the file and records it with its owner, so that the sweeper and "delete my
/// data" find it; a file written but not recorded is deleted again. A store that fails
/// or does not answer in time is 503 `Proxy.StorageUnavailable`, with nothing recorded.
async fn store(
    state: &AppState,
    shopper: &Shopper,
    id: &FileId,
    bytes: Bytes,
) -> Result<(), ApiError> {
    if let Err(err) = state.storage.put(id, bytes).await {
        clean_up_failed_put(&state.storage, id);
        return Err(ApiError::storage(err));
    }
    let recorded = state
        .store
        .add_file(
            id.as_str(),
            FileKind::Upload,
            &shopper.key,
            state.clock.unix_ms(),
        )
        .await;
    if let Err(err) = recorded {
        if let Err(delete) = state.storage.delete(id).await {
            tracing::error!(file = %id, error = %delete, "an unrecorded upload could not be deleted");
        }
        return Err(ApiError::from(err));
    }
    Ok(())
}

/// Refuses an upload that would leave less free space than the shop's floor, so that
/// photos never fill the disk the job database and the kept results live on. A store
/// that cannot tell its free space (or an error asking) lets the upload through: the
/// write itself then fails if there is truly no room.
async fn check_free_space(state: &AppState, size: u64) -> Result<(), ApiError> {
    let floor = state.policy.min_free_bytes;
    if floor == 0 {
        return Ok(());
    }
    match state.storage.free_bytes().await {
        Ok(Some(free)) if free.saturating_sub(size) < floor => {
            tracing::warn!(
                free,
                floor,
                "uploads refused: the storage is below its free-space floor"
            );
            Err(ApiError::new(ErrorKind::StorageFull))
        }
        Ok(_) => Ok(()),
        Err(err) => {
            tracing::warn!(error = %err, "the storage's free space is unknown; accepting the upload");
            Ok(())
        }
    }
}

/// Counts the upload against the shopper's limits, or answers the refusal with the
/// reason and, in `Retry-After`, when the later of the reached limits frees. `None` when
/// both limits are off and nothing is counted.
async fn take_upload(
    state: &AppState,
    shopper: &Shopper,
    size: u64,
) -> Result<Option<i64>, ApiError> {
    let limits = state.policy.upload_limits();
    if !limits.any() {
        return Ok(None);
    }
    let now = state.clock.unix_ms();
    let taken = state
        .store
        .take_upload(&shopper.key, day_of(now), now, size, limits)
        .await
        .map_err(ApiError::from)?;
    let (hourly_frees_at_ms, daily) = match taken {
        UploadTake::Taken(id) => return Ok(Some(id)),
        UploadTake::Full {
            hourly_frees_at_ms,
            daily,
        } => (hourly_frees_at_ms, daily),
    };
    let hourly_wait = hourly_frees_at_ms.map_or(0, |at| at.saturating_sub(now));
    let refusal = if daily {
        let wait = ms_until_next_day(now).max(hourly_wait);
        ApiError::with_detail(
            ErrorKind::UploadLimitDaily,
            format!("{} bytes per day", limits.bytes_per_day),
        )
        .with_retry_after(wait.div_ceil(1000))
    } else {
        ApiError::with_detail(
            ErrorKind::UploadLimitHourly,
            format!("{} per hour", limits.per_hour),
        )
        .with_retry_after(hourly_wait.div_ceil(1000))
    };
    tracing::info!(
        code = refusal.body.code,
        daily,
        "an upload over the shopper's limit was refused"
    );
    Err(refusal)
}

/// The contract's refusal for a rule violation, with the violation's own words appended.
fn refusal(violation: &RuleViolation) -> ApiError {
    ApiError::with_detail(violation.upload_error(), violation)
}

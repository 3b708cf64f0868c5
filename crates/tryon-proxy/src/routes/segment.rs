//! `POST /api/v1/services/vision/image-process/process`: garment segmentation (`aitryon-parsing-v1`) through the proxy, with the cut-out images re-hosted here.
//!
//! The widget's "keep my own top/bottom" modes segment the shopper's photo and pass the
//! crop back as a garment URL. The crops are downloaded at once and hosted by the proxy,
//! so they outlive the upstream's 24 h links and count as garments "this proxy produced"
//! for the garment policy. Each call is billed per input image in the ledger, and takes
//! one of the shopper's daily try-ons (`TRYON_SHOPPER_DAILY_LIMIT`), given back when the
//! upstream refused or failed the call and so billed nothing: otherwise a script could
//! segment without end on the shop's account while never starting a try-on.
//!
//! Under an upstream that keeps the own garment without segmentation (`qwen-image` by
//! prompt, whose capabilities say `keep_own_garment: "prompt"`; FASHN, which replaces
//! only the given garment's category: `"category"`), the segmentation model is not called. The route still answers in the same shape, so a widget that segments
//! anyway works unchanged: each asked-for crop is a **keep-own marker**, a copy of the
//! shopper's own photo hosted here as a crop. It costs nothing (no upstream call, no
//! ledger entry, no daily try-on), passes the garment policy like any crop, and the
//! adapter recognises a proxy crop as "keep the person's own garment" and does not send it.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use tryon_api::ErrorKind;
use tryon_api::generation::KeepOwnGarment;
use tryon_api::wire::{MODEL_PARSING, SegmentOutput, SegmentRequest, SegmentResponse, Usage};

use super::{ReqId, body_refusal};
use crate::error::ApiError;
use crate::jobs::{KeepError, keep_file};
use crate::policy::{
    Shopper, check_origin, check_person, day_of, own_file_id, shop_cap_reached, today,
};
use crate::state::AppState;
use crate::storage::FileId;
use crate::store::FileKind;
use crate::upstream::{UpstreamError, shopper_error};

/// How often a segmentation call is tried while the upstream throttles or fails.
const ATTEMPTS: u32 = 3;

pub async fn segment(
    State(state): State<AppState>,
    ReqId(request_id): ReqId,
    shopper: Shopper,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SegmentResponse>, ApiError> {
    check_origin(&state, &headers, &shopper)?;
    let bytes = body.map_err(body_refusal)?;
    let mut request: SegmentRequest = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::with_detail(ErrorKind::InvalidParameter, e))?;
    // The shop pays for segmentation of its shoppers' own photos, with the one model.
    request.model = MODEL_PARSING.to_owned();
    // Only a photo uploaded here can be segmented, while it is kept: a remembered photo
    // that was forgotten or swept since is told apart from one that never was.
    if own_file_id(&state, request.input.image_url.trim()).is_none() {
        return Err(ApiError::new(ErrorKind::PersonNotUploaded));
    }
    check_person(&state, &request.input.image_url).await?;
    if state.adapter.capabilities().keep_own_garment != KeepOwnGarment::Segmentation {
        return keep_own_markers(&state, &request, &shopper, request_id)
            .await
            .map(Json);
    }
    let day = today(&state.clock);
    let limit = state.policy.shopper_daily_limit;
    {
        // The caps and the shopper's count are checked and taken under the gate that
        // creates hold, so that a segmentation and a create cannot both take the last one.
        let _gate = state.admission_gate.lock().await;
        if let Some(kind) = shop_cap_reached(&state).await {
            return Err(ApiError::new(kind));
        }
        if limit > 0 {
            let took = state
                .store
                .take_shopper_slot(day, &shopper.key, limit)
                .await
                .map_err(ApiError::from)?;
            if !took {
                return Err(ApiError::with_detail(
                    ErrorKind::ShopperDailyLimit,
                    format!("{limit} per day"),
                ));
            }
        }
    }

    let mut answer = match call_with_retries(&state, &request).await {
        Ok(answer) => answer,
        Err(refusal) => {
            // The upstream made nothing and billed nothing, so the try-on is given back.
            if limit > 0
                && let Err(err) = state.store.refund_shopper_slot(day, &shopper.key).await
            {
                tracing::error!(error = %err, "the shopper's daily count could not be corrected");
            }
            return Err(refusal);
        }
    };
    let at = state.clock.unix_ms();
    let images = answer.usage.map_or(1, |u| u.image_count);
    let cny = f64::from(images) * state.policy.price_of(MODEL_PARSING);
    if let Err(err) = state
        .store
        .bill(&request_id, day_of(at), at, MODEL_PARSING, images, cny)
        .await
    {
        tracing::error!(error = %err, "the segmentation bill could not be recorded");
    }

    let output = &mut answer.output;
    for (urls, kind) in [
        (&mut output.crop_img_url, FileKind::Crop),
        (&mut output.parsing_img_url, FileKind::Parsing),
    ] {
        for url in urls.iter_mut() {
            if let Some(upstream_url) = url.as_deref() {
                let kept = keep_file(&state, upstream_url, kind, &shopper.key)
                    .await
                    .map_err(|reason| match reason {
                        KeepError::Store(reason) => ApiError::storage(reason),
                        KeepError::Download(reason) => {
                            tracing::error!(%reason, "a segmentation image could not be kept");
                            ApiError::with_detail(
                                ErrorKind::UpstreamUnavailable,
                                "the cut-out could not be downloaded",
                            )
                        }
                    })?;
                *url = Some(kept);
            }
        }
    }
    answer.request_id = request_id;
    Ok(Json(answer))
}

/// The answer of a segmentation under an upstream that needs none: one keep-own marker
/// (a copy of the person photo, hosted as a crop) per asked-for garment, no masks or
/// boxes, nothing billed.
async fn keep_own_markers(
    state: &AppState,
    request: &SegmentRequest,
    shopper: &Shopper,
    request_id: String,
) -> Result<SegmentResponse, ApiError> {
    let photo = own_file_id(state, request.input.image_url.trim())
        .ok_or_else(|| ApiError::new(ErrorKind::PersonNotUploaded))?;
    let bytes = state
        .storage
        .get(&photo)
        .await
        .map_err(ApiError::storage)?
        .ok_or_else(|| ApiError::new(ErrorKind::PersonNotUploaded))?;
    let asked = request.parameters.clothes_type.len();
    let mut crops = Vec::with_capacity(asked);
    for _ in 0..asked {
        let id = FileId::random();
        state
            .storage
            .put(&id, bytes.clone())
            .await
            .map_err(ApiError::storage)?;
        state
            .store
            .add_file(
                id.as_str(),
                FileKind::Crop,
                &shopper.key,
                state.clock.unix_ms(),
            )
            .await
            .map_err(ApiError::internal)?;
        crops.push(Some(state.file_url(&id)));
    }
    tracing::info!(
        crops = asked,
        "keep-own markers made instead of a segmentation"
    );
    Ok(SegmentResponse {
        output: SegmentOutput {
            parsing_img_url: vec![None; asked],
            crop_img_url: crops,
            bbox: vec![None; asked],
        },
        usage: Some(Usage { image_count: 0 }),
        request_id,
    })
}

/// Calls the upstream, trying again while it certainly did no work (429, 5xx, refused
/// connection); segmentation is synchronous, so a retry cannot bill twice.
async fn call_with_retries(
    state: &AppState,
    request: &SegmentRequest,
) -> Result<SegmentResponse, ApiError> {
    let mut attempt = 0;
    loop {
        match state.upstream.segment(request).await {
            Ok(answer) => return Ok(answer),
            Err(err) if attempt + 1 < ATTEMPTS && retryable(&err) => {
                attempt += 1;
                tracing::warn!(error = %err, attempt, "segmentation not accepted; retrying");
                state
                    .clock
                    .sleep(Duration::from_millis(300 << attempt))
                    .await;
            }
            Err(err) => return Err(shopper_error(err)),
        }
    }
}

fn retryable(err: &UpstreamError) -> bool {
    match err {
        UpstreamError::Api { status, .. } => status.as_u16() == 429 || status.is_server_error(),
        UpstreamError::Network(e) => e.is_connect(),
        UpstreamError::Decode(_) => false,
    }
}

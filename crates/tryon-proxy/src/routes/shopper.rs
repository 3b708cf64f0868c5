//! `DELETE /api/v1/tryon/shopper`: deletes all of the calling shopper's photos, results, cut-outs, jobs, idempotency keys and funnel events at once.
//!
//! A shop's logged-in customer (through its Shopify app proxy) deletes what they made as
//! the customer on every device, and what this device made as a guest before they logged
//! in, when its token comes along: both are theirs.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tryon_api::TaskStatus;

use super::ReqId;
use crate::error::ApiError;
use crate::policy::Shopper;
use crate::state::AppState;
use crate::storage::FileId;

/// Where a shopper deletes their data.
pub const SHOPPER_PATH: &str = "/api/v1/tryon/shopper";

/// Answer of the deletion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShopperDeletion {
    /// Jobs forgotten (queued ones are taken off the queue, pending ones cancelled upstream).
    pub deleted_jobs: u64,
    /// Photos, results and cut-outs deleted.
    pub deleted_files: u64,
    pub request_id: String,
}

pub async fn delete_shopper(
    State(state): State<AppState>,
    ReqId(request_id): ReqId,
    shopper: Shopper,
) -> Result<Json<ShopperDeletion>, ApiError> {
    let mut keys = vec![shopper.key.clone()];
    if let Some(guest) = shopper
        .token
        .as_deref()
        .and_then(|token| state.shopper_keys.verify(token))
        .filter(|guest| *guest != shopper.key)
    {
        keys.push(guest);
    }
    let mut deletion = ShopperDeletion {
        deleted_jobs: 0,
        deleted_files: 0,
        request_id,
    };
    for key in &keys {
        let (jobs, files) = delete_data_of(&state, key).await?;
        deletion.deleted_jobs += jobs;
        deletion.deleted_files += files;
    }
    tracing::info!(
        deleted_jobs = deletion.deleted_jobs,
        deleted_files = deletion.deleted_files,
        customer = shopper.is_customer(),
        "a shopper deleted their data"
    );
    Ok(Json(deletion))
}

/// Deletes the jobs, idempotency keys and files kept under one shopper key; answers how
/// many jobs and files went.
async fn delete_data_of(state: &AppState, key: &str) -> Result<(u64, u64), ApiError> {
    let jobs = state.jobs.of_shopper(key).await;
    let deleted_jobs = jobs.len() as u64;
    for job in jobs {
        let record = job.snapshot();
        if !record.status.is_terminal() {
            state.admission.remove(&job.id);
            // A pending upstream task can still be stopped, which spares the shop the
            // bill; a running one will finish, and its result is then not kept.
            if record.status == TaskStatus::Pending
                && let Some(upstream_id) = &record.upstream_id
                && let Err(err) = state.upstream.cancel(upstream_id).await
            {
                tracing::info!(job = %job.id, error = %err, "could not cancel a deleted job upstream");
            }
        }
        state.jobs.remove(&job.id).await;
    }
    // The keys went with their jobs; this also forgets any whose job was already gone.
    state.jobs.forget_keys_of(key).await;

    let mut deleted_files = 0;
    for raw in state.store.files_of(key).await.map_err(ApiError::from)? {
        if let Some(id) = FileId::parse(&raw) {
            state.storage.delete(&id).await.map_err(ApiError::storage)?;
        }
        state
            .store
            .remove_file(&raw)
            .await
            .map_err(ApiError::from)?;
        deleted_files += 1;
    }
    // The dashboard's job rows hold no shopper key and stay; the events hold one and go.
    let deleted_events = state
        .store
        .forget_events_of(key)
        .await
        .map_err(ApiError::from)?;
    if deleted_events > 0 {
        tracing::info!(deleted_events, "a shopper's funnel events deleted");
    }
    Ok((deleted_jobs, deleted_files))
}

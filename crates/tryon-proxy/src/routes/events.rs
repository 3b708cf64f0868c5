//! `POST /api/v1/tryon/events`: the widget's funnel events, sent by the loader as a beacon, checked like a paid call's origin, limited per shopper and kept 90 days for the dashboard.
//!
//! A beacon cannot set headers, so the shopper is known by the token in the body when it
//! is one this proxy signed, else by the cookie (which a beacon sends) or the connection,
//! as [`Shopper`] does. A batch is stored whole or not at all: a malformed or oversized
//! body (400, 413), an unknown event name (400), a foreign origin (403) or a shopper over
//! the rate (429) leaves nothing behind.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use tryon_api::ErrorKind;
use tryon_api::funnel::parse_batch;

use super::body_refusal;
use crate::error::ApiError;
use crate::policy::{Shopper, check_origin};
use crate::state::AppState;
use crate::store::StoredEvent;

/// A browser's time for an event is kept when it is at most this far in the past (a
/// "shown" queued while the page sat open) ...
const OLDEST_EVENT_MS: u64 = 24 * 3600 * 1000;
/// ... and at most this far ahead of the proxy's clock (a phone's clock a little fast);
/// otherwise the proxy's own time of receipt is kept.
const NEWEST_EVENT_MS: u64 = 5 * 60 * 1000;

pub async fn post_events(
    State(state): State<AppState>,
    shopper: Shopper,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    check_origin(&state, &headers, &shopper)?;
    let bytes = body.map_err(body_refusal)?;
    let batch = parse_batch(&bytes)
        .map_err(|refusal| ApiError::with_detail(ErrorKind::InvalidEvent, refusal))?;
    // A customer that Shopify's signature vouches for is who they are on every device;
    // anyone else is known by the token in the beacon (a beacon sends no header).
    let key = if shopper.is_customer() {
        shopper.key
    } else {
        batch
            .token
            .as_deref()
            .and_then(|token| state.shopper_keys.verify(token))
            .unwrap_or(shopper.key)
    };
    let now = state.clock.unix_ms();
    if let Err(wait_ms) = state.event_rate.take(&key, batch.events.len() as u32, now) {
        return Err(ApiError::with_detail(
            ErrorKind::EventRateLimit,
            format!("{} per minute", state.event_rate.per_minute()),
        )
        .with_retry_after(wait_ms.div_ceil(1000)));
    }
    let stored: Vec<StoredEvent> = batch
        .events
        .iter()
        .map(|event| StoredEvent {
            at_ms: event
                .at_ms
                .filter(|at| {
                    *at >= now.saturating_sub(OLDEST_EVENT_MS) && *at <= now + NEWEST_EVENT_MS
                })
                .unwrap_or(now),
            product: event.product.clone(),
            step: event.step,
            shopper: key.clone(),
        })
        .collect();
    state
        .store
        .record_events(&stored)
        .await
        .map_err(ApiError::from)?;
    // A result or add-to-cart names its task: the job is tied to the product, for the
    // export, when it is this shopper's own (nobody may label another's job).
    for event in &batch.events {
        if let Some(task) = &event.task
            && !event.product.is_empty()
            && state.jobs.get_for(task, &key).await.is_some()
            && let Err(err) = state.store.link_product(task, &event.product).await
        {
            tracing::warn!(error = %err, "a job could not be tied to its product");
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

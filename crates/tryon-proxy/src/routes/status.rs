//! `GET /api/v1/tryon/status`: whether try-on is available to this shopper, with which model and upstream; also where the anonymous shopper token is issued.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tryon_api::ErrorKind;
use tryon_api::proxy::ShopStatus;

use crate::policy::{
    self, SHOPPER_HEADER, Shopper, is_https, reason_of, shop_cap_reached, shopper_cookie,
};
use crate::state::AppState;

pub async fn shop_status(
    State(state): State<AppState>,
    shopper: Shopper,
    headers: HeaderMap,
) -> Response {
    // A caller without a valid token gets one now; a caller with one keeps it. A
    // customer stays keyed as the customer: the token only serves this device once they
    // log out.
    let (key, token, issued) = match &shopper.token {
        Some(token) => (shopper.key.clone(), token.clone(), false),
        None => {
            let token = state.shopper_keys.issue();
            let key = match shopper.is_customer() {
                true => shopper.key.clone(),
                false => state
                    .shopper_keys
                    .verify(&token)
                    .unwrap_or_else(|| shopper.key.clone()),
            };
            (key, token, true)
        }
    };

    let limit = state.policy.shopper_daily_limit;
    let remaining = if limit > 0 {
        let used = state
            .store
            .shopper_used(policy::today(&state.clock), &key)
            .await
            .unwrap_or(0);
        Some(limit.saturating_sub(used))
    } else {
        None
    };
    let refusal = shop_cap_reached(&state)
        .await
        .or_else(|| (remaining == Some(0)).then_some(ErrorKind::ShopperDailyLimit));
    let status = ShopStatus {
        available: refusal.is_none(),
        model: state.model.clone(),
        upstream: state.upstream_kind.to_owned(),
        reason: refusal.map(|kind| reason_of(kind).to_owned()),
        shopper_token: Some(token.clone()),
        shopper_remaining: remaining,
    };

    let mut response = Json(status).into_response();
    let answer_headers = response.headers_mut();
    // The answer depends on the caller; no shared cache may keep it.
    answer_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&token) {
        answer_headers.insert(SHOPPER_HEADER, value);
    }
    if issued
        && let Ok(cookie) =
            HeaderValue::from_str(&shopper_cookie(&token, is_https(&state, &headers)))
    {
        answer_headers.insert(header::SET_COOKIE, cookie);
    }
    response
}

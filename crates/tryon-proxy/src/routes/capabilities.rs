//! `GET /api/v1/tryon/capabilities`: what the current upstream can do (modes, resolutions, face choice, keep-own method, refinement, photo formats), so that the widget offers nothing else.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

pub async fn capabilities(State(state): State<AppState>) -> Response {
    let mut response = Json(state.adapter.capabilities()).into_response();
    // The answer changes only when the shop switches upstreams (a restart), but a cached
    // copy would then offer the old upstream's options: revalidate every time.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

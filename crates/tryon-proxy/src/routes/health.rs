//! `GET /healthz` (the process serves requests) and `GET /readyz` (storage is writable and the upstream answers).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::state::AppState;
use crate::storage::FileId;

/// How long one upstream probe result is reused.
const PROBE_TTL: Duration = Duration::from_secs(5);

/// Liveness only: it does not call the upstream, so a slow upstream never restarts the proxy.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Answer of the readiness check: each part is `ok` or says what is wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Readiness {
    pub ready: bool,
    pub storage: String,
    pub database: String,
    pub upstream: String,
}

/// Readiness: 200 when a file can be written and deleted, the database takes a write
/// and the upstream answers with the key accepted; 503 with the failing part otherwise.
/// Load balancers stop sending shoppers here while it fails.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let storage = probe_storage(&state).await;
    let database = state
        .ledger
        .writable()
        .map_err(|e| e.to_string())
        .err()
        .unwrap_or_else(|| "ok".to_owned());
    let upstream = match probe_upstream(&state).await {
        Ok(()) => "ok".to_owned(),
        Err(reason) => reason,
    };
    let ready = storage == "ok" && database == "ok" && upstream == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            ready,
            storage,
            database,
            upstream,
        }),
    )
        .into_response()
}

async fn probe_storage(state: &AppState) -> String {
    let id = FileId::random();
    let result = async {
        state
            .storage
            .put(&id, Bytes::from_static(b"readyz"))
            .await?;
        state.storage.delete(&id).await
    }
    .await;
    match result {
        Ok(()) => "ok".to_owned(),
        Err(err) => {
            tracing::error!(error = %err, "the storage is not writable");
            "not writable".to_owned()
        }
    }
}

async fn probe_upstream(state: &AppState) -> Result<(), String> {
    if let Some((at, result)) = state
        .last_probe
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        && state.clock.now().saturating_duration_since(at) < PROBE_TTL
    {
        return result;
    }
    // FASHN has paths of its own; the probe asks the API the current adapter calls.
    let probe = if state.adapter.kind() == tryon_api::generation::UpstreamKind::Fashn {
        state.upstream.fashn_probe().await
    } else {
        state.upstream.probe().await
    };
    let result = probe.map_err(|err| {
        // The cause goes to the log; the answer says only what kind of trouble it is.
        tracing::warn!(error = %err, "the upstream readiness probe failed");
        match err {
            crate::upstream::UpstreamError::Api { .. } => "the key was refused".to_owned(),
            _ => "unreachable".to_owned(),
        }
    });
    *state.last_probe.lock().unwrap_or_else(|p| p.into_inner()) =
        Some((state.clock.now(), result.clone()));
    result
}

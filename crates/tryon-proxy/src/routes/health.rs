//! `GET /healthz` (the process serves requests) and `GET /readyz` (the file store takes a write, the database too, and the upstream answers).

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
/// How long the readiness check waits on the file store: load balancers give a probe a
/// few seconds, and a store slower than this would fail shoppers' uploads as well.
pub const STORAGE_PROBE_LIMIT: Duration = Duration::from_secs(5);
/// What the probe writes: small, and recognisable should it ever be left behind.
const PROBE_BYTES: &[u8] = b"tryon readiness probe";

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

/// Readiness: 200 when a file can be written, read back and deleted, the database takes
/// a write and the upstream answers with the key accepted; 503 with the failing part
/// otherwise (the store named by [`crate::storage::Storage::describe`]). Load balancers
/// stop sending shoppers here while it fails.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let storage = probe_storage(&state).await;
    let database = probe_database(&state).await;
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

/// Asks the state store for a write that changes nothing: `ok`, or which database does
/// not take it. The cause goes to the log only; a database that does not answer within
/// the probe's limit counts as down.
async fn probe_database(state: &AppState) -> String {
    let store = state.store.describe();
    let cause = match tokio::time::timeout(STORAGE_PROBE_LIMIT, state.store.writable()).await {
        Ok(Ok(())) => return "ok".to_owned(),
        Ok(Err(err)) => err.to_string(),
        Err(_) => format!("no answer within {} s", STORAGE_PROBE_LIMIT.as_secs()),
    };
    tracing::error!(%store, %cause, "the database failed the readiness probe");
    format!("{store}: not writable")
}

/// Writes, reads back and deletes one probe file: `ok`, or which store failed how. The
/// cause goes to the log only.
async fn probe_storage(state: &AppState) -> String {
    let id = FileId::random();
    let store = state.storage.describe();
    let round_trip = async {
        state
            .storage
            .put(&id, Bytes::from_static(PROBE_BYTES))
            .await
            .map_err(|err| ("not writable", err.to_string()))?;
        let read = state
            .storage
            .get(&id)
            .await
            .map_err(|err| ("not readable", err.to_string()))?;
        if read.as_deref() != Some(PROBE_BYTES) {
            return Err((
                "not readable",
                "the probe file read back differs".to_owned(),
            ));
        }
        state
            .storage
            .delete(&id)
            .await
            .map_err(|err| ("not deletable", err.to_string()))
    };
    let (problem, cause) = match tokio::time::timeout(STORAGE_PROBE_LIMIT, round_trip).await {
        Ok(Ok(())) => return "ok".to_owned(),
        Ok(Err(failure)) => failure,
        Err(_) => (
            "timed out",
            format!("no answer within {} s", STORAGE_PROBE_LIMIT.as_secs()),
        ),
    };
    tracing::error!(%store, %cause, "the file store failed the readiness probe: {problem}");
    // A probe cut off mid-way may have left its file; it is removed once the store
    // answers again, without holding this answer.
    let storage = state.storage.clone();
    tokio::spawn(async move {
        let _ = storage.delete(&id).await;
    });
    format!("{store}: {problem}")
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

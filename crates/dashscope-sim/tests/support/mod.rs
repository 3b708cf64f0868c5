//! What the emulator's HTTP test files share: the committed samples, a tiny file server for their inputs, and the bound that turns a hang into a failure.

// Each test file uses only some of these.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, get};

/// How long a wait for an event may take before the test calls the emulator hung. No
/// working run comes near it, however busy the machine; it only turns a hang into a
/// failure with a message.
pub const HANG_LIMIT: Duration = Duration::from_secs(120);

/// Awaits `future`, failing the test if it does not finish within [`HANG_LIMIT`].
pub async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(HANG_LIMIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not happen within {HANG_LIMIT:?}"),
    }
}

/// Seconds, for readable clock moves.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A committed sample image of `www/samples/`.
pub fn sample(name: &str) -> Vec<u8> {
    let path = format!("{}/../../www/samples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A route that answers `bytes` typed as `mime`.
pub fn file(bytes: Vec<u8>, mime: &'static str) -> MethodRouter {
    get(move || {
        let bytes = bytes.clone();
        async move { ([(header::CONTENT_TYPE, mime)], bytes).into_response() }
    })
}

/// Serves `app` on a free port of 127.0.0.1 and answers its base URL.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

//! Run with: `cargo run -p tryon-proxy` (no key: the embedded emulator; see the crate docs for the variables).

use std::process::ExitCode;

use tryon_proxy::configuration::Settings;
use tryon_proxy::{startup, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init("info");
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    let proxy = match startup::spawn(settings, shutdown_signal()).await {
        Ok(proxy) => proxy,
        Err(err) => {
            tracing::error!("{err}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        upstream = proxy.upstream_kind,
        adapter = proxy.adapter.as_str(),
        model = %proxy.model,
        public_base_url = %proxy.public_base_url,
        "try-on proxy listening on http://{}",
        proxy.addr
    );
    match proxy.wait().await {
        Ok(()) => {
            tracing::info!("try-on proxy stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!("the server failed: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on Ctrl-C or, on Unix, SIGTERM (what container runtimes send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

//! An offline emulator of the DashScope try-on API (`aitryon-plus`, `aitryon`, `aitryon-refiner`, `aitryon-parsing-v1`, the `qwen-image` successor) and of FASHN's try-on API (`tryon-v1.6`, see [`fashn`]) for development, demos and tests.
//!
//! It speaks the wire format of the contract crate `tryon-api` on the documented paths,
//! checks keys, headers, bodies and input images the way the service does, runs each task
//! through the documented states with scaled durations, and produces a preview image that
//! is clearly marked "OFFLINE PREVIEW". It also lists and cancels tasks, enforces the
//! documented rate and concurrency limits, refuses calls according to the account's
//! standing ([`Account`]) and injects faults on demand ([`Faults`]). See [`SimConfig`] for
//! the knobs and the module docs of [`person`] and [`segment`] for the deterministic rules
//! that replace the models. `BEHAVIOURS.md` beside this crate maps every documented
//! behaviour to the code and the test that covers it.
//!
//! Embed it in-process:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sim = dashscope_sim::spawn(dashscope_sim::SimConfig::default(), "127.0.0.1:0".parse().unwrap()).await?;
//! let base = sim.base_url(); // e.g. http://127.0.0.1:41234
//! # drop(base); Ok(()) }
//! ```

pub mod api;
pub mod clock;
pub mod config;
pub mod draw;
pub mod fashn;
pub mod fetch;
pub mod generation;
pub mod person;
pub mod render;
pub mod samples;
pub mod segment;
pub mod state;
mod tasks;

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use api::{ADMIN_ACCOUNT_PATH, ADMIN_BILLING_PATH, ADMIN_FAULTS_PATH, RESULTS_PATH, app};
pub use config::{Account, DEFAULT_API_KEY, DEFAULT_FASHN_CREDITS, Faults, SimConfig};
pub use state::SimState;

/// A running emulator.
///
/// The server runs as long as this handle lives: dropping it starts a graceful shutdown
/// (in-flight requests finish, no new connections are accepted). Independently of the
/// handle, the server also ends when the Tokio runtime that spawned it shuts down. Task
/// runners already started keep running until their task ends or the runtime stops.
#[derive(Debug)]
pub struct SimHandle {
    local_addr: SocketAddr,
    state: SimState,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl SimHandle {
    /// The address the server listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The base URL clients should use, e.g. `http://127.0.0.1:8790`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.state.base_url().to_owned()
    }

    /// The shared state, e.g. to change faults without going through HTTP.
    pub fn state(&self) -> &SimState {
        &self.state
    }

    /// Shuts the server down and waits until it has stopped.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The base URL for a listening address: an unspecified address (`0.0.0.0`, `::`) is not
/// reachable as a destination, so loopback takes its place.
fn base_url_for(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        match addr {
            SocketAddr::V4(_) => std::net::IpAddr::from([127, 0, 0, 1]),
            SocketAddr::V6(_) => std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        }
    } else {
        addr.ip()
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// Binds `listen` (port 0 picks a free port) and serves the emulator on the current Tokio
/// runtime. Returns once the socket is bound, so the base URL is usable immediately.
pub async fn spawn(config: SimConfig, listen: SocketAddr) -> std::io::Result<SimHandle> {
    let listener = TcpListener::bind(listen).await?;
    let local_addr = listener.local_addr()?;
    let base_url = config
        .public_base_url
        .clone()
        .unwrap_or_else(|| base_url_for(local_addr));
    let state = SimState::new(config, base_url);
    let (tx, rx) = oneshot::channel::<()>();
    let router = app(state.clone());
    let server = tokio::spawn(async move {
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        if let Err(error) = serve.await {
            tracing::error!(%error, "the emulator's server stopped");
        }
    });
    tracing::info!(%local_addr, base_url = state.base_url(), "dashscope-sim listening");
    Ok(SimHandle {
        local_addr,
        state,
        shutdown: Some(tx),
        server: Some(server),
    })
}

//! The offline emulator started inside the proxy when no key is configured: a random key, loopback only.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use secrecy::SecretString;

/// The running emulator. It serves for as long as this value lives (dropping the handle
/// shuts it down), so the proxy keeps it beside its own server.
pub struct EmbeddedUpstream {
    pub base_url: String,
    pub api_key: SecretString,
    _handle: dashscope_sim::SimHandle,
}

/// Starts the emulator on `127.0.0.1:0` with a fresh random key, on the proxy's own
/// `clock`. Loopback only: nobody else needs to reach it, and the proxy is its only client.
pub async fn start(time_scale: f64, clock: tryon_clock::Clock) -> io::Result<EmbeddedUpstream> {
    let key = format!("sk-sim-{:032x}", rand::random::<u128>());
    let mut config = dashscope_sim::SimConfig {
        api_keys: vec![key.clone()],
        time_scale,
        clock,
        ..Default::default()
    };
    // The poll schedule runs `1 / time_scale` times faster with the emulator, so the
    // documented query limit (meant for real time) is scaled the same way.
    if time_scale < 1.0 && config.max_queries_per_second > 0 {
        config.max_queries_per_second =
            (f64::from(config.max_queries_per_second) / time_scale).ceil() as u32;
    }
    let handle = dashscope_sim::spawn(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    Ok(EmbeddedUpstream {
        base_url: handle.base_url(),
        api_key: SecretString::from(key),
        _handle: handle,
    })
}

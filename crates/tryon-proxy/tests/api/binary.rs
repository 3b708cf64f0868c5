//! The proxy binary as a child process, for the tests that kill it: starting it against an emulator, reading its log, and querying its tasks.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dashscope_sim::SimHandle;
use tryon_api::wire::{TaskQueryResponse, task_path};

use crate::helpers::{HANG_LIMIT, SHOP_ORIGIN};

/// The API key the binaries are started with; tests check it never reaches a log.
pub const KEY: &str = "sk-resilience-test";

/// Every line a started proxy binary logged, shared with the thread that reads them.
pub type LogLines = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// The proxy binary with the seed's API, started against `sim` on `listen` with
/// `data_dir`; answers the child and the address it reports once it listens.
pub fn start_binary(sim: &SimHandle, listen: &str, data_dir: &Path) -> (Child, String, LogLines) {
    // These tests count the seed's five running tasks, so they ask for its API: with a
    // key, the default would be qwen-image.
    start_binary_with(sim, listen, data_dir, Some("aitryon"))
}

/// The proxy binary as [`start_binary`] starts it, with `TRYON_UPSTREAM` set to
/// `upstream`, or removed when `None` (so that the key alone decides).
pub fn start_binary_with(
    sim: &SimHandle,
    listen: &str,
    data_dir: &Path,
    upstream: Option<&str>,
) -> (Child, String, LogLines) {
    start_binary_configured(sim, listen, data_dir, upstream, &[])
}

/// The proxy binary as [`start_binary_with`] starts it, with the variables of `settings`
/// set last, over the test defaults.
pub fn start_binary_configured(
    sim: &SimHandle,
    listen: &str,
    data_dir: &Path,
    upstream: Option<&str>,
    settings: &[(&str, &str)],
) -> (Child, String, LogLines) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tryon-proxy"));
    // The run's file store: the data folder, or the folder's prefix of the S3 test bucket,
    // so that a restarted binary finds its files as the in-process proxies do.
    let (store_env, store_unset) = crate::store_backend::binary_env(data_dir);
    for variable in store_unset {
        command.env_remove(variable);
    }
    command.envs(store_env);
    let (database_env, database_unset) = crate::db_backend::binary_env(data_dir);
    for variable in database_unset {
        command.env_remove(variable);
    }
    command.envs(database_env);
    match upstream {
        Some(upstream) => command.env("TRYON_UPSTREAM", upstream),
        None => command.env_remove("TRYON_UPSTREAM"),
    };
    let mut child = command
        .env_remove("TRYON_MODEL")
        .env_remove("TRYON_PUBLIC_BASE_URL")
        .env("DASHSCOPE_API_KEY", KEY)
        .env("DASHSCOPE_BASE_URL", sim.base_url())
        .env("TRYON_LISTEN", listen)
        .env("TRYON_DATA_DIR", data_dir)
        .env("TRYON_ALLOWED_ORIGINS", SHOP_ORIGIN)
        // The test uploads its garments, so any loopback URL is a garment here.
        .env("TRYON_GARMENT_PREFIXES", "http://127.0.0.1:")
        .env("TRYON_SHOPPER_DAILY_LIMIT", "0")
        .env("TRYON_CREATE_WAIT_MS", "0")
        // The free-space floor has its own tests; here a full build disk must not refuse
        // the few photos these runs store.
        .env("TRYON_MIN_FREE_BYTES", "0")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .envs(settings.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the proxy binary starts");
    let stderr = child.stderr.take().unwrap();
    let (found, address) = std::sync::mpsc::channel();
    let lines = LogLines::default();
    let kept = lines.clone();
    // The log is read to its end, so that a full pipe never blocks the proxy; every line
    // is kept so that tests can check what the shop's log would show.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            kept.lock().unwrap().push(line.clone());
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
                let _ = found.send(addr);
            }
        }
    });
    let addr = address
        .recv_timeout(Duration::from_secs(30))
        .expect("the proxy reports its address");
    (child, format!("http://{addr}"), lines)
}

pub async fn query(http: &reqwest::Client, base: &str, id: &str, wait: &str) -> TaskQueryResponse {
    http.get(format!("{base}{}{wait}", task_path(id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Long-polls task `id` until it ends; fails the test only on a hang.
pub async fn wait_done(http: &reqwest::Client, base: &str, id: &str) -> TaskQueryResponse {
    let started = Instant::now();
    loop {
        let answer = query(http, base, id, "?wait_ms=2000").await;
        if answer.output.task_status.is_terminal() {
            return answer;
        }
        // A bound that only a hang reaches: each long poll returns on a change.
        assert!(started.elapsed() < HANG_LIMIT, "{id} never ended");
    }
}

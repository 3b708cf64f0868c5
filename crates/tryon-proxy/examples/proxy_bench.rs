//! Run with: `cargo run --release -p tryon-proxy --example proxy_bench -- <command>`; the helper of `bench/proxy/run.sh` (not a test).
//!
//! Commands:
//! - `prepare PROXY SIM KEY`: makes one finished job through the proxy and one finished
//!   task directly on the emulator; prints `JOB_ID TASK_ID` for the load generator.
//! - `burst`: starts an emulator and a proxy in this process, sends 30 creates at once and
//!   prints the most tasks the emulator ran at once, the 429s the proxy drew and the
//!   time until all ended.
//! - `create PROXY COUNT`: uploads a person and a garment and sends COUNT creates at once,
//!   answered without waiting for the jobs (for the replica takeover figure).
//! - `hold PROXY COUNT SECONDS`: creates one job and keeps COUNT long polls waiting on it
//!   over raw connections (each asks again when answered, as the widget does); prints
//!   `holding N` once all are waiting, and stops after SECONDS.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tryon_api::TaskStatus;
use tryon_api::proxy::{UPLOADS_PATH, UploadResponse};
use tryon_api::wire::{CREATE_TASK_PATH, CreateTaskResponse, TaskQueryResponse, task_path};

/// The origin the bench client claims, matching `TRYON_ALLOWED_ORIGINS` in the script.
const ORIGIN: &str = "http://127.0.0.1:8080";

/// Plain boxed errors: this is tooling, and a message on stderr is all it needs.
type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("prepare") if args.len() == 4 => prepare(&args[1], &args[2], &args[3]).await,
        Some("burst") => burst().await,
        Some("create") if args.len() == 3 => create(&args[1], args[2].parse()?).await,
        Some("hold") if args.len() == 4 => hold(&args[1], args[2].parse()?, args[3].parse()?).await,
        _ => {
            eprintln!(
                "usage: proxy_bench prepare PROXY SIM KEY | burst | create PROXY COUNT | hold PROXY COUNT SECONDS"
            );
            std::process::exit(2);
        }
    }
}

fn client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", ORIGIN.parse().expect("a header value"));
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("a client")
}

fn sample(name: &str) -> Vec<u8> {
    dashscope_sim::samples::sample(name)
        .expect("a sample")
        .render()
        .expect("an encoded sample")
}

/// Uploads a person and a garment to the proxy and answers a create body using them.
async fn tryon_body(http: &reqwest::Client, proxy: &str) -> Result<Value> {
    let mut urls = Vec::new();
    for (name, kind) in [("person-1.jpg", "image/jpeg"), ("top-tee.png", "image/png")] {
        let uploaded: UploadResponse = http
            .post(format!("{proxy}{UPLOADS_PATH}"))
            .header("content-type", kind)
            .body(sample(name))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        urls.push(uploaded.url);
    }
    Ok(json!({
        "model": "aitryon-plus",
        "input": {"person_image_url": urls[0], "top_garment_url": urls[1]}
    }))
}

async fn wait_done(http: &reqwest::Client, base: &str, id: &str, key: Option<&str>) -> Result<()> {
    let started = Instant::now();
    loop {
        let mut request = http.get(format!("{base}{}", task_path(id)));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let answer: TaskQueryResponse = request.send().await?.json().await?;
        if answer.output.task_status == TaskStatus::Succeeded {
            return Ok(());
        }
        if answer.output.task_status.is_terminal() || started.elapsed() > Duration::from_secs(120) {
            return Err(format!("{id} ended {}", answer.output.task_status).into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn prepare(proxy: &str, sim: &str, key: &str) -> Result<()> {
    let http = client();
    let body = tryon_body(&http, proxy).await?;
    let created: CreateTaskResponse = http
        .post(format!("{proxy}{CREATE_TASK_PATH}"))
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    wait_done(&http, proxy, &created.output.task_id, None).await?;
    let direct: CreateTaskResponse = http
        .post(format!("{sim}{CREATE_TASK_PATH}"))
        .bearer_auth(key)
        .header("X-DashScope-Async", "enable")
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    wait_done(&http, sim, &direct.output.task_id, Some(key)).await?;
    println!("{} {}", created.output.task_id, direct.output.task_id);
    Ok(())
}

async fn create(proxy: &str, count: usize) -> Result<()> {
    let http = client();
    let body = tryon_body(&http, proxy).await?;
    let mut creates = tokio::task::JoinSet::new();
    for _ in 0..count {
        let (http, body, url) = (
            http.clone(),
            body.clone(),
            format!("{proxy}{CREATE_TASK_PATH}"),
        );
        creates.spawn(async move { http.post(url).json(&body).send().await?.error_for_status() });
    }
    while let Some(answer) = creates.join_next().await {
        answer??;
    }
    Ok(())
}

async fn burst() -> Result<()> {
    use tryon_proxy::admission::AdmissionLimits;
    use tryon_proxy::configuration::{Settings, UpstreamSettings};
    use tryon_proxy::policy::PolicySettings;

    let key = "sk-bench-burst";
    let sim = dashscope_sim::spawn(
        dashscope_sim::SimConfig {
            api_keys: vec![key.to_owned()],
            time_scale: 0.02,
            ..Default::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await?;
    let data = tempfile::tempdir()?;
    let settings = Settings {
        upstream: UpstreamSettings::DashScope {
            base_url: sim.base_url(),
            api_key: secrecy::SecretString::from(key.to_owned()),
        },
        adapter: tryon_api::generation::UpstreamKind::Aitryon,
        adapter_choice: tryon_proxy::configuration::UpstreamChoice::Configured,
        model: "aitryon-plus".to_owned(),
        fashn: Default::default(),
        prompt_locale: tryon_api::Locale::ZhCn,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        public_base_url: None,
        allowed_origins: vec![ORIGIN.parse()?],
        data_dir: data.path().to_owned(),
        storage: tryon_proxy::configuration::StorageSettings::Local { folder: None },
        database: tryon_proxy::configuration::DatabaseSettings::Sqlite,
        admission: AdmissionLimits {
            create_wait: Duration::ZERO,
            ..AdmissionLimits::default()
        },
        policy: PolicySettings::open(),
        retention: Duration::from_secs(3600),
        clock: tryon_clock::Clock::system(),
        dashboard: Default::default(),
    };
    let proxy = tryon_proxy::startup::spawn(settings, std::future::pending()).await?;
    let base = format!("http://{}", proxy.addr);
    let http = client();
    let body = tryon_body(&http, &base).await?;

    let max_running = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (state, sim_state, max_running) = (
            proxy.state.clone(),
            sim.state().clone(),
            max_running.clone(),
        );
        tokio::spawn(async move {
            loop {
                let running = state
                    .jobs
                    .all()
                    .iter()
                    .filter_map(|job| job.snapshot().upstream_id)
                    .filter(|id| !sim_state.task_status(id).is_terminal())
                    .count();
                max_running.fetch_max(running, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let started = Instant::now();
    let mut creates = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let (http, url, body) = (
            http.clone(),
            format!("{base}{CREATE_TASK_PATH}"),
            body.clone(),
        );
        creates.spawn(async move {
            let created: CreateTaskResponse =
                http.post(url).json(&body).send().await?.json().await?;
            Ok::<_, reqwest::Error>(created.output.task_id)
        });
    }
    let mut ids = Vec::new();
    while let Some(id) = creates.join_next().await {
        ids.push(id??);
    }
    for id in &ids {
        wait_done(&http, &base, id, None).await?;
    }
    let drained = started.elapsed();
    watcher.abort();
    let throttled: u64 = proxy
        .state
        .upstream
        .stats()
        .answers()
        .iter()
        .filter(|((_, status), _)| status == "429")
        .map(|(_, n)| n)
        .sum();
    println!(
        "{} {} {}",
        max_running.load(Ordering::SeqCst),
        throttled,
        drained.as_millis()
    );
    Ok(())
}

/// Sends one long poll on `stream` and reads the whole answer; false when the
/// connection is gone.
async fn long_poll(stream: &mut TcpStream, host: &str, path: &str) -> bool {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut buffer = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    loop {
        let Ok(read) = stream.read(&mut chunk).await else {
            return false;
        };
        if read == 0 {
            return false;
        }
        buffer.extend_from_slice(&chunk[..read]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if buffer.len() >= end + 4 + length {
            return true;
        }
    }
}

async fn hold(proxy: &str, count: usize, seconds: u64) -> Result<()> {
    let http = client();
    let body = tryon_body(&http, proxy).await?;
    let created: CreateTaskResponse = http
        .post(format!("{proxy}{CREATE_TASK_PATH}"))
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let host = proxy.trim_start_matches("http://").to_owned();
    let path = format!("{}?wait_ms=25000", task_path(&created.output.task_id));
    let waiting = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut holders = tokio::task::JoinSet::new();
    for _ in 0..count {
        let (host, path, waiting) = (host.clone(), path.clone(), waiting.clone());
        holders.spawn(async move {
            let Ok(mut stream) = TcpStream::connect(&host).await else {
                return;
            };
            while Instant::now() < deadline {
                waiting.fetch_add(1, Ordering::SeqCst);
                let answered =
                    tokio::time::timeout_at(deadline.into(), long_poll(&mut stream, &host, &path))
                        .await;
                waiting.fetch_sub(1, Ordering::SeqCst);
                if !matches!(answered, Ok(true)) {
                    return;
                }
            }
        });
    }
    // Reports once the proxy itself counts every long poll as waiting (bounded wait).
    let started = Instant::now();
    let mut held = 0.0;
    while started.elapsed() < Duration::from_secs(15) {
        let text = http
            .get(format!("{proxy}/metrics"))
            .send()
            .await?
            .text()
            .await?;
        held = text
            .lines()
            .find_map(|l| l.strip_prefix("tryon_long_polls_waiting "))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        if held >= count as f64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("holding {held}");
    while holders.join_next().await.is_some() {}
    Ok(())
}

//! Shared test fixtures: `spawn_app()` on port 0 with a temp data folder (and this run's file store: the folder, or S3 with `TRYON_TEST_S3_ENDPOINT`; and its database: SQLite, or PostgreSQL with `TRYON_TEST_DATABASE_URL`), HTTP helpers and generated images.

use std::io::Cursor;
use std::net::SocketAddr;
use std::time::Duration;

use dashscope_sim::{SimConfig, SimHandle};
use secrecy::SecretString;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tryon_api::Locale;
use tryon_api::generation::UpstreamKind;
use tryon_api::proxy::{UPLOADS_PATH, UploadResponse};
use tryon_api::wire::{CREATE_TASK_PATH, ErrorBody, TaskQueryResponse, task_path};
use tryon_clock::{Clock, ManualClock};
use tryon_proxy::admission::AdmissionLimits;
use tryon_proxy::configuration::{Settings, UpstreamChoice, UpstreamSettings};
use tryon_proxy::dashboard::DashboardSettings;
use tryon_proxy::policy::PolicySettings;
use tryon_proxy::startup::{self, RunningProxy};
use tryon_proxy::upstream::FashnOptions;

use crate::store_backend::TestStore;

/// Emulated time runs 50 times faster: a 20 s task takes about 0.4 s.
pub const TIME_SCALE: f64 = 0.02;
/// How long a wait for an event may take before the test calls the proxy hung. No
/// working run comes near it, however busy the machine; it only turns a hang into a
/// failure with a message.
pub const HANG_LIMIT: Duration = Duration::from_secs(120);
/// The shop page every test client calls from, as a browser would say in `Origin`.
pub const SHOP_ORIGIN: &str = "http://127.0.0.1:8080";

/// One running proxy and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:{port}`.
    pub base: String,
    pub http: reqwest::Client,
    pub proxy: RunningProxy,
    /// Where the proxy keeps its files (see `store_backend`).
    pub store: TestStore,
    stop: oneshot::Sender<()>,
    data_dir: TempDir,
}

/// A proxy with the embedded emulator, as a shop developer runs it without a key.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(UpstreamSettings::Embedded {
        time_scale: TIME_SCALE,
    })
    .await
}

/// A proxy talking to the given upstream.
pub async fn spawn_app_with(upstream: UpstreamSettings) -> TestApp {
    spawn_app_on(upstream, AdmissionLimits::default(), None).await
}

/// A proxy with the given upstream, limits and data folder (a fresh one when `None`;
/// pass the folder of a stopped proxy to restart it).
pub async fn spawn_app_on(
    upstream: UpstreamSettings,
    admission: AdmissionLimits,
    data_dir: Option<TempDir>,
) -> TestApp {
    spawn_app_full(upstream, admission, data_dir, PolicySettings::open(), None).await
}

/// A proxy with every knob: the shop policy and the retention period (24 h when `None`).
pub async fn spawn_app_full(
    upstream: UpstreamSettings,
    admission: AdmissionLimits,
    data_dir: Option<TempDir>,
    policy: PolicySettings,
    retention: Option<Duration>,
) -> TestApp {
    spawn_app_adapter(
        Adapter::aitryon(),
        upstream,
        admission,
        data_dir,
        policy,
        retention,
    )
    .await
}

/// Which upstream adapter and model a test proxy runs (`TRYON_UPSTREAM`, `TRYON_MODEL`).
#[derive(Debug, Clone)]
pub struct Adapter {
    pub kind: UpstreamKind,
    pub model: String,
}

impl Adapter {
    /// The default: the seed's asynchronous API with `aitryon-plus`.
    pub fn aitryon() -> Adapter {
        Adapter {
            kind: UpstreamKind::Aitryon,
            model: "aitryon-plus".to_owned(),
        }
    }

    /// FASHN's try-on API with `tryon-v1.6`.
    pub fn fashn() -> Adapter {
        Adapter {
            kind: UpstreamKind::Fashn,
            model: tryon_api::fashn::MODEL_TRYON.to_owned(),
        }
    }

    /// The synchronous successor with `model` (`qwen-image-2.0`, `qwen-image-2.0-pro`).
    pub fn qwen(model: &str) -> Adapter {
        Adapter {
            kind: UpstreamKind::QwenImage,
            model: model.to_owned(),
        }
    }
}

/// A proxy with the embedded emulator running the qwen-image adapter with `model`.
pub async fn spawn_qwen(model: &str) -> TestApp {
    spawn_qwen_on(model, AdmissionLimits::default(), None).await
}

/// A qwen-image proxy with the embedded emulator, the given limits and data folder.
pub async fn spawn_qwen_on(
    model: &str,
    admission: AdmissionLimits,
    data_dir: Option<TempDir>,
) -> TestApp {
    spawn_app_adapter(
        Adapter::qwen(model),
        UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        admission,
        data_dir,
        PolicySettings::open(),
        None,
    )
    .await
}

/// A proxy with every knob, the upstream adapter included.
pub async fn spawn_app_adapter(
    adapter: Adapter,
    upstream: UpstreamSettings,
    admission: AdmissionLimits,
    data_dir: Option<TempDir>,
    policy: PolicySettings,
    retention: Option<Duration>,
) -> TestApp {
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    spawn_at(
        adapter,
        upstream,
        admission,
        data_dir,
        policy,
        retention,
        listen,
        None,
        Clock::system(),
        None,
    )
    .await
}

/// The seed's API on the embedded emulator at [`TIME_SCALE`], both on `time`, with the
/// default limits, an open policy and the given retention period (24 h when `None`).
pub async fn spawn_embedded_on_clock(time: &ManualClock, retention: Option<Duration>) -> TestApp {
    spawn_app_on_clock(
        time,
        Adapter::aitryon(),
        UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        AdmissionLimits::default(),
        PolicySettings::open(),
        retention,
        None,
    )
    .await
}

/// A proxy whose every schedule, expiry and rate window (and those of its embedded
/// emulator, if `upstream` is embedded) read `time`, so that the test moves time itself.
/// Pass a test-started emulator on the same clock as `upstream` to keep one time for both.
pub async fn spawn_app_on_clock(
    time: &ManualClock,
    adapter: Adapter,
    upstream: UpstreamSettings,
    admission: AdmissionLimits,
    policy: PolicySettings,
    retention: Option<Duration>,
    data_dir: Option<TempDir>,
) -> TestApp {
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    spawn_at(
        adapter,
        upstream,
        admission,
        data_dir,
        policy,
        retention,
        listen,
        None,
        time.clock(),
        None,
    )
    .await
}

/// A qwen-image proxy with the embedded emulator whose file URLs name
/// `public_base_url` (`TRYON_PUBLIC_BASE_URL`) instead of its own address: with an
/// address nobody listens on, the emulator cannot download anything the proxy hosts.
pub async fn spawn_qwen_behind(model: &str, public_base_url: &str) -> TestApp {
    spawn_at(
        Adapter::qwen(model),
        UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        AdmissionLimits::default(),
        None,
        PolicySettings::open(),
        None,
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Some(public_base_url.to_owned()),
        Clock::system(),
        None,
    )
    .await
}

/// Restarts a stopped proxy on the same address with the embedded emulator and
/// `adapter`, as a shop does after changing its configuration: the stored photo and
/// result URLs (which name the address) stay valid.
pub async fn restart_with(adapter: Adapter, addr: SocketAddr, data_dir: TempDir) -> TestApp {
    spawn_at(
        adapter,
        UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        AdmissionLimits::default(),
        Some(data_dir),
        PolicySettings::open(),
        None,
        addr,
        None,
        Clock::system(),
        None,
    )
    .await
}

/// The seed's API on the embedded emulator whose object store gives up on a call after
/// `store_timeout` (with the data folder the bound does not apply).
pub async fn spawn_app_with_store_timeout(store_timeout: Duration) -> TestApp {
    spawn_at(
        Adapter::aitryon(),
        UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        AdmissionLimits::default(),
        None,
        PolicySettings::open(),
        None,
        SocketAddr::from(([127, 0, 0, 1], 0)),
        None,
        Clock::system(),
        Some(store_timeout),
    )
    .await
}

// Each setting is a named argument of this one private constructor, which only the
// helpers above call, so a settings struct for it would add a type and no clarity.
#[allow(clippy::too_many_arguments)]
async fn spawn_at(
    adapter: Adapter,
    upstream: UpstreamSettings,
    admission: AdmissionLimits,
    data_dir: Option<TempDir>,
    policy: PolicySettings,
    retention: Option<Duration>,
    listen: SocketAddr,
    public_base_url: Option<String>,
    clock: Clock,
    store_timeout: Option<Duration>,
) -> TestApp {
    let data_dir = data_dir.unwrap_or_else(|| tempfile::tempdir().expect("a temp folder"));
    let (store, storage) = TestStore::for_data_dir(data_dir.path(), store_timeout).await;
    let settings = Settings {
        upstream,
        adapter: adapter.kind,
        adapter_choice: UpstreamChoice::Configured,
        model: adapter.model,
        fashn: FashnOptions::default(),
        prompt_locale: Locale::ZhCn,
        listen,
        public_base_url,
        allowed_origins: vec![SHOP_ORIGIN.parse().unwrap()],
        data_dir: data_dir.path().to_owned(),
        storage,
        database: crate::db_backend::database_settings(data_dir.path()),
        admission,
        policy,
        retention: retention.unwrap_or(Duration::from_secs(24 * 3600)),
        clock,
        dashboard: DashboardSettings::default(),
    };
    launch(settings, data_dir, store).await
}

/// The embedded emulator's seed API on `clock`, with the dashboard on behind
/// `admin_token` and at most `events_per_minute` funnel events per shopper.
pub async fn spawn_dashboard(clock: Clock, admin_token: &str, events_per_minute: u32) -> TestApp {
    let data_dir = tempfile::tempdir().expect("a temp folder");
    let (store, storage) = TestStore::for_data_dir(data_dir.path(), None).await;
    let mut policy = PolicySettings::open();
    // Caps the dashboard can show today's spend against.
    policy.daily_image_cap = Some(100);
    policy.spend_cap_cny = Some(50.0);
    let settings = Settings {
        upstream: UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        adapter: UpstreamKind::Aitryon,
        adapter_choice: UpstreamChoice::Configured,
        model: "aitryon-plus".to_owned(),
        fashn: FashnOptions::default(),
        prompt_locale: Locale::ZhCn,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        public_base_url: None,
        allowed_origins: vec![SHOP_ORIGIN.parse().unwrap()],
        data_dir: data_dir.path().to_owned(),
        storage,
        database: crate::db_backend::database_settings(data_dir.path()),
        admission: AdmissionLimits::default(),
        policy,
        retention: Duration::from_secs(24 * 3600),
        clock,
        dashboard: DashboardSettings {
            admin_token: Some(SecretString::from(admin_token.to_owned())),
            events_per_minute,
        },
    };
    launch(settings, data_dir, store).await
}

/// Starts a proxy with `settings`, whose data folder is `data_dir` and file store `store`.
async fn launch(settings: Settings, data_dir: TempDir, store: TestStore) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        tryon_proxy::telemetry::init("debug");
    }
    let (stop, stopped) = oneshot::channel::<()>();
    let proxy = startup::spawn(settings, async move {
        let _ = stopped.await;
    })
    .await
    .expect("the proxy starts");
    TestApp {
        base: format!("http://{}", proxy.addr),
        http: shop_page_client(),
        proxy,
        store,
        stop,
        data_dir,
    }
}

/// An HTTP client that calls like the widget on the shop page: with its `Origin`.
pub fn shop_page_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", SHOP_ORIGIN.parse().unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// The emulator on port 0 with one accepted key, started by the test so that it can
/// outlive a proxy or be configured.
pub async fn spawn_sim(key: &str, configure: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut config = SimConfig {
        api_keys: vec![key.to_owned()],
        time_scale: TIME_SCALE,
        ..Default::default()
    };
    configure(&mut config);
    dashscope_sim::spawn(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("the emulator starts")
}

/// The upstream settings for a test-started emulator.
pub fn dashscope(sim: &SimHandle, key: &str) -> UpstreamSettings {
    UpstreamSettings::DashScope {
        base_url: sim.base_url(),
        api_key: SecretString::from(key.to_owned()),
    }
}

/// A proxy whose upstream is the emulator started by the test with a known key, so that
/// the test can look for that key in every answer.
pub async fn spawn_app_with_key(sim_key: &str, proxy_key: &str) -> (TestApp, SimHandle) {
    let sim = spawn_sim(sim_key, |_| {}).await;
    let app = spawn_app_with(dashscope(&sim, proxy_key)).await;
    (app, sim)
}

impl TestApp {
    /// Shuts the proxy down gracefully and hands back its data folder.
    pub async fn stop(self) -> TempDir {
        let _ = self.stop.send(());
        self.proxy.wait().await.expect("a clean shutdown");
        self.data_dir
    }

    /// How many files the proxy keeps in its store (the data folder's `files/`, or its
    /// prefix of the bucket): what fills the shop's disk.
    pub async fn stored_files(&self) -> usize {
        self.store.count().await
    }

    /// How many files the data folder's own `files/` holds, whichever store is in use.
    pub fn local_files(&self) -> usize {
        crate::store_backend::local_files(self.data_dir.path())
    }

    /// The data folder of the running proxy.
    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn upload(&self, bytes: Vec<u8>, content_type: &str) -> reqwest::Response {
        self.upload_as(&self.http, bytes, content_type).await
    }

    /// Uploads as the shopper behind `client` (see [`new_shopper`]).
    pub async fn upload_as(
        &self,
        client: &reqwest::Client,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> reqwest::Response {
        client
            .post(self.url(UPLOADS_PATH))
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .expect("the upload request is sent")
    }

    /// Uploads an image that must be accepted.
    pub async fn upload_ok(&self, bytes: Vec<u8>, content_type: &str) -> UploadResponse {
        let response = self.upload(bytes, content_type).await;
        assert_eq!(response.status(), 201, "upload refused");
        response.json().await.unwrap()
    }

    pub async fn create(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(CREATE_TASK_PATH))
            .json(body)
            .send()
            .await
            .expect("the create request is sent")
    }

    pub async fn create_raw(&self, body: &str) -> reqwest::Response {
        self.http
            .post(self.url(CREATE_TASK_PATH))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("the create request is sent")
    }

    pub async fn get_task(&self, id: &str, query: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{query}", self.url(&task_path(id))))
            .send()
            .await
            .expect("the query request is sent")
    }

    /// Waits for the job's end through the proxy's own record: every change of the job
    /// wakes the wait, and the test fails only if it never ends (a hang), however busy the
    /// machine is. Time must be moving (the system clock, or a running manual one).
    pub async fn wait_until_done(&self, id: &str) -> TaskQueryResponse {
        self.until_job(id, |record| record.status.is_terminal())
            .await;
        let answer: TaskQueryResponse = self.get_task(id, "").await.json().await.unwrap();
        assert!(answer.output.task_status.is_terminal(), "{answer:?}");
        answer
    }

    /// The shop's status call as `client` (the page's own, or a shopper's) makes it.
    pub async fn shop_status(&self, client: &reqwest::Client) -> tryon_api::proxy::ShopStatus {
        client
            .get(self.url(tryon_api::proxy::STATUS_PATH))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until the proxy's record of job `id` satisfies `wanted`, without moving
    /// any clock; fails the test only on a hang.
    pub async fn until_job(
        &self,
        id: &str,
        wanted: impl Fn(&tryon_proxy::jobs::JobRecord) -> bool,
    ) {
        let job = self.proxy.state.jobs.get(id).expect("a job of this proxy");
        let mut changes = job.subscribe();
        if tokio::time::timeout(HANG_LIMIT, changes.wait_for(|record| wanted(record)))
            .await
            .is_err()
        {
            panic!(
                "job {id} never reached the awaited state: {:?}",
                job.snapshot()
            );
        }
    }

    /// How many of the proxy's background loops sleep on its clock besides the sweeper
    /// while nothing happens (with PostgreSQL: the lease's renewal and the queue's look).
    pub fn idle_clock_waiters(&self) -> usize {
        tryon_proxy::replicas::idle_clock_waiters(&self.proxy.state)
    }

    /// Uploads a person photo and a garment, and answers a valid create body using them.
    pub async fn tryon_body(&self, person: Vec<u8>) -> Value {
        let person = self.upload_ok(person, "image/jpeg").await;
        let garment = self.upload_ok(noise_png(300, 360, 2), "image/png").await;
        serde_json::json!({
            "model": "aitryon-plus",
            "input": {"person_image_url": person.url, "top_garment_url": garment.url},
            "parameters": {"resolution": -1, "restore_face": true}
        })
    }
}

/// Reads an error answer, checking the contract's shape.
pub async fn error_body(response: reqwest::Response) -> ErrorBody {
    let body: ErrorBody = response.json().await.expect("an error body");
    assert!(
        !body.request_id.is_empty(),
        "the error carries a request id"
    );
    body
}

/// Moves `time` by `step` and waits until the proxy's sweeper, woken by the move, has
/// swept and sleeps again: with nothing else waiting on the clock but the proxy's idle
/// loops (see [`TestApp::idle_clock_waiters`]), that is the moment the sweep that the
/// move made due is over.
pub async fn sweep_after(app: &TestApp, time: &ManualClock, step: Duration) {
    time.advance(step);
    let waiting = 1 + app.idle_clock_waiters();
    tokio::time::timeout(HANG_LIMIT, time.until_waiting_ahead(waiting))
        .await
        .expect("the sweeper sleeps again after its sweep");
}

/// A tiny deterministic generator, so images are the same on every run.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u8 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 24) as u8
    }
}

fn noise_rgb(width: u32, height: u32, seed: u64, base: u8, amplitude: u8) -> image::RgbImage {
    let mut noise = Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    image::RgbImage::from_fn(width, height, |_, _| {
        let mut channel = || base.saturating_add(noise.next() % amplitude.max(1));
        image::Rgb([channel(), channel(), channel()])
    })
}

/// A JPEG full of noise: large enough for the 5 KB rule and, for the emulator, one
/// person as wide as the image.
pub fn noise_jpeg(width: u32, height: u32, seed: u64) -> Vec<u8> {
    encode_jpeg(&noise_rgb(width, height, seed, 0, 255))
}

/// A JPEG of an almost plain wall: no person for the emulator to find.
pub fn empty_wall_jpeg(width: u32, height: u32) -> Vec<u8> {
    encode_jpeg(&noise_rgb(width, height, 7, 120, 12))
}

/// A PNG full of noise.
pub fn noise_png(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    noise_rgb(width, height, seed, 0, 255)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn encode_jpeg(img: &image::RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(img)
        .unwrap();
    out
}

/// A PNG header claiming the given size, with one IDAT of zeros making it `total` bytes:
/// a whole chunk stream (the metadata stripper walks it), cheap to make at any size.
pub fn fake_png(width: u32, height: u32, total: usize) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    // Signature (8), IHDR (12 + 13), the IDAT's own 12 bytes and IEND (12).
    let idat = vec![0; total - 57];
    [
        b"\x89PNG\r\n\x1a\n".as_slice(),
        &png_chunk(b"IHDR", &ihdr),
        &png_chunk(b"IDAT", &idat),
        &png_chunk(b"IEND", b""),
    ]
    .concat()
}

/// One PNG chunk with its real CRC, so that decoders that check it accept the file.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend(kind);
    chunk.extend(data);
    chunk.extend(crc32(&chunk[4..]).to_be_bytes());
    chunk
}

/// The CRC-32 of PNG (and zlib), bit by bit: the test files are small.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                crc >> 1 ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Inserts the given chunks right after IHDR, where cameras and editors put `eXIf` and
/// text chunks.
pub fn with_png_chunks(png: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    // Signature (8) and IHDR (4 + 4 + 13 + 4).
    let after_ihdr = 33;
    [&png[..after_ihdr], &chunks.concat(), &png[after_ihdr..]].concat()
}

/// A lossless WebP full of noise (a simple file: one `VP8L` chunk).
pub fn noise_webp(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let img = noise_rgb(width, height, seed, 0, 255);
    let mut out = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .encode(img.as_raw(), width, height, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn riff_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = kind.to_vec();
    chunk.extend((data.len() as u32).to_le_bytes());
    chunk.extend(data);
    // RIFF chunks are padded to an even size.
    if data.len() % 2 == 1 {
        chunk.push(0);
    }
    chunk
}

/// Turns a simple WebP into an extended one (`VP8X` with the EXIF and XMP flags set)
/// that carries `exif` and `xmp` chunks after the image, as cameras and editors write it.
pub fn with_webp_metadata(
    webp: &[u8],
    width: u32,
    height: u32,
    exif: &[u8],
    xmp: &[u8],
) -> Vec<u8> {
    let mut vp8x = vec![0x08 | 0x04, 0, 0, 0];
    vp8x.extend(&(width - 1).to_le_bytes()[..3]);
    vp8x.extend(&(height - 1).to_le_bytes()[..3]);
    let body = [
        b"WEBP".as_slice(),
        &riff_chunk(b"VP8X", &vp8x),
        &webp[12..],
        &riff_chunk(b"EXIF", exif),
        &riff_chunk(b"XMP ", xmp),
    ]
    .concat();
    [
        b"RIFF".as_slice(),
        &(body.len() as u32).to_le_bytes(),
        &body,
    ]
    .concat()
}

/// Inserts an APP13 (Photoshop IPTC) segment holding `payload` right after the JPEG
/// start marker.
pub fn with_iptc(jpeg: &[u8], payload: &[u8]) -> Vec<u8> {
    let body = [b"Photoshop 3.0\08BIM\x04\x04\0\0".as_slice(), payload].concat();
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xED]);
    out.extend(((body.len() + 2) as u16).to_be_bytes());
    out.extend(body);
    out.extend(&jpeg[2..]);
    out
}

fn bmff_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend(kind);
    b.extend(body);
    b
}

/// A HEIC as a phone writes it, in the parts the proxy reads: `ftyp`, `meta` (hdlr,
/// pitm, iinf, iloc, iprp with the `ispe` of the given size) and `mdat` holding 8000
/// bytes of stand-in image data for item 1, an Exif item (2) holding `exif` and an XMP
/// item (3, `mime` `application/rdf+xml`) holding `xmp`, located by file offset.
pub fn heic_with_metadata(width: u32, height: u32, exif: &[u8], xmp: &[u8]) -> Vec<u8> {
    let image: Vec<u8> = (0..8000u32).map(|i| (i * 7 % 64) as u8).collect();
    let ftyp = bmff_box(b"ftyp", b"heic\0\0\0\0mif1heic");
    let meta = |mdat_body: u32| {
        let infe = |id: u8, kind: &[u8; 4], extra: &[u8]| {
            bmff_box(
                b"infe",
                &[&[2, 0, 0, 0, 0, id, 0, 0][..], kind, b"\0", extra].concat(),
            )
        };
        let infes = [
            infe(1, b"hvc1", b""),
            infe(2, b"Exif", b""),
            infe(3, b"mime", b"application/rdf+xml\0"),
        ]
        .concat();
        let iinf = bmff_box(b"iinf", &[&[0, 0, 0, 0, 0, 3][..], &infes].concat());
        // Version 0, 4-byte offsets and lengths, no base offset: item, reference, one extent.
        let mut iloc = vec![0, 0, 0, 0, 0x44, 0x00, 0, 3];
        let extents = [
            (1u16, mdat_body, image.len()),
            (2, mdat_body + image.len() as u32, exif.len()),
            (3, mdat_body + (image.len() + exif.len()) as u32, xmp.len()),
        ];
        for (id, offset, length) in extents {
            iloc.extend(id.to_be_bytes());
            iloc.extend([0, 0, 0, 1]);
            iloc.extend(offset.to_be_bytes());
            iloc.extend((length as u32).to_be_bytes());
        }
        let mut ispe = vec![0u8; 4];
        ispe.extend(width.to_be_bytes());
        ispe.extend(height.to_be_bytes());
        let iprp = bmff_box(
            b"iprp",
            &[
                bmff_box(b"ipco", &bmff_box(b"ispe", &ispe)),
                bmff_box(b"ipma", &[0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0x81]),
            ]
            .concat(),
        );
        let hdlr = [&[0u8; 8][..], b"pict", &[0u8; 12], b"\0"].concat();
        let body = [
            &[0u8, 0, 0, 0][..],
            &bmff_box(b"hdlr", &hdlr),
            &bmff_box(b"pitm", &[0, 0, 0, 0, 0, 1]),
            &iinf,
            &bmff_box(b"iloc", &iloc),
            &iprp,
        ]
        .concat();
        bmff_box(b"meta", &body)
    };
    // The offsets have a fixed width, so a draft gives the size of `meta` and so where
    // the body of `mdat` starts.
    let mdat_body = (ftyp.len() + meta(0).len() + 8) as u32;
    let mdat = bmff_box(b"mdat", &[image.as_slice(), exif, xmp].concat());
    [ftyp, meta(mdat_body), mdat].concat()
}

/// A HEIC header (`ftyp` brand `heic`, one `ispe` of the given size) padded with zeros
/// to `total` bytes: what the header-only upload rules read, cheap to make.
pub fn fake_heic(width: u32, height: u32, total: usize) -> Vec<u8> {
    fn bmff_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend(kind);
        b.extend(body);
        b
    }
    let mut ispe = vec![0u8; 4];
    ispe.extend(width.to_be_bytes());
    ispe.extend(height.to_be_bytes());
    let iprp = bmff_box(b"iprp", &bmff_box(b"ipco", &bmff_box(b"ispe", &ispe)));
    let mut meta = vec![0u8; 4];
    meta.extend(bmff_box(b"hdlr", &[0u8; 24]));
    meta.extend(iprp);
    let mut bytes = bmff_box(b"ftyp", b"heic\0\0\0\0mif1heic");
    bytes.extend(bmff_box(b"meta", &meta));
    bytes.resize(total, 0);
    bytes
}

/// Inserts an APP1 EXIF segment holding `payload` right after the JPEG start marker.
pub fn with_exif(jpeg: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut body = b"Exif\0\0".to_vec();
    body.extend(payload);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((body.len() + 2) as u16).to_be_bytes());
    out.extend(body);
    out.extend(&jpeg[2..]);
    out
}

/// A second shopper: a client with its own token from the status call, sent in the
/// `X-Tryon-Shopper` header the way a cross-site widget does.
pub async fn new_shopper(app: &TestApp) -> (String, reqwest::Client) {
    let status = app.shop_status(&app.http).await;
    let token = status
        .shopper_token
        .expect("the status call issues a token");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", SHOP_ORIGIN.parse().unwrap());
    headers.insert("x-tryon-shopper", token.parse().unwrap());
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    (token, client)
}

/// The person sample with two garment colours, which the emulator's segmentation cuts
/// into an upper and a lower region.
pub fn two_tone_person() -> Vec<u8> {
    dashscope_sim::samples::sample("person-2.jpg")
        .expect("the sample exists")
        .render()
        .expect("the sample encodes")
}

/// Reads one metric's value from the Prometheus text, by its full name with labels.
pub async fn metric(app: &TestApp, series: &str) -> Option<f64> {
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

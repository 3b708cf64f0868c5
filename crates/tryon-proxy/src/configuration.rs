//! Typed settings read from the environment once at start, every mistake reported by variable name.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::admission::AdmissionLimits;
use crate::dashboard::DashboardSettings;
use crate::policy::{DEFAULT_PRICES_CNY, PolicySettings};
use crate::store::postgres::DatabaseUrl;
use crate::upstream::FashnOptions;
use tryon_api::Locale;
use tryon_api::fashn::{FashnMode, GarmentPhotoType, ModerationLevel, OutputFormat};
use tryon_api::generation::{MODEL_QWEN_IMAGE_2, SuccessorModel, UpstreamKind};
use tryon_api::wire::{MODEL_TRYON, MODEL_TRYON_PLUS};

/// The base URL of the real service, used when a key is given and no base URL is.
pub const DEFAULT_BASE_URL: &str = "https://dashscope.aliyuncs.com";
/// Where the proxy listens unless `TRYON_LISTEN` says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
/// The widget's development origins, allowed unless `TRYON_ALLOWED_ORIGINS` says otherwise.
pub const DEFAULT_ALLOWED_ORIGINS: &str = "http://127.0.0.1:8080,http://localhost:8080";
/// Where the job records (and, unless `TRYON_STORAGE_URL` names another store, the
/// uploads and results) live unless `TRYON_DATA_DIR` says otherwise.
pub const DEFAULT_DATA_DIR: &str = ".tryon-data";
/// Try-ons one shopper may start per day unless `TRYON_SHOPPER_DAILY_LIMIT` says otherwise.
pub const DEFAULT_SHOPPER_DAILY_LIMIT: u32 = 20;
/// Uploads one shopper may store within any rolling hour unless `TRYON_UPLOADS_PER_HOUR`
/// says otherwise: far above what a shopper trying on clothes uploads.
pub const DEFAULT_UPLOADS_PER_HOUR: u32 = 30;
/// Bytes of uploads one shopper may store per Beijing day unless
/// `TRYON_UPLOAD_BYTES_PER_DAY` says otherwise: 200 MiB, some forty 5 MB photos.
pub const DEFAULT_UPLOAD_BYTES_PER_DAY: u64 = 200 * 1024 * 1024;
/// The free space in the data folder below which uploads are refused unless
/// `TRYON_MIN_FREE_BYTES` says otherwise: 1 GiB, so that the job database and the kept
/// results still have room when photos have filled the disk.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 1024 * 1024 * 1024;
/// The shortest `TRYON_SHOPIFY_API_SECRET` accepted: a Shopify app's client secret has 32
/// hex digits (with a `shpss_` prefix in newer apps), so anything much shorter is a
/// mistake, such as the app's public client id's first characters or a placeholder.
pub const MIN_SHOPIFY_SECRET_LEN: usize = 16;
/// How long photos, results and jobs are kept unless `TRYON_RETENTION_HOURS` says otherwise:
/// as long as the upstream keeps its own results.
pub const DEFAULT_RETENTION_HOURS: f64 = 24.0;

/// Where the proxy's state is kept (`TRYON_DATABASE_URL`).
#[derive(Debug, Clone)]
pub enum DatabaseSettings {
    /// `jobs.sqlite3` in the data folder: the default, for a proxy that runs alone.
    Sqlite,
    /// The shop's PostgreSQL, shared by every replica (boxed: its options are large).
    Postgres(Box<DatabaseUrl>),
}

impl DatabaseSettings {
    /// What holds the state, for the start-up log (no password).
    pub fn summary(&self, data_dir: &std::path::Path) -> String {
        match self {
            DatabaseSettings::Sqlite => {
                format!("SQLite at {}", data_dir.join("jobs.sqlite3").display())
            }
            DatabaseSettings::Postgres(url) => url.summary().to_owned(),
        }
    }
}

/// The S3-compatible store's settings read besides `TRYON_STORAGE_URL`: the standard
/// variables of AWS's own tools, so that a shop's existing credentials work unchanged.
pub const AWS_VARIABLES: &[&str] = &[
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ALLOW_HTTP",
    "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
];
/// Further credential sources passed to `object_store` as they are: an ECS task's or an
/// EKS pod's own credentials, a web identity's session name and STS endpoint (the crate
/// reads `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN` from the process itself).
pub const AWS_PASSTHROUGH_VARIABLES: &[&str] = &[
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_ROLE_SESSION_NAME",
    "AWS_ENDPOINT_URL_STS",
    "AWS_METADATA_ENDPOINT",
];

/// Where the photos, results and crops are kept (`TRYON_STORAGE_URL`).
#[derive(Debug, Clone)]
pub enum StorageSettings {
    /// A local folder: the data folder's `files/` (`folder: None`, the default), or the
    /// folder a `file:///...` URL names, which several replicas may share (a network
    /// mount).
    Local { folder: Option<PathBuf> },
    /// An S3-compatible object store (`s3://bucket/prefix` and the `AWS_*` variables).
    S3(S3Settings),
}

impl StorageSettings {
    /// What the start-up log says about the store: its URL, endpoint and region, never a
    /// key.
    pub fn summary(&self, data_dir: &std::path::Path) -> String {
        match self {
            StorageSettings::Local { folder: None } => {
                format!("the local folder {}", data_dir.join("files").display())
            }
            StorageSettings::Local {
                folder: Some(folder),
            } => format!("the local folder {}", folder.display()),
            StorageSettings::S3(s3) => format!(
                "the object store {} at {} (region {}, {})",
                s3.url(),
                s3.endpoint.as_deref().unwrap_or("AWS S3"),
                s3.region.as_deref().unwrap_or("us-east-1"),
                if s3.access_key_id.is_some() {
                    "a key from AWS_ACCESS_KEY_ID"
                } else {
                    "the environment's own credentials"
                }
            ),
        }
    }
}

/// An S3-compatible object store: AWS S3 itself, or any store speaking its API (MinIO,
/// Ceph, Cloudflare R2, Alibaba OSS in S3 mode, moto in the tests).
#[derive(Clone)]
pub struct S3Settings {
    /// The bucket, from the URL's host.
    pub bucket: String,
    /// The key prefix, from the URL's path, without leading or trailing `/`; may be empty.
    pub prefix: String,
    /// `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`): the store's address; `None` is AWS S3.
    pub endpoint: Option<String>,
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`; `None` is `us-east-1`, the crate's default.
    pub region: Option<String>,
    pub access_key_id: Option<SecretString>,
    pub secret_access_key: Option<SecretString>,
    pub session_token: Option<SecretString>,
    /// `AWS_ALLOW_HTTP`: plain HTTP to the endpoint, for a store on a private network.
    pub allow_http: bool,
    /// `AWS_VIRTUAL_HOSTED_STYLE_REQUEST`: `bucket.host/key` instead of `host/bucket/key`.
    pub virtual_hosted_style: bool,
    /// The [`AWS_PASSTHROUGH_VARIABLES`] that are set, as they are.
    pub other: Vec<(&'static str, String)>,
    /// The longest one call to the store may take, its retries included.
    pub call_timeout: Duration,
}

impl S3Settings {
    /// Settings for `s3://{bucket}/{prefix}` with nothing else set.
    pub fn new(bucket: impl Into<String>, prefix: impl Into<String>) -> S3Settings {
        S3Settings {
            bucket: bucket.into(),
            prefix: prefix.into(),
            endpoint: None,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            allow_http: false,
            virtual_hosted_style: false,
            other: Vec::new(),
            call_timeout: crate::storage::DEFAULT_CALL_TIMEOUT,
        }
    }

    /// `s3://bucket/prefix`, as logged and as the readiness answer names the store.
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

// The keys must never reach a log line, so Debug is written by hand instead of derived.
impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |value: &Option<SecretString>| value.as_ref().map(|_| "[redacted]");
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &set(&self.access_key_id))
            .field("secret_access_key", &set(&self.secret_access_key))
            .field("session_token", &set(&self.session_token))
            .field("allow_http", &self.allow_http)
            .field("virtual_hosted_style", &self.virtual_hosted_style)
            .field(
                "other",
                &self.other.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
            )
            .field("call_timeout", &self.call_timeout)
            .finish()
    }
}

/// Which service answers the try-on calls.
#[derive(Clone)]
pub enum UpstreamSettings {
    /// The real DashScope service (or anything speaking its API) with the shop's key.
    DashScope {
        base_url: String,
        api_key: SecretString,
    },
    /// FASHN's API (`TRYON_UPSTREAM=fashn` with `FASHN_API_KEY`), or anything speaking it.
    Fashn {
        base_url: String,
        api_key: SecretString,
    },
    /// The offline emulator started inside this process: results are previews, not try-ons.
    Embedded {
        /// How fast emulated time runs: 0.02 makes a 20 s task take 0.4 s.
        time_scale: f64,
    },
}

impl UpstreamSettings {
    /// The name the status call reports: `dashscope`, `fashn` or `dashscope-sim`.
    pub fn kind(&self) -> &'static str {
        match self {
            UpstreamSettings::DashScope { .. } => "dashscope",
            UpstreamSettings::Fashn { .. } => "fashn",
            UpstreamSettings::Embedded { .. } => "dashscope-sim",
        }
    }
}

// The key must never reach a log line, so Debug is written by hand instead of derived.
impl fmt::Debug for UpstreamSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamSettings::DashScope { base_url, .. } => f
                .debug_struct("DashScope")
                .field("base_url", base_url)
                .field("api_key", &"[redacted]")
                .finish(),
            UpstreamSettings::Fashn { base_url, .. } => f
                .debug_struct("Fashn")
                .field("base_url", base_url)
                .field("api_key", &"[redacted]")
                .finish(),
            UpstreamSettings::Embedded { time_scale } => f
                .debug_struct("Embedded")
                .field("time_scale", time_scale)
                .finish(),
        }
    }
}

/// How the upstream API (`TRYON_UPSTREAM`) was chosen, so that the start-up log can say why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamChoice {
    /// `TRYON_UPSTREAM` named it; an explicit choice always wins.
    Configured,
    /// No key and no `TRYON_UPSTREAM`: the embedded emulator with the seed's `aitryon`.
    EmulatorDefault,
    /// A key and no `TRYON_UPSTREAM`: the live `qwen-image` successor.
    KeyDefault,
}

impl UpstreamChoice {
    /// Why this upstream, in words for the start-up log.
    pub fn reason(self) -> &'static str {
        match self {
            UpstreamChoice::Configured => "set by TRYON_UPSTREAM",
            UpstreamChoice::EmulatorDefault => {
                "the default without DASHSCOPE_API_KEY: the offline emulator of the seed's aitryon API"
            }
            UpstreamChoice::KeyDefault => {
                "the default with DASHSCOPE_API_KEY: DashScope retired the aitryon family on 2026-10-10"
            }
        }
    }
}

/// Everything the proxy needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub upstream: UpstreamSettings,
    /// Which upstream API serves the try-ons (`TRYON_UPSTREAM`): the `qwen-image` successor
    /// (the default with a key) or the seed's asynchronous `aitryon` (the default without
    /// one, for the emulator-backed demo).
    pub adapter: UpstreamKind,
    /// Why [`Settings::adapter`] is the one it is, for the start-up log.
    pub adapter_choice: UpstreamChoice,
    /// The model of that API (`TRYON_MODEL`), validated for it; every new job is sent
    /// with it: `aitryon-plus` or `aitryon`, or `qwen-image-2.0` and later ids.
    pub model: String,
    /// What every FASHN prediction is sent with (`TRYON_FASHN_*`); used only under
    /// `TRYON_UPSTREAM=fashn`.
    pub fashn: FashnOptions,
    /// The language of the successor's prompts (`TRYON_PROMPT_LOCALE`, Chinese unless
    /// `en`: the model's own guide writes its examples in Chinese).
    pub prompt_locale: Locale,
    /// The address to bind; port 0 picks a free port (tests do this).
    pub listen: SocketAddr,
    /// How the upstream reaches the files this proxy hosts, without a trailing slash.
    /// `None` means `http://{the bound address}`, decided once the port is known.
    pub public_base_url: Option<String>,
    /// Browser origins allowed by CORS and for creates (`*` is kept in the policy instead).
    pub allowed_origins: Vec<HeaderValue>,
    /// Folder of the job database and the shopper secret, and of the stored files unless
    /// [`Settings::storage`] names another store.
    pub data_dir: PathBuf,
    /// Where photos, results and crops are kept (`TRYON_STORAGE_URL`).
    pub storage: StorageSettings,
    /// Where jobs, bills, counts and the file index are kept (`TRYON_DATABASE_URL`).
    pub database: DatabaseSettings,
    /// The upstream account's limits; the documented ones unless a test says otherwise.
    pub admission: AdmissionLimits,
    /// The shop's rules for every create: origins, garments, per-shopper and daily caps.
    pub policy: PolicySettings,
    /// How long uploads, results and jobs are kept before the sweeper deletes them.
    pub retention: Duration,
    /// What every schedule, expiry, rate window and billing day is measured on: real
    /// time, or a test's manual clock (shared with the embedded emulator).
    pub clock: tryon_clock::Clock,
    /// The shop owner's dashboard (`TRYON_ADMIN_TOKEN`) and the rate of funnel events.
    pub dashboard: DashboardSettings,
}

/// One thing wrong with the environment, named by its variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigMistake {
    pub variable: &'static str,
    pub problem: String,
}

/// All mistakes found in the environment, so that one start reports them all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub mistakes: Vec<ConfigMistake>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the proxy's configuration is not valid:")?;
        for mistake in &self.mistakes {
            writeln!(f, "  {}: {}", mistake.variable, mistake.problem)?;
        }
        Ok(())
    }
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, which answers a variable's value or `None`.
    /// Tests pass a map here instead of touching the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let mut mistakes = Vec::new();
        let mut mistake = |variable: &'static str, problem: String| {
            mistakes.push(ConfigMistake { variable, problem });
        };
        // An empty variable counts as unset, as shells and compose files often leave them so.
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let time_scale = match get("SIM_TIME_SCALE") {
            None => 1.0,
            Some(raw) => match raw.parse::<f64>() {
                Ok(scale) if scale.is_finite() && scale > 0.0 => scale,
                _ => {
                    mistake(
                        "SIM_TIME_SCALE",
                        format!("{raw:?} is not a positive number (1.0 is real time)"),
                    );
                    1.0
                }
            },
        };
        let mut upstream = match get("DASHSCOPE_API_KEY") {
            None => UpstreamSettings::Embedded { time_scale },
            Some(key) => {
                let base_url = get("DASHSCOPE_BASE_URL")
                    .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned())
                    .trim_end_matches('/')
                    .to_owned();
                if tryon_api::ImageUrl::parse(&base_url).is_err() {
                    mistake(
                        "DASHSCOPE_BASE_URL",
                        format!("{base_url:?} is not an http or https URL"),
                    );
                }
                if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    // The key itself is not repeated: it may be nearly right and still secret.
                    mistake(
                        "DASHSCOPE_API_KEY",
                        "contains spaces or control characters".to_owned(),
                    );
                }
                UpstreamSettings::DashScope {
                    base_url,
                    api_key: SecretString::from(key),
                }
            }
        };

        // The default follows the key, so that going live is setting the key and nothing
        // else: DashScope retired the aitryon family, so a key means the successor, while
        // the emulator-backed demo keeps the seed's API it was built and tested on.
        let (adapter, adapter_choice) = match (get("TRYON_UPSTREAM"), &upstream) {
            (None, UpstreamSettings::Embedded { .. }) => {
                (UpstreamKind::Aitryon, UpstreamChoice::EmulatorDefault)
            }
            // Only DashScope's key is read before the upstream is known (FASHN's is read
            // below, for TRYON_UPSTREAM=fashn), so this is a DashScope key.
            (None, UpstreamSettings::DashScope { .. } | UpstreamSettings::Fashn { .. }) => {
                (UpstreamKind::QwenImage, UpstreamChoice::KeyDefault)
            }
            (Some(raw), _) => {
                let kind = UpstreamKind::parse(&raw).unwrap_or_else(|| {
                    mistake(
                        "TRYON_UPSTREAM",
                        format!(
                            "{raw:?} is not an upstream; use \"qwen-image\", \"fashn\" or \"aitryon\""
                        ),
                    );
                    UpstreamKind::Aitryon
                });
                (kind, UpstreamChoice::Configured)
            }
        };
        let model = match adapter {
            UpstreamKind::Aitryon => {
                let model = get("TRYON_MODEL").unwrap_or_else(|| MODEL_TRYON_PLUS.to_owned());
                if model != MODEL_TRYON_PLUS && model != MODEL_TRYON {
                    let hint = if SuccessorModel::parse(&model).is_ok() {
                        " (a qwen-image model needs TRYON_UPSTREAM=qwen-image)"
                    } else {
                        ""
                    };
                    mistake(
                        "TRYON_MODEL",
                        format!(
                            "{model:?} is not supported by TRYON_UPSTREAM=aitryon; use {MODEL_TRYON_PLUS:?} or {MODEL_TRYON:?}{hint}"
                        ),
                    );
                }
                model
            }
            UpstreamKind::QwenImage => {
                let model = get("TRYON_MODEL").unwrap_or_else(|| MODEL_QWEN_IMAGE_2.to_owned());
                if let Err(refusal) = SuccessorModel::parse(&model) {
                    // A shop that set an aitryon model before the default followed the key
                    // learns how to keep that API, if it really means to.
                    let hint = if adapter_choice == UpstreamChoice::KeyDefault
                        && (model == MODEL_TRYON_PLUS || model == MODEL_TRYON)
                    {
                        " (with a key the upstream defaults to qwen-image; TRYON_UPSTREAM=aitryon keeps the retired API)"
                    } else {
                        ""
                    };
                    mistake("TRYON_MODEL", format!("{refusal}{hint}"));
                }
                model
            }
            UpstreamKind::Fashn => {
                let model =
                    get("TRYON_MODEL").unwrap_or_else(|| tryon_api::fashn::MODEL_TRYON.to_owned());
                if model != tryon_api::fashn::MODEL_TRYON {
                    mistake(
                        "TRYON_MODEL",
                        format!(
                            "{model:?} is not supported by TRYON_UPSTREAM=fashn; use {:?}",
                            tryon_api::fashn::MODEL_TRYON
                        ),
                    );
                }
                model
            }
        };
        // FASHN has its own key and host; without a key the embedded emulator serves its
        // endpoints too, as it serves DashScope's without DASHSCOPE_API_KEY.
        if adapter == UpstreamKind::Fashn {
            upstream = match get("FASHN_API_KEY") {
                None => UpstreamSettings::Embedded { time_scale },
                Some(key) => {
                    let base_url = get("FASHN_BASE_URL")
                        .unwrap_or_else(|| tryon_api::fashn::DEFAULT_BASE_URL.to_owned())
                        .trim_end_matches('/')
                        .to_owned();
                    if tryon_api::ImageUrl::parse(&base_url).is_err() {
                        mistake(
                            "FASHN_BASE_URL",
                            format!("{base_url:?} is not an http or https URL"),
                        );
                    }
                    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
                        // The key itself is not repeated, as for DASHSCOPE_API_KEY.
                        mistake(
                            "FASHN_API_KEY",
                            "contains spaces or control characters".to_owned(),
                        );
                    }
                    UpstreamSettings::Fashn {
                        base_url,
                        api_key: SecretString::from(key),
                    }
                }
            };
        }
        let fashn = fashn_options(&get, &mut mistake);
        let prompt_locale = match get("TRYON_PROMPT_LOCALE").as_deref() {
            None => Locale::ZhCn,
            Some(raw) => match raw.to_ascii_lowercase().as_str() {
                "zh" | "zh-cn" => Locale::ZhCn,
                "en" => Locale::En,
                _ => {
                    mistake(
                        "TRYON_PROMPT_LOCALE",
                        format!("{raw:?} is not a prompt language; use \"zh\" or \"en\""),
                    );
                    Locale::ZhCn
                }
            },
        };

        let listen_raw = get("TRYON_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen_raw.parse::<SocketAddr>().unwrap_or_else(|_| {
            mistake(
                "TRYON_LISTEN",
                format!("{listen_raw:?} is not an address such as 127.0.0.1:8787 or 0.0.0.0:8787"),
            );
            SocketAddr::from(([127, 0, 0, 1], 8787))
        });

        let public_base_url = get("TRYON_PUBLIC_BASE_URL").map(|raw| {
            let trimmed = raw.trim_end_matches('/').to_owned();
            if tryon_api::ImageUrl::parse(&trimmed).is_err() {
                mistake(
                    "TRYON_PUBLIC_BASE_URL",
                    format!("{raw:?} is not an http or https URL"),
                );
            }
            trimmed
        });

        let origins_raw =
            get("TRYON_ALLOWED_ORIGINS").unwrap_or_else(|| DEFAULT_ALLOWED_ORIGINS.to_owned());
        let mut allowed_origins = Vec::new();
        let mut any_origin = false;
        for origin in origins_raw
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
        {
            if origin == "*" {
                // Development only: every page may call the proxy. Kept apart from the
                // list so that it is never sent as a header value.
                any_origin = true;
                continue;
            }
            let well_formed = (origin.starts_with("http://") || origin.starts_with("https://"))
                && !origin.ends_with('/');
            match HeaderValue::from_str(origin) {
                Ok(value) if well_formed => allowed_origins.push(value),
                _ => mistake(
                    "TRYON_ALLOWED_ORIGINS",
                    format!(
                        "{origin:?} is not an origin such as https://shop.example (scheme and host, no path), or *"
                    ),
                ),
            }
        }

        let garment_prefixes = match get("TRYON_GARMENT_PREFIXES") {
            Some(raw) => {
                let mut prefixes = Vec::new();
                for prefix in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    if tryon_api::ImageUrl::parse(prefix).is_err() {
                        mistake(
                            "TRYON_GARMENT_PREFIXES",
                            format!("{prefix:?} is not an http or https URL prefix"),
                        );
                    }
                    prefixes.push(prefix.to_owned());
                }
                Some(prefixes)
            }
            None => None,
        };

        let shopper_daily_limit = match get("TRYON_SHOPPER_DAILY_LIMIT") {
            None => DEFAULT_SHOPPER_DAILY_LIMIT,
            Some(raw) => raw.parse::<u32>().unwrap_or_else(|_| {
                mistake(
                    "TRYON_SHOPPER_DAILY_LIMIT",
                    format!("{raw:?} is not a whole number (0 turns the limit off)"),
                );
                DEFAULT_SHOPPER_DAILY_LIMIT
            }),
        };
        let uploads_per_hour = match get("TRYON_UPLOADS_PER_HOUR") {
            None => DEFAULT_UPLOADS_PER_HOUR,
            Some(raw) => raw.parse::<u32>().unwrap_or_else(|_| {
                mistake(
                    "TRYON_UPLOADS_PER_HOUR",
                    format!("{raw:?} is not a whole number of uploads (0 turns the limit off)"),
                );
                DEFAULT_UPLOADS_PER_HOUR
            }),
        };
        let upload_bytes_per_day = match get("TRYON_UPLOAD_BYTES_PER_DAY") {
            None => DEFAULT_UPLOAD_BYTES_PER_DAY,
            Some(raw) => raw.parse::<u64>().unwrap_or_else(|_| {
                mistake(
                    "TRYON_UPLOAD_BYTES_PER_DAY",
                    format!(
                        "{raw:?} is not a whole number of bytes, such as 209715200 for 200 MiB (0 turns the limit off)"
                    ),
                );
                DEFAULT_UPLOAD_BYTES_PER_DAY
            }),
        };
        let min_free_bytes = match get("TRYON_MIN_FREE_BYTES") {
            None => DEFAULT_MIN_FREE_BYTES,
            Some(raw) => raw.parse::<u64>().unwrap_or_else(|_| {
                mistake(
                    "TRYON_MIN_FREE_BYTES",
                    format!(
                        "{raw:?} is not a whole number of bytes, such as 1073741824 for 1 GiB (0 turns the floor off)"
                    ),
                );
                DEFAULT_MIN_FREE_BYTES
            }),
        };
        let daily_image_cap = get("TRYON_DAILY_IMAGE_CAP").and_then(|raw| {
            raw.parse::<u64>()
                .map_err(|_| {
                    mistake(
                        "TRYON_DAILY_IMAGE_CAP",
                        format!("{raw:?} is not a whole number of images"),
                    )
                })
                .ok()
        });
        let spend_cap_cny = get("TRYON_SPEND_CAP_CNY").and_then(|raw| match raw.parse::<f64>() {
            Ok(cap) if cap.is_finite() && cap >= 0.0 => Some(cap),
            _ => {
                mistake(
                    "TRYON_SPEND_CAP_CNY",
                    format!("{raw:?} is not an amount in CNY such as 50 or 12.5"),
                );
                None
            }
        });
        let mut prices: Vec<(String, f64)> = DEFAULT_PRICES_CNY
            .iter()
            .map(|(model, price)| ((*model).to_owned(), *price))
            .collect();
        if let Some(raw) = get("TRYON_PRICES_CNY") {
            for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let parsed = pair.split_once('=').and_then(|(model, price)| {
                    let price = price.trim().parse::<f64>().ok()?;
                    (price.is_finite() && price >= 0.0).then(|| (model.trim().to_owned(), price))
                });
                match parsed {
                    Some((model, price)) => match prices.iter_mut().find(|(m, _)| *m == model) {
                        Some(entry) => entry.1 = price,
                        None => prices.push((model, price)),
                    },
                    None => mistake(
                        "TRYON_PRICES_CNY",
                        format!("{pair:?} is not model=price, such as aitryon-plus=0.50"),
                    ),
                }
            }
        }
        // A later successor id (say qwen-image-3.0-pro) has no list price here; its class's
        // default keeps the spend cap from pricing it at the dearest known model.
        if let Ok(successor) = SuccessorModel::parse(&model)
            && !prices.iter().any(|(m, _)| *m == model)
        {
            prices.push((model.clone(), tryon_api::generation::price_cny(&successor)));
        }
        let shopper_secret = get("TRYON_SHOPPER_SECRET").map(SecretString::from);
        let shopify_api_secret = get("TRYON_SHOPIFY_API_SECRET").map(|secret| {
            // The secret itself is never repeated, as for the upstream keys.
            if secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
                mistake(
                    "TRYON_SHOPIFY_API_SECRET",
                    "contains spaces or control characters".to_owned(),
                );
            } else if secret.len() < MIN_SHOPIFY_SECRET_LEN {
                mistake(
                    "TRYON_SHOPIFY_API_SECRET",
                    format!(
                        "is {} characters long, too short for a Shopify app's API secret key \
                         (the client secret of the app's credentials has 32 characters or more)",
                        secret.chars().count()
                    ),
                );
            }
            SecretString::from(secret)
        });

        let retention_hours = match get("TRYON_RETENTION_HOURS") {
            None => DEFAULT_RETENTION_HOURS,
            Some(raw) => match raw.parse::<f64>() {
                Ok(hours) if hours.is_finite() && hours > 0.0 => hours,
                _ => {
                    mistake(
                        "TRYON_RETENTION_HOURS",
                        format!("{raw:?} is not a positive number of hours"),
                    );
                    DEFAULT_RETENTION_HOURS
                }
            },
        };
        let mut admission = AdmissionLimits::default();
        if let Some(raw) = get("TRYON_CREATE_WAIT_MS") {
            match raw.parse::<u64>() {
                Ok(ms) => admission.create_wait = Duration::from_millis(ms),
                Err(_) => mistake(
                    "TRYON_CREATE_WAIT_MS",
                    format!("{raw:?} is not a whole number of milliseconds"),
                ),
            }
        }

        let data_dir =
            PathBuf::from(get("TRYON_DATA_DIR").unwrap_or_else(|| DEFAULT_DATA_DIR.to_owned()));
        let dashboard = DashboardSettings::from_lookup(&get, &mut mistake);
        let storage = storage_settings(&get, &mut mistake);
        let database = match get("TRYON_DATABASE_URL") {
            None => DatabaseSettings::Sqlite,
            Some(raw) => match DatabaseUrl::parse(&raw) {
                Ok(url) => DatabaseSettings::Postgres(Box::new(url)),
                Err(err) => {
                    mistake("TRYON_DATABASE_URL", err.to_string());
                    DatabaseSettings::Sqlite
                }
            },
        };

        if mistakes.is_empty() {
            let policy = PolicySettings {
                any_origin,
                garment_prefixes: garment_prefixes
                    .unwrap_or_else(|| PolicySettings::prefixes_of(&allowed_origins, any_origin)),
                shopper_daily_limit,
                daily_image_cap,
                spend_cap_cny,
                prices,
                shopper_secret,
                uploads_per_hour,
                upload_bytes_per_day,
                min_free_bytes,
                shopify_api_secret,
            };
            Ok(Settings {
                upstream,
                adapter,
                adapter_choice,
                model,
                fashn,
                prompt_locale,
                listen,
                public_base_url,
                allowed_origins,
                data_dir,
                storage,
                database,
                admission,
                policy,
                retention: Duration::from_secs_f64(retention_hours * 3600.0),
                clock: tryon_clock::Clock::system(),
                dashboard,
            })
        } else {
            Err(ConfigError { mistakes })
        }
    }

    /// Whether a key was configured (as opposed to the embedded emulator).
    pub fn has_key(&self) -> bool {
        match &self.upstream {
            UpstreamSettings::DashScope { api_key, .. }
            | UpstreamSettings::Fashn { api_key, .. } => !api_key.expose_secret().is_empty(),
            UpstreamSettings::Embedded { .. } => false,
        }
    }
}

/// Reads `TRYON_STORAGE_URL` and, for an object store, the `AWS_*` variables through
/// `get`, reporting every mistake on its own variable. The `AWS_*` variables mean nothing
/// to a local folder and are not read for one: other tools on the host may use them.
fn storage_settings(
    get: &impl Fn(&str) -> Option<String>,
    mistake: &mut impl FnMut(&'static str, String),
) -> StorageSettings {
    const VARIABLE: &str = "TRYON_STORAGE_URL";
    const FORMS: &str = "use s3://bucket/optional/prefix (any S3-compatible store, with the AWS_* variables) or file:///absolute/folder";
    let local = StorageSettings::Local { folder: None };
    let Some(raw) = get(VARIABLE) else {
        return local;
    };
    let url = match url::Url::parse(&raw) {
        Ok(url) => url,
        Err(_) => {
            mistake(VARIABLE, format!("{raw:?} is not a URL; {FORMS}"));
            return local;
        }
    };
    // Credentials in the URL would be logged with it; they belong in the AWS_* variables.
    if !url.username().is_empty() || url.password().is_some() {
        mistake(
            VARIABLE,
            "carries credentials; put them in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                .to_owned(),
        );
        return local;
    }
    if url.query().is_some() || url.fragment().is_some() || url.port().is_some() {
        mistake(
            VARIABLE,
            format!(
                "{raw:?} has a port, query or fragment; the store's address goes in AWS_ENDPOINT_URL"
            ),
        );
        return local;
    }
    match url.scheme() {
        "file" => match url.to_file_path() {
            Ok(folder) => StorageSettings::Local {
                folder: Some(folder),
            },
            Err(()) => {
                mistake(
                    VARIABLE,
                    format!("{raw:?} is not a local folder such as file:///srv/tryon/files"),
                );
                local
            }
        },
        "s3" => {
            let bucket = url.host_str().unwrap_or_default().to_owned();
            if bucket.is_empty() {
                mistake(VARIABLE, format!("{raw:?} names no bucket; {FORMS}"));
                return local;
            }
            if !valid_bucket(&bucket) {
                mistake(
                    VARIABLE,
                    format!(
                        "{bucket:?} is not an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit)"
                    ),
                );
                return local;
            }
            let prefix = url.path().trim_matches('/').to_owned();
            // S3's safe key characters only, and no empty, "." or ".." segment: the
            // prefix then means the same to every store and tool that lists the bucket.
            let safe = prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/!-_.*'()".contains(&b));
            if !safe || object_store::path::Path::parse(&prefix).is_err() {
                mistake(
                    VARIABLE,
                    format!(
                        "the prefix {prefix:?} must be segments of letters, digits and !-_.*'() separated by single slashes, none of them . or .."
                    ),
                );
                return local;
            }
            s3_settings(get, mistake, bucket, prefix)
        }
        scheme => {
            mistake(
                VARIABLE,
                format!("{scheme:?} is not a storage scheme; {FORMS}"),
            );
            local
        }
    }
}

/// The `AWS_*` half of an `s3://` store, each variable checked on its own line, then
/// the whole as `object_store` sees it.
fn s3_settings(
    get: &impl Fn(&str) -> Option<String>,
    mistake: &mut impl FnMut(&'static str, String),
    bucket: String,
    prefix: String,
) -> StorageSettings {
    let mut found: Vec<(&'static str, String)> = Vec::new();
    let s3 = aws_variables(
        get,
        &mut |variable, problem| found.push((variable, problem)),
        bucket,
        prefix,
    );
    // Whatever else the crate refuses is reported now, with the other mistakes, rather
    // than at the first upload; after a mistake of its own variables, the crate would
    // only repeat it.
    if found.is_empty()
        && let Err(err) = crate::storage::ObjectStorage::builder(&s3).build()
    {
        found.push((
            "TRYON_STORAGE_URL",
            format!("the object store refuses it: {err}"),
        ));
    }
    for (variable, problem) in found {
        mistake(variable, problem);
    }
    StorageSettings::S3(s3)
}

/// Reads the `AWS_*` variables of an `s3://` store.
fn aws_variables(
    get: &impl Fn(&str) -> Option<String>,
    mistake: &mut dyn FnMut(&'static str, String),
    bucket: String,
    prefix: String,
) -> S3Settings {
    let mut s3 = S3Settings::new(bucket, prefix);
    let boolean = |variable: &'static str, mistake: &mut dyn FnMut(&'static str, String)| {
        let raw = get(variable)?;
        match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" => Some(false),
            _ => {
                mistake(variable, format!("{raw:?} is not true or false"));
                None
            }
        }
    };
    s3.allow_http = boolean("AWS_ALLOW_HTTP", mistake).unwrap_or(false);
    s3.virtual_hosted_style = boolean("AWS_VIRTUAL_HOSTED_STYLE_REQUEST", mistake).unwrap_or(false);

    // AWS's tools read AWS_ENDPOINT_URL; object_store also knows AWS_ENDPOINT. Both
    // are accepted, and two different ones are a mistake rather than a guess.
    let endpoint_url = get("AWS_ENDPOINT_URL");
    let endpoint = get("AWS_ENDPOINT");
    if let (Some(url), Some(other)) = (&endpoint_url, &endpoint)
        && url.trim_end_matches('/') != other.trim_end_matches('/')
    {
        mistake(
            "AWS_ENDPOINT",
            format!("{other:?} differs from AWS_ENDPOINT_URL {url:?}; set only one of them"),
        );
    }
    let named = if endpoint_url.is_some() {
        "AWS_ENDPOINT_URL"
    } else {
        "AWS_ENDPOINT"
    };
    if let Some(raw) = endpoint_url.or(endpoint) {
        let endpoint = raw.trim_end_matches('/').to_owned();
        match url::Url::parse(&endpoint) {
            Ok(url) if url.scheme() == "https" || url.scheme() == "http" => {
                if url.scheme() == "http" && !s3.allow_http {
                    mistake(
                        named,
                        format!(
                            "{raw:?} is plain http, which is refused unless AWS_ALLOW_HTTP=true (for a store on a private network only)"
                        ),
                    );
                }
                if !url.username().is_empty() || url.password().is_some() {
                    mistake(
                        named,
                        "carries credentials; put them in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_owned(),
                    );
                } else {
                    s3.endpoint = Some(endpoint);
                }
            }
            _ => mistake(
                named,
                format!("{raw:?} is not an http or https URL such as https://s3.example.com"),
            ),
        }
    }

    s3.region = get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION"));
    if let Some(region) = &s3.region
        && !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        let variable = if get("AWS_REGION").is_some() {
            "AWS_REGION"
        } else {
            "AWS_DEFAULT_REGION"
        };
        mistake(
            variable,
            format!("{region:?} is not a region name such as eu-central-1"),
        );
    }

    // The keys themselves are never repeated in a mistake, as for the upstream keys.
    let mut secret = |variable: &'static str| {
        let value = get(variable)?;
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            mistake(variable, "contains spaces or control characters".to_owned());
        }
        Some(SecretString::from(value))
    };
    s3.access_key_id = secret("AWS_ACCESS_KEY_ID");
    s3.secret_access_key = secret("AWS_SECRET_ACCESS_KEY");
    s3.session_token = secret("AWS_SESSION_TOKEN");
    match (&s3.access_key_id, &s3.secret_access_key) {
        (Some(_), None) => mistake(
            "AWS_SECRET_ACCESS_KEY",
            "is not set, but AWS_ACCESS_KEY_ID is: a key needs both".to_owned(),
        ),
        (None, Some(_)) => mistake(
            "AWS_ACCESS_KEY_ID",
            "is not set, but AWS_SECRET_ACCESS_KEY is: a key needs both".to_owned(),
        ),
        _ => {}
    }
    s3.other = AWS_PASSTHROUGH_VARIABLES
        .iter()
        .filter_map(|variable| get(variable).map(|value| (*variable, value)))
        .collect();
    s3
}

/// S3's bucket naming rules, in the part every S3-compatible store shares.
fn valid_bucket(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !name.contains("..")
}

/// Reads the `TRYON_FASHN_*` options through `get`, reporting every bad value with the
/// values it may take.
fn fashn_options(
    get: &impl Fn(&str) -> Option<String>,
    mistake: &mut impl FnMut(&'static str, String),
) -> FashnOptions {
    let mut options = FashnOptions::default();
    // One reader for FASHN's string enums, with their exact wire spellings.
    fn choice<T: Copy>(
        get: &impl Fn(&str) -> Option<String>,
        mistake: &mut impl FnMut(&'static str, String),
        variable: &'static str,
        all: &[T],
        name: fn(T) -> &'static str,
    ) -> Option<T> {
        let raw = get(variable)?;
        let wanted = raw.to_ascii_lowercase();
        let found = all.iter().copied().find(|value| name(*value) == wanted);
        if found.is_none() {
            let names: Vec<String> = all
                .iter()
                .map(|value| format!("{:?}", name(*value)))
                .collect();
            mistake(
                variable,
                format!("{raw:?} is not one of {}", names.join(", ")),
            );
        }
        found
    }
    let boolean = |raw: &str| match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    };
    if let Some(raw) = get("TRYON_FASHN_RETURN_BASE64") {
        match boolean(&raw) {
            Some(value) => options.return_base64 = value,
            None => mistake(
                "TRYON_FASHN_RETURN_BASE64",
                format!("{raw:?} is not true or false"),
            ),
        }
    }
    if let Some(mode) = choice(
        get,
        mistake,
        "TRYON_FASHN_MODE",
        FashnMode::ALL,
        FashnMode::as_str,
    ) {
        options.mode = mode;
    }
    if let Some(kind) = choice(
        get,
        mistake,
        "TRYON_FASHN_GARMENT_PHOTO_TYPE",
        GarmentPhotoType::ALL,
        GarmentPhotoType::as_str,
    ) {
        options.garment_photo_type = kind;
    }
    options.moderation_level = choice(
        get,
        mistake,
        "TRYON_FASHN_MODERATION_LEVEL",
        ModerationLevel::ALL,
        ModerationLevel::as_str,
    );
    options.output_format = choice(
        get,
        mistake,
        "TRYON_FASHN_OUTPUT_FORMAT",
        OutputFormat::ALL,
        OutputFormat::as_str,
    );
    if let Some(raw) = get("TRYON_FASHN_SEED") {
        match raw.parse::<u64>() {
            Ok(seed) => options.seed = Some(seed),
            Err(_) => mistake(
                "TRYON_FASHN_SEED",
                format!("{raw:?} is not a whole number from 0 to {}", u64::MAX),
            ),
        }
    }
    if let Some(raw) = get("TRYON_FASHN_SEGMENTATION_FREE") {
        match boolean(&raw) {
            Some(value) => options.segmentation_free = Some(value),
            None => mistake(
                "TRYON_FASHN_SEGMENTATION_FREE",
                format!("{raw:?} is not true or false"),
            ),
        }
    }
    options
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tryon_api::generation::AITRYON_RETIRED_ON;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_use_the_embedded_emulator() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.upstream.kind(), "dashscope-sim");
        assert_eq!(s.model, "aitryon-plus");
        assert_eq!(s.listen.to_string(), "127.0.0.1:8787");
        assert_eq!(s.public_base_url, None);
        assert_eq!(s.allowed_origins.len(), 2);
        assert_eq!(s.data_dir, PathBuf::from(".tryon-data"));
        assert!(!s.has_key());
    }

    #[test]
    fn an_empty_key_counts_as_absent_and_a_key_selects_dashscope() {
        assert_eq!(
            settings(&[("DASHSCOPE_API_KEY", "  ")])
                .unwrap()
                .upstream
                .kind(),
            "dashscope-sim"
        );
        let s = settings(&[
            ("DASHSCOPE_API_KEY", "sk-abc"),
            ("DASHSCOPE_BASE_URL", "http://x:1/"),
        ])
        .unwrap();
        match &s.upstream {
            UpstreamSettings::DashScope { base_url, .. } => assert_eq!(base_url, "http://x:1"),
            other => panic!("{other:?}"),
        }
        assert!(s.has_key());
    }

    #[test]
    fn every_mistake_is_named_and_the_key_is_never_shown() {
        let err = settings(&[
            ("DASHSCOPE_API_KEY", "sk secret"),
            ("TRYON_MODEL", "gpt"),
            ("TRYON_LISTEN", "nowhere"),
            ("TRYON_ALLOWED_ORIGINS", "http://ok.example,ftp://bad"),
            ("SIM_TIME_SCALE", "-1"),
            ("TRYON_PUBLIC_BASE_URL", "not a url"),
        ])
        .unwrap_err();
        let names: Vec<_> = err.mistakes.iter().map(|m| m.variable).collect();
        assert_eq!(
            names,
            vec![
                "SIM_TIME_SCALE",
                "DASHSCOPE_API_KEY",
                "TRYON_MODEL",
                "TRYON_LISTEN",
                "TRYON_PUBLIC_BASE_URL",
                "TRYON_ALLOWED_ORIGINS"
            ]
        );
        let text = err.to_string();
        assert!(!text.contains("sk secret"), "{text}");
        assert!(!format!("{err:?}").contains("sk secret"));
    }

    #[test]
    fn shop_policy_defaults_follow_the_allowed_origins() {
        let s = settings(&[]).unwrap();
        assert_eq!(
            s.policy.garment_prefixes,
            vec!["http://127.0.0.1:8080/", "http://localhost:8080/"]
        );
        assert!(!s.policy.any_origin);
        assert_eq!(s.policy.shopper_daily_limit, 20);
        assert_eq!(s.policy.daily_image_cap, None);
        assert_eq!(s.policy.price_of("aitryon-plus"), 0.5);
        assert_eq!(s.policy.price_of("aitryon-parsing-v1"), 0.004);
        assert_eq!(s.retention, Duration::from_secs(24 * 3600));
        assert_eq!(s.policy.uploads_per_hour, 30);
        assert_eq!(s.policy.upload_bytes_per_day, 200 * 1024 * 1024);
        assert_eq!(s.policy.min_free_bytes, 1024 * 1024 * 1024);

        let s = settings(&[
            ("TRYON_ALLOWED_ORIGINS", "*"),
            (
                "TRYON_GARMENT_PREFIXES",
                "https://cdn.shop.example/products/",
            ),
            ("TRYON_SHOPPER_DAILY_LIMIT", "3"),
            ("TRYON_DAILY_IMAGE_CAP", "100"),
            ("TRYON_SPEND_CAP_CNY", "12.5"),
            ("TRYON_PRICES_CNY", "aitryon-plus=0.45"),
            ("TRYON_RETENTION_HOURS", "0.5"),
            ("TRYON_CREATE_WAIT_MS", "0"),
            ("TRYON_UPLOADS_PER_HOUR", "0"),
            ("TRYON_UPLOAD_BYTES_PER_DAY", "3000000"),
            ("TRYON_MIN_FREE_BYTES", "0"),
        ])
        .unwrap();
        assert_eq!(s.policy.uploads_per_hour, 0, "0 turns the hourly limit off");
        assert_eq!(s.policy.upload_bytes_per_day, 3_000_000);
        assert_eq!(s.policy.min_free_bytes, 0);
        assert!(s.policy.any_origin);
        assert!(s.allowed_origins.is_empty());
        assert_eq!(
            s.policy.garment_prefixes,
            vec!["https://cdn.shop.example/products/"]
        );
        assert_eq!(s.policy.shopper_daily_limit, 3);
        assert_eq!(s.policy.daily_image_cap, Some(100));
        assert_eq!(s.policy.spend_cap_cny, Some(12.5));
        assert_eq!(s.policy.price_of("aitryon-plus"), 0.45);
        assert_eq!(s.retention, Duration::from_secs(1800));
        assert_eq!(s.admission.create_wait, Duration::ZERO);
    }

    #[test]
    fn bad_policy_values_are_reported_by_name() {
        let err = settings(&[
            ("TRYON_SHOPPER_DAILY_LIMIT", "many"),
            ("TRYON_SPEND_CAP_CNY", "-1"),
            ("TRYON_PRICES_CNY", "aitryon-plus"),
            ("TRYON_RETENTION_HOURS", "0"),
            ("TRYON_UPLOADS_PER_HOUR", "-1"),
            ("TRYON_UPLOAD_BYTES_PER_DAY", "200MB"),
            ("TRYON_MIN_FREE_BYTES", "1.5"),
        ])
        .unwrap_err();
        let names: Vec<_> = err.mistakes.iter().map(|m| m.variable).collect();
        assert_eq!(
            names,
            vec![
                "TRYON_SHOPPER_DAILY_LIMIT",
                "TRYON_UPLOADS_PER_HOUR",
                "TRYON_UPLOAD_BYTES_PER_DAY",
                "TRYON_MIN_FREE_BYTES",
                "TRYON_SPEND_CAP_CNY",
                "TRYON_PRICES_CNY",
                "TRYON_RETENTION_HOURS"
            ]
        );
    }

    #[test]
    fn the_upstream_defaults_to_aitryon_and_qwen_image_to_its_own_model() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.adapter, UpstreamKind::Aitryon);
        assert_eq!(s.model, "aitryon-plus");
        assert_eq!(s.prompt_locale, Locale::ZhCn);

        let s = settings(&[("TRYON_UPSTREAM", "qwen-image")]).unwrap();
        assert_eq!(s.adapter, UpstreamKind::QwenImage);
        assert_eq!(s.model, "qwen-image-2.0");
        assert_eq!(s.policy.price_of("qwen-image-2.0"), 0.20);

        let s = settings(&[
            ("TRYON_UPSTREAM", "qwen-image"),
            ("TRYON_MODEL", "qwen-image-2.0-pro"),
            ("TRYON_PROMPT_LOCALE", "en"),
            ("TRYON_PRICES_CNY", "qwen-image-2.0-pro=0.45"),
        ])
        .unwrap();
        assert_eq!(s.model, "qwen-image-2.0-pro");
        assert_eq!(s.prompt_locale, Locale::En);
        assert_eq!(s.policy.price_of("qwen-image-2.0-pro"), 0.45);
    }

    #[test]
    fn the_default_upstream_follows_the_key() {
        // No key: the embedded emulator keeps the seed's API and aitryon-plus.
        let s = settings(&[]).unwrap();
        assert_eq!(s.upstream.kind(), "dashscope-sim");
        assert_eq!(s.adapter, UpstreamKind::Aitryon);
        assert_eq!(s.adapter_choice, UpstreamChoice::EmulatorDefault);
        assert_eq!(s.model, "aitryon-plus");

        // A key and nothing else: the live successor, at its own price.
        let s = settings(&[("DASHSCOPE_API_KEY", "sk-live")]).unwrap();
        assert_eq!(s.upstream.kind(), "dashscope");
        assert_eq!(s.adapter, UpstreamKind::QwenImage);
        assert_eq!(s.adapter_choice, UpstreamChoice::KeyDefault);
        assert_eq!(s.model, "qwen-image-2.0");
        assert_eq!(s.policy.price_of("qwen-image-2.0"), 0.20);
        assert!(
            s.adapter_choice.reason().contains(AITRYON_RETIRED_ON),
            "{}",
            s.adapter_choice.reason()
        );

        // A key with a model of the successor's family picks that model.
        let s = settings(&[
            ("DASHSCOPE_API_KEY", "sk-live"),
            ("TRYON_MODEL", "qwen-image-2.0-pro"),
        ])
        .unwrap();
        assert_eq!(s.adapter, UpstreamKind::QwenImage);
        assert_eq!(s.model, "qwen-image-2.0-pro");
    }

    #[test]
    fn an_explicit_upstream_always_wins_over_the_default() {
        let s = settings(&[
            ("DASHSCOPE_API_KEY", "sk-live"),
            ("TRYON_UPSTREAM", "aitryon"),
        ])
        .unwrap();
        assert_eq!(s.adapter, UpstreamKind::Aitryon);
        assert_eq!(s.adapter_choice, UpstreamChoice::Configured);
        assert_eq!(s.model, "aitryon-plus");

        let s = settings(&[("TRYON_UPSTREAM", "qwen-image")]).unwrap();
        assert_eq!(s.upstream.kind(), "dashscope-sim");
        assert_eq!(s.adapter, UpstreamKind::QwenImage);
        assert_eq!(s.adapter_choice, UpstreamChoice::Configured);
        assert_eq!(s.model, "qwen-image-2.0");
    }

    #[test]
    fn a_key_with_an_aitryon_model_and_no_upstream_says_how_to_keep_it() {
        let err = settings(&[
            ("DASHSCOPE_API_KEY", "sk-live"),
            ("TRYON_MODEL", "aitryon-plus"),
        ])
        .unwrap_err();
        assert_eq!(err.mistakes.len(), 1, "{err}");
        assert_eq!(err.mistakes[0].variable, "TRYON_MODEL");
        let text = &err.mistakes[0].problem;
        assert!(text.contains("retired on 2026-10-10"), "{text}");
        assert!(text.contains("TRYON_UPSTREAM=aitryon"), "{text}");
    }

    #[test]
    fn a_later_successor_id_is_priced_at_its_class_not_the_dearest_model() {
        let s = settings(&[
            ("TRYON_UPSTREAM", "qwen-image"),
            ("TRYON_MODEL", "qwen-image-3.0"),
        ])
        .unwrap();
        assert_eq!(s.policy.price_of("qwen-image-3.0"), 0.20);
    }

    #[test]
    fn models_are_checked_against_the_chosen_upstream() {
        let problem = |vars: &[(&str, &str)]| {
            let err = settings(vars).unwrap_err();
            assert_eq!(err.mistakes.len(), 1, "{err}");
            (err.mistakes[0].variable, err.mistakes[0].problem.clone())
        };
        let (variable, text) = problem(&[
            ("TRYON_UPSTREAM", "qwen-image"),
            ("TRYON_MODEL", "aitryon-plus"),
        ]);
        assert_eq!(variable, "TRYON_MODEL");
        assert!(text.contains("retired on 2026-10-10"), "{text}");
        let (variable, text) = problem(&[("TRYON_MODEL", "qwen-image-2.0")]);
        assert_eq!(variable, "TRYON_MODEL");
        assert!(text.contains("TRYON_UPSTREAM=qwen-image"), "{text}");
        assert_eq!(problem(&[("TRYON_UPSTREAM", "fal")]).0, "TRYON_UPSTREAM");
        assert_eq!(
            problem(&[("TRYON_UPSTREAM", "fashn"), ("TRYON_MODEL", "tryon-v1.5")]).0,
            "TRYON_MODEL"
        );
        assert_eq!(
            problem(&[("TRYON_PROMPT_LOCALE", "fr")]).0,
            "TRYON_PROMPT_LOCALE"
        );
    }

    #[test]
    fn fashn_runs_on_the_emulator_without_its_key_and_on_fashn_with_it() {
        let s = settings(&[("TRYON_UPSTREAM", "fashn")]).unwrap();
        assert_eq!(s.upstream.kind(), "dashscope-sim");
        assert_eq!(s.adapter, UpstreamKind::Fashn);
        assert_eq!(s.model, "tryon-v1.6");
        assert_eq!(s.fashn, FashnOptions::default());
        assert!(s.fashn.return_base64);
        assert_eq!(s.fashn.mode, FashnMode::Balanced);
        assert_eq!(s.fashn.garment_photo_type, GarmentPhotoType::FlatLay);
        assert_eq!(s.policy.price_of("tryon-v1.6"), 0.54);

        // The DashScope key is not FASHN's: with it alone the emulator still serves FASHN.
        let s = settings(&[
            ("TRYON_UPSTREAM", "fashn"),
            ("DASHSCOPE_API_KEY", "sk-live"),
        ])
        .unwrap();
        assert_eq!(s.upstream.kind(), "dashscope-sim");

        let s = settings(&[
            ("TRYON_UPSTREAM", "fashn"),
            ("FASHN_API_KEY", "fa-very-secret"),
            ("TRYON_FASHN_RETURN_BASE64", "false"),
            ("TRYON_FASHN_MODE", "Quality"),
            ("TRYON_FASHN_GARMENT_PHOTO_TYPE", "model"),
            ("TRYON_FASHN_MODERATION_LEVEL", "permissive"),
            ("TRYON_FASHN_SEED", "42"),
            ("TRYON_FASHN_OUTPUT_FORMAT", "jpeg"),
            ("TRYON_FASHN_SEGMENTATION_FREE", "true"),
            ("TRYON_PRICES_CNY", "tryon-v1.6=0.30"),
        ])
        .unwrap();
        match &s.upstream {
            UpstreamSettings::Fashn { base_url, .. } => {
                assert_eq!(base_url, "https://api.fashn.ai")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.upstream.kind(), "fashn");
        assert!(s.has_key());
        assert!(!format!("{s:?}").contains("fa-very-secret"));
        assert_eq!(
            s.fashn,
            FashnOptions {
                return_base64: false,
                mode: FashnMode::Quality,
                garment_photo_type: GarmentPhotoType::Model,
                moderation_level: Some(ModerationLevel::Permissive),
                seed: Some(42),
                output_format: Some(OutputFormat::Jpeg),
                segmentation_free: Some(true),
            }
        );
        assert_eq!(s.policy.price_of("tryon-v1.6"), 0.30);
    }

    #[test]
    fn bad_fashn_values_are_reported_by_name_with_what_is_allowed() {
        let err = settings(&[
            ("TRYON_UPSTREAM", "fashn"),
            ("FASHN_API_KEY", "fa secret"),
            ("FASHN_BASE_URL", "api.fashn.ai"),
            ("TRYON_FASHN_RETURN_BASE64", "maybe"),
            ("TRYON_FASHN_MODE", "fast"),
            ("TRYON_FASHN_GARMENT_PHOTO_TYPE", "flatlay"),
            ("TRYON_FASHN_MODERATION_LEVEL", "strict"),
            ("TRYON_FASHN_SEED", "-1"),
            ("TRYON_FASHN_OUTPUT_FORMAT", "gif"),
            ("TRYON_FASHN_SEGMENTATION_FREE", "2"),
        ])
        .unwrap_err();
        let names: Vec<_> = err.mistakes.iter().map(|m| m.variable).collect();
        assert_eq!(
            names,
            vec![
                "FASHN_BASE_URL",
                "FASHN_API_KEY",
                "TRYON_FASHN_RETURN_BASE64",
                "TRYON_FASHN_MODE",
                "TRYON_FASHN_GARMENT_PHOTO_TYPE",
                "TRYON_FASHN_MODERATION_LEVEL",
                "TRYON_FASHN_OUTPUT_FORMAT",
                "TRYON_FASHN_SEED",
                "TRYON_FASHN_SEGMENTATION_FREE",
            ]
        );
        let text = err.to_string();
        assert!(
            text.contains("\"performance\", \"balanced\", \"quality\""),
            "{text}"
        );
        assert!(text.contains("\"flat-lay\""), "{text}");
        assert!(!text.contains("fa secret"), "{text}");
    }

    #[test]
    fn the_shopify_secret_is_optional_checked_and_never_shown() {
        assert!(settings(&[]).unwrap().policy.shopify_api_secret.is_none());
        let secret = "shpss_0123456789abcdef0123456789abcdef";
        let s = settings(&[("TRYON_SHOPIFY_API_SECRET", secret)]).unwrap();
        assert_eq!(
            s.policy
                .shopify_api_secret
                .as_ref()
                .map(|s| s.expose_secret().to_owned()),
            Some(secret.to_owned())
        );
        assert!(!format!("{s:?}").contains(secret));

        for (bad, problem) in [
            ("shpss_0123 456789abcdef0123456789abcdef", "spaces"),
            ("hush", "4 characters long"),
        ] {
            let err = settings(&[
                ("TRYON_SHOPIFY_API_SECRET", bad),
                ("TRYON_LISTEN", "nowhere"),
            ])
            .unwrap_err();
            let names: Vec<_> = err.mistakes.iter().map(|m| m.variable).collect();
            assert_eq!(names, vec!["TRYON_LISTEN", "TRYON_SHOPIFY_API_SECRET"]);
            let text = err.to_string();
            assert!(text.contains(problem), "{text}");
            assert!(!text.contains(bad), "{text}");
            // One line per variable, under the heading.
            assert_eq!(text.lines().count(), 3, "{text}");
        }
    }

    #[test]
    fn files_stay_in_the_data_folder_unless_a_storage_url_says_otherwise() {
        let s = settings(&[]).unwrap();
        assert!(matches!(s.storage, StorageSettings::Local { folder: None }));
        // The AWS_* variables mean nothing without an s3:// URL, whatever they hold.
        let s = settings(&[("AWS_ALLOW_HTTP", "maybe"), ("AWS_ENDPOINT_URL", "nowhere")]).unwrap();
        assert!(matches!(s.storage, StorageSettings::Local { folder: None }));

        let s = settings(&[("TRYON_STORAGE_URL", "file:///srv/tryon/files")]).unwrap();
        match &s.storage {
            StorageSettings::Local { folder } => {
                assert_eq!(
                    folder.as_deref(),
                    Some(std::path::Path::new("/srv/tryon/files"))
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_s3_url_reads_the_standard_aws_variables_and_never_shows_a_key() {
        let s = settings(&[
            ("TRYON_STORAGE_URL", "s3://tryon-photos/shop/eu/"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/"),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "AKIAVERYSECRETID"),
            ("AWS_SECRET_ACCESS_KEY", "very-secret-access-key"),
            ("AWS_SESSION_TOKEN", "very-secret-session"),
            ("AWS_DEFAULT_REGION", "eu-central-1"),
            ("AWS_ROLE_SESSION_NAME", "tryon"),
        ])
        .unwrap();
        let StorageSettings::S3(s3) = &s.storage else {
            panic!("{:?}", s.storage);
        };
        assert_eq!(s3.bucket, "tryon-photos");
        assert_eq!(s3.prefix, "shop/eu");
        assert_eq!(s3.url(), "s3://tryon-photos/shop/eu");
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s3.region.as_deref(), Some("eu-central-1"));
        assert!(s3.allow_http);
        assert_eq!(
            s3.other,
            vec![("AWS_ROLE_SESSION_NAME", "tryon".to_owned())]
        );
        assert_eq!(
            s3.secret_access_key
                .as_ref()
                .map(|k| k.expose_secret().to_owned()),
            Some("very-secret-access-key".to_owned())
        );
        let summary = s.storage.summary(&s.data_dir);
        assert!(summary.contains("s3://tryon-photos/shop/eu"), "{summary}");
        assert!(summary.contains("http://127.0.0.1:9000"), "{summary}");
        for shown in [format!("{s:?}"), summary] {
            for secret in [
                "AKIAVERYSECRETID",
                "very-secret-access-key",
                "very-secret-session",
            ] {
                assert!(!shown.contains(secret), "{shown}");
            }
        }

        // AWS_REGION wins over AWS_DEFAULT_REGION, as in AWS's own tools; a bucket alone
        // is a store on AWS S3 with the environment's own credentials.
        let s = settings(&[
            ("TRYON_STORAGE_URL", "s3://tryon-photos"),
            ("AWS_REGION", "ap-southeast-1"),
            ("AWS_DEFAULT_REGION", "eu-central-1"),
        ])
        .unwrap();
        let StorageSettings::S3(s3) = &s.storage else {
            panic!("{:?}", s.storage);
        };
        assert_eq!(s3.prefix, "");
        assert_eq!(s3.url(), "s3://tryon-photos");
        assert_eq!(s3.region.as_deref(), Some("ap-southeast-1"));
        assert_eq!(s3.endpoint, None);
        assert!(!s3.allow_http);
    }

    #[test]
    fn a_wrong_storage_url_is_reported_on_its_variable_without_its_credentials() {
        for (raw, says) in [
            ("minio://photos", "\"minio\" is not a storage scheme"),
            ("photos/prefix", "is not a URL"),
            ("s3:///prefix", "names no bucket"),
            ("s3://Shop_Photos/prefix", "is not an S3 bucket name"),
            ("s3://photos/a//b", "must be segments"),
            ("s3://photos/a b", "must be segments"),
            ("s3://photos:9000/p", "has a port, query or fragment"),
            ("s3://photos/p?region=eu", "has a port, query or fragment"),
            ("s3://AKIAID:hush-hush@photos/p", "carries credentials"),
            ("file://server/share", "is not a local folder"),
        ] {
            let err =
                settings(&[("TRYON_STORAGE_URL", raw), ("TRYON_LISTEN", "nowhere")]).unwrap_err();
            let names: Vec<_> = err.mistakes.iter().map(|m| m.variable).collect();
            assert_eq!(names, vec!["TRYON_LISTEN", "TRYON_STORAGE_URL"], "{raw}");
            let text = err.to_string();
            assert!(text.contains(says), "{raw}: {text}");
            assert!(text.contains("s3://bucket/optional/prefix") || !says.contains("scheme"));
            assert!(!text.contains("hush-hush"), "{text}");
            assert_eq!(text.lines().count(), 3, "one line per variable: {text}");
        }
    }

    #[test]
    fn wrong_aws_variables_of_an_s3_store_are_each_reported_on_their_own_line() {
        let err = settings(&[
            ("TRYON_STORAGE_URL", "s3://photos/shop"),
            ("AWS_ALLOW_HTTP", "maybe"),
            ("AWS_ENDPOINT_URL", "http://10.0.0.5:9000"),
            ("AWS_ENDPOINT", "http://10.0.0.6:9000"),
            ("AWS_REGION", "eu central"),
            ("AWS_ACCESS_KEY_ID", "AKIA SPACED"),
        ])
        .unwrap_err();
        let names: Vec<_> = err.mistakes.iter().map(|m| m.variable).collect();
        assert_eq!(
            names,
            vec![
                "AWS_ALLOW_HTTP",
                "AWS_ENDPOINT",
                "AWS_ENDPOINT_URL",
                "AWS_REGION",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY"
            ]
        );
        let text = err.to_string();
        assert!(text.contains("AWS_ALLOW_HTTP=true"), "{text}");
        assert!(text.contains("a key needs both"), "{text}");
        assert!(!text.contains("AKIA SPACED"), "{text}");
        assert_eq!(text.lines().count(), 1 + names.len(), "{text}");

        let err = settings(&[
            ("TRYON_STORAGE_URL", "s3://photos"),
            ("AWS_ENDPOINT_URL", "s3.example.com"),
            ("AWS_SECRET_ACCESS_KEY", "only-the-secret"),
        ])
        .unwrap_err();
        let names: Vec<_> = err.mistakes.iter().map(|m| m.variable).collect();
        assert_eq!(names, vec!["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID"]);
        assert!(!err.to_string().contains("only-the-secret"));
    }

    #[test]
    fn debug_output_redacts_the_key() {
        let s = settings(&[("DASHSCOPE_API_KEY", "sk-very-secret")]).unwrap();
        assert!(!format!("{s:?}").contains("sk-very-secret"));
    }
}

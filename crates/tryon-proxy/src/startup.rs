//! Building the router (`app`) and starting the whole proxy on a bound port (`spawn`), the embedded emulator included.

use std::any::Any;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use tryon_api::ErrorKind;
use tryon_api::funnel::{EVENTS_PATH, MAX_EVENTS_BODY_BYTES};
use tryon_api::generation::{AITRYON_RETIRED_ON, CAPABILITIES_PATH, UpstreamKind};
use tryon_api::proxy::{FILES_PATH, STATUS_PATH, UPLOADS_PATH};
use tryon_api::wire::{CREATE_TASK_PATH, SEGMENT_PATH, TASKS_PATH};

use crate::admission::Admission;
use crate::analytics::EventRate;
use crate::configuration::DatabaseSettings;
use crate::configuration::{Settings, UpstreamSettings};
use crate::dashboard::{self, auth::AdminKeys};
use crate::embedded::{self, EmbeddedUpstream};
use crate::error::{ApiError, fill_request_id, request_id_of};
use crate::idempotency::IDEMPOTENCY_KEY;
use crate::jobs::JobStore;
use crate::policy::{SHOPPER_HEADER, ShopperKeys};
use crate::replicas;
use crate::retention;
use crate::routes;
use crate::shopify::{self, AppProxyKey};
use crate::state::{AppState, Shared};
use crate::storage::{self, FileId, OpenError, Storage};
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{StateStore, StoreError};
use crate::upstream::{self, UpstreamClient};

/// Longest time one request may take: above the 25 s long poll and the upstream timeout.
pub const REQUEST_TIME_LIMIT: Duration = Duration::from_secs(40);

/// The proxy's router with every layer, ready to serve.
pub fn app(state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let x_shopper = HeaderName::from_static(SHOPPER_HEADER);
    // Credentials are allowed so that a cross-site widget may send the shopper cookie;
    // browsers refuse that with a literal `*`, so `*` mirrors the caller's origin instead.
    let origins = if state.policy.any_origin {
        AllowOrigin::mirror_request()
    } else {
        AllowOrigin::list(state.allowed_origins.clone())
    };
    let cors = CorsLayer::new()
        .allow_origin(origins)
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::ACCEPT_LANGUAGE,
            x_shopper.clone(),
            HeaderName::from_static(IDEMPOTENCY_KEY),
        ])
        // Retry-After is not a CORS-safelisted header: exposed, a cross-site widget can
        // read when an upload refused for the shopper's limit may succeed.
        .expose_headers([x_request_id.clone(), x_shopper, header::RETRY_AFTER])
        .max_age(Duration::from_secs(600));
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<Body>| {
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path(),
                request_id = %request_id_of(request),
            )
        })
        // One line per answered request at the default level, with its status and time.
        .on_response(DefaultOnResponse::new().level(Level::INFO));

    let app_proxy = middleware::from_fn_with_state(state.clone(), shopify::check_app_proxy);
    Router::new()
        .route(
            UPLOADS_PATH,
            post(routes::upload).layer(DefaultBodyLimit::max(routes::MAX_UPLOAD_BYTES)),
        )
        .route(
            &format!("{UPLOADS_PATH}/{{id}}"),
            get(routes::stored_upload).delete(routes::delete_upload),
        )
        .route(&format!("{FILES_PATH}/{{id}}"), get(routes::serve_file))
        .route(CREATE_TASK_PATH, post(routes::create_task))
        .route(SEGMENT_PATH, post(routes::segment))
        .route(routes::SHOPPER_PATH, delete(routes::delete_shopper))
        .route(&format!("{TASKS_PATH}/{{job_id}}"), get(routes::get_task))
        .route(
            &format!("{TASKS_PATH}/{{job_id}}/cancel"),
            post(routes::cancel_task),
        )
        .route(
            EVENTS_PATH,
            post(routes::post_events).layer(DefaultBodyLimit::max(MAX_EVENTS_BODY_BYTES)),
        )
        .route(STATUS_PATH, get(routes::shop_status))
        .route(CAPABILITIES_PATH, get(routes::capabilities))
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/metrics", get(routes::metrics))
        .merge(dashboard::routes(&state))
        .fallback(routes::route_not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        // Layers run outside-in from the last one added: request id, trace, CORS, error
        // bodies, panic catcher, time limit, the app proxy signature check, handler.
        .layer(app_proxy)
        .layer(middleware::from_fn(time_limit))
        .layer(CatchPanicLayer::custom(|_panic: Box<dyn Any + Send>| {
            ApiError::internal("a handler panicked").into_response()
        }))
        .layer(middleware::from_fn(fill_request_id))
        .layer(cors)
        // Outside the CORS layer, so that it can take CORS off the dashboard's answers.
        .layer(middleware::from_fn(dashboard::without_cors))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(trace)
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(state)
}

/// Ends a request that takes longer than [`REQUEST_TIME_LIMIT`] with an error body.
async fn time_limit(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIME_LIMIT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(ErrorKind::RequestTimeout).into_response(),
    }
}

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("could not listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("could not use the data folder {path}: {source}")]
    DataDir { path: String, source: io::Error },
    #[error("could not open the file store: {0}")]
    Storage(OpenError),
    #[error("could not open the job database ({path}): {source}")]
    Jobs { path: String, source: StoreError },
    #[error("could not read or create the shopper secret {path}: {source}")]
    Secret { path: String, source: io::Error },
    #[error("could not start the embedded DashScope emulator: {0}")]
    Emulator(io::Error),
    #[error("could not build the HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("TRYON_MODEL: {0}")]
    Model(String),
}

/// A proxy serving in the background.
pub struct RunningProxy {
    /// The bound address (the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// How the upstream and browsers reach the files hosted here.
    pub public_base_url: String,
    /// `dashscope`, `fashn` or `dashscope-sim`.
    pub upstream_kind: &'static str,
    /// The adapter in use (`TRYON_UPSTREAM`).
    pub adapter: UpstreamKind,
    pub model: String,
    /// The upstream's base URL (the emulator's loopback address when embedded).
    pub upstream_base_url: String,
    pub state: AppState,
    server: JoinHandle<io::Result<()>>,
    // Kept so that the emulator lives exactly as long as the proxy.
    _embedded: Option<EmbeddedUpstream>,
}

impl RunningProxy {
    /// Waits until the server has shut down (after the shutdown future given to [`spawn`]).
    pub async fn wait(self) -> io::Result<()> {
        self.server.await.map_err(io::Error::other)?
    }
}

/// Asks the store for a file that does not exist, so that a store that cannot be
/// reached or refuses the credentials is named in the log at start. It writes nothing
/// (the readiness probe does) and holds nothing up: the proxy starts either way, and
/// Opens the state store the settings name: the SQLite file in the data folder, or the
/// shop's PostgreSQL, whose schema is brought up to date first. A database that cannot be
/// reached stops the start with its reason (and no password): a replica without its
/// state could answer nothing right.
async fn open_store(settings: &Settings) -> Result<Arc<dyn StateStore>, StartupError> {
    let opened: Result<Arc<dyn StateStore>, StoreError> = match &settings.database {
        DatabaseSettings::Sqlite => SqliteStore::open(
            &settings.data_dir.join("jobs.sqlite3"),
            settings.clock.clone(),
        )
        .map(|store| Arc::new(store) as Arc<dyn StateStore>),
        DatabaseSettings::Postgres(url) => PgStore::connect(url, settings.clock.clone())
            .await
            .map(|store| Arc::new(store) as Arc<dyn StateStore>),
    };
    opened.map_err(|source| StartupError::Jobs {
        path: settings.database.summary(&settings.data_dir),
        source,
    })
}

/// `/readyz` answers 503 until the store works.
async fn check_store_at_start(storage: Arc<dyn Storage>) {
    match storage.get(&FileId::random()).await {
        Ok(_) => tracing::debug!(store = %storage.describe(), "the file store answers"),
        Err(err) => tracing::error!(
            store = %storage.describe(),
            error = %err,
            "the file store cannot be reached; uploads answer 503 and /readyz fails until it can"
        ),
    }
}

/// Binds, starts the upstream (the embedded emulator when no key is set) and serves in a
/// background task until `shutdown` completes. Port 0 picks a free port, so tests run
/// side by side.
pub async fn spawn(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<RunningProxy, StartupError> {
    let listener =
        TcpListener::bind(settings.listen)
            .await
            .map_err(|source| StartupError::Bind {
                addr: settings.listen,
                source,
            })?;
    let addr = listener.local_addr().map_err(|source| StartupError::Bind {
        addr: settings.listen,
        source,
    })?;
    let public_base_url = settings.public_base_url.clone().unwrap_or_else(|| {
        // An unspecified address (0.0.0.0) cannot be dialled everywhere; loopback can.
        let host = if addr.ip().is_unspecified() {
            SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
        } else {
            addr
        };
        format!("http://{host}")
    });

    // The data folder holds the job database and the shopper secret whichever store
    // keeps the files.
    tokio::fs::create_dir_all(&settings.data_dir)
        .await
        .map_err(|source| StartupError::DataDir {
            path: settings.data_dir.display().to_string(),
            source,
        })?;
    let storage = storage::open(&settings.storage, &settings.data_dir)
        .await
        .map_err(StartupError::Storage)?;
    tracing::info!(
        "files are kept in {}",
        settings.storage.summary(&settings.data_dir)
    );
    tokio::spawn(check_store_at_start(storage.clone()));

    let store = open_store(&settings).await?;
    let shared = store.is_shared();
    tracing::info!("jobs, bills and counts are kept in {}", store.describe());
    let (jobs, restored) = {
        let stored = store
            .load_jobs()
            .await
            .map_err(|source| StartupError::Jobs {
                path: store.describe(),
                source,
            })?;
        let keys = store
            .load_keys()
            .await
            .map_err(|source| StartupError::Jobs {
                path: store.describe(),
                source,
            })?;
        JobStore::with_db(store.clone(), stored, keys)
    };

    let shopper_secret = match &settings.policy.shopper_secret {
        Some(secret) => secret.clone(),
        None => load_or_create_secret(&settings.data_dir.join("shopper-secret"))
            .await
            .map_err(|source| StartupError::Secret {
                path: settings
                    .data_dir
                    .join("shopper-secret")
                    .display()
                    .to_string(),
                source,
            })?,
    };

    tracing::info!(
        "try-on upstream chosen: {} with {} ({})",
        settings.adapter.as_str(),
        settings.model,
        settings.adapter_choice.reason()
    );
    let (base_url, api_key, time_scale, embedded): (String, SecretString, f64, _) =
        match &settings.upstream {
            UpstreamSettings::DashScope { base_url, api_key }
            | UpstreamSettings::Fashn { base_url, api_key } => {
                explain_photo_delivery(&settings, &public_base_url, base_url);
                (base_url.clone(), api_key.clone(), 1.0, None)
            }
            UpstreamSettings::Embedded { time_scale } => {
                let sim = embedded::start(*time_scale, settings.clock.clone())
                    .await
                    .map_err(StartupError::Emulator)?;
                let missing = if settings.adapter == UpstreamKind::Fashn {
                    "FASHN_API_KEY is not set: using the OFFLINE emulator's FASHN endpoints."
                } else {
                    "DASHSCOPE_API_KEY is not set: using the OFFLINE DashScope emulator."
                };
                tracing::warn!(
                    emulator = %sim.base_url,
                    "{missing} Results are drawn previews, not real try-ons."
                );
                (
                    sim.base_url.clone(),
                    sim.api_key.clone(),
                    *time_scale,
                    Some(sim),
                )
            }
        };
    let upstream = UpstreamClient::new(base_url.clone(), api_key).map_err(StartupError::Client)?;
    let adapter = upstream::build_adapter(
        settings.adapter,
        &settings.model,
        upstream.clone(),
        settings.prompt_locale,
        settings.policy.price_of(&settings.model),
        &settings.fashn,
        settings.clock.clone(),
    )
    .map_err(StartupError::Model)?;
    if settings.policy.shopify_api_secret.is_some() {
        tracing::info!(
            "Shopify app proxy: requests signed by Shopify are verified with TRYON_SHOPIFY_API_SECRET \
             and their logged-in customers recognised; unsigned requests keep the usual rules"
        );
    }
    if settings.adapter == UpstreamKind::Aitryon && embedded.is_none() {
        tracing::warn!(
            "TRYON_UPSTREAM=aitryon with a DashScope key: DashScope retired the aitryon models on \
             {AITRYON_RETIRED_ON}; unset TRYON_UPSTREAM (or set it to qwen-image) for a live shop"
        );
    }

    let (stop_sender, stop_receiver) = watch::channel(false);
    let state = AppState::new(Shared {
        model: settings.model.clone(),
        prompt_locale: settings.prompt_locale,
        fashn: settings.fashn.clone(),
        upstream_kind: settings.upstream.kind(),
        public_base_url: public_base_url.clone(),
        allowed_origins: settings.allowed_origins.clone(),
        policy: settings.policy.clone(),
        shopper_keys: ShopperKeys::new(shopper_secret),
        app_proxy: settings
            .policy
            .shopify_api_secret
            .clone()
            .map(AppProxyKey::new),
        store,
        event_rate: EventRate::new(settings.dashboard.events_per_minute),
        admin: settings.dashboard.admin_token.clone().map(AdminKeys::new),
        admission_gate: tokio::sync::Mutex::new(()),
        key_locks: Default::default(),
        retention: settings.retention,
        last_probe: std::sync::Mutex::new(None),
        long_polls: std::sync::atomic::AtomicUsize::new(0),
        resubmissions: std::sync::atomic::AtomicU64::new(0),
        upstream,
        storage,
        jobs,
        admission: Admission::new(
            settings.admission,
            adapter.max_running(),
            adapter.submission_rate(),
            settings.clock.clone(),
        ),
        adapter,
        time_scale,
        clock: settings.clock.clone(),
        shutdown: stop_receiver,
        // Alone on its store, this process dispatches from the start; with several
        // replicas, the lease decides (see `replicas::start`).
        dispatch_term: watch::Sender::new(u64::from(!shared)),
        replica_id: uuid::Uuid::new_v4().to_string(),
    });
    if state.admin.is_some() {
        tracing::info!(
            "the shop's dashboard is on at {public_base_url}/admin/ (TRYON_ADMIN_TOKEN)"
        );
    }
    tokio::spawn(retention::run_sweeper(state.clone()));
    replicas::start(&state, restored).await;
    let router = app(state.clone());
    let server = tokio::spawn(async move {
        // The peer address is the shopper's identity of last resort (no token sent).
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Long polls end at once instead of holding the shutdown for 25 s.
            let _ = stop_sender.send(true);
        })
        .await
    });

    Ok(RunningProxy {
        addr,
        public_base_url,
        upstream_kind: settings.upstream.kind(),
        adapter: settings.adapter,
        model: settings.model,
        upstream_base_url: base_url,
        state,
        server,
        _embedded: embedded,
    })
}

/// Says at start how the shopper's photos will reach a keyed upstream at `base_url`
/// when the proxy's file URLs name a host only this machine can dial. `aitryon` has
/// DashScope download them by URL, so it cannot work and the shop is told which variable
/// to set; `qwen-image` sends them inline, so only browsers use those URLs.
fn explain_photo_delivery(settings: &Settings, public_base_url: &str, base_url: &str) {
    // An upstream on this host (a local emulator) can dial loopback; DashScope cannot.
    if !is_local_only_url(public_base_url) || is_local_only_url(base_url) {
        return;
    }
    match settings.adapter {
        UpstreamKind::Aitryon => {
            let configured = if settings.public_base_url.is_some() {
                "TRYON_PUBLIC_BASE_URL is"
            } else {
                "TRYON_PUBLIC_BASE_URL is unset, so the photo URLs use the listen address, which is"
            };
            tracing::warn!(
                %public_base_url,
                "TRYON_UPSTREAM=aitryon: DashScope downloads the shopper's photos from this \
                 proxy's URLs and cannot reach them: {configured} a loopback or unspecified \
                 address, so DashScope will refuse every try-on. Set TRYON_PUBLIC_BASE_URL to \
                 the public https URL of this proxy, or unset TRYON_UPSTREAM to use qwen-image, \
                 which needs none"
            );
        }
        UpstreamKind::QwenImage => {
            tracing::info!(
                %public_base_url,
                "the shopper's photos are sent to DashScope inline as data URLs, so it needs no \
                 public URL of this proxy; browsers load photos and results from \
                 TRYON_PUBLIC_BASE_URL, which is a loopback address here"
            );
        }
        UpstreamKind::Fashn => {
            tracing::info!(
                %public_base_url,
                "the shopper's photos (and garments uploaded here) are sent to FASHN inline as \
                 data URLs, so it needs no public URL of this proxy; browsers load photos and \
                 results from TRYON_PUBLIC_BASE_URL, which is a loopback address here"
            );
        }
    }
}

/// The secret that signs shopper tokens: read from `path`, or made and written there on
/// first start, so that tokens stay valid across restarts without any configuration.
async fn load_or_create_secret(path: &std::path::Path) -> io::Result<SecretString> {
    match tokio::fs::read_to_string(path).await {
        Ok(secret) if secret.trim().len() >= 32 => Ok(SecretString::from(secret.trim().to_owned())),
        Ok(_) | Err(_) => {
            let secret = format!(
                "{:032x}{:032x}",
                rand::random::<u128>(),
                rand::random::<u128>()
            );
            tokio::fs::write(path, &secret).await?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                tokio::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).await?;
            }
            Ok(SecretString::from(secret))
        }
    }
}

/// Whether `url` names a host only this machine can dial: loopback, or the unspecified
/// address (`0.0.0.0`, `[::]`), which is a listening wildcard and no address at all for
/// a caller elsewhere.
fn is_local_only_url(url: &str) -> bool {
    let rest = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .to_ascii_lowercase();
    let host = match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => rest.split([':', '/']).next().unwrap_or_default(),
    };
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_unspecified_hosts_are_local_only() {
        for url in [
            "http://127.0.0.1:8787",
            "http://127.1.2.3",
            "http://localhost:8787/",
            "http://LOCALHOST",
            "http://[::1]:8787",
            "http://0.0.0.0:8787",
            "http://[::]:8787",
        ] {
            assert!(is_local_only_url(url), "{url}");
        }
        for url in [
            "https://tryon.shop.example",
            "http://10.0.0.5:8787",
            "http://127.example.com",
            "https://dashscope.aliyuncs.com",
        ] {
            assert!(!is_local_only_url(url), "{url}");
        }
    }
}

//! The shared state every handler and poll loop sees: upstream client, storage, jobs and the few settings they need.

use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use tokio::sync::watch;
use tryon_api::Locale;
use tryon_clock::Clock;

use crate::admission::Admission;
use crate::analytics::EventRate;
use crate::dashboard::auth::AdminKeys;
use crate::idempotency::KeyLocks;
use crate::jobs::{self, JobStore};
use crate::policy::{PolicySettings, ShopperKeys};
use crate::shopify::AppProxyKey;
use crate::storage::{FileId, Storage};
use crate::store::StateStore;
use crate::upstream::{Adapter, UpstreamClient};

/// Cheap to clone: everything lives behind one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The contents of [`AppState`].
pub struct Shared {
    /// The model every new job is sent with: the current adapter's.
    pub model: String,
    /// The current upstream adapter: new jobs are submitted through it, and it says what
    /// the widget may offer. Jobs sent before a switch are followed by their own adapter.
    pub adapter: Arc<dyn Adapter>,
    /// The prompt language of translating adapters (`TRYON_PROMPT_LOCALE`).
    pub prompt_locale: Locale,
    /// What FASHN predictions are sent with (`TRYON_FASHN_*`), for an adapter built for a
    /// job after a switch.
    pub fashn: crate::upstream::FashnOptions,
    /// `dashscope`, `fashn` or `dashscope-sim`, for the status call and the logs.
    pub upstream_kind: &'static str,
    /// How the upstream and browsers reach files hosted here, without a trailing slash.
    pub public_base_url: String,
    /// Browser origins allowed by CORS and for paid calls.
    pub allowed_origins: Vec<HeaderValue>,
    /// The shop's rules for paid calls.
    pub policy: PolicySettings,
    /// Signs shopper tokens.
    pub shopper_keys: ShopperKeys,
    /// Checks the signatures of the shop's Shopify app proxy (`TRYON_SHOPIFY_API_SECRET`);
    /// without it, signed requests are treated as unsigned.
    pub app_proxy: Option<AppProxyKey>,
    /// Everything remembered: jobs and keys, spend, daily counts, the index of hosted
    /// files, the dashboard's job rows and the widget's funnel events (SQLite in the data
    /// folder, or the shop's PostgreSQL).
    pub store: Arc<dyn StateStore>,
    /// The funnel events each shopper may still send this minute.
    pub event_rate: EventRate,
    /// The admin token's keys (`TRYON_ADMIN_TOKEN`); `None` turns the dashboard off.
    pub admin: Option<AdminKeys>,
    /// Held while a paid call is checked against the caps and counted, so that
    /// concurrent calls cannot all take the last one.
    pub admission_gate: tokio::sync::Mutex<()>,
    /// One lock per idempotency key in use, so that repeats of one create run one at a time.
    pub key_locks: KeyLocks,
    /// How long files and jobs are kept.
    pub retention: Duration,
    /// The last upstream readiness probe, reused for a few seconds so that frequent
    /// readiness checks do not turn into upstream traffic.
    pub last_probe: Mutex<Option<(Instant, Result<(), String>)>>,
    /// The upstream client every adapter shares (and segmentation uses directly): DashScope's
    /// host and key, or FASHN's under `TRYON_UPSTREAM=fashn`.
    pub upstream: UpstreamClient,
    pub storage: Arc<dyn Storage>,
    pub jobs: JobStore,
    pub admission: Admission,
    /// The emulator's time scale, applied to the poll schedule; 1.0 against the real service.
    pub time_scale: f64,
    /// The one clock every schedule, deadline, rate window, retention age and billing day
    /// reads: real time, or a test's manual clock.
    pub clock: Clock,
    /// Long polls waiting now, for the metrics.
    pub long_polls: std::sync::atomic::AtomicUsize,
    /// Jobs submitted once more after a transient task failure, since start.
    pub resubmissions: std::sync::atomic::AtomicU64,
    /// Turns true when the proxy shuts down, so that long polls end at once.
    pub shutdown: watch::Receiver<bool>,
    /// While this process dispatches (it alone sends jobs upstream and follows them
    /// there), the number of its term; 0 while it does not. Always term 1 on a store no
    /// other process shares; with several replicas, a new term each time this one takes
    /// the dispatcher lease (see [`crate::replicas`]). The loops of a term stop when it
    /// ends, even if the next one follows at once.
    pub dispatch_term: watch::Sender<u64>,
    /// This process's name among the replicas of the shop, for the lease and the logs.
    pub replica_id: String,
}

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }

    /// Whether this process dispatches now.
    pub fn is_dispatching(&self) -> bool {
        *self.dispatch_term.borrow() != 0
    }

    /// The current dispatch term (0: not dispatching).
    pub fn current_term(&self) -> u64 {
        *self.dispatch_term.borrow()
    }

    /// Waits until dispatch term `term` is over (at once for term 0).
    pub async fn until_term_ends(&self, term: u64) {
        let mut terms = self.dispatch_term.subscribe();
        let _ = terms
            .wait_for(|current| term == 0 || *current != term)
            .await;
    }

    /// The public URL of a stored file.
    pub fn file_url(&self, id: &FileId) -> String {
        jobs::file_url(&self.public_base_url, id)
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

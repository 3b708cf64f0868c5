//! The emulator's configuration: accepted API keys, the time scale, account limits, the account's standing and injected faults.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tryon_api::ErrorKind;
use tryon_clock::Clock;

/// The FASHN credits an account starts with unless told otherwise.
pub const DEFAULT_FASHN_CREDITS: u64 = 1_000_000;

/// The API key the emulator accepts when none is configured.
pub const DEFAULT_API_KEY: &str = "sk-sim-local";

/// How the emulator behaves. Build it with [`SimConfig::default`] and change fields.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Bearer keys that are accepted; any other key answers 401 `InvalidApiKey`.
    pub api_keys: Vec<String>,
    /// Multiplies every simulated duration (task phases and the 24 h expiry):
    /// 1.0 is real time (about 20 s per task), 0.05 finishes a task in about 1 s.
    pub time_scale: f64,
    /// The base URL that result links start with. `None` uses the listening address
    /// (with `127.0.0.1` in place of an unspecified address such as `0.0.0.0`).
    pub public_base_url: Option<String>,
    /// Create calls allowed within any one second before 429 `Throttling.RateQuota`
    /// (the documented RPS limit is 10). Segmentation calls have their own window of the
    /// same size. Zero disables the limit.
    pub max_creates_per_second: u32,
    /// Query, list and cancel calls allowed together within any one second before 429
    /// `Throttling.RateQuota` (the documented limit is 20 QPS, shared by the three).
    /// Zero disables the limit, for clients that compress their poll schedule by the
    /// time scale and so poll far more often than real time.
    pub max_queries_per_second: u32,
    /// Tasks that may be past PENDING at once (the documented limit is 5); the rest wait.
    pub max_running_tasks: usize,
    /// How long one input download may take before the task fails with the
    /// `DownloadTimeout` entry. It is real time: network time is not simulated.
    pub download_timeout: Duration,
    /// Faults to inject from the start; the admin endpoint can change them later.
    pub faults: Faults,
    /// The account's standing from the start; the admin endpoint can change it later.
    pub account: Account,
    /// FASHN predictions that may be accepted and not yet ended at once before `/v1/run`
    /// answers 429 `ConcurrencyLimitExceeded` (the documented default is 6).
    pub fashn_concurrency: usize,
    /// What every task phase, expiry, time limit and rate window is measured on: real
    /// time by default; a test hands in a [`tryon_clock::ManualClock`]'s clock to move
    /// time itself instead of waiting for it.
    pub clock: Clock,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            api_keys: vec![DEFAULT_API_KEY.to_owned()],
            time_scale: 1.0,
            public_base_url: None,
            max_creates_per_second: 10,
            max_queries_per_second: 20,
            max_running_tasks: 5,
            download_timeout: Duration::from_secs(10),
            faults: Faults::default(),
            account: Account::default(),
            fashn_concurrency: tryon_api::fashn::DEFAULT_CONCURRENCY,
            clock: Clock::system(),
        }
    }
}

/// Injected misbehaviour, for testing clients against a flaky upstream. Shares are
/// probabilities from 0.0 to 1.0, drawn independently for each call or task.
///
/// `POST /sim/admin/faults` replaces the whole set: fields left out become zero or unset.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Extra real-time delay, in milliseconds, before every API answer.
    pub latency_ms: u64,
    /// Share of API calls (create, query, list, cancel, segmentation) answered with a
    /// server error before anything else is checked.
    pub error_share: f64,
    /// The catalogue code of those server errors, one of [`Faults::SERVER_CODES`]. Unset
    /// picks `InternalError`, `ModelServingError` or `ModelUnavailable` evenly.
    pub error_code: Option<String>,
    /// Share of API calls answered with a 429.
    pub throttle_share: f64,
    /// The catalogue code of those 429 answers, one of [`Faults::THROTTLE_CODES`];
    /// unset means `Throttling`.
    pub throttle_code: Option<String>,
    /// Share of accepted tasks that end FAILED instead of producing a result.
    pub task_failure_share: f64,
    /// The catalogue code those tasks fail with, one of [`Faults::TASK_FAILURE_CODES`];
    /// unset means `InternalError`.
    pub task_failure_code: Option<String>,
    /// When non-zero, the RUNNING phase of tasks created from now on lasts this many
    /// milliseconds at time scale 1.0 (scaled like every phase) instead of 13 s. A task
    /// not done 3 h (scaled) after its creation fails with `InternalError.Timeout`, as
    /// the service does.
    pub task_duration_ms: u64,
    /// The FASHN runtime error name that predictions picked by `task_failure_share` fail
    /// with, one of [`Faults::FASHN_FAILURE_NAMES`]. Unset follows `task_failure_code`:
    /// `DataInspectionFailed` becomes `ContentModerationError`, any other code
    /// `PipelineError`.
    pub fashn_failure_name: Option<String>,
}

impl Faults {
    /// Codes `error_code` accepts: the documented server-side failures.
    pub const SERVER_CODES: &'static [&'static str] = &[
        "InternalError",
        "InternalError.Timeout",
        "ModelServingError",
        "ModelUnavailable",
    ];
    /// Codes `throttle_code` accepts: every documented 429.
    pub const THROTTLE_CODES: &'static [&'static str] = &[
        "Throttling",
        "Throttling.RateQuota",
        "Throttling.BurstRate",
        "Throttling.AllocationQuota",
    ];
    /// Codes `task_failure_code` accepts: failures a task can end with although its
    /// inputs were fine.
    pub const TASK_FAILURE_CODES: &'static [&'static str] = &[
        "InternalError",
        "InternalError.Timeout",
        "ModelServingError",
        "DataInspectionFailed",
    ];

    /// Names `fashn_failure_name` accepts: FASHN's runtime errors of a try-on prediction
    /// (`PollingTimeout` is the SDK's own and never sent by the service).
    pub const FASHN_FAILURE_NAMES: &'static [&'static str] = &[
        "PipelineError",
        "ThirdPartyError",
        "3rdPartyProviderError",
        "InternalServerError",
        "ContentModerationError",
        "ImageLoadError",
        "PoseError",
    ];

    /// Whether every share is a probability and every code is one its field accepts.
    pub fn is_valid(&self) -> bool {
        self.validate().is_ok()
    }

    /// Like [`Faults::is_valid`], with the reason for a refusal.
    pub fn validate(&self) -> Result<(), String> {
        for (name, share) in [
            ("error_share", self.error_share),
            ("throttle_share", self.throttle_share),
            ("task_failure_share", self.task_failure_share),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(format!("{name} must be between 0 and 1, not {share}"));
            }
        }
        for (name, code, allowed) in [
            ("error_code", &self.error_code, Self::SERVER_CODES),
            ("throttle_code", &self.throttle_code, Self::THROTTLE_CODES),
            (
                "task_failure_code",
                &self.task_failure_code,
                Self::TASK_FAILURE_CODES,
            ),
            (
                "fashn_failure_name",
                &self.fashn_failure_name,
                Self::FASHN_FAILURE_NAMES,
            ),
        ] {
            if let Some(code) = code
                && !allowed.contains(&code.as_str())
            {
                return Err(format!("{name} must be one of {allowed:?}, not {code:?}"));
            }
        }
        Ok(())
    }

    /// The catalogue entry of the configured server-error code, if one is set.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        self.error_code.as_deref().and_then(kind_of)
    }

    /// The catalogue entry of injected 429 answers.
    pub fn throttle_kind(&self) -> ErrorKind {
        self.throttle_code
            .as_deref()
            .and_then(kind_of)
            .unwrap_or(ErrorKind::Throttling)
    }

    /// The catalogue entry injected task failures end with.
    pub fn task_failure_kind(&self) -> ErrorKind {
        self.task_failure_code
            .as_deref()
            .and_then(kind_of)
            .unwrap_or(ErrorKind::InternalError)
    }
}

impl Faults {
    /// The FASHN runtime error name injected prediction failures end with.
    pub fn fashn_failure_name(&self) -> &str {
        match (&self.fashn_failure_name, self.task_failure_code.as_deref()) {
            (Some(name), _) => name,
            (None, Some("DataInspectionFailed")) => "ContentModerationError",
            (None, _) => "PipelineError",
        }
    }
}

/// The first catalogue entry with this wire code (the codes faults accept have one each).
fn kind_of(code: &str) -> Option<ErrorKind> {
    ErrorKind::ALL
        .iter()
        .copied()
        .find(|kind| kind.code() == code)
}

/// The standing of the emulated account, which decides the account-level refusals of
/// billed calls (create and segmentation; queries, lists and cancels stay possible, so a
/// client can still collect what it already paid for).
///
/// `POST /sim/admin/account` replaces the whole set: fields left out take their default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Account {
    /// The account owes money: billed calls answer 400 `Arrearage`.
    pub in_arrears: bool,
    /// The console's "use free tier only" switch. With it on and `free_images_left` at
    /// zero, billed calls answer 403 `AllocationQuota.FreeTierOnly`.
    pub free_tier_only: bool,
    /// Free images left (the documented quota is 400). Each SUCCEEDED task and each
    /// successful segmentation uses one. The real service counts per model; the emulator
    /// keeps one counter for the account, which is enough to reach the refusal.
    pub free_images_left: u32,
    /// Models the account has not bought: billed calls to them answer 403
    /// `AccessDenied.Unpurchased`.
    pub unpurchased_models: Vec<String>,
    /// Models marked unavailable: billed calls to them answer 503 `ModelUnavailable`.
    pub unavailable_models: Vec<String>,
    /// FASHN credits left. Each image of a completed prediction uses one; with fewer left
    /// than a run asks for, `/v1/run` answers 429 `OutOfCredits`. The default is large
    /// enough never to run out by accident.
    pub fashn_credits_left: u64,
}

impl Default for Account {
    fn default() -> Self {
        Account {
            in_arrears: false,
            free_tier_only: false,
            free_images_left: 400,
            unpurchased_models: Vec::new(),
            unavailable_models: Vec::new(),
            fashn_credits_left: DEFAULT_FASHN_CREDITS,
        }
    }
}

impl Account {
    /// The refusal a billed call to `model` gets from this account, in the order the
    /// checks apply: standing first, then the model's availability to this account.
    pub fn refusal(&self, model: &str) -> Option<ErrorKind> {
        let listed = |models: &[String]| models.iter().any(|m| m == model);
        if self.in_arrears {
            Some(ErrorKind::Arrearage)
        } else if listed(&self.unpurchased_models) {
            Some(ErrorKind::AccessDeniedUnpurchased)
        } else if self.free_tier_only && self.free_images_left == 0 {
            Some(ErrorKind::FreeTierOnly)
        } else if listed(&self.unavailable_models) {
            Some(ErrorKind::ModelUnavailable)
        } else {
            None
        }
    }
}

impl SimConfig {
    /// A real-time duration scaled by [`SimConfig::time_scale`]. A zero, negative or NaN
    /// scale gives zero; the result is capped at one year so that adding it to an
    /// `Instant` cannot overflow.
    pub fn scaled(&self, real: Duration) -> Duration {
        const CAP: Duration = Duration::from_secs(365 * 24 * 60 * 60);
        let scale = if self.time_scale.is_nan() {
            0.0
        } else {
            self.time_scale.max(0.0)
        };
        Duration::try_from_secs_f64(real.as_secs_f64() * scale)
            .unwrap_or(CAP)
            .min(CAP)
    }

    /// A real-time lifetime scaled like [`SimConfig::expiry`]: with a scale of zero
    /// nothing expires.
    pub fn lifetime(&self, real: Duration) -> Duration {
        if self.time_scale > 0.0 {
            self.scaled(real)
        } else {
            Duration::MAX
        }
    }

    /// How long tasks and result files live: 24 h, scaled. With a scale of zero (every
    /// phase instant) nothing expires, since everything would otherwise vanish at once.
    pub fn expiry(&self) -> Duration {
        if self.time_scale > 0.0 {
            self.scaled(Duration::from_secs(24 * 60 * 60))
        } else {
            Duration::MAX
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_never_panics_and_zero_never_expires() {
        let at = |time_scale| SimConfig {
            time_scale,
            ..SimConfig::default()
        };
        let day = Duration::from_secs(86_400);
        assert_eq!(
            at(0.5).scaled(Duration::from_secs(20)),
            Duration::from_secs(10)
        );
        assert_eq!(at(f64::NAN).scaled(day), Duration::ZERO);
        assert_eq!(
            at(f64::INFINITY).scaled(day),
            Duration::from_secs(365 * 86_400)
        );
        assert_eq!(at(0.0).expiry(), Duration::MAX);
        assert_eq!(at(1.0).expiry(), day);
    }

    #[test]
    fn fault_codes_must_fit_their_field() {
        let throttle = |code: &str| Faults {
            throttle_code: Some(code.to_owned()),
            ..Faults::default()
        };
        assert!(throttle("Throttling.BurstRate").is_valid());
        assert_eq!(
            throttle("Throttling.BurstRate").throttle_kind(),
            ErrorKind::ThrottlingBurstRate
        );
        assert!(!throttle("InternalError").is_valid());
        let server = Faults {
            error_code: Some("ModelServingError".into()),
            ..Faults::default()
        };
        assert_eq!(server.error_kind(), Some(ErrorKind::ModelServingError));
        assert_eq!(
            Faults::default().task_failure_kind(),
            ErrorKind::InternalError
        );
        assert!(Faults::default().validate().is_ok());
        assert_eq!(Faults::default().fashn_failure_name(), "PipelineError");
        let moderated = Faults {
            task_failure_code: Some("DataInspectionFailed".into()),
            ..Faults::default()
        };
        assert_eq!(moderated.fashn_failure_name(), "ContentModerationError");
        let named = |name: &str| Faults {
            fashn_failure_name: Some(name.to_owned()),
            ..Faults::default()
        };
        assert_eq!(named("PoseError").fashn_failure_name(), "PoseError");
        assert!(named("3rdPartyProviderError").is_valid());
        assert!(!named("PollingTimeout").is_valid());
    }

    #[test]
    fn account_refusals_apply_in_order() {
        let mut account = Account::default();
        assert_eq!(account.refusal("aitryon-plus"), None);
        account.unavailable_models = vec!["aitryon-plus".into()];
        assert_eq!(
            account.refusal("aitryon-plus"),
            Some(ErrorKind::ModelUnavailable)
        );
        assert_eq!(account.refusal("aitryon"), None);
        account.free_tier_only = true;
        assert_eq!(
            account.refusal("aitryon-plus"),
            Some(ErrorKind::ModelUnavailable),
            "free images are left"
        );
        account.free_images_left = 0;
        assert_eq!(account.refusal("aitryon"), Some(ErrorKind::FreeTierOnly));
        account.unpurchased_models = vec!["aitryon".into()];
        assert_eq!(
            account.refusal("aitryon"),
            Some(ErrorKind::AccessDeniedUnpurchased)
        );
        account.in_arrears = true;
        assert_eq!(account.refusal("aitryon"), Some(ErrorKind::Arrearage));
    }
}

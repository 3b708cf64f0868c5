//! The `dashscope-sim` command: runs the offline DashScope (and FASHN) emulator until Ctrl-C.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use dashscope_sim::{Account, DEFAULT_API_KEY, Faults, SimConfig};
use tracing_subscriber::EnvFilter;

/// Shown after the flags: the endpoints, the deterministic rules and the admin calls, so
/// that `--help` alone is enough to drive every documented behaviour.
const AFTER_HELP: &str = "\
ENDPOINTS (all but /results and /healthz need `Authorization: Bearer <key>`, admin too):
  POST /api/v1/services/aigc/image2image/image-synthesis   create a try-on task
       (models aitryon-plus, aitryon, aitryon-refiner; header X-DashScope-Async: enable)
  GET  /api/v1/tasks/{task_id}                             query a task
  POST /api/v1/tasks/{task_id}/cancel                      cancel a PENDING task
  GET  /api/v1/tasks/?start_time=&end_time=&model_name=&status=&page_no=&page_size=
                                                           list tasks (times YYYYMMDDhhmmss, UTC)
  POST /api/v1/services/vision/image-process/process       segmentation (aitryon-parsing-v1)
  POST /api/v1/services/aigc/multimodal-generation/generation
                                                           synchronous multi-image editing, the
                                                           successor (qwen-image-2.0[-pro] and later;
                                                           2/s, -pro 2/min; rules in src/generation.rs)
  POST /v1/run                                             FASHN: start a tryon-v1.6 prediction
                                                           ({\"model_name\":\"tryon-v1.6\",\"inputs\":{...}})
  GET  /v1/status/{id}                                     FASHN: a prediction's status and output
                                                           (starting, in_queue, processing,
                                                           completed, failed; rules in src/fashn.rs)
  GET  /results/{file}?Expires=<unix seconds>              produced images, until they expire
  GET|POST /sim/admin/faults    show | replace injected faults (JSON; fields as the flags,
                                e.g. {\"throttle_share\":1,\"throttle_code\":\"Throttling.BurstRate\"})
  GET|POST /sim/admin/account   show | replace the account's standing (JSON: in_arrears,
                                free_tier_only, free_images_left, unpurchased_models,
                                unavailable_models, fashn_credits_left)
  GET  /sim/admin/billing       images billed so far, per model and in all (succeeded
                                tasks, returned generations, successful segmentations)
  GET  /healthz                 liveness

DETERMINISTIC RULES (no model runs here; results carry an OFFLINE PREVIEW banner):
  - Inputs follow the spec: http(s) only, JPEG/PNG/BMP/HEIC/WEBP by magic bytes,
    5 KB-5 MB, sides 150-4096 px (else InvalidURL / InvalidInputLength).
  - Person photo: exactly one figure taller than 40 % of the image on a plain border,
    else InvalidPerson.
  - An input URL whose path contains `inappropriate` fails with DataInspectionFailed.
  - A task not done 3 h (scaled) after creation fails with InternalError.Timeout.
  - Tasks and result files expire 24 h (scaled) after creation; an expired or unknown
    task id answers task_status UNKNOWN and the link answers 404.
  - FASHN predictions take 5 s (mode performance), 8 s (balanced, default) or 14 s
    (quality), scaled; output 864x1296, URLs or data:image/png;base64 (return_base64).
    A model_image with no person fails with PoseError, an unloadable image with
    ImageLoadError; 6 predictions at once, then 429 ConcurrencyLimitExceeded; no credits
    left, 429 OutOfCredits. Ended predictions answer 404 NotFound after 72 h (60 min
    with return_base64), scaled. Faults answer FASHN calls in FASHN's shape
    (InternalServerError, RateLimitExceeded).

FAULT CODES:
  --error-code:        InternalError, InternalError.Timeout, ModelServingError, ModelUnavailable
  --throttle-code:     Throttling, Throttling.RateQuota, Throttling.BurstRate,
                       Throttling.AllocationQuota
  --task-failure-code: InternalError, InternalError.Timeout, ModelServingError,
                       DataInspectionFailed
  --fashn-failure-name: PipelineError, ThirdPartyError, 3rdPartyProviderError,
                       InternalServerError, ContentModerationError, ImageLoadError, PoseError

List flags take a comma-separated list in their environment variable. Log verbosity
comes from RUST_LOG (default info). Stop with Ctrl-C.";

/// Offline emulator of the DashScope aitryon-plus try-on API and FASHN's tryon-v1.6 API (results are marked OFFLINE PREVIEW).
#[derive(Debug, Parser)]
#[command(name = "dashscope-sim", version, about, after_long_help = AFTER_HELP, after_help = "Run with --help for endpoints, rules and fault codes.")]
struct Args {
    /// Address and port to listen on; port 0 picks a free one.
    #[arg(long, env = "SIM_LISTEN", default_value = "127.0.0.1:8790")]
    listen: SocketAddr,

    /// An accepted API key (repeat the flag for several). Any other key answers 401
    /// InvalidApiKey, a missing one 401 "No API-key provided.".
    #[arg(long = "api-key", env = "SIM_API_KEYS", value_delimiter = ',', default_value = DEFAULT_API_KEY, hide_env_values = true)]
    api_keys: Vec<String>,

    /// Multiplies every simulated duration (task phases, the 3 h task limit, the 24 h
    /// expiry): 1.0 is real time, about 20 s per task; 0.05 is about 1 s per task.
    #[arg(long, env = "SIM_TIME_SCALE", default_value_t = 1.0)]
    time_scale: f64,

    /// Base URL for result links when clients reach the emulator under another name
    /// (e.g. behind a proxy or in a container); default: the listening address.
    #[arg(long, env = "SIM_PUBLIC_URL")]
    public_url: Option<String>,

    /// Create calls allowed per second (segmentation has its own window of the same
    /// size) before 429 Throttling.RateQuota; the documented limit is 10; 0 disables it.
    #[arg(long, env = "SIM_RATE_LIMIT", default_value_t = 10)]
    rate_limit: u32,

    /// Query, list and cancel calls allowed together per second before 429
    /// Throttling.RateQuota; the documented limit is 20; 0 disables it (useful for
    /// clients that poll on a compressed time scale).
    #[arg(long, env = "SIM_QUERY_RATE_LIMIT", default_value_t = 20)]
    query_rate_limit: u32,

    /// Tasks allowed past PENDING at once; the documented limit is 5. The rest wait in
    /// PENDING, first come first served.
    #[arg(long, env = "SIM_MAX_RUNNING", default_value_t = 5)]
    max_running: usize,

    /// Real-time limit for downloading one input image, in milliseconds; slower
    /// downloads fail the task with InvalidParameter "Download the media resource timed out".
    #[arg(long, env = "SIM_DOWNLOAD_TIMEOUT_MS", default_value_t = 10_000)]
    download_timeout_ms: u64,

    /// Injected fault: extra latency before every API answer, in milliseconds.
    #[arg(long, env = "SIM_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,

    /// Injected fault: share (0-1) of API calls answered with a server error.
    #[arg(long, env = "SIM_ERROR_SHARE", default_value_t = 0.0)]
    error_share: f64,

    /// Injected fault: the code of those server errors (see FAULT CODES); default: one
    /// of InternalError, ModelServingError, ModelUnavailable at random.
    #[arg(long, env = "SIM_ERROR_CODE")]
    error_code: Option<String>,

    /// Injected fault: share (0-1) of API calls answered 429.
    #[arg(long, env = "SIM_THROTTLE_SHARE", default_value_t = 0.0)]
    throttle_share: f64,

    /// Injected fault: the code of those 429 answers (see FAULT CODES); default Throttling.
    #[arg(long, env = "SIM_THROTTLE_CODE")]
    throttle_code: Option<String>,

    /// Injected fault: share (0-1) of tasks that end FAILED although their inputs are fine.
    #[arg(long, env = "SIM_TASK_FAILURE_SHARE", default_value_t = 0.0)]
    task_failure_share: f64,

    /// Injected fault: the code those tasks fail with (see FAULT CODES); default InternalError.
    #[arg(long, env = "SIM_TASK_FAILURE_CODE")]
    task_failure_code: Option<String>,

    /// Injected fault: length of the RUNNING phase in milliseconds at time scale 1.0
    /// (default 13 s); above 3 h the task fails with InternalError.Timeout. 0 = normal.
    #[arg(long, env = "SIM_TASK_DURATION_MS", default_value_t = 0)]
    task_duration_ms: u64,

    /// Account state: the account is in arrears, so create and segmentation calls
    /// answer 400 Arrearage.
    #[arg(long, env = "SIM_IN_ARREARS")]
    in_arrears: bool,

    /// Account state: "use free tier only" is on; once the free images are used up,
    /// create and segmentation calls answer 403 AllocationQuota.FreeTierOnly.
    #[arg(long, env = "SIM_FREE_TIER_ONLY")]
    free_tier_only: bool,

    /// Account state: free images left (documented quota 400); each successful task or
    /// segmentation uses one.
    #[arg(long, env = "SIM_FREE_IMAGES", default_value_t = 400)]
    free_images: u32,

    /// Account state: a model the account has not bought (repeatable); calls to it
    /// answer 403 AccessDenied.Unpurchased.
    #[arg(
        long = "unpurchased-model",
        env = "SIM_UNPURCHASED_MODELS",
        value_delimiter = ','
    )]
    unpurchased_models: Vec<String>,

    /// Account state: a model marked unavailable (repeatable); calls to it answer 503
    /// ModelUnavailable.
    #[arg(
        long = "unavailable-model",
        env = "SIM_UNAVAILABLE_MODELS",
        value_delimiter = ','
    )]
    unavailable_models: Vec<String>,

    /// FASHN: predictions accepted and not yet ended at once before POST /v1/run answers
    /// 429 ConcurrencyLimitExceeded; the documented default is 6.
    #[arg(long, env = "SIM_FASHN_CONCURRENCY", default_value_t = tryon_api::fashn::DEFAULT_CONCURRENCY)]
    fashn_concurrency: usize,

    /// FASHN account state: credits left; each image of a completed prediction uses one,
    /// and a run asking for more than are left answers 429 OutOfCredits.
    #[arg(long, env = "SIM_FASHN_CREDITS", default_value_t = dashscope_sim::DEFAULT_FASHN_CREDITS)]
    fashn_credits: u64,

    /// Injected fault: the FASHN runtime error that predictions picked by
    /// --task-failure-share fail with (see FAULT CODES); default PipelineError
    /// (ContentModerationError when --task-failure-code is DataInspectionFailed).
    #[arg(long, env = "SIM_FASHN_FAILURE_NAME")]
    fashn_failure_name: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        // Colour codes only help at a terminal; in a log file they are noise.
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    let args = Args::parse();
    let faults = Faults {
        latency_ms: args.latency_ms,
        error_share: args.error_share,
        error_code: args.error_code,
        throttle_share: args.throttle_share,
        throttle_code: args.throttle_code,
        task_failure_share: args.task_failure_share,
        task_failure_code: args.task_failure_code,
        task_duration_ms: args.task_duration_ms,
        fashn_failure_name: args.fashn_failure_name,
    };
    faults.validate()?;
    let api_keys: Vec<String> = args
        .api_keys
        .iter()
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .collect();
    if api_keys.is_empty() {
        return Err("at least one API key is needed".into());
    }
    if !(args.time_scale > 0.0 && args.time_scale.is_finite()) {
        return Err("--time-scale must be a positive number".into());
    }
    let models = |list: Vec<String>| -> Vec<String> {
        list.into_iter()
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .collect()
    };
    let account = Account {
        in_arrears: args.in_arrears,
        free_tier_only: args.free_tier_only,
        free_images_left: args.free_images,
        unpurchased_models: models(args.unpurchased_models),
        unavailable_models: models(args.unavailable_models),
        fashn_credits_left: args.fashn_credits,
    };
    let config = SimConfig {
        api_keys,
        time_scale: args.time_scale,
        public_base_url: args.public_url,
        max_creates_per_second: args.rate_limit,
        max_queries_per_second: args.query_rate_limit,
        max_running_tasks: args.max_running,
        download_timeout: Duration::from_millis(args.download_timeout_ms),
        faults,
        account,
        fashn_concurrency: args.fashn_concurrency,
        clock: tryon_clock::Clock::system(),
    };
    // The key count is logged, never the keys themselves.
    tracing::info!(
        keys = config.api_keys.len(),
        time_scale = config.time_scale,
        "starting"
    );
    let handle = dashscope_sim::spawn(config, args.listen).await?;
    println!("dashscope-sim listening on {}", handle.base_url());
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await;
    Ok(())
}

//! Tests of the `dashscope-sim` command itself: its help text and its account flags and environment variables (DashScope's and FASHN's).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use tryon_api::ErrorKind;
use tryon_api::wire::CREATE_TASK_PATH;

const BIN: &str = env!("CARGO_BIN_EXE_dashscope-sim");

#[test]
fn help_documents_every_flag_the_rules_and_the_admin_endpoints() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "--listen",
        "SIM_LISTEN",
        "--api-key",
        "SIM_API_KEYS",
        "--time-scale",
        "SIM_TIME_SCALE",
        "--public-url",
        "--rate-limit",
        "--query-rate-limit",
        "--max-running",
        "--download-timeout-ms",
        "--latency-ms",
        "--error-share",
        "--error-code",
        "--throttle-share",
        "--throttle-code",
        "--task-failure-share",
        "--task-failure-code",
        "--task-duration-ms",
        "--in-arrears",
        "--free-tier-only",
        "--free-images",
        "--unpurchased-model",
        "--unavailable-model",
        "/sim/admin/faults",
        "/sim/admin/account",
        "/sim/admin/billing",
        "/api/v1/tasks/?start_time=",
        "inappropriate",
        "InternalError.Timeout",
        "Throttling.BurstRate",
        "UNKNOWN",
        "/v1/run",
        "/v1/status/{id}",
        "--fashn-concurrency",
        "SIM_FASHN_CONCURRENCY",
        "--fashn-credits",
        "--fashn-failure-name",
        "fashn_credits_left",
        "PoseError",
        "ConcurrencyLimitExceeded",
        "OutOfCredits",
    ] {
        assert!(help.contains(needle), "--help does not mention {needle}");
    }
}

/// The emulator started by this test, killed (by its own handle) when dropped.
struct Running {
    child: Child,
    base: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the command on a free port and reads the base URL it prints.
fn start(args: &[&str], envs: &[(&str, &str)]) -> Running {
    let mut command = Command::new(BIN);
    command
        .args(["--listen", "127.0.0.1:0", "--api-key", "sk-cli"])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (name, value) in envs {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("dashscope-sim listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Running { child, base }
}

async fn create(base: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}{CREATE_TASK_PATH}"))
        .bearer_auth("sk-cli")
        .header("X-DashScope-Async", "enable")
        .json(&json!({"model": "aitryon-plus", "input": {"person_image_url": "http://127.0.0.1:9/p.jpg", "top_garment_url": "http://127.0.0.1:9/t.jpg"}}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn assert_error(answer: &(u16, Value), kind: ErrorKind) {
    assert_eq!(answer.0, kind.http_status(), "{}", answer.1);
    assert_eq!(answer.1["code"], kind.code(), "{}", answer.1);
}

#[tokio::test]
async fn account_states_come_from_flags_and_environment() {
    let sim = start(&["--in-arrears"], &[]);
    assert_error(&create(&sim.base).await, ErrorKind::Arrearage);
    drop(sim);

    let sim = start(
        &[],
        &[("SIM_FREE_TIER_ONLY", "true"), ("SIM_FREE_IMAGES", "0")],
    );
    assert_error(&create(&sim.base).await, ErrorKind::FreeTierOnly);
    drop(sim);

    let sim = start(&["--unpurchased-model", "aitryon-plus"], &[]);
    assert_error(&create(&sim.base).await, ErrorKind::AccessDeniedUnpurchased);
    drop(sim);

    let sim = start(&[], &[("SIM_UNAVAILABLE_MODELS", "aitryon,aitryon-plus")]);
    assert_error(&create(&sim.base).await, ErrorKind::ModelUnavailable);
    drop(sim);

    let sim = start(
        &[
            "--throttle-share",
            "1",
            "--throttle-code",
            "Throttling.AllocationQuota",
        ],
        &[],
    );
    assert_error(
        &create(&sim.base).await,
        ErrorKind::ThrottlingAllocationQuota,
    );
    drop(sim);

    // FASHN's account state: no credits left refuses the run in FASHN's shape.
    let sim = start(&[], &[("SIM_FASHN_CREDITS", "0")]);
    let response = reqwest::Client::new()
        .post(format!("{}{}", sim.base, tryon_api::fashn::RUN_PATH))
        .bearer_auth("sk-cli")
        .json(&json!({"model_name": "tryon-v1.6", "inputs": {"model_image": "http://127.0.0.1:9/p.jpg", "garment_image": "http://127.0.0.1:9/t.jpg"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "OutOfCredits", "{body}");
}

#[test]
fn an_invalid_fault_code_stops_the_command_with_a_reason() {
    let output = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--error-code", "Throttling"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error_code must be one of"), "{stderr}");
}

//! End-to-end tests of the emulator over HTTP: each test spawns the sim on port 0 with a manual clock, and a tiny file server for its inputs.
//!
//! Time is the test's to move: every emulator here runs on a [`ManualClock`] at time scale
//! 1.0, so task phases, expiry and rate windows happen exactly when the test advances the
//! clock, never because the machine was slow. Waits for a state use the emulator's change
//! notification, bounded only by a generous limit that catches a hang.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use dashscope_sim::{Account, Faults, SimConfig, SimHandle, spawn};
use reqwest::Client;
use serde_json::{Value, json};
use tryon_api::wire::{
    CREATE_TASK_PATH, CancelResponse, CreateTaskResponse, LIST_TASKS_PATH, SEGMENT_PATH,
    SegmentResponse, TaskListResponse, TaskQueryResponse, cancel_path, task_path,
};
use tryon_api::{ErrorKind, TaskStatus};
use tryon_clock::{MANUAL_CLOCK_START_UNIX_SECS, ManualClock};

mod support;
use support::{bounded, file, sample, secs, serve};

const KEY: &str = "sk-test";

/// Serves the committed samples plus a few broken inputs on port 0.
async fn file_server() -> String {
    let png = |name: &'static str| {
        let mime = if name.ends_with(".png") {
            "image/png"
        } else {
            "image/jpeg"
        };
        file(sample(name), mime)
    };
    let app = Router::new()
        .route("/person.jpg", png("person-1.jpg"))
        .route("/pair.jpg", png("person-two.jpg"))
        .route("/tiny.png", png("person-tiny.png"))
        .route("/tee.png", png("top-tee.png"))
        .route("/inappropriate/tee.png", png("top-tee.png"))
        .route("/trousers.png", png("bottom-trousers.png"))
        .route("/dress.png", png("dress.png"))
        .route(
            "/text",
            get(|| async { "this is not an image ".repeat(500) }),
        )
        // Never answers, so only the emulator's download timeout can end the request.
        .route("/slow.png", get(std::future::pending::<()>));
    serve(app).await
}

struct Env {
    sim: SimHandle,
    files: String,
    http: Client,
    /// The emulator's clock: it moves only when the test moves it.
    time: ManualClock,
}

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// An emulator with `config`, the test key and a manual clock of its own.
async fn env_with(config: SimConfig) -> Env {
    let time = ManualClock::new();
    let config = SimConfig {
        api_keys: vec![KEY.to_owned()],
        clock: time.clock(),
        ..config
    };
    Env {
        sim: spawn(config, localhost()).await.unwrap(),
        files: file_server().await,
        http: Client::new(),
        time,
    }
}

/// An emulator in real-length durations (time scale 1.0, on the manual clock) without the
/// query limit, because the tests query after every state change; the tests of the limit
/// itself set it.
async fn env() -> Env {
    env_with(SimConfig {
        max_queries_per_second: 0,
        ..SimConfig::default()
    })
    .await
}

impl Env {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    fn file(&self, name: &str) -> String {
        format!("{}/{name}", self.files)
    }

    fn tryon_body(&self, person: &str, top: Option<&str>, bottom: Option<&str>) -> Value {
        let mut input = json!({ "person_image_url": self.file(person) });
        if let Some(top) = top {
            input["top_garment_url"] = json!(self.file(top));
        }
        if let Some(bottom) = bottom {
            input["bottom_garment_url"] = json!(self.file(bottom));
        }
        json!({ "model": "aitryon-plus", "input": input, "parameters": { "resolution": -1, "restore_face": true } })
    }

    async fn post_raw(
        &self,
        body: &str,
        key: Option<&str>,
        async_header: bool,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(self.url(CREATE_TASK_PATH))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_owned());
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if async_header {
            request = request.header("X-DashScope-Async", "enable");
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    async fn create(&self, body: &Value) -> (StatusCode, Value) {
        self.post_raw(&body.to_string(), Some(KEY), true).await
    }

    async fn create_ok(&self, body: &Value) -> String {
        let (status, answer) = self.create(body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let created: CreateTaskResponse = serde_json::from_value(answer).unwrap();
        assert_eq!(created.output.task_status, TaskStatus::Pending);
        assert!(!created.request_id.is_empty());
        created.output.task_id
    }

    async fn query(&self, task_id: &str) -> TaskQueryResponse {
        let (status, body) = self.query_raw(task_id).await;
        assert_eq!(status, StatusCode::OK);
        serde_json::from_value(body).unwrap()
    }

    /// Queries a task and returns the status and JSON body, whatever they are.
    async fn query_raw(&self, task_id: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.url(&task_path(task_id)))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    /// Runs time forward until the task ends: queries after every state change and,
    /// whenever a task sleeps on the clock, moves the clock exactly to the earliest
    /// deadline. Returns the last answer and every distinct state seen, in order; with a
    /// single task in flight that is every state it passed through, since it cannot take
    /// two steps between two queries.
    async fn until_terminal(&self, task_id: &str) -> (TaskQueryResponse, Vec<TaskStatus>) {
        bounded(&format!("the end of task {task_id}"), async {
            let mut changes = self.sim.state().changes();
            let mut seen: Vec<TaskStatus> = Vec::new();
            loop {
                changes.borrow_and_update();
                let answer = self.query(task_id).await;
                let status = answer.output.task_status.clone();
                if seen.last() != Some(&status) {
                    seen.push(status.clone());
                }
                if status.is_terminal() {
                    return (answer, seen);
                }
                tokio::select! {
                    _ = changes.changed() => {}
                    _ = self.time.advance_to_next_deadline() => {}
                }
            }
        })
        .await
    }

    /// Runs time forward until every live task has ended, checking on every state change
    /// that no listing shows more than five tasks past PENDING; answers the final states.
    async fn run_all_to_the_end_with_at_most_five_running(&self) -> Vec<TaskStatus> {
        bounded("the end of every task", async {
            let mut changes = self.sim.state().changes();
            loop {
                changes.borrow_and_update();
                let statuses = self.snapshot().await;
                let active = statuses
                    .iter()
                    .filter(|s| !s.is_terminal() && **s != TaskStatus::Pending)
                    .count();
                assert!(active <= 5, "{active} tasks ran at once: {statuses:?}");
                if statuses.iter().all(TaskStatus::is_terminal) {
                    return statuses;
                }
                tokio::select! {
                    _ = changes.changed() => {}
                    _ = self.time.advance_to_next_deadline() => {}
                }
            }
        })
        .await
    }

    /// Waits, without moving the clock, until the task's status satisfies `wanted`.
    async fn until_status(
        &self,
        task_id: &str,
        wanted: impl Fn(&TaskStatus) -> bool,
    ) -> TaskStatus {
        bounded(&format!("the awaited state of task {task_id}"), async {
            let mut changes = self.sim.state().changes();
            loop {
                changes.borrow_and_update();
                let status = self.query(task_id).await.output.task_status;
                if wanted(&status) {
                    return status;
                }
                changes.changed().await.expect("the emulator is running");
            }
        })
        .await
    }

    /// `GET` on the listing path with the given query string (without `?`).
    async fn list(&self, query: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.url(&format!("{LIST_TASKS_PATH}?{query}")))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// The state of every live task at one instant. The listing copies all records under
    /// one lock, unlike a round of single queries, during which tasks move on, so a round
    /// could show a finished task still running next to its successor already started.
    async fn snapshot(&self) -> Vec<TaskStatus> {
        let (status, body) = self.list("page_size=100").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let listing: TaskListResponse = serde_json::from_value(body).unwrap();
        listing
            .data
            .iter()
            .map(|task| task.effective_status())
            .collect()
    }

    /// Posts JSON to an admin endpoint and returns the status.
    async fn admin(&self, path: &str, body: Value) -> StatusCode {
        self.http
            .post(self.url(path))
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn cancel(&self, task_id: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(&cancel_path(task_id)))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }
}

fn assert_error(status: StatusCode, body: &Value, kind: ErrorKind) {
    assert_eq!(status.as_u16(), kind.http_status(), "{body}");
    assert_eq!(body["code"], kind.code(), "{body}");
    assert_eq!(body["message"], kind.message(), "{body}");
    assert!(
        !body["request_id"].as_str().unwrap_or_default().is_empty(),
        "{body}"
    );
}

fn assert_failed_with(answer: &TaskQueryResponse, kind: ErrorKind) {
    assert_eq!(answer.output.task_status, TaskStatus::Failed, "{answer:?}");
    assert_eq!(
        answer.output.code.as_deref(),
        Some(kind.code()),
        "{answer:?}"
    );
    assert_eq!(
        answer.output.message.as_deref(),
        Some(kind.message()),
        "{answer:?}"
    );
    assert!(answer.output.end_time.is_some());
    assert!(answer.usage.is_none());
}

#[tokio::test]
async fn keys_are_checked_on_every_api_call() {
    let env = env().await;
    let body = env
        .tryon_body("person.jpg", Some("tee.png"), None)
        .to_string();
    let (status, answer) = env.post_raw(&body, None, true).await;
    assert_error(status, &answer, ErrorKind::NoApiKey);
    let (status, answer) = env.post_raw(&body, Some("sk-wrong"), true).await;
    assert_error(status, &answer, ErrorKind::InvalidApiKey);

    let response = env.http.get(env.url(&task_path("x"))).send().await.unwrap();
    let status = response.status();
    assert_error(status, &response.json().await.unwrap(), ErrorKind::NoApiKey);
    let response = env
        .http
        .post(env.url(&cancel_path("x")))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_error(
        status,
        &response.json().await.unwrap(),
        ErrorKind::InvalidApiKey,
    );
}

#[tokio::test]
async fn create_requires_the_async_header() {
    let env = env().await;
    let body = env
        .tryon_body("person.jpg", Some("tee.png"), None)
        .to_string();
    let (status, answer) = env.post_raw(&body, Some(KEY), false).await;
    assert_error(status, &answer, ErrorKind::AccessDenied);
}

#[tokio::test]
async fn malformed_requests_are_refused_with_the_documented_codes() {
    let env = env().await;
    let (status, answer) = env.post_raw("{not json", Some(KEY), true).await;
    assert_error(status, &answer, ErrorKind::InvalidParameter);

    let mut bad_resolution = env.tryon_body("person.jpg", Some("tee.png"), None);
    bad_resolution["parameters"]["resolution"] = json!(720);
    let (status, answer) = env.create(&bad_resolution).await;
    assert_error(status, &answer, ErrorKind::InvalidParameter);

    let mut unknown_model = env.tryon_body("person.jpg", Some("tee.png"), None);
    unknown_model["model"] = json!("wanx-v1");
    let (status, answer) = env.create(&unknown_model).await;
    assert_error(status, &answer, ErrorKind::ModelNotFound);

    let (status, answer) = env.create(&env.tryon_body("person.jpg", None, None)).await;
    assert_error(status, &answer, ErrorKind::InvalidGarment);

    let mut no_person = env.tryon_body("person.jpg", Some("tee.png"), None);
    no_person["input"]
        .as_object_mut()
        .unwrap()
        .remove("person_image_url");
    let (status, answer) = env.create(&no_person).await;
    assert_error(status, &answer, ErrorKind::InvalidParameter);

    let mut ftp = env.tryon_body("person.jpg", Some("tee.png"), None);
    ftp["input"]["top_garment_url"] = json!("ftp://example.com/tee.png");
    let (status, answer) = env.create(&ftp).await;
    assert_error(status, &answer, ErrorKind::InvalidUrl);

    let mut refiner = env.tryon_body("person.jpg", Some("tee.png"), None);
    refiner["model"] = json!("aitryon-refiner");
    let (status, answer) = env.create(&refiner).await;
    assert_error(status, &answer, ErrorKind::InvalidParameter);
}

/// The calendar moment `offset` after the manual clock's start, as the emulator writes it.
fn timestamp(offset: Duration) -> String {
    dashscope_sim::clock::format_system_time(
        std::time::UNIX_EPOCH + secs(MANUAL_CLOCK_START_UNIX_SECS) + offset,
    )
}

#[tokio::test]
async fn a_task_passes_through_the_states_and_yields_a_preview_of_the_requested_size() {
    let env = env().await;
    let mut portrait = env.tryon_body("person.jpg", Some("tee.png"), None);
    portrait["parameters"]["resolution"] = json!(1024);
    let mut both = env.tryon_body("person.jpg", Some("tee.png"), Some("trousers.png"));
    both["parameters"]["restore_face"] = json!(false);

    // One task at a time, so that each one's every state is observed.
    for (body, size) in [(portrait, (576, 1024)), (both, (768, 1536))] {
        let created = env.time.elapsed();
        let task_id = env.create_ok(&body).await;
        let (answer, seen) = env.until_terminal(&task_id).await;
        assert_eq!(
            seen,
            [
                TaskStatus::Pending,
                TaskStatus::PreProcessing,
                TaskStatus::Running,
                TaskStatus::PostProcessing,
                TaskStatus::Succeeded,
            ],
            "{answer:?}"
        );
        assert_eq!(answer.usage.map(|u| u.image_count), Some(1));
        // 1 s PENDING, 3 s PRE-PROCESSING, 13 s RUNNING and 3 s POST-PROCESSING, to the
        // millisecond, since only the test moves the clock.
        assert_eq!(env.time.elapsed() - created, secs(20));
        assert_eq!(answer.output.submit_time, Some(timestamp(created)));
        assert_eq!(
            answer.output.scheduled_time,
            Some(timestamp(created + secs(1)))
        );
        assert_eq!(answer.output.end_time, Some(timestamp(created + secs(20))));
        let url = answer.output.image_url.expect("a result URL");
        let (path, expires) = url.split_once("?Expires=").expect("an Expires parameter");
        assert_eq!(path, env.url(&format!("/results/{task_id}.png")));
        // The file is stored as POST-PROCESSING starts and lives 24 h from then.
        let stored = MANUAL_CLOCK_START_UNIX_SECS + (created + secs(17)).as_secs();
        assert_eq!(expires.parse::<u64>().ok(), Some(stored + 86_400), "{url}");
        let response = env.http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "image/png");
        let image = image::load_from_memory(&response.bytes().await.unwrap()).unwrap();
        assert_eq!((image.width(), image.height()), size);
    }
}

#[tokio::test]
async fn bad_inputs_fail_the_task_with_the_matching_code() {
    let env = env().await;
    let cases = [
        (
            env.tryon_body("tiny.png", Some("tee.png"), None),
            ErrorKind::InvalidInputLength,
        ),
        (
            env.tryon_body("person.jpg", Some("text"), None),
            ErrorKind::InvalidUrl,
        ),
        (
            env.tryon_body("person.jpg", Some("missing.png"), None),
            ErrorKind::InvalidUrl,
        ),
        (
            env.tryon_body("pair.jpg", Some("tee.png"), None),
            ErrorKind::InvalidPerson,
        ),
    ];
    let mut ids = Vec::new();
    for (body, kind) in &cases {
        ids.push((env.create_ok(body).await, *kind));
    }
    for (task_id, kind) in ids {
        let (answer, _) = env.until_terminal(&task_id).await;
        assert_failed_with(&answer, kind);
    }
}

#[tokio::test]
async fn a_slow_download_fails_with_the_download_timeout_entry() {
    let env = env_with(SimConfig {
        download_timeout: Duration::from_millis(300),
        max_queries_per_second: 0,
        ..SimConfig::default()
    })
    .await;
    let task_id = env
        .create_ok(&env.tryon_body("person.jpg", Some("slow.png"), None))
        .await;
    let (answer, _) = env.until_terminal(&task_id).await;
    assert_failed_with(&answer, ErrorKind::DownloadTimeout);
}

#[tokio::test]
async fn only_pending_tasks_can_be_cancelled() {
    let env = env().await;
    let task_id = env
        .create_ok(&env.tryon_body("person.jpg", Some("tee.png"), None))
        .await;
    // The clock stands still, so the task is PENDING for certain, however slow the machine.
    let (status, answer) = env.cancel(&task_id).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let cancelled: CancelResponse = serde_json::from_value(answer).unwrap();
    assert!(!cancelled.request_id.is_empty());
    assert_eq!(
        env.query(&task_id).await.output.task_status,
        TaskStatus::Canceled
    );
    let (status, answer) = env.cancel(&task_id).await;
    assert_error(status, &answer, ErrorKind::UnsupportedOperation);
    // Past the moment it would have started (1 s after creation) it is still cancelled.
    env.time.advance(secs(2));
    assert_eq!(
        env.query(&task_id).await.output.task_status,
        TaskStatus::Canceled
    );

    // A task that has left PENDING can no longer be cancelled.
    let started = env
        .create_ok(&env.tryon_body("person.jpg", Some("tee.png"), None))
        .await;
    env.time.advance(secs(1));
    env.until_status(&started, |s| *s == TaskStatus::PreProcessing)
        .await;
    let (status, answer) = env.cancel(&started).await;
    assert_error(status, &answer, ErrorKind::UnsupportedOperation);
    let (answer, _) = env.until_terminal(&started).await;
    assert_eq!(answer.output.task_status, TaskStatus::Succeeded);
    // Only that second task ever ran: the cancelled one never took a running slot.
    assert_eq!(env.sim.state().peak_running_tasks(), 1);
    assert_eq!(
        env.query(&task_id).await.output.task_status,
        TaskStatus::Canceled
    );

    let (status, answer) = env.cancel("no-such-task").await;
    assert_error(status, &answer, ErrorKind::UnsupportedOperation);
    let unknown = env.query("no-such-task").await;
    assert_eq!(unknown.output.task_status, TaskStatus::Unknown);
    assert_eq!(unknown.output.task_id, "no-such-task");
}

#[tokio::test]
async fn a_finished_task_cannot_be_cancelled() {
    let env = env().await;
    let task_id = env
        .create_ok(&env.tryon_body("person.jpg", Some("tee.png"), None))
        .await;
    let (answer, _) = env.until_terminal(&task_id).await;
    assert_eq!(answer.output.task_status, TaskStatus::Succeeded);
    let (status, answer) = env.cancel(&task_id).await;
    assert_error(status, &answer, ErrorKind::UnsupportedOperation);
}

#[tokio::test]
async fn more_than_ten_creates_in_a_second_are_throttled() {
    let env = env().await;
    let body = env.tryon_body("person.jpg", Some("tee.png"), None);
    // The clock does not move while they are sent: all 14 fall in one second.
    let answers = futures_join(&env, &body, 14).await;
    let throttled: Vec<&(StatusCode, Value)> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    let accepted = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!((accepted, throttled.len()), (10, 4), "{answers:?}");
    let (status, body) = throttled[0];
    assert_error(*status, body, ErrorKind::ThrottlingRateQuota);
    // Just before the second is over the window is still full; at its end it admits again.
    env.time.advance(Duration::from_millis(999));
    assert_eq!(
        env.create(&body_of(&env)).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    env.time.advance(Duration::from_millis(1));
    assert_eq!(env.create(&body_of(&env)).await.0, StatusCode::OK);
}

/// A valid try-on body: the sample person in the sample tee.
fn body_of(env: &Env) -> Value {
    env.tryon_body("person.jpg", Some("tee.png"), None)
}

/// Sends `n` create calls at once.
async fn futures_join(env: &Env, body: &Value, n: usize) -> Vec<(StatusCode, Value)> {
    let mut handles = Vec::new();
    for _ in 0..n {
        let http = env.http.clone();
        let url = env.url(CREATE_TASK_PATH);
        let body = body.clone();
        handles.push(tokio::spawn(async move {
            let response = http
                .post(url)
                .bearer_auth(KEY)
                .header("X-DashScope-Async", "enable")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }));
    }
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn at_most_five_tasks_run_at_once_and_the_rest_wait_in_pending() {
    let env = env().await;
    let body = env.tryon_body("person.jpg", Some("tee.png"), None);
    let mut ids = Vec::new();
    for _ in 0..7 {
        ids.push(env.create_ok(&body).await);
    }
    // One second later every task wants to start: five get a slot, two wait in PENDING.
    env.time.advance(secs(1));
    bounded("five tasks starting", async {
        let mut changes = env.sim.state().changes();
        while env.sim.state().running_tasks() < 5 {
            changes.changed().await.unwrap();
        }
    })
    .await;
    let statuses = env.snapshot().await;
    let pending = statuses
        .iter()
        .filter(|s| **s == TaskStatus::Pending)
        .count();
    assert_eq!((statuses.len() - pending, pending), (5, 2), "{statuses:?}");

    // Running every task to its end never shows more than five past PENDING.
    env.run_all_to_the_end_with_at_most_five_running().await;
    assert_eq!(env.sim.state().peak_running_tasks(), 5);
    for id in &ids {
        assert_eq!(
            env.query(id).await.output.task_status,
            TaskStatus::Succeeded
        );
    }
}

#[tokio::test]
async fn tasks_and_results_expire_after_a_day() {
    let env = env().await;
    let task_id = env
        .create_ok(&env.tryon_body("person.jpg", Some("tee.png"), None))
        .await;
    let (answer, _) = env.until_terminal(&task_id).await;
    assert_eq!(
        answer.output.task_status,
        TaskStatus::Succeeded,
        "{answer:?}"
    );
    let url = answer.output.image_url.unwrap();
    let fetch = || async { env.http.get(&url).send().await.unwrap().status() };
    assert_eq!(fetch().await, StatusCode::OK);
    // The task was created at 0 s and the file stored at 17 s; the clock is at 20 s.
    let day = secs(24 * 60 * 60);
    env.time.advance(day - secs(20));
    assert_eq!(
        env.query(&task_id).await.output.task_status,
        TaskStatus::Succeeded,
        "a task lives exactly 24 h"
    );
    env.time.advance(Duration::from_millis(1));
    assert_eq!(
        env.query(&task_id).await.output.task_status,
        TaskStatus::Unknown
    );
    assert_eq!(fetch().await, StatusCode::OK, "the file is 17 s younger");
    env.time.advance(secs(17));
    assert_eq!(fetch().await, StatusCode::NOT_FOUND);
}

async fn segment(env: &Env, body: Value) -> (StatusCode, Value) {
    let response = env
        .http
        .post(env.url(SEGMENT_PATH))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn segmentation_returns_aligned_lists_with_usable_crops() {
    let env = env().await;
    let body = |types: Value| json!({"model": "aitryon-parsing-v1", "input": {"image_url": env.file("person.jpg")}, "parameters": {"clothes_type": types}});
    let (status, answer) = segment(&env, body(json!(["upper", "lower"]))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer: SegmentResponse = serde_json::from_value(answer).unwrap();
    assert_eq!(answer.output.crop_img_url.len(), 2);
    assert_eq!(answer.output.parsing_img_url.len(), 2);
    let boxes: Vec<[i64; 4]> = answer
        .output
        .bbox
        .iter()
        .map(|b| b.expect("a box"))
        .collect();
    assert!(
        boxes[0][1] < boxes[1][1],
        "the upper box starts above the lower one: {boxes:?}"
    );
    for url in answer
        .output
        .crop_img_url
        .iter()
        .chain(&answer.output.parsing_img_url)
    {
        let bytes = env
            .http
            .get(url.as_deref().unwrap())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let facts = tryon_api::rules::check_image(&bytes).expect("a crop usable as a garment");
        assert_eq!(facts.format, tryon_api::ImageFormat::Png);
    }

    let (status, answer) = segment(&env, body(json!(["dress"]))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["output"]["crop_img_url"], json!([null]));
    assert_eq!(answer["output"]["bbox"], json!([null]));

    let (status, answer) = segment(&env, body(json!(["hat"]))).await;
    assert_error(status, &answer, ErrorKind::InvalidClothesType);
    let (status, answer) = segment(&env, json!({"model": "aitryon-parsing-v1", "input": {"image_url": "file:///etc/passwd"}, "parameters": {"clothes_type": ["upper"]}})).await;
    assert_error(status, &answer, ErrorKind::InvalidUrl);
    let (status, answer) = segment(&env, json!({"model": "aitryon-parsing-v1", "input": {"image_url": env.file("tiny.png")}, "parameters": {"clothes_type": ["upper"]}})).await;
    assert_error(status, &answer, ErrorKind::InvalidInputLength);
}

#[tokio::test]
async fn faults_can_be_injected_and_cleared_over_http() {
    let env = env().await;
    let admin = env.url(dashscope_sim::ADMIN_FAULTS_PATH);
    let set = |faults: Value| {
        let request = env.http.post(&admin).bearer_auth(KEY).json(&faults);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(
        env.http
            .post(&admin)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        set(json!({"error_share": 2.0})).await,
        StatusCode::BAD_REQUEST
    );

    assert_eq!(set(json!({"error_share": 1.0})).await, StatusCode::OK);
    let (status, body) = env.query_raw("x").await;
    assert!(status.is_server_error(), "{status}");
    assert!(
        ["InternalError", "ModelServingError", "ModelUnavailable"]
            .contains(&body["code"].as_str().unwrap())
    );

    assert_eq!(set(json!({"throttle_share": 1.0})).await, StatusCode::OK);
    let (status, body) = env.query_raw("x").await;
    assert_error(status, &body, ErrorKind::Throttling);

    assert_eq!(
        set(json!({"task_failure_share": 1.0, "latency_ms": 5})).await,
        StatusCode::OK
    );
    let task_id = env
        .create_ok(&env.tryon_body("person.jpg", Some("tee.png"), None))
        .await;
    let (answer, _) = env.until_terminal(&task_id).await;
    assert_failed_with(&answer, ErrorKind::InternalError);

    assert_eq!(set(json!({})).await, StatusCode::OK);
    assert_eq!(env.sim.state().faults(), Faults::default());
    assert_eq!(env.query("x").await.output.task_status, TaskStatus::Unknown);
}

#[tokio::test]
async fn the_refiner_restamps_a_coarse_result_of_the_same_size_only() {
    let env = env().await;
    let mut portrait = env.tryon_body("person.jpg", Some("tee.png"), None);
    portrait["parameters"]["resolution"] = json!(1024);
    let original = env
        .create_ok(&env.tryon_body("person.jpg", Some("tee.png"), None))
        .await;
    let portrait = env.create_ok(&portrait).await;
    let mut coarse = Vec::new();
    for task_id in [original, portrait] {
        let (answer, _) = env.until_terminal(&task_id).await;
        coarse.push(answer.output.image_url.expect("a result"));
    }
    let refine = |coarse_url: &str| {
        let mut body = env.tryon_body("person.jpg", Some("tee.png"), None);
        body["model"] = json!("aitryon-refiner");
        body["input"]["coarse_image_url"] = json!(coarse_url);
        body["parameters"]["gender"] = json!("woman");
        body
    };
    let same_size = env.create_ok(&refine(&coarse[0])).await;
    let other_size = env.create_ok(&refine(&coarse[1])).await;
    let (answer, _) = env.until_terminal(&same_size).await;
    assert_eq!(
        answer.output.task_status,
        TaskStatus::Succeeded,
        "{answer:?}"
    );
    let bytes = env
        .http
        .get(answer.output.image_url.unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let refined = image::load_from_memory(&bytes).unwrap();
    assert_eq!((refined.width(), refined.height()), (768, 1536));
    let (answer, _) = env.until_terminal(&other_size).await;
    assert_failed_with(&answer, ErrorKind::SizeMismatch);
}

#[tokio::test]
async fn each_documented_status_is_reached() {
    // One running slot keeps a second task PENDING while the first one runs.
    let env = env_with(SimConfig {
        max_running_tasks: 1,
        max_queries_per_second: 0,
        ..SimConfig::default()
    })
    .await;
    let good = env
        .create_ok(&env.tryon_body("person.jpg", Some("tee.png"), None))
        .await;
    assert_eq!(
        env.query(&good).await.output.task_status,
        TaskStatus::Pending
    );
    // PENDING lasts 1 s; then the task takes the only running slot.
    let moved = bounded(
        "the task's first sleep",
        env.time.advance_to_next_deadline(),
    )
    .await;
    assert_eq!(moved, secs(1));
    env.until_status(&good, |s| *s == TaskStatus::PreProcessing)
        .await;
    // A second task now waits behind it, PENDING for certain: cancel it. Its own second
    // of PENDING is over before the first task's next phase ends.
    let waiting = env
        .create_ok(&env.tryon_body("person.jpg", Some("tee.png"), None))
        .await;
    let (code, body) = env.cancel(&waiting).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    env.time.advance(secs(1));
    // Each later phase ends exactly when the clock reaches it: 3 s of PRE-PROCESSING
    // (from 1 s), 13 s RUNNING and 3 s POST-PROCESSING. The runner first finishes the
    // phase's real work (downloads, rendering), then sleeps on the clock until the phase
    // is over; the clock moves only then.
    for (next, at) in [
        (TaskStatus::Running, 4),
        (TaskStatus::PostProcessing, 17),
        (TaskStatus::Succeeded, 20),
    ] {
        bounded(
            "the runner's next sleep",
            env.time.advance_to_next_deadline(),
        )
        .await;
        assert_eq!(
            env.time.elapsed(),
            secs(at),
            "the end of the phase before {next}"
        );
        assert_eq!(env.until_status(&good, |s| *s == next).await, next);
    }
    assert_eq!(
        env.query(&waiting).await.output.task_status,
        TaskStatus::Canceled
    );

    let failed = env
        .create_ok(&env.tryon_body("pair.jpg", Some("tee.png"), None))
        .await;
    let (answer, seen) = env.until_terminal(&failed).await;
    assert_failed_with(&answer, ErrorKind::InvalidPerson);
    // A bad photo is found while preparing: the task never runs.
    assert_eq!(
        seen,
        [
            TaskStatus::Pending,
            TaskStatus::PreProcessing,
            TaskStatus::Failed
        ]
    );

    let unknown = env.query("never-created").await;
    assert_eq!(unknown.output.task_status, TaskStatus::Unknown);
}

#[tokio::test]
async fn twenty_creates_in_one_second_answer_ten_accepted_and_ten_throttled() {
    let env = env().await;
    let body = env.tryon_body("person.jpg", Some("tee.png"), None);
    // All twenty arrive within one second of the emulator's clock, which stands still.
    let answers = futures_join(&env, &body, 20).await;
    let mut accepted = Vec::new();
    let mut throttled = 0;
    for (status, answer) in &answers {
        if *status == StatusCode::OK {
            let created: CreateTaskResponse = serde_json::from_value(answer.clone()).unwrap();
            accepted.push(created.output.task_id);
        } else {
            assert_error(*status, answer, ErrorKind::ThrottlingRateQuota);
            throttled += 1;
        }
    }
    assert_eq!((accepted.len(), throttled), (10, 10), "{answers:?}");

    // Ten accepted tasks, five slots: no snapshot ever shows more than five past
    // PENDING, and the emulator's own high-water mark agrees.
    let statuses = env.run_all_to_the_end_with_at_most_five_running().await;
    assert!(statuses.iter().all(|s| *s == TaskStatus::Succeeded));
    assert_eq!(statuses.len(), accepted.len());
    assert_eq!(env.sim.state().peak_running_tasks(), 5);
    assert_eq!(env.sim.state().running_tasks(), 0);
}

#[tokio::test]
async fn query_list_and_cancel_share_the_twenty_per_second_limit() {
    let env = env_with(SimConfig {
        max_queries_per_second: 20,
        ..SimConfig::default()
    })
    .await;
    for i in 0..20 {
        let status = match i % 3 {
            0 => env.query_raw("x").await.0,
            1 => env.list("").await.0,
            _ => env.cancel("x").await.0,
        };
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "call {i}");
    }
    let (status, body) = env.query_raw("x").await;
    assert_error(status, &body, ErrorKind::ThrottlingRateQuota);
    let (status, body) = env.list("").await;
    assert_error(status, &body, ErrorKind::ThrottlingRateQuota);
    let (status, body) = env.cancel("x").await;
    assert_error(status, &body, ErrorKind::ThrottlingRateQuota);
    // Creates have their own window and are not affected.
    let created = env
        .create(&env.tryon_body("person.jpg", Some("tee.png"), None))
        .await;
    assert_eq!(created.0, StatusCode::OK, "{}", created.1);
    // A second later the window has room again.
    env.time.advance(secs(1));
    assert_eq!(env.query_raw("x").await.0, StatusCode::OK);

    // Zero turns the limit off.
    let unlimited = crate::env().await;
    for _ in 0..60 {
        assert_eq!(
            unlimited.query("x").await.output.task_status,
            TaskStatus::Unknown
        );
    }
}

#[tokio::test]
async fn the_list_filters_by_status_and_model_and_pages_newest_first() {
    let env = env().await;
    let plus = env.tryon_body("person.jpg", Some("tee.png"), None);
    let mut basic = env.tryon_body("person.jpg", Some("tee.png"), None);
    basic["model"] = json!("aitryon");
    let mut basic_fails = env.tryon_body("pair.jpg", Some("tee.png"), None);
    basic_fails["model"] = json!("aitryon");
    let mut ids = Vec::new();
    for body in [&plus, &plus, &basic, &basic_fails] {
        ids.push(env.create_ok(body).await);
    }
    for id in &ids {
        env.until_terminal(id).await;
    }
    let parse = |(status, body): (StatusCode, Value)| -> TaskListResponse {
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).unwrap()
    };
    let all = parse(env.list("").await);
    assert_eq!(
        (all.total, all.total_page, all.page_no, all.page_size),
        (4, 1, 1, 10)
    );
    let listed: Vec<&str> = all.data.iter().map(|t| t.task_id.as_str()).collect();
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(listed, newest_first);
    assert_eq!(
        all.data[0].task_status, all.data[0].status,
        "both spellings"
    );

    let succeeded = parse(env.list("status=SUCCEEDED").await);
    assert_eq!(succeeded.total, 3);
    assert!(
        succeeded
            .data
            .iter()
            .all(|t| t.effective_status() == TaskStatus::Succeeded)
    );
    let failed = parse(env.list("status=FAILED").await);
    assert_eq!(failed.total, 1);
    assert_eq!(failed.data[0].task_id, ids[3]);
    assert_eq!(failed.data[0].extra["code"], "InvalidPerson");

    let basic_only = parse(env.list("model_name=aitryon").await);
    assert_eq!(basic_only.total, 2);
    assert!(
        basic_only
            .data
            .iter()
            .all(|t| t.model_name.as_deref() == Some("aitryon"))
    );
    let both = parse(env.list("model_name=aitryon&status=SUCCEEDED").await);
    assert_eq!(both.data.len(), 1);
    assert_eq!(both.data[0].task_id, ids[2]);

    let second_page = parse(env.list("page_size=3&page_no=2").await);
    assert_eq!((second_page.total, second_page.total_page), (4, 2));
    assert_eq!(second_page.data.len(), 1);
    assert_eq!(second_page.data[0].task_id, ids[0]);
    let past_the_end = parse(env.list("page_size=3&page_no=3").await);
    assert!(past_the_end.data.is_empty());

    let future = parse(env.list("start_time=29990101000000").await);
    assert_eq!(future.total, 0);
    let window = parse(
        env.list("start_time=20000101000000&end_time=29990101000000")
            .await,
    );
    assert_eq!(window.total, 4);
    let unslashed = env
        .http
        .get(env.url("/api/v1/tasks?status=FAILED"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(unslashed.status(), StatusCode::OK);

    for bad in [
        "page_size=0",
        "page_size=101",
        "page_no=0",
        "start_time=yesterday",
    ] {
        let (status, body) = env.list(bad).await;
        assert_error(status, &body, ErrorKind::InvalidParameter);
    }
    let response = env.http.get(env.url(LIST_TASKS_PATH)).send().await.unwrap();
    let status = response.status();
    assert_error(status, &response.json().await.unwrap(), ErrorKind::NoApiKey);
}

#[tokio::test]
async fn account_states_refuse_billed_calls_with_their_documented_codes() {
    let env = env_with(SimConfig {
        max_queries_per_second: 0,
        account: Account {
            in_arrears: true,
            ..Account::default()
        },
        ..SimConfig::default()
    })
    .await;
    let body = env.tryon_body("person.jpg", Some("tee.png"), None);
    let (status, answer) = env.create(&body).await;
    assert_error(status, &answer, ErrorKind::Arrearage);
    let (status, answer) = segment(
        &env,
        json!({"model": "aitryon-parsing-v1", "input": {"image_url": env.file("person.jpg")}, "parameters": {"clothes_type": ["upper"]}}),
    )
    .await;
    assert_error(status, &answer, ErrorKind::Arrearage);
    // Queries stay possible, so a client can still collect what it paid for.
    assert_eq!(env.query("x").await.output.task_status, TaskStatus::Unknown);

    let account = dashscope_sim::ADMIN_ACCOUNT_PATH;
    assert_eq!(
        env.admin(account, json!({"unpurchased_models": ["aitryon-plus"]}))
            .await,
        StatusCode::OK
    );
    let (status, answer) = env.create(&body).await;
    assert_error(status, &answer, ErrorKind::AccessDeniedUnpurchased);
    let mut basic = body.clone();
    basic["model"] = json!("aitryon");
    assert_eq!(env.create(&basic).await.0, StatusCode::OK);

    assert_eq!(
        env.admin(account, json!({"unavailable_models": ["aitryon-plus"]}))
            .await,
        StatusCode::OK
    );
    let (status, answer) = env.create(&body).await;
    assert_error(status, &answer, ErrorKind::ModelUnavailable);

    // One free image left with "free tier only": one task succeeds, then the next
    // create is refused.
    assert_eq!(
        env.admin(
            account,
            json!({"free_tier_only": true, "free_images_left": 1})
        )
        .await,
        StatusCode::OK
    );
    let task_id = env.create_ok(&body).await;
    let (answer, _) = env.until_terminal(&task_id).await;
    assert_eq!(answer.output.task_status, TaskStatus::Succeeded);
    let (status, answer) = env.create(&body).await;
    assert_error(status, &answer, ErrorKind::FreeTierOnly);
    let shown: Value = env
        .http
        .get(env.url(account))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["free_images_left"], 0);

    assert_eq!(
        env.admin(account, json!({"in_arrears": "yes"})).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(env.admin(account, json!({})).await, StatusCode::OK);
    assert_eq!(env.sim.state().account(), Account::default());
    assert_eq!(env.create(&body).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_inappropriate_input_fails_data_inspection() {
    let env = env().await;
    let task_id = env
        .create_ok(&env.tryon_body("person.jpg", Some("inappropriate/tee.png"), None))
        .await;
    let (answer, seen) = env.until_terminal(&task_id).await;
    assert_failed_with(&answer, ErrorKind::DataInspectionFailed);
    assert!(!seen.contains(&TaskStatus::Running), "{seen:?}");

    let (status, answer) = segment(
        &env,
        json!({"model": "aitryon-parsing-v1", "input": {"image_url": env.file("inappropriate/tee.png")}, "parameters": {"clothes_type": ["upper"]}}),
    )
    .await;
    assert_error(status, &answer, ErrorKind::DataInspectionFailed);
}

#[tokio::test]
async fn a_task_longer_than_three_hours_fails_with_internal_timeout() {
    let env = env().await;
    assert_eq!(
        env.admin(
            dashscope_sim::ADMIN_FAULTS_PATH,
            json!({"task_duration_ms": 4 * 3600 * 1000})
        )
        .await,
        StatusCode::OK
    );
    let task_id = env
        .create_ok(&env.tryon_body("person.jpg", Some("tee.png"), None))
        .await;
    let (answer, seen) = env.until_terminal(&task_id).await;
    assert_failed_with(&answer, ErrorKind::InternalTimeout);
    assert_eq!(
        seen,
        [
            TaskStatus::Pending,
            TaskStatus::PreProcessing,
            TaskStatus::Running,
            TaskStatus::Failed
        ]
    );
    // It fails at the limit itself, three hours after its creation, not when its four-hour
    // RUNNING phase would have ended.
    let three_hours = secs(3 * 3600);
    assert_eq!(env.time.elapsed(), three_hours);
    assert_eq!(answer.output.end_time, Some(timestamp(three_hours)));

    // One hour fits: the task succeeds after its long RUNNING phase.
    assert_eq!(
        env.admin(
            dashscope_sim::ADMIN_FAULTS_PATH,
            json!({"task_duration_ms": 3600 * 1000})
        )
        .await,
        StatusCode::OK
    );
    let created = env.time.elapsed();
    let task_id = env
        .create_ok(&env.tryon_body("person.jpg", Some("tee.png"), None))
        .await;
    let (answer, _) = env.until_terminal(&task_id).await;
    assert_eq!(
        answer.output.task_status,
        TaskStatus::Succeeded,
        "{answer:?}"
    );
    assert_eq!(env.time.elapsed() - created, secs(1 + 3 + 3600 + 3));
}

#[tokio::test]
async fn injected_faults_answer_the_configured_code() {
    let env = env().await;
    let faults = dashscope_sim::ADMIN_FAULTS_PATH;
    let kinds = [
        ("error", ErrorKind::InternalError),
        ("error", ErrorKind::InternalTimeout),
        ("error", ErrorKind::ModelServingError),
        ("error", ErrorKind::ModelUnavailable),
        ("throttle", ErrorKind::Throttling),
        ("throttle", ErrorKind::ThrottlingRateQuota),
        ("throttle", ErrorKind::ThrottlingBurstRate),
        ("throttle", ErrorKind::ThrottlingAllocationQuota),
    ];
    for (which, kind) in kinds {
        let set = json!({ format!("{which}_share"): 1.0, format!("{which}_code"): kind.code() });
        assert_eq!(env.admin(faults, set).await, StatusCode::OK, "{kind:?}");
        // Every API call is hit alike: create, query and segmentation.
        let (status, answer) = env
            .create(&env.tryon_body("person.jpg", Some("tee.png"), None))
            .await;
        assert_error(status, &answer, kind);
        let (status, body) = env.query_raw("x").await;
        assert_error(status, &body, kind);
        let (status, answer) = segment(&env, json!({})).await;
        assert_error(status, &answer, kind);
    }
    for refused in [
        json!({"throttle_code": "InternalError"}),
        json!({"error_code": "Throttling"}),
        json!({"task_failure_code": "NoSuchCode"}),
    ] {
        assert_eq!(env.admin(faults, refused).await, StatusCode::BAD_REQUEST);
    }

    assert_eq!(
        env.admin(
            faults,
            json!({"task_failure_share": 1.0, "task_failure_code": "ModelServingError"})
        )
        .await,
        StatusCode::OK
    );
    let task_id = env
        .create_ok(&env.tryon_body("person.jpg", Some("tee.png"), None))
        .await;
    let (answer, _) = env.until_terminal(&task_id).await;
    assert_failed_with(&answer, ErrorKind::ModelServingError);
}

#[tokio::test]
async fn segmentation_has_its_own_ten_per_second_window() {
    let env = env().await;
    // The window is checked before the body, so empty bodies count like real calls and
    // the test needs no downloads.
    for i in 0..10 {
        let (status, answer) = segment(&env, json!({})).await;
        assert_error(status, &answer, ErrorKind::InvalidParameter);
        assert_eq!(status, StatusCode::BAD_REQUEST, "call {i}");
    }
    let (status, answer) = segment(&env, json!({})).await;
    assert_error(status, &answer, ErrorKind::ThrottlingRateQuota);
    // Creates keep their own window.
    let (status, answer) = env
        .create(&env.tryon_body("person.jpg", Some("tee.png"), None))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // A second later segmentation is admitted again.
    env.time.advance(secs(1));
    let (status, answer) = segment(&env, json!({})).await;
    assert_error(status, &answer, ErrorKind::InvalidParameter);
}

/// Replaces the public URLs of a spec example with the local file server's, and the
/// segmentation placeholder with `own_crop`.
fn localise(value: &mut Value, env: &Env, own_crop: &str) {
    let Some(input) = value["input"].as_object_mut() else {
        panic!("no input in {value}");
    };
    for url in input.values_mut() {
        let text = url.as_str().unwrap().to_owned();
        let local = if text == "图片分割API输出的图像URL" {
            own_crop.to_owned()
        } else {
            let name = match text.rsplit('/').next().unwrap() {
                "model_person.png" => "person.jpg",
                "short_sleeve.jpeg" => "tee.png",
                "pants.jpeg" => "trousers.png",
                "dress.jpg" => "dress.png",
                other => panic!("unexpected example file {other}"),
            };
            env.file(name)
        };
        *url = json!(local);
    }
}

#[tokio::test]
async fn the_six_documented_request_shapes_each_produce_a_result() {
    let env = env().await;
    // The keep-own examples pass a segmentation crop of the person's own garment.
    let (status, answer) = segment(
        &env,
        json!({"model": "aitryon-parsing-v1", "input": {"image_url": env.file("person.jpg")}, "parameters": {"clothes_type": ["upper", "lower"]}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let crops: SegmentResponse = serde_json::from_value(answer).unwrap();
    let own_top = crops.output.crop_img_url[0].clone().expect("an upper crop");
    let own_bottom = crops.output.crop_img_url[1].clone().expect("a lower crop");

    let fixtures = format!("{}/../tryon-api/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut ids = Vec::new();
    for (name, own_crop) in [
        ("create-1-top.json", ""),
        ("create-2-top-keep-own-bottom.json", own_bottom.as_str()),
        ("create-3-bottom.json", ""),
        ("create-4-bottom-keep-own-top.json", own_top.as_str()),
        ("create-5-top-and-bottom.json", ""),
        ("create-6-dress.json", ""),
    ] {
        let text = std::fs::read_to_string(format!("{fixtures}/{name}")).unwrap();
        let mut body: Value = serde_json::from_str(&text).unwrap();
        localise(&mut body, &env, own_crop);
        ids.push((name, env.create_ok(&body).await));
    }
    for (name, task_id) in ids {
        let (answer, _) = env.until_terminal(&task_id).await;
        assert_eq!(
            answer.output.task_status,
            TaskStatus::Succeeded,
            "{name}: {answer:?}"
        );
        let url = answer.output.image_url.expect("a result");
        let response = env.http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{name}");
    }
}

#[tokio::test]
async fn only_succeeded_tasks_and_segmentations_are_billed_and_the_bill_is_readable_over_http() {
    let env = env().await;
    let body = env.tryon_body("person.jpg", Some("tee.png"), None);
    let succeeded = env.create_ok(&body).await;
    let (answer, _) = env.until_terminal(&succeeded).await;
    assert_eq!(answer.output.task_status, TaskStatus::Succeeded);

    // A failed task, a refused create and a cancelled task cost nothing.
    let faults = dashscope_sim::ADMIN_FAULTS_PATH;
    assert_eq!(
        env.admin(faults, json!({"task_failure_share": 1.0})).await,
        StatusCode::OK
    );
    let failed = env.create_ok(&body).await;
    let (answer, _) = env.until_terminal(&failed).await;
    assert_eq!(answer.output.task_status, TaskStatus::Failed);
    assert_eq!(
        env.admin(faults, json!({"error_share": 1.0})).await,
        StatusCode::OK
    );
    assert!(env.create(&body).await.0.is_server_error());
    assert_eq!(env.admin(faults, json!({})).await, StatusCode::OK);
    let cancelled = env.create_ok(&body).await;
    assert_eq!(env.cancel(&cancelled).await.0, StatusCode::OK);

    let (status, _) = segment(
        &env,
        json!({"model": "aitryon-parsing-v1", "input": {"image_url": env.file("person.jpg")}, "parameters": {"clothes_type": ["upper"]}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    assert_eq!(env.sim.state().billed_images("aitryon-plus"), 1);
    assert_eq!(env.sim.state().billed_images("aitryon-parsing-v1"), 1);
    let bill: Value = env
        .http
        .get(env.url(dashscope_sim::ADMIN_BILLING_PATH))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        bill,
        json!({"images": {"aitryon-plus": 1, "aitryon-parsing-v1": 1}, "total": 2})
    );
}

#[tokio::test]
async fn a_transient_injected_failure_never_fails_the_same_input_twice() {
    let env = env().await;
    assert_eq!(
        env.admin(
            dashscope_sim::ADMIN_FAULTS_PATH,
            json!({"task_failure_share": 1.0, "task_failure_once": true})
        )
        .await,
        StatusCode::OK
    );
    let body = env.tryon_body("person.jpg", Some("tee.png"), None);
    let first = env.create_ok(&body).await;
    let (answer, _) = env.until_terminal(&first).await;
    assert_failed_with(&answer, ErrorKind::InternalError);
    // Sent again, the same input succeeds; another input still fails once.
    let again = env.create_ok(&body).await;
    let (answer, _) = env.until_terminal(&again).await;
    assert_eq!(answer.output.task_status, TaskStatus::Succeeded);
    let other = env
        .create_ok(&env.tryon_body("person.jpg", None, Some("tee.png")))
        .await;
    let (answer, _) = env.until_terminal(&other).await;
    assert_failed_with(&answer, ErrorKind::InternalError);
}

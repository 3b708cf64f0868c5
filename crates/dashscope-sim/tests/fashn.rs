//! End-to-end tests of the emulator's FASHN API over HTTP (`POST /v1/run`, `GET /v1/status/{id}`), each on a manual clock with a tiny file server for its inputs.
//!
//! As in `api.rs`, time is the test's to move: the emulator runs at time scale 1.0 on a
//! [`ManualClock`], so each state change happens exactly at its documented moment, and
//! waits for a state use the emulator's change notification, bounded only by a generous
//! limit that turns a hang into a failure.

use std::io::Cursor;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use dashscope_sim::{ADMIN_ACCOUNT_PATH, ADMIN_FAULTS_PATH, SimConfig, SimHandle, spawn};
use image::{ImageFormat, Rgba, RgbaImage};
use reqwest::Client;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tryon_api::fashn::{
    CREDITS_USED_HEADER, FashnMode, MODEL_TRYON, OUTPUT_HEIGHT, OUTPUT_WIDTH, PredictionStatus,
    RUN_PATH, RunResponse, StatusResponse, status_path,
};
use tryon_clock::ManualClock;

mod support;
use support::{bounded, file, sample, secs, serve};

const KEY: &str = "fa-test";

/// A plain grey wall: an image in which the person rule finds nobody.
fn wall_png() -> Vec<u8> {
    let wall = RgbaImage::from_pixel(300, 450, Rgba([128, 128, 128, 255]));
    let mut out = Vec::new();
    wall.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

/// Standard base64, for inline inputs (the emulator's own encoder is what is tested).
fn base64(bytes: &[u8]) -> String {
    dashscope_sim::fashn::encode_base64(bytes)
}

/// Serves the committed samples plus a few broken inputs on port 0.
async fn file_server() -> String {
    let app = Router::new()
        .route("/person.jpg", file(sample("person-1.jpg"), "image/jpeg"))
        .route("/pair.jpg", file(sample("person-two.jpg"), "image/jpeg"))
        .route("/tee.png", file(sample("top-tee.png"), "image/png"))
        .route(
            "/inappropriate/tee.png",
            file(sample("top-tee.png"), "image/png"),
        )
        .route(
            "/trousers.png",
            file(sample("bottom-trousers.png"), "image/png"),
        )
        .route("/wall.png", file(wall_png(), "image/png"))
        .route(
            "/text",
            get(|| async { "this is not an image ".repeat(500) }),
        );
    serve(app).await
}

struct Env {
    sim: SimHandle,
    files: String,
    http: Client,
    time: ManualClock,
}

fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}

async fn env_with(config: SimConfig) -> Env {
    let time = ManualClock::new();
    let config = SimConfig {
        api_keys: vec![KEY.to_owned()],
        clock: time.clock(),
        ..config
    };
    Env {
        sim: spawn(config, "127.0.0.1:0".parse().unwrap()).await.unwrap(),
        files: file_server().await,
        http: Client::new(),
        time,
    }
}

async fn env() -> Env {
    env_with(SimConfig::default()).await
}

/// What a poll to the end saw: the last answer and its headers, and each distinct state
/// with the clock's reading (since the run) when it was first seen.
struct Ended {
    answer: StatusResponse,
    headers: HeaderMap,
    seen: Vec<(PredictionStatus, Duration)>,
}

impl Env {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    fn file(&self, name: &str) -> String {
        format!("{}/{name}", self.files)
    }

    /// A `tryon-v1.6` body with these images (file names of the file server, or full
    /// URLs) and extra `inputs` fields.
    fn body(&self, person: &str, garment: &str, extra: Value) -> Value {
        let resolve = |name: &str| {
            if name.contains(':') {
                name.to_owned()
            } else {
                self.file(name)
            }
        };
        let mut inputs = json!({
            "model_image": resolve(person),
            "garment_image": resolve(garment),
        });
        for (key, value) in extra.as_object().cloned().unwrap_or_default() {
            inputs[key] = value;
        }
        json!({ "model_name": MODEL_TRYON, "inputs": inputs })
    }

    async fn run_raw(&self, body: &str, key: Option<&str>) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(self.url(RUN_PATH))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_owned());
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn run(&self, body: &Value) -> (StatusCode, Value) {
        self.run_raw(&body.to_string(), Some(KEY)).await
    }

    async fn run_ok(&self, body: &Value) -> String {
        let (status, answer) = self.run(body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["error"], Value::Null, "{answer}");
        let run: RunResponse = serde_json::from_value(answer).unwrap();
        run.id.expect("an id")
    }

    async fn status_raw(&self, id: &str, key: &str) -> (StatusCode, HeaderMap, Value) {
        let response = self
            .http
            .get(self.url(&status_path(id)))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        (status, headers, response.json().await.unwrap())
    }

    async fn status(&self, id: &str) -> (StatusResponse, HeaderMap) {
        let (status, headers, body) = self.status_raw(id, KEY).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (serde_json::from_value(body).unwrap(), headers)
    }

    /// Runs time forward until the prediction ends, querying after every change.
    async fn until_ended(&self, id: &str) -> Ended {
        let start = self.time.elapsed();
        bounded(&format!("the end of prediction {id}"), async {
            let mut changes = self.sim.state().changes();
            let mut seen: Vec<(PredictionStatus, Duration)> = Vec::new();
            loop {
                changes.borrow_and_update();
                let (answer, headers) = self.status(id).await;
                if seen.last().map(|(s, _)| s) != Some(&answer.status) {
                    seen.push((answer.status.clone(), self.time.elapsed() - start));
                }
                if answer.status.is_terminal() {
                    return Ended {
                        answer,
                        headers,
                        seen,
                    };
                }
                tokio::select! {
                    _ = changes.changed() => {}
                    _ = self.time.advance_to_next_deadline() => {}
                }
            }
        })
        .await
    }

    /// Runs time forward until no prediction is open.
    async fn until_none_open(&self) {
        bounded("the end of every prediction", async {
            let mut changes = self.sim.state().changes();
            loop {
                changes.borrow_and_update();
                if self.sim.state().open_predictions() == 0 {
                    return;
                }
                tokio::select! {
                    _ = changes.changed() => {}
                    _ = self.time.advance_to_next_deadline() => {}
                }
            }
        })
        .await
    }

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
}

/// Checks an API-level error: its status and FASHN's `{"error", "message"}` shape.
fn assert_api_error(status: StatusCode, body: &Value, code: u16, name: &str) {
    assert_eq!(status.as_u16(), code, "{body}");
    assert_eq!(body["error"], name, "{body}");
    assert!(
        !body["message"].as_str().unwrap_or_default().is_empty(),
        "{body}"
    );
    assert!(body.get("id").is_none(), "no prediction id: {body}");
}

/// Checks a failed prediction: its runtime error name, and that it cost nothing.
fn assert_failed_with(ended: &Ended, name: &str) {
    let answer = &ended.answer;
    assert_eq!(answer.status, PredictionStatus::Failed, "{:?}", answer);
    let error = answer.error.as_ref().expect("a runtime error");
    assert_eq!(error.name, name, "{answer:?}");
    assert!(!error.message.is_empty());
    assert_eq!(answer.output, None);
    assert_eq!(ended.headers[CREDITS_USED_HEADER], "0");
}

fn decode(bytes: &[u8]) -> (image::ImageFormat, u32, u32) {
    let format = image::guess_format(bytes).unwrap();
    let image = image::load_from_memory(bytes).unwrap();
    (format, image.width(), image.height())
}

#[tokio::test]
async fn each_mode_passes_through_the_states_at_its_documented_times() {
    let env = env().await;
    for (mode, total) in [
        (Some(FashnMode::Performance), millis(5000)),
        (None, millis(8000)),
        (Some(FashnMode::Balanced), millis(8000)),
        (Some(FashnMode::Quality), millis(14000)),
    ] {
        let extra = match mode {
            Some(mode) => json!({ "mode": mode.as_str(), "category": "tops" }),
            None => json!({}),
        };
        let id = env.run_ok(&env.body("person.jpg", "tee.png", extra)).await;
        let ended = env.until_ended(&id).await;
        // A tenth starting, a tenth in the queue, the rest processing, to the millisecond.
        assert_eq!(
            ended.seen,
            [
                (PredictionStatus::Starting, Duration::ZERO),
                (PredictionStatus::InQueue, total / 10),
                (PredictionStatus::Processing, total / 5),
                (PredictionStatus::Completed, total),
            ],
            "{mode:?}"
        );
        assert_eq!(ended.answer.id, id);
        assert_eq!(ended.answer.error, None);
        assert_eq!(ended.headers[CREDITS_USED_HEADER], "1");
        let output = ended.answer.output.expect("an output");
        assert_eq!(output.len(), 1);
        assert!(
            output[0].starts_with(&env.url("/results/")),
            "{}",
            output[0]
        );
        let response = env.http.get(&output[0]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "image/png");
        let bytes = response.bytes().await.unwrap();
        assert_eq!(
            decode(&bytes),
            (ImageFormat::Png, OUTPUT_WIDTH, OUTPUT_HEIGHT)
        );
    }
    assert_eq!(env.sim.state().billed_images(MODEL_TRYON), 4);
}

#[tokio::test]
async fn base64_outputs_decode_to_864_by_1296_images_of_the_requested_format() {
    let env = env().await;
    // Inline inputs work as well as URLs.
    let person = format!("data:image/jpeg;base64,{}", base64(&sample("person-1.jpg")));
    for (format, mime, expected, samples) in [
        ("png", "image/png", ImageFormat::Png, 1),
        ("jpeg", "image/jpeg", ImageFormat::Jpeg, 2),
    ] {
        let body = env.body(
            &person,
            "tee.png",
            json!({"return_base64": true, "output_format": format, "num_samples": samples}),
        );
        let id = env.run_ok(&body).await;
        let ended = env.until_ended(&id).await;
        assert_eq!(ended.answer.status, PredictionStatus::Completed);
        assert_eq!(ended.headers[CREDITS_USED_HEADER], samples.to_string());
        let output = ended.answer.output.unwrap();
        assert_eq!(output.len(), samples as usize);
        for url in output {
            let prefix = format!("data:{mime};base64,");
            let data = url
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{url:.40}"));
            let bytes = decode_base64(data);
            assert_eq!(decode(&bytes), (expected, OUTPUT_WIDTH, OUTPUT_HEIGHT));
        }
    }
    assert_eq!(env.sim.state().billed_images(MODEL_TRYON), 3);
}

/// Standard base64 decoding, for checking outputs independently of the emulator's code.
fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| *c != b'=') {
        buffer = (buffer << 6) | value(c);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

#[tokio::test]
async fn keys_are_checked_on_run_and_status_in_fashns_shape() {
    let env = env().await;
    let body = env.body("person.jpg", "tee.png", json!({})).to_string();
    let (status, answer) = env.run_raw(&body, None).await;
    assert_api_error(status, &answer, 401, "UnauthorizedAccess");
    let (status, answer) = env.run_raw(&body, Some("fa-wrong")).await;
    assert_api_error(status, &answer, 401, "UnauthorizedAccess");
    assert_eq!(answer["message"], "Unauthorized: Invalid token");
    let id = env
        .run_ok(&env.body("person.jpg", "tee.png", json!({})))
        .await;
    let (status, _, answer) = env.status_raw(&id, "fa-wrong").await;
    assert_api_error(status, &answer, 401, "UnauthorizedAccess");
}

#[tokio::test]
async fn malformed_runs_are_refused_with_bad_request() {
    let env = env().await;
    let good = env.body("person.jpg", "tee.png", json!({}));
    let mut cases: Vec<(String, &str)> = vec![
        ("not json".to_owned(), "JSON"),
        ("[1, 2]".to_owned(), "object"),
        (json!({"inputs": good["inputs"]}).to_string(), "model_name"),
        (
            json!({"model_name": "tryon-v1.5", "inputs": good["inputs"]}).to_string(),
            "tryon-v1.5",
        ),
        (json!({"model_name": MODEL_TRYON}).to_string(), "inputs"),
        (
            json!({"model_name": MODEL_TRYON, "inputs": {"garment_image": env.file("tee.png")}})
                .to_string(),
            "model_image",
        ),
        (
            json!({"model_name": MODEL_TRYON, "inputs": {"model_image": env.file("person.jpg")}})
                .to_string(),
            "garment_image",
        ),
        (
            json!({"model_name": MODEL_TRYON, "inputs": {"model_image": " ", "garment_image": env.file("tee.png")}})
                .to_string(),
            "model_image",
        ),
    ];
    for (field, bad) in [
        ("category", json!("dresses")),
        ("mode", json!("fast")),
        ("garment_photo_type", json!("flat_lay")),
        ("moderation_level", json!("strict")),
        ("output_format", json!("webp")),
        ("num_samples", json!(0)),
        ("num_samples", json!(5)),
        ("return_base64", json!("yes")),
    ] {
        cases.push((
            env.body("person.jpg", "tee.png", json!({ field: bad }))
                .to_string(),
            field,
        ));
    }
    for (body, mentioned) in cases {
        let (status, answer) = env.run_raw(&body, Some(KEY)).await;
        assert_api_error(status, &answer, 400, "BadRequest");
        assert!(
            answer["message"].as_str().unwrap().contains(mentioned),
            "{body}: {answer}"
        );
    }
    // Every documented value of every option is accepted.
    let full = env.body(
        "person.jpg",
        "tee.png",
        json!({
            "category": "one-pieces", "mode": "performance", "garment_photo_type": "flat-lay",
            "moderation_level": "permissive", "seed": 42, "num_samples": 4,
            "return_base64": false, "output_format": "png", "segmentation_free": true
        }),
    );
    let id = env.run_ok(&full).await;
    assert_eq!(env.until_ended(&id).await.answer.output.unwrap().len(), 4);
    assert_eq!(env.sim.state().open_predictions(), 0);
}

#[tokio::test]
async fn unknown_ids_answer_not_found_and_ended_predictions_expire() {
    let env = env().await;
    let (status, _, answer) = env.status_raw("no-such-prediction", KEY).await;
    assert_api_error(status, &answer, 404, "NotFound");

    let with_url = env
        .run_ok(&env.body("person.jpg", "tee.png", json!({})))
        .await;
    let ended = env.until_ended(&with_url).await;
    let file = ended.answer.output.unwrap().remove(0);
    let inline = env
        .run_ok(&env.body("person.jpg", "tee.png", json!({"return_base64": true})))
        .await;
    env.until_ended(&inline).await;

    // Base64 outputs are kept 60 minutes after completion, URL outputs 72 hours.
    env.time.advance(secs(60 * 60) + millis(1));
    let (status, _, answer) = env.status_raw(&inline, KEY).await;
    assert_api_error(status, &answer, 404, "NotFound");
    assert_eq!(
        env.status(&with_url).await.0.status,
        PredictionStatus::Completed
    );
    assert_eq!(
        env.http.get(&file).send().await.unwrap().status(),
        StatusCode::OK
    );
    env.time.advance(secs(71 * 60 * 60));
    let (status, _, answer) = env.status_raw(&with_url, KEY).await;
    assert_api_error(status, &answer, 404, "NotFound");
    assert_eq!(
        env.http.get(&file).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn six_predictions_run_at_once_and_a_seventh_is_refused_until_one_ends() {
    let env = env().await;
    let body = env.body("person.jpg", "tee.png", json!({"mode": "performance"}));
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(env.run_ok(&body).await);
    }
    assert_eq!(env.sim.state().open_predictions(), 6);
    let (status, answer) = env.run(&body).await;
    assert_api_error(status, &answer, 429, "ConcurrencyLimitExceeded");
    // A refused run leaves nothing behind and costs nothing.
    assert_eq!(env.sim.state().open_predictions(), 6);

    env.until_none_open().await;
    for id in &ids {
        assert_eq!(env.status(id).await.0.status, PredictionStatus::Completed);
    }
    // Ended predictions, failed ones too, free their places.
    let failing = env.body("wall.png", "tee.png", json!({"mode": "performance"}));
    for _ in 0..6 {
        env.run_ok(&failing).await;
    }
    env.until_none_open().await;
    env.run_ok(&body).await;
    assert_eq!(env.sim.state().billed_images(MODEL_TRYON), 6);
}

#[tokio::test]
async fn credits_are_used_per_completed_image_and_an_empty_account_is_refused() {
    let env = env().await;
    assert_eq!(
        env.admin(ADMIN_ACCOUNT_PATH, json!({"fashn_credits_left": 3}))
            .await,
        StatusCode::OK
    );
    let free_images = env.sim.state().account().free_images_left;
    let two = env.body("person.jpg", "tee.png", json!({"num_samples": 2}));
    let id = env.run_ok(&two).await;
    env.until_ended(&id).await;
    assert_eq!(env.sim.state().account().fashn_credits_left, 1);
    // FASHN credits are not DashScope's free images.
    assert_eq!(env.sim.state().account().free_images_left, free_images);

    // Fewer credits left than the run asks for: refused before any work.
    let (status, answer) = env.run(&two).await;
    assert_api_error(status, &answer, 429, "OutOfCredits");
    // A failed prediction uses none.
    let failed = env
        .run_ok(&env.body("wall.png", "tee.png", json!({})))
        .await;
    assert_failed_with(&env.until_ended(&failed).await, "PoseError");
    assert_eq!(env.sim.state().account().fashn_credits_left, 1);
    let last = env
        .run_ok(&env.body("person.jpg", "tee.png", json!({})))
        .await;
    env.until_ended(&last).await;
    let (status, answer) = env.run(&env.body("person.jpg", "tee.png", json!({}))).await;
    assert_api_error(status, &answer, 429, "OutOfCredits");
    assert_eq!(env.sim.state().billed_images(MODEL_TRYON), 3);
    let account: Value = env
        .http
        .get(env.url(ADMIN_ACCOUNT_PATH))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(account["fashn_credits_left"], 0);
}

#[tokio::test]
async fn bad_photos_fail_with_fashns_runtime_errors_and_cost_nothing() {
    let env = env().await;
    let not_base64 = "data:image/png;base64,***".to_owned();
    let text = format!("data:image/png;base64,{}", base64(b"plain text, no image"));
    let cases: Vec<(&str, &str, Value, &str, Duration)> = vec![
        // Found while loading, at the end of `starting` (a tenth of 8 s).
        ("text", "tee.png", json!({}), "ImageLoadError", millis(800)),
        (
            "missing.png",
            "tee.png",
            json!({}),
            "ImageLoadError",
            millis(800),
        ),
        (
            "person.jpg",
            "missing.png",
            json!({}),
            "ImageLoadError",
            millis(800),
        ),
        (
            "person.jpg",
            &not_base64,
            json!({}),
            "ImageLoadError",
            millis(800),
        ),
        (
            "person.jpg",
            &text,
            json!({}),
            "ImageLoadError",
            millis(800),
        ),
        (
            "person.jpg",
            "inappropriate/tee.png",
            json!({}),
            "ContentModerationError",
            millis(800),
        ),
        // Found by the pose rule, at the end of `processing`.
        ("wall.png", "tee.png", json!({}), "PoseError", millis(8000)),
    ];
    for (person, garment, extra, name, at) in cases {
        let id = env.run_ok(&env.body(person, garment, extra)).await;
        let ended = env.until_ended(&id).await;
        assert_failed_with(&ended, name);
        assert_eq!(ended.seen.last().unwrap().1, at, "{person} {garment}");
    }
    // A raw string that is no URL at all is accepted by the run and fails loading too.
    let id = env
        .run_ok(&json!({"model_name": MODEL_TRYON, "inputs": {"model_image": "person.jpg", "garment_image": env.file("tee.png")}}))
        .await;
    assert_failed_with(&env.until_ended(&id).await, "ImageLoadError");
    assert_eq!(env.sim.state().billed_images(MODEL_TRYON), 0);

    // Without moderation the same garment goes through; two persons are no pose error.
    for (person, garment, extra) in [
        (
            "person.jpg",
            "inappropriate/tee.png",
            json!({"moderation_level": "none"}),
        ),
        ("pair.jpg", "tee.png", json!({})),
    ] {
        let id = env.run_ok(&env.body(person, garment, extra)).await;
        assert_eq!(
            env.until_ended(&id).await.answer.status,
            PredictionStatus::Completed,
            "{person} {garment}"
        );
    }
    assert_eq!(env.sim.state().billed_images(MODEL_TRYON), 2);
}

#[tokio::test]
async fn the_category_decides_which_part_of_the_person_changes() {
    let env = env().await;
    let mut results = Vec::new();
    for category in ["tops", "auto", "bottoms"] {
        let body = env.body(
            "person.jpg",
            "tee.png",
            json!({"category": category, "return_base64": true}),
        );
        let id = env.run_ok(&body).await;
        let output = env.until_ended(&id).await.answer.output.unwrap();
        let data = output[0].split_once(',').unwrap().1.to_owned();
        results.push(
            image::load_from_memory(&decode_base64(&data))
                .unwrap()
                .to_rgb8(),
        );
    }
    // A tee is no one-piece, so `auto` puts it where `tops` does.
    assert!(results[0] == results[1], "auto differs from tops");
    // As a bottom it covers the hips (60-80 % of the height) and leaves the chest
    // (25-40 %) to the person's own top, so both bands differ from the tops result.
    let band_differs = |from: f32, to: f32| {
        let (a, b) = (&results[0], &results[2]);
        let rows = (OUTPUT_HEIGHT as f32 * from) as u32..(OUTPUT_HEIGHT as f32 * to) as u32;
        rows.flat_map(|y| (0..OUTPUT_WIDTH).map(move |x| (x, y)))
            .filter(|(x, y)| a.get_pixel(*x, *y) != b.get_pixel(*x, *y))
            .count()
    };
    assert!(band_differs(0.25, 0.40) > 1000);
    assert!(band_differs(0.60, 0.80) > 1000);
}

#[tokio::test]
async fn injected_faults_answer_fashn_calls_in_fashns_shape() {
    let env = env().await;
    let body = env.body("person.jpg", "tee.png", json!({}));
    assert_eq!(
        env.admin(ADMIN_FAULTS_PATH, json!({"error_share": 1.0}))
            .await,
        StatusCode::OK
    );
    let (status, answer) = env.run(&body).await;
    assert_api_error(status, &answer, 500, "InternalServerError");
    let (status, _, answer) = env.status_raw("x", KEY).await;
    assert_api_error(status, &answer, 500, "InternalServerError");

    assert_eq!(
        env.admin(ADMIN_FAULTS_PATH, json!({"throttle_share": 1.0}))
            .await,
        StatusCode::OK
    );
    let (status, answer) = env.run(&body).await;
    assert_api_error(status, &answer, 429, "RateLimitExceeded");

    for (faults, name) in [
        (json!({"task_failure_share": 1.0}), "PipelineError"),
        (
            json!({"task_failure_share": 1.0, "task_failure_code": "DataInspectionFailed"}),
            "ContentModerationError",
        ),
        (
            json!({"task_failure_share": 1.0, "fashn_failure_name": "3rdPartyProviderError"}),
            "3rdPartyProviderError",
        ),
    ] {
        assert_eq!(env.admin(ADMIN_FAULTS_PATH, faults).await, StatusCode::OK);
        let id = env.run_ok(&body).await;
        assert_failed_with(&env.until_ended(&id).await, name);
    }
    assert_eq!(
        env.admin(
            ADMIN_FAULTS_PATH,
            json!({"fashn_failure_name": "PollingTimeout"})
        )
        .await,
        StatusCode::BAD_REQUEST
    );

    // The task_duration_ms fault sets the processing time, as it sets RUNNING for tasks.
    assert_eq!(
        env.admin(ADMIN_FAULTS_PATH, json!({"task_duration_ms": 30_000}))
            .await,
        StatusCode::OK
    );
    let id = env.run_ok(&body).await;
    let ended = env.until_ended(&id).await;
    assert_eq!(ended.answer.status, PredictionStatus::Completed);
    assert_eq!(ended.seen.last().unwrap().1, millis(1600) + secs(30));
    assert_eq!(env.sim.state().billed_images(MODEL_TRYON), 1);
}

//! End-to-end tests of the emulator's successor endpoint (`qwen-image-2.0`, synchronous multi-image editing) over HTTP: rules, errors, limits, result files and the preview.
//!
//! Every emulator here runs on a manual clock at time scale 1.0: the 8 s generation, the
//! rate windows and the 24 h expiry pass when the test moves the clock. A call that waits
//! out the generation is sent while the test drives the clock to each deadline.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use dashscope_sim::{Account, Faults, SimConfig, SimHandle, spawn};
use reqwest::Client;
use serde_json::{Value, json};
use tryon_api::generation::{
    GENERATION_PATH, GenerationResponse, PlanOptions, SuccessorModel, plan, prompt,
};
use tryon_api::mode::Garments;
use tryon_api::wire::ErrorBody;
use tryon_api::{Locale, Resolution, TryOnMode};
use tryon_clock::ManualClock;

mod support;
use support::{HANG_LIMIT, file, sample, serve};

const KEY: &str = "sk-test";

/// Serves the committed samples plus broken and oversized inputs on port 0.
async fn file_server() -> String {
    let file = |name: &'static str, mime: &'static str| file(sample(name), mime);
    let app = Router::new()
        .route("/person.jpg", file("person-1.jpg", "image/jpeg"))
        .route("/tee.png", file("top-tee.png", "image/png"))
        .route("/trousers.png", file("bottom-trousers.png", "image/png"))
        .route("/inappropriate/tee.png", file("top-tee.png", "image/png"))
        .route(
            "/text",
            get(|| async { "this is not an image ".repeat(500) }),
        )
        .route(
            "/anim.gif",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "image/gif")],
                    b"GIF89a\x01\x00\x01\x00".repeat(100),
                )
                    .into_response()
            }),
        )
        .route(
            "/huge.png",
            get(|| async {
                // A PNG signature and header followed by 11 MB of padding: recognised as
                // PNG, refused for its size before anyone decodes it.
                let mut bytes = sample("top-tee.png")[..33].to_vec();
                bytes.resize(11 * 1024 * 1024, 0);
                ([(header::CONTENT_TYPE, "image/png")], bytes).into_response()
            }),
        );
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

/// An emulator with `config`, the test key and a manual clock of its own; the generation
/// takes 8 s on that clock.
async fn env_with(config: SimConfig) -> Env {
    let time = ManualClock::new();
    Env {
        sim: spawn(
            SimConfig {
                api_keys: vec![KEY.to_owned()],
                clock: time.clock(),
                ..config
            },
            localhost(),
        )
        .await
        .unwrap(),
        files: file_server().await,
        http: Client::new(),
        time,
    }
}

/// An emulator without the submission limit, because most tests send several calls
/// within a second; the tests of the limit itself keep it.
async fn env() -> Env {
    env_with(SimConfig {
        max_creates_per_second: 0,
        ..SimConfig::default()
    })
    .await
}

impl Env {
    fn file(&self, name: &str) -> String {
        format!("{}/{name}", self.files)
    }

    /// A body with the person, the given garments and a text, as the proxy would build it.
    fn body(&self, model: &str, garments: &[&str], text: &str, parameters: Value) -> Value {
        let mut content = vec![json!({ "image": self.file("person.jpg") })];
        content.extend(garments.iter().map(|g| json!({ "image": self.file(g) })));
        content.push(json!({ "text": text }));
        json!({
            "model": model,
            "input": { "messages": [{ "role": "user", "content": content }] },
            "parameters": parameters,
        })
    }

    async fn post(&self, body: &Value) -> (StatusCode, Value) {
        self.post_with_key(body, Some(KEY)).await
    }

    async fn post_with_key(&self, body: &Value, key: Option<&str>) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{GENERATION_PATH}", self.sim.base_url()))
            .json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let call = async {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        };
        // The answer waits out the generation time on the emulator's clock, so the clock
        // is moved to each deadline while the call runs; an answer that needs no wait
        // simply arrives first.
        let drive = async {
            loop {
                self.time.advance_to_next_deadline().await;
            }
            #[allow(unreachable_code)]
            ()
        };
        let answered = async {
            tokio::select! {
                answer = call => answer,
                () = drive => unreachable!("the clock driver never ends"),
            }
        };
        match tokio::time::timeout(HANG_LIMIT, answered).await {
            Ok(answer) => answer,
            Err(_) => panic!("no answer within {HANG_LIMIT:?}"),
        }
    }

    async fn fetch_png(&self, url: &str) -> image::RgbaImage {
        let response = self.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let bytes = response.bytes().await.unwrap();
        image::load_from_memory(&bytes).unwrap().to_rgba8()
    }
}

fn error(body: Value) -> ErrorBody {
    serde_json::from_value(body).unwrap()
}

fn is_coral(px: &image::Rgba<u8>) -> bool {
    px[0] > 180 && px[1] < 140
}

#[tokio::test]
async fn a_planned_top_dresses_the_person_at_the_mapped_size() {
    let env = env().await;
    // The request is the one the proxy's adapter builds, so the emulator is tested
    // against the real prompts.
    let options = PlanOptions {
        resolution: Resolution::Portrait1024,
        ..PlanOptions::new(SuccessorModel::default_model())
    };
    let garments = Garments {
        top: Some(env.file("tee.png")),
        bottom: None,
    };
    let request = plan(
        TryOnMode::TopOnly,
        &env.file("person.jpg"),
        &garments,
        None,
        &options,
    )
    .unwrap();
    let (status, body) = env.post(&serde_json::to_value(&request).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: GenerationResponse = serde_json::from_value(body).unwrap();
    let usage = answer.usage.unwrap();
    assert_eq!(
        (usage.width, usage.height, usage.image_count),
        (576, 1024, 1)
    );
    let images = answer.images();
    assert_eq!(images.len(), 1);
    assert!(images[0].contains("/results/") && images[0].contains("?Expires="));
    let result = env.fetch_png(images[0]).await;
    assert_eq!(result.dimensions(), (576, 1024));
    // The chest shows the coral tee: the prompt made image 2 the top.
    assert!(
        is_coral(result.get_pixel(288, 400)),
        "{:?}",
        result.get_pixel(288, 400)
    );

    // The same tee named as a bottom by the prompt goes below the waist instead.
    let as_bottom = env.body(
        "qwen-image-2.0",
        &["tee.png"],
        &prompt(TryOnMode::BottomOnly, Locale::ZhCn, true),
        json!({ "size": "576*1024" }),
    );
    let (status, body) = env.post(&as_bottom).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: GenerationResponse = serde_json::from_value(body).unwrap();
    let result = env.fetch_png(answer.images()[0]).await;
    assert!(!is_coral(result.get_pixel(288, 400)));
}

#[tokio::test]
async fn n_images_are_returned_billed_and_sized_from_the_person_by_default() {
    let env = env().await;
    let before = env.sim.state().account().free_images_left;
    let body = env.body(
        "qwen-image-2.0",
        &["tee.png", "trousers.png"],
        &prompt(TryOnMode::TopAndBottom, Locale::En, false),
        json!({ "n": 3 }),
    );
    let (status, body) = env.post(&body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: GenerationResponse = serde_json::from_value(body).unwrap();
    assert_eq!(answer.images().len(), 3);
    let usage = answer.usage.unwrap();
    // The 768x1536 person is inside the pixel bounds, so it keeps its size.
    assert_eq!(
        (usage.width, usage.height, usage.image_count),
        (768, 1536, 3)
    );
    assert_eq!(env.sim.state().account().free_images_left, before - 3);
    let first = env.fetch_png(answer.images()[0]).await;
    assert_eq!(first.dimensions(), (768, 1536));
}

#[tokio::test]
async fn the_request_rules_answer_invalid_parameter_naming_the_rule() {
    let env = env().await;
    let text = "图1中的人穿上图2中的上衣";
    let person = json!({ "image": env.file("person.jpg") });
    let words = json!({ "text": text });
    let with_content = |content: Value| json!({ "model": "qwen-image-2.0", "input": { "messages": [{ "role": "user", "content": content }] } });
    let cases = [
        (
            json!({ "model": "qwen-image-2.0", "input": { "messages": [] } }),
            "exactly one message, not 0",
        ),
        (
            json!({ "model": "qwen-image-2.0", "input": { "messages": [{ "role": "assistant", "content": [person, words] }] } }),
            "role must be \"user\"",
        ),
        (with_content(json!([words])), "1 to 3 images, not 0"),
        (
            with_content(json!([person, person, person, person, words])),
            "1 to 3 images, not 4",
        ),
        (with_content(json!([person])), "exactly one text, not 0"),
        (
            with_content(json!([person, words, words])),
            "exactly one text, not 2",
        ),
        (
            env.body("qwen-image-2.0", &[], text, json!({ "n": 7 })),
            "parameters.n must be from 1 to 6, not 7",
        ),
        (
            env.body("qwen-image-2.0", &[], text, json!({ "size": "100*100" })),
            "from 512*512 to 2048*2048",
        ),
        (
            env.body("qwen-image-2.0", &[], text, json!({ "size": "1024x1024" })),
            "must look like \"1024*1536\"",
        ),
        (
            json!({ "model": "qwen-image-2.0" }),
            "not a generation request",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = env.post(&body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let answer = error(answer);
        assert_eq!(answer.code, "InvalidParameter");
        assert!(answer.message.contains(expected), "{}", answer.message);
        assert!(!answer.request_id.is_empty());
    }
}

#[tokio::test]
async fn unknown_and_retired_models_and_bad_keys_are_refused() {
    let env = env().await;
    for model in ["aitryon-plus", "qwen-image-edit-plus", "no-such-model"] {
        let (status, body) = env
            .post(&env.body(model, &["tee.png"], "图2中的上衣", json!({})))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{model}");
        assert_eq!(error(body).code, "ModelNotFound");
    }
    let body = env.body("qwen-image-2.0", &["tee.png"], "图2中的上衣", json!({}));
    let (status, answer) = env.post_with_key(&body, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error(answer).message, "No API-key provided.");
    let (status, answer) = env.post_with_key(&body, Some("sk-wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error(answer).message, "Invalid API-key provided.");
}

#[tokio::test]
async fn submissions_are_limited_per_model() {
    let env = env_with(SimConfig::default()).await;
    // Bodies that break a rule are counted too (the limit applies before the rules), and
    // the clock stands still, so three of them land within one second.
    let broken = |model: &str| env.body(model, &[], "t", json!({ "n": 0 }));
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(env.post(&broken("qwen-image-2.0")).await.0);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::BAD_REQUEST,
            StatusCode::BAD_REQUEST,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    let (_, body) = env.post(&broken("qwen-image-2.0")).await;
    assert_eq!(error(body).code, "Throttling.RateQuota");
    // The -pro model has its own window of two per minute.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(env.post(&broken("qwen-image-2.0-pro")).await.0);
    }
    assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS);
    // One second later the 2.0 window admits again, the -pro one does not until the
    // minute is over.
    env.time.advance(Duration::from_secs(1));
    assert_eq!(
        env.post(&broken("qwen-image-2.0")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        env.post(&broken("qwen-image-2.0-pro")).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    env.time.advance(Duration::from_secs(59));
    assert_eq!(
        env.post(&broken("qwen-image-2.0-pro")).await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn a_zero_create_limit_turns_the_submission_limit_off() {
    let env = env_with(SimConfig {
        max_creates_per_second: 0,
        ..SimConfig::default()
    })
    .await;
    let broken = env.body("qwen-image-2.0-pro", &[], "t", json!({ "n": 0 }));
    for _ in 0..5 {
        assert_eq!(env.post(&broken).await.0, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn input_images_follow_the_successor_rules() {
    let env = env().await;
    let text = prompt(TryOnMode::TopOnly, Locale::ZhCn, true);
    let cases = [
        (
            "text",
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "image 2: the image must be JPEG, PNG, BMP, TIFF, WEBP or GIF",
        ),
        (
            "huge.png",
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "at most 10 MB",
        ),
        (
            "anim.gif",
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "cannot decode TIFF or GIF",
        ),
        ("missing.png", StatusCode::BAD_REQUEST, "InvalidURL", ""),
        (
            "inappropriate/tee.png",
            StatusCode::BAD_REQUEST,
            "DataInspectionFailed",
            "",
        ),
    ];
    for (garment, status, code, message) in cases {
        let (got, body) = env
            .post(&env.body("qwen-image-2.0", &[garment], &text, json!({})))
            .await;
        assert_eq!(got, status, "{garment}: {body}");
        let body = error(body);
        assert_eq!(body.code, code, "{garment}");
        assert!(
            body.message.contains(message),
            "{garment}: {}",
            body.message
        );
    }
}

/// Standard base64 with padding, for building `data:` URLs.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn data_urls_are_accepted_as_images() {
    let env = env().await;
    let mut body = env.body(
        "qwen-image-2.0",
        &["tee.png"],
        &prompt(TryOnMode::TopOnly, Locale::En, true),
        json!({ "size": "576*1024" }),
    );
    body["input"]["messages"][0]["content"][0]["image"] = json!(format!(
        "data:image/jpeg;base64,{}",
        base64(&sample("person-1.jpg"))
    ));
    let (status, answer) = env.post(&body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer: GenerationResponse = serde_json::from_value(answer).unwrap();
    let result = env.fetch_png(answer.images()[0]).await;
    assert!(is_coral(result.get_pixel(288, 400)));
}

#[tokio::test]
async fn an_inline_photo_of_several_megabytes_is_read_not_refused_for_its_size() {
    // The proxy sends shopper photos (up to 5 MB) inline; base64 makes that about 6.7 MB,
    // far past axum's default body limit. Bytes after the JPEG's end marker keep the
    // picture the same while making the file 3.5 MB.
    let env = env().await;
    let mut photo = sample("person-1.jpg");
    photo.resize(3_500_000, 0);
    let mut body = env.body(
        "qwen-image-2.0",
        &["tee.png"],
        &prompt(TryOnMode::TopOnly, Locale::En, true),
        json!({ "size": "576*1024" }),
    );
    body["input"]["messages"][0]["content"][0]["image"] =
        json!(format!("data:image/jpeg;base64,{}", base64(&photo)));
    let (status, answer) = env.post(&body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn the_answer_waits_the_generation_time() {
    let env = env().await;
    let body = env.body(
        "qwen-image-2.0",
        &["tee.png"],
        &prompt(TryOnMode::TopOnly, Locale::ZhCn, true),
        json!({}),
    );
    let started = env.sim.state().clock().now();
    let call = tokio::spawn(
        env.http
            .post(format!("{}{GENERATION_PATH}", env.sim.base_url()))
            .bearer_auth(KEY)
            .json(&body)
            .send(),
    );
    // The handler reads the inputs, renders, then waits on the clock for 8 s after the
    // call arrived; a moment short of that it is still waiting.
    tokio::time::timeout(HANG_LIMIT, env.time.until_sleepers(1))
        .await
        .expect("the handler waits on the clock");
    let answer_at = started + Duration::from_secs(8);
    assert_eq!(env.time.next_deadline(), Some(answer_at));
    env.time.advance(Duration::from_millis(7_999));
    assert_eq!(env.time.next_deadline(), Some(answer_at));
    env.time.advance(Duration::from_millis(1));
    let response = tokio::time::timeout(HANG_LIMIT, call)
        .await
        .expect("the answer comes once 8 s have passed")
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn result_links_expire_after_24_hours() {
    let env = env().await;
    let body = env.body(
        "qwen-image-2.0",
        &["tee.png"],
        &prompt(TryOnMode::TopOnly, Locale::ZhCn, true),
        json!({}),
    );
    let (status, answer) = env.post(&body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer: GenerationResponse = serde_json::from_value(answer).unwrap();
    let url = answer.images()[0].to_owned();
    let fetch = || async { env.http.get(&url).send().await.unwrap().status() };
    assert_eq!(fetch().await, StatusCode::OK);
    // The file was stored as the answer went out; it is served for exactly 24 h.
    env.time.advance(Duration::from_secs(24 * 3600));
    assert_eq!(fetch().await, StatusCode::OK);
    env.time.advance(Duration::from_millis(1));
    assert_eq!(fetch().await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn account_standing_and_injected_failures_apply() {
    let env = env_with(SimConfig {
        account: Account {
            unavailable_models: vec!["qwen-image-2.0-pro".into()],
            ..Account::default()
        },
        faults: Faults {
            task_failure_share: 1.0,
            task_failure_code: Some("DataInspectionFailed".into()),
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let text = prompt(TryOnMode::TopOnly, Locale::ZhCn, true);
    let (status, body) = env
        .post(&env.body("qwen-image-2.0-pro", &["tee.png"], &text, json!({})))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error(body).code, "ModelUnavailable");
    let before = env.sim.state().account().free_images_left;
    let (status, body) = env
        .post(&env.body("qwen-image-2.0", &["tee.png"], &text, json!({})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error(body).code, "DataInspectionFailed");
    assert_eq!(
        env.sim.state().account().free_images_left,
        before,
        "failed calls are not billed"
    );
}

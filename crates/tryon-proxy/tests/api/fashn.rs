//! The FASHN adapter against the emulator's FASHN endpoints: every mode to a kept result, the outfit as two predictions billed as two, a pose failure reaching the shopper with its catalogue code, out of credits, and the key kept out of answers and logs.

use secrecy::SecretString;
use serde_json::{Value, json};
use tryon_api::generation::{CAPABILITIES_PATH, Capabilities, KeepOwnGarment};
use tryon_api::proxy::FILES_PATH;
use tryon_api::wire::{CreateTaskResponse, SEGMENT_PATH, SegmentResponse, TaskQueryResponse};
use tryon_api::{ErrorKind, Resolution, TaskStatus};
use tryon_clock::ManualClock;
use tryon_proxy::admission::AdmissionLimits;
use tryon_proxy::configuration::UpstreamSettings;
use tryon_proxy::policy::PolicySettings;

use crate::binary::{start_binary_configured, wait_done};
use crate::helpers::{
    Adapter, TestApp, empty_wall_jpeg, metric, noise_jpeg, noise_png, spawn_app_on_clock,
    spawn_sim, two_tone_person,
};

/// A recognisable FASHN key, looked for in every answer and log line.
const KEY: &str = "fa-test-RECOGNISABLE-51c2e8";

/// A proxy with `TRYON_UPSTREAM=fashn` against a test-started emulator that accepts
/// [`KEY`], both on `time`, which runs.
async fn spawn_fashn(time: &ManualClock) -> (TestApp, dashscope_sim::SimHandle) {
    let spawned = spawn_fashn_held(time).await;
    time.resume();
    spawned
}

/// As [`spawn_fashn`], with `time` left standing still.
async fn spawn_fashn_held(time: &ManualClock) -> (TestApp, dashscope_sim::SimHandle) {
    let sim = spawn_sim(KEY, |config| config.clock = time.clock()).await;
    let app = spawn_app_on_clock(
        time,
        Adapter::fashn(),
        UpstreamSettings::Fashn {
            base_url: sim.base_url(),
            api_key: SecretString::from(KEY.to_owned()),
        },
        AdmissionLimits::default(),
        PolicySettings::open(),
        None,
        None,
    )
    .await;
    (app, sim)
}

/// A create body for `person` (uploaded here) with the given garments.
fn body(person: &str, top: Option<&str>, bottom: Option<&str>, one_piece: bool) -> Value {
    let mut body = json!({
        "model": "aitryon-plus",
        "input": {"person_image_url": person},
        "parameters": {"resolution": -1, "restore_face": true}
    });
    if let Some(top) = top {
        body["input"]["top_garment_url"] = json!(top);
    }
    if let Some(bottom) = bottom {
        body["input"]["bottom_garment_url"] = json!(bottom);
    }
    if one_piece {
        body["parameters"]["one_piece"] = json!(true);
    }
    body
}

/// The keep-own marker of `region` that an older widget asks segmentation for.
async fn marker(app: &TestApp, person: &str, region: &str) -> String {
    let answer: SegmentResponse = app
        .http
        .post(app.url(SEGMENT_PATH))
        .json(&json!({
            "model": "aitryon-parsing-v1",
            "input": {"image_url": person},
            "parameters": {"clothes_type": [region]}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer.usage.map(|u| u.image_count), Some(0), "free");
    answer.output.crop_img_url[0].clone().expect("a marker")
}

/// Creates, waits for the end, and checks a kept 864x1296 result; answers the end.
async fn run_to_result(app: &TestApp, body: &Value) -> TaskQueryResponse {
    let response = app.create(body).await;
    assert_eq!(response.status(), 200);
    let created: CreateTaskResponse = response.json().await.unwrap();
    let done = app.wait_until_done(&created.output.task_id).await;
    assert_eq!(done.output.task_status, TaskStatus::Succeeded, "{done:?}");
    assert!(done.output.submit_time.is_some() && done.output.end_time.is_some());
    let url = done.output.image_url.clone().expect("a result");
    assert!(url.starts_with(&app.url(FILES_PATH)), "kept here: {url}");
    let bytes = app
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let picture = image::load_from_memory(&bytes).expect("the result is an image");
    assert_eq!((picture.width(), picture.height()), (864, 1296));
    done
}

#[tokio::test]
async fn every_mode_runs_to_a_kept_result_and_the_outfit_is_billed_as_two() {
    let time = ManualClock::new();
    let (app, sim) = spawn_fashn(&time).await;
    let person = app.upload_ok(two_tone_person(), "image/jpeg").await.url;
    let top = app.upload_ok(noise_png(300, 360, 2), "image/png").await.url;
    let bottom = app.upload_ok(noise_png(300, 420, 3), "image/png").await.url;
    let dress = app.upload_ok(noise_png(300, 700, 4), "image/png").await.url;
    let (top, bottom) = (Some(top.as_str()), Some(bottom.as_str()));

    // The widget sends the keep-own modes as the garment alone (the capabilities say
    // "category"); an older one segments first and sends the free marker beside it.
    let own_bottom = marker(&app, &person, "lower").await;
    let own_top = marker(&app, &person, "upper").await;
    let singles = [
        ("top only", body(&person, top, None, false)),
        (
            "top over own bottom",
            body(&person, top, Some(&own_bottom), false),
        ),
        ("bottom only", body(&person, None, bottom, false)),
        (
            "bottom under own top",
            body(&person, Some(&own_top), bottom, false),
        ),
        ("dress", body(&person, Some(&dress), None, true)),
    ];
    for (mode, body) in &singles {
        let done = run_to_result(&app, body).await;
        assert_eq!(done.usage.map(|u| u.image_count), Some(1), "{mode}");
    }
    assert_eq!(
        sim.state().billed_images("tryon-v1.6"),
        5,
        "one prediction each"
    );
    assert_eq!(metric(&app, "tryon_images_billed_today").await, Some(5.0));

    // The outfit: the top, then the bottom on its picture; two images on both bills.
    let done = run_to_result(&app, &body(&person, top, bottom, false)).await;
    assert_eq!(done.usage.map(|u| u.image_count), Some(2), "{done:?}");
    assert_eq!(sim.state().billed_images("tryon-v1.6"), 7);
    assert_eq!(metric(&app, "tryon_images_billed_today").await, Some(7.0));
    let spend = metric(&app, "tryon_spend_cny_total{model=\"tryon-v1.6\"}")
        .await
        .expect("spend");
    assert!((spend - 7.0 * 0.54).abs() < 1e-9, "{spend}");
    assert_eq!(
        metric(
            &app,
            "tryon_upstream_responses_total{call=\"segment\",status=\"200\"}"
        )
        .await,
        None,
        "nothing was segmented"
    );
}

#[tokio::test]
async fn a_photo_without_a_pose_fails_with_the_catalogue_code_and_bills_nothing() {
    let time = ManualClock::new();
    let (app, sim) = spawn_fashn(&time).await;
    let person = app
        .upload_ok(empty_wall_jpeg(360, 540), "image/jpeg")
        .await
        .url;
    let top = app.upload_ok(noise_png(300, 360, 5), "image/png").await.url;
    let created: CreateTaskResponse = app
        .create(&body(&person, Some(&top), None, false))
        .await
        .json()
        .await
        .unwrap();
    let done = app.wait_until_done(&created.output.task_id).await;
    assert_eq!(done.output.task_status, TaskStatus::Failed, "{done:?}");
    assert_eq!(
        done.output.code.as_deref(),
        Some(ErrorKind::FashnPoseError.code())
    );
    // The widget explains the code in the shopper's language from the catalogue.
    let kind = ErrorKind::from_wire("PoseError", "").unwrap();
    assert_eq!(kind, ErrorKind::FashnPoseError);
    assert!(!kind.explain(tryon_api::Locale::ZhCn).what.is_empty());
    assert!(done.output.message.is_some_and(|m| !m.is_empty()));
    assert_eq!(sim.state().billed_images("tryon-v1.6"), 0);
    assert_eq!(metric(&app, "tryon_images_billed_today").await, Some(0.0));
}

#[tokio::test]
async fn an_outfit_whose_bottom_fails_bills_its_top_and_is_not_resubmitted() {
    let time = ManualClock::new();
    let (app, sim) = spawn_fashn_held(&time).await;
    let person = app.upload_ok(two_tone_person(), "image/jpeg").await.url;
    let top = app.upload_ok(noise_png(300, 360, 2), "image/png").await.url;
    let bottom = app.upload_ok(noise_png(300, 420, 3), "image/png").await.url;
    let created: CreateTaskResponse = app
        .create(&body(&person, Some(&top), Some(&bottom), false))
        .await
        .json()
        .await
        .unwrap();
    let id = created.output.task_id;
    // The top is sent on a sound service; every prediction sent after it fails with
    // FASHN's transient PipelineError, so the bottom does.
    app.until_job(&id, |record| record.upstream_id.is_some())
        .await;
    sim.state().set_faults(dashscope_sim::Faults {
        task_failure_share: 1.0,
        ..dashscope_sim::Faults::default()
    });
    time.resume();
    let done = app.wait_until_done(&id).await;
    assert_eq!(done.output.task_status, TaskStatus::Failed, "{done:?}");
    assert_eq!(done.output.code.as_deref(), Some("PipelineError"));
    // FASHN charged the top: the shop's ledger says so, and a free second try would not
    // be free, so there is none.
    assert_eq!(sim.state().billed_images("tryon-v1.6"), 1);
    assert_eq!(metric(&app, "tryon_images_billed_today").await, Some(1.0));
    assert_eq!(metric(&app, "tryon_resubmissions_total").await, Some(0.0));
}

#[tokio::test]
async fn out_of_credits_is_answered_at_once_with_its_catalogue_entry() {
    let time = ManualClock::new();
    let (app, sim) = spawn_fashn(&time).await;
    sim.state().set_account(dashscope_sim::config::Account {
        fashn_credits_left: 0,
        ..Default::default()
    });
    let person = app
        .upload_ok(noise_jpeg(360, 540, 6), "image/jpeg")
        .await
        .url;
    let top = app.upload_ok(noise_png(300, 360, 7), "image/png").await.url;
    let response = app.create(&body(&person, Some(&top), None, false)).await;
    assert_eq!(response.status(), 402, "final, not retried as throttling");
    let refusal = crate::helpers::error_body(response).await;
    assert_eq!(refusal.code, ErrorKind::FashnOutOfCredits.code());
    assert_eq!(
        metric(
            &app,
            "tryon_upstream_responses_total{call=\"create\",status=\"402\"}"
        )
        .await,
        Some(1.0),
        "one call: waiting refills no credits"
    );
}

#[tokio::test]
async fn the_capabilities_offer_what_fashn_can_do() {
    let time = ManualClock::new();
    let (app, _sim) = spawn_fashn(&time).await;
    let offered: Capabilities = app
        .http
        .get(app.url(CAPABILITIES_PATH))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(offered.model, "tryon-v1.6");
    assert_eq!(offered.modes.len(), 6);
    assert_eq!(offered.resolutions, vec![Resolution::Original]);
    assert_eq!(offered.face_choice, None);
    assert_eq!(offered.keep_own_garment, KeepOwnGarment::Category);
    // HEIC is refused at upload, before the shopper picks a garment.
    let heic = crate::helpers::fake_heic(800, 1200, 60_000);
    assert_eq!(app.upload(heic, "image/heic").await.status(), 415);
}

#[tokio::test]
async fn the_fashn_key_never_reaches_an_answer_or_the_log() {
    let sim = spawn_sim(KEY, |_| {}).await;
    let data = tempfile::tempdir().unwrap();
    let (mut child, base, log) = start_binary_configured(
        &sim,
        "127.0.0.1:0",
        data.path(),
        Some("fashn"),
        &[
            ("FASHN_API_KEY", KEY),
            ("FASHN_BASE_URL", &sim.base_url()),
            ("RUST_LOG", "debug"),
        ],
    );
    let http = crate::helpers::shop_page_client();
    let upload = |bytes: Vec<u8>, kind: &'static str| {
        let http = http.clone();
        let url = format!("{base}{}", tryon_api::proxy::UPLOADS_PATH);
        async move {
            let answer: tryon_api::proxy::UploadResponse = http
                .post(url)
                .header("content-type", kind)
                .body(bytes)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answer.url
        }
    };
    let person = upload(noise_jpeg(360, 540, 8), "image/jpeg").await;
    let top = upload(noise_png(300, 360, 9), "image/png").await;
    let bottom = upload(noise_png(300, 420, 10), "image/png").await;
    let created = http
        .post(format!("{base}{}", tryon_api::wire::CREATE_TASK_PATH))
        .json(&body(&person, Some(&top), Some(&bottom), false))
        .send()
        .await
        .unwrap();
    let text = created.text().await.unwrap();
    assert!(!text.contains(KEY), "{text}");
    let created: CreateTaskResponse = serde_json::from_str(&text).unwrap();
    let done = wait_done(&http, &base, &created.output.task_id).await;
    assert_eq!(done.output.task_status, TaskStatus::Succeeded, "{done:?}");
    for path in [
        "/api/v1/tryon/status",
        "/readyz",
        "/metrics",
        CAPABILITIES_PATH,
    ] {
        let answer = http.get(format!("{base}{path}")).send().await.unwrap();
        let text = answer.text().await.unwrap();
        assert!(!text.contains(KEY), "{path}: {text}");
    }
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200, "the probe reaches FASHN with the key");
    child.kill().unwrap();
    child.wait().unwrap();
    let lines = log.lock().unwrap();
    assert!(
        lines.iter().any(|line| line.contains("fashn")),
        "the log names the upstream"
    );
    assert!(!lines.is_empty());
    for line in lines.iter() {
        assert!(!line.contains(KEY), "the log holds the key: {line}");
    }
}

//! Idempotent creates: a create repeated with its `Idempotency-Key` answers the job its first attempt made and counts nothing again.

use std::time::Duration;

use serde_json::Value;
use tryon_api::TaskStatus;
use tryon_api::wire::{CREATE_TASK_PATH, CreateTaskResponse};
use tryon_clock::ManualClock;
use tryon_proxy::admission::AdmissionLimits;
use tryon_proxy::configuration::UpstreamSettings;
use tryon_proxy::policy::PolicySettings;
use tryon_proxy::routes::SHOPPER_PATH;

use crate::helpers::{
    TIME_SCALE, TestApp, dashscope, error_body, metric, new_shopper, noise_jpeg, spawn_app,
    spawn_app_full, spawn_app_on, spawn_app_with, spawn_embedded_on_clock, spawn_sim, sweep_after,
};

/// Sends a create with `key` in the `Idempotency-Key` header (none when `None`).
async fn create_with(
    app: &TestApp,
    client: &reqwest::Client,
    key: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut request = client.post(app.url(CREATE_TASK_PATH)).json(body);
    if let Some(key) = key {
        request = request.header(tryon_api::IDEMPOTENCY_KEY_HEADER, key);
    }
    request.send().await.expect("the create request is sent")
}

/// A create that must be accepted; answers its task id.
async fn created(
    app: &TestApp,
    client: &reqwest::Client,
    key: Option<&str>,
    body: &Value,
) -> String {
    let response = create_with(app, client, key, body).await;
    assert_eq!(response.status(), 200, "create refused");
    let answer: CreateTaskResponse = response.json().await.unwrap();
    answer.output.task_id
}

/// How many jobs the proxy holds.
fn jobs(app: &TestApp) -> usize {
    app.proxy.state.jobs.all().len()
}

/// The same body with another person photo URL, as a different try-on would send.
fn another_body(body: &Value) -> Value {
    let mut other = body.clone();
    other["parameters"]["restore_face"] = Value::Bool(false);
    other
}

#[tokio::test]
async fn a_repeat_with_the_same_key_and_body_answers_the_same_job_and_counts_nothing() {
    // A limit of one try-on a day: a repeat that counted would be refused.
    let app = spawn_app_full(
        UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        AdmissionLimits::default(),
        None,
        PolicySettings {
            shopper_daily_limit: 1,
            ..PolicySettings::open()
        },
        None,
    )
    .await;
    let (_, shopper) = new_shopper(&app).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 120)).await;

    let first = created(&app, &shopper, Some("attempt-1"), &body).await;
    let repeat = created(&app, &shopper, Some("attempt-1"), &body).await;
    assert_eq!(repeat, first, "the repeat answers the first attempt's job");
    assert_eq!(jobs(&app), 1, "no second job");
    // The job is this shopper's, so the test reads its end from the proxy's record.
    app.until_job(&first, |record| record.status.is_terminal())
        .await;
    let done = app.proxy.state.jobs.get(&first).unwrap().snapshot();
    assert_eq!(done.status, TaskStatus::Succeeded);
    // A repeat after the job ended still answers it, in its current state.
    let response = create_with(&app, &shopper, Some("attempt-1"), &body).await;
    assert_eq!(response.status(), 200);
    let late: CreateTaskResponse = response.json().await.unwrap();
    assert_eq!(late.output.task_id, first);
    assert_eq!(late.output.task_status, TaskStatus::Succeeded);
    assert_eq!(jobs(&app), 1);

    let status = app.shop_status(&shopper).await;
    assert_eq!(status.shopper_remaining, Some(0), "counted once");
    let fresh = create_with(&app, &shopper, Some("attempt-2"), &body).await;
    assert_eq!(fresh.status(), 429, "a new attempt meets the daily limit");
    assert_eq!(error_body(fresh).await.code, "Proxy.ShopperDailyLimit");
    assert_eq!(
        metric(&app, "tryon_images_billed_total{model=\"aitryon-plus\"}").await,
        Some(1.0),
        "billed once"
    );
}

#[tokio::test]
async fn a_repeat_with_another_body_is_refused_as_a_reused_key() {
    let app = spawn_app().await;
    let body = app.tryon_body(noise_jpeg(300, 450, 121)).await;
    let first = created(&app, &app.http, Some("attempt-1"), &body).await;
    let response = create_with(&app, &app.http, Some("attempt-1"), &another_body(&body)).await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        error_body(response).await.code,
        "Proxy.IdempotencyKeyReused"
    );
    assert_eq!(jobs(&app), 1);
    // The same body laid out differently is the same request.
    let spaced = serde_json::to_string_pretty(&body).unwrap();
    let response = app
        .http
        .post(app.url(CREATE_TASK_PATH))
        .header("content-type", "application/json")
        .header(tryon_api::IDEMPOTENCY_KEY_HEADER, "attempt-1")
        .body(spaced)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: CreateTaskResponse = response.json().await.unwrap();
    assert_eq!(answer.output.task_id, first);
}

#[tokio::test]
async fn a_malformed_key_is_refused_with_the_reason() {
    let app = spawn_app().await;
    let body = app.tryon_body(noise_jpeg(300, 450, 122)).await;
    for bad in ["with space".to_owned(), "k".repeat(256)] {
        let response = create_with(&app, &app.http, Some(&bad), &body).await;
        assert_eq!(response.status(), 400, "{bad:?}");
        let error = error_body(response).await;
        assert_eq!(error.code, "InvalidParameter");
        assert!(
            error.message.contains("Idempotency-Key"),
            "{}",
            error.message
        );
    }
    assert_eq!(jobs(&app), 0);
}

#[tokio::test]
async fn one_shoppers_keys_mean_nothing_to_another() {
    let app = spawn_app().await;
    let (_, first) = new_shopper(&app).await;
    let (_, second) = new_shopper(&app).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 123)).await;
    let mine = created(&app, &first, Some("same-key"), &body).await;
    let theirs = created(&app, &second, Some("same-key"), &body).await;
    assert_ne!(mine, theirs, "each shopper gets their own job");
    assert_eq!(jobs(&app), 2);
    // Not even a different body is refused: the key is new to this shopper.
    let third = created(&app, &second, Some("other-key"), &another_body(&body)).await;
    assert_ne!(third, theirs);
}

#[tokio::test]
async fn without_a_key_two_creates_make_two_jobs() {
    let app = spawn_app().await;
    let body = app.tryon_body(noise_jpeg(300, 450, 124)).await;
    let one = created(&app, &app.http, None, &body).await;
    let two = created(&app, &app.http, None, &body).await;
    assert_ne!(one, two);
    assert_eq!(jobs(&app), 2);
}

// Several worker threads, so that the creates really race for the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_creates_with_one_key_make_one_job() {
    let app = spawn_app().await;
    let body = app.tryon_body(noise_jpeg(300, 450, 125)).await;
    let mut creates = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (client, url, body) = (app.http.clone(), app.url(CREATE_TASK_PATH), body.clone());
        creates.spawn(async move {
            let response = client
                .post(url)
                .header(tryon_api::IDEMPOTENCY_KEY_HEADER, "burst")
                .json(&body)
                .send()
                .await
                .expect("the create request is sent");
            assert_eq!(response.status(), 200);
            response
                .json::<CreateTaskResponse>()
                .await
                .unwrap()
                .output
                .task_id
        });
    }
    let ids = creates.join_all().await;
    assert_eq!(ids.len(), 10);
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(jobs(&app), 1);
    assert_eq!(
        app.proxy.state.key_locks.in_use(),
        0,
        "every key lock let go"
    );
}

#[tokio::test]
async fn the_key_survives_a_restart() {
    let app = spawn_app().await;
    let body = app.tryon_body(noise_jpeg(300, 450, 126)).await;
    let first = created(&app, &app.http, Some("before-restart"), &body).await;
    app.wait_until_done(&first).await;
    let data_dir = app.stop().await;

    let app = spawn_app_on(
        UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        AdmissionLimits::default(),
        Some(data_dir),
    )
    .await;
    let repeat = created(&app, &app.http, Some("before-restart"), &body).await;
    assert_eq!(repeat, first);
    assert_eq!(jobs(&app), 1);
    let response = create_with(
        &app,
        &app.http,
        Some("before-restart"),
        &another_body(&body),
    )
    .await;
    assert_eq!(response.status(), 422, "the fingerprint was kept too");
}

#[tokio::test]
async fn deleting_ones_data_frees_ones_keys() {
    let app = spawn_app().await;
    let (_, shopper) = new_shopper(&app).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 127)).await;
    let first = created(&app, &shopper, Some("mine"), &body).await;
    app.until_job(&first, |record| record.status.is_terminal())
        .await;
    let response = shopper.delete(app.url(SHOPPER_PATH)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let again = created(&app, &shopper, Some("mine"), &another_body(&body)).await;
    assert_ne!(again, first, "the key was forgotten with the data");
}

#[tokio::test]
async fn the_retention_sweep_forgets_keys_older_than_the_period() {
    let time = ManualClock::new();
    let app = spawn_embedded_on_clock(&time, Some(Duration::from_secs(3600))).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 128)).await;
    time.resume();
    let first = created(&app, &app.http, Some("old-key"), &body).await;
    app.wait_until_done(&first).await;
    time.pause();

    // The sweeper sweeps every quarter of the period.
    sweep_after(&app, &time, Duration::from_secs(59 * 60)).await;
    let response = create_with(&app, &app.http, Some("old-key"), &another_body(&body)).await;
    assert_eq!(response.status(), 422, "within the period the key is kept");

    sweep_after(&app, &time, Duration::from_secs(15 * 60)).await;
    // The sweep took the photos too, so the new try-on brings new ones.
    let fresh = app.tryon_body(noise_jpeg(300, 450, 129)).await;
    time.resume();
    let response = create_with(&app, &app.http, Some("old-key"), &fresh).await;
    assert_eq!(
        response.status(),
        200,
        "after the period the key is free again"
    );
    let answer: CreateTaskResponse = response.json().await.unwrap();
    assert_ne!(answer.output.task_id, first);
}

#[tokio::test]
async fn a_cross_site_widget_may_send_the_key() {
    let app = spawn_app().await;
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, app.url(CREATE_TASK_PATH))
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,idempotency-key",
        )
        .send()
        .await
        .unwrap();
    let allowed = preflight
        .headers()
        .get("access-control-allow-headers")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(allowed.contains("idempotency-key"), "{allowed:?}");
}

#[tokio::test]
async fn a_refused_first_attempt_frees_its_key_for_the_retry() {
    let sim = spawn_sim("sk-idem", |_| {}).await;
    let app = spawn_app_with(dashscope(&sim, "sk-idem")).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 129)).await;
    sim.state().set_account(dashscope_sim::config::Account {
        in_arrears: true,
        ..Default::default()
    });
    let refused = create_with(&app, &app.http, Some("retried"), &body).await;
    assert_eq!(refused.status(), 400, "relayed in the upstream's shape");
    assert_eq!(error_body(refused).await.code, "Arrearage");
    assert_eq!(jobs(&app), 0, "a refusal leaves no job behind");

    // The account is in order again: the retry with the same key and body is judged
    // afresh and makes the job.
    sim.state().set_account(Default::default());
    let id = created(&app, &app.http, Some("retried"), &body).await;
    assert_eq!(jobs(&app), 1);
    let repeat = created(&app, &app.http, Some("retried"), &body).await;
    assert_eq!(repeat, id);
}

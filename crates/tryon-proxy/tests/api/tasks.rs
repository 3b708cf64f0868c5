//! Create, query, long poll and cancel against the embedded emulator, plus status, health and CORS.

use std::time::Duration;

use serde_json::json;
use tryon_api::TaskStatus;
use tryon_api::proxy::{FILES_PATH, STATUS_PATH, ShopStatus};
use tryon_api::wire::{CreateTaskResponse, TaskQueryResponse, cancel_path};
use tryon_clock::ManualClock;

use crate::helpers::{HANG_LIMIT, TestApp, empty_wall_jpeg, error_body, noise_jpeg, spawn_app};

/// A proxy with the embedded emulator, both on `time`.
async fn spawn_on(time: &ManualClock) -> TestApp {
    crate::helpers::spawn_embedded_on_clock(time, None).await
}

#[tokio::test]
async fn upload_create_poll_and_download_the_kept_result() {
    let time = ManualClock::new();
    let app = spawn_on(&time).await;
    let body = app.tryon_body(noise_jpeg(360, 540, 10)).await;

    time.resume();
    let response = app.create(&body).await;
    assert_eq!(response.status(), 200);
    let created: CreateTaskResponse = response.json().await.unwrap();
    assert_eq!(created.output.task_status, TaskStatus::Pending);
    assert!(uuid::Uuid::parse_str(&created.output.task_id).is_ok());

    let done = app.wait_until_done(&created.output.task_id).await;
    time.pause();
    assert_eq!(done.output.task_status, TaskStatus::Succeeded, "{done:?}");
    assert_eq!(done.output.task_id, created.output.task_id);
    assert_eq!(done.usage.map(|u| u.image_count), Some(1));
    assert!(done.output.submit_time.is_some() && done.output.end_time.is_some());
    let image_url = done.output.image_url.expect("a result URL");
    assert!(
        image_url.starts_with(&app.url(FILES_PATH)),
        "the result is hosted by the proxy: {image_url}"
    );

    let result = app.http.get(&image_url).send().await.unwrap();
    assert_eq!(result.status(), 200);
    assert!(
        result.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("image/")
    );
    let bytes = result.bytes().await.unwrap();
    let decoded = image::load_from_memory(&bytes).expect("the result is an image");
    assert!(decoded.width() >= 150);

    // Once done, a query answers at once even when asked to wait: the clock is held
    // still, so a query that waited would never answer.
    let again = tokio::time::timeout(
        HANG_LIMIT,
        app.get_task(&created.output.task_id, "?wait_ms=5000"),
    )
    .await
    .expect("a finished job answers without waiting");
    let again: TaskQueryResponse = again.json().await.unwrap();
    assert_eq!(again.output.image_url.as_deref(), Some(image_url.as_str()));
}

#[tokio::test]
async fn a_failed_upstream_task_shows_its_code_and_message() {
    let app = spawn_app().await;
    let body = app.tryon_body(empty_wall_jpeg(360, 540)).await;
    let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    let done = app.wait_until_done(&created.output.task_id).await;
    assert_eq!(done.output.task_status, TaskStatus::Failed);
    assert_eq!(done.output.code.as_deref(), Some("InvalidPerson"));
    assert!(done.output.message.is_some_and(|m| !m.is_empty()));
    assert_eq!(done.output.image_url, None);
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_the_status_changes() {
    let time = ManualClock::new();
    let app = spawn_on(&time).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 11)).await;
    let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    let poll = tokio::spawn({
        let (http, url) = (
            app.http.clone(),
            app.url(&tryon_api::wire::task_path(&created.output.task_id)),
        );
        async move {
            let answer = http
                .get(format!("{url}?wait_ms=25000&since=PENDING"))
                .send()
                .await
                .unwrap();
            answer.json::<TaskQueryResponse>().await.unwrap()
        }
    });
    // Time moves only from one waiting party's deadline to the next, and only once all
    // four are waiting again (the sweeper, the long poll, the proxy's poll loop and the
    // emulator's task) besides the proxy's idle loops: the long poll answers at the first change the proxy learns of,
    // long before its own 25 s.
    let mut poll = poll;
    let answered = async {
        loop {
            tokio::select! {
                biased;
                answer = &mut poll => return answer.unwrap(),
                () = time.until_waiting_ahead(4 + app.idle_clock_waiters()) => {}
            }
            time.advance_to_next_deadline().await;
        }
    };
    let answer = tokio::time::timeout(HANG_LIMIT, answered)
        .await
        .expect("the long poll answers");
    assert_ne!(answer.output.task_status, TaskStatus::Pending);
    assert!(
        time.elapsed() < Duration::from_secs(25),
        "answered at {:?}, by its timeout rather than by the change",
        time.elapsed()
    );
}

#[tokio::test]
async fn unknown_jobs_answer_404_task_not_found() {
    let app = spawn_app().await;
    let response = app.get_task("no-such-job", "").await;
    assert_eq!(response.status(), 404);
    let body = error_body(response).await;
    assert_eq!(body.code, "Proxy.TaskNotFound");

    let response = app
        .http
        .post(app.url(&cancel_path("no-such-job")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn bad_create_bodies_are_refused_with_the_catalogue_codes() {
    let app = spawn_app().await;
    let person = "http://127.0.0.1:9/p.jpg";
    let cases = [
        ("not json", "InvalidParameter"),
        (r#"{"model":"aitryon-plus","input":{}}"#, "InvalidParameter"),
        (
            r#"{"model":"aitryon-plus","input":{"person_image_url":"file:///etc/passwd","top_garment_url":"http://a/b.png"}}"#,
            "InvalidURL",
        ),
        (
            r#"{"model":"aitryon-plus","input":{"person_image_url":"http://a/p.jpg","top_garment_url":"ftp://a/b.png"}}"#,
            "InvalidURL",
        ),
        (
            &format!(r#"{{"model":"aitryon-plus","input":{{"person_image_url":"{person}"}}}}"#),
            "InvalidGarment",
        ),
        (
            &format!(
                r#"{{"model":"aitryon-plus","input":{{"person_image_url":"{person}","top_garment_url":""}}}}"#
            ),
            "InvalidGarment",
        ),
        (
            &format!(
                r#"{{"model":"aitryon-plus","input":{{"person_image_url":"{person}","top_garment_url":"http://a/t.png"}},"parameters":{{"resolution":720}}}}"#
            ),
            "InvalidParameter",
        ),
    ];
    for (body, code) in cases {
        let response = app.create_raw(body).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(error_body(response).await.code, code, "{body}");
    }
}

#[tokio::test]
async fn the_model_is_forced_to_the_configured_one() {
    let app = spawn_app().await;
    let mut body = app.tryon_body(noise_jpeg(300, 450, 12)).await;
    body["model"] = json!("aitryon-refiner");
    let response = app.create(&body).await;
    assert_eq!(
        response.status(),
        200,
        "the refiner is never chosen by a browser"
    );
}

#[tokio::test]
async fn cancel_works_while_pending_and_is_refused_afterwards() {
    // The clock stands still, so the upstream task is PENDING for certain.
    let time = ManualClock::new();
    let app = spawn_on(&time).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 13)).await;
    let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    let id = created.output.task_id;
    let response = app
        .http
        .post(app.url(&cancel_path(&id)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: TaskQueryResponse = app.get_task(&id, "").await.json().await.unwrap();
    assert_eq!(answer.output.task_status, TaskStatus::Canceled);

    let response = app
        .http
        .post(app.url(&cancel_path(&id)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(error_body(response).await.code, "UnsupportedOperation");
}

#[tokio::test]
async fn status_health_and_cors_answer() {
    let app = spawn_app().await;
    let status: ShopStatus = app
        .http
        .get(app.url(STATUS_PATH))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(status.shopper_token.is_some(), "{status:?}");
    assert_eq!(
        status,
        ShopStatus {
            available: true,
            model: "aitryon-plus".into(),
            upstream: "dashscope-sim".into(),
            reason: None,
            shopper_token: status.shopper_token.clone(),
            shopper_remaining: None,
        }
    );
    assert_eq!(app.proxy.public_base_url, app.base);
    assert_eq!(app.proxy.upstream_kind, "dashscope-sim");
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");

    let preflight = |origin: &'static str| {
        app.http
            .request(
                reqwest::Method::OPTIONS,
                app.url(tryon_api::wire::CREATE_TASK_PATH),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight("http://127.0.0.1:8080").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://127.0.0.1:8080"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

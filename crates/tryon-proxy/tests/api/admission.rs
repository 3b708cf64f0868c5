//! The admission queue, retries, persistence across a restart, and the metrics.

use std::time::Duration;

use tryon_api::TaskStatus;
use tryon_api::wire::{CreateTaskResponse, TaskQueryResponse, cancel_path};
use tryon_proxy::admission::AdmissionLimits;

use crate::helpers::{dashscope, noise_jpeg, spawn_app, spawn_app_on, spawn_sim};

const KEY: &str = "sk-admission-test";

/// One running task at a time, and create calls answered at once instead of waiting.
fn one_at_a_time() -> AdmissionLimits {
    AdmissionLimits {
        max_running: Some(1),
        create_wait: Duration::ZERO,
    }
}

#[tokio::test]
async fn jobs_wait_their_turn_in_order_and_show_their_queue_position() {
    let sim = spawn_sim(KEY, |_| {}).await;
    let app = spawn_app_on(dashscope(&sim, KEY), one_at_a_time(), None).await;
    let mut ids = Vec::new();
    for seed in 0..3 {
        let body = app.tryon_body(noise_jpeg(300, 450, 30 + seed)).await;
        let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
        assert_eq!(created.output.task_status, TaskStatus::Pending);
        ids.push(created.output.task_id);
    }
    let last: TaskQueryResponse = app.get_task(&ids[2], "").await.json().await.unwrap();
    assert!(
        last.output.queue_position.is_some(),
        "the third job waits while the first runs: {last:?}"
    );

    let mut submitted = Vec::new();
    for id in &ids {
        let done = app.wait_until_done(id).await;
        assert_eq!(done.output.task_status, TaskStatus::Succeeded, "{done:?}");
        assert_eq!(done.output.queue_position, None);
        submitted.push(done.output.submit_time.expect("a submit time"));
    }
    let mut in_order = submitted.clone();
    in_order.sort();
    assert_eq!(submitted, in_order, "submitted first come, first served");
}

#[tokio::test]
async fn a_queued_job_is_cancelled_without_reaching_the_upstream() {
    let sim = spawn_sim(KEY, |c| c.time_scale = 0.2).await;
    let app = spawn_app_on(dashscope(&sim, KEY), one_at_a_time(), None).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 40)).await;
    let first: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    let second: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    let queued: TaskQueryResponse = app
        .get_task(&second.output.task_id, "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queued.output.queue_position, Some(0), "{queued:?}");

    let response = app
        .http
        .post(app.url(&cancel_path(&second.output.task_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cancelled: TaskQueryResponse = app
        .get_task(&second.output.task_id, "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cancelled.output.task_status, TaskStatus::Canceled);
    assert_eq!(cancelled.output.submit_time, None, "never sent upstream");
    assert_ne!(first.output.task_id, second.output.task_id);
}

#[tokio::test]
async fn throttled_create_calls_are_retried_until_accepted() {
    // The emulator takes two creates per second; four at once must be spread out.
    let sim = spawn_sim(KEY, |c| c.max_creates_per_second = 2).await;
    let app = spawn_app_on(dashscope(&sim, KEY), AdmissionLimits::default(), None).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 50)).await;
    let (a, b, c, d) = tokio::join!(
        app.create(&body),
        app.create(&body),
        app.create(&body),
        app.create(&body)
    );
    for response in [a, b, c, d] {
        assert_eq!(response.status(), 200);
        let created: CreateTaskResponse = response.json().await.unwrap();
        let done = app.wait_until_done(&created.output.task_id).await;
        assert_eq!(done.output.task_status, TaskStatus::Succeeded, "{done:?}");
    }
}

#[tokio::test]
async fn a_restarted_proxy_resumes_polling_and_keeps_the_result() {
    // Slow enough that the task is still running when the first proxy stops.
    let sim = spawn_sim(KEY, |c| c.time_scale = 0.2).await;
    let first = spawn_app_on(dashscope(&sim, KEY), AdmissionLimits::default(), None).await;
    let body = first.tryon_body(noise_jpeg(300, 450, 60)).await;
    let created: CreateTaskResponse = first.create(&body).await.json().await.unwrap();
    let id = created.output.task_id;
    // Stop only once the emulator has fetched the photos from the first proxy.
    let mut status = TaskStatus::Pending;
    while matches!(status, TaskStatus::Pending | TaskStatus::PreProcessing) {
        let answer: TaskQueryResponse = first
            .get_task(&id, &format!("?wait_ms=5000&since={status}"))
            .await
            .json()
            .await
            .unwrap();
        status = answer.output.task_status;
    }
    assert!(
        !status.is_terminal(),
        "still running when stopped: {status}"
    );
    let data_dir = first.stop().await;

    let second = spawn_app_on(
        dashscope(&sim, KEY),
        AdmissionLimits::default(),
        Some(data_dir),
    )
    .await;
    let done = second.wait_until_done(&id).await;
    assert_eq!(done.output.task_status, TaskStatus::Succeeded, "{done:?}");
    let image_url = done.output.image_url.unwrap();
    assert!(image_url.starts_with(&second.base));
    let result = second.http.get(&image_url).send().await.unwrap();
    assert_eq!(result.status(), 200);
}

#[tokio::test]
async fn metrics_count_jobs_by_state() {
    let app = spawn_app().await;
    let body = app.tryon_body(noise_jpeg(300, 450, 70)).await;
    let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    app.wait_until_done(&created.output.task_id).await;
    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("tryon_jobs{status=\"SUCCEEDED\"} 1"),
        "{text}"
    );
    assert!(text.contains("tryon_queue_length 0"), "{text}");
    assert!(text.contains("tryon_running_tasks 0"), "{text}");
    assert!(text.contains("upstream=\"dashscope-sim\""), "{text}");
}

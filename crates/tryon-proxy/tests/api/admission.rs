//! The admission queue, retries, persistence across a restart, and the metrics.

use std::time::Duration;

use tryon_api::TaskStatus;
use tryon_api::wire::{CreateTaskResponse, TaskQueryResponse, cancel_path};
use tryon_proxy::admission::AdmissionLimits;

use dashscope_sim::SimHandle;
use tryon_clock::ManualClock;
use tryon_proxy::policy::PolicySettings;

use crate::helpers::{
    Adapter, HANG_LIMIT, TestApp, dashscope, noise_jpeg, spawn_app, spawn_app_on,
    spawn_app_on_clock, spawn_sim,
};

/// An emulator and a proxy on one manual clock, held still until the test moves it.
async fn on_one_clock(
    time: &ManualClock,
    admission: AdmissionLimits,
    data_dir: Option<tempfile::TempDir>,
    sim: Option<&SimHandle>,
) -> (Option<SimHandle>, TestApp) {
    let started = match sim {
        Some(_) => None,
        None => Some(spawn_sim(KEY, |c| c.clock = time.clock()).await),
    };
    let sim = sim.or(started.as_ref()).unwrap();
    let app = spawn_app_on_clock(
        time,
        Adapter::aitryon(),
        dashscope(sim, KEY),
        admission,
        PolicySettings::open(),
        None,
        data_dir,
    )
    .await;
    (started, app)
}

/// Waits until the emulator's task `upstream_id` is in `wanted`; fails only on a hang.
async fn until_upstream(sim: &SimHandle, upstream_id: &str, wanted: TaskStatus) {
    let mut changes = sim.state().changes();
    let reached = async {
        while sim.state().task_status(upstream_id) != wanted {
            changes.changed().await.unwrap();
        }
    };
    tokio::time::timeout(HANG_LIMIT, reached)
        .await
        .unwrap_or_else(|_| panic!("task {upstream_id} never reached {wanted}"));
}

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
    let time = ManualClock::new();
    let (_sim, app) = on_one_clock(&time, one_at_a_time(), None, None).await;
    let mut ids = Vec::new();
    for seed in 0..3 {
        let body = app.tryon_body(noise_jpeg(300, 450, 30 + seed)).await;
        let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
        assert_eq!(created.output.task_status, TaskStatus::Pending);
        ids.push(created.output.task_id);
    }
    // The clock stands still: the first job is sent and cannot finish, so the other two
    // wait behind it, in order.
    app.until_job(&ids[0], |record| record.upstream_id.is_some())
        .await;
    for (id, position) in ids[1..].iter().zip([0, 1]) {
        let queued: TaskQueryResponse = app.get_task(id, "").await.json().await.unwrap();
        assert_eq!(queued.output.queue_position, Some(position), "{queued:?}");
    }

    time.resume();
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
    let time = ManualClock::new();
    let (sim, app) = on_one_clock(&time, one_at_a_time(), None, None).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 40)).await;
    let first: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    let second: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    // The first job is sent and, with the clock still, stays running upstream.
    app.until_job(&first.output.task_id, |record| record.upstream_id.is_some())
        .await;
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
    // Once the first job is done, the slot stays free: nothing else was sent.
    time.resume();
    app.wait_until_done(&first.output.task_id).await;
    let listing = sim.unwrap().state().peak_open_tasks();
    assert_eq!(listing, 1, "only the first job reached the upstream");
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
    let time = ManualClock::new();
    let (sim, first) = on_one_clock(&time, AdmissionLimits::default(), None, None).await;
    let sim = sim.unwrap();
    let body = first.tryon_body(noise_jpeg(300, 450, 60)).await;
    let created: CreateTaskResponse = first.create(&body).await.json().await.unwrap();
    let id = created.output.task_id;
    first
        .until_job(&id, |record| record.upstream_id.is_some())
        .await;
    let upstream_id = first
        .proxy
        .state
        .jobs
        .get(&id)
        .unwrap()
        .snapshot()
        .upstream_id
        .unwrap();
    // Step the task into RUNNING: a second of PENDING at the emulator's scale ends, then
    // PRE-PROCESSING (which fetches the photos from this proxy) ends.
    time.advance(Duration::from_secs(1));
    until_upstream(&sim, &upstream_id, TaskStatus::PreProcessing).await;
    time.advance(Duration::from_secs(1));
    until_upstream(&sim, &upstream_id, TaskStatus::Running).await;
    // With the clock still, the task is certainly still running when the proxy stops.
    let data_dir = first.stop().await;

    let second = on_one_clock(
        &time,
        AdmissionLimits::default(),
        Some(data_dir),
        Some(&sim),
    )
    .await
    .1;
    time.resume();
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

#[tokio::test]
async fn the_proxy_polls_on_the_sdk_schedule_until_its_deadline() {
    // A task that would run for ten hours: the proxy's 180 s deadline comes first.
    let time = ManualClock::new();
    let sim = spawn_sim(KEY, |c| {
        c.clock = time.clock();
        c.time_scale = 1.0;
        c.faults.task_duration_ms = 10 * 3600 * 1000;
    })
    .await;
    let (_, app) = on_one_clock(&time, AdmissionLimits::default(), None, Some(&sim)).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 61)).await;
    let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    let id = created.output.task_id;
    let queries = || {
        crate::helpers::metric(
            &app,
            "tryon_upstream_responses_total{call=\"query\",status=\"200\"}",
        )
    };

    // Three parties wait on the clock besides the proxy's idle loops: the proxy's sweeper,
    // the job's poll loop and the emulator's task. Once all three wait again after a move, the move's effects are
    // done; the clock then jumps to the next deadline, whoever's it is.
    let mut polled_at = Vec::new();
    let mut seen = 0.0;
    loop {
        tokio::select! {
            biased;
            () = app.until_job(&id, |record| record.status.is_terminal()) => break,
            () = time.until_waiting_ahead(3 + app.idle_clock_waiters()) => {}
        }
        let count = queries().await.unwrap_or(0.0);
        if count > seen {
            polled_at.push(time.elapsed().as_secs());
            seen = count;
        }
        time.advance_to_next_deadline().await;
    }
    let count = queries().await.unwrap_or(0.0);
    if count > seen {
        polled_at.push(time.elapsed().as_secs());
    }

    // The official SDKs' schedule: 1 s three times, doubling every three polls, at most
    // 5 s; the first query at or after 180 s fails the job.
    let mut expected = Vec::new();
    let mut at = 0;
    for attempt in 0.. {
        at += u64::from(tryon_api::poll::delay_before_poll_ms(attempt)) / 1000;
        expected.push(at);
        if at >= 180 {
            break;
        }
    }
    assert_eq!(polled_at, expected);
    let done: TaskQueryResponse = app.get_task(&id, "").await.json().await.unwrap();
    assert_eq!(done.output.task_status, TaskStatus::Failed, "{done:?}");
    assert_eq!(done.output.code.as_deref(), Some("InternalError.Timeout"));
}

//! The proxy under load and failure: a burst stays within the account's limits, a killed proxy binary resumes its jobs, and results outlive the upstream's copies.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinSet;
use tryon_api::TaskStatus;
use tryon_api::wire::{CreateTaskResponse, TaskQueryResponse};
use tryon_clock::ManualClock;
use tryon_proxy::admission::AdmissionLimits;
use tryon_proxy::policy::PolicySettings;

use crate::binary::{KEY, query, start_binary, start_binary_with, wait_done};
use crate::helpers::{
    Adapter, HANG_LIMIT, dashscope, metric, noise_jpeg, noise_png, shop_page_client, spawn_app_on,
    spawn_app_on_clock, spawn_sim,
};

#[tokio::test]
async fn a_burst_of_30_creates_never_runs_more_than_5_upstream_and_draws_no_429() {
    // The emulator enforces the documented 10 creates/s and answers 429 beyond it.
    let sim = spawn_sim(KEY, |_| {}).await;
    let app = spawn_app_on(dashscope(&sim, KEY), AdmissionLimits::default(), None).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 100)).await;

    let started = Instant::now();
    let mut creates = JoinSet::new();
    for _ in 0..30 {
        let (client, url, body) = (
            app.http.clone(),
            app.url(tryon_api::wire::CREATE_TASK_PATH),
            body.clone(),
        );
        creates.spawn(async move { client.post(url).json(&body).send().await.unwrap() });
    }
    let mut ids = Vec::new();
    while let Some(response) = creates.join_next().await {
        let response = response.unwrap();
        assert_eq!(response.status(), 200);
        ids.push(
            response
                .json::<CreateTaskResponse>()
                .await
                .unwrap()
                .output
                .task_id,
        );
    }
    for id in &ids {
        let finished = app.wait_until_done(id).await;
        assert_eq!(
            finished.output.task_status,
            TaskStatus::Succeeded,
            "{finished:?}"
        );
    }
    let drained = started.elapsed();
    // The emulator's own high-water mark of tasks created and not yet ended at once.
    let peak = sim.state().peak_open_tasks();
    assert!(peak <= 5, "{peak} tasks were open upstream at once");
    assert!(peak >= 2, "the burst ran in parallel: peak {peak}");
    assert_eq!(
        metric(
            &app,
            "tryon_upstream_responses_total{call=\"create\",status=\"429\"}"
        )
        .await,
        None,
        "the emulator never throttled a create"
    );
    assert_eq!(
        metric(
            &app,
            "tryon_upstream_responses_total{call=\"create\",status=\"200\"}"
        )
        .await,
        Some(30.0)
    );
    eprintln!("burst of 30 drained in {drained:?}, peak {peak} upstream");
}

#[tokio::test]
async fn the_binary_with_a_key_alone_serves_qwen_image_2() {
    let sim = spawn_sim(KEY, |_| {}).await;
    let data = tempfile::tempdir().unwrap();
    let (mut child, base, _) = start_binary_with(&sim, "127.0.0.1:0", data.path(), None);
    let capabilities: Value = shop_page_client()
        .get(format!(
            "{base}{}",
            tryon_api::generation::CAPABILITIES_PATH
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(capabilities["upstream"], "qwen-image", "{capabilities}");
    assert_eq!(capabilities["model"], "qwen-image-2.0", "{capabilities}");
}

#[tokio::test]
async fn a_killed_proxy_binary_resumes_queued_and_running_jobs_and_serves_finished_ones() {
    // The emulator runs in this test on a manual clock, the proxy binary in real time:
    // the emulator's tasks advance only while the test lets its clock run, so the
    // proxy is certainly killed while its jobs are still open upstream.
    let time = ManualClock::new();
    let sim = spawn_sim(KEY, |c| c.clock = time.clock()).await;
    let data = tempfile::tempdir().unwrap();
    let http = shop_page_client();
    let (mut first, base, first_log) = start_binary(&sim, "127.0.0.1:0", data.path());

    let upload = |bytes: Vec<u8>, kind: &'static str| {
        let (http, url) = (
            http.clone(),
            format!("{base}{}", tryon_api::proxy::UPLOADS_PATH),
        );
        async move {
            let response = http
                .post(url)
                .header("content-type", kind)
                .body(bytes)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
            response
                .json::<tryon_api::proxy::UploadResponse>()
                .await
                .unwrap()
                .url
        }
    };
    let person = upload(noise_jpeg(300, 450, 101), "image/jpeg").await;
    let garment = upload(noise_png(300, 360, 4), "image/png").await;
    let body = serde_json::json!({
        "model": "aitryon-plus",
        "input": {"person_image_url": person, "top_garment_url": garment}
    });
    let create = || {
        let (http, url, body) = (
            http.clone(),
            format!("{base}{}", tryon_api::wire::CREATE_TASK_PATH),
            body.clone(),
        );
        async move {
            let response = http.post(url).json(&body).send().await.unwrap();
            assert_eq!(response.status(), 200);
            response
                .json::<CreateTaskResponse>()
                .await
                .unwrap()
                .output
                .task_id
        }
    };

    time.resume();
    let finished = create().await;
    let finished_answer = wait_done(&http, &base, &finished).await;
    time.pause();
    assert_eq!(finished_answer.output.task_status, TaskStatus::Succeeded);
    let finished_image = finished_answer.output.image_url.unwrap();

    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(create().await);
    }
    // Five are submitted (the account's limit) and three wait in the queue.
    let mut changes = sim.state().changes();
    let five_open = async {
        while sim.state().open_tasks() < 5 {
            changes.changed().await.unwrap();
        }
    };
    tokio::time::timeout(HANG_LIMIT, five_open)
        .await
        .expect("five tasks reach the emulator");
    let (mut running, mut queued) = (0, 0);
    for id in &ids {
        let answer = query(&http, &base, id, "").await;
        assert!(!answer.output.task_status.is_terminal(), "{answer:?}");
        // A submitted job has left the queue; the emulator holds its five tasks open.
        if answer.output.queue_position.is_some() {
            queued += 1;
        } else {
            running += 1;
        }
    }
    assert_eq!((running, queued), (5, 3));
    first.kill().expect("SIGKILL");
    first.wait().unwrap();

    // Connections to the killed process are dead; a browser would open new ones too.
    let http = shop_page_client();
    let port = base.rsplit(':').next().unwrap();
    let (mut second, base_again, second_log) =
        start_binary(&sim, &format!("127.0.0.1:{port}"), data.path());
    assert_eq!(base_again, base);
    time.resume();
    for id in &ids {
        let answer = wait_done(&http, &base, id).await;
        assert_eq!(
            answer.output.task_status,
            TaskStatus::Succeeded,
            "{answer:?}"
        );
        assert!(answer.output.submit_time.is_some());
        let image = http
            .get(answer.output.image_url.unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(image.status(), 200);
    }
    let again = query(&http, &base, &finished, "").await;
    assert_eq!(again.output.task_status, TaskStatus::Succeeded);
    assert_eq!(
        again.output.image_url.as_deref(),
        Some(finished_image.as_str())
    );
    assert_eq!(
        http.get(&finished_image).send().await.unwrap().status(),
        200
    );
    second.kill().unwrap();
    second.wait().unwrap();

    // Nine try-ons, a crash and a restart later, the shop's log holds no trace of the key.
    let logged: Vec<String> = [first_log, second_log]
        .iter()
        .flat_map(|lines| lines.lock().unwrap().clone())
        .collect();
    assert!(logged.len() > 4, "the proxy logged: {logged:?}");
    for line in &logged {
        assert!(!line.contains(KEY), "the key is in a log line: {line}");
        assert!(
            !line.contains("resilience-test"),
            "part of the key is logged: {line}"
        );
    }
}

#[tokio::test]
async fn results_are_served_after_the_upstream_has_forgotten_the_task() {
    // The emulator and the proxy share one clock, which the test moves a day ahead.
    let time = ManualClock::new();
    let sim = spawn_sim(KEY, |c| c.clock = time.clock()).await;
    let app = spawn_app_on_clock(
        &time,
        Adapter::aitryon(),
        dashscope(&sim, KEY),
        AdmissionLimits::default(),
        PolicySettings::open(),
        Some(Duration::from_secs(3 * 24 * 3600)),
        None,
    )
    .await;
    let body = app.tryon_body(noise_jpeg(300, 450, 102)).await;
    time.resume();
    let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    let id = created.output.task_id;
    let done = app.wait_until_done(&id).await;
    time.pause();
    assert_eq!(done.output.task_status, TaskStatus::Succeeded, "{done:?}");
    let job = app.proxy.state.jobs.get(&id).unwrap().snapshot();
    let upstream_id = job.upstream_id.unwrap();
    assert_eq!(sim.state().task_status(&upstream_id), TaskStatus::Succeeded);

    // A day and a minute later the upstream has forgotten the task and its result file.
    time.advance(Duration::from_secs(24 * 3600 + 60));
    assert_eq!(sim.state().task_status(&upstream_id), TaskStatus::Unknown);
    let upstream_file = format!("{}/results/{upstream_id}.png", sim.base_url());
    assert_eq!(
        app.http.get(&upstream_file).send().await.unwrap().status(),
        404
    );
    let again: TaskQueryResponse = app.get_task(&id, "").await.json().await.unwrap();
    assert_eq!(again.output.task_status, TaskStatus::Succeeded);
    let image = app
        .http
        .get(again.output.image_url.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(image.status(), 200);
    assert!(image.bytes().await.unwrap().len() > 1000);
}

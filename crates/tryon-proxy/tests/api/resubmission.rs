//! Free resubmission: a job whose upstream task fails transiently is submitted once more under the same job id, billed once, and never resubmitted for an input error or a second time.

use dashscope_sim::{Faults, SimHandle};
use tryon_api::TaskStatus;
use tryon_api::wire::CreateTaskResponse;
use tryon_clock::ManualClock;
use tryon_proxy::admission::AdmissionLimits;
use tryon_proxy::policy::PolicySettings;

use crate::helpers::{
    Adapter, HANG_LIMIT, TestApp, dashscope, empty_wall_jpeg, metric, noise_jpeg, noise_png,
    spawn_app_on_clock, spawn_sim,
};

const KEY: &str = "sk-resubmission-test";

/// Try-ons in the run with transient failures.
const TRYONS: u64 = 100;

/// An emulator whose tasks fail as `faults` say, and a proxy in front of it, both on one
/// manual clock that runs with real time (at the tests' time scale) once resumed.
async fn spawn_with_task_faults(faults: Faults) -> (ManualClock, SimHandle, TestApp) {
    let time = ManualClock::new();
    let sim = spawn_sim(KEY, |c| {
        c.clock = time.clock();
        c.faults = faults;
    })
    .await;
    let app = spawn_app_on_clock(
        &time,
        Adapter::aitryon(),
        dashscope(&sim, KEY),
        // Creates answer at once: the clock holds still while the test makes them.
        AdmissionLimits {
            create_wait: std::time::Duration::ZERO,
            ..AdmissionLimits::default()
        },
        PolicySettings::open(),
        None,
        None,
    )
    .await;
    (time, sim, app)
}

async fn created(app: &TestApp, person: Vec<u8>) -> String {
    let body = app.tryon_body(person).await;
    let response = app.create(&body).await;
    assert_eq!(response.status(), 200);
    response
        .json::<CreateTaskResponse>()
        .await
        .unwrap()
        .output
        .task_id
}

/// Every state the shopper could have seen the job in, up to its end.
async fn states_until_done(app: &TestApp, id: &str) -> Vec<TaskStatus> {
    let job = app.proxy.state.jobs.get(id).expect("a job of this proxy");
    let mut changes = job.subscribe();
    let mut seen: Vec<TaskStatus> = Vec::new();
    let ended = changes.wait_for(|record| {
        if seen.last() != Some(&record.status) {
            seen.push(record.status.clone());
        }
        record.status.is_terminal()
    });
    tokio::time::timeout(HANG_LIMIT, ended)
        .await
        .expect("the job ends")
        .unwrap();
    seen
}

async fn resubmissions(app: &TestApp) -> Option<f64> {
    metric(app, "tryon_resubmissions_total").await
}

#[tokio::test]
async fn a_transient_task_failure_is_submitted_once_more_and_the_shopper_sees_one_try_on() {
    // Every input's first task fails with InternalError; its second one succeeds.
    let (time, sim, app) = spawn_with_task_faults(Faults {
        task_failure_share: 1.0,
        task_failure_once: true,
        ..Faults::default()
    })
    .await;
    let id = created(&app, noise_jpeg(300, 450, 301)).await;
    time.resume();
    let seen = states_until_done(&app, &id).await;
    time.pause();
    assert_eq!(seen.last(), Some(&TaskStatus::Succeeded), "{seen:?}");
    assert!(!seen.contains(&TaskStatus::Failed), "{seen:?}");
    // Once generating, the job never went back to the queue's states.
    let generating = seen.iter().position(|s| *s == TaskStatus::Running);
    if let Some(from) = generating {
        assert!(
            seen[from..]
                .iter()
                .all(|s| !matches!(s, TaskStatus::Pending | TaskStatus::PreProcessing)),
            "{seen:?}"
        );
    }
    let answer = app.wait_until_done(&id).await;
    assert!(answer.output.image_url.is_some());
    assert_eq!(resubmissions(&app).await, Some(1.0));
    assert_eq!(sim.state().billed_images("aitryon-plus"), 1);
    // The proxy's own ledger bills the one image too.
    assert_eq!(
        app.proxy.state.store.totals_by_model().await.unwrap()[0].1,
        1
    );
}

#[tokio::test]
async fn a_second_transient_failure_is_final_and_nothing_is_billed() {
    let (time, sim, app) = spawn_with_task_faults(Faults {
        task_failure_share: 1.0,
        ..Faults::default()
    })
    .await;
    let id = created(&app, noise_jpeg(300, 450, 302)).await;
    time.resume();
    let answer = app.wait_until_done(&id).await;
    time.pause();
    assert_eq!(answer.output.task_status, TaskStatus::Failed);
    assert_eq!(answer.output.code.as_deref(), Some("InternalError"));
    assert_eq!(resubmissions(&app).await, Some(1.0));
    assert_eq!(sim.state().billed_images("aitryon-plus"), 0);
}

#[tokio::test]
async fn an_input_error_is_never_submitted_again() {
    let (time, _sim, app) = spawn_with_task_faults(Faults::default()).await;
    // A plain wall: the emulator finds no person and fails the task with InvalidPerson.
    let id = created(&app, empty_wall_jpeg(300, 450)).await;
    time.resume();
    let answer = app.wait_until_done(&id).await;
    time.pause();
    assert_eq!(answer.output.task_status, TaskStatus::Failed);
    assert_eq!(answer.output.code.as_deref(), Some("InvalidPerson"));
    assert_eq!(resubmissions(&app).await, Some(0.0));
}

#[tokio::test]
async fn a_hundred_try_ons_with_transient_task_failures_are_all_delivered_and_each_billed_once() {
    // One task in ten fails transiently, as a provider's internal errors do. (The chaos
    // run adds failing calls and a crash to 200 try-ons; this one isolates the tasks.)
    let (time, sim, app) = spawn_with_task_faults(Faults {
        task_failure_share: 0.1,
        task_failure_once: true,
        ..Faults::default()
    })
    .await;
    // Each shopper's own photo, so that each try-on is its own input; one garment.
    let garment = app.upload_ok(noise_png(300, 360, 2), "image/png").await.url;
    let started = std::time::Instant::now();
    // One after the other, so that the queue holds them in this order.
    let mut ids = Vec::new();
    for seed in 0..TRYONS {
        let person = app
            .upload_ok(noise_jpeg(300, 450, 1000 + seed), "image/jpeg")
            .await;
        let body = serde_json::json!({
            "model": "aitryon-plus",
            "input": {"person_image_url": person.url, "top_garment_url": &garment},
        });
        let response = app.create(&body).await;
        assert_eq!(response.status(), 200);
        let created: CreateTaskResponse = response.json().await.unwrap();
        ids.push(created.output.task_id);
    }
    time.resume();
    // In the order they were queued, so that each wait covers only the time its own job
    // adds, however busy the machine.
    let mut delivered = 0u64;
    for id in &ids {
        let answer = app.wait_until_done(id).await;
        assert_eq!(
            answer.output.task_status,
            TaskStatus::Succeeded,
            "{answer:?}"
        );
        delivered += 1;
    }
    time.pause();
    let resubmitted = resubmissions(&app).await.unwrap();
    eprintln!(
        "{TRYONS} try-ons: {delivered} delivered, {resubmitted} resubmitted, in {:?}",
        started.elapsed()
    );
    assert_eq!(delivered, TRYONS);
    assert!(resubmitted >= 1.0, "no task failed: the run tested nothing");
    assert_eq!(sim.state().billed_images("aitryon-plus"), delivered);
}

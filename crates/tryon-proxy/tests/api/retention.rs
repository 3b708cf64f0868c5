//! Retention: the sweeper deletes old photos, results and jobs; a shopper deletes all of their data at once.

use std::time::{Duration, Instant};

use tryon_api::TaskStatus;
use tryon_api::proxy::UploadResponse;
use tryon_api::wire::{CREATE_TASK_PATH, CreateTaskResponse, task_path};
use tryon_proxy::admission::AdmissionLimits;
use tryon_proxy::configuration::UpstreamSettings;
use tryon_proxy::policy::PolicySettings;
use tryon_proxy::routes::{SHOPPER_PATH, ShopperDeletion};

use crate::helpers::{TIME_SCALE, new_shopper, noise_jpeg, noise_png, spawn_app, spawn_app_full};

#[tokio::test]
async fn photos_results_and_jobs_are_deleted_after_the_retention_period() {
    let app = spawn_app_full(
        UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        AdmissionLimits::default(),
        None,
        PolicySettings::open(),
        Some(Duration::from_secs(2)),
    )
    .await;
    let body = app.tryon_body(noise_jpeg(300, 450, 90)).await;
    let person_url = body["input"]["person_image_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    let done = app.wait_until_done(&created.output.task_id).await;
    assert_eq!(done.output.task_status, TaskStatus::Succeeded);
    let result_url = done.output.image_url.unwrap();
    assert_eq!(
        app.http.get(&result_url).send().await.unwrap().status(),
        200
    );

    // The sweeper runs every second; everything is gone within a few periods.
    let started = Instant::now();
    loop {
        let photo = app.http.get(&person_url).send().await.unwrap().status();
        let result = app.http.get(&result_url).send().await.unwrap().status();
        let job = app.get_task(&created.output.task_id, "").await.status();
        if photo == 404 && result == 404 && job == 404 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still there after 15 s: photo {photo}, result {result}, job {job}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_shopper_deletes_all_of_their_photos_results_and_jobs_at_once() {
    let app = spawn_app().await;
    let (_, shopper) = new_shopper(&app).await;
    let (_, other) = new_shopper(&app).await;
    let upload = |client: reqwest::Client, bytes: Vec<u8>| {
        let url = app.url(tryon_api::proxy::UPLOADS_PATH);
        async move {
            let response = client
                .post(url)
                .header("content-type", "image/jpeg")
                .body(bytes)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
            response.json::<UploadResponse>().await.unwrap()
        }
    };
    let person = upload(shopper.clone(), noise_jpeg(300, 450, 91)).await;
    let garment = upload(shopper.clone(), noise_png(300, 360, 3)).await;
    let others_photo = upload(other.clone(), noise_jpeg(300, 450, 92)).await;
    let created: CreateTaskResponse = shopper
        .post(app.url(CREATE_TASK_PATH))
        .json(&serde_json::json!({
            "model": "aitryon-plus",
            "input": {"person_image_url": person.url, "top_garment_url": garment.url}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created.output.task_id;
    let done: tryon_api::wire::TaskQueryResponse = loop {
        let answer: tryon_api::wire::TaskQueryResponse = shopper
            .get(format!("{}?wait_ms=2000", app.url(&task_path(&id))))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if answer.output.task_status.is_terminal() {
            break answer;
        }
    };
    let result_url = done.output.image_url.expect("a result");

    let response = shopper.delete(app.url(SHOPPER_PATH)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let deletion: ShopperDeletion = response.json().await.unwrap();
    assert_eq!(deletion.deleted_jobs, 1);
    assert_eq!(deletion.deleted_files, 3, "photo, garment and result");

    for url in [&person.url, &garment.url, &result_url] {
        assert_eq!(
            app.http.get(url).send().await.unwrap().status(),
            404,
            "{url}"
        );
    }
    let job = shopper.get(app.url(&task_path(&id))).send().await.unwrap();
    assert_eq!(job.status(), 404);
    let kept = app.http.get(&others_photo.url).send().await.unwrap();
    assert_eq!(kept.status(), 200, "another shopper's photo is untouched");
}

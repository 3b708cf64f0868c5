//! Retention: the sweeper deletes old photos, results and jobs; a shopper deletes all of their data at once.

use std::time::Duration;

use tryon_clock::ManualClock;

use tryon_api::TaskStatus;
use tryon_api::proxy::UploadResponse;
use tryon_api::wire::{CREATE_TASK_PATH, CreateTaskResponse, task_path};
use tryon_proxy::routes::{SHOPPER_PATH, ShopperDeletion};

use crate::helpers::{
    new_shopper, noise_jpeg, noise_png, spawn_app, spawn_embedded_on_clock, sweep_after,
};

#[tokio::test]
async fn photos_results_and_jobs_are_deleted_after_the_retention_period() {
    // One clock for the proxy and its emulator, held still except where the test lets it
    // run (to make the try-on) or moves it (past the retention period).
    let time = ManualClock::new();
    let app = spawn_embedded_on_clock(&time, Some(Duration::from_secs(3600))).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 90)).await;
    let person_url = body["input"]["person_image_url"]
        .as_str()
        .unwrap()
        .to_owned();
    time.resume();
    let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    let done = app.wait_until_done(&created.output.task_id).await;
    time.pause();
    assert_eq!(done.output.task_status, TaskStatus::Succeeded);
    let result_url = done.output.image_url.unwrap();
    let statuses = || async {
        (
            app.http
                .get(&person_url)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            app.http
                .get(&result_url)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            app.get_task(&created.output.task_id, "")
                .await
                .status()
                .as_u16(),
        )
    };
    assert_eq!(statuses().await, (200, 200, 200));

    // The sweeper sweeps every quarter of the period (15 minutes here).
    // At 59 minutes everything is younger than the hour and kept.
    sweep_after(&app, &time, Duration::from_secs(59 * 60)).await;
    assert_eq!(statuses().await, (200, 200, 200));
    // The next sweep, 15 minutes later, finds them all older than the hour.
    sweep_after(&app, &time, Duration::from_secs(15 * 60)).await;
    assert_eq!(statuses().await, (404, 404, 404));
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

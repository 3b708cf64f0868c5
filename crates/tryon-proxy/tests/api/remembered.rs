//! A remembered photo: the shopper who uploaded it can ask whether it is still kept and forget it, nobody else can; it makes several try-ons, and once gone it is refused as expired before any cost.

use std::time::Duration;

use tryon_api::TaskStatus;
use tryon_api::proxy::{StoredUpload, UploadResponse, upload_path};
use tryon_api::wire::{CREATE_TASK_PATH, CreateTaskResponse};
use tryon_clock::ManualClock;
use tryon_proxy::routes::UploadDeletion;

use crate::helpers::{
    error_body, new_shopper, noise_jpeg, noise_png, spawn_app, spawn_embedded_on_clock, sweep_after,
};

async fn upload(
    app: &crate::helpers::TestApp,
    client: &reqwest::Client,
    bytes: Vec<u8>,
) -> UploadResponse {
    let response = app.upload_as(client, bytes, "image/jpeg").await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

fn body_for(person: &str, garment: &str) -> serde_json::Value {
    serde_json::json!({
        "model": "aitryon-plus",
        "input": {"person_image_url": person, "top_garment_url": garment}
    })
}

#[tokio::test]
async fn the_uploader_sees_their_photo_kept_until_the_retention_period_ends() {
    let time = ManualClock::new();
    let app = spawn_embedded_on_clock(&time, Some(Duration::from_secs(3600))).await;
    let (_, shopper) = new_shopper(&app).await;
    let photo = upload(&app, &shopper, noise_jpeg(300, 450, 1)).await;
    let uploaded_at = time.clock().unix_ms();

    let answer = shopper
        .get(app.url(&upload_path(&photo.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let stored: StoredUpload = answer.json().await.unwrap();
    assert_eq!(stored.id, photo.id);
    assert_eq!(stored.url, photo.url);
    assert_eq!(stored.expires_at_ms, uploaded_at + 3_600_000);

    // Past its hour the photo is expired, whether or not the sweeper has been by yet.
    sweep_after(&app, &time, Duration::from_secs(3600)).await;
    let answer = shopper
        .get(app.url(&upload_path(&photo.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
    assert_eq!(error_body(answer).await.code, "Proxy.PhotoExpired");
}

#[tokio::test]
async fn another_shopper_can_neither_see_nor_delete_someone_elses_photo() {
    let app = spawn_app().await;
    let (_, owner) = new_shopper(&app).await;
    let (_, stranger) = new_shopper(&app).await;
    let photo = upload(&app, &owner, noise_jpeg(300, 450, 2)).await;

    let seen = stranger
        .get(app.url(&upload_path(&photo.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), 404, "answered like a missing photo");
    assert_eq!(error_body(seen).await.code, "Proxy.PhotoExpired");
    let deleted = stranger
        .delete(app.url(&upload_path(&photo.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 404);

    // The owner's photo is untouched by all of that.
    let kept = owner
        .get(app.url(&upload_path(&photo.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(kept.status(), 200);
    assert_eq!(app.http.get(&photo.url).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_forgotten_photo_is_deleted_at_once_and_a_try_on_with_it_is_refused_before_any_cost() {
    let app = spawn_app().await;
    let (_, shopper) = new_shopper(&app).await;
    let photo = upload(&app, &shopper, noise_jpeg(300, 450, 4)).await;
    let garment = upload(&app, &shopper, noise_png(300, 360, 5)).await;

    // The same photo makes two try-ons, as a remembered photo does on two products.
    for _ in 0..2 {
        let created: CreateTaskResponse = shopper
            .post(app.url(CREATE_TASK_PATH))
            .json(&body_for(&photo.url, &garment.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created.output.task_id;
        app.until_job(&id, |record| record.status.is_terminal())
            .await;
        assert_eq!(
            app.proxy.state.jobs.get(&id).unwrap().snapshot().status,
            TaskStatus::Succeeded
        );
    }

    let answer = shopper
        .delete(app.url(&upload_path(&photo.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let deletion: UploadDeletion = answer.json().await.unwrap();
    assert!(deletion.deleted);
    assert_eq!(deletion.id, photo.id);
    assert_eq!(app.http.get(&photo.url).send().await.unwrap().status(), 404);
    let again = shopper
        .delete(app.url(&upload_path(&photo.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404, "deleting twice finds nothing");

    let status_before = app.shop_status(&shopper).await.shopper_remaining;
    let refused = shopper
        .post(app.url(CREATE_TASK_PATH))
        .json(&body_for(&photo.url, &garment.url))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
    assert_eq!(error_body(refused).await.code, "Proxy.PhotoExpired");
    assert_eq!(
        app.shop_status(&shopper).await.shopper_remaining,
        status_before,
        "a refused try-on takes none of the shopper's day"
    );
    assert_eq!(app.proxy.state.jobs.count_unfinished(), 0);
}

#[tokio::test]
async fn an_id_that_is_no_upload_is_refused_as_expired() {
    let app = spawn_app().await;
    let (_, shopper) = new_shopper(&app).await;
    for id in ["not-an-id", "0123456789abcdef0123456789abcdef"] {
        let answer = shopper.get(app.url(&upload_path(id))).send().await.unwrap();
        assert_eq!(answer.status(), 404, "{id}");
        assert_eq!(error_body(answer).await.code, "Proxy.PhotoExpired");
    }
}

//! Limits on what one shopper may cost the shop: uploads per hour and bytes per day, the shop's free-space floor, and segmentation counted as a daily try-on.

use std::time::Duration;

use serde_json::json;
use tokio::task::JoinSet;
use tryon_api::wire::{CREATE_TASK_PATH, SEGMENT_PATH};
use tryon_clock::ManualClock;
use tryon_proxy::admission::AdmissionLimits;
use tryon_proxy::configuration::UpstreamSettings;
use tryon_proxy::policy::PolicySettings;

use crate::helpers::{
    Adapter, TIME_SCALE, TestApp, error_body, new_shopper, noise_jpeg, noise_png, spawn_app_full,
    spawn_app_on_clock, two_tone_person,
};

const HOUR: Duration = Duration::from_secs(3600);

fn embedded() -> UpstreamSettings {
    UpstreamSettings::Embedded {
        time_scale: TIME_SCALE,
    }
}

fn limits(per_hour: u32, bytes_per_day: u64) -> PolicySettings {
    PolicySettings {
        uploads_per_hour: per_hour,
        upload_bytes_per_day: bytes_per_day,
        ..PolicySettings::open()
    }
}

/// A proxy on `time` with `policy`, on the folder of a stopped one when `data_dir` is given.
async fn spawn_on(
    time: &ManualClock,
    policy: PolicySettings,
    data_dir: Option<tempfile::TempDir>,
) -> TestApp {
    spawn_app_on_clock(
        time,
        Adapter::aitryon(),
        embedded(),
        AdmissionLimits::default(),
        policy,
        None,
        data_dir,
    )
    .await
}

/// A small photo; the same bytes each time, since only the count matters.
fn photo() -> Vec<u8> {
    noise_png(200, 160, 21)
}

/// The `Retry-After` of a refusal, in seconds.
fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_31st_upload_within_an_hour_is_refused_until_the_hour_has_passed() {
    let time = ManualClock::new();
    let app = spawn_on(&time, limits(30, 0), None).await;
    let (_, shopper) = new_shopper(&app).await;
    for _ in 0..30 {
        let response = app.upload_as(&shopper, photo(), "image/png").await;
        assert_eq!(response.status(), 201);
    }
    let response = app.upload_as(&shopper, photo(), "image/png").await;
    assert_eq!(response.status(), 429);
    assert_eq!(
        retry_after(&response),
        3600,
        "the first upload leaves in an hour"
    );
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        exposed.contains("retry-after"),
        "a cross-site widget may read it: {exposed}"
    );
    let body = error_body(response).await;
    assert_eq!(body.code, "Proxy.UploadLimit");
    assert!(body.message.contains("one hour"), "{}", body.message);
    assert!(body.message.contains("30 per hour"), "{}", body.message);
    assert_eq!(
        app.stored_files().await,
        30,
        "nothing is stored for the refused upload"
    );

    // Another shopper has a count of their own.
    let (_, other) = new_shopper(&app).await;
    assert_eq!(
        app.upload_as(&other, photo(), "image/png").await.status(),
        201
    );

    // A minute before the hour is over the window is still full, and says how long is left.
    time.advance(HOUR - Duration::from_secs(60));
    let response = app.upload_as(&shopper, photo(), "image/png").await;
    assert_eq!(response.status(), 429);
    assert_eq!(retry_after(&response), 60);
    time.advance(Duration::from_secs(60));
    assert_eq!(
        app.upload_as(&shopper, photo(), "image/png").await.status(),
        201,
        "the first uploads have left the rolling hour"
    );
}

#[tokio::test]
async fn the_daily_bytes_are_refused_with_their_reason_until_the_next_beijing_day() {
    // The manual clock starts at 2026-01-01 08:00 in Beijing: midnight is 16 hours away.
    let time = ManualClock::new();
    let app = spawn_on(&time, limits(0, 3_000_000), None).await;
    let big = noise_jpeg(800, 800, 22);
    assert!(
        (1_000_001..=1_500_000).contains(&big.len()),
        "two photos fit in 3 MB and three do not: {} bytes",
        big.len()
    );
    for _ in 0..2 {
        app.upload_ok(big.clone(), "image/jpeg").await;
    }
    let response = app.upload(big.clone(), "image/jpeg").await;
    assert_eq!(response.status(), 429);
    assert_eq!(retry_after(&response), 16 * 3600);
    let body = error_body(response).await;
    assert_eq!(body.code, "Proxy.UploadLimit");
    assert!(body.message.contains("today"), "{}", body.message);
    assert!(
        body.message.contains("3000000 bytes per day"),
        "{}",
        body.message
    );
    assert_eq!(app.stored_files().await, 2);

    // The refused photo counted nothing, so a small one still fits in today's bytes.
    app.upload_ok(photo(), "image/png").await;

    time.advance(16 * HOUR);
    app.upload_ok(big, "image/jpeg").await;
}

#[tokio::test]
async fn zero_turns_both_upload_limits_off() {
    let time = ManualClock::new();
    let app = spawn_on(&time, limits(0, 0), None).await;
    for _ in 0..31 {
        app.upload_ok(photo(), "image/png").await;
    }
    assert_eq!(app.stored_files().await, 31);
}

#[tokio::test]
async fn upload_counts_survive_a_restart_and_the_sweeper_deleting_the_photos() {
    let time = ManualClock::new();
    // Photos are kept ten minutes, so the sweeper deletes them well within the hour.
    let policy = limits(2, 0);
    let app = spawn_app_on_clock(
        &time,
        Adapter::aitryon(),
        embedded(),
        AdmissionLimits::default(),
        policy.clone(),
        Some(Duration::from_secs(600)),
        None,
    )
    .await;
    let (_, shopper) = new_shopper(&app).await;
    let mut urls = Vec::new();
    for _ in 0..2 {
        let response = app.upload_as(&shopper, photo(), "image/png").await;
        assert_eq!(response.status(), 201);
        urls.push(
            response
                .json::<tryon_api::proxy::UploadResponse>()
                .await
                .unwrap()
                .url,
        );
    }
    crate::helpers::sweep_after(&app, &time, Duration::from_secs(20 * 60)).await;
    assert_eq!(
        app.stored_files().await,
        0,
        "the sweeper deleted the photos"
    );
    assert_eq!(shopper.get(&urls[0]).send().await.unwrap().status(), 404);
    let response = app.upload_as(&shopper, photo(), "image/png").await;
    assert_eq!(
        response.status(),
        429,
        "deleting the photos frees no upload"
    );

    let data_dir = app.stop().await;
    let app = spawn_on(&time, policy, Some(data_dir)).await;
    let response = app.upload_as(&shopper, photo(), "image/png").await;
    assert_eq!(response.status(), 429, "a restart frees no upload");
    assert_eq!(retry_after(&response), 40 * 60);
    assert_eq!(error_body(response).await.code, "Proxy.UploadLimit");
}

#[tokio::test]
async fn ten_uploads_at_once_against_a_limit_of_five_store_exactly_five() {
    let time = ManualClock::new();
    let app = spawn_on(&time, limits(5, 0), None).await;
    let url = app.url(tryon_api::proxy::UPLOADS_PATH);
    let mut uploads = JoinSet::new();
    for _ in 0..10 {
        let (http, url) = (app.http.clone(), url.clone());
        uploads.spawn(async move {
            http.post(url)
                .header("content-type", "image/png")
                .body(photo())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let mut statuses = uploads.join_all().await;
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 201, 201, 201, 201, 429, 429, 429, 429, 429]);
    assert_eq!(app.stored_files().await, 5);
}

#[tokio::test]
async fn below_the_free_space_floor_uploads_are_refused_and_nothing_is_stored() {
    let time = ManualClock::new();
    // A floor no disk reaches stands for a disk that is full.
    let app = spawn_on(
        &time,
        PolicySettings {
            min_free_bytes: u64::MAX / 2,
            ..limits(30, 0)
        },
        None,
    )
    .await;
    let response = app.upload(photo(), "image/png").await;
    if app.store.is_s3() {
        // A bucket cannot tell its free space, so the floor does not apply to it.
        assert_eq!(response.status(), 201);
        assert_eq!(app.stored_files().await, 1);
        return;
    }
    assert_eq!(response.status(), 507);
    let body = error_body(response).await;
    assert_eq!(body.code, "Proxy.StorageFull");
    assert_eq!(app.stored_files().await, 0);
}

/// Asks to segment `image_url` into `types` as the shopper behind `client`.
async fn segment(
    app: &TestApp,
    client: &reqwest::Client,
    image_url: &str,
    types: &[&str],
) -> reqwest::Response {
    client
        .post(app.url(SEGMENT_PATH))
        .json(&json!({
            "model": "aitryon-parsing-v1",
            "input": {"image_url": image_url},
            "parameters": {"clothes_type": types}
        }))
        .send()
        .await
        .unwrap()
}

/// A create body for a try-on of `person` in a garment, both uploaded by `client`.
async fn tryon_body_of(app: &TestApp, client: &reqwest::Client, person: &str) -> serde_json::Value {
    let garment = app
        .upload_as(client, noise_png(300, 360, 24), "image/png")
        .await;
    let garment: tryon_api::proxy::UploadResponse = garment.json().await.unwrap();
    json!({
        "model": "aitryon-plus",
        "input": {"person_image_url": person, "top_garment_url": garment.url},
    })
}

async fn spawn_with_daily_limit(limit: u32) -> TestApp {
    spawn_app_full(
        embedded(),
        AdmissionLimits::default(),
        None,
        PolicySettings {
            shopper_daily_limit: limit,
            ..PolicySettings::open()
        },
        None,
    )
    .await
}

#[tokio::test]
async fn a_segmentation_takes_one_of_the_shoppers_daily_try_ons() {
    let app = spawn_with_daily_limit(2).await;
    let (_, shopper) = new_shopper(&app).await;
    let person = app
        .upload_as(&shopper, two_tone_person(), "image/jpeg")
        .await;
    let person: tryon_api::proxy::UploadResponse = person.json().await.unwrap();
    assert_eq!(
        segment(&app, &shopper, &person.url, &["lower"])
            .await
            .status(),
        200
    );
    assert_eq!(app.shop_status(&shopper).await.shopper_remaining, Some(1));

    let body = tryon_body_of(&app, &shopper, &person.url).await;
    let create = || async {
        shopper
            .post(app.url(CREATE_TASK_PATH))
            .json(&body)
            .send()
            .await
            .unwrap()
    };
    assert_eq!(create().await.status(), 200);
    let refused = create().await;
    assert_eq!(refused.status(), 429);
    assert_eq!(error_body(refused).await.code, "Proxy.ShopperDailyLimit");
    let refused = segment(&app, &shopper, &person.url, &["upper"]).await;
    assert_eq!(refused.status(), 429, "a segmentation is refused as well");
    assert_eq!(error_body(refused).await.code, "Proxy.ShopperDailyLimit");
}

#[tokio::test]
async fn a_segmentation_the_upstream_refuses_gives_its_try_on_back() {
    let app = spawn_with_daily_limit(2).await;
    let (_, shopper) = new_shopper(&app).await;
    let person = app
        .upload_as(&shopper, two_tone_person(), "image/jpeg")
        .await;
    let person: tryon_api::proxy::UploadResponse = person.json().await.unwrap();
    // The upstream documents no "upper and dress" list, and refuses it without billing.
    let failed = segment(&app, &shopper, &person.url, &["upper", "dress"]).await;
    assert_eq!(failed.status(), 400);
    assert_eq!(
        error_body(failed).await.code,
        "InvalidParameter.ClothesType"
    );
    assert_eq!(app.shop_status(&shopper).await.shopper_remaining, Some(2));

    // Both of the day's try-ons are still there: a segmentation and a create.
    assert_eq!(
        segment(&app, &shopper, &person.url, &["lower"])
            .await
            .status(),
        200
    );
    let body = tryon_body_of(&app, &shopper, &person.url).await;
    let created = shopper
        .post(app.url(CREATE_TASK_PATH))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    assert_eq!(app.shop_status(&shopper).await.shopper_remaining, Some(0));
}

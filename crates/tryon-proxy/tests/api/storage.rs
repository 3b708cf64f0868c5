//! The file store on whichever backend this run uses (the data folder, or S3 with `TRYON_TEST_S3_ENDPOINT`): a store that is down answers shoppers 503 `Proxy.StorageUnavailable` and keeps nothing half-written, `/readyz` names it, the sweeper tries again, everything works once it is back; and a wrong `TRYON_STORAGE_URL` stops the binary at start with exit code 2.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tryon_api::proxy::{UPLOADS_PATH, UploadResponse};
use tryon_clock::ManualClock;
use tryon_proxy::admission::AdmissionLimits;
use tryon_proxy::configuration::UpstreamSettings;
use tryon_proxy::policy::PolicySettings;
use tryon_proxy::routes::{SHOPPER_PATH, ShopperDeletion};

use crate::helpers::{
    HANG_LIMIT, TIME_SCALE, TestApp, error_body, new_shopper, noise_png, spawn_app_full,
    spawn_embedded_on_clock, sweep_after,
};

const HOUR: Duration = Duration::from_secs(3600);

/// The readiness answer, with its status.
async fn readiness(app: &TestApp) -> (u16, Value) {
    let response = app.http.get(app.url("/readyz")).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Checks that `response` is the store's 503, and that it tells the shopper nothing of
/// the store itself.
async fn assert_storage_unavailable(app: &TestApp, response: reqwest::Response, what: &str) {
    assert_eq!(response.status(), 503, "{what}");
    let body = error_body(response).await;
    assert_eq!(body.code, "Proxy.StorageUnavailable", "{what}");
    for detail in [app.store.described(), "127.0.0.1".to_owned()] {
        assert!(!body.message.contains(&detail), "{what}: {}", body.message);
    }
}

#[tokio::test]
async fn a_store_that_is_down_answers_503_keeps_nothing_half_written_and_works_once_back() {
    // Two uploads an hour, so that the count shows whether the refused one was counted.
    let app = spawn_app_full(
        UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        AdmissionLimits::default(),
        None,
        PolicySettings {
            uploads_per_hour: 2,
            ..PolicySettings::open()
        },
        None,
    )
    .await;
    let (_, shopper) = new_shopper(&app).await;
    let kept_bytes = noise_png(200, 160, 61);
    let response = app
        .upload_as(&shopper, kept_bytes.clone(), "image/png")
        .await;
    assert_eq!(response.status(), 201);
    let kept: UploadResponse = response.json().await.unwrap();

    app.store.down();
    let response = app
        .upload_as(&shopper, noise_png(200, 160, 62), "image/png")
        .await;
    assert_storage_unavailable(&app, response, "an upload").await;
    let response = app.http.get(&kept.url).send().await.unwrap();
    assert_storage_unavailable(&app, response, "a kept photo, not a missing one").await;
    let (status, ready) = readiness(&app).await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["ready"], false);
    assert_eq!(
        ready["storage"],
        format!("{}: not writable", app.store.described())
    );
    assert_eq!(ready["database"], "ok");
    // "Forget my photo" and "delete my data" cannot delete now; they say so, and the
    // photo stays the shopper's, to be deleted once the store is back.
    let own = app.url(&format!("{UPLOADS_PATH}/{}", kept.id));
    let response = shopper.delete(&own).send().await.unwrap();
    assert_storage_unavailable(&app, response, "forgetting a photo").await;
    let response = shopper.delete(app.url(SHOPPER_PATH)).send().await.unwrap();
    assert_storage_unavailable(&app, response, "deleting the shopper's data").await;
    assert_eq!(shopper.get(&own).send().await.unwrap().status(), 200);

    app.store.up();
    let (status, ready) = readiness(&app).await;
    assert_eq!((status, &ready["storage"]), (200, &Value::from("ok")));
    let served = app.http.get(&kept.url).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.unwrap(), kept_bytes);
    // The refused upload counted nothing: one more fits the hour's two, then no more.
    let response = app
        .upload_as(&shopper, noise_png(200, 160, 63), "image/png")
        .await;
    assert_eq!(response.status(), 201);
    let response = app
        .upload_as(&shopper, noise_png(200, 160, 64), "image/png")
        .await;
    assert_eq!(response.status(), 429);
    assert_eq!(app.stored_files().await, 2, "nothing of the refused upload");
    // Nor did it leave a row in the file index: the shopper's data is the two photos.
    let response = shopper.delete(app.url(SHOPPER_PATH)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let deletion: ShopperDeletion = response.json().await.unwrap();
    assert_eq!(deletion.deleted_files, 2);
    assert_eq!(app.stored_files().await, 0);
}

#[tokio::test]
async fn the_sweeper_keeps_what_a_store_that_is_down_could_not_delete_and_deletes_it_later() {
    let time = ManualClock::new();
    let app = spawn_embedded_on_clock(&time, Some(HOUR)).await;
    let photo = app.upload_ok(noise_png(200, 160, 65), "image/png").await;

    app.store.down();
    // The sweeper runs every quarter of the hour; at 75 minutes the photo is expired.
    sweep_after(&app, &time, Duration::from_secs(75 * 60)).await;
    app.store.up();
    assert_eq!(app.stored_files().await, 1, "the store could not delete it");
    // The index kept its row, so the next sweep deletes it.
    sweep_after(&app, &time, Duration::from_secs(15 * 60)).await;
    assert_eq!(app.stored_files().await, 0);
    assert_eq!(app.http.get(&photo.url).send().await.unwrap().status(), 404);
}

/// Runs the proxy binary with `settings` until it exits; answers its exit code and what
/// it wrote to stderr.
pub fn run_binary_until_it_exits(settings: &[(&str, &str)]) -> (Option<i32>, String) {
    let data = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_tryon-proxy"));
    for variable in crate::store_backend::binary_env(data.path()).1 {
        command.env_remove(variable);
    }
    let child = command
        .env("TRYON_DATA_DIR", data.path())
        .env("TRYON_LISTEN", "127.0.0.1:0")
        .env_remove("DASHSCOPE_API_KEY")
        .env("NO_COLOR", "1")
        .envs(settings.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the proxy binary starts");
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let output = finished
        .recv_timeout(HANG_LIMIT)
        .expect("a proxy with a wrong configuration exits at once")
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_wrong_storage_url_stops_the_binary_at_start_with_one_line_per_variable_and_exit_code_2() {
    let (code, stderr) = run_binary_until_it_exits(&[("TRYON_STORAGE_URL", "minio://photos")]);
    assert_eq!(code, Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|line| !line.is_empty()).collect();
    assert_eq!(
        lines[0], "the proxy's configuration is not valid:",
        "{stderr}"
    );
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[1].starts_with("  TRYON_STORAGE_URL: \"minio\" is not a storage scheme"),
        "{stderr}"
    );

    let (code, stderr) = run_binary_until_it_exits(&[
        ("TRYON_STORAGE_URL", "s3://photos/shop"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_SECRET_ACCESS_KEY", "hush-hush-secret-key"),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    let named: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.is_empty())
        .skip(1)
        .filter_map(|line| line.trim_start().split(':').next())
        .collect();
    assert_eq!(
        named,
        vec!["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID"],
        "{stderr}"
    );
    assert!(!stderr.contains("hush-hush"), "{stderr}");
}

//! What holds only with an object store (`TRYON_STORAGE_URL=s3://...`): every file is in the bucket and none on the replica's disk, another replica on the same prefix serves them all, a store that hangs is given up on within the call timeout, and the binary names its store in the log but never its keys.
//!
//! These tests need the S3-compatible test server, so they are `#[ignore]`d: a plain
//! `cargo test` lists them as ignored instead of passing them unseen, and
//! `scripts/backends-test.sh` (a step of `scripts/test.sh`) starts moto and runs them with
//! `--include-ignored`. Run without the server, they fail, saying how to start it.

use std::time::Duration;

use serde_json::json;
use tryon_api::TaskStatus;
use tryon_api::proxy::FILES_PATH;
use tryon_api::wire::{CreateTaskResponse, SEGMENT_PATH, SegmentResponse};
use tryon_proxy::admission::AdmissionLimits;
use tryon_proxy::configuration::UpstreamSettings;

use crate::binary::{KEY, start_binary_configured};
use crate::helpers::{
    TIME_SCALE, error_body, noise_jpeg, shop_page_client, spawn_app, spawn_app_on,
    spawn_app_with_store_timeout, spawn_sim, two_tone_person,
};
use crate::store_backend::{prefix_of, required_s3_endpoint};

#[tokio::test]
#[ignore = "needs the S3 test server: scripts/backends-test.sh"]
async fn every_file_is_in_the_bucket_none_on_the_replicas_disk_and_another_replica_serves_it() {
    required_s3_endpoint();
    let app = spawn_app().await;
    assert!(app.store.is_s3());
    // An upload, a garment and a try-on's kept result.
    let body = app.tryon_body(noise_jpeg(300, 450, 71)).await;
    let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    let done = app.wait_until_done(&created.output.task_id).await;
    assert_eq!(done.output.task_status, TaskStatus::Succeeded, "{done:?}");
    // A segmentation's crops and parsing images, re-hosted here.
    let person = app.upload_ok(two_tone_person(), "image/jpeg").await;
    let response = app
        .http
        .post(app.url(SEGMENT_PATH))
        .json(&json!({
            "model": "aitryon-parsing-v1",
            "input": {"image_url": person.url},
            "parameters": {"clothes_type": ["upper", "lower"]}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let segmented: SegmentResponse = response.json().await.unwrap();
    assert!(segmented.output.crop_img_url.iter().flatten().count() >= 1);

    // The bucket holds exactly the files of the index, and the data folder none.
    let mut indexed = app
        .proxy
        .state
        .store
        .files_before(i64::MAX as u64)
        .await
        .unwrap();
    indexed.sort();
    let in_bucket = app.store.names().await;
    assert!(indexed.len() >= 5, "{indexed:?}");
    assert_eq!(in_bucket, indexed);
    assert_eq!(app.local_files(), 0);
    assert!(!app.data_dir().join("files").exists());

    // A second replica with a data folder of its own (its own database) and the same
    // prefix serves every one of them, byte for byte.
    let replica_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        replica_dir.path().join("test-s3-prefix"),
        prefix_of(app.data_dir()),
    )
    .unwrap();
    let replica = spawn_app_on(
        UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        AdmissionLimits::default(),
        Some(replica_dir),
    )
    .await;
    for id in &indexed {
        let path = format!("{FILES_PATH}/{id}");
        let here = app.http.get(app.url(&path)).send().await.unwrap();
        let there = replica.http.get(replica.url(&path)).send().await.unwrap();
        assert_eq!(
            (here.status().as_u16(), there.status().as_u16()),
            (200, 200),
            "{id}"
        );
        assert_eq!(here.bytes().await.unwrap(), there.bytes().await.unwrap());
    }
    assert_eq!(replica.local_files(), 0);
}

#[tokio::test]
#[ignore = "needs the S3 test server: scripts/backends-test.sh"]
async fn a_store_that_hangs_is_given_up_on_within_the_call_timeout_with_a_503() {
    required_s3_endpoint();
    let app = spawn_app_with_store_timeout(Duration::from_secs(1)).await;
    let kept = app.upload_ok(noise_jpeg(300, 450, 72), "image/jpeg").await;

    app.store.hang();
    // A 504 would mean that the proxy's 40 s request limit ended the wait instead.
    let response = app.upload(noise_jpeg(300, 450, 73), "image/jpeg").await;
    assert_eq!(response.status(), 503);
    assert_eq!(error_body(response).await.code, "Proxy.StorageUnavailable");
    let response = app.http.get(&kept.url).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let ready: serde_json::Value = app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["ready"], false);
    assert_eq!(
        ready["storage"],
        format!("{}: not writable", app.store.described())
    );

    app.store.up();
    assert_eq!(app.http.get(&kept.url).send().await.unwrap().status(), 200);
    assert_eq!(
        app.stored_files().await,
        1,
        "nothing of the upload that hung"
    );
}

#[tokio::test]
#[ignore = "needs the S3 test server: scripts/backends-test.sh"]
async fn the_binary_logs_which_store_it_uses_and_never_its_keys() {
    required_s3_endpoint();
    // The test server takes any key, so recognisable ones can be looked for in the log.
    const ACCESS_KEY: &str = "AKIARECOGNISABLEID01";
    const SECRET_KEY: &str = "recognisable/secret+access-key-0123456789";
    let sim = spawn_sim(KEY, |_| {}).await;
    let data = tempfile::tempdir().unwrap();
    let (mut child, base, log) = start_binary_configured(
        &sim,
        "127.0.0.1:0",
        data.path(),
        Some("aitryon"),
        &[
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("RUST_LOG", "debug"),
        ],
    );
    let http = shop_page_client();
    let uploaded = http
        .post(format!("{base}{}", tryon_api::proxy::UPLOADS_PATH))
        .header("content-type", "image/jpeg")
        .body(noise_jpeg(300, 450, 74))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 201);
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        crate::store_backend::local_files(data.path()),
        0,
        "the binary keeps no file on its disk"
    );

    let lines = log.lock().unwrap().clone();
    let url = format!("s3://tryon-tests/{}", prefix_of(data.path()));
    assert!(
        lines
            .iter()
            .any(|line| line.contains("files are kept in the object store") && line.contains(&url)),
        "the start log names the store: {lines:#?}"
    );
    for line in &lines {
        for secret in [ACCESS_KEY, SECRET_KEY] {
            assert!(!line.contains(secret), "a key is in a log line: {line}");
        }
    }
}

//! Garment segmentation through the proxy: only the shopper's own uploads, crops re-hosted here and accepted as garments, billed per input image.

use serde_json::json;
use tryon_api::TaskStatus;
use tryon_api::proxy::FILES_PATH;
use tryon_api::wire::{CreateTaskResponse, SEGMENT_PATH, SegmentResponse};
use tryon_proxy::admission::AdmissionLimits;
use tryon_proxy::configuration::UpstreamSettings;
use tryon_proxy::policy::PolicySettings;

use crate::helpers::{TIME_SCALE, error_body, metric, spawn_app_full, two_tone_person};

#[tokio::test]
async fn keep_own_bottom_segments_the_upload_and_its_crop_is_a_valid_garment() {
    // Garments only from the shop's page: the crop must pass as "produced by the proxy".
    let app = spawn_app_full(
        UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        AdmissionLimits::default(),
        None,
        PolicySettings {
            garment_prefixes: vec!["http://127.0.0.1:8080/".into()],
            ..PolicySettings::open()
        },
        None,
    )
    .await;
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
    let answer: SegmentResponse = response.json().await.unwrap();
    assert_eq!(answer.output.crop_img_url.len(), 2);
    let lower = answer.output.crop_img_url[1]
        .clone()
        .expect("the emulator finds the lower garment");
    assert!(
        lower.starts_with(&app.url(FILES_PATH)),
        "the crop is hosted by the proxy: {lower}"
    );
    for url in answer.output.parsing_img_url.iter().flatten() {
        assert!(url.starts_with(&app.url(FILES_PATH)), "{url}");
    }
    let crop = app.http.get(&lower).send().await.unwrap();
    assert_eq!(crop.status(), 200);
    assert_eq!(crop.headers()["content-type"], "image/png");
    assert_eq!(
        metric(&app, "tryon_spend_cny_total{model=\"aitryon-parsing-v1\"}").await,
        Some(0.004)
    );

    // Keep the own bottom: a catalogue top plus the shopper's own cut-out bottom.
    let created = app
        .create(&json!({
            "model": "aitryon-plus",
            "input": {
                "person_image_url": person.url,
                "top_garment_url": "http://127.0.0.1:8080/samples/top-tee.png",
                "bottom_garment_url": lower
            }
        }))
        .await;
    assert_eq!(created.status(), 200, "the crop is accepted as a garment");
    let created: CreateTaskResponse = created.json().await.unwrap();
    // The catalogue URL is not served in this test, so the task itself may fail to
    // download it; what matters here is that the policy let it through.
    let done = app.wait_until_done(&created.output.task_id).await;
    assert!(done.output.task_status.is_terminal());
    assert_ne!(done.output.task_status, TaskStatus::Unknown);
}

#[tokio::test]
async fn segmentation_of_a_photo_not_uploaded_here_is_refused() {
    let app = crate::helpers::spawn_app().await;
    // A file URL of this proxy whose file is not kept (an id is random, so it was most
    // likely deleted or swept) is told apart: the shopper is asked for the photo again.
    for (url, status, code) in [
        (
            "https://elsewhere.example/person.jpg".to_owned(),
            400,
            "Proxy.PersonNotUploaded",
        ),
        (
            app.url(&format!("{FILES_PATH}/0123456789abcdef0123456789abcdef")),
            404,
            "Proxy.PhotoExpired",
        ),
    ] {
        let response = app
            .http
            .post(app.url(SEGMENT_PATH))
            .json(&json!({
                "model": "aitryon-parsing-v1",
                "input": {"image_url": url},
                "parameters": {"clothes_type": ["upper"]}
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{url}");
        assert_eq!(error_body(response).await.code, code);
    }
    let response = reqwest::Client::new()
        .post(app.url(SEGMENT_PATH))
        .json(&json!({"model": "x", "input": {"image_url": "x"}, "parameters": {"clothes_type": ["upper"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "no Origin: refused first");
}

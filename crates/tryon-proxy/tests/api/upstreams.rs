//! The upstream seam: the same shopper flow through each adapter (the seed's async `aitryon` and the synchronous `qwen-image` successor), keep-own by prompt, capabilities, the successor's photo rules and rate, and switching a shop from one upstream to the other.

use std::time::Duration;

use serde_json::json;
use tryon_api::TaskStatus;
use tryon_api::generation::{CAPABILITIES_PATH, Capabilities, SuccessorModel};
use tryon_api::proxy::FILES_PATH;
use tryon_api::wire::{CreateTaskResponse, SEGMENT_PATH, SegmentResponse, TaskQueryResponse};
use tryon_proxy::admission::AdmissionLimits;
use tryon_proxy::configuration::UpstreamSettings;
use tryon_proxy::policy::PolicySettings;
use tryon_proxy::storage::FileId;

use crate::helpers::{
    Adapter, TestApp, error_body, fake_heic, metric, noise_jpeg, restart_with, spawn_app,
    spawn_app_adapter, spawn_qwen, spawn_qwen_behind, two_tone_person,
};

/// Upload, create, follow the job to SUCCEEDED and fetch the result from the proxy:
/// the shopper's whole flow, whichever adapter serves it. Answers the finished job.
async fn full_flow(app: &TestApp, seed: u64) -> TaskQueryResponse {
    let body = app.tryon_body(noise_jpeg(360, 540, seed)).await;
    let response = app.create(&body).await;
    assert_eq!(response.status(), 200);
    let created: CreateTaskResponse = response.json().await.unwrap();
    let done = app.wait_until_done(&created.output.task_id).await;
    assert_eq!(done.output.task_status, TaskStatus::Succeeded, "{done:?}");
    assert_eq!(done.output.task_id, created.output.task_id);
    assert_eq!(done.usage.map(|u| u.image_count), Some(1));
    assert!(done.output.submit_time.is_some() && done.output.end_time.is_some());
    let image_url = done.output.image_url.clone().expect("a result URL");
    assert!(
        image_url.starts_with(&app.url(FILES_PATH)),
        "the result is hosted by the proxy: {image_url}"
    );
    let result = app.http.get(&image_url).send().await.unwrap();
    assert_eq!(result.status(), 200);
    let bytes = result.bytes().await.unwrap();
    image::load_from_memory(&bytes).expect("the result is an image");
    done
}

#[tokio::test]
async fn the_whole_flow_runs_through_the_async_task_adapter() {
    let app = spawn_app().await;
    full_flow(&app, 200).await;
    assert_eq!(
        metric(&app, "tryon_spend_cny_total{model=\"aitryon-plus\"}").await,
        Some(0.5)
    );
    assert!(
        metric(
            &app,
            "tryon_upstream_responses_total{call=\"create\",status=\"200\"}"
        )
        .await
        .is_some()
    );
}

#[tokio::test]
async fn the_whole_flow_runs_through_the_multimodal_adapter() {
    let app = spawn_qwen("qwen-image-2.0").await;
    let done = full_flow(&app, 201).await;
    // The proxy recorded the lifecycle itself: RUNNING began when it sent the call.
    assert!(done.output.scheduled_time.is_some(), "{done:?}");
    assert_eq!(
        metric(&app, "tryon_spend_cny_total{model=\"qwen-image-2.0\"}").await,
        Some(0.2),
        "billed at the successor's price"
    );
    assert!(
        metric(
            &app,
            "tryon_upstream_responses_total{call=\"generate\",status=\"200\"}"
        )
        .await
        .is_some()
    );
    assert_eq!(
        metric(
            &app,
            "tryon_upstream_responses_total{call=\"create\",status=\"200\"}"
        )
        .await,
        None,
        "the seed's create call is not used"
    );
}

#[tokio::test]
async fn qwen_image_sends_hosted_photos_inline_so_no_public_url_is_needed() {
    // Nobody listens on port 9: every URL of a file hosted by this proxy is one the
    // emulator cannot download, as DashScope cannot download a loopback URL.
    let unreachable = "http://127.0.0.1:9";
    let app = spawn_qwen_behind("qwen-image-2.0", unreachable).await;
    let body = app.tryon_body(noise_jpeg(360, 540, 203)).await;
    let person_url = body["input"]["person_image_url"].as_str().unwrap();
    assert!(
        person_url.starts_with(unreachable),
        "the photo URL names the unreachable base: {person_url}"
    );
    let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    let done = app.wait_until_done(&created.output.task_id).await;
    assert_eq!(
        done.output.task_status,
        TaskStatus::Succeeded,
        "the person and the garment uploaded here went inline as data URLs: {done:?}"
    );
    assert_eq!(done.usage.map(|u| u.image_count), Some(1));
    // The result URL names the same unreachable base; the file is served on the proxy's
    // own address.
    let image_url = done.output.image_url.expect("a result URL");
    let path = image_url
        .strip_prefix(unreachable)
        .expect("a file of the proxy");
    let result = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(result.status(), 200);
    image::load_from_memory(&result.bytes().await.unwrap()).expect("the result is an image");

    // The control: a garment URL that is not a file of this proxy is sent as it is (the
    // shop's product images are public), so at the same unreachable address the
    // emulator's download fails and so does the job.
    let mut body = app.tryon_body(noise_jpeg(360, 540, 204)).await;
    body["input"]["top_garment_url"] = json!(format!("{unreachable}/products/top.png"));
    let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    let done = app.wait_until_done(&created.output.task_id).await;
    assert_eq!(done.output.task_status, TaskStatus::Failed, "{done:?}");
    assert_eq!(done.output.code.as_deref(), Some("InvalidURL"), "{done:?}");
}

#[tokio::test]
async fn a_refused_generation_fails_the_job_with_the_catalogue_code() {
    let app = spawn_qwen("qwen-image-2.0").await;
    let mut body = app.tryon_body(noise_jpeg(360, 540, 202)).await;
    // The emulator's data-inspection rule refuses any image whose path says so.
    body["input"]["top_garment_url"] = json!("http://127.0.0.1:9/inappropriate.png");
    let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    let done = app.wait_until_done(&created.output.task_id).await;
    assert_eq!(done.output.task_status, TaskStatus::Failed, "{done:?}");
    assert_eq!(done.output.code.as_deref(), Some("DataInspectionFailed"));
    assert!(done.output.message.is_some_and(|m| !m.is_empty()));
    assert_eq!(
        metric(&app, "tryon_images_billed_today").await,
        Some(0.0),
        "a refused generation is not billed"
    );
}

#[tokio::test]
async fn keep_own_under_qwen_image_segments_nothing_and_never_sends_the_crop() {
    let app = spawn_app_adapter(
        Adapter::qwen("qwen-image-2.0"),
        UpstreamSettings::Embedded {
            time_scale: crate::helpers::TIME_SCALE,
        },
        AdmissionLimits::default(),
        None,
        // Garments only from the shop's page: the marker must pass as a crop of the proxy.
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
            "parameters": {"clothes_type": ["lower"]}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: SegmentResponse = response.json().await.unwrap();
    let marker = answer.output.crop_img_url[0]
        .clone()
        .expect("a keep-own marker");
    assert!(marker.starts_with(&app.url(FILES_PATH)), "{marker}");
    assert_eq!(answer.usage.map(|u| u.image_count), Some(0));
    assert_eq!(
        metric(
            &app,
            "tryon_upstream_responses_total{call=\"segment\",status=\"200\"}"
        )
        .await,
        None,
        "the retired segmentation model is not called"
    );
    assert_eq!(
        metric(&app, "tryon_spend_cny_total{model=\"aitryon-parsing-v1\"}").await,
        None,
        "the marker costs nothing"
    );

    let response = app
        .create(&json!({
            "model": "aitryon-plus",
            "input": {
                "person_image_url": person.url,
                "top_garment_url": "http://127.0.0.1:8080/samples/top-tee.png",
                "bottom_garment_url": marker
            }
        }))
        .await;
    assert_eq!(
        response.status(),
        200,
        "the marker is accepted as a garment"
    );

    // With a garment the emulator can download, the job succeeds, and never needs the
    // marker: its file is taken away first, so a download of it would fail the job.
    let open = spawn_qwen("qwen-image-2.0").await;
    let person = open.upload_ok(two_tone_person(), "image/jpeg").await;
    let segmented: SegmentResponse = open
        .http
        .post(open.url(SEGMENT_PATH))
        .json(&json!({
            "model": "aitryon-parsing-v1",
            "input": {"image_url": person.url},
            "parameters": {"clothes_type": ["lower"]}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let marker = segmented.output.crop_img_url[0].clone().unwrap();
    let marker_id = FileId::parse(marker.rsplit('/').next().unwrap()).unwrap();
    open.proxy.state.storage.delete(&marker_id).await.unwrap();
    let garment = open
        .upload_ok(crate::helpers::noise_png(300, 360, 10), "image/png")
        .await;
    let created: CreateTaskResponse = open
        .create(&json!({
            "model": "aitryon-plus",
            "input": {
                "person_image_url": person.url,
                "top_garment_url": garment.url,
                "bottom_garment_url": marker
            }
        }))
        .await
        .json()
        .await
        .unwrap();
    let done = open.wait_until_done(&created.output.task_id).await;
    assert_eq!(
        done.output.task_status,
        TaskStatus::Succeeded,
        "the own bottom is kept by the prompt, its crop never downloaded: {done:?}"
    );
}

#[tokio::test]
async fn capabilities_describe_the_current_upstream() {
    let seed = spawn_app().await;
    let response = seed
        .http
        .get(seed.url(CAPABILITIES_PATH))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let capabilities: Capabilities = response.json().await.unwrap();
    assert_eq!(capabilities, Capabilities::aitryon("aitryon-plus"));

    let successor = spawn_qwen("qwen-image-2.0-pro").await;
    let capabilities: Capabilities = successor
        .http
        .get(successor.url(CAPABILITIES_PATH))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        capabilities,
        Capabilities::successor(&SuccessorModel::parse("qwen-image-2.0-pro").unwrap())
    );
    assert!(!capabilities.refinement);
    assert!(!capabilities.photo_formats.contains(&"heic".to_owned()));
}

#[tokio::test]
async fn heic_photos_are_refused_at_upload_under_qwen_image_only() {
    let heic = fake_heic(1200, 1600, 20_000);
    let seed = spawn_app().await;
    let accepted = seed.upload(heic.clone(), "image/heic").await;
    assert_eq!(accepted.status(), 201, "the seed's API takes HEIC");

    let successor = spawn_qwen("qwen-image-2.0").await;
    let refused = successor.upload(heic, "image/heic").await;
    assert_eq!(refused.status(), 415);
    let body = error_body(refused).await;
    assert_eq!(body.code, "Proxy.PhotoNotAccepted");
    assert!(body.message.contains("qwen-image-2.0"), "{}", body.message);
}

#[tokio::test]
async fn the_pro_models_two_per_minute_keep_the_third_job_queued() {
    let time = tryon_clock::ManualClock::new();
    let app = crate::helpers::spawn_app_on_clock(
        &time,
        Adapter::qwen("qwen-image-2.0-pro"),
        UpstreamSettings::Embedded {
            time_scale: crate::helpers::TIME_SCALE,
        },
        AdmissionLimits {
            create_wait: Duration::ZERO,
            ..AdmissionLimits::default()
        },
        PolicySettings::open(),
        None,
        None,
    )
    .await;
    let body = app.tryon_body(noise_jpeg(360, 540, 203)).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
        ids.push(created.output.task_id);
    }
    // The clock runs while the first two generations are made (0.16 s each at this scale),
    // then stands still, well within the minute.
    time.resume();
    for id in &ids[..2] {
        let done = app.wait_until_done(id).await;
        assert_eq!(done.output.task_status, TaskStatus::Succeeded, "{done:?}");
    }
    time.pause();
    assert!(time.elapsed() < Duration::from_secs(60));
    // Two calls used the minute: the third waits in the proxy's queue, not upstream.
    let third: TaskQueryResponse = app.get_task(&ids[2], "").await.json().await.unwrap();
    assert_eq!(third.output.task_status, TaskStatus::Pending, "{third:?}");
    assert_eq!(third.output.queue_position, Some(0));
    // When the minute is over, it is sent and made.
    time.advance(Duration::from_secs(60));
    time.resume();
    let done = app.wait_until_done(&ids[2]).await;
    assert_eq!(done.output.task_status, TaskStatus::Succeeded, "{done:?}");
    assert_eq!(
        metric(
            &app,
            "tryon_upstream_responses_total{call=\"generate\",status=\"429\"}"
        )
        .await,
        None,
        "the emulator never throttled a call"
    );
}

#[tokio::test]
async fn a_job_finished_under_aitryon_is_served_after_switching_to_qwen_image() {
    let first = spawn_app().await;
    let before = full_flow(&first, 204).await;
    let old_url = before.output.image_url.clone().unwrap();
    let addr = first.proxy.addr;
    let data_dir = first.stop().await;

    let second = restart_with(Adapter::qwen("qwen-image-2.0"), addr, data_dir).await;
    let capabilities: Capabilities = second
        .http
        .get(second.url(CAPABILITIES_PATH))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        capabilities.model, "qwen-image-2.0",
        "the switch took effect"
    );
    let after: TaskQueryResponse = second
        .get_task(&before.output.task_id, "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after.output.task_status, TaskStatus::Succeeded);
    assert_eq!(after.output.image_url.as_deref(), Some(old_url.as_str()));
    let result = second.http.get(&old_url).send().await.unwrap();
    assert_eq!(result.status(), 200, "the kept result is still served");

    // New jobs go to the new upstream and are billed at its price; the old bill stays.
    full_flow(&second, 205).await;
    assert_eq!(
        metric(&second, "tryon_spend_cny_total{model=\"qwen-image-2.0\"}").await,
        Some(0.2)
    );
    assert_eq!(
        metric(&second, "tryon_spend_cny_total{model=\"aitryon-plus\"}").await,
        Some(0.5)
    );
}

#[tokio::test]
async fn a_generation_cut_short_by_a_restart_fails_as_interrupted_and_is_not_resent() {
    // The first proxy's clock stands still, so its held call cannot end before the stop.
    // It stands at the real date, since the restarted proxy runs in real time.
    let time = tryon_clock::ManualClock::starting_at(std::time::SystemTime::now());
    let first = crate::helpers::spawn_app_on_clock(
        &time,
        Adapter::qwen("qwen-image-2.0"),
        UpstreamSettings::Embedded {
            time_scale: crate::helpers::TIME_SCALE,
        },
        AdmissionLimits::default(),
        PolicySettings::open(),
        None,
        None,
    )
    .await;
    let body = first.tryon_body(noise_jpeg(360, 540, 206)).await;
    let created: CreateTaskResponse = first.create(&body).await.json().await.unwrap();
    assert_eq!(
        created.output.task_status,
        TaskStatus::Running,
        "the create answers once the call is held"
    );
    let addr = first.proxy.addr;
    let data_dir = first.stop().await;

    let second = restart_with(Adapter::qwen("qwen-image-2.0"), addr, data_dir).await;
    let after: TaskQueryResponse = second
        .get_task(&created.output.task_id, "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after.output.task_status, TaskStatus::Failed, "{after:?}");
    assert!(
        after
            .output
            .message
            .as_deref()
            .is_some_and(|m| m.contains("interrupted")),
        "{after:?}"
    );
    assert_eq!(
        metric(
            &second,
            "tryon_upstream_responses_total{call=\"generate\",status=\"200\"}"
        )
        .await,
        None,
        "the restarted proxy did not send it again"
    );
}

#[tokio::test]
async fn a_job_queued_under_aitryon_is_sent_to_qwen_image_after_the_switch() {
    // One job at a time and a clock that stands still: the first job cannot end, so the
    // second is still queued when the proxy stops. It stands at the real date, since the
    // restarted proxy runs in real time and would otherwise sweep the first one's files
    // away as months old.
    let time = tryon_clock::ManualClock::starting_at(std::time::SystemTime::now());
    let first = crate::helpers::spawn_app_on_clock(
        &time,
        Adapter::aitryon(),
        UpstreamSettings::Embedded {
            time_scale: crate::helpers::TIME_SCALE,
        },
        AdmissionLimits {
            max_running: Some(1),
            create_wait: Duration::ZERO,
        },
        PolicySettings::open(),
        None,
        None,
    )
    .await;
    let body = first.tryon_body(noise_jpeg(360, 540, 207)).await;
    let running: CreateTaskResponse = first.create(&body).await.json().await.unwrap();
    let queued: CreateTaskResponse = first.create(&body).await.json().await.unwrap();
    first
        .until_job(&running.output.task_id, |record| {
            record.upstream_id.is_some()
        })
        .await;
    let answer: TaskQueryResponse = first
        .get_task(&queued.output.task_id, "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer.output.queue_position, Some(0), "{answer:?}");
    let addr = first.proxy.addr;
    let data_dir = first.stop().await;

    let second = restart_with(Adapter::qwen("qwen-image-2.0"), addr, data_dir).await;
    let done = second.wait_until_done(&queued.output.task_id).await;
    assert_eq!(done.output.task_status, TaskStatus::Succeeded, "{done:?}");
    assert_eq!(
        metric(&second, "tryon_spend_cny_total{model=\"qwen-image-2.0\"}").await,
        Some(0.2),
        "billed by the upstream that ran it"
    );
}

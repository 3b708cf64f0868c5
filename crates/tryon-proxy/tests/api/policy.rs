//! The shop's rules on paid calls: page origin, garment source, per-shopper daily limit, daily image and spend caps, and shoppers kept apart.

use serde_json::json;
use tryon_api::TaskStatus;
use tryon_api::proxy::{STATUS_PATH, ShopStatus};
use tryon_api::wire::{CREATE_TASK_PATH, CreateTaskResponse, cancel_path, task_path};
use tryon_proxy::admission::AdmissionLimits;
use tryon_proxy::configuration::UpstreamSettings;
use tryon_proxy::policy::PolicySettings;

use crate::helpers::{
    TIME_SCALE, TestApp, error_body, metric, new_shopper, noise_jpeg, spawn_app, spawn_app_full,
};

fn embedded() -> UpstreamSettings {
    UpstreamSettings::Embedded {
        time_scale: TIME_SCALE,
    }
}

async fn spawn_with(policy: PolicySettings) -> TestApp {
    spawn_app_full(embedded(), AdmissionLimits::default(), None, policy, None).await
}

async fn status(app: &TestApp) -> ShopStatus {
    app.shop_status(&app.http).await
}

#[tokio::test]
async fn a_create_from_another_page_or_without_origin_is_refused() {
    let app = spawn_app().await;
    let body = app.tryon_body(noise_jpeg(300, 450, 80)).await;
    for origin in [Some("https://evil.example"), None] {
        let mut request = reqwest::Client::new()
            .post(app.url(CREATE_TASK_PATH))
            .json(&body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{origin:?}");
        let error = error_body(response).await;
        assert_eq!(error.code, "Proxy.OriginNotAllowed");
    }
    assert_eq!(app.create(&body).await.status(), 200, "the shop's own page");
}

#[tokio::test]
async fn a_star_in_the_allowlist_accepts_any_origin_for_development() {
    let app = spawn_with(PolicySettings {
        any_origin: true,
        ..PolicySettings::open()
    })
    .await;
    let body = app.tryon_body(noise_jpeg(300, 450, 81)).await;
    let response = reqwest::Client::new()
        .post(app.url(CREATE_TASK_PATH))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, app.url(CREATE_TASK_PATH))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
}

#[tokio::test]
async fn a_garment_from_outside_the_catalogue_is_refused() {
    let app = spawn_with(PolicySettings {
        garment_prefixes: vec!["http://127.0.0.1:8080/".into()],
        ..PolicySettings::open()
    })
    .await;
    // A shopper-uploaded picture is not a product of the shop.
    let body = app.tryon_body(noise_jpeg(300, 450, 82)).await;
    let response = app.create(&body).await;
    assert_eq!(response.status(), 403);
    assert_eq!(error_body(response).await.code, "Proxy.GarmentNotAllowed");

    let mut lookalike = body.clone();
    lookalike["input"]["top_garment_url"] = json!("http://127.0.0.1:8080.evil.example/tee.png");
    let response = app.create(&lookalike).await;
    assert_eq!(error_body(response).await.code, "Proxy.GarmentNotAllowed");

    let mut catalogue = body.clone();
    catalogue["input"]["top_garment_url"] = json!("http://127.0.0.1:8080/samples/top-tee.png");
    let response = app.create(&catalogue).await;
    assert_eq!(response.status(), 200, "a catalogue garment is accepted");
}

#[tokio::test]
async fn a_shopper_over_the_daily_limit_is_refused_and_others_are_not() {
    let app = spawn_with(PolicySettings {
        shopper_daily_limit: 2,
        ..PolicySettings::open()
    })
    .await;
    let (_, first) = new_shopper(&app).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 83)).await;
    for _ in 0..2 {
        let response = first
            .post(app.url(CREATE_TASK_PATH))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let response = first
        .post(app.url(CREATE_TASK_PATH))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(error_body(response).await.code, "Proxy.ShopperDailyLimit");

    let seen = app.shop_status(&first).await;
    assert!(!seen.available);
    assert_eq!(seen.reason.as_deref(), Some("shopper_daily_limit"));
    assert_eq!(seen.shopper_remaining, Some(0));

    let (_, second) = new_shopper(&app).await;
    let response = second
        .post(app.url(CREATE_TASK_PATH))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "another shopper has a limit of their own"
    );
}

#[tokio::test]
async fn another_shoppers_job_answers_like_an_unknown_one() {
    let app = spawn_app().await;
    let (_, owner) = new_shopper(&app).await;
    let (_, stranger) = new_shopper(&app).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 84)).await;
    let created: CreateTaskResponse = owner
        .post(app.url(CREATE_TASK_PATH))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created.output.task_id;

    let unknown = error_body(
        stranger
            .get(app.url(&task_path("00000000-0000-0000-0000-000000000000")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let response = stranger.get(app.url(&task_path(&id))).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let theirs = error_body(response).await;
    assert_eq!(
        (theirs.code, theirs.message),
        (unknown.code, unknown.message)
    );
    let response = stranger
        .post(app.url(&cancel_path(&id)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    let response = owner.get(app.url(&task_path(&id))).send().await.unwrap();
    assert_eq!(response.status(), 200, "the owner still sees it");
}

#[tokio::test]
async fn the_status_call_sets_an_http_only_cookie_that_identifies_the_shopper() {
    let app = spawn_app().await;
    let response = app.http.get(app.url(STATUS_PATH)).send().await.unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let token = response.headers()["x-tryon-shopper"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with(&format!("tryon_shopper={token};")),
        "{cookie}"
    );
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    // Plain HTTP here: a Secure cookie would be dropped by the browser.
    assert!(
        cookie.contains("SameSite=Lax") && !cookie.contains("Secure"),
        "{cookie}"
    );

    // A job made with the cookie is the same shopper's as one queried with the header.
    let body = app.tryon_body(noise_jpeg(300, 450, 85)).await;
    let created: CreateTaskResponse = app
        .http
        .post(app.url(CREATE_TASK_PATH))
        .header("cookie", format!("tryon_shopper={token}"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = app
        .http
        .get(app.url(&task_path(&created.output.task_id)))
        .header("x-tryon-shopper", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A forged token counts for nothing: the caller is the anonymous IP shopper.
    let last = if token.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    let response = app
        .http
        .get(app.url(&task_path(&created.output.task_id)))
        .header("x-tryon-shopper", forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn the_daily_image_cap_counts_running_jobs_and_turns_the_shop_unavailable() {
    let app = spawn_with(PolicySettings {
        daily_image_cap: Some(1),
        ..PolicySettings::open()
    })
    .await;
    let body = app.tryon_body(noise_jpeg(300, 450, 86)).await;
    let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    // The first job is not billed yet, but it will be: a second one would overshoot.
    let response = app.create(&body).await;
    assert_eq!(response.status(), 503);
    assert_eq!(error_body(response).await.code, "Proxy.DailyImageCap");

    let done = app.wait_until_done(&created.output.task_id).await;
    assert_eq!(done.output.task_status, TaskStatus::Succeeded);
    let seen = status(&app).await;
    assert!(!seen.available);
    assert_eq!(seen.reason.as_deref(), Some("daily_image_cap"));
    assert_eq!(metric(&app, "tryon_images_billed_today").await, Some(1.0));
}

#[tokio::test]
async fn the_spend_cap_refuses_creates_once_the_ledger_reaches_it() {
    let app = spawn_with(PolicySettings {
        spend_cap_cny: Some(0.9),
        ..PolicySettings::open()
    })
    .await;
    let body = app.tryon_body(noise_jpeg(300, 450, 87)).await;
    let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    app.wait_until_done(&created.output.task_id).await;
    assert_eq!(
        metric(&app, "tryon_spend_cny_total{model=\"aitryon-plus\"}").await,
        Some(0.5)
    );

    // 0.50 billed plus 0.50 for the next one would pass 0.90: the shop stops before it.
    let response = app.create(&body).await;
    assert_eq!(response.status(), 503);
    assert_eq!(error_body(response).await.code, "Proxy.SpendCap");
    let seen = status(&app).await;
    assert!(!seen.available);
    assert_eq!(seen.reason.as_deref(), Some("spend_cap"));
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_the_error_shape() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/api/v1/nope")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(error_body(response).await.code, "Proxy.RouteNotFound");
    let response = app
        .http
        .delete(app.url(CREATE_TASK_PATH))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(error_body(response).await.code, "Proxy.MethodNotAllowed");
}

#[tokio::test]
async fn a_create_body_over_the_limit_is_413_in_the_error_shape() {
    let app = spawn_app().await;
    let huge = format!("{{\"model\":\"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let response = app.create_raw(&huge).await;
    assert_eq!(response.status(), 413);
    assert_eq!(error_body(response).await.code, "Proxy.PayloadTooLarge");
}

#[tokio::test]
async fn readiness_checks_storage_and_the_upstream() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let ready: serde_json::Value = response.json().await.unwrap();
    assert_eq!(ready["ready"], true);

    let cut_off = spawn_app_full(
        UpstreamSettings::DashScope {
            base_url: "http://127.0.0.1:9".into(),
            api_key: secrecy::SecretString::from("sk-x".to_owned()),
        },
        AdmissionLimits::default(),
        None,
        PolicySettings::open(),
        None,
    )
    .await;
    let response = cut_off
        .http
        .get(cut_off.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let ready: serde_json::Value = response.json().await.unwrap();
    assert_eq!(ready["upstream"], "unreachable");
    assert_eq!(ready["storage"], "ok");
}

#[tokio::test]
async fn metrics_show_upstream_latency_and_answers() {
    let app = spawn_app().await;
    let body = app.tryon_body(noise_jpeg(300, 450, 88)).await;
    let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    app.wait_until_done(&created.output.task_id).await;
    let count = metric(
        &app,
        "tryon_upstream_request_duration_seconds_count{call=\"create\"}",
    )
    .await;
    assert_eq!(count, Some(1.0));
    assert_eq!(
        metric(
            &app,
            "tryon_upstream_responses_total{call=\"create\",status=\"200\"}"
        )
        .await,
        Some(1.0)
    );
    assert!(
        metric(
            &app,
            "tryon_upstream_request_duration_seconds_count{call=\"query\"}"
        )
        .await
        .is_some_and(|n| n >= 1.0)
    );
    assert_eq!(
        metric(&app, "tryon_images_billed_total{model=\"aitryon-plus\"}").await,
        Some(1.0)
    );
}

#[tokio::test]
async fn the_daily_limit_starts_again_at_midnight_beijing_time() {
    // 2026-01-01 15:59:00 UTC is 23:59:00 in Beijing, where the upstream bills by day.
    let time = tryon_clock::ManualClock::starting_at(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_283_140),
    );
    let app = crate::helpers::spawn_app_on_clock(
        &time,
        crate::helpers::Adapter::aitryon(),
        embedded(),
        AdmissionLimits::default(),
        PolicySettings {
            shopper_daily_limit: 1,
            ..PolicySettings::open()
        },
        None,
        None,
    )
    .await;
    let (_, shopper) = new_shopper(&app).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 89)).await;
    let create = || async {
        let response = shopper
            .post(app.url(CREATE_TASK_PATH))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let code = if status == 200 {
            String::new()
        } else {
            error_body(response).await.code
        };
        (status, code)
    };
    assert_eq!(create().await, (200, String::new()));
    assert_eq!(create().await, (429, "Proxy.ShopperDailyLimit".to_owned()));
    // 59 seconds later it is still the same day in Beijing.
    time.advance(std::time::Duration::from_secs(59));
    assert_eq!(create().await, (429, "Proxy.ShopperDailyLimit".to_owned()));
    // One more second and it is the next day: the shopper may try on again, once.
    time.advance(std::time::Duration::from_secs(1));
    assert_eq!(create().await, (200, String::new()));
    assert_eq!(create().await, (429, "Proxy.ShopperDailyLimit".to_owned()));
}

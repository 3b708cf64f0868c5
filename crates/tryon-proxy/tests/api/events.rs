//! The widget's funnel events: accepted from the shop's pages as a beacon sends them, refused whole when foreign, malformed, huge, unknown or too frequent, kept 90 days and deleted with the shopper's data.

use std::time::Duration;

use serde_json::json;
use tryon_api::funnel::{EVENTS_PATH, FunnelStep, MAX_EVENTS_BODY_BYTES};
use tryon_clock::{Clock, ManualClock};
use tryon_proxy::routes::SHOPPER_PATH;
use tryon_proxy::store::StepCount;

use crate::helpers::{TestApp, error_body, new_shopper, spawn_dashboard, sweep_after};

const ADMIN_TOKEN: &str = "events-test-admin-token";

/// Sends `body` as the loader's beacon does: a `text/plain` POST, no custom header.
async fn beacon(app: &TestApp, client: &reqwest::Client, body: &str) -> reqwest::Response {
    client
        .post(app.url(EVENTS_PATH))
        .header("content-type", "text/plain;charset=UTF-8")
        .body(body.to_owned())
        .send()
        .await
        .expect("the beacon is sent")
}

async fn stored(app: &TestApp) -> Vec<StepCount> {
    app.proxy
        .state
        .store
        .funnel_since(0)
        .await
        .unwrap()
        .into_iter()
        .filter(|count| count.product.is_none())
        .collect()
}

async fn stored_events(app: &TestApp) -> u64 {
    stored(app).await.iter().map(|count| count.events).sum()
}

#[tokio::test]
async fn a_beacon_from_the_shop_page_is_stored_for_the_shopper_its_token_names() {
    let app = spawn_dashboard(Clock::system(), ADMIN_TOKEN, 60).await;
    let (token, _) = new_shopper(&app).await;
    let now = app.proxy.state.clock.unix_ms();
    let body = json!({
        "token": token,
        "events": [
            {"name": "shown", "product": "tee-01", "at": now - 30_000},
            {"name": "open", "product": "tee-01", "at": now},
        ]
    });
    let response = beacon(&app, &app.http, &body.to_string()).await;
    assert_eq!(response.status(), 204);
    // The cookie-less page client is another shopper by its token, the same one twice.
    let again = json!({"token": token, "events": [{"name": "open", "product": "tee-01"}]});
    assert_eq!(
        beacon(&app, &app.http, &again.to_string()).await.status(),
        204
    );

    let counts = stored(&app).await;
    let open = counts.iter().find(|c| c.step == FunnelStep::Open).unwrap();
    assert_eq!((open.events, open.shoppers), (2, 1));
    let shown = counts.iter().find(|c| c.step == FunnelStep::Shown).unwrap();
    assert_eq!((shown.events, shown.shoppers), (1, 1));

    // Without a token the shopper is known as the other calls know them (here by address).
    let anonymous = json!({"events": [{"name": "open", "product": "tee-01"}]});
    assert_eq!(
        beacon(&app, &app.http, &anonymous.to_string())
            .await
            .status(),
        204
    );
    let open = stored(&app)
        .await
        .into_iter()
        .find(|c| c.step == FunnelStep::Open)
        .unwrap();
    assert_eq!((open.events, open.shoppers), (3, 2));
}

#[tokio::test]
async fn foreign_malformed_unknown_and_huge_batches_are_refused_and_store_nothing() {
    let app = spawn_dashboard(Clock::system(), ADMIN_TOKEN, 60).await;
    let valid = json!({"events": [{"name": "open", "product": "tee-01"}]}).to_string();

    let foreign = reqwest::Client::new();
    let response = foreign
        .post(app.url(EVENTS_PATH))
        .header("origin", "https://evil.example")
        .body(valid.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(error_body(response).await.code, "Proxy.OriginNotAllowed");
    let response = foreign
        .post(app.url(EVENTS_PATH))
        .body(valid.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        403,
        "no Origin: not a browser on the shop's page"
    );

    for (body, why) in [
        ("{not json", "not JSON"),
        (r#"{"events":[]}"#, "no events"),
        (
            r#"{"events":[{"name":"buy","product":"tee-01"}]}"#,
            "an unknown name",
        ),
        (
            r#"{"events":[{"name":"open","product":"tee-01"},{"name":"bought"}]}"#,
            "one unknown name among known ones",
        ),
        (
            r#"{"events":[{"name":"photo","product":"tee-01","photo":"data:image/jpeg;base64,AA"}]}"#,
            "a photo field",
        ),
        (
            r#"{"events":[{"name":"open","product":"http://127.0.0.1:8787/api/v1/tryon/files/x"}]}"#,
            "a URL for a product",
        ),
    ] {
        let response = beacon(&app, &app.http, body).await;
        assert_eq!(response.status(), 400, "{why}");
        let error = error_body(response).await;
        assert_eq!(error.code, "Proxy.InvalidEvent", "{why}");
    }
    let huge = format!(
        r#"{{"events":[{{"name":"open","product":"{}"}}]}}"#,
        "x".repeat(MAX_EVENTS_BODY_BYTES)
    );
    let response = beacon(&app, &app.http, &huge).await;
    assert_eq!(response.status(), 413);
    assert_eq!(error_body(response).await.code, "Proxy.PayloadTooLarge");
    assert_eq!(
        stored_events(&app).await,
        0,
        "nothing of a refused batch is kept"
    );

    assert_eq!(beacon(&app, &app.http, &valid).await.status(), 204);
    assert_eq!(stored_events(&app).await, 1);
}

#[tokio::test]
async fn a_shopper_over_the_rate_is_refused_until_the_minute_is_over() {
    let time = ManualClock::new();
    let app = spawn_dashboard(time.clock(), ADMIN_TOKEN, 5).await;
    let (token, _) = new_shopper(&app).await;
    let (other, _) = new_shopper(&app).await;
    let batch = |token: &str, n: usize| {
        json!({
            "token": token,
            "events": vec![json!({"name": "photo", "product": "tee-01"}); n],
        })
        .to_string()
    };
    assert_eq!(
        beacon(&app, &app.http, &batch(&token, 3)).await.status(),
        204
    );
    time.advance(Duration::from_secs(20));
    let response = beacon(&app, &app.http, &batch(&token, 3)).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "40");
    assert_eq!(error_body(response).await.code, "Proxy.EventRateLimit");
    assert_eq!(
        stored_events(&app).await,
        3,
        "the refused batch is not kept, not even in part"
    );
    assert_eq!(
        beacon(&app, &app.http, &batch(&other, 5)).await.status(),
        204,
        "each shopper has their own minute"
    );
    time.advance(Duration::from_secs(40));
    assert_eq!(
        beacon(&app, &app.http, &batch(&token, 3)).await.status(),
        204
    );
    assert_eq!(stored_events(&app).await, 11);
}

#[tokio::test]
async fn events_are_kept_ninety_days_and_deleted_with_the_shoppers_data() {
    const DAY: Duration = Duration::from_secs(24 * 3600);
    let time = ManualClock::new();
    let app = spawn_dashboard(time.clock(), ADMIN_TOKEN, 60).await;
    let (token, _) = new_shopper(&app).await;
    let open = |token: &str| {
        json!({"token": token, "events": [{"name": "open", "product": "tee-01"}]}).to_string()
    };
    assert_eq!(beacon(&app, &app.http, &open(&token)).await.status(), 204);
    sweep_after(&app, &time, DAY * 60).await;
    // A second shopper's event, 60 days after the first.
    let (later, _) = new_shopper(&app).await;
    assert_eq!(beacon(&app, &app.http, &open(&later)).await.status(), 204);
    sweep_after(&app, &time, DAY * 29).await;
    assert_eq!(stored_events(&app).await, 2, "89 days: both kept");
    sweep_after(&app, &time, DAY + Duration::from_secs(60)).await;
    assert_eq!(
        stored_events(&app).await,
        1,
        "past 90 days the first is deleted"
    );

    // "Delete my data" deletes the shopper's events with the rest; the shopper here is
    // known by the token in the X-Tryon-Shopper header, as the widget's other calls send it.
    let (_, shopper) = new_shopper(&app).await;
    let response = shopper
        .post(app.url(EVENTS_PATH))
        .body(json!({"events": [{"name": "result", "product": "tee-01"}]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(stored_events(&app).await, 2);
    let deleted = shopper.delete(app.url(SHOPPER_PATH)).send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(
        stored_events(&app).await,
        1,
        "only that shopper's event is gone"
    );
}

//! The shop owner's dashboard: off without `TRYON_ADMIN_TOKEN`, behind a bearer header or a login cookie, never a query token; strict headers on every answer; the figures, page and CSV after real try-ons through the embedded emulator.

use std::time::Duration;

use serde_json::json;
use tryon_api::TaskStatus;
use tryon_api::funnel::{EVENTS_PATH, FunnelStep};
use tryon_api::wire::CreateTaskResponse;
use tryon_clock::{Clock, ManualClock};
use tryon_proxy::dashboard::summary::Summary;

use crate::helpers::{
    SHOP_ORIGIN, TestApp, empty_wall_jpeg, error_body, noise_jpeg, spawn_app, spawn_dashboard,
};

const ADMIN_TOKEN: &str = "dashboard-test-admin-token";

/// A client that keeps no cookies and follows no redirects, so that each test says
/// exactly what it sends.
fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = plain_client().get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("the request is sent")
}

fn bearer() -> (&'static str, String) {
    ("authorization", format!("Bearer {ADMIN_TOKEN}"))
}

async fn get_as_owner(app: &TestApp, path: &str) -> reqwest::Response {
    let (name, value) = bearer();
    get(app, path, &[(name, &value)]).await
}

/// Signs in with the form as a browser on the dashboard would, and answers the answer.
async fn sign_in(app: &TestApp, password: &str, origin: &str) -> reqwest::Response {
    plain_client()
        .post(app.url("/admin/login"))
        .header("origin", origin)
        .form(&[("password", password), ("lang", "en")])
        .send()
        .await
        .unwrap()
}

/// The `name=value` part of a `Set-Cookie` answer.
fn cookie_pair(response: &reqwest::Response) -> String {
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn without_a_token_set_the_dashboard_does_not_exist() {
    let app = spawn_app().await;
    for path in [
        "/admin/",
        "/admin/api/summary",
        "/admin/export.csv",
        "/admin/dashboard.css",
    ] {
        let response = get(
            &app,
            path,
            &[("authorization", "Bearer anything-at-all-1234")],
        )
        .await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(error_body(response).await.code, "Proxy.RouteNotFound");
    }
}

#[tokio::test]
async fn without_access_the_page_asks_to_sign_in_and_the_data_is_refused() {
    let app = spawn_dashboard(Clock::system(), ADMIN_TOKEN, 60).await;
    let page = get(&app, "/admin/", &[]).await;
    assert_eq!(page.status(), 401);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<form method="post" action="/admin/login">"#),
        "{html}"
    );
    assert!(
        !html.contains("Try-ons today"),
        "no figure before signing in"
    );

    for path in ["/admin/api/summary", "/admin/export.csv?days=7"] {
        for headers in [
            vec![],
            vec![("authorization", "Bearer not-the-admin-token")],
            vec![("authorization", "Basic ZGFzaGJvYXJkOnRva2Vu")],
            vec![("cookie", "tryon_admin=99999999999999.00ff")],
        ] {
            let response = get(&app, path, &headers).await;
            assert_eq!(response.status(), 401, "{path} {headers:?}");
            assert!(
                response.headers()["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .starts_with("Bearer")
            );
            assert_eq!(error_body(response).await.code, "Proxy.AdminUnauthorized");
        }
    }
    assert_eq!(get_as_owner(&app, "/admin/api/summary").await.status(), 200);
}

#[tokio::test]
async fn a_token_in_the_query_string_is_refused_even_beside_a_valid_header() {
    let app = spawn_dashboard(Clock::system(), ADMIN_TOKEN, 60).await;
    for path in [
        format!("/admin/?token={ADMIN_TOKEN}"),
        format!("/admin/api/summary?days=7&token={ADMIN_TOKEN}"),
        format!("/admin/export.csv?access_token={ADMIN_TOKEN}"),
    ] {
        let response = get_as_owner(&app, &path).await;
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let error = error_body(response).await;
        assert_eq!(error.code, "Proxy.AdminTokenInQuery");
        assert!(
            error.message.contains("Authorization: Bearer"),
            "{}",
            error.message
        );
        assert!(
            !error.message.contains(ADMIN_TOKEN),
            "the token is never echoed"
        );
    }
}

#[tokio::test]
async fn the_login_form_sets_a_strict_http_only_session_that_expires() {
    let time = ManualClock::new();
    let app = spawn_dashboard(time.clock(), ADMIN_TOKEN, 60).await;

    let wrong = sign_in(&app, "not-the-admin-token", &app.base).await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("That token is not right.")
    );

    let foreign = sign_in(&app, ADMIN_TOKEN, SHOP_ORIGIN).await;
    assert_eq!(foreign.status(), 403, "a post from another page is refused");
    assert!(foreign.headers().get("set-cookie").is_none());

    let signed_in = sign_in(&app, ADMIN_TOKEN, &app.base).await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], "/admin/?lang=en");
    let set_cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for part in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/admin",
        "Max-Age=43200",
    ] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain HTTP: a Secure cookie would be dropped"
    );
    assert!(
        !set_cookie.contains(ADMIN_TOKEN),
        "the cookie holds no token"
    );
    let cookie = cookie_pair(&signed_in);

    let page = get(&app, "/admin/", &[("cookie", &cookie)]).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Try-ons today"));
    assert_eq!(
        get(&app, "/admin/api/summary", &[("cookie", &cookie)])
            .await
            .status(),
        200
    );

    // Behind a TLS-terminating proxy the cookie is Secure.
    let https = plain_client()
        .post(app.url("/admin/login"))
        .header("x-forwarded-proto", "https")
        .form(&[("password", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert!(
        https.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .ends_with("; Secure")
    );

    // Signing out clears it; twelve hours later the old one no longer opens anything.
    let signed_out = plain_client()
        .post(app.url("/admin/logout"))
        .header("origin", &app.base)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 303);
    assert!(
        signed_out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    time.advance(Duration::from_secs(12 * 3600));
    assert_eq!(
        get(&app, "/admin/", &[("cookie", &cookie)]).await.status(),
        401
    );
}

#[tokio::test]
async fn every_dashboard_answer_is_no_store_with_a_strict_policy_and_no_cors() {
    let app = spawn_dashboard(Clock::system(), ADMIN_TOKEN, 60).await;
    let (auth, value) = bearer();
    // Each path, whether the owner's bearer goes with it, and the status it answers.
    let checks = [
        ("/admin/", false, 401),
        ("/admin/", true, 200),
        ("/admin/api/summary?days=7", true, 200),
        ("/admin/api/summary?days=0", true, 400),
        ("/admin/export.csv", true, 200),
        ("/admin/dashboard.css", false, 200),
    ];
    for (path, as_owner, status) in checks {
        // The shop's own page origin, which the widget's calls may use, gets no CORS here.
        let mut headers = vec![("origin", SHOP_ORIGIN)];
        if as_owner {
            headers.push((auth, value.as_str()));
        }
        let response = get(&app, path, &headers).await;
        assert_eq!(response.status(), status, "{path}");
        let headers = response.headers();
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        let policy = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "frame-ancestors 'none'",
            "style-src 'self'",
        ] {
            assert!(policy.contains(directive), "{path}: {policy}");
        }
        assert!(!policy.contains("unsafe-inline") && !policy.contains("script-src"));
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        // Same-origin, so that the page's own form posts keep their Origin.
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        assert!(
            headers.get("access-control-allow-origin").is_none(),
            "{path}: no CORS for the dashboard"
        );
    }
    // A preflight from the shop's page learns nothing that lets it read the figures.
    let preflight = plain_client()
        .request(reqwest::Method::OPTIONS, app.url("/admin/api/summary"))
        .header("origin", SHOP_ORIGIN)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // The widget's own calls keep their CORS.
    let status = get(
        &app,
        tryon_api::proxy::STATUS_PATH,
        &[("origin", SHOP_ORIGIN)],
    )
    .await;
    assert_eq!(status.headers()["access-control-allow-origin"], SHOP_ORIGIN);
}

/// Runs one try-on of `person` as the shop page client and answers its job id and how it
/// ended.
async fn try_on(app: &TestApp, person: Vec<u8>) -> (String, TaskStatus) {
    let body = app.tryon_body(person).await;
    let created: CreateTaskResponse = app.create(&body).await.json().await.unwrap();
    let done = app.wait_until_done(&created.output.task_id).await;
    (created.output.task_id, done.output.task_status)
}

#[tokio::test]
async fn the_figures_page_and_export_count_real_try_ons_spend_and_the_funnel() {
    let app = spawn_dashboard(Clock::system(), ADMIN_TOKEN, 60).await;
    let (succeeded, status) = try_on(&app, noise_jpeg(300, 450, 40)).await;
    assert_eq!(status, TaskStatus::Succeeded);
    let (failed, status) = try_on(&app, empty_wall_jpeg(300, 450)).await;
    assert_eq!(status, TaskStatus::Failed);

    // The page's widget reports the shopper's way to the cart for the successful look.
    let events = json!({"events": [
        {"name": "shown", "product": "tee-01"},
        {"name": "open", "product": "tee-01"},
        {"name": "photo", "product": "tee-01"},
        {"name": "submit", "product": "tee-01"},
        {"name": "result", "product": "tee-01", "task": succeeded},
        {"name": "add-to-cart", "product": "tee-01", "task": succeeded},
        {"name": "open", "product": "dress-03"},
        // Another shopper's job cannot be labelled: the failed one is this shopper's, but
        // an unknown id ties nothing.
        {"name": "result", "product": "dress-03", "task": "not-a-job-of-this-shopper"},
    ]});
    let response = app
        .http
        .post(app.url(EVENTS_PATH))
        .header("content-type", "text/plain")
        .body(events.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    let response = get_as_owner(&app, "/admin/api/summary?days=30").await;
    assert_eq!(response.status(), 200);
    let summary: Summary = response.json().await.unwrap();
    assert_eq!(summary.days, 30);
    assert_eq!(summary.per_day.len(), 30);
    assert_eq!(summary.per_day.last().unwrap().date, summary.last_day);
    let today = &summary.today;
    assert_eq!((today.started, today.succeeded, today.failed), (2, 1, 1));
    assert_eq!(today.failed_by_code.get("InvalidPerson"), Some(&1));
    assert_eq!(summary.failures_by_code[0].code, "InvalidPerson");
    assert_eq!(summary.period.started, 2);
    assert_eq!(summary.caps.images_today, 1);
    assert!(
        (summary.caps.spend_today_cny - 0.5).abs() < 1e-9,
        "one aitryon-plus image"
    );
    assert_eq!(summary.caps.daily_images, Some(100));
    assert_eq!(summary.caps.spend_cny, Some(50.0));
    assert_eq!(summary.time_to_result.samples, 1);
    let median = summary.time_to_result.median_seconds.unwrap();
    assert!(median > 0.0 && median < 120.0, "{median}");
    assert_eq!(summary.time_to_result.p95_seconds, Some(median));
    assert_eq!((summary.queue.waiting, summary.queue.running), (0, 0));
    let step = |steps: &[tryon_proxy::dashboard::summary::StepFigure], wanted: FunnelStep| {
        steps.iter().find(|s| s.step == wanted).unwrap().shoppers
    };
    assert_eq!(step(&summary.funnel.total, FunnelStep::AddToCart), 1);
    assert_eq!(
        step(&summary.funnel.total, FunnelStep::Open),
        1,
        "one shopper, two products"
    );
    let tee = summary
        .funnel
        .products
        .iter()
        .find(|p| p.product == "tee-01")
        .unwrap();
    assert!(
        FunnelStep::ALL.iter().all(|s| step(&tee.steps, *s) == 1),
        "{tee:?}"
    );

    let today_only: Summary = get_as_owner(&app, "/admin/api/summary?days=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(today_only.per_day.len(), 1);
    assert_eq!(today_only.first_day, today_only.last_day);
    for bad in ["0", "91", "thirty"] {
        let response = get_as_owner(&app, &format!("/admin/api/summary?days={bad}")).await;
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(error_body(response).await.code, "InvalidParameter");
    }

    // The page, in both languages, shows the same.
    let page = get_as_owner(&app, "/admin/?days=7&lang=en")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("¥0.50") && page.contains("¥50.00"),
        "spend and its cap"
    );
    assert!(page.contains(r#"data-step="add-to-cart""#) && page.contains("tee-01"));
    assert!(page.contains("InvalidPerson"));
    let (name, value) = bearer();
    let chinese = get(
        &app,
        "/admin/",
        &[(name, &value), ("accept-language", "zh-CN,zh;q=0.9")],
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(chinese.contains("今日试衣") && chinese.contains("加入购物车"));

    // The export: one row per job, the product where an event named it, nothing personal.
    let export = get_as_owner(&app, "/admin/export.csv").await;
    assert_eq!(export.status(), 200);
    assert!(
        export.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let csv = export.text().await.unwrap();
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert_eq!(lines[0], tryon_proxy::dashboard::export::COLUMNS);
    let row = |id: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(id))
            .unwrap()
            .split(',')
            .collect::<Vec<_>>()
    };
    let good = row(&succeeded);
    assert_eq!(good[3], "SUCCEEDED");
    assert_eq!(good[7], "tee-01");
    assert_eq!((good[9], good[10]), ("1", "0.500"));
    assert!(
        good[8].parse::<f64>().unwrap() > 0.0,
        "seconds to the result"
    );
    let bad = row(&failed);
    assert_eq!((bad[3], bad[4], bad[7]), ("FAILED", "InvalidPerson", ""));
    for private in ["http", "/files/", "ip:", "t:"] {
        assert!(!csv.contains(private), "no {private} in the export: {csv}");
    }
}

#[tokio::test]
async fn the_dashboard_rows_outlive_the_jobs_retention_and_the_shoppers_deletion() {
    let app = spawn_dashboard(Clock::system(), ADMIN_TOKEN, 60).await;
    let (id, _) = try_on(&app, noise_jpeg(300, 450, 41)).await;
    let deleted = app
        .http
        .delete(app.url(tryon_proxy::routes::SHOPPER_PATH))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(app.get_task(&id, "").await.status(), 404, "the job is gone");
    let summary: Summary = get_as_owner(&app, "/admin/api/summary?days=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        summary.today.succeeded, 1,
        "the anonymous row is still counted"
    );
}

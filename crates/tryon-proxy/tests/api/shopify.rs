//! Requests through a shop's Shopify app proxy: signatures checked against the proxy's clock, customers recognised on every device for their jobs, photos, limits and deletion, and unsigned requests left to the usual rules.

use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};
use tryon_api::proxy::{STATUS_PATH, ShopStatus, UPLOADS_PATH, UploadResponse};
use tryon_api::wire::{CREATE_TASK_PATH, CreateTaskResponse, task_path};
use tryon_clock::ManualClock;
use tryon_proxy::admission::AdmissionLimits;
use tryon_proxy::configuration::UpstreamSettings;
use tryon_proxy::policy::{PolicySettings, SHOPPER_HEADER};
use tryon_proxy::routes::{SHOPPER_PATH, ShopperDeletion};
use tryon_proxy::shopify::AppProxyKey;

use crate::helpers::{
    Adapter, TIME_SCALE, TestApp, error_body, noise_jpeg, noise_png, spawn_app_full,
    spawn_app_on_clock,
};

/// The app's API secret the tests' "Shopify" signs with.
const SECRET: &str = "shpss_test0123456789abcdef0123456789";
const SHOP: &str = "tryon-demo.myshopify.com";

fn with_secret(policy: PolicySettings) -> PolicySettings {
    PolicySettings {
        shopify_api_secret: Some(SecretString::from(SECRET.to_owned())),
        ..policy
    }
}

async fn spawn_shop(policy: PolicySettings) -> TestApp {
    spawn_app_full(
        UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        AdmissionLimits::default(),
        None,
        with_secret(policy),
        None,
    )
    .await
}

/// One browser on the shop's storefront, its calls forwarded by Shopify: signed, with the
/// customer logged in there (if any), without cookies and without `Origin` (Shopify
/// forwards only some headers), the widget's token header kept.
struct Device<'a> {
    app: &'a TestApp,
    secret: &'a str,
    customer: Option<&'a str>,
    token: Option<String>,
    http: reqwest::Client,
}

impl<'a> Device<'a> {
    fn new(app: &'a TestApp, customer: Option<&'a str>) -> Device<'a> {
        Device {
            app,
            secret: SECRET,
            customer,
            token: None,
            http: reqwest::Client::new(),
        }
    }

    /// The proxy URL Shopify forwards `path_and_query` to, signed now on the proxy's clock.
    fn url(&self, path_and_query: &str) -> String {
        let now = self.app.proxy.state.clock.unix_ms() / 1000;
        signed_url(self.app, self.secret, path_and_query, self.customer, now)
    }

    fn request(&self, method: Method, path_and_query: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, self.url(path_and_query));
        match &self.token {
            Some(token) => request.header(SHOPPER_HEADER, token),
            None => request,
        }
    }

    /// The widget's first call: the status, which hands this device its token.
    async fn status(&mut self) -> ShopStatus {
        let response = self.request(Method::GET, STATUS_PATH).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let status: ShopStatus = response.json().await.unwrap();
        self.token = status.shopper_token.clone();
        status
    }

    async fn upload(&self, bytes: Vec<u8>, content_type: &str) -> UploadResponse {
        let response = self
            .request(Method::POST, UPLOADS_PATH)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    async fn tryon_body(&self, seed: u64) -> Value {
        let person = self.upload(noise_jpeg(300, 450, seed), "image/jpeg").await;
        let garment = self.upload(noise_png(300, 360, seed), "image/png").await;
        json!({
            "model": "aitryon-plus",
            "input": {"person_image_url": person.url, "top_garment_url": garment.url},
            "parameters": {"resolution": -1, "restore_face": true}
        })
    }

    async fn create(&self, body: &Value) -> reqwest::Response {
        self.request(Method::POST, CREATE_TASK_PATH)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn task_status(&self, id: &str) -> u16 {
        let response = self
            .request(Method::GET, &format!("{}?wait_ms=0", task_path(id)))
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    }
}

/// `path_and_query` on the proxy with Shopify's parameters appended and signed with
/// `secret` at `timestamp`, as the app proxy forwards `https://{shop}/apps/tryon{path}`.
fn signed_url(
    app: &TestApp,
    secret: &str,
    path_and_query: &str,
    customer: Option<&str>,
    timestamp: u64,
) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut query = query.to_owned();
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str(&format!(
        "shop={SHOP}&logged_in_customer_id={}&path_prefix=%2Fapps%2Ftryon&timestamp={timestamp}",
        customer.unwrap_or_default()
    ));
    let signature = AppProxyKey::new(SecretString::from(secret.to_owned())).sign(&query);
    app.url(&format!("{path}?{query}&signature={signature}"))
}

#[tokio::test]
async fn a_customer_s_try_ons_and_photos_follow_them_to_every_device_and_go_with_deletion() {
    let app = spawn_shop(PolicySettings::open()).await;
    let mut phone = Device::new(&app, Some("7001"));
    let mut laptop = Device::new(&app, Some("7001"));
    let mut guest = Device::new(&app, None);
    phone.status().await;
    laptop.status().await;
    guest.status().await;
    assert_ne!(phone.token, laptop.token, "each device has its own token");

    // Made on the phone, without any Origin: the verified signature stands in for it.
    let body = phone.tryon_body(41).await;
    let response = phone.create(&body).await;
    assert_eq!(response.status(), 200);
    let created: CreateTaskResponse = response.json().await.unwrap();
    let id = created.output.task_id;
    app.until_job(&id, |record| record.status.is_terminal())
        .await;

    assert_eq!(phone.task_status(&id).await, 200);
    assert_eq!(
        laptop.task_status(&id).await,
        200,
        "the same customer elsewhere"
    );
    assert_eq!(
        guest.task_status(&id).await,
        404,
        "a guest on the storefront"
    );
    let unsigned = app.get_task(&id, "").await;
    assert_eq!(unsigned.status(), 404, "a caller outside the app proxy");
    let other = Device::new(&app, Some("7002"));
    assert_eq!(other.task_status(&id).await, 404, "another customer");

    // "Delete my data" on the laptop deletes what the phone made.
    let response = laptop
        .request(Method::DELETE, SHOPPER_PATH)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let deletion: ShopperDeletion = response.json().await.unwrap();
    assert_eq!(deletion.deleted_jobs, 1);
    assert!(
        deletion.deleted_files >= 3,
        "photo, garment and result: {deletion:?}"
    );
    assert_eq!(phone.task_status(&id).await, 404);
    assert_eq!(app.stored_files().await, 0);
}

#[tokio::test]
async fn a_customer_deleting_their_data_also_deletes_what_this_device_made_as_a_guest() {
    let app = spawn_shop(PolicySettings::open()).await;
    let mut before_login = Device::new(&app, None);
    before_login.status().await;
    before_login
        .upload(noise_jpeg(300, 450, 43), "image/jpeg")
        .await;
    let mut someone_else = Device::new(&app, None);
    someone_else.status().await;
    someone_else
        .upload(noise_jpeg(300, 450, 44), "image/jpeg")
        .await;

    // The same browser after logging in: its token comes along.
    let after_login = Device {
        customer: Some("7003"),
        token: before_login.token.clone(),
        ..Device::new(&app, None)
    };
    after_login
        .upload(noise_jpeg(300, 450, 45), "image/jpeg")
        .await;
    let deletion: ShopperDeletion = after_login
        .request(Method::DELETE, SHOPPER_PATH)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deletion.deleted_files, 2, "{deletion:?}");
    assert_eq!(app.stored_files().await, 1, "another guest's photo stays");
}

#[tokio::test]
async fn the_daily_limit_counts_a_customer_once_on_every_device() {
    let app = spawn_shop(PolicySettings {
        shopper_daily_limit: 1,
        ..PolicySettings::open()
    })
    .await;
    let mut phone = Device::new(&app, Some("7004"));
    let mut laptop = Device::new(&app, Some("7004"));
    let mut guest = Device::new(&app, None);
    assert_eq!(phone.status().await.shopper_remaining, Some(1));
    laptop.status().await;
    guest.status().await;

    assert_eq!(
        phone.create(&phone.tryon_body(46).await).await.status(),
        200
    );
    assert_eq!(laptop.status().await.shopper_remaining, Some(0));
    let refused = laptop.create(&laptop.tryon_body(47).await).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(error_body(refused).await.code, "Proxy.ShopperDailyLimit");
    // A guest of the same storefront has a day of their own.
    assert_eq!(guest.status().await.shopper_remaining, Some(1));
    assert_eq!(
        guest.create(&guest.tryon_body(48).await).await.status(),
        200
    );
}

#[tokio::test]
async fn a_signature_90_seconds_old_passes_and_one_second_more_is_refused_with_the_reason() {
    let time = ManualClock::new();
    let app = spawn_app_on_clock(
        &time,
        Adapter::aitryon(),
        UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        AdmissionLimits::default(),
        with_secret(PolicySettings::open()),
        None,
        None,
    )
    .await;
    let now = app.proxy.state.clock.unix_ms() / 1000;
    let url = signed_url(&app, SECRET, STATUS_PATH, Some("7005"), now);
    let get = || reqwest::Client::new().get(&url).send();

    assert_eq!(get().await.unwrap().status(), 200);
    time.advance(Duration::from_secs(90));
    assert_eq!(
        get().await.unwrap().status(),
        200,
        "90 s is within the window"
    );
    time.advance(Duration::from_secs(1));
    let response = get().await.unwrap();
    assert_eq!(response.status(), 401);
    let error = error_body(response).await;
    assert_eq!(error.code, "Proxy.BadSignature");
    assert!(
        error
            .message
            .contains("the timestamp is 91 s behind the proxy's clock"),
        "{}",
        error.message
    );

    // Signed ahead of the proxy's clock by more than the window, as a clock running fast.
    let ahead = signed_url(&app, SECRET, STATUS_PATH, None, now + 91 + 91);
    let response = reqwest::Client::new().get(&ahead).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(error_body(response).await.message.contains("91 s ahead of"));
}

#[tokio::test]
async fn a_tampered_or_foreign_signature_is_refused_before_anything_is_stored_or_counted() {
    let app = spawn_shop(PolicySettings::open()).await;
    let now = app.proxy.state.clock.unix_ms() / 1000;
    let genuine = signed_url(&app, SECRET, UPLOADS_PATH, Some("7006"), now);
    let cases = [
        // Another customer's id in a URL signed for this one.
        genuine.replace("logged_in_customer_id=7006", "logged_in_customer_id=7007"),
        // A parameter added after signing.
        genuine.replace("&signature=", "&extra=1&signature="),
        // Signed with another app's secret.
        signed_url(
            &app,
            "shpss_another0123456789abcdef01234",
            UPLOADS_PATH,
            Some("7006"),
            now,
        ),
        // A signature that is not hex.
        format!(
            "{}&signature=nothex",
            genuine.split("&signature=").next().unwrap()
        ),
    ];
    for url in cases {
        let response = reqwest::Client::new()
            .post(&url)
            .header("content-type", "image/jpeg")
            .body(noise_jpeg(300, 450, 49))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{url}");
        let text = response.text().await.unwrap();
        let error: tryon_api::wire::ErrorBody = serde_json::from_str(&text).unwrap();
        assert_eq!(error.code, "Proxy.BadSignature");
        assert!(!error.request_id.is_empty());
        assert!(!text.contains(SECRET), "the secret is never echoed");
    }
    assert_eq!(app.stored_files().await, 0);

    // The genuine one is taken.
    let response = reqwest::Client::new()
        .post(&genuine)
        .header("content-type", "image/jpeg")
        .body(noise_jpeg(300, 450, 49))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn a_signed_call_from_a_page_that_is_not_allowed_is_still_refused() {
    let app = spawn_shop(PolicySettings::open()).await;
    let mut phone = Device::new(&app, Some("7008"));
    phone.status().await;
    let body = phone.tryon_body(50).await;
    let response = phone
        .request(Method::POST, CREATE_TASK_PATH)
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(error_body(response).await.code, "Proxy.OriginNotAllowed");
}

#[tokio::test]
async fn unsigned_calls_keep_the_usual_rules_and_without_the_secret_a_signature_is_not_trusted() {
    // With the secret: an unsigned create without Origin is refused as before.
    let app = spawn_shop(PolicySettings::open()).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 51)).await;
    let response = reqwest::Client::new()
        .post(app.url(CREATE_TASK_PATH))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(app.create(&body).await.status(), 200, "the shop's own page");

    // Without the secret nothing Shopify says is believed: no customer, no stand-in
    // for Origin, and no refusal either (the request is simply unsigned).
    let unverified = spawn_app_full(
        UpstreamSettings::Embedded {
            time_scale: TIME_SCALE,
        },
        AdmissionLimits::default(),
        None,
        PolicySettings::open(),
        None,
    )
    .await;
    let mut phone = Device::new(&unverified, Some("7009"));
    let mut laptop = Device::new(&unverified, Some("7009"));
    phone.status().await;
    laptop.status().await;
    let body = phone.tryon_body(52).await;
    let refused = phone.create(&body).await;
    assert_eq!(refused.status(), 403, "no Origin and no verified signature");
    let response = phone
        .request(Method::POST, CREATE_TASK_PATH)
        .header("origin", crate::helpers::SHOP_ORIGIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let id = response
        .json::<CreateTaskResponse>()
        .await
        .unwrap()
        .output
        .task_id;
    assert_eq!(phone.task_status(&id).await, 200);
    assert_eq!(
        laptop.task_status(&id).await,
        404,
        "the customer id is not trusted"
    );
    // A bogus signature is not refused either: it is not checked at all.
    let bogus = Device {
        secret: "shpss_not-the-app-secret-at-all-000",
        ..Device::new(&unverified, None)
    };
    assert_eq!(
        bogus
            .request(Method::GET, STATUS_PATH)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

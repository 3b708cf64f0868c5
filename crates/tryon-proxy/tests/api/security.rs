//! The key stays secret: it never appears in any answer, and key or network trouble shows as an unavailable service.

use secrecy::SecretString;
use tryon_api::wire::CreateTaskResponse;
use tryon_proxy::configuration::UpstreamSettings;

use crate::helpers::{error_body, noise_jpeg, spawn_app_with, spawn_app_with_key};

const KEY: &str = "sk-test-RECOGNISABLE-7f3c9a";

fn assert_no_key(what: &str, headers: &reqwest::header::HeaderMap, body: &[u8]) {
    for (name, value) in headers {
        assert!(
            !value
                .as_bytes()
                .windows(KEY.len())
                .any(|w| w == KEY.as_bytes()),
            "{what}: header {name} holds the key"
        );
    }
    assert!(
        !body.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
        "{what}: the body holds the key"
    );
}

#[tokio::test]
async fn the_key_never_appears_in_any_answer_of_a_whole_try_on() {
    let (app, _sim) = spawn_app_with_key(KEY, KEY).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 20)).await;
    let response = app.create(&body).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    assert_no_key("create", &headers, &bytes);
    let created: CreateTaskResponse = serde_json::from_slice(&bytes).unwrap();

    let done = app.wait_until_done(&created.output.task_id).await;
    let mut answers = vec![
        app.get_task(&created.output.task_id, "").await,
        app.http
            .get(done.output.image_url.unwrap())
            .send()
            .await
            .unwrap(),
        app.http
            .get(app.url(tryon_api::proxy::STATUS_PATH))
            .send()
            .await
            .unwrap(),
        app.http.get(app.url("/healthz")).send().await.unwrap(),
        app.get_task("unknown", "").await,
    ];
    for (n, response) in answers.drain(..).enumerate() {
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        assert_no_key(&format!("answer {n}"), &headers, &bytes);
    }
}

#[tokio::test]
async fn a_refused_key_shows_as_an_unavailable_service_without_details() {
    let (app, _sim) = spawn_app_with_key("sk-the-right-one", KEY).await;
    let body = app.tryon_body(noise_jpeg(300, 450, 21)).await;
    let response = app.create(&body).await;
    assert_eq!(response.status(), 502);
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    assert_no_key("refused create", &headers, &bytes);
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("Proxy.UpstreamUnavailable"), "{text}");
    assert!(
        !text.contains("API-key"),
        "nothing about the key is told: {text}"
    );
}

#[tokio::test]
async fn an_unreachable_upstream_answers_502() {
    let app = spawn_app_with(UpstreamSettings::DashScope {
        // Port 9 (discard) is closed on test machines: the connection is refused at once.
        base_url: "http://127.0.0.1:9".into(),
        api_key: SecretString::from(KEY.to_owned()),
    })
    .await;
    let body = app.tryon_body(noise_jpeg(300, 450, 22)).await;
    let response = app.create(&body).await;
    assert_eq!(response.status(), 502);
    assert_eq!(error_body(response).await.code, "Proxy.UpstreamUnavailable");
}

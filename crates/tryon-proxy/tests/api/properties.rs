//! Property tests over HTTP: whatever body a browser sends to the upload, create and segmentation endpoints, the proxy answers a 4xx in the error shape (or accepts it), never a 5xx from a panic.
//!
//! One proxy serves all the cases of a test: starting one per case would make the test
//! slow for nothing, as each case is one request the proxy answers independently.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tryon_api::proxy::UPLOADS_PATH;
use tryon_api::wire::{CREATE_TASK_PATH, ErrorBody, SEGMENT_PATH};

use crate::helpers::{TestApp, spawn_app};

/// Cases per endpoint: each is a round trip to the proxy, so fewer than the unit tests.
const CASES: u32 = 48;

/// The start of a file of each accepted format, so that uploads reach the strippers and
/// the header readers rather than stop at the format check.
const MAGIC_PREFIXES: [&[u8]; 6] = [
    &[],
    &[0xFF, 0xD8, 0xFF],
    b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR",
    b"BM",
    b"RIFF\0\x20\0\0WEBPVP8X",
    b"\0\0\0\x18ftypheic\0\0\0\0mif1heic",
];

/// A create body that parses, for truncation: its prefixes are what a cut connection or
/// a buggy client sends.
const CREATE_BODY: &str = r#"{"model":"aitryon-plus","input":{"person_image_url":"https://shop.example/p.jpg","top_garment_url":"https://shop.example/g.png"},"parameters":{"resolution":-1,"restore_face":true}}"#;

/// Posts `body` to `path` and checks the answer is not a server error, and that a
/// refusal comes in the contract's error shape.
async fn post_and_check(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(), TestCaseError> {
    let response = app
        .http
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("the request is sent");
    let status = response.status();
    prop_assert!(!status.is_server_error(), "{path} answered {status}");
    let text = response.text().await.expect("a body");
    if status.is_client_error() {
        let error: Result<ErrorBody, _> = serde_json::from_str(&text);
        prop_assert!(error.is_ok(), "{path} answered {status} with {text}");
    }
    Ok(())
}

/// Posts every body the strategy makes to `path` of one proxy, on a runtime of its own
/// (proptest's runner is synchronous), and fails with the smallest failing body.
fn post_bodies(bodies: impl Strategy<Value = Vec<u8>>, path: &str, content_type: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(spawn_app());
    let mut runner = TestRunner::new(Config::with_cases(CASES));
    let result = runner.run(&bodies, |body| {
        runtime.block_on(post_and_check(&app, path, content_type, body))
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// Arbitrary bytes, a truncated create body, or a create body with arbitrary bytes put
/// in at some place.
fn json_bodies() -> impl Strategy<Value = Vec<u8>> {
    let valid = CREATE_BODY.as_bytes();
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        (0..valid.len()).prop_map(move |cut| valid[..cut].to_vec()),
        (0..valid.len(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(move |(at, extra)| [&valid[..at], &extra, &valid[at..]].concat()),
    ]
}

#[test]
fn any_upload_body_is_answered_without_a_server_error() {
    let bodies = (
        proptest::sample::select(MAGIC_PREFIXES.to_vec()),
        proptest::collection::vec(any::<u8>(), 0..600),
    )
        .prop_map(|(prefix, tail)| [prefix, &tail].concat());
    post_bodies(bodies, UPLOADS_PATH, "application/octet-stream");
}

#[test]
fn any_create_body_is_answered_without_a_server_error() {
    post_bodies(json_bodies(), CREATE_TASK_PATH, "application/json");
}

#[test]
fn any_segmentation_body_is_answered_without_a_server_error() {
    post_bodies(json_bodies(), SEGMENT_PATH, "application/json");
}

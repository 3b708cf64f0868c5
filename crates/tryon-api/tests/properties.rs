//! Property tests of the contract's parsers: the header readers, the URL and key parsers and the JSON body types never panic, whatever bytes or text a shopper or an upstream sends.
//!
//! Arbitrary bytes rarely get past the first check of a parser, so each family also gets
//! inputs that look right at the start (a valid magic prefix, JSON with the real keys)
//! and are arbitrary after it.
// Native only, as proptest is (see Cargo.toml).
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use serde_json::{Value, json};
use tryon_api::generation::{GenerationRequest, GenerationResponse, OutputSize, SuccessorModel};
use tryon_api::rules::{check_image, check_sides, read_header};
use tryon_api::wire::{
    CancelResponse, CreateTaskRequest, CreateTaskResponse, ErrorBody, SegmentRequest,
    SegmentResponse, TaskQueryResponse,
};
use tryon_api::{IdempotencyKey, ImageFormat, ImageUrl};

/// The start of a file of each format, up to where its size fields begin: what
/// [`ImageFormat::sniff`] needs and what sends [`read_header`] into that format's reader.
const MAGIC_PREFIXES: [&[u8]; 8] = [
    &[0xFF, 0xD8, 0xFF],
    b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR",
    b"BM",
    b"RIFF\0\0\0\0WEBPVP8 ",
    b"RIFF\0\0\0\0WEBPVP8L",
    b"RIFF\0\0\0\0WEBPVP8X",
    b"\0\0\0\x18ftypheic\0\0\0\0mif1heic",
    b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic",
];

/// Checks everything the rules say of `bytes`, and that the answers agree.
fn read_all(bytes: &[u8]) {
    let sniffed = ImageFormat::sniff(bytes);
    let header = read_header(bytes);
    let checked = check_image(bytes);
    if let Ok((format, width, height)) = header {
        assert_eq!(sniffed, Some(format));
        assert!(width > 0 && height > 0);
        if let Ok(facts) = checked {
            assert_eq!(
                (facts.format, facts.width, facts.height),
                (format, width, height)
            );
            assert!(check_sides(width, height).is_ok());
        }
    } else {
        assert!(checked.is_err());
    }
}

/// A JSON value of any shape, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,24}".prop_map(Value::from),
        prop_oneof![
            Just("https://shop.example/a.jpg"),
            Just("upper"),
            Just("aitryon-plus"),
            Just("-1"),
            Just("1024*1024"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A body with the real keys of the create, segmentation and generation requests and
/// any values, so that the parsers get past the outer object into each field's own
/// deserialiser (the resolution, the clothes types, the content items).
fn shaped_body() -> impl Strategy<Value = Vec<u8>> {
    // Mostly plausible strings, so that a parse often gets past one field to the next.
    let slot = prop_oneof![
        3 => prop_oneof![
            Just("https://shop.example/a.jpg"),
            Just("upper"),
            Just("aitryon-plus"),
            Just("user"),
        ]
        .prop_map(Value::from),
        2 => json_value(),
    ];
    (proptest::collection::vec(slot, 8), any::<u8>()).prop_map(|(v, pick)| {
        let body = match pick % 3 {
            0 => json!({
                "model": v[0],
                "input": {"person_image_url": v[1], "top_garment_url": v[2], "bottom_garment_url": v[3]},
                "parameters": {"resolution": v[4], "restore_face": v[5], "gender": v[6]},
            }),
            1 => json!({
                "model": v[0],
                "input": {"image_url": v[1]},
                "parameters": {"clothes_type": v[2]},
            }),
            _ => json!({
                "model": v[0],
                "input": {"messages": [{"role": v[1], "content": [{"image": v[2]}, {"text": v[3]}, v[4]]}]},
                "parameters": {"size": v[5], "n": v[6], "watermark": v[7]},
            }),
        };
        serde_json::to_vec(&body).unwrap()
    })
}

/// Parses `bytes` into every body type the proxy and the emulator read, and runs the
/// checks that follow a successful parse.
fn parse_all(bytes: &[u8]) {
    if let Ok(request) = serde_json::from_slice::<CreateTaskRequest>(bytes) {
        for url in [
            Some(&request.input.person_image_url),
            request.input.top_garment_url.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            let _ = ImageUrl::parse(url);
        }
        let _ = request
            .parameters
            .and_then(|p| p.resolution)
            .map(|r| r.as_wire());
    }
    if let Ok(request) = serde_json::from_slice::<SegmentRequest>(bytes) {
        let _ = ImageUrl::parse(&request.input.image_url);
    }
    if let Ok(request) = serde_json::from_slice::<GenerationRequest>(bytes) {
        let _ = request.validate();
        let _ = request.images();
        let _ = SuccessorModel::parse(&request.model);
    }
    // The upstream's answers, which the proxy reads.
    let _ = serde_json::from_slice::<CreateTaskResponse>(bytes);
    let _ = serde_json::from_slice::<TaskQueryResponse>(bytes).map(|r| r.output.task_status);
    let _ = serde_json::from_slice::<SegmentResponse>(bytes);
    let _ = serde_json::from_slice::<CancelResponse>(bytes);
    let _ = serde_json::from_slice::<GenerationResponse>(bytes);
    let _ = serde_json::from_slice::<ErrorBody>(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_header_readers_never_panic_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        read_all(&bytes);
    }

    #[test]
    fn the_header_readers_never_panic_after_a_valid_magic_prefix(
        prefix in proptest::sample::select(MAGIC_PREFIXES.to_vec()),
        tail in proptest::collection::vec(any::<u8>(), 0..256),
        padding in 0usize..8192,
    ) {
        let mut bytes = [prefix, &tail].concat();
        read_all(&bytes);
        // Padding to around the 5 KB rule lets `check_image` go past the size checks.
        bytes.resize(bytes.len() + padding, 0);
        read_all(&bytes);
    }

    #[test]
    fn the_url_key_and_size_parsers_never_panic(raw in "\\PC{0,64}", prefix in prop_oneof![
        Just(""), Just("https://"), Just("http://"), Just("HTTPS://user@"), Just("http://:"),
    ]) {
        let text = format!("{prefix}{raw}");
        if let Ok(url) = ImageUrl::parse(&text) {
            prop_assert_eq!(url.as_str(), text.trim());
            prop_assert!(url.as_str().starts_with("http") || url.as_str().starts_with("HTTP"));
        }
        let _ = IdempotencyKey::parse(&text);
        let _ = OutputSize::parse(&text);
        let _ = SuccessorModel::parse(&text);
    }

    #[test]
    fn the_body_parsers_never_panic_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        parse_all(&bytes);
    }

    #[test]
    fn the_body_parsers_never_panic_on_bodies_with_the_real_keys(bytes in shaped_body()) {
        parse_all(&bytes);
    }
}

//! Browser tests of the contract's bodies as the browser's JSON reads and writes them: every reader and writer of `src/body.rs` agrees with serde_json on the same text.
#![cfg(target_arch = "wasm32")]

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tryon_api::TaskStatus;
use tryon_api::mode::{ClothesType, TryOnMode};
use tryon_api::proxy::UploadResponse;
use tryon_api::wire::{
    CancelResponse, CreateTaskRequest, CreateTaskResponse, ErrorBody, Resolution, SegmentInput,
    SegmentParameters, SegmentRequest, SegmentResponse, TaskQueryResponse, TryOnInput,
    TryOnParameters,
};
use tryon_widget::body::{self, Answer};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Reads `text` as `T` both ways and insists that they agree: the same value, or both
/// refusing it. Answers whether it was read.
fn read<T: Answer + DeserializeOwned + PartialEq + Debug>(text: &str) -> bool {
    let by_serde = serde_json::from_str::<T>(text).ok();
    let by_browser = T::read(&js_sys::JSON::parse(text).unwrap()).ok();
    assert_eq!(by_browser, by_serde, "{text}");
    by_browser.is_some()
}

/// What `JSON.stringify` writes of `body`, which must be what serde_json writes of `value`.
fn assert_written_alike<T: Serialize>(body: JsValue, value: &T) {
    let written = String::from(js_sys::JSON::stringify(&body).unwrap());
    assert_eq!(written, serde_json::to_string(value).unwrap());
}

#[wasm_bindgen_test]
fn upload_answers_are_read_as_serde_reads_them() {
    let full = r#"{"id":"u1","url":"https://p/u1","format":"jpeg","width":600,"height":900,"bytes":158555,"request_id":"r"}"#;
    assert!(read::<UploadResponse>(full));
    assert!(read::<UploadResponse>(
        r#"{"id":"u1","url":"https://p/u1","format":"png","width":1,"height":1,"bytes":0,"request_id":"r","new_field":[1]}"#
    ));
    for refused in [
        r#"{"id":"u1","format":"jpeg","width":600,"height":900,"bytes":1,"request_id":"r"}"#,
        r#"{"id":"u1","url":null,"format":"jpeg","width":600,"height":900,"bytes":1,"request_id":"r"}"#,
        r#"{"id":"u1","url":"u","format":"jpeg","width":-1,"height":900,"bytes":1,"request_id":"r"}"#,
        r#"{"id":"u1","url":"u","format":"jpeg","width":1.5,"height":900,"bytes":1,"request_id":"r"}"#,
        r#"{"id":"u1","url":"u","format":"jpeg","width":"600","height":900,"bytes":1,"request_id":"r"}"#,
        r#"{"id":"u1","url":"u","format":"jpeg","width":4294967296,"height":900,"bytes":1,"request_id":"r"}"#,
        "null",
        "[]",
        r#""u1""#,
        "7",
    ] {
        assert!(!read::<UploadResponse>(refused), "{refused}");
    }
}

#[wasm_bindgen_test]
fn create_and_cancel_answers_are_read_as_serde_reads_them() {
    assert!(read::<CreateTaskResponse>(
        r#"{"output":{"task_id":"t","task_status":"PENDING"},"request_id":"r"}"#
    ));
    assert!(read::<CreateTaskResponse>(
        r#"{"output":{"task_id":"t","task_status":"WARMING-UP","extra":1},"request_id":"r"}"#
    ));
    for refused in [
        r#"{"request_id":"r"}"#,
        r#"{"output":null,"request_id":"r"}"#,
        r#"{"output":{"task_id":"t"},"request_id":"r"}"#,
        r#"{"output":{"task_id":"t","task_status":3},"request_id":"r"}"#,
        r#"{"output":{"task_id":"t","task_status":"PENDING"}}"#,
    ] {
        assert!(!read::<CreateTaskResponse>(refused), "{refused}");
    }
    assert!(read::<CancelResponse>(r#"{"request_id":"r"}"#));
    assert!(!read::<CancelResponse>("{}"));
}

#[wasm_bindgen_test]
fn task_answers_are_read_as_serde_reads_them() {
    for read_alike in [
        r#"{"request_id":"r","output":{"task_id":"t","task_status":"RUNNING"}}"#,
        r#"{"request_id":"r","output":{"task_id":"t","task_status":"SUCCEEDED","image_url":"https://p/r","submit_time":"2025-01-01 10:00:00.000","scheduled_time":"2025-01-01 10:00:01.000","end_time":"2025-01-01 10:00:20.000"},"usage":{"image_count":1}}"#,
        r#"{"request_id":"r","output":{"task_id":"t","task_status":"FAILED","code":"InvalidPerson","message":"m","image_url":null,"queue_position":null},"usage":null}"#,
        r#"{"request_id":"r","output":{"task_id":"t","task_status":"PENDING","queue_position":4}}"#,
    ] {
        assert!(read::<TaskQueryResponse>(read_alike), "{read_alike}");
    }
    for refused in [
        r#"{"request_id":"r","output":{"task_id":"t","task_status":"PENDING","queue_position":-1}}"#,
        r#"{"request_id":"r","output":{"task_id":"t","task_status":"FAILED","code":5}}"#,
        r#"{"request_id":"r","output":{"task_id":"t","task_status":"RUNNING"},"usage":{}}"#,
        r#"{"request_id":"r","output":{"task_id":"t","task_status":"RUNNING"},"usage":3}"#,
        r#"{"output":{"task_id":"t","task_status":"RUNNING"}}"#,
    ] {
        assert!(!read::<TaskQueryResponse>(refused), "{refused}");
    }
    let read: TaskQueryResponse = TaskQueryResponse::read(
        &js_sys::JSON::parse(r#"{"request_id":"r","output":{"task_id":"t","task_status":"PENDING","queue_position":4}}"#)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(read.output.task_status, TaskStatus::Pending);
    assert_eq!(read.output.queue_position, Some(4));
}

#[wasm_bindgen_test]
fn segmentation_answers_are_read_as_serde_reads_them() {
    assert!(read::<SegmentResponse>(
        r#"{"output":{"parsing_img_url":["https://p/parsing"],"crop_img_url":["https://p/crop"],"bbox":[[1,2,3,4]]},"request_id":"r"}"#
    ));
    assert!(read::<SegmentResponse>(
        r#"{"output":{"parsing_img_url":[null],"crop_img_url":[null,"https://p/crop"],"bbox":[null,[-1,0,5000,6000]]},"usage":{"image_count":1},"request_id":"r"}"#
    ));
    for refused in [
        r#"{"output":{"parsing_img_url":[],"crop_img_url":"https://p/crop","bbox":[]},"request_id":"r"}"#,
        r#"{"output":{"parsing_img_url":[],"crop_img_url":[3],"bbox":[]},"request_id":"r"}"#,
        r#"{"output":{"parsing_img_url":[],"crop_img_url":[],"bbox":[[1,2,3]]},"request_id":"r"}"#,
        r#"{"output":{"parsing_img_url":[],"crop_img_url":[],"bbox":[[1,2,3,4.5]]},"request_id":"r"}"#,
        r#"{"output":{"parsing_img_url":[],"crop_img_url":[]},"request_id":"r"}"#,
    ] {
        assert!(!read::<SegmentResponse>(refused), "{refused}");
    }
}

#[wasm_bindgen_test]
fn error_answers_are_read_as_serde_reads_them() {
    assert!(read::<ErrorBody>(
        r#"{"code":"InvalidPerson","message":"m","request_id":"r"}"#
    ));
    assert!(read::<ErrorBody>(r#"{"code":"Throttling","message":"m"}"#));
    for refused in [
        r#"{"code":"Throttling","message":"m","request_id":null}"#,
        r#"{"message":"m"}"#,
        r#"{"code":"Throttling","message":null}"#,
        "<html>",
    ] {
        if let Ok(value) = js_sys::JSON::parse(refused) {
            assert!(ErrorBody::read(&value).is_err(), "{refused}");
        }
        assert!(
            serde_json::from_str::<ErrorBody>(refused).is_err(),
            "{refused}"
        );
    }
}

#[wasm_bindgen_test]
fn create_bodies_are_written_as_serde_writes_them() {
    let everything = CreateTaskRequest {
        model: "aitryon-plus".to_owned(),
        input: TryOnInput {
            person_image_url: "https://p/person".to_owned(),
            top_garment_url: Some("https://shop/top.png".to_owned()),
            bottom_garment_url: Some("https://shop/bottom.png".to_owned()),
            coarse_image_url: Some("https://p/coarse".to_owned()),
        },
        parameters: Some(TryOnParameters {
            resolution: Some(Resolution::Original),
            restore_face: Some(true),
            gender: Some("woman".to_owned()),
            one_piece: Some(false),
        }),
    };
    assert_written_alike(body::create_task(&everything), &everything);
    let sparse = CreateTaskRequest {
        model: "aitryon".to_owned(),
        input: TryOnInput {
            person_image_url: "https://p/\"quoted\" ünïcode".to_owned(),
            top_garment_url: Some("https://shop/top.png".to_owned()),
            ..TryOnInput::default()
        },
        parameters: Some(TryOnParameters {
            resolution: Some(Resolution::Portrait1280),
            ..TryOnParameters::default()
        }),
    };
    assert_written_alike(body::create_task(&sparse), &sparse);
    let bare = CreateTaskRequest {
        parameters: None,
        ..sparse
    };
    assert_written_alike(body::create_task(&bare), &bare);
    let empty_parameters = CreateTaskRequest {
        parameters: Some(TryOnParameters::default()),
        ..bare
    };
    assert_written_alike(body::create_task(&empty_parameters), &empty_parameters);
}

#[wasm_bindgen_test]
fn segmentation_bodies_are_written_as_serde_writes_them() {
    for mode in [TryOnMode::TopKeepOwnBottom, TryOnMode::BottomKeepOwnTop] {
        let request = mode.segment_request("https://p/person").unwrap();
        assert_written_alike(body::segment(&request), &request);
    }
    let every_region = SegmentRequest {
        model: "aitryon-parsing-v1".to_owned(),
        input: SegmentInput {
            image_url: "https://p/person".to_owned(),
        },
        parameters: SegmentParameters {
            clothes_type: vec![ClothesType::Upper, ClothesType::Lower, ClothesType::Dress],
        },
    };
    assert_written_alike(body::segment(&every_region), &every_region);
}

//! Contract tests: every JSON example of the reference documents parses into its contract type and serialises back to the same JSON value.
//!
//! The fixtures live in `tests/fixtures/` (see its README for where each comes from and
//! how the markdown escapes were cleaned). Comparing `serde_json::Value`s makes the round
//! trip independent of key order and whitespace, yet catches any field the types drop,
//! rename or add.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tryon_api::mode::Garments;
use tryon_api::wire::{
    CreateTaskRequest, CreateTaskResponse, ErrorBody, SegmentRequest, SegmentResponse,
    TaskListResponse, TaskQueryResponse,
};
use tryon_api::{ClothesType, ErrorKind, Resolution, TaskStatus, TryOnMode};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// Parses a fixture into `T`, checks that serialising gives the same JSON value back, and
/// returns the typed value for further checks.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let original = fixture(name);
    let typed: T = serde_json::from_value(original.clone())
        .unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(back, original, "{name} does not round-trip");
    typed
}

/// The six create bodies of the spec, with the mode each example documents.
const CREATE_BODIES: [(&str, TryOnMode); 6] = [
    ("create-1-top.json", TryOnMode::TopOnly),
    (
        "create-2-top-keep-own-bottom.json",
        TryOnMode::TopKeepOwnBottom,
    ),
    ("create-3-bottom.json", TryOnMode::BottomOnly),
    (
        "create-4-bottom-keep-own-top.json",
        TryOnMode::BottomKeepOwnTop,
    ),
    ("create-5-top-and-bottom.json", TryOnMode::TopAndBottom),
    ("create-6-dress.json", TryOnMode::Dress),
];

/// What the segmentation call answers in the spec's keep-own examples.
const SEGMENTED: &str = "图片分割API输出的图像URL";

#[test]
fn the_six_create_bodies_round_trip_with_the_documented_parameters() {
    for (name, _) in CREATE_BODIES {
        let request: CreateTaskRequest = round_trip(name);
        assert_eq!(request.model, "aitryon-plus", "{name}");
        let parameters = request.parameters.expect("every example sends parameters");
        assert_eq!(parameters.resolution, Some(Resolution::Original), "{name}");
        assert_eq!(parameters.restore_face, Some(true), "{name}");
        assert!(
            request
                .input
                .person_image_url
                .ends_with("/model_person.png"),
            "{name}"
        );
        assert_eq!(request.input.coarse_image_url, None, "{name}");
    }
}

#[test]
fn each_create_body_is_what_its_mode_builds() {
    for (name, mode) in CREATE_BODIES {
        let request: CreateTaskRequest = serde_json::from_value(fixture(name)).unwrap();
        let input = &request.input;
        // The keep-own modes put the segmentation's crop on the side the shopper keeps;
        // the product gives the other garment.
        let own_crop = mode.segmentation().map(|_| SEGMENTED);
        let garments = Garments {
            top: input.top_garment_url.clone().filter(|url| url != SEGMENTED),
            bottom: input
                .bottom_garment_url
                .clone()
                .filter(|url| url != SEGMENTED),
        };
        let built = mode
            .tryon_input(&input.person_image_url, &garments, own_crop)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&built, input, "{name} is not what {mode:?} builds");
        // Garment presence alone, as the spec describes each example.
        let presence = (
            input.top_garment_url.is_some(),
            input.bottom_garment_url.is_some(),
        );
        let expected = match mode {
            TryOnMode::TopOnly | TryOnMode::Dress => (true, false),
            TryOnMode::BottomOnly => (false, true),
            TryOnMode::TopAndBottom | TryOnMode::TopKeepOwnBottom | TryOnMode::BottomKeepOwnTop => {
                (true, true)
            }
        };
        assert_eq!(presence, expected, "{name}");
    }
    // The two keep-own examples differ only in which side holds the segmentation output.
    let keep_bottom: CreateTaskRequest =
        serde_json::from_value(fixture("create-2-top-keep-own-bottom.json")).unwrap();
    assert_eq!(
        keep_bottom.input.bottom_garment_url.as_deref(),
        Some(SEGMENTED)
    );
    let keep_top: CreateTaskRequest =
        serde_json::from_value(fixture("create-4-bottom-keep-own-top.json")).unwrap();
    assert_eq!(keep_top.input.top_garment_url.as_deref(), Some(SEGMENTED));
    let dress: CreateTaskRequest = serde_json::from_value(fixture("create-6-dress.json")).unwrap();
    assert!(dress.input.top_garment_url.unwrap().ends_with("/dress.jpg"));
}

#[test]
fn the_create_answers_round_trip() {
    let created: CreateTaskResponse = round_trip("create-response-success.json");
    assert_eq!(created.output.task_status, TaskStatus::Pending);
    assert_eq!(created.output.task_id, "0385dc79-5ff8-4d82-bcb6-xxxxxx");
    assert_eq!(created.request_id, "4909100c-7b5a-9f92-bfe5-xxxxxx");

    let error: ErrorBody = round_trip("create-response-error.json");
    assert_eq!(
        ErrorKind::from_wire(&error.code, &error.message),
        Some(ErrorKind::InvalidApiKey)
    );
    assert_eq!(error.message, ErrorKind::InvalidApiKey.message());
}

#[test]
fn the_query_answers_round_trip() {
    let succeeded: TaskQueryResponse = round_trip("query-response-succeeded.json");
    assert_eq!(succeeded.output.task_status, TaskStatus::Succeeded);
    assert!(succeeded.output.task_status.is_terminal());
    assert_eq!(succeeded.usage.map(|u| u.image_count), Some(1));
    assert!(
        succeeded
            .output
            .image_url
            .as_deref()
            .unwrap()
            .contains("?Expires=")
    );
    assert_eq!(
        succeeded.output.submit_time.as_deref(),
        Some("2025-06-30 14:37:53.838")
    );
    assert_eq!(succeeded.output.code, None);

    let failed: TaskQueryResponse = round_trip("query-response-failed.json");
    assert_eq!(failed.output.task_status, TaskStatus::Failed);
    assert_eq!(failed.usage, None);
    assert_eq!(failed.output.image_url, None);
    // The example's message is truncated ("xxxxx"), so the catalogue entry is found by
    // its code alone.
    let kind = ErrorKind::from_wire(
        failed.output.code.as_deref().unwrap(),
        failed.output.message.as_deref().unwrap(),
    );
    assert_eq!(kind, Some(ErrorKind::InvalidParameter));
}

#[test]
fn the_segmentation_examples_round_trip_with_boxes_as_lists_of_four() {
    let request: SegmentRequest = round_trip("segment-request.json");
    assert_eq!(request.model, "aitryon-parsing-v1");
    assert_eq!(
        request.parameters.clothes_type,
        vec![ClothesType::Upper, ClothesType::Lower]
    );

    let answer: SegmentResponse = round_trip("segment-response.json");
    assert_eq!(
        answer.output.bbox,
        vec![Some([10, 20, 30, 40]), Some([50, 60, 70, 80])]
    );
    assert_eq!(answer.output.crop_img_url.len(), 2);
    assert_eq!(
        answer.output.crop_img_url[0].as_deref(),
        Some("http://xxx/3.png")
    );
    assert_eq!(answer.usage.map(|u| u.image_count), Some(1));
}

#[test]
fn a_segmentation_answer_with_an_absent_garment_keeps_its_nulls() {
    // The family doc: "`null` where that garment is absent"; a null must survive the
    // round trip in every aligned list.
    let answer = serde_json::json!({
        "output": {"parsing_img_url": [null], "crop_img_url": [null], "bbox": [null]},
        "usage": {"image_count": 1},
        "request_id": "r"
    });
    let typed: SegmentResponse = serde_json::from_value(answer.clone()).unwrap();
    assert_eq!(typed.output.bbox, vec![None]);
    assert_eq!(serde_json::to_value(&typed).unwrap(), answer);
}

#[test]
fn the_listing_envelope_round_trips_entries_of_either_shape() {
    let listing: TaskListResponse = round_trip("list-response-unconfirmed.json");
    assert_eq!((listing.total, listing.total_page), (2, 1));
    assert_eq!((listing.page_no, listing.page_size), (1, 10));
    let states: Vec<TaskStatus> = listing
        .data
        .iter()
        .map(|item| item.effective_status())
        .collect();
    assert_eq!(states, vec![TaskStatus::Succeeded, TaskStatus::Failed]);
    assert_eq!(listing.data[0].extra["gmt_create"], 1_751_265_473_838_u64);
    assert_eq!(listing.data[1].model_name.as_deref(), Some("aitryon-plus"));
}

//! Contract tests of the successor's wire types: the reference documents' JSON shapes parse into the types of `tryon_api::generation` and serialise back unchanged, and a planned try-on has exactly the documented shape.
//!
//! The examples are inline rather than in `tests/fixtures/` because they come from the
//! family document's successor section, which prints the request in full but describes
//! the answer only by its field paths; the answer below is built from those paths.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tryon_api::generation::{
    GenerationRequest, GenerationResponse, PlanOptions, SuccessorModel, plan,
};
use tryon_api::mode::Garments;
use tryon_api::wire::ErrorBody;
use tryon_api::{ErrorKind, Resolution, TryOnMode};

/// Parses `value` into `T`, checks that it serialises back to the same JSON value, and
/// returns the typed value.
fn round_trip<T: DeserializeOwned + Serialize>(value: Value) -> T {
    let typed: T = serde_json::from_value(value.clone()).expect("parses");
    assert_eq!(serde_json::to_value(&typed).unwrap(), value);
    typed
}

#[test]
fn the_documented_request_example_round_trips_and_obeys_the_rules() {
    let example = json!({"model":"qwen-image-2.0",
     "input":{"messages":[{"role":"user","content":[
       {"image":"https://shop.example/person.jpg"},
       {"image":"https://shop.example/garment.jpg"},
       {"text":"图1中的人穿上图2中的上衣，保持人物的脸、姿势、下装和背景不变"}]}]},
     "parameters":{"n":1,"size":"1024*1536","negative_prompt":" ","prompt_extend":true,
                   "watermark":false,"seed":42}});
    let request: GenerationRequest = round_trip(example);
    assert_eq!(request.validate(), Ok(()));
    assert_eq!(
        request.images(),
        [
            "https://shop.example/person.jpg",
            "https://shop.example/garment.jpg"
        ]
    );
    assert_eq!(
        request.text(),
        Some("图1中的人穿上图2中的上衣，保持人物的脸、姿势、下装和背景不变")
    );
}

#[test]
fn the_documented_answer_shape_round_trips_and_yields_its_images() {
    let answer = json!({
        "output": {"choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": [
            {"image": "https://dashscope-result.example/1.png?Expires=1"},
            {"image": "https://dashscope-result.example/2.png?Expires=1"}
        ]}}]},
        "usage": {"width": 1024, "height": 1536, "image_count": 2},
        "request_id": "7574ee8f-38a3-4b1e-9280-11c33ab46e51"
    });
    let response: GenerationResponse = round_trip(answer);
    assert_eq!(response.images().len(), 2);
    assert_eq!(
        response.images()[0],
        "https://dashscope-result.example/1.png?Expires=1"
    );
    let usage = response.usage.unwrap();
    assert_eq!(
        (usage.width, usage.height, usage.image_count),
        (1024, 1536, 2)
    );
}

#[test]
fn errors_use_the_shared_error_body() {
    let body: ErrorBody = round_trip(json!({
        "code": "Throttling.RateQuota",
        "message": "Requests rate limit exceeded, please try again later.",
        "request_id": "r"
    }));
    assert_eq!(
        ErrorKind::from_wire(&body.code, &body.message),
        Some(ErrorKind::ThrottlingRateQuota)
    );
}

#[test]
fn a_planned_top_and_bottom_has_exactly_the_documented_shape() {
    let options = PlanOptions {
        resolution: Resolution::Portrait1024,
        seed: Some(7),
        ..PlanOptions::new(SuccessorModel::parse("qwen-image-2.0-pro").unwrap())
    };
    let garments = Garments {
        top: Some("https://shop.example/top.png".into()),
        bottom: Some("https://shop.example/bottom.png".into()),
    };
    let request = plan(
        TryOnMode::TopAndBottom,
        "https://proxy.example/files/p.jpg",
        &garments,
        None,
        &options,
    )
    .unwrap();
    let json = serde_json::to_value(&request).unwrap();
    let content = &json["input"]["messages"][0]["content"];
    assert_eq!(json["model"], "qwen-image-2.0-pro");
    assert_eq!(json["input"]["messages"][0]["role"], "user");
    assert_eq!(
        content[0],
        json!({"image": "https://proxy.example/files/p.jpg"})
    );
    assert_eq!(content[1], json!({"image": "https://shop.example/top.png"}));
    assert_eq!(
        content[2],
        json!({"image": "https://shop.example/bottom.png"})
    );
    assert!(
        content[3]["text"]
            .as_str()
            .unwrap()
            .starts_with("图1中的人穿上图2中的上衣和图3中的下装")
    );
    assert_eq!(json["parameters"]["size"], "576*1024");
    assert_eq!(json["parameters"]["n"], 1);
    assert_eq!(json["parameters"]["seed"], 7);
    assert_eq!(json["parameters"]["prompt_extend"], false);
    assert_eq!(json["parameters"]["watermark"], false);
}

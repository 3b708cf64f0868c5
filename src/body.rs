//! The contract's bodies as the browser's `JSON` sees them: answers read field by field from what `JSON.parse` made, requests built as plain objects for `JSON.stringify`.
//!
//! A serde reader (of JSON text, or of JavaScript values through serde-wasm-bindgen)
//! costs the bundle far more than these reads: every type gets its own visitor, and its
//! error messages bring in the printers of every kind of value, floats included. So the
//! few bodies the widget exchanges are mapped by hand, with serde's rules: a required
//! field must be there with the right kind of value, an optional one may be absent or
//! `null`, and fields the widget does not know are ignored. The browser tests hold every
//! reader and writer here to serde_json's reading and writing of the same contract type.
//! Two differences remain, both about JSON that no proxy writes: a whole number written
//! with a fraction or an exponent (`3.0`) is read, since `JSON.parse` makes it the same
//! number as `3`, and a struct written as an array, which serde also reads, is refused.

use std::cell::Cell;

use js_sys::{Array, Object};
use tryon_api::TaskStatus;
use tryon_api::mode::ClothesType;
use tryon_api::proxy::UploadResponse;
use tryon_api::wire::{
    CancelResponse, CreateTaskRequest, CreateTaskResponse, CreatedTask, ErrorBody, SegmentOutput,
    SegmentRequest, SegmentResponse, TaskOutput, TaskQueryResponse, Usage,
};
use wasm_bindgen::JsValue;

use crate::js_object;

/// The field of an answer that is missing or holds the wrong kind of value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreadable(pub &'static str);

/// A contract type that can be read from a parsed JSON answer.
pub trait Answer: Sized {
    /// Reads `value` (what `JSON.parse` made of the answer's body).
    fn read(value: &JsValue) -> Result<Self, Unreadable>;
}

/// The widest whole number a JavaScript number holds exactly.
const EXACT: f64 = 9_007_199_254_740_991.0;

/// Reads `value` with `build`, which takes every field from the [`Fields`] it is given;
/// the answer is what it built, or the first field it found unreadable.
fn read_with<T>(value: &JsValue, build: impl FnOnce(&Fields<'_>) -> T) -> Result<T, Unreadable> {
    let unreadable = Cell::new(None);
    let built = build(&Fields {
        object: value.clone(),
        unreadable: &unreadable,
    });
    match unreadable.get() {
        None => Ok(built),
        Some(name) => Err(Unreadable(name)),
    }
}

/// The fields of one JSON object. A field that is missing or of the wrong kind reads as
/// an empty value and is remembered (the first one only), so that a whole answer is
/// read without stopping at every field: stopping would cost the bundle the code that
/// drops, at every field, the ones read before it.
struct Fields<'a> {
    object: JsValue,
    unreadable: &'a Cell<Option<&'static str>>,
}

impl<'a> Fields<'a> {
    fn fail(&self, name: &'static str) {
        if self.unreadable.get().is_none() {
            self.unreadable.set(Some(name));
        }
    }

    /// The value of `name` (`undefined` when absent); unreadable when this is not a JSON
    /// object at all.
    fn get(&self, name: &'static str) -> JsValue {
        if !self.object.is_object() || Array::is_array(&self.object) {
            self.fail(name);
            return JsValue::UNDEFINED;
        }
        js_object::get(&self.object, name).unwrap_or_else(|| {
            self.fail(name);
            JsValue::UNDEFINED
        })
    }

    /// The value of `name`, `None` when it is absent or `null` (an optional field).
    fn maybe(&self, name: &'static str) -> Option<JsValue> {
        Some(self.get(name)).filter(|value| !value.is_undefined() && !value.is_null())
    }

    fn text(&self, name: &'static str) -> String {
        self.text_of(&self.get(name), name)
    }

    fn maybe_text(&self, name: &'static str) -> Option<String> {
        self.maybe(name).map(|value| self.text_of(&value, name))
    }

    fn text_of(&self, value: &JsValue, name: &'static str) -> String {
        value.as_string().unwrap_or_else(|| {
            self.fail(name);
            String::new()
        })
    }

    /// A whole number from `min` to `max`, as serde reads one into an integer type. The
    /// one difference: `JSON.parse` makes the same number of `3`, `3.0` and `3e0`, so all
    /// three are read, where serde_json takes only the first as an integer.
    fn whole_of(&self, value: &JsValue, name: &'static str, min: f64, max: f64) -> f64 {
        match value.as_f64() {
            Some(number) if number.fract() == 0.0 && (min..=max).contains(&number) => number,
            _ => {
                self.fail(name);
                0.0
            }
        }
    }

    fn count(&self, name: &'static str) -> u32 {
        self.whole_of(&self.get(name), name, 0.0, f64::from(u32::MAX)) as u32
    }

    fn maybe_count(&self, name: &'static str) -> Option<u32> {
        self.maybe(name)
            .map(|value| self.whole_of(&value, name, 0.0, f64::from(u32::MAX)) as u32)
    }

    fn status(&self, name: &'static str) -> TaskStatus {
        TaskStatus::from(self.text(name))
    }

    /// The object under `name`, whose fields are read like these.
    fn object(&self, name: &'static str) -> Fields<'a> {
        self.object_of(self.get(name), name)
    }

    fn object_of(&self, value: JsValue, name: &'static str) -> Fields<'a> {
        if !value.is_object() || Array::is_array(&value) {
            self.fail(name);
        }
        Fields {
            object: value,
            unreadable: self.unreadable,
        }
    }

    fn usage(&self) -> Option<Usage> {
        self.maybe("usage").map(|usage| Usage {
            image_count: self.object_of(usage, "usage").count("image_count"),
        })
    }

    /// The items of the list under `name`.
    fn list(&self, name: &'static str) -> Vec<JsValue> {
        let value = self.get(name);
        if Array::is_array(&value) {
            Array::from(&value).to_vec()
        } else {
            self.fail(name);
            Vec::new()
        }
    }

    /// A list of optional texts (segmentation's URLs, one per region).
    fn maybe_texts(&self, name: &'static str) -> Vec<Option<String>> {
        self.list(name)
            .iter()
            .map(|item| (!item.is_null()).then(|| self.text_of(item, name)))
            .collect()
    }

    /// A list of optional boxes of four whole numbers (segmentation's `bbox`).
    fn maybe_boxes(&self, name: &'static str) -> Vec<Option<[i64; 4]>> {
        self.list(name)
            .iter()
            .map(|item| {
                if item.is_null() {
                    return None;
                }
                let corners = if Array::is_array(item) {
                    Array::from(item).to_vec()
                } else {
                    Vec::new()
                };
                if corners.len() != 4 {
                    self.fail(name);
                }
                let mut found = [0; 4];
                for (slot, corner) in found.iter_mut().zip(&corners) {
                    *slot = self.whole_of(corner, name, -EXACT, EXACT) as i64;
                }
                Some(found)
            })
            .collect()
    }
}

impl Answer for UploadResponse {
    fn read(value: &JsValue) -> Result<Self, Unreadable> {
        read_with(value, |answer| UploadResponse {
            id: answer.text("id"),
            url: answer.text("url"),
            format: answer.text("format"),
            width: answer.count("width"),
            height: answer.count("height"),
            bytes: answer.whole_of(&answer.get("bytes"), "bytes", 0.0, EXACT) as u64,
            request_id: answer.text("request_id"),
        })
    }
}

impl Answer for CreateTaskResponse {
    fn read(value: &JsValue) -> Result<Self, Unreadable> {
        read_with(value, |answer| {
            let output = answer.object("output");
            CreateTaskResponse {
                output: CreatedTask {
                    task_id: output.text("task_id"),
                    task_status: output.status("task_status"),
                },
                request_id: answer.text("request_id"),
            }
        })
    }
}

impl Answer for TaskQueryResponse {
    fn read(value: &JsValue) -> Result<Self, Unreadable> {
        read_with(value, |answer| {
            let output = answer.object("output");
            TaskQueryResponse {
                request_id: answer.text("request_id"),
                output: TaskOutput {
                    task_id: output.text("task_id"),
                    task_status: output.status("task_status"),
                    image_url: output.maybe_text("image_url"),
                    submit_time: output.maybe_text("submit_time"),
                    scheduled_time: output.maybe_text("scheduled_time"),
                    end_time: output.maybe_text("end_time"),
                    code: output.maybe_text("code"),
                    message: output.maybe_text("message"),
                    queue_position: output.maybe_count("queue_position"),
                },
                usage: answer.usage(),
            }
        })
    }
}

impl Answer for SegmentResponse {
    fn read(value: &JsValue) -> Result<Self, Unreadable> {
        read_with(value, |answer| {
            let output = answer.object("output");
            SegmentResponse {
                output: SegmentOutput {
                    parsing_img_url: output.maybe_texts("parsing_img_url"),
                    crop_img_url: output.maybe_texts("crop_img_url"),
                    bbox: output.maybe_boxes("bbox"),
                },
                usage: answer.usage(),
                request_id: answer.text("request_id"),
            }
        })
    }
}

impl Answer for CancelResponse {
    fn read(value: &JsValue) -> Result<Self, Unreadable> {
        read_with(value, |answer| CancelResponse {
            request_id: answer.text("request_id"),
        })
    }
}

impl Answer for ErrorBody {
    fn read(value: &JsValue) -> Result<Self, Unreadable> {
        read_with(value, |answer| {
            // `request_id` defaults to empty when absent, but, as in serde, not when `null`.
            let request_id = answer.get("request_id");
            ErrorBody {
                code: answer.text("code"),
                message: answer.text("message"),
                request_id: if request_id.is_undefined() {
                    String::new()
                } else {
                    answer.text_of(&request_id, "request_id")
                },
            }
        })
    }
}

/// Sets `name` on `object`.
fn put(object: &Object, name: &str, value: impl Into<JsValue>) {
    js_object::set(object, name, &value.into());
}

/// Sets `name` when there is a value: `None` is left out, as the contract's
/// `skip_serializing_if` leaves it out.
fn put_text(object: &Object, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        put(object, name, value);
    }
}

/// The wire name of a segmentation region.
fn region_name(region: ClothesType) -> &'static str {
    match region {
        ClothesType::Upper => "upper",
        ClothesType::Lower => "lower",
        ClothesType::Dress => "dress",
    }
}

/// The create-task body, with its fields in the contract's order so that
/// `JSON.stringify` writes the very text serde_json writes.
pub fn create_task(request: &CreateTaskRequest) -> JsValue {
    let body = Object::new();
    put(&body, "model", request.model.as_str());
    let input = Object::new();
    put(
        &input,
        "person_image_url",
        request.input.person_image_url.as_str(),
    );
    put_text(
        &input,
        "top_garment_url",
        request.input.top_garment_url.as_deref(),
    );
    put_text(
        &input,
        "bottom_garment_url",
        request.input.bottom_garment_url.as_deref(),
    );
    put_text(
        &input,
        "coarse_image_url",
        request.input.coarse_image_url.as_deref(),
    );
    put(&body, "input", input);
    if let Some(parameters) = &request.parameters {
        let wire = Object::new();
        if let Some(resolution) = parameters.resolution {
            put(&wire, "resolution", resolution.as_wire() as f64);
        }
        if let Some(restore_face) = parameters.restore_face {
            put(&wire, "restore_face", restore_face);
        }
        put_text(&wire, "gender", parameters.gender.as_deref());
        if let Some(one_piece) = parameters.one_piece {
            put(&wire, "one_piece", one_piece);
        }
        put(&body, "parameters", wire);
    }
    body.into()
}

/// The segmentation body, with its fields in the contract's order.
pub fn segment(request: &SegmentRequest) -> JsValue {
    let body = Object::new();
    put(&body, "model", request.model.as_str());
    let input = Object::new();
    put(&input, "image_url", request.input.image_url.as_str());
    put(&body, "input", input);
    let regions: Array = request
        .parameters
        .clothes_type
        .iter()
        .map(|region| JsValue::from_str(region_name(*region)))
        .collect();
    let parameters = Object::new();
    put(&parameters, "clothes_type", regions);
    put(&body, "parameters", parameters);
    body.into()
}

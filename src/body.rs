//! The contract's bodies as the browser's `JSON` sees them: answers read field by field from what `JSON.parse` made, requests built as plain objects for `JSON.stringify`.
//!
//! A serde reader (of JSON text, or of JavaScript values through serde-wasm-bindgen)
//! costs the bundle far more than these reads: every type gets its own visitor, and its
//! error messages bring in the printers of every kind of value, floats included. So the
//! few bodies the widget exchanges are mapped by hand, with serde's rules: a required
//! field must be there with the right kind of value, an optional one may be absent or
//! `null`, and fields the widget does not know are ignored. The browser tests hold every
//! reader and writer here to serde_json's reading and writing of the same contract type.

use js_sys::{Array, Object, Reflect};
use tryon_api::TaskStatus;
use tryon_api::mode::ClothesType;
use tryon_api::proxy::UploadResponse;
use tryon_api::wire::{
    CancelResponse, CreateTaskRequest, CreateTaskResponse, CreatedTask, ErrorBody, SegmentOutput,
    SegmentRequest, SegmentResponse, TaskOutput, TaskQueryResponse, Usage,
};
use wasm_bindgen::JsValue;

/// The field of an answer that is missing or holds the wrong kind of value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreadable(pub &'static str);

/// A contract type that can be read from a parsed JSON answer.
pub trait Answer: Sized {
    /// Reads `value` (what `JSON.parse` made of the answer's body).
    fn read(value: &JsValue) -> Result<Self, Unreadable>;
}

/// The value of `name` in `object` (`undefined` when absent), or [`Unreadable`] when
/// `object` is not a JSON object at all.
fn field(object: &JsValue, name: &'static str) -> Result<JsValue, Unreadable> {
    if !object.is_object() || Array::is_array(object) {
        return Err(Unreadable(name));
    }
    Reflect::get(object, &JsValue::from_str(name)).map_err(|_| Unreadable(name))
}

/// Whether `value` stands for a missing optional field.
fn absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}

fn text(object: &JsValue, name: &'static str) -> Result<String, Unreadable> {
    field(object, name)?.as_string().ok_or(Unreadable(name))
}

/// An optional text: absent or `null` is `None`.
fn maybe_text(object: &JsValue, name: &'static str) -> Result<Option<String>, Unreadable> {
    let value = field(object, name)?;
    if absent(&value) {
        return Ok(None);
    }
    value.as_string().map(Some).ok_or(Unreadable(name))
}

/// A whole number from `min` to `max`, as serde reads one into an integer type. The one
/// difference: `JSON.parse` makes the same number of `3`, `3.0` and `3e0`, so all three
/// are read, where serde_json takes only the first as an integer.
fn whole_number(
    value: &JsValue,
    name: &'static str,
    min: f64,
    max: f64,
) -> Result<f64, Unreadable> {
    value
        .as_f64()
        .filter(|number| number.fract() == 0.0 && (min..=max).contains(number))
        .ok_or(Unreadable(name))
}

/// The widest whole number a JavaScript number holds exactly.
const EXACT: f64 = 9_007_199_254_740_991.0;

fn count_of(value: &JsValue, name: &'static str) -> Result<u32, Unreadable> {
    whole_number(value, name, 0.0, f64::from(u32::MAX)).map(|number| number as u32)
}

fn count(object: &JsValue, name: &'static str) -> Result<u32, Unreadable> {
    count_of(&field(object, name)?, name)
}

fn maybe_count(object: &JsValue, name: &'static str) -> Result<Option<u32>, Unreadable> {
    let value = field(object, name)?;
    if absent(&value) {
        return Ok(None);
    }
    count_of(&value, name).map(Some)
}

/// The object under `name`, checked to be one.
fn object(object: &JsValue, name: &'static str) -> Result<JsValue, Unreadable> {
    let value = field(object, name)?;
    if value.is_object() && !Array::is_array(&value) {
        Ok(value)
    } else {
        Err(Unreadable(name))
    }
}

fn list(object: &JsValue, name: &'static str) -> Result<Array, Unreadable> {
    let value = field(object, name)?;
    if Array::is_array(&value) {
        Ok(Array::from(&value))
    } else {
        Err(Unreadable(name))
    }
}

fn status(object: &JsValue, name: &'static str) -> Result<TaskStatus, Unreadable> {
    text(object, name).map(TaskStatus::from)
}

fn usage(object: &JsValue) -> Result<Option<Usage>, Unreadable> {
    if absent(&field(object, "usage")?) {
        return Ok(None);
    }
    let usage = self::object(object, "usage")?;
    Ok(Some(Usage {
        image_count: count(&usage, "image_count")?,
    }))
}

/// A list of optional texts (segmentation's URLs, one per region).
fn maybe_texts(object: &JsValue, name: &'static str) -> Result<Vec<Option<String>>, Unreadable> {
    list(object, name)?
        .iter()
        .map(|item| {
            if absent(&item) {
                Ok(None)
            } else {
                item.as_string().map(Some).ok_or(Unreadable(name))
            }
        })
        .collect()
}

/// A list of optional boxes of four whole numbers (segmentation's `bbox`).
fn maybe_boxes(object: &JsValue, name: &'static str) -> Result<Vec<Option<[i64; 4]>>, Unreadable> {
    list(object, name)?
        .iter()
        .map(|item| {
            if absent(&item) {
                return Ok(None);
            }
            if !Array::is_array(&item) {
                return Err(Unreadable(name));
            }
            let corners = Array::from(&item);
            if corners.length() != 4 {
                return Err(Unreadable(name));
            }
            let mut found = [0; 4];
            for (slot, corner) in found.iter_mut().zip(corners.iter()) {
                *slot = whole_number(&corner, name, -EXACT, EXACT)? as i64;
            }
            Ok(Some(found))
        })
        .collect()
}

impl Answer for UploadResponse {
    fn read(value: &JsValue) -> Result<Self, Unreadable> {
        Ok(UploadResponse {
            id: text(value, "id")?,
            url: text(value, "url")?,
            format: text(value, "format")?,
            width: count(value, "width")?,
            height: count(value, "height")?,
            bytes: whole_number(&field(value, "bytes")?, "bytes", 0.0, EXACT)? as u64,
            request_id: text(value, "request_id")?,
        })
    }
}

impl Answer for CreateTaskResponse {
    fn read(value: &JsValue) -> Result<Self, Unreadable> {
        let output = object(value, "output")?;
        Ok(CreateTaskResponse {
            output: CreatedTask {
                task_id: text(&output, "task_id")?,
                task_status: status(&output, "task_status")?,
            },
            request_id: text(value, "request_id")?,
        })
    }
}

impl Answer for TaskQueryResponse {
    fn read(value: &JsValue) -> Result<Self, Unreadable> {
        let output = object(value, "output")?;
        Ok(TaskQueryResponse {
            request_id: text(value, "request_id")?,
            output: TaskOutput {
                task_id: text(&output, "task_id")?,
                task_status: status(&output, "task_status")?,
                image_url: maybe_text(&output, "image_url")?,
                submit_time: maybe_text(&output, "submit_time")?,
                scheduled_time: maybe_text(&output, "scheduled_time")?,
                end_time: maybe_text(&output, "end_time")?,
                code: maybe_text(&output, "code")?,
                message: maybe_text(&output, "message")?,
                queue_position: maybe_count(&output, "queue_position")?,
            },
            usage: usage(value)?,
        })
    }
}

impl Answer for SegmentResponse {
    fn read(value: &JsValue) -> Result<Self, Unreadable> {
        let output = object(value, "output")?;
        Ok(SegmentResponse {
            output: SegmentOutput {
                parsing_img_url: maybe_texts(&output, "parsing_img_url")?,
                crop_img_url: maybe_texts(&output, "crop_img_url")?,
                bbox: maybe_boxes(&output, "bbox")?,
            },
            usage: usage(value)?,
            request_id: text(value, "request_id")?,
        })
    }
}

impl Answer for CancelResponse {
    fn read(value: &JsValue) -> Result<Self, Unreadable> {
        Ok(CancelResponse {
            request_id: text(value, "request_id")?,
        })
    }
}

impl Answer for ErrorBody {
    fn read(value: &JsValue) -> Result<Self, Unreadable> {
        // `request_id` defaults to empty when absent, but, as in serde, not when `null`.
        let request_id = field(value, "request_id")?;
        Ok(ErrorBody {
            code: text(value, "code")?,
            message: text(value, "message")?,
            request_id: if request_id.is_undefined() {
                String::new()
            } else {
                request_id.as_string().ok_or(Unreadable("request_id"))?
            },
        })
    }
}

/// Sets `name` on `object`; values of `None` are left out, as the contract's
/// `skip_serializing_if` leaves them out.
fn put(object: &Object, name: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(object, &JsValue::from_str(name), &value.into());
}

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

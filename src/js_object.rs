//! Plain JavaScript objects, field by field through `Reflect`: one set of helpers for the bodies, the remembered record, the events and the capabilities.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

/// The field `name` of `object` (`undefined` when absent); `None` when reading it threw.
pub fn get(object: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(object, &JsValue::from_str(name)).ok()
}

/// The field `name` of `object` when it is a string.
pub fn text(object: &JsValue, name: &str) -> Option<String> {
    get(object, name)?.as_string()
}

/// The field `name` of `object` when it is a number.
pub fn number(object: &JsValue, name: &str) -> Option<f64> {
    get(object, name)?.as_f64()
}

/// Sets the field `name` of `object`. Setting a field of a plain object does not fail,
/// so there is nothing to report.
pub fn set(object: &JsValue, name: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(name), value);
}

/// A new object with `fields`.
pub fn object_of(fields: &[(&str, JsValue)]) -> JsValue {
    let object: JsValue = Object::new().into();
    for (name, value) in fields {
        set(&object, name, value);
    }
    object
}

//! The DOM events the widget sends to its host element, for the shop's analytics and cart.
//!
//! Every event is a `CustomEvent` named `tryon:*` that bubbles and crosses the shadow
//! boundary (`composed`), so a shop can listen on the element or on `document`. Each
//! `detail` carries the product id and ids and codes only: never the photo, its URL or
//! anything that identifies the shopper.

use wasm_bindgen::JsValue;

use crate::js_object;

/// The events, by name.
pub mod name {
    /// The dialog opened (sent by the loader on every tap).
    pub const OPEN: &str = "tryon:open";
    /// The dialog closed.
    pub const CLOSE: &str = "tryon:close";
    /// A photo was chosen: `source` is `file`, `drop`, `camera` or `sample`.
    pub const PHOTO: &str = "tryon:photo";
    /// "Generate" was pressed: `mode`, `resolution`, `keepFace`.
    pub const SUBMIT: &str = "tryon:submit";
    /// The task's status changed: `taskId`, `status`, `stage`.
    pub const STATUS: &str = "tryon:status";
    /// The picture is shown: `taskId`, `mode`, `seconds`.
    pub const RESULT: &str = "tryon:result";
    /// The try-on stopped without a picture: `code`.
    pub const ERROR: &str = "tryon:error";
    /// The shopper downloaded the picture: `taskId`.
    pub const DOWNLOAD: &str = "tryon:download";
    /// The shopper pressed "Add to cart" on a look: `taskId`, and `productId` is the look's
    /// product, which may be another than the widget's (a look from "My looks").
    pub const ADD_TO_CART: &str = "tryon:add-to-cart";
}

/// One field of an event's detail.
pub enum Field<'a> {
    Text(&'a str),
    Number(f64),
    Flag(bool),
}

/// Sends events to one host element; without a host (tests of single components) it
/// sends nothing.
#[derive(Debug, Clone, Default)]
pub struct Emitter {
    host: Option<web_sys::EventTarget>,
    product_id: String,
}

impl Emitter {
    pub fn new(host: Option<web_sys::EventTarget>, product_id: &str) -> Emitter {
        Emitter {
            host,
            product_id: product_id.to_owned(),
        }
    }

    /// Dispatches `name` with `productId` and `fields` as its detail; a `productId` among
    /// `fields` replaces the widget's own (a look of another product).
    pub fn emit(&self, name: &str, fields: &[(&str, Field<'_>)]) {
        let Some(host) = &self.host else {
            return;
        };
        let detail = js_sys::Object::new();
        let set = |key: &str, value: JsValue| js_object::set(&detail, key, &value);
        set("productId", self.product_id.as_str().into());
        for (key, value) in fields {
            set(
                key,
                match value {
                    Field::Text(text) => (*text).into(),
                    Field::Number(number) => (*number).into(),
                    Field::Flag(flag) => (*flag).into(),
                },
            );
        }
        let init = web_sys::CustomEventInit::new();
        init.set_bubbles(true);
        init.set_composed(true);
        init.set_detail(&detail);
        if let Ok(event) = web_sys::CustomEvent::new_with_event_init_dict(name, &init) {
            let _ = host.dispatch_event(&event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::name;

    #[test]
    fn the_loader_forwards_every_event_to_shopifys_web_pixels() {
        let loader = include_str!("../www/loader.js");
        let forwarded = loader
            .split("for (const name of [")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .expect("the loader's list of forwarded events");
        for event in [
            name::OPEN,
            name::CLOSE,
            name::PHOTO,
            name::SUBMIT,
            name::STATUS,
            name::RESULT,
            name::ERROR,
            name::DOWNLOAD,
            name::ADD_TO_CART,
            "tryon:unavailable",
        ] {
            let short = event.trim_start_matches("tryon:");
            assert!(
                forwarded.contains(&["\"", short, "\""].concat()),
                "{event} is not forwarded: {forwarded}"
            );
        }
    }
}

//! What the widget keeps for the shopper: the looks of this page in memory and, only with their consent ("Remember my photo"), the photo, the looks and the shopper token in `localStorage` for the retention period.
//!
//! Everything is kept per proxy (one shop), under keys the loader knows too: the loader
//! reads the remembered shopper token before the first status call, so that the proxy
//! recognises the remembered photo as this shopper's own after a reload or on a later
//! visit. Nothing is written to the browser's storage without consent, so without it
//! nothing survives a reload. Records are plain JSON made with the browser's own `JSON`,
//! which keeps a JSON library out of the bundle.

use std::cell::RefCell;

use js_sys::{Array, JSON, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::js_object::{self, number, object_of, text};

/// The photo a shopper asked the widget to remember: an upload the proxy still keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptPhoto {
    /// The proxy's id of the upload, for asking whether it is still kept and forgetting it.
    pub id: String,
    /// Its URL on the proxy, which the try-on sends as the person photo.
    pub url: String,
    /// A small JPEG data URL, so that the dialog shows the photo without downloading it.
    pub thumbnail: String,
    /// When the proxy deletes it (Unix milliseconds).
    pub expires_at_ms: f64,
}

/// One result of a try-on, as "My looks" lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    pub task_id: String,
    /// The picture, kept by the proxy for the retention period.
    pub image_url: String,
    /// The photo it was made from, for the before/after slider.
    pub before_url: String,
    pub product_name: String,
    /// The shop's product id, which "Add to cart" on this look sends.
    pub product_id: String,
    /// When the proxy deletes the picture (Unix milliseconds).
    pub expires_at_ms: f64,
}

thread_local! {
    /// The looks of this page, by proxy: every widget of the page adds to them, so that one
    /// product's dialog lists the looks made in another's.
    static PAGE_LOOKS: RefCell<Vec<(String, Vec<Look>)>> = const { RefCell::new(Vec::new()) };
}

/// The `localStorage` key of what is remembered for `proxy`.
pub fn record_key(proxy: &str) -> String {
    ["vto:", proxy].concat()
}

/// The `localStorage` key of the remembered shopper token for `proxy`; `www/loader.js`
/// reads the same key.
pub fn token_key(proxy: &str) -> String {
    ["vto-shopper:", proxy].concat()
}

/// The most looks listed and remembered: a busy visit's newest, while the browser's
/// storage (a few megabytes per site, shared with the shop) stays small.
pub const MAX_LOOKS: usize = 30;

/// The looks to list: this page's and the remembered ones, without duplicates or expired
/// ones, newest first (looks are appended as they are made), at most [`MAX_LOOKS`].
pub fn merge_looks(page: &[Look], remembered: &[Look], now_ms: f64) -> Vec<Look> {
    let mut merged: Vec<Look> = Vec::new();
    for look in remembered.iter().chain(page) {
        if look.expires_at_ms > now_ms && !merged.iter().any(|m| m.task_id == look.task_id) {
            merged.push(look.clone());
        }
    }
    merged.reverse();
    merged.truncate(MAX_LOOKS);
    merged
}

/// The browser's `localStorage`, when the page may use it (it may not in some private
/// modes or sandboxed frames: then nothing is remembered, and nothing fails).
fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Whether the shopper has asked this shop's widget to remember their photo.
pub fn is_remembering(proxy: &str) -> bool {
    storage()
        .and_then(|storage| storage.get_item(&record_key(proxy)).ok().flatten())
        .is_some()
}

/// The remembered photo for `proxy`, unless it has expired (then it is forgotten here).
pub fn kept_photo(proxy: &str, now_ms: f64) -> Option<KeptPhoto> {
    let record = read_record(proxy)?;
    let photo = photo_from(&js_object::get(&record, "photo")?)?;
    if photo.expires_at_ms <= now_ms {
        drop_photo(proxy);
        return None;
    }
    Some(photo)
}

/// Every look to list for `proxy`: this page's and, when remembering, the kept ones.
pub fn looks(proxy: &str, now_ms: f64) -> Vec<Look> {
    let page = PAGE_LOOKS.with_borrow(|all| {
        all.iter()
            .find(|(key, _)| key == proxy)
            .map(|(_, looks)| looks.clone())
            .unwrap_or_default()
    });
    merge_looks(&page, &remembered_looks(proxy), now_ms)
}

/// Adds a new look for `proxy` to the page's, and to the remembered ones when remembering.
pub fn add_look(proxy: &str, look: Look) {
    PAGE_LOOKS.with_borrow_mut(|all| match all.iter_mut().find(|(key, _)| key == proxy) {
        Some((_, looks)) => looks.push(look.clone()),
        None => all.push((proxy.to_owned(), vec![look.clone()])),
    });
    if let Some(record) = read_record(proxy) {
        let mut kept = remembered_looks(proxy);
        kept.push(look);
        let newest = kept.len().saturating_sub(MAX_LOOKS);
        let looks: Array = kept[newest..].iter().map(look_to_js).collect();
        js_object::set(&record, "looks", &looks);
        write_record(proxy, &record);
    }
}

/// Starts remembering for `proxy` (the shopper ticked "Remember my photo"): the shopper
/// `token`, when the proxy issued one, and this page's looks, from now on kept for their
/// retention period. The photo follows with [`keep_photo`] once it is uploaded.
pub fn consent(proxy: &str, token: Option<&str>, now_ms: f64) {
    let Some(storage) = storage() else {
        return;
    };
    let record = read_record(proxy).unwrap_or_else(|| Object::new().into());
    let looks: Array = looks(proxy, now_ms).iter().rev().map(look_to_js).collect();
    js_object::set(&record, "looks", &looks);
    write_record(proxy, &record);
    if let Some(token) = token {
        let _ = storage.set_item(&token_key(proxy), token);
    }
}

/// Keeps `photo` as the remembered photo for `proxy`, if the shopper consented.
pub fn keep_photo(proxy: &str, photo: &KeptPhoto) {
    if let Some(record) = read_record(proxy) {
        js_object::set(&record, "photo", &photo_to_js(photo));
        write_record(proxy, &record);
    }
}

/// Drops the remembered photo of `proxy` (the shop no longer keeps it); the consent and
/// the looks stay, so that the next photo is remembered in its place.
pub fn drop_photo(proxy: &str) {
    if let Some(record) = read_record(proxy) {
        let _ = Reflect::delete_property(record.unchecked_ref::<Object>(), &"photo".into());
        write_record(proxy, &record);
    }
}

/// Forgets everything remembered for `proxy` in this browser; this page's looks stay
/// listed until the page goes, as they would have without consent.
pub fn forget(proxy: &str) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(&record_key(proxy));
        let _ = storage.remove_item(&token_key(proxy));
    }
}

fn remembered_looks(proxy: &str) -> Vec<Look> {
    read_record(proxy)
        .and_then(|record| js_object::get(&record, "looks"))
        .and_then(|looks| looks.dyn_into::<Array>().ok())
        .map(|looks| looks.iter().filter_map(|look| look_from(&look)).collect())
        .unwrap_or_default()
}

fn read_record(proxy: &str) -> Option<JsValue> {
    let text = storage()?.get_item(&record_key(proxy)).ok().flatten()?;
    JSON::parse(&text).ok().filter(JsValue::is_object)
}

fn write_record(proxy: &str, record: &JsValue) {
    if let (Some(storage), Ok(text)) = (storage(), JSON::stringify(record)) {
        // A full storage keeps the old record: remembering is a convenience, never an error.
        let _ = storage.set_item(&record_key(proxy), &String::from(text));
    }
}

fn photo_to_js(photo: &KeptPhoto) -> JsValue {
    object_of(&[
        ("id", photo.id.as_str().into()),
        ("url", photo.url.as_str().into()),
        ("thumbnail", photo.thumbnail.as_str().into()),
        ("expires", photo.expires_at_ms.into()),
    ])
}

fn photo_from(value: &JsValue) -> Option<KeptPhoto> {
    Some(KeptPhoto {
        id: text(value, "id")?,
        url: text(value, "url")?,
        thumbnail: text(value, "thumbnail").unwrap_or_default(),
        expires_at_ms: number(value, "expires")?,
    })
}

fn look_to_js(look: &Look) -> JsValue {
    object_of(&[
        ("task", look.task_id.as_str().into()),
        ("image", look.image_url.as_str().into()),
        ("before", look.before_url.as_str().into()),
        ("name", look.product_name.as_str().into()),
        ("product", look.product_id.as_str().into()),
        ("expires", look.expires_at_ms.into()),
    ])
}

fn look_from(value: &JsValue) -> Option<Look> {
    Some(Look {
        task_id: text(value, "task")?,
        image_url: text(value, "image")?,
        before_url: text(value, "before").unwrap_or_default(),
        product_name: text(value, "name").unwrap_or_default(),
        product_id: text(value, "product").unwrap_or_default(),
        expires_at_ms: number(value, "expires")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(task: &str, expires_at_ms: f64) -> Look {
        Look {
            task_id: task.to_owned(),
            image_url: ["https://proxy/files/", task].concat(),
            before_url: "https://proxy/files/photo".to_owned(),
            product_name: "Tee".to_owned(),
            product_id: "tee".to_owned(),
            expires_at_ms,
        }
    }

    #[test]
    fn the_looks_are_listed_newest_first_once_each_and_never_past_their_expiry() {
        let remembered = [look("old", 100.0), look("kept", 500.0), look("both", 500.0)];
        let page = [look("both", 500.0), look("new", 500.0)];
        let ids: Vec<String> = merge_looks(&page, &remembered, 200.0)
            .into_iter()
            .map(|look| look.task_id)
            .collect();
        assert_eq!(ids, ["new", "both", "kept"]);
    }

    #[test]
    fn at_most_the_newest_looks_are_listed() {
        let page: Vec<Look> = (0..MAX_LOOKS + 5)
            .map(|n| look(&n.to_string(), 500.0))
            .collect();
        let merged = merge_looks(&page, &[], 0.0);
        assert_eq!(merged.len(), MAX_LOOKS);
        assert_eq!(merged[0].task_id, (MAX_LOOKS + 4).to_string());
    }

    #[test]
    fn the_keys_are_per_proxy_and_the_token_key_is_the_loaders() {
        assert_eq!(record_key(""), "vto:");
        assert_eq!(
            record_key("https://tryon.example"),
            "vto:https://tryon.example"
        );
        let loader = include_str!("../www/loader.js");
        assert!(
            loader.contains("\"vto-shopper:\""),
            "the loader reads the token under the same key"
        );
        assert_eq!(token_key("/apps/tryon"), "vto-shopper:/apps/tryon");
    }
}

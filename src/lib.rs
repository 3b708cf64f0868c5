//! The embeddable virtual try-on widget: Leptos (CSR) components, the try-on flow and the proxy calls.
//!
//! The crate is a library so that browser tests can mount single components; the trunk
//! bundle is the thin binary in `main.rs`, which only calls [`mount_all`]. Everything also
//! compiles natively (the workspace runs clippy and the unit tests natively); browser APIs
//! are only *called* in the browser.

pub mod api;
pub mod config;
pub mod error_view;
pub mod flow;
pub mod i18n;
pub mod photo;
pub mod problem;
pub mod status_view;
pub mod tryon_dialog;
pub mod widget;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

pub use config::WidgetConfig;
pub use widget::TryOnWidget;

/// The elements the widget mounts into: the conventional id, or any element marked with
/// `data-tryon-root` when a page shows several products.
pub const ROOT_SELECTOR: &str = "#tryon-root, [data-tryon-root]";

/// Mounts one widget into every root element of the page, each configured by its own
/// `data-*` attributes. The widgets live as long as the page.
pub fn mount_all() {
    console_error_panic_hook::set_once();
    let Some(document) = web_sys::window().and_then(|window| window.document()) else {
        return;
    };
    let Ok(roots) = document.query_selector_all(ROOT_SELECTOR) else {
        return;
    };
    for index in 0..roots.length() {
        let Some(root) = roots
            .item(index)
            .and_then(|node| node.dyn_into::<web_sys::HtmlElement>().ok())
        else {
            continue;
        };
        let config = WidgetConfig::from_element(&root);
        leptos::mount::mount_to(root, move || view! { <TryOnWidget config /> }).forget();
    }
}

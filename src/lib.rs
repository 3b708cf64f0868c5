//! The embeddable virtual try-on widget: Leptos (CSR) components, the try-on flow and the proxy calls.
//!
//! The page loads only `www/loader.js`, which defines `<virtual-tryon>` and draws its
//! button in a shadow root. On the first tap the loader imports the trunk bundle and calls
//! the binary's exported `mount`, which lands in [`mount_in_shadow`]: the dialog is
//! mounted into the same shadow root, so the shop's CSS cannot reach it and its CSS cannot
//! reach the shop. The crate is a library so that browser tests can mount single
//! components; everything also compiles natively (clippy and the unit tests run natively);
//! browser APIs are only *called* in the browser.

pub mod api;
pub mod body;
pub mod clock;
pub mod config;
pub mod error_view;
pub mod events;
pub mod flow;
pub mod focus;
pub mod i18n;
pub mod js_object;
pub mod looks;
pub mod mode;
pub mod offer;
pub mod photo;
pub mod photo_picker;
pub mod problem;
pub mod remembered;
pub mod result_view;
pub mod slot;
pub mod status_view;
pub mod tryon_dialog;
pub mod widget;

use leptos::either::Either;
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

pub use config::WidgetConfig;
pub use widget::TryOnWidget;

/// Mounts the widget of `host` into its `shadow` root, open, and answers the signal that
/// opens it again. `opener` is the loader's button, `asset_base` where the bundle's files
/// live, `shopper_token` what the proxy's status answer issued (empty: none), and
/// `capabilities` the proxy's capabilities answer as the loader parsed it (`null` when
/// the call failed: then everything is offered, as before upstreams could differ).
pub fn mount_in_shadow(
    host: web_sys::HtmlElement,
    shadow: web_sys::ShadowRoot,
    opener: Option<web_sys::HtmlElement>,
    asset_base: String,
    shopper_token: String,
    capabilities: &JsValue,
) -> Result<RwSignal<bool>, JsValue> {
    let mut config = WidgetConfig::from_element(&host);
    config.asset_base = asset_base;
    config.shopper_token = Some(shopper_token).filter(|token| !token.is_empty());
    config.offer = offer::Offer::from_js(capabilities).unwrap_or_default();
    let document = web_sys::window()
        .and_then(|window| window.document())
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let container: web_sys::HtmlElement = document.create_element("div")?.unchecked_into();
    container.set_class_name("vto-root");
    shadow.append_child(&container)?;
    let open = RwSignal::new(true);
    let host: web_sys::EventTarget = host.into();
    leptos::mount::mount_to(container, move || match opener {
        Some(opener) => Either::Left(view! { <TryOnWidget config open host opener /> }),
        None => Either::Right(view! { <TryOnWidget config open host /> }),
    })
    .forget();
    Ok(open)
}

//! The trunk entry point: exports `mount` for the loader (`www/loader.js`), and mounts nothing by itself.
//!
//! The product page pays for the bundle only after the first tap: the loader imports it,
//! initialises it and calls `mount` with the `<virtual-tryon>` element it belongs to.

#[cfg(target_arch = "wasm32")]
mod exports {
    use leptos::prelude::*;
    use wasm_bindgen::prelude::*;

    /// A mounted widget; the loader keeps it to reopen the dialog on later taps.
    #[wasm_bindgen]
    pub struct WidgetHandle {
        open: RwSignal<bool>,
    }

    #[wasm_bindgen]
    impl WidgetHandle {
        /// Opens the dialog again.
        pub fn open(&self) {
            self.open.set(true);
        }
    }

    /// Mounts the dialog of `host` into `shadow`, already open, offering what
    /// `capabilities` (the proxy's answer, or `null`) says the upstream can do.
    #[wasm_bindgen]
    pub fn mount(
        host: web_sys::HtmlElement,
        shadow: web_sys::ShadowRoot,
        opener: web_sys::HtmlElement,
        asset_base: String,
        shopper_token: String,
        capabilities: JsValue,
    ) -> Result<WidgetHandle, JsValue> {
        tryon_widget::mount_in_shadow(
            host,
            shadow,
            Some(opener),
            asset_base,
            shopper_token,
            &capabilities,
        )
        .map(|open| WidgetHandle { open })
    }
}

fn main() {
    // Nothing mounts on load: the loader calls `mount` when the shopper taps. A panic (a
    // bug) still says in the console what went wrong, besides the browser's own error for
    // the trap, which carries the stack.
    #[cfg(target_arch = "wasm32")]
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
    }));
}

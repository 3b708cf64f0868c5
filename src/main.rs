//! The trunk entry point: mounts the widget into the page, nothing else.

fn main() {
    // Natively there is no page to mount into; the binary exists for the browser bundle.
    #[cfg(target_arch = "wasm32")]
    tryon_widget::mount_all();
}

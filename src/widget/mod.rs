//! The widget inside its host element: the dialog while open, the host's button kept in step with it.
//!
//! The "Try it on" button itself belongs to the loader (`www/loader.js`), which draws it
//! before any WebAssembly exists; this component only needs to know whether the dialog
//! is open, and which button to give focus back to when it closes.

use leptos::html;
use leptos::prelude::*;

use crate::clock::Clock;
use crate::config::WidgetConfig;
use crate::events::{Emitter, name};
use crate::tryon_dialog::TryOnDialog;

/// The dialog of one `<virtual-tryon>` element, shown while `open` is true.
#[component]
pub fn TryOnWidget(
    /// The widget's settings, usually read from the host element's attributes.
    config: WidgetConfig,
    /// Whether the dialog is open; the loader sets it on every tap.
    open: RwSignal<bool>,
    /// The host element, which receives the widget's events.
    #[prop(optional)]
    host: Option<web_sys::EventTarget>,
    /// The button that opened the dialog: it gets `aria-expanded` and, on close, the focus.
    #[prop(optional)]
    opener: Option<web_sys::HtmlElement>,
    /// The clock the dialog's try-ons run on: the browser's, unless a test drives one.
    #[prop(optional)]
    clock: Clock,
) -> impl IntoView {
    let opener = StoredValue::new_local(opener);
    let emitter = StoredValue::new_local(Emitter::new(host.clone(), &config.product_id));
    let host = StoredValue::new_local(host);
    let clock = StoredValue::new_local(clock);
    Effect::new(move |_| {
        let expanded = if open.get() { "true" } else { "false" };
        opener.with_value(|opener| {
            if let Some(button) = opener {
                let _ = button.set_attribute("aria-expanded", expanded);
            }
        });
    });
    let on_close = Callback::new(move |()| {
        open.set(false);
        emitter.with_value(|emitter| emitter.emit(name::CLOSE, &[]));
        // Focus returns to the button that opened the dialog, as a modal dialog requires.
        opener.with_value(|opener| {
            if let Some(button) = opener {
                let _ = button.focus();
            }
        });
    });
    // The dialog is mounted into its slot by hand when `open` turns true, and unmounted
    // (its signals disposed with it) when it turns false; a tap while it is open (the
    // loader sets `open` on every tap) leaves it as it is. Drawn by a reactive view
    // instead (`Show`, or a closure), the dialog would also carry the code to redraw its
    // whole tree in place, which it never does: the largest part of the bundle.
    let is_open = Memo::new(move |_| open.get());
    let slot = NodeRef::<html::Div>::new();
    let mounted = StoredValue::new_local(None::<Box<dyn std::any::Any>>);
    Effect::new(move |_| {
        let open = is_open.get();
        let Some(slot) = slot.get() else {
            return;
        };
        // The old dialog goes first, so two never stand in the slot together.
        mounted.set_value(None);
        if open {
            let config = config.clone();
            let dialog = leptos::mount::mount_to(slot.into(), move || {
                view! {
                    <TryOnDialog config on_close host=host.get_value() clock=clock.get_value() />
                }
            });
            mounted.set_value(Some(Box::new(dialog)));
        }
    });
    view! { <div class="vto-slot" node_ref=slot></div> }
}

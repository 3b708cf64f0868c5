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
use crate::slot::mount_in_slot;
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
    // The dialog is mounted into its slot when `open` turns true, and unmounted (its
    // signals disposed with it) when it turns false; a tap while it is open (the loader
    // sets `open` on every tap) leaves it as it is. See `slot` for why by hand.
    let is_open = Memo::new(move |_| open.get());
    let dialog_slot = NodeRef::<html::Div>::new();
    mount_in_slot(dialog_slot, is_open, move |open| {
        open.then(|| {
            view! {
                <TryOnDialog
                    config=config.clone()
                    on_close
                    host=host.get_value()
                    clock=clock.get_value()
                />
            }
        })
    });
    view! { <div class="vto-slot" node_ref=dialog_slot></div> }
}

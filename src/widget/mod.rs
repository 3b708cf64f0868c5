//! The widget as the product page shows it: a "Try it on" button that opens the try-on dialog.

use leptos::html;
use leptos::prelude::*;

use crate::config::WidgetConfig;
use crate::i18n;
use crate::tryon_dialog::TryOnDialog;

/// The button and, while open, the dialog.
#[component]
pub fn TryOnWidget(
    /// The widget's settings, usually read from the root element's attributes.
    config: WidgetConfig,
) -> impl IntoView {
    let texts = i18n::texts(config.locale);
    let open = RwSignal::new(false);
    let button_ref = NodeRef::<html::Button>::new();
    let on_close = Callback::new(move |()| {
        open.set(false);
        // Focus returns to the button that opened the dialog, as a modal dialog requires.
        if let Some(button) = button_ref.get_untracked() {
            let _ = button.focus();
        }
    });
    view! {
        <div class="vto-widget">
            <button
                type="button"
                class="vto-open"
                aria-haspopup="dialog"
                aria-expanded=move || if open.get() { "true" } else { "false" }
                node_ref=button_ref
                on:click=move |_| open.set(true)
            >
                {texts.try_it_on}
            </button>
            <Show when=move || open.get()>
                <TryOnDialog config=config.clone() on_close />
            </Show>
        </div>
    }
}

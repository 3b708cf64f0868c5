//! The photo field of the dialog: file, drop, camera or sample model; the photo guidance; the consent line with "Remember my photo on this shop"; a remembered photo with its "Forget my photo".
//!
//! The field only shows and asks: what a chosen photo means for the try-on (checking it,
//! remembering it, forgetting it on the proxy) is the dialog's, through the callbacks.

use leptos::ev::DragEvent;
use leptos::html;
use leptos::prelude::*;
use tryon_api::Locale;
use wasm_bindgen::JsCast;

use crate::i18n;

/// The sample models offered when the shopper has no photo at hand: files next to the
/// bundle (`index.html` copies them from `www/samples/`), in one flat folder as a Shopify
/// theme app extension's assets must be.
pub const SAMPLE_MODELS: [&str; 2] = ["person-1", "person-2"];

/// The ids the field's elements carry, unique per dialog, which the dialog refers to too.
#[derive(Debug, Clone)]
pub struct PickerIds {
    pub input: String,
    pub hint: String,
    pub consent: String,
    pub remember: String,
}

/// The photo field.
#[component]
pub fn PhotoPicker(
    /// The language of the text.
    locale: Locale,
    /// The ids of the field's elements.
    ids: PickerIds,
    /// The `accept` attribute of the file inputs: the formats the upstream takes.
    accept: String,
    /// Whether a try-on runs, which locks the choice.
    #[prop(into)]
    busy: Signal<bool>,
    /// Where the bundle's files live, when the sample models are offered.
    samples: Option<String>,
    /// Where the guidance's pictures live.
    tips_base: String,
    /// What the consent line says about how long the photo is kept.
    retention_hours: u32,
    /// The chosen photo's preview (an object URL, or a remembered photo's thumbnail).
    preview: RwSignal<Option<String>>,
    /// Whether the chosen photo is the remembered one.
    #[prop(into)]
    saved: Signal<bool>,
    /// Whether the shopper asked to remember their photo on this shop.
    remember: RwSignal<bool>,
    /// A sentence about the remembered photo (forgotten, no longer kept), when there is one.
    notice: RwSignal<Option<&'static str>>,
    /// The file input, which the dialog focuses for "Try another photo".
    input_ref: NodeRef<html::Input>,
    /// A file was chosen, dropped or taken: the file and how (`file`, `drop`, `camera`).
    #[prop(into)]
    on_file: Callback<(web_sys::Blob, &'static str)>,
    /// A sample model was picked, by name.
    #[prop(into)]
    on_sample: Callback<&'static str>,
    /// The remember checkbox changed to the given state.
    #[prop(into)]
    on_remember: Callback<bool>,
    /// "Forget my photo" was pressed.
    #[prop(into)]
    on_forget: Callback<()>,
) -> impl IntoView {
    let texts = i18n::texts(locale);
    let from_input = move |source: &'static str| {
        move |event: leptos::ev::Event| {
            let input: web_sys::HtmlInputElement = event_target(&event);
            if let Some(file) = input.files().and_then(|files| files.get(0)) {
                on_file.run((file.into(), source));
            }
        }
    };
    let on_drop = move |event: DragEvent| {
        event.prevent_default();
        highlight_drop_zone(&event, false);
        let file = event
            .data_transfer()
            .and_then(|transfer| transfer.files())
            .and_then(|files| files.get(0));
        if let Some(file) = file {
            on_file.run((file.into(), "drop"));
        }
    };
    let PickerIds {
        input: input_id,
        hint: hint_id,
        consent: consent_id,
        remember: remember_id,
    } = ids;
    // The view macro may evaluate attributes in any order, so every second use of an id
    // gets its own copy up front.
    let label_for = input_id.clone();
    let remember_for = remember_id.clone();
    let described_by = [hint_id.as_str(), " ", consent_id.as_str()].concat();
    let camera_accept = accept.clone();
    view! {
        <div class="vto-field">
            <label class="vto-label" for=label_for>
                {texts.your_photo}
            </label>
            <div
                class="vto-drop"
                on:dragover=|event: DragEvent| {
                    event.prevent_default();
                    highlight_drop_zone(&event, true);
                }
                on:dragleave=|event: DragEvent| highlight_drop_zone(&event, false)
                on:drop=on_drop
            >
                <input
                    class="vto-file"
                    id=input_id
                    type="file"
                    accept=accept
                    aria-describedby=described_by
                    node_ref=input_ref
                    on:change=from_input("file")
                />
                <span class="vto-drop-text">{texts.drop_here}</span>
                {move || {
                    preview
                        .get()
                        .map(|src| {
                            let alt = if saved.get() { texts.saved_photo } else { texts.chosen_alt };
                            view! { <img class="vto-chosen" src=src alt=alt /> }
                        })
                }}
            </div>
            <p class="vto-saved" hidden=move || !saved.get()>
                <span>{texts.saved_photo}</span>
                <button
                    type="button"
                    class="vto-forget"
                    disabled=busy
                    on:click=move |_| on_forget.run(())
                >
                    {texts.forget_photo}
                </button>
            </p>
            <p class="vto-notice" role="status">
                {move || notice.get()}
            </p>
            <label class="vto-camera">
                <input
                    class="vto-camera-input"
                    type="file"
                    accept=camera_accept
                    capture="environment"
                    on:change=from_input("camera")
                />
                <span>{texts.take_photo}</span>
            </label>
            <p class="vto-hint" id=hint_id>
                {texts.photo_hint}
            </p>
            <details class="vto-tips">
                <summary>{texts.tips_summary}</summary>
                <ul class="vto-tips-list">
                    <li class="vto-tip vto-tip-good">
                        <img src=[tips_base.as_str(), "person-1.jpg"].concat() alt="" />
                        <span>{texts.tip_good}</span>
                    </li>
                    <li class="vto-tip vto-tip-bad">
                        <img src=[tips_base.as_str(), "person-two.jpg"].concat() alt="" />
                        <span>{texts.tip_bad_group}</span>
                    </li>
                    <li class="vto-tip vto-tip-bad">
                        <img src=[tips_base.as_str(), "person-tiny.png"].concat() alt="" />
                        <span>{texts.tip_bad_small}</span>
                    </li>
                </ul>
            </details>
            {samples
                .map(|base| {
                    view! {
                        <fieldset class="vto-samples">
                            <legend class="vto-samples-legend">{texts.samples_legend}</legend>
                            {SAMPLE_MODELS
                                .iter()
                                .enumerate()
                                .map(|(index, &sample)| {
                                    view! {
                                        <button
                                            type="button"
                                            class="vto-sample"
                                            data-sample=sample
                                            aria-label=i18n::sample_label(locale, index + 1)
                                            disabled=busy
                                            on:click=move |_| on_sample.run(sample)
                                        >
                                            <img src=[base.as_str(), sample, ".jpg"].concat() alt="" />
                                        </button>
                                    }
                                })
                                .collect_view()}
                        </fieldset>
                    }
                })}
            <p class="vto-consent" id=consent_id>
                {i18n::consent(locale, retention_hours)}
            </p>
            <label class="vto-remember" for=remember_for>
                <input
                    type="checkbox"
                    id=remember_id
                    class="vto-remember-input"
                    prop:checked=move || remember.get()
                    on:change=move |event| on_remember.run(event_target_checked(&event))
                />
                {texts.remember_photo}
            </label>
        </div>
    }
}

/// Shows whether a file dragged over the drop zone would land in it. The class is set on
/// the zone itself by its drag events: a class bound to a signal would cost the bundle
/// more than these few lines.
fn highlight_drop_zone(event: &DragEvent, on: bool) {
    let zone = event
        .current_target()
        .and_then(|target| target.dyn_into::<web_sys::Element>().ok());
    if let Some(zone) = zone {
        let _ = zone.class_list().toggle_with_force("vto-drop-active", on);
    }
}

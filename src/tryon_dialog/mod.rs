//! The try-on dialog: choose a photo, see the garment, press "Generate", watch the stages, get the picture.

use std::sync::atomic::{AtomicU32, Ordering};

use gloo_timers::future::TimeoutFuture;
use leptos::ev::{KeyboardEvent, MouseEvent, SubmitEvent};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::config::WidgetConfig;
use crate::error_view::ErrorView;
use crate::flow::{self, Phase};
use crate::i18n;
use crate::photo;
use crate::problem::Problem;
use crate::status_view::StatusView;

/// Makes element ids unique when a page holds several widgets.
static NEXT_DIALOG: AtomicU32 = AtomicU32::new(0);

/// The modal dialog of one widget. It owns the running try-on: closing the dialog
/// disposes its signals, which tells the flow and the clock to stop.
#[component]
pub fn TryOnDialog(
    /// The widget's settings.
    config: WidgetConfig,
    /// Called when the shopper closes the dialog (close button, Escape, or the backdrop when idle).
    #[prop(into)]
    on_close: Callback<()>,
) -> impl IntoView {
    let locale = config.locale;
    let texts = i18n::texts(locale);
    let n = NEXT_DIALOG.fetch_add(1, Ordering::Relaxed);
    let title_id = format!("vto-title-{n}");
    let input_id = format!("vto-photo-{n}");
    let hint_id = format!("vto-photo-hint-{n}");

    let phase = RwSignal::new(Phase::Idle);
    let elapsed = RwSignal::new(0_u32);
    // Each "Generate" gets a number; a run stops as soon as it is no longer the latest,
    // or as soon as this signal is disposed with the dialog.
    let run_number = RwSignal::new(0_u32);
    let input_ref = NodeRef::<html::Input>::new();
    let close_ref = NodeRef::<html::Button>::new();
    let dialog_ref = NodeRef::<html::Div>::new();

    // Focus moves into the dialog when it opens, as a modal dialog requires.
    Effect::new(move |_| {
        if let Some(button) = close_ref.get() {
            let _ = button.focus();
        }
    });

    let chosen_file = move || {
        input_ref
            .get_untracked()
            .and_then(|input| input.files())
            .and_then(|files| files.get(0))
    };

    // The size is checked as soon as a file is chosen, so a wrong file is reported before
    // the shopper waits for anything.
    let on_change = move |_| {
        if phase.with_untracked(Phase::is_busy) {
            return;
        }
        match chosen_file().map(|file| photo::check_file(&file)) {
            Some(Err(violation)) => phase.set(Phase::Failed(Problem::Photo(violation))),
            _ => phase.set(Phase::Idle),
        }
    };

    let job = config.job();
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if phase.with_untracked(Phase::is_busy) {
            return;
        }
        let Some(file) = chosen_file() else {
            phase.set(Phase::Failed(Problem::NoPhoto));
            return;
        };
        let number = run_number.get_untracked().wrapping_add(1);
        run_number.set(number);
        elapsed.set(0);
        let alive = move || run_number.try_get_untracked() == Some(number);
        let report = move |next: Phase| {
            if alive() {
                phase.set(next);
            }
        };
        let job = job.clone();
        spawn_local(async move {
            flow::run(&job, &file, &report, &alive).await;
        });
        spawn_local(clock(phase, elapsed, alive));
    };

    let on_keydown = move |event: KeyboardEvent| match event.key().as_str() {
        "Escape" => on_close.run(()),
        "Tab" => {
            if let Some(dialog) = dialog_ref.get_untracked() {
                keep_focus_inside(&dialog, &event);
            }
        }
        _ => {}
    };
    let on_backdrop = move |event: MouseEvent| {
        // Only a click on the backdrop itself closes (clicks inside the dialog bubble here
        // too), and never while a try-on runs: a stray click must not lose a paid picture.
        if event.target() == event.current_target() && !phase.with_untracked(Phase::is_busy) {
            on_close.run(());
        }
    };

    let busy = move || phase.with(Phase::is_busy);
    let outcome = move || match phase.get() {
        Phase::Done { image_url } => Some(
            view! {
                <figure class="vto-result">
                    <img class="vto-result-img" src=image_url alt=texts.result_alt />
                    <figcaption>{texts.result_caption}</figcaption>
                </figure>
            }
            .into_any(),
        ),
        Phase::Failed(problem) => Some(view! { <ErrorView locale problem /> }.into_any()),
        _ => None,
    };
    let garment = config
        .garments
        .top
        .clone()
        .or_else(|| config.garments.bottom.clone());
    let product_name = config.product_name.clone();
    // The view macro may evaluate attributes in any order, so every second use of an id
    // gets its own copy up front.
    let (labelled_by, label_for, described_by) =
        (title_id.clone(), input_id.clone(), hint_id.clone());

    view! {
        <div class="vto-backdrop" on:click=on_backdrop>
            <div
                class="vto-dialog"
                role="dialog"
                aria-modal="true"
                aria-labelledby=labelled_by
                node_ref=dialog_ref
                on:keydown=on_keydown
            >
                <header class="vto-header">
                    <h2 class="vto-title" id=title_id>
                        {texts.dialog_title}
                    </h2>
                    <button
                        type="button"
                        class="vto-close"
                        aria-label=texts.close
                        node_ref=close_ref
                        on:click=move |_| on_close.run(())
                    >
                        "×"
                    </button>
                </header>
                <form class="vto-form" on:submit=on_submit>
                    {garment
                        .map(|src| {
                            view! {
                                <figure class="vto-garment">
                                    <img class="vto-garment-img" src=src alt=product_name.clone() />
                                    <figcaption>
                                        {texts.garment_caption} " " <strong>{product_name}</strong>
                                    </figcaption>
                                </figure>
                            }
                        })}
                    <div class="vto-field">
                        <label class="vto-label" for=label_for>
                            {texts.your_photo}
                        </label>
                        <input
                            class="vto-file"
                            id=input_id
                            type="file"
                            accept="image/*"
                            aria-describedby=described_by
                            node_ref=input_ref
                            on:change=on_change
                        />
                        <p class="vto-hint" id=hint_id>
                            {texts.photo_hint}
                        </p>
                    </div>
                    <button type="submit" class="vto-generate" disabled=busy>
                        {texts.generate}
                    </button>
                </form>
                <StatusView locale phase elapsed />
                {outcome}
            </div>
        </div>
    }
}

/// What Tab can land on inside the dialog.
const FOCUSABLE: &str =
    "button:not([disabled]), input:not([disabled]), a[href], [tabindex]:not([tabindex='-1'])";

/// Wraps Tab from the last focusable element to the first and Shift+Tab the other way,
/// so keyboard focus cannot wander onto the page behind a modal dialog.
fn keep_focus_inside(dialog: &web_sys::Element, event: &KeyboardEvent) {
    let Ok(focusable) = dialog.query_selector_all(FOCUSABLE) else {
        return;
    };
    let count = focusable.length();
    let (Some(first), Some(last)) = (
        focusable.item(0),
        count.checked_sub(1).and_then(|index| focusable.item(index)),
    ) else {
        return;
    };
    let active: Option<web_sys::Node> = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.active_element())
        .map(Into::into);
    let inside = active
        .as_ref()
        .is_some_and(|node| dialog.contains(Some(node)));
    let target = match (event.shift_key(), active) {
        (true, Some(node)) if node == first => Some(last),
        (false, Some(node)) if node == last => Some(first),
        // Focus that somehow left the dialog is brought back to its start.
        _ if !inside => Some(first),
        _ => None,
    };
    if let Some(element) = target.and_then(|node| node.dyn_into::<web_sys::HtmlElement>().ok()) {
        event.prevent_default();
        let _ = element.focus();
    }
}

/// Counts the seconds of one run while it is busy, once a second.
async fn clock(phase: RwSignal<Phase>, elapsed: RwSignal<u32>, alive: impl Fn() -> bool) {
    let started_ms = js_sys::Date::now();
    loop {
        TimeoutFuture::new(1_000).await;
        let busy = phase.try_with_untracked(Phase::is_busy).unwrap_or(false);
        if !alive() || !busy {
            return;
        }
        elapsed.set(((js_sys::Date::now() - started_ms) / 1_000.0) as u32);
    }
}

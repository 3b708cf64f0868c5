//! The status view: the current step and the seconds waited, in a polite live region.

use leptos::prelude::*;
use tryon_api::Locale;
use tryon_api::status::Stage;

use crate::flow::Phase;
use crate::i18n;

/// The waiting stages a shopper sees in order, for the step list.
const STEPS: [Stage; 4] = [
    Stage::Queued,
    Stage::Preparing,
    Stage::Generating,
    Stage::Finishing,
];

/// Shows where a running try-on stands. Renders its live region even when idle, because
/// screen readers only announce changes in a region that already existed.
#[component]
pub fn StatusView(
    /// The language of the text.
    locale: Locale,
    /// Where the try-on stands.
    #[prop(into)]
    phase: Signal<Phase>,
    /// Seconds since "Generate" was pressed.
    #[prop(into)]
    elapsed: Signal<u32>,
) -> impl IntoView {
    let headline = move || phase.with(|phase| headline(locale, phase));
    let stage = move || {
        phase.with(|phase| match phase {
            Phase::Waiting { status, .. } => Some(status.stage()),
            _ => None,
        })
    };
    let queue = move || {
        phase.with(|phase| match phase {
            Phase::Waiting {
                queue_position: Some(ahead),
                ..
            } if *ahead > 0 => Some(i18n::queue_position(locale, *ahead)),
            _ => None,
        })
    };
    let busy = move || phase.with(Phase::is_busy);
    view! {
        <div class="vto-status">
            <div class="vto-status-live" role="status" aria-live="polite">
                <p class="vto-status-stage">{headline}</p>
                <Show when=busy>
                    <p class="vto-status-elapsed">{move || i18n::elapsed(locale, elapsed.get())}</p>
                </Show>
                {move || queue().map(|text| view! { <p class="vto-status-queue">{text}</p> })}
            </div>
            <Show when=move || stage().is_some()>
                // The step list repeats the headline visually, so it stays out of the live
                // region and is hidden from screen readers.
                <ol class="vto-steps" aria-hidden="true">
                    {STEPS
                        .into_iter()
                        .map(|step| {
                            view! {
                                <li
                                    class="vto-step"
                                    class:vto-step-current=move || stage() == Some(step)
                                    class:vto-step-done=move || {
                                        stage().is_some_and(|now| step_index(step) < step_index(now))
                                    }
                                >
                                    {i18n::stage_label(locale, step)}
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            </Show>
        </div>
    }
}

/// The one line that says where things stand, or nothing when idle or finished.
fn headline(locale: Locale, phase: &Phase) -> &'static str {
    let texts = i18n::texts(locale);
    match phase {
        Phase::Preparing => texts.preparing_photo,
        Phase::Uploading => texts.uploading,
        Phase::Starting => texts.starting,
        Phase::Waiting { status, .. } => i18n::stage_label(locale, status.stage()),
        Phase::Idle | Phase::Done { .. } | Phase::Failed(_) => "",
    }
}

/// The position of a stage in the shopper's sequence; later stages have higher numbers.
fn step_index(stage: Stage) -> usize {
    STEPS
        .iter()
        .position(|step| *step == stage)
        .unwrap_or(STEPS.len())
}

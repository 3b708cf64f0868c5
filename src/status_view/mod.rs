//! The status view: the current step in a polite live region, and beside it the queue, the time waited and an estimate.

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
/// screen readers only announce changes in a region that already existed. Only the stage
/// line is live: the clock and the estimate change every second and would drown it.
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
    let ahead = move || {
        phase.with(|phase| match phase {
            Phase::Waiting {
                queue_position: Some(ahead),
                ..
            } => *ahead,
            _ => 0,
        })
    };
    let busy = move || phase.with(Phase::is_busy);
    view! {
        <div class="vto-status">
            <div class="vto-status-live" role="status" aria-live="polite">
                <p class="vto-status-stage">{headline}</p>
            </div>
            {move || {
                (ahead() > 0)
                    .then(|| {
                        view! {
                            <p class="vto-status-queue">{i18n::queue_position(locale, ahead())}</p>
                        }
                    })
            }}
            <Show when=busy>
                <p class="vto-status-time">
                    <span class="vto-status-elapsed">{move || i18n::elapsed(locale, elapsed.get())}</span>
                    " · "
                    <span class="vto-status-estimate">
                        {move || i18n::estimate(locale, elapsed.get(), ahead())}
                    </span>
                </p>
            </Show>
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

/// The one line that says where things stand: a step while busy, "ready" when done,
/// nothing when idle or failed (the error view is its own alert).
pub fn headline(locale: Locale, phase: &Phase) -> &'static str {
    let texts = i18n::texts(locale);
    match phase {
        Phase::Preparing => texts.preparing_photo,
        Phase::Uploading => texts.uploading,
        Phase::Segmenting => texts.segmenting,
        Phase::Starting => texts.starting,
        Phase::Waiting { status, .. } => i18n::stage_label(locale, status.stage()),
        Phase::Done { .. } => texts.ready,
        Phase::Idle | Phase::Failed(_) => "",
    }
}

/// The position of a stage in the shopper's sequence; later stages have higher numbers.
fn step_index(stage: Stage) -> usize {
    STEPS
        .iter()
        .position(|step| *step == stage)
        .unwrap_or(STEPS.len())
}

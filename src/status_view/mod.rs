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
    phase: RwSignal<Phase>,
    /// Seconds since "Generate" was pressed.
    elapsed: RwSignal<u32>,
) -> impl IntoView {
    // Everything is drawn again from plain values whenever the phase or the seconds change
    // (a few elements, once a second): each reactive attribute, text or `Show` would be
    // code of its own in the bundle, and one drawing is far less. A drawing keeps the
    // elements and texts that did not change, so the live region is always the same
    // element and a headline that stays the same is not announced again.
    let status = move || {
        let seconds = elapsed.get();
        phase.with(|phase| {
            let (stage, ahead) = match phase {
                Phase::Waiting {
                    status,
                    queue_position,
                    ..
                } => (Some(status.stage()), queue_position.unwrap_or(0)),
                _ => (None, 0),
            };
            let queue = (ahead > 0).then(|| {
                view! { <p class="vto-status-queue">{i18n::queue_position(locale, ahead)}</p> }
            });
            let time = phase.is_busy().then(|| {
                view! {
                    <p class="vto-status-time">
                        <span class="vto-status-elapsed">{i18n::elapsed(locale, seconds)}</span>
                        " · "
                        <span class="vto-status-estimate">
                            {i18n::estimate(locale, seconds, ahead)}
                        </span>
                    </p>
                }
            });
            // The step list repeats the headline visually, so it stays out of the live
            // region and is hidden from screen readers.
            let steps = stage.map(|now| {
                let step = |index: usize| {
                    let class = match step_index(STEPS[index]).cmp(&step_index(now)) {
                        std::cmp::Ordering::Less => "vto-step vto-step-done",
                        std::cmp::Ordering::Equal => "vto-step vto-step-current",
                        std::cmp::Ordering::Greater => "vto-step",
                    };
                    view! { <li class=class>{i18n::stage_label(locale, STEPS[index])}</li> }
                };
                view! { <ol class="vto-steps" aria-hidden="true">{step(0)} {step(1)} {step(2)} {step(3)}</ol> }
            });
            let live = view! {
                <div class="vto-status-live" role="status" aria-live="polite">
                    <p class="vto-status-stage">{headline(locale, phase)}</p>
                </div>
            };
            (live, queue, time, steps)
        })
    };
    view! { <div class="vto-status">{status}</div> }
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

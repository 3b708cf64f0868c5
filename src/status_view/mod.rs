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
    // One effect marks the current and the finished steps. A reactive class on every step
    // would do the same, but each reactive attribute is code of its own in the bundle.
    let steps = NodeRef::<leptos::html::Ol>::new();
    Effect::new(move |_| {
        let now = stage();
        let Some(list) = steps.get() else {
            return;
        };
        let items = list.children();
        for (index, step) in STEPS.into_iter().enumerate() {
            if let Some(item) = items.item(index as u32) {
                let classes = item.class_list();
                let _ = classes.toggle_with_force("vto-step-current", now == Some(step));
                let done = now.is_some_and(|now| step_index(step) < step_index(now));
                let _ = classes.toggle_with_force("vto-step-done", done);
            }
        }
    });
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
                <ol class="vto-steps" aria-hidden="true" node_ref=steps>
                    <li class="vto-step">{i18n::stage_label(locale, STEPS[0])}</li>
                    <li class="vto-step">{i18n::stage_label(locale, STEPS[1])}</li>
                    <li class="vto-step">{i18n::stage_label(locale, STEPS[2])}</li>
                    <li class="vto-step">{i18n::stage_label(locale, STEPS[3])}</li>
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

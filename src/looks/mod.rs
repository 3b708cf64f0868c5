//! "My looks": every result of the visit (and of the retention period when the photo is remembered), each with its product's name; one is picked to be shown large, two are ticked to be put side by side.

use leptos::prelude::*;
use tryon_api::Locale;

use crate::i18n;
use crate::remembered::Look;

/// How many looks can be compared at once: side by side is two.
pub const COMPARED_AT_ONCE: usize = 2;

/// The list of looks, drawn only once there is one.
#[component]
pub fn MyLooks(
    /// The language of the text.
    locale: Locale,
    /// The looks, newest first.
    looks: RwSignal<Vec<Look>>,
    /// The look shown large in the result area.
    shown: RwSignal<Option<Look>>,
    /// Called when the shopper picks a look to show large.
    #[prop(into)]
    on_show: Callback<Look>,
    /// The heading's id, which names the region.
    title_id: String,
) -> impl IntoView {
    let texts = i18n::texts(locale);
    // The task ids ticked for comparison, oldest tick first.
    let compared = RwSignal::new(Vec::<String>::new());
    let toggle = move |task_id: String, on: bool| {
        compared.update(|ticked| {
            ticked.retain(|id| *id != task_id);
            if on {
                ticked.push(task_id);
                // A third tick replaces the oldest, so that two always stand side by side.
                if ticked.len() > COMPARED_AT_ONCE {
                    ticked.remove(0);
                }
            }
        });
    };
    let side_by_side = move || {
        let ticked = compared.get();
        let pair: Vec<Look> = looks.with(|looks| {
            ticked
                .iter()
                .filter_map(|id| looks.iter().find(|look| look.task_id == *id).cloned())
                .collect()
        });
        (pair.len() == COMPARED_AT_ONCE).then(|| {
            view! {
                <div class="vto-side-by-side" role="group" aria-label=texts.side_by_side>
                    {pair
                        .into_iter()
                        .map(|look| {
                            view! {
                                <figure class="vto-side">
                                    <img src=look.image_url alt=look.product_name.clone() />
                                    <figcaption>{look.product_name}</figcaption>
                                </figure>
                            }
                        })
                        .collect_view()}
                </div>
            }
        })
    };
    let labelled_by = title_id.clone();
    view! {
        <Show when=move || looks.with(|looks| !looks.is_empty())>
            <section class="vto-looks" aria-labelledby=labelled_by.clone()>
                <h3 class="vto-looks-title" id=title_id.clone()>
                    {texts.my_looks}
                </h3>
                <Show when=move || looks.with(|looks| looks.len() >= COMPARED_AT_ONCE)>
                    <p class="vto-hint">{texts.compare_hint}</p>
                </Show>
                <ul class="vto-looks-list">
                    <For
                        each=move || looks.get()
                        key=|look| look.task_id.clone()
                        children=move |look: Look| {
                            let task_id = look.task_id.clone();
                            let (is_shown, is_ticked, tick) = (
                                task_id.clone(),
                                task_id.clone(),
                                task_id,
                            );
                            let showing = Signal::derive(move || {
                                shown.with(|shown| {
                                    shown.as_ref().is_some_and(|look| look.task_id == is_shown)
                                })
                            });
                            let chosen = look.clone();
                            view! {
                                <li class="vto-look" class:vto-look-shown=showing>
                                    <button
                                        type="button"
                                        class="vto-look-show"
                                        aria-pressed=move || if showing.get() { "true" } else { "false" }
                                        on:click=move |_| on_show.run(chosen.clone())
                                    >
                                        <img src=look.image_url alt="" />
                                        <span class="vto-look-name">{look.product_name}</span>
                                    </button>
                                    <label class="vto-look-compare">
                                        <input
                                            type="checkbox"
                                            prop:checked=move || {
                                                compared.with(|ticked| ticked.contains(&is_ticked))
                                            }
                                            on:change=move |event| {
                                                toggle(tick.clone(), event_target_checked(&event))
                                            }
                                        />
                                        {texts.compare}
                                    </label>
                                </li>
                            }
                        }
                    />
                </ul>
                {side_by_side}
            </section>
        </Show>
    }
}

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
    // The hint, the list and the pair side by side are drawn again from plain values
    // whenever the looks, the one shown or the ticks change: a handful of items, and one
    // drawing of plain values costs the bundle far less than a keyed list with reactive
    // attributes on every item. The same elements are kept from one drawing to the next,
    // so a ticked checkbox keeps its focus; picking a look moves the focus to the result.
    let content = move || {
        let shown_id = shown.with(|shown| shown.as_ref().map(|look| look.task_id.clone()));
        let ticked = compared.get();
        looks.with(|looks| {
            let pair: Vec<Look> = ticked
                .iter()
                .filter_map(|id| looks.iter().find(|look| look.task_id == *id).cloned())
                .collect();
            let side_by_side = (pair.len() == COMPARED_AT_ONCE).then(|| {
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
            });
            let items = looks
                .iter()
                .cloned()
                .map(|look| {
                    let is_shown = shown_id.as_deref() == Some(look.task_id.as_str());
                    let is_ticked = ticked.contains(&look.task_id);
                    let tick = look.task_id.clone();
                    let (image_url, product_name) =
                        (look.image_url.clone(), look.product_name.clone());
                    view! {
                        <li class=if is_shown { "vto-look vto-look-shown" } else { "vto-look" }>
                            <button
                                type="button"
                                class="vto-look-show"
                                aria-pressed=if is_shown { "true" } else { "false" }
                                on:click=move |_| on_show.run(look.clone())
                            >
                                <img src=image_url alt="" />
                                <span class="vto-look-name">{product_name}</span>
                            </button>
                            <label class="vto-look-compare">
                                <input
                                    type="checkbox"
                                    prop:checked=is_ticked
                                    on:change=move |event| {
                                        toggle(tick.clone(), event_target_checked(&event))
                                    }
                                />
                                {texts.compare}
                            </label>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <p class="vto-looks-hint" hidden=looks.len() < COMPARED_AT_ONCE>
                    {texts.compare_hint}
                </p>
                <ul class="vto-looks-list">{items}</ul>
                {side_by_side}
            }
        })
    };
    // One fixed structure, hidden while it has nothing to show, rather than views that
    // come and go: that too keeps the bundle small.
    let labelled_by = title_id.clone();
    view! {
        <section
            class="vto-looks"
            aria-labelledby=labelled_by
            hidden=move || looks.with(Vec::is_empty)
        >
            <h3 class="vto-looks-title" id=title_id>
                {texts.my_looks}
            </h3>
            {content}
        </section>
    }
}

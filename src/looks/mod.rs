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
    // The list is drawn again whenever the looks or the one shown change: a handful of
    // items, and one drawing of plain values costs the bundle far less than a keyed list
    // with reactive attributes on every item. Picking a look moves the focus to the
    // result, so nothing focused is lost when the list is drawn again.
    let items = move || {
        let shown_id = shown.with(|shown| shown.as_ref().map(|look| look.task_id.clone()));
        looks
            .get()
            .into_iter()
            .map(|look| {
                let is_shown = shown_id.as_deref() == Some(look.task_id.as_str());
                let (is_ticked, tick) = (look.task_id.clone(), look.task_id.clone());
                let (image_url, product_name) = (look.image_url.clone(), look.product_name.clone());
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
                                prop:checked=move || compared.with(|ticked| ticked.contains(&is_ticked))
                                on:change=move |event| toggle(tick.clone(), event_target_checked(&event))
                            />
                            {texts.compare}
                        </label>
                    </li>
                }
            })
            .collect_view()
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
            <p class="vto-looks-hint" hidden=move || looks.with(|looks| looks.len() < COMPARED_AT_ONCE)>
                {texts.compare_hint}
            </p>
            <ul class="vto-looks-list">{items}</ul>
            {side_by_side}
        </section>
    }
}

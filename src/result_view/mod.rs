//! The result: one look large, the picture with a before/after slider, download, try another photo and add that look's product to the cart.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tryon_api::Locale;
use wasm_bindgen::JsCast;

use crate::events::{Emitter, Field, name};
use crate::focus::focused_heading;
use crate::i18n;
use crate::remembered::Look;

/// Shows one look large: the picture over the shopper's own photo, split by a slider,
/// with its download and an "Add to cart" for the look's own product.
#[component]
pub fn ResultView(
    /// The language of the text.
    locale: Locale,
    /// The look shown: the newest result, or one the shopper picked in "My looks".
    look: Look,
    /// Where events go.
    emitter: StoredValue<Emitter, LocalStorage>,
    /// Starts over with another photo.
    #[prop(into)]
    on_again: Callback<()>,
) -> impl IntoView {
    let Look {
        task_id,
        image_url,
        before_url,
        product_name,
        product_id,
        ..
    } = look;
    let texts = i18n::texts(locale);
    let added = RwSignal::new(false);
    let file_name = i18n::download_name(&product_name);
    let (download_href, task_for_download, task_for_cart) =
        (image_url.clone(), task_id.clone(), task_id);
    let download_name = file_name.clone();
    let on_download = move |event: leptos::ev::MouseEvent| {
        emitter.with_value(|emitter| {
            emitter.emit(
                name::DOWNLOAD,
                &[("taskId", Field::Text(&task_for_download))],
            )
        });
        // The picture may live on the proxy's origin, where `download` is ignored, so it is
        // fetched and saved from a local object URL; the plain link stays as the fallback.
        event.prevent_default();
        let (href, file_name) = (download_href.clone(), download_name.clone());
        spawn_local(async move {
            if save_as(&href, &file_name).await.is_err()
                && let Some(window) = web_sys::window()
            {
                let _ = window.open_with_url(&href);
            }
        });
    };
    // A look from "My looks" may be of another product than the dialog's: the event
    // names the look's own product, so the shop adds what the shopper sees.
    let on_cart = move |_| {
        added.set(true);
        emitter.with_value(|emitter| {
            emitter.emit(
                name::ADD_TO_CART,
                &[
                    ("taskId", Field::Text(&task_for_cart)),
                    ("productId", Field::Text(&product_id)),
                ],
            )
        });
    };
    // The result replaces the progress the focus was on, so the focus moves to the
    // result's heading as soon as it is drawn: a keyboard or screen reader user lands
    // on the picture, and Tab goes on to its actions. The heading takes focus from
    // script only (tabindex -1), so Tab never stops on it.
    let heading = focused_heading();
    view! {
        <h3 class="vto-result-title" tabindex="-1" node_ref=heading>
            {texts.result_title}
        </h3>
        <figure class="vto-result">
            <div class="vto-compare">
                <img
                    class="vto-result-img"
                    src=image_url.clone()
                    alt=texts.result_alt
                    on:load=reveal_on_load
                />
                <img class="vto-before-img" src=before_url alt=texts.before_alt />
                <span class="vto-compare-line" aria-hidden="true"></span>
                <input
                    class="vto-compare-range"
                    type="range"
                    min="0"
                    max="100"
                    value="50"
                    aria-label=texts.compare_label
                    on:input=move_split
                />
            </div>
            <figcaption>{texts.result_caption}</figcaption>
        </figure>
        <div class="vto-actions">
            <a class="vto-download" href=image_url download=file_name on:click=on_download>
                {texts.download}
            </a>
            <button type="button" class="vto-again" on:click=move |_| on_again.run(())>
                {texts.try_another}
            </button>
            <button type="button" class="vto-cart" on:click=on_cart>
                {texts.add_to_cart}
            </button>
        </div>
        <p class="vto-cart-note" role="status">
            {move || added.get().then_some(texts.added_to_cart)}
        </p>
    }
}

/// Downloads `href` and saves it under `file_name` through a temporary object URL.
async fn save_as(href: &str, file_name: &str) -> Result<(), ()> {
    let blob = crate::api::fetch_blob(href).await.ok_or(())?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| ())?;
    let document = web_sys::window()
        .and_then(|window| window.document())
        .ok_or(())?;
    let link: web_sys::HtmlElement = document
        .create_element("a")
        .map_err(|_| ())?
        .unchecked_into();
    let _ = link.set_attribute("href", &url);
    let _ = link.set_attribute("download", file_name);
    link.click();
    // The browser has started the download once click returns; a later revoke frees the blob.
    gloo_timers::callback::Timeout::new(10_000, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    })
    .forget();
    Ok(())
}

/// Moves the split to the range input's value. The split is a custom property of the
/// comparison box (`--vto-split`, the percent of the width that shows the photo before),
/// which the styles of the photo and of the line read: styles bound to a signal would
/// cost the bundle more than this one handler.
fn move_split(event: leptos::ev::Event) {
    let range: web_sys::HtmlInputElement = event_target(&event);
    if let Some(compare) = range.parent_element() {
        let _ = compare.set_attribute("style", &["--vto-split: ", &range.value(), "%"].concat());
    }
}

/// Brings the result into view once the picture has loaded: the dialog scrolled to the
/// progress when the result appeared, but the picture only takes up its height when it
/// arrives, so the first scroll could not reach it.
fn reveal_on_load(event: leptos::ev::Event) {
    let progress = event
        .target()
        .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
        .and_then(|img| img.closest(".vto-progress").ok().flatten());
    if let Some(progress) = progress {
        progress.scroll_into_view();
    }
}

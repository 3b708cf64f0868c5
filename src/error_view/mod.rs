//! The error view: what went wrong and what to do next, announced at once as an alert.

use leptos::prelude::*;
use tryon_api::Locale;

use crate::focus::focused_heading;
use crate::problem::{Message, Problem};

/// Shows `problem` in `locale` as two sentences inside a `role="alert"` element.
#[component]
pub fn ErrorView(
    /// The language of the text.
    locale: Locale,
    /// Why the try-on stopped.
    problem: Problem,
) -> impl IntoView {
    let Message { what, next } = problem.explain(locale);
    // What went wrong is the error's heading, and it takes the focus when the error
    // appears: the control the shopper used may have been disabled or removed by then,
    // and focus that fell to the page body would leave a keyboard user behind the
    // dialog. It takes focus from script only (tabindex -1), so Tab never stops on it.
    let heading = focused_heading();
    view! {
        <div class="vto-error" role="alert">
            <h3 class="vto-error-what" tabindex="-1" node_ref=heading>
                {what}
            </h3>
            <p class="vto-error-next">{next}</p>
        </div>
    }
}

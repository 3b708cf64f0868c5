//! The error view: what went wrong and what to do next, announced at once as an alert.

use leptos::prelude::*;
use tryon_api::Locale;

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
    view! {
        <div class="vto-error" role="alert">
            <p class="vto-error-what">{what}</p>
            <p class="vto-error-next">{next}</p>
        </div>
    }
}

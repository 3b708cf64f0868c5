//! Focus the dialog gives on its own: to a heading as soon as it is drawn.

use leptos::html;
use leptos::prelude::*;

/// A heading that takes the focus as soon as it is drawn. It should take focus from
/// script only (tabindex -1), so that Tab never stops on it. One function for every such
/// heading, so that the bundle holds its effect once.
pub fn focused_heading() -> NodeRef<html::H3> {
    let heading = NodeRef::<html::H3>::new();
    Effect::new(move |_| {
        if let Some(heading) = heading.get() {
            let _ = heading.focus();
        }
    });
    heading
}

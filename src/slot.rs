//! Hand-mounted views: a part of the dialog that is drawn anew, into an element of its own, whenever what it shows changes.
//!
//! A view drawn by a reactive closure (or `Show`) carries, besides the code that draws
//! its tree, the code that redraws the whole tree in place. For a large part that is only
//! ever replaced (the dialog itself, the result area) that second half is dead weight in
//! the bundle, its largest part; mounting by hand draws each version fresh instead.

use leptos::html;
use leptos::prelude::*;

/// Mounts `draw(key)` into `slot`, and again whenever `key` changes: the old view is
/// unmounted first, and its signals and effects are disposed with it.
pub fn mount_in_slot<K, V>(
    slot: NodeRef<html::Div>,
    key: Memo<K>,
    draw: impl Fn(K) -> V + Clone + 'static,
) where
    K: Clone + PartialEq + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let mounted = StoredValue::new_local(None::<Box<dyn std::any::Any>>);
    Effect::new(move |_| {
        let key = key.get();
        let Some(slot) = slot.get() else {
            return;
        };
        // The old view goes first, so two never stand in the slot together.
        mounted.set_value(None);
        let draw = draw.clone();
        // Only `key` decides when to draw again: what the view reads as it is drawn is
        // its own business.
        let view = untrack(|| leptos::mount::mount_to(slot.into(), move || draw(key)));
        mounted.set_value(Some(Box::new(view)));
    });
}

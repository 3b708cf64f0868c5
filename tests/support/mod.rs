//! What the browser test files share: waits that wake on the event they wait for (a change of the DOM, a promise), each bounded only against a hang.
//!
//! None of these waits sleeps. A wait looks again each time the DOM under its root
//! changes, so it returns as soon as the widget shows what the test waits for, however
//! fast or slow the machine is; the one timer here only turns a hang into a failure.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Element, HtmlElement, MutationObserver, MutationObserverInit};

/// How long a wait may go unanswered before the test fails as hung. What the tests wait
/// for takes milliseconds; the bound is far above that, and below the test runner's own
/// 20 s limit for a whole test file, so that a hang fails with its own message.
pub const HANG_BOUND_MS: i32 = 10_000;

/// A promise and the function that resolves it.
pub fn promise() -> (Promise, Function) {
    let mut resolve = None;
    let promise = Promise::new(&mut |done, _| resolve = Some(done));
    (promise, resolve.expect("a promise's executor runs at once"))
}

/// Waits until `promise` settles; false when it was rejected or the hang bound ran out first.
pub async fn within_hang_bound(promise: &Promise) -> bool {
    let window = web_sys::window().expect("a window");
    let mut timer = None;
    // The timer only bounds a hang: nothing waits for it to pass.
    let hang = Promise::new(&mut |_, reject| {
        timer = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(&reject, HANG_BOUND_MS)
            .ok();
    });
    let outcome = JsFuture::from(Promise::race(&Array::of2(promise, &hang))).await;
    if let Some(timer) = timer {
        window.clear_timeout_with_handle(timer);
    }
    outcome.is_ok()
}

/// Waits until `check` finds what the test waits for, looking again after every change of
/// the DOM under `root` and every move of the focus onto an element under it (a move of
/// the focus changes no DOM); `what` names it in the failure message of a hang.
pub async fn wait_until<T: 'static>(
    root: &HtmlElement,
    what: &str,
    check: impl Fn() -> Option<T> + 'static,
) -> T {
    if let Some(found) = check() {
        return found;
    }
    let (changed, resolve) = promise();
    let found = Rc::new(RefCell::new(None));
    let seen = found.clone();
    let look = Rc::new(move || {
        if seen.borrow().is_some() {
            return;
        }
        if let Some(value) = check() {
            *seen.borrow_mut() = Some(value);
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let on_change = {
        let look = look.clone();
        Closure::<dyn FnMut(Array, MutationObserver)>::new(move |_: Array, _: MutationObserver| {
            look()
        })
    };
    let on_focus = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| look());
    let observer = MutationObserver::new(on_change.as_ref().unchecked_ref()).unwrap();
    let everything = MutationObserverInit::new();
    everything.set_child_list(true);
    everything.set_subtree(true);
    everything.set_attributes(true);
    everything.set_character_data(true);
    observer.observe_with_options(root, &everything).unwrap();
    root.add_event_listener_with_callback("focusin", on_focus.as_ref().unchecked_ref())
        .unwrap();
    within_hang_bound(&changed).await;
    // Disconnected and removed, neither calls anything any more, so their callbacks may go.
    observer.disconnect();
    let _ = root.remove_event_listener_with_callback("focusin", on_focus.as_ref().unchecked_ref());
    drop(on_change);
    drop(on_focus);
    let found = found.borrow_mut().take();
    found.unwrap_or_else(|| {
        panic!(
            "{what} did not happen within {} s; the root shows: {}",
            HANG_BOUND_MS / 1_000,
            root.text_content().unwrap_or_default()
        )
    })
}

/// Waits until something under `root` matches `selector`, and answers the first match.
pub async fn wait_for(root: &HtmlElement, selector: &str) -> Element {
    let (under, wanted) = (root.clone(), selector.to_owned());
    wait_until(root, &format!("{selector} appearing"), move || {
        under.query_selector(&wanted).unwrap()
    })
    .await
}

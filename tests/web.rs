//! Browser tests of the widget's components: each is mounted into a detached element and its DOM is checked.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use leptos::task::tick;
use tryon_api::mode::Garments;
use tryon_api::{ErrorKind, Locale, TaskStatus};
use tryon_widget::config::WidgetConfig;
use tryon_widget::error_view::ErrorView;
use tryon_widget::flow::Phase;
use tryon_widget::problem::Problem;
use tryon_widget::status_view::StatusView;
use tryon_widget::tryon_dialog::TryOnDialog;
use tryon_widget::widget::TryOnWidget;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A fresh element that is not in the page, so tests cannot see each other's DOM.
fn detached() -> HtmlElement {
    document().create_element("div").unwrap().unchecked_into()
}

fn config(locale: Locale) -> WidgetConfig {
    WidgetConfig {
        proxy: String::new(),
        garments: Garments {
            top: Some("https://shop.example/samples/top-tee.png".into()),
            bottom: None,
        },
        product_name: "Classic Tee".into(),
        locale,
    }
}

fn find(root: &HtmlElement, selector: &str) -> Option<HtmlElement> {
    root.query_selector(selector)
        .unwrap()
        .map(|element| element.unchecked_into())
}

fn text(root: &HtmlElement, selector: &str) -> String {
    find(root, selector)
        .unwrap_or_else(|| panic!("nothing matches {selector}"))
        .text_content()
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn the_status_view_names_the_stage_of_every_state() {
    let root = detached();
    let phase = RwSignal::new(Phase::Idle);
    let elapsed = RwSignal::new(0_u32);
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { <StatusView locale=Locale::En phase elapsed /> }
    });
    tick().await;
    assert_eq!(
        find(&root, "[aria-live='polite']")
            .unwrap()
            .get_attribute("role")
            .as_deref(),
        Some("status"),
        "the live region exists before anything happens"
    );
    assert_eq!(text(&root, ".vto-status-stage"), "");

    for (status, en) in [
        (TaskStatus::Pending, "Queued"),
        (TaskStatus::Suspended, "Queued"),
        (TaskStatus::Other("WARMING-UP".into()), "Queued"),
        (TaskStatus::PreProcessing, "Preparing"),
        (TaskStatus::Running, "Generating"),
        (TaskStatus::PostProcessing, "Finishing"),
    ] {
        phase.set(Phase::Waiting {
            status: status.clone(),
            queue_position: None,
        });
        elapsed.set(7);
        tick().await;
        assert_eq!(text(&root, ".vto-status-stage"), en, "{status}");
        assert_eq!(text(&root, ".vto-status-elapsed"), "7 s elapsed");
        assert_eq!(text(&root, ".vto-step-current"), en, "{status}");
    }
}

#[wasm_bindgen_test]
async fn the_status_view_speaks_chinese_and_shows_the_queue() {
    let root = detached();
    let phase = RwSignal::new(Phase::Waiting {
        status: TaskStatus::Running,
        queue_position: Some(3),
    });
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { <StatusView locale=Locale::ZhCn phase elapsed=Signal::stored(12) /> }
    });
    tick().await;
    assert_eq!(text(&root, ".vto-status-stage"), "生成中");
    assert_eq!(text(&root, ".vto-status-elapsed"), "已用时 12 秒");
    assert_eq!(text(&root, ".vto-status-queue"), "前面还有 3 位");
}

#[wasm_bindgen_test]
async fn the_error_view_explains_a_catalogue_code_in_both_languages() {
    for (locale, what, next) in [
        (
            Locale::ZhCn,
            "照片中需要有且仅有一个完整的人。",
            "请上传一张只有您本人的正面全身照。",
        ),
        (
            Locale::En,
            "We could not find exactly one person in your photo.",
            "Please use a full-length photo of just you, facing the camera.",
        ),
    ] {
        let root = detached();
        let _mounted = leptos::mount::mount_to(root.clone(), move || {
            view! { <ErrorView locale problem=Problem::Catalogue(ErrorKind::InvalidPerson) /> }
        });
        tick().await;
        let alert = find(&root, "[role='alert']").expect("an alert");
        assert_eq!(text(&alert, ".vto-error-what"), what);
        assert_eq!(text(&alert, ".vto-error-next"), next);
    }
}

#[wasm_bindgen_test]
async fn an_unknown_code_gets_the_generic_message() {
    let root = detached();
    let problem = Problem::from_wire("Brand.NewCode", "never seen");
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { <ErrorView locale=Locale::En problem /> }
    });
    tick().await;
    assert_eq!(
        text(&root, "[role='alert'] .vto-error-what"),
        "Something went wrong with your try-on."
    );
}

#[wasm_bindgen_test]
async fn the_try_it_on_button_opens_a_labelled_modal_dialog() {
    let root = detached();
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { <TryOnWidget config=config(Locale::En) /> }
    });
    tick().await;
    assert!(find(&root, "[role='dialog']").is_none());
    let button = find(&root, "button.vto-open").unwrap();
    assert_eq!(button.text_content().unwrap(), "Try it on");

    button.click();
    tick().await;
    let dialog = find(&root, "[role='dialog']").expect("the dialog opened");
    assert_eq!(dialog.get_attribute("aria-modal").as_deref(), Some("true"));
    let title_id = dialog.get_attribute("aria-labelledby").unwrap();
    assert_eq!(
        text(&dialog, &format!("#{title_id}")),
        "Virtual try-on",
        "the dialog is labelled by its heading"
    );
    let input = find(&dialog, "input[type='file']").unwrap();
    assert_eq!(input.get_attribute("accept").as_deref(), Some("image/*"));
    let label = text(&dialog, &format!("label[for='{}']", input.id()));
    assert_eq!(label, "Your photo");
    assert_eq!(text(&dialog, "button[type='submit']"), "Generate");
    let garment = find(&dialog, ".vto-garment-img").unwrap();
    assert_eq!(garment.get_attribute("alt").as_deref(), Some("Classic Tee"));

    find(&dialog, "button.vto-close").unwrap().click();
    tick().await;
    assert!(
        find(&root, "[role='dialog']").is_none(),
        "the dialog closed"
    );
}

/// An element in the page: forms only submit when they are connected to a document.
struct Attached(HtmlElement);

impl Attached {
    fn new() -> Attached {
        let root = detached();
        document().body().unwrap().append_child(&root).unwrap();
        Attached(root)
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.0.remove();
    }
}

/// Hands a 1 KB file to the dialog's file input, as a drop would.
fn choose_tiny_file(root: &HtmlElement) -> web_sys::HtmlInputElement {
    let bytes = js_sys::Uint8Array::from(&[0xFF_u8; 1024][..]);
    let parts = js_sys::Array::of1(&bytes);
    let options = web_sys::FilePropertyBag::new();
    options.set_type("image/jpeg");
    let file = web_sys::File::new_with_u8_array_sequence_and_options(&parts, "tiny.jpg", &options)
        .unwrap();
    let transfer = web_sys::DataTransfer::new().unwrap();
    transfer.items().add_with_file(&file).unwrap();
    let input: web_sys::HtmlInputElement =
        find(root, "input[type='file']").unwrap().unchecked_into();
    input.set_files(transfer.files().as_ref());
    input
}

#[wasm_bindgen_test]
async fn a_one_kilobyte_photo_is_refused_when_chosen() {
    let root = detached();
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { <TryOnDialog config=config(Locale::En) on_close=|| {} /> }
    });
    tick().await;
    let input = choose_tiny_file(&root);
    input
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    tick().await;
    assert_eq!(
        text(&root, "[role='alert'] .vto-error-what"),
        "This photo file is too small (1 KB)."
    );
    assert_eq!(
        text(&root, "[role='alert'] .vto-error-next"),
        "Please choose a photo of at least 5 KB."
    );
}

#[wasm_bindgen_test]
async fn a_one_kilobyte_photo_is_refused_on_generate_before_any_upload() {
    let page = Attached::new();
    let root = page.0.clone();
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { <TryOnDialog config=config(Locale::ZhCn) on_close=|| {} /> }
    });
    tick().await;
    choose_tiny_file(&root);
    find(&root, "button[type='submit']").unwrap().click();
    // The flow runs in its own task; the refusal needs no network, so a few ticks suffice.
    for _ in 0..3 {
        tick().await;
    }
    assert_eq!(
        text(&root, "[role='alert'] .vto-error-what"),
        "照片文件太小（1 KB）。"
    );
    assert_eq!(
        text(&root, "[role='alert'] .vto-error-next"),
        "请选择不小于 5KB 的照片。"
    );
}

#[wasm_bindgen_test]
async fn generate_without_a_photo_asks_for_one() {
    let page = Attached::new();
    let root = page.0.clone();
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { <TryOnDialog config=config(Locale::ZhCn) on_close=|| {} /> }
    });
    tick().await;
    assert_eq!(text(&root, "button[type='submit']"), "生成");
    find(&root, "button[type='submit']").unwrap().click();
    tick().await;
    assert_eq!(
        text(&root, "[role='alert'] .vto-error-what"),
        "请先选择一张照片。"
    );
}

#[wasm_bindgen_test]
async fn the_dialog_takes_focus_and_keeps_tab_inside() {
    let page = Attached::new();
    let root = page.0.clone();
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { <TryOnDialog config=config(Locale::En) on_close=|| {} /> }
    });
    tick().await;
    tick().await;
    let active = || {
        document()
            .active_element()
            .map(|element| element.class_name())
    };
    assert_eq!(
        active().as_deref(),
        Some("vto-close"),
        "focus moves into the dialog"
    );

    let tab = |shift: bool| {
        let init = web_sys::KeyboardEventInit::new();
        init.set_key("Tab");
        init.set_shift_key(shift);
        init.set_bubbles(true);
        init.set_cancelable(true);
        let event =
            web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
        document()
            .active_element()
            .unwrap()
            .dispatch_event(&event)
            .unwrap();
    };
    tab(true);
    assert_eq!(
        active().as_deref(),
        Some("vto-generate"),
        "Shift+Tab on the first control wraps to the last"
    );
    tab(false);
    assert_eq!(
        active().as_deref(),
        Some("vto-close"),
        "Tab on the last wraps to the first"
    );
}

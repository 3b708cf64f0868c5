//! Browser tests of the widget's components: each is mounted into a detached element and its DOM is checked.
#![cfg(target_arch = "wasm32")]

mod support;

use leptos::prelude::*;
use leptos::task::tick;
use tryon_api::mode::Garments;
use tryon_api::{ErrorKind, Locale, TaskStatus};
use tryon_widget::config::WidgetConfig;
use tryon_widget::error_view::ErrorView;
use tryon_widget::flow::Phase;
use tryon_widget::mode::{Choices, GarmentKind};
use tryon_widget::offer::Offer;
use tryon_widget::problem::Problem;
use tryon_widget::status_view::StatusView;
use tryon_widget::tryon_dialog::TryOnDialog;
use tryon_widget::widget::TryOnWidget;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

// Photo checks run in their own task, so what they show is waited for.
use support::wait_for;

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A fresh element that is not in the page, so tests cannot see each other's DOM.
fn detached() -> HtmlElement {
    document().create_element("div").unwrap().unchecked_into()
}

fn config(locale: Locale) -> WidgetConfig {
    WidgetConfig::top(
        "",
        "https://shop.example/samples/top-tee.png",
        "Classic Tee",
        locale,
    )
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
            task_id: "t".into(),
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
        task_id: "t".into(),
        status: TaskStatus::Running,
        queue_position: Some(3),
    });
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { <StatusView locale=Locale::ZhCn phase elapsed=RwSignal::new(12) /> }
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
async fn opening_the_widget_shows_a_labelled_modal_dialog_and_closing_hides_it() {
    let root = detached();
    let open = RwSignal::new(false);
    let opener: HtmlElement = document()
        .create_element("button")
        .unwrap()
        .unchecked_into();
    let button = opener.clone();
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { <TryOnWidget config=config(Locale::En) open opener=button /> }
    });
    tick().await;
    assert!(find(&root, "[role='dialog']").is_none());
    assert_eq!(
        opener.get_attribute("aria-expanded").as_deref(),
        Some("false")
    );

    open.set(true);
    tick().await;
    let dialog = find(&root, "[role='dialog']").expect("the dialog opened");
    assert_eq!(
        opener.get_attribute("aria-expanded").as_deref(),
        Some("true")
    );
    assert_eq!(dialog.get_attribute("aria-modal").as_deref(), Some("true"));
    let title_id = dialog.get_attribute("aria-labelledby").unwrap();
    assert_eq!(
        text(&dialog, &format!("#{title_id}")),
        "Virtual try-on",
        "the dialog is labelled by its heading"
    );
    let input = find(&dialog, "input.vto-file").unwrap();
    assert_eq!(input.get_attribute("accept").as_deref(), Some("image/*"));
    let label = text(&dialog, &format!("label[for='{}']", input.id()));
    assert_eq!(label, "Your photo");
    assert_eq!(text(&dialog, "button[type='submit']"), "Generate");
    let garment = find(&dialog, ".vto-garment-img").unwrap();
    assert_eq!(garment.get_attribute("alt").as_deref(), Some("Classic Tee"));
    let camera = find(&dialog, ".vto-camera-input").unwrap();
    assert_eq!(
        camera.get_attribute("capture").as_deref(),
        Some("environment")
    );
    assert!(text(&dialog, ".vto-camera").contains("Take a photo"));
    assert!(
        text(&dialog, ".vto-consent").contains("deleted after 24 hours"),
        "the consent line says where the photo goes and how long it stays"
    );
    assert_eq!(
        find(&dialog, ".vto-sample")
            .unwrap()
            .get_attribute("aria-label")
            .as_deref(),
        Some("Use model 1")
    );
    assert!(
        find(&dialog, "details.vto-tips").is_some(),
        "guidance one tap away"
    );

    find(&dialog, "button.vto-close").unwrap().click();
    tick().await;
    assert!(
        find(&root, "[role='dialog']").is_none(),
        "the dialog closed"
    );
    assert!(!open.get_untracked());
    assert_eq!(
        opener.get_attribute("aria-expanded").as_deref(),
        Some("false")
    );
}

/// The "How to wear it" choice a product kind offers, as radio labels.
async fn wear_choices(kind: GarmentKind, garments: Garments) -> Vec<String> {
    let root = detached();
    let mut config = config(Locale::En);
    config.kind = kind;
    config.garments = garments;
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { <TryOnDialog config on_close=|| {} /> }
    });
    tick().await;
    let labels = root.query_selector_all(".vto-modes .vto-choice").unwrap();
    (0..labels.length())
        .map(|index| labels.item(index).unwrap().text_content().unwrap())
        .collect()
}

#[wasm_bindgen_test]
async fn each_garment_kind_offers_its_modes() {
    let both = Garments {
        top: Some("https://shop/t.png".into()),
        bottom: Some("https://shop/b.png".into()),
    };
    assert_eq!(
        wear_choices(GarmentKind::Top, both.clone()).await,
        ["With a generated bottom", "Keeping my own bottoms"]
    );
    assert_eq!(
        wear_choices(GarmentKind::Bottom, both.clone()).await,
        ["With a generated top", "Keeping my own top"]
    );
    assert!(
        wear_choices(GarmentKind::Outfit, both.clone())
            .await
            .is_empty()
    );
    assert!(wear_choices(GarmentKind::Dress, both).await.is_empty());
}

#[wasm_bindgen_test]
async fn only_the_stage_is_live_and_the_wait_has_an_estimate() {
    let root = detached();
    let phase = RwSignal::new(Phase::Segmenting);
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { <StatusView locale=Locale::En phase elapsed=RwSignal::new(5) /> }
    });
    tick().await;
    assert_eq!(text(&root, ".vto-status-stage"), "Finding your own clothes");
    let live = find(&root, "[aria-live='polite']").unwrap();
    assert_eq!(
        live.text_content().unwrap(),
        "Finding your own clothes",
        "the ticking clock stays out of the live region"
    );
    assert_eq!(text(&root, ".vto-status-estimate"), "about 20 s left");
    phase.set(Phase::Waiting {
        task_id: "t".into(),
        status: TaskStatus::Pending,
        queue_position: Some(1),
    });
    tick().await;
    assert_eq!(text(&root, ".vto-status-estimate"), "about 45 s left");
    assert_eq!(text(&root, ".vto-status-queue"), "1 try-on ahead of yours");
    phase.set(Phase::Done {
        task_id: "t".into(),
        image_url: "https://r".into(),
        before_url: "https://b".into(),
    });
    tick().await;
    assert_eq!(text(&root, ".vto-status-stage"), "Your picture is ready.");
    assert!(find(&root, ".vto-status-estimate").is_none());
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

/// Hands `bytes` as a file to the dialog's file input, as a drop would.
fn choose_file(root: &HtmlElement, bytes: &[u8], kind: &str) -> web_sys::HtmlInputElement {
    let bytes = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&bytes);
    let options = web_sys::FilePropertyBag::new();
    options.set_type(kind);
    let file =
        web_sys::File::new_with_u8_array_sequence_and_options(&parts, "photo", &options).unwrap();
    let transfer = web_sys::DataTransfer::new().unwrap();
    transfer.items().add_with_file(&file).unwrap();
    let input: web_sys::HtmlInputElement = find(root, "input.vto-file").unwrap().unchecked_into();
    input.set_files(transfer.files().as_ref());
    input
}

/// Hands a 1 KB file to the dialog's file input.
fn choose_tiny_file(root: &HtmlElement) -> web_sys::HtmlInputElement {
    choose_file(root, &[0xFF_u8; 1024], "image/jpeg")
}

/// The first bytes of a PNG of `width` x `height`, padded to `total` bytes: enough for the
/// contract's header rules, which never decode pixels.
fn png_header(width: u32, height: u32, total: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    bytes.extend(width.to_be_bytes());
    bytes.extend(height.to_be_bytes());
    bytes.resize(total, 0);
    bytes
}

#[wasm_bindgen_test]
async fn a_photo_under_150_pixels_is_refused_with_its_size_and_an_event() {
    let page = Attached::new();
    let root = page.0.clone();
    let host = document().create_element("div").unwrap();
    let codes = std::rc::Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
    let heard = codes.clone();
    let listener = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::CustomEvent)>::new(
        move |event: web_sys::CustomEvent| {
            let code = js_sys::Reflect::get(&event.detail(), &"code".into()).unwrap();
            heard.borrow_mut().push(code.as_string().unwrap());
        },
    );
    host.add_event_listener_with_callback("tryon:error", listener.as_ref().unchecked_ref())
        .unwrap();
    let target: web_sys::EventTarget = host.into();
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { <TryOnDialog config=config(Locale::En) on_close=|| {} host=Some(target) /> }
    });
    tick().await;
    let input = choose_file(&root, &png_header(120, 150, 54_218), "image/png");
    input
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    wait_for(&root, "[role='alert']").await;
    assert_eq!(
        text(&root, "[role='alert'] .vto-error-what"),
        "This photo is too small (120 × 150 pixels) to show a whole person."
    );
    assert_eq!(
        text(&root, "[role='alert'] .vto-error-next"),
        "Please use a photo at least 150 pixels on each side, such as one taken with your phone."
    );
    assert_eq!(*codes.borrow(), ["Widget.Photo.SideTooSmall"]);
}

/// A picture of `width` x `height` drawn on a canvas and encoded as `kind` by the browser.
async fn canvas_picture(width: u32, height: u32, kind: &str) -> web_sys::Blob {
    let canvas = web_sys::OffscreenCanvas::new(width, height).unwrap();
    let context: web_sys::OffscreenCanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    context.set_fill_style_str("#6b8");
    context.fill_rect(0.0, 0.0, f64::from(width), f64::from(height));
    let options = web_sys::ImageEncodeOptions::new();
    options.set_type(kind);
    let promise = canvas.convert_to_blob_with_options(&options).unwrap();
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .unwrap()
        .unchecked_into()
}

#[wasm_bindgen_test]
async fn a_photo_over_4096_pixels_is_scaled_down_and_reencoded_as_jpeg() {
    let big = canvas_picture(5000, 2000, "image/png").await;
    let prepared = tryon_widget::photo::prepare(&big, Offer::default())
        .await
        .unwrap();
    assert!(prepared.reencoded);
    assert_eq!((prepared.width, prepared.height), (4096, 1638));
    assert_eq!(prepared.content_type, "image/jpeg");
    let size = prepared.blob.size() as u64;
    assert!(
        (tryon_api::rules::MIN_FILE_BYTES..=tryon_api::rules::MAX_FILE_BYTES).contains(&size),
        "{size}"
    );

    let fine = canvas_picture(600, 900, "image/jpeg").await;
    if fine.size() as u64 >= tryon_api::rules::MIN_FILE_BYTES {
        let prepared = tryon_widget::photo::prepare(&fine, Offer::default())
            .await
            .unwrap();
        assert!(
            !prepared.reencoded,
            "a photo within the rules goes unchanged"
        );
    }
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
    wait_for(&root, "[role='alert']").await;
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
    let input = choose_tiny_file(&root);
    input
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    find(&root, "button[type='submit']").unwrap().click();
    wait_for(&root, "[role='alert']").await;
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

#[wasm_bindgen_test]
fn the_capabilities_answer_becomes_the_offered_options() {
    use tryon_api::Resolution;
    use tryon_api::generation::{Capabilities, FaceChoice, SuccessorModel};
    use tryon_api::mode::TryOnMode;
    use tryon_api::rules::ImageFormat;

    // The proxy's answer under `qwen-image`, as it travels: every mode, every size, a
    // best-effort face and no HEIC.
    let wire =
        serde_json::to_string(&Capabilities::successor(&SuccessorModel::default_model())).unwrap();
    let successor: Capabilities = serde_json::from_str(&wire).unwrap();
    // The dialog reads the answer with the browser's JSON parser; it must agree with the
    // typed reading of the contract's value.
    let parsed = js_sys::JSON::parse(&wire).unwrap();
    let offer = Offer::from_js(&parsed).expect("a capabilities answer");
    assert_eq!(offer, Offer::from_capabilities(&successor));
    assert_eq!(offer.face, Some(FaceChoice::BestEffort));
    assert!(!offer.accepts(ImageFormat::Heic));
    assert_eq!(
        offer.modes_for(GarmentKind::Bottom),
        GarmentKind::Bottom.modes()
    );
    assert_eq!(
        offer.accept_attribute(),
        "image/jpeg,image/png,image/bmp,image/webp"
    );

    // The seed's answer offers exactly what the widget offers without any answer.
    let seed_wire = serde_json::to_string(&Capabilities::aitryon("aitryon-plus")).unwrap();
    let seed = Offer::from_js(&js_sys::JSON::parse(&seed_wire).unwrap()).unwrap();
    assert_eq!(seed, Offer::default());
    assert_eq!(seed.accept_attribute(), "image/*");

    // An upstream that can do less: no keep-own bottoms, no "same as my photo", no face
    // choice. The shopper's earlier choices move onto what is left.
    let mut less = Capabilities::aitryon("aitryon-plus");
    less.modes
        .retain(|mode| *mode != TryOnMode::TopKeepOwnBottom);
    less.resolutions = vec![Resolution::Portrait1280];
    less.face_choice = None;
    let less_wire = serde_json::to_string(&less).unwrap();
    let offer = Offer::from_js(&js_sys::JSON::parse(&less_wire).unwrap()).unwrap();
    assert_eq!(offer, Offer::from_capabilities(&less));
    assert_eq!(offer.face, None, "null hides the face choice");
    assert_eq!(offer.modes_for(GarmentKind::Top), [TryOnMode::TopOnly]);
    assert_eq!(offer.resolutions(), [Resolution::Portrait1280]);
    let wished = Choices {
        mode: TryOnMode::TopKeepOwnBottom,
        keep_face: false,
        resolution: Resolution::Original,
    };
    assert_eq!(
        offer.fit(GarmentKind::Top, wished),
        Choices {
            mode: TryOnMode::TopOnly,
            keep_face: true,
            resolution: Resolution::Portrait1280,
        }
    );

    // Something that is not a capabilities answer keeps the default offer.
    assert_eq!(Offer::from_js(&JsValue::NULL), None);
    assert_eq!(Offer::from_js(&js_sys::JSON::parse("{}").unwrap()), None);

    // No mode of the product at all: nothing can be started.
    less.modes = vec![TryOnMode::Dress];
    assert!(
        Offer::from_capabilities(&less)
            .modes_for(GarmentKind::Top)
            .is_empty()
    );
}

#[wasm_bindgen_test]
fn downloads_are_named_after_the_product() {
    use tryon_widget::i18n::download_name;
    assert_eq!(download_name("Classic Tee"), "Classic-Tee-try-on.jpg");
    assert_eq!(download_name("  "), "try-on.jpg");
    assert_eq!(download_name("连衣裙"), "连衣裙-try-on.jpg");
    // Letters and digits of every script stay, as char::is_alphanumeric keeps them; any
    // other character becomes a dash, and dashes at either end go.
    for name in [
        "Été Ⅻ №5 (ß) Ω٣",
        "«Robe» d’été, 100 % lin",
        "T恤（白色）、短袖",
        "-x-",
    ] {
        let expected: String = name
            .trim()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '-' })
            .collect();
        let expected = expected.trim_matches('-');
        assert_eq!(
            download_name(name),
            format!("{expected}-try-on.jpg"),
            "{name}"
        );
    }
}

#[wasm_bindgen_test]
async fn the_comparison_slider_moves_the_split() {
    use tryon_widget::events::Emitter;
    use tryon_widget::result_view::ResultView;
    let root = detached();
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! {
            <ResultView
                locale=Locale::En
                look=tryon_widget::remembered::Look {
                    task_id: "t".to_owned(),
                    image_url: "https://p/result".to_owned(),
                    before_url: "https://p/before".to_owned(),
                    product_name: "Classic Tee".to_owned(),
                    product_id: "tee".to_owned(),
                    expires_at_ms: 0.0,
                }
                emitter=StoredValue::new_local(Emitter::default())
                on_again=|()| {}
            />
        }
    });
    tick().await;
    let range: web_sys::HtmlInputElement =
        find(&root, ".vto-compare-range").unwrap().unchecked_into();
    assert_eq!(range.value(), "50", "the split starts in the middle");
    range.set_value("30");
    range
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    let compare = find(&root, ".vto-compare").unwrap();
    assert_eq!(
        compare.get_attribute("style").as_deref(),
        Some("--vto-split: 30%"),
        "the styles of the photo and the line read the split from the box"
    );
}

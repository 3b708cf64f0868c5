//! Browser tests of a whole try-on through the dialog, against a fake `fetch` that plays the proxy.
//!
//! The fake replaces the page's global `fetch` (gloo-net calls the global one), so these
//! tests live in their own file: each test file is its own page. The fake answers by host,
//! so every test gets its own scripted proxy.
//!
//! The dialog runs on a [`TestClock`] here, so no test waits real seconds for the poll
//! schedule, and none sleeps to see that nothing more happens: the clock knows when every
//! background task of a try-on has ended.
#![cfg(target_arch = "wasm32")]

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::tick;
use tryon_api::Locale;
use tryon_widget::clock::{Clock, Drive, LocalFuture};
use tryon_widget::config::WidgetConfig;
use tryon_widget::offer::Offer;
use tryon_widget::remembered;
use tryon_widget::tryon_dialog::TryOnDialog;
use tryon_widget::widget::TryOnWidget;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

use support::{promise, wait_for, wait_until, within_hang_bound};

wasm_bindgen_test_configure!(run_in_browser);

/// A clock the test drives in place of real time.
///
/// Time stands still while any background task of the dialog is busy (waiting for the
/// fake proxy, a photo check, the page). Once every one of them sleeps on the clock, it
/// jumps to the earliest wake-up, as if the wait had just passed; a test that wants to
/// look at a state that time would move on holds it instead. The clock counts the tasks
/// it runs, so that a test can wait until all of them have ended.
#[derive(Clone, Default)]
struct TestClock(Rc<Ticking>);

#[derive(Default)]
struct Ticking {
    now_ms: Cell<f64>,
    held: Cell<bool>,
    /// The sleeps not yet over: when each wakes, and the function that wakes it.
    sleepers: RefCell<Vec<(f64, js_sys::Function)>>,
    running: Cell<u32>,
    started: Cell<u32>,
    /// Whom to tell once no task runs any more.
    on_all_ended: RefCell<Vec<js_sys::Function>>,
}

impl TestClock {
    /// A clock that moves whenever every task sleeps.
    fn running() -> TestClock {
        TestClock::default()
    }

    /// A clock that stands still until [`TestClock::run`].
    fn held() -> TestClock {
        let clock = TestClock::default();
        clock.0.held.set(true);
        clock
    }

    /// Lets time move again, at once if every task already sleeps.
    fn run(&self) {
        self.0.held.set(false);
        self.0.move_on();
    }

    /// The widget's clock, driven by this one.
    fn clock(&self) -> Clock {
        Clock::driven(Rc::new(self.clone()))
    }

    /// How many tasks the dialog has started on this clock.
    fn started(&self) -> u32 {
        self.0.started.get()
    }

    /// Waits until every task started on this clock has ended.
    async fn all_ended(&self) {
        if self.0.running.get() == 0 {
            return;
        }
        let (ended, resolve) = promise();
        self.0.on_all_ended.borrow_mut().push(resolve);
        assert!(
            within_hang_bound(&ended).await,
            "{} of the dialog's tasks are still running",
            self.0.running.get()
        );
    }
}

impl Ticking {
    /// Jumps to the earliest wake-up and wakes whoever waits for it, if nothing but sleeps
    /// is left to happen and the test does not hold time.
    fn move_on(&self) {
        let running = self.running.get() as usize;
        if self.held.get() || running == 0 || self.sleepers.borrow().len() < running {
            return;
        }
        let woken: Vec<js_sys::Function> = {
            let mut sleepers = self.sleepers.borrow_mut();
            let Some(next) = sleepers.iter().map(|(at, _)| *at).reduce(f64::min) else {
                return;
            };
            self.now_ms.set(next);
            let (due, later) = sleepers.drain(..).partition(|(at, _)| *at <= next);
            *sleepers = later;
            due.into_iter().map(|(_, wake)| wake).collect()
        };
        for wake in woken {
            wake.call0(&JsValue::NULL).unwrap();
        }
    }
}

impl Drive for TestClock {
    fn now_ms(&self) -> f64 {
        self.0.now_ms.get()
    }

    fn sleep(&self, ms: u32) -> LocalFuture {
        let (over, wake) = promise();
        let at = self.0.now_ms.get() + f64::from(ms);
        self.0.sleepers.borrow_mut().push((at, wake));
        self.0.move_on();
        Box::pin(async move {
            JsFuture::from(over).await.unwrap();
        })
    }

    fn spawn(&self, task: LocalFuture) {
        let ticking = self.0.clone();
        ticking.running.set(ticking.running.get() + 1);
        ticking.started.set(ticking.started.get() + 1);
        wasm_bindgen_futures::spawn_local(async move {
            task.await;
            ticking.running.set(ticking.running.get() - 1);
            if ticking.running.get() == 0 {
                let waiting = std::mem::take(&mut *ticking.on_all_ended.borrow_mut());
                for resolve in waiting {
                    resolve.call0(&JsValue::NULL).unwrap();
                }
            }
            ticking.move_on();
        });
    }
}

/// The scripted proxies. `ok.test` succeeds after a dropped connection and a 503 while
/// polling; `retry.test` answers its first create with a 503, then succeeds; `bad.test`
/// fails the task with `InvalidPerson`; `queued.test` keeps it queued forever; every host
/// answers segmentation with a crop it hosts. Every call is logged in `globalThis.vtoCalls`.
const FAKE_FETCH: &str = r#"
globalThis.vtoCalls = [];
const polls = {};
const creates = {};
const uploads = {};
const json = (status, body) => new Response(JSON.stringify(body), {
  status, headers: { 'content-type': 'application/json' },
});
globalThis.fetch = async (request) => {
  const url = new URL(request.url);
  const host = url.host;
  const type = request.headers.get('content-type') || '';
  let body = null;
  if (request.method === 'POST') {
    body = type.startsWith('application/json') ? await request.json() : (await request.blob()).size;
  }
  const key = request.headers.get('idempotency-key') || '';
  const shopper = request.headers.get('x-tryon-shopper') || '';
  globalThis.vtoCalls.push({ method: request.method, host, path: url.pathname, search: url.search, type, body, key, shopper });
  // The `*.remember.test` proxies keep every upload under its own id, make a task of its
  // own for every create and finish it at once; `gone.remember.test` keeps no upload.
  if (host.endsWith('.remember.test')) {
    const files = `https://${host}/api/v1/tryon/files/`;
    const one = url.pathname.match(/^\/api\/v1\/tryon\/uploads\/(.+)$/);
    if (one && host.startsWith('gone.')) return json(404, { code: 'Proxy.PhotoExpired',
      message: 'This photo is no longer stored: it was deleted or its retention period ended.', request_id: 'r-gone' });
    if (one && request.method === 'DELETE') return json(200, { id: one[1], deleted: true, request_id: 'r-del' });
    if (one) return json(200, { id: one[1], url: files + one[1], expires_at_ms: Date.now() + 3600000, request_id: 'r-kept' });
    if (url.pathname === '/api/v1/tryon/uploads') {
      const n = (uploads[host] = (uploads[host] || 0) + 1);
      return json(201, { id: `p${n}`, url: files + `p${n}`, format: 'png', width: 600, height: 900, bytes: body, request_id: 'r-up' });
    }
    if (url.pathname === '/api/v1/services/aigc/image2image/image-synthesis') {
      const n = (creates[host] = (creates[host] || 0) + 1);
      return json(200, { output: { task_id: `t${n}`, task_status: 'PENDING' }, request_id: 'r-create' });
    }
    const task = url.pathname.match(/^\/api\/v1\/tasks\/(t\d+)$/);
    if (task) return json(200, { request_id: 'r-poll', output: { task_id: task[1], task_status: 'SUCCEEDED', image_url: files + `result-${task[1]}` } });
  }
  if (url.pathname === '/api/v1/tryon/uploads') {
    return json(200, { id: 'u1', url: `https://${host}/api/v1/tryon/files/u1`, format: 'jpeg',
      width: 600, height: 900, bytes: body, request_id: 'r-up' });
  }
  if (url.pathname === '/api/v1/services/vision/image-process/process') {
    return json(200, { output: { parsing_img_url: [`https://${host}/api/v1/tryon/files/parsing`],
      crop_img_url: [`https://${host}/api/v1/tryon/files/crop`], bbox: [[1, 2, 3, 4]] }, request_id: 'r-seg' });
  }
  if (url.pathname === '/api/v1/services/aigc/image2image/image-synthesis') {
    const n = (creates[host] = (creates[host] || 0) + 1);
    if (host === 'retry.test' && n === 1) return json(503, { code: 'ModelUnavailable',
      message: 'Model is unavailable, please try again later.', request_id: 'r-create-503' });
    return json(200, { output: { task_id: `task-${host}`, task_status: 'PENDING' }, request_id: 'r-create' });
  }
  if (url.pathname === `/api/v1/tasks/task-${host}/cancel`) {
    return json(200, { request_id: 'r-cancel' });
  }
  if (url.pathname === `/api/v1/tasks/task-${host}`) {
    const n = (polls[host] = (polls[host] || 0) + 1);
    const output = (task_status, extra) => json(200, {
      request_id: `r-poll-${n}`, output: { task_id: `task-${host}`, task_status, ...extra } });
    if (host === 'ok.test') {
      if (n === 1) throw new TypeError('Failed to fetch');
      if (n === 2) return json(503, { code: 'Proxy.UpstreamUnavailable',
        message: 'The try-on service could not be reached.', request_id: 'r-503' });
      if (n === 3) return output('RUNNING', { queue_position: 0 });
      return output('SUCCEEDED', { image_url: 'https://ok.test/api/v1/tryon/files/result' });
    }
    if (host === 'queued.test') return output('PENDING', { queue_position: 4 });
    if (host === 'keep.test' || host === 'retry.test') return output('SUCCEEDED', { image_url: `https://${host}/api/v1/tryon/files/result` });
    return output('FAILED', { code: 'InvalidPerson',
      message: 'The input image has no human body or multi human bodies. Please upload other image with single person.' });
  }
  return json(404, { code: 'Proxy.TaskNotFound', message: 'nothing here', request_id: 'r-404' });
};
"#;

fn install_fake_fetch() {
    js_sys::Function::new_no_args(FAKE_FETCH)
        .call0(&JsValue::NULL)
        .unwrap();
}

/// The calls the fake saw, as `METHOD host path` lines.
fn calls_to(host: &str) -> Vec<String> {
    let calls = js_sys::Reflect::get(&js_sys::global(), &"vtoCalls".into()).unwrap();
    js_sys::Array::from(&calls)
        .iter()
        .filter(|call| field(call, "host") == host)
        .map(|call| {
            format!(
                "{} {} {}",
                field(&call, "method"),
                field(&call, "path"),
                field(&call, "type")
            )
        })
        .collect()
}

/// The query strings of the task queries the fake saw for `host`.
fn polls(host: &str) -> Vec<String> {
    let calls = js_sys::Reflect::get(&js_sys::global(), &"vtoCalls".into()).unwrap();
    js_sys::Array::from(&calls)
        .iter()
        .filter(|call| field(call, "host") == host && field(call, "method") == "GET")
        .map(|call| field(&call, "search"))
        .collect()
}

/// The idempotency key and JSON body of every create call the fake saw for `host`.
fn creates(host: &str) -> Vec<(String, String)> {
    let calls = js_sys::Reflect::get(&js_sys::global(), &"vtoCalls".into()).unwrap();
    js_sys::Array::from(&calls)
        .iter()
        .filter(|call| {
            field(call, "host") == host && field(call, "path").contains("image-synthesis")
        })
        .map(|call| {
            let body = js_sys::Reflect::get(&call, &"body".into()).unwrap();
            (
                field(&call, "key"),
                js_sys::JSON::stringify(&body).unwrap().into(),
            )
        })
        .collect()
}

fn field(object: &JsValue, name: &str) -> String {
    js_sys::Reflect::get(object, &name.into())
        .ok()
        .and_then(|value| value.as_string())
        .unwrap_or_default()
}

/// The JSON body of the create call the fake saw for `host`.
fn create_body(host: &str) -> String {
    body_of(host, "image-synthesis")
}

/// The JSON body of the first call to a path containing `path` the fake saw for `host`.
fn body_of(host: &str, path: &str) -> String {
    let calls = js_sys::Reflect::get(&js_sys::global(), &"vtoCalls".into()).unwrap();
    js_sys::Array::from(&calls)
        .iter()
        .find(|call| field(call, "host") == host && field(call, "path").contains(path))
        .map(|call| {
            let body = js_sys::Reflect::get(&call, &"body".into()).unwrap();
            js_sys::JSON::stringify(&body).unwrap().into()
        })
        .unwrap_or_default()
}

struct Attached(HtmlElement);

impl Drop for Attached {
    fn drop(&mut self) {
        self.0.remove();
    }
}

/// Mounts a dialog for the proxy at `host` that runs on `clock`, attached to the page so
/// its form can submit.
fn mount_dialog(host: &str, clock: &TestClock) -> (Attached, impl Drop + use<>) {
    mount_offering(host, Offer::default(), clock)
}

/// Mounts a dialog like [`mount_dialog`] that offers `offer`.
fn mount_offering(host: &str, offer: Offer, clock: &TestClock) -> (Attached, impl Drop + use<>) {
    let document = web_sys::window().unwrap().document().unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let config = WidgetConfig::top(
        &format!("https://{host}"),
        "https://shop.test/samples/top-tee.png",
        "Classic Tee",
        Locale::En,
    );
    let config = WidgetConfig { offer, ..config };
    let clock = clock.clock();
    let mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { <TryOnDialog config on_close=|| {} clock /> }
    });
    (Attached(root), mounted)
}

/// Chooses a 6 KB "photo" (a PNG header of 600 x 900 px: the rules read only headers, and
/// a photo within them goes unchanged) and presses "Generate".
fn generate(root: &HtmlElement) {
    choose(root, &photo(), "image/png");
    root.query_selector("button[type='submit']")
        .unwrap()
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
}

/// A 6 KB "photo": a PNG header of 600 x 900 px, which every check accepts.
fn photo() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend(600_u32.to_be_bytes());
    png.extend(900_u32.to_be_bytes());
    png.resize(6 * 1024, 0);
    png
}

/// Gives the photo field a file of `bytes`, as a shopper's pick would.
fn choose(root: &HtmlElement, bytes: &[u8], content_type: &str) {
    let bytes = js_sys::Uint8Array::from(bytes);
    let options = web_sys::FilePropertyBag::new();
    options.set_type(content_type);
    let file = web_sys::File::new_with_u8_array_sequence_and_options(
        &js_sys::Array::of1(&bytes),
        "me.jpg",
        &options,
    )
    .unwrap();
    let transfer = web_sys::DataTransfer::new().unwrap();
    transfer.items().add_with_file(&file).unwrap();
    let input: web_sys::HtmlInputElement = root
        .query_selector("input.vto-file")
        .unwrap()
        .unwrap()
        .unchecked_into();
    input.set_files(transfer.files().as_ref());
    input
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
}

#[wasm_bindgen_test]
async fn a_try_on_survives_hiccups_while_polling_and_shows_the_picture() {
    install_fake_fetch();
    // Held, the clock keeps the flow in its pause after the dropped connection, so the
    // queued stage stays on screen while the test looks at it.
    let clock = TestClock::held();
    let (page, _mounted) = mount_dialog("ok.test", &clock);
    tick().await;
    generate(&page.0);

    let stage = wait_for(&page.0, ".vto-step-current").await;
    assert_eq!(stage.text_content().unwrap(), "Queued");
    clock.run();
    let result = wait_for(&page.0, "img[alt='Your try-on result']").await;
    assert_eq!(
        result.get_attribute("src").as_deref(),
        Some("https://ok.test/api/v1/tryon/files/result")
    );
    assert!(
        page.0.query_selector("[role='alert']").unwrap().is_none(),
        "a dropped connection and a 503 while polling are not failures"
    );

    let calls = calls_to("ok.test");
    assert_eq!(calls[0], "POST /api/v1/tryon/uploads image/png");
    assert_eq!(
        calls[1],
        "POST /api/v1/services/aigc/image2image/image-synthesis application/json"
    );
    assert_eq!(
        calls.len(),
        2 + 4,
        "four polls: dropped, 503, RUNNING, SUCCEEDED"
    );
    assert!(
        calls[2..]
            .iter()
            .all(|call| call == "GET /api/v1/tasks/task-ok.test ")
    );
    assert!(
        polls("ok.test")
            .iter()
            .all(|search| search.starts_with("?wait_ms=20000&since=")),
        "every poll is a long poll: {:?}",
        polls("ok.test")
    );
    assert_eq!(polls("ok.test")[3], "?wait_ms=20000&since=RUNNING");
    clock.all_ended().await;
    assert_eq!(
        clock.now_ms(),
        3_000.0,
        "the contract's schedule: a pause of a second after the dropped connection and one \
         after the 503, none after a change; then the seconds counter's next tick finds the \
         try-on over"
    );
    let body = create_body("ok.test");
    assert!(body.contains(r#""model":"aitryon-plus""#), "{body}");
    assert!(
        body.contains(r#""person_image_url":"https://ok.test/api/v1/tryon/files/u1""#),
        "{body}"
    );
    assert!(
        body.contains(r#""top_garment_url":"https://shop.test/samples/top-tee.png""#),
        "{body}"
    );
    assert!(
        body.contains(r#""parameters":{"resolution":-1,"restore_face":true}"#),
        "{body}"
    );
}

#[wasm_bindgen_test]
async fn a_failed_task_shows_the_catalogue_explanation() {
    install_fake_fetch();
    let (page, _mounted) = mount_dialog("bad.test", &TestClock::running());
    tick().await;
    generate(&page.0);

    let alert = wait_for(&page.0, "[role='alert']").await;
    assert_eq!(
        alert.text_content().unwrap(),
        "We could not find exactly one person in your photo.\
         Please use a full-length photo of just you, facing the camera."
    );
    assert!(
        page.0
            .query_selector("img[alt='Your try-on result']")
            .unwrap()
            .is_none()
    );
}

#[wasm_bindgen_test]
async fn closing_the_dialog_cancels_a_queued_task() {
    install_fake_fetch();
    // Held, the clock keeps the flow in its pause after the first quiet poll.
    let clock = TestClock::held();
    let (page, mounted) = mount_dialog("queued.test", &clock);
    tick().await;
    generate(&page.0);
    let queue = wait_for(&page.0, ".vto-status-queue").await;
    assert_eq!(queue.text_content().unwrap(), "4 try-ons ahead of yours");
    assert_eq!(polls("queued.test").len(), 1, "one poll before the pause");

    // Unmounting is what closing the dialog does to it. Then the pause may end: the flow
    // finds nobody listening, cancels the task and ends, and so does the dialog's clock.
    drop(mounted);
    clock.run();
    clock.all_ended().await;
    assert_eq!(clock.started(), 2, "the flow and the seconds counter");
    let calls = calls_to("queued.test");
    let cancel = "POST /api/v1/tasks/task-queued.test/cancel ";
    assert_eq!(calls.last().map(String::as_str), Some(cancel), "{calls:?}");
    assert_eq!(
        calls.iter().filter(|call| call.as_str() == cancel).count(),
        1,
        "{calls:?}"
    );
    assert_eq!(
        polls("queued.test").len(),
        1,
        "no polls after the dialog went away: {calls:?}"
    );
}

#[wasm_bindgen_test]
async fn keeping_my_own_bottoms_segments_the_photo_and_sends_the_crop() {
    install_fake_fetch();
    let (page, _mounted) = mount_dialog("keep.test", &TestClock::running());
    tick().await;
    page.0
        .query_selector("input[value='top_keep_own_bottom']")
        .unwrap()
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
    generate(&page.0);
    wait_for(&page.0, "img[alt='Your try-on result']").await;

    let calls = calls_to("keep.test");
    assert_eq!(
        calls[1],
        "POST /api/v1/services/vision/image-process/process application/json"
    );
    let segment = body_of("keep.test", "image-process");
    assert!(
        segment.contains(r#""model":"aitryon-parsing-v1""#),
        "{segment}"
    );
    assert!(
        segment.contains(r#""image_url":"https://keep.test/api/v1/tryon/files/u1""#),
        "{segment}"
    );
    assert!(segment.contains(r#""clothes_type":["lower"]"#), "{segment}");
    let body = create_body("keep.test");
    assert!(
        body.contains(r#""bottom_garment_url":"https://keep.test/api/v1/tryon/files/crop""#),
        "{body}"
    );
    assert!(
        body.contains(r#""top_garment_url":"https://shop.test/samples/top-tee.png""#),
        "{body}"
    );
}

/// The values of the offered (not hidden) options of the picture size choice, in order.
fn size_options(root: &HtmlElement) -> Vec<String> {
    let options = root
        .query_selector_all("select.vto-size option:not([hidden])")
        .unwrap();
    (0..options.length())
        .map(|n| {
            let option = options.item(n).unwrap();
            js_sys::Reflect::get(&option, &"value".into())
                .unwrap()
                .as_string()
                .unwrap_or_default()
        })
        .collect()
}

/// The offer of a successor-like upstream, from its capabilities answer as the loader
/// hands it over: it cannot keep the shopper's own bottoms, has no "same as my photo"
/// size, words the face choice as best effort and takes no HEIC (nor knows TIFF here).
fn successor_like_offer() -> Offer {
    let answer = js_sys::JSON::parse(
        r#"{"upstream":"qwen-image","model":"qwen-image-2.0",
        "modes":["top_only","bottom_only","bottom_keep_own_top","top_and_bottom","dress"],
        "resolutions":[1024,1280],"original_size_exact":false,"face_choice":"best_effort",
        "keep_own_garment":"prompt","refinement":false,
        "photo_formats":["jpeg","png","bmp","webp","tiff"],"recommended_photo_side_px":[384,3072]}"#,
    )
    .unwrap();
    Offer::from_js(&answer).unwrap()
}

#[wasm_bindgen_test]
async fn the_dialog_offers_only_what_the_upstream_can_do() {
    install_fake_fetch();
    let clock = TestClock::running();
    let (page, _mounted) = mount_offering("caps.test", successor_like_offer(), &clock);
    tick().await;
    let new_face = wait_for(&page.0, ".vto-face input[data-face='best_effort']").await;
    let label = new_face.parent_element().unwrap().text_content().unwrap();
    assert_eq!(label, "Try for a new face (not guaranteed)");
    // A top's second mode keeps the shopper's own bottoms, which this upstream cannot do,
    // so one mode is left and there is nothing to choose.
    assert!(page.0.query_selector(".vto-modes").unwrap().is_none());
    assert_eq!(size_options(&page.0), ["1024", "1280"]);
    let select = page.0.query_selector("select.vto-size").unwrap().unwrap();
    assert_eq!(
        js_sys::Reflect::get(&select, &"value".into()).unwrap(),
        "1024",
        "the first offered size is chosen"
    );
    let file = page.0.query_selector("input.vto-file").unwrap().unwrap();
    assert_eq!(
        file.get_attribute("accept").as_deref(),
        Some("image/jpeg,image/png,image/bmp,image/webp")
    );

    // A HEIC photo is refused for its format as soon as it is chosen, and never uploaded.
    let mut heic = vec![0, 0, 0, 24];
    heic.extend(b"ftypheic\0\0\0\0mif1heic");
    heic.resize(6 * 1024, 0);
    choose(&page.0, &heic, "image/heic");
    let alert = wait_for(&page.0, "[role='alert']").await;
    assert_eq!(
        alert.text_content().unwrap(),
        "HEIC photos cannot be used for try-on here.Please choose a JPEG, PNG, BMP or WEBP photo."
    );
    page.0
        .query_selector("button[type='submit']")
        .unwrap()
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
    // "Generate" starts a try-on anyway; it ends at the photo's format, before any call.
    assert_eq!(clock.started(), 2, "a try-on started");
    clock.all_ended().await;
    assert_eq!(
        calls_to("caps.test"),
        Vec::<String>::new(),
        "nothing uploaded"
    );
}

#[wasm_bindgen_test]
async fn without_capabilities_the_dialog_offers_everything() {
    install_fake_fetch();
    let (page, _mounted) = mount_dialog("ok.test", &TestClock::running());
    tick().await;
    assert_eq!(
        page.0
            .query_selector_all(".vto-modes input")
            .unwrap()
            .length(),
        2
    );
    assert_eq!(size_options(&page.0), ["-1", "1024", "1280"]);
    assert!(
        page.0
            .query_selector(".vto-face input[data-face='exact']")
            .unwrap()
            .is_some()
    );
    let file = page.0.query_selector("input.vto-file").unwrap().unwrap();
    assert_eq!(file.get_attribute("accept").as_deref(), Some("image/*"));
}

#[wasm_bindgen_test]
async fn a_create_answered_with_a_503_is_sent_again_with_the_same_key_and_body() {
    install_fake_fetch();
    let clock = TestClock::running();
    let (page, _mounted) = mount_dialog("retry.test", &clock);
    tick().await;
    generate(&page.0);
    let result = wait_for(&page.0, "img[alt='Your try-on result']").await;
    assert_eq!(
        result.get_attribute("src").as_deref(),
        Some("https://retry.test/api/v1/tryon/files/result")
    );
    assert!(
        page.0.query_selector("[role='alert']").unwrap().is_none(),
        "a 503 to the create is not a failure"
    );

    let first = creates("retry.test");
    assert_eq!(first.len(), 2, "the 503, then the repeat: {first:?}");
    let (key, body) = &first[0];
    assert!(
        tryon_api::IdempotencyKey::parse(key).is_ok(),
        "the create carries a valid key: {key:?}"
    );
    assert_eq!(
        &first[1], &first[0],
        "the repeat carries the same key and body"
    );
    assert!(body.contains(r#""model":"aitryon-plus""#), "{body}");
    clock.all_ended().await;
    assert_eq!(
        clock.now_ms(),
        2_000.0,
        "the repeat waits the contract's first back-off (a second) on the flow's clock; \
         then the seconds counter's next tick finds the try-on over"
    );

    // Another press of "Generate" is another attempt, with a key of its own.
    let (page, _mounted) = mount_dialog("retry.test", &clock);
    tick().await;
    generate(&page.0);
    wait_for(&page.0, "img[alt='Your try-on result']").await;
    let again = creates("retry.test");
    assert_eq!(again.len(), 3, "{again:?}");
    assert_ne!(again[2].0, *key, "a new press makes a new key");
}

/// Mounts an open widget for the proxy at `host` that runs on `clock`, with the "Try it
/// on" button that opened it on the page, so that the focus can go back to it.
fn open_widget(host: &str, clock: &TestClock) -> (Attached, HtmlElement, impl Drop + use<>) {
    let document = web_sys::window().unwrap().document().unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let opener: HtmlElement = document.create_element("button").unwrap().unchecked_into();
    opener.set_text_content(Some("Try it on"));
    root.append_child(&opener).unwrap();
    let config = WidgetConfig::top(
        &format!("https://{host}"),
        "https://shop.test/samples/top-tee.png",
        "Classic Tee",
        Locale::En,
    );
    let (clock, button) = (clock.clock(), opener.clone());
    let mounted = leptos::mount::mount_to(root.clone(), move || {
        let open = RwSignal::new(true);
        view! { <TryOnWidget config open opener=button clock /> }
    });
    (Attached(root), opener, mounted)
}

/// Mounts an open widget like [`open_widget`], but inside an open shadow root of a host
/// element, as the loader mounts it on a product page; answers the host (whose removal
/// ends the test's page), the root the widget is mounted to and its opener.
fn open_widget_in_shadow(
    host: &str,
    clock: &TestClock,
) -> (Attached, HtmlElement, HtmlElement, impl Drop + use<>) {
    let document = web_sys::window().unwrap().document().unwrap();
    let element: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&element).unwrap();
    let attach =
        js_sys::Function::new_with_args("host", "return host.attachShadow({ mode: 'open' })");
    let shadow: web_sys::Node = attach
        .call1(&JsValue::NULL, &element)
        .unwrap()
        .unchecked_into();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    shadow.append_child(&root).unwrap();
    let opener: HtmlElement = document.create_element("button").unwrap().unchecked_into();
    opener.set_text_content(Some("Try it on"));
    root.append_child(&opener).unwrap();
    let config = WidgetConfig::top(
        &format!("https://{host}"),
        "https://shop.test/samples/top-tee.png",
        "Classic Tee",
        Locale::En,
    );
    let (clock, button) = (clock.clock(), opener.clone());
    let mounted = leptos::mount::mount_to(root.clone(), move || {
        let open = RwSignal::new(true);
        view! { <TryOnWidget config open opener=button clock /> }
    });
    (Attached(element), root, opener, mounted)
}

/// The element that has the focus, if any, looking into open shadow roots: there the
/// document only knows the host, and the root itself knows which of its elements it is.
fn active() -> Option<web_sys::Element> {
    let mut focused = web_sys::window()?.document()?.active_element()?;
    while let Some(inner) = focused
        .shadow_root()
        .and_then(|shadow| shadow.active_element())
    {
        focused = inner;
    }
    Some(focused)
}

/// Presses "Generate" as a keyboard user does: the button has the focus when it is pressed,
/// and is disabled right after, which drops the focus unless the dialog moves it.
fn generate_from_the_keyboard(root: &HtmlElement) {
    root.query_selector("button.vto-generate")
        .unwrap()
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .focus()
        .unwrap();
    generate(root);
}

/// Waits until the focus is on the element under `root` that matches `selector`.
async fn focus_on(root: &HtmlElement, selector: &str) -> web_sys::Element {
    let wanted = selector.to_owned();
    wait_until(root, &format!("focus on {selector}"), move || {
        active().filter(|element| element.matches(&wanted).unwrap_or(false))
    })
    .await
}

/// Dispatches an Escape keydown on the focused element, as the keyboard would.
fn press_escape() {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Escape");
    init.set_bubbles(true);
    // A key pressed on a real keyboard is composed: it leaves a shadow root for the page.
    init.set_composed(true);
    init.set_cancelable(true);
    let event =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    active()
        .expect("something has the focus")
        .dispatch_event(&event)
        .unwrap();
}

/// Waits until the dialog under `root` has closed.
async fn dialog_closed(root: &HtmlElement) {
    let under = root.clone();
    wait_until(root, "the dialog closing", move || {
        under
            .query_selector("[role='dialog']")
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
}

/// Asserts that the focus is inside the dialog under `root`, and answers the focused element.
fn focus_inside_the_dialog(root: &HtmlElement, when: &str) -> web_sys::Element {
    let dialog = root
        .query_selector("[role='dialog']")
        .unwrap()
        .expect("the dialog is open");
    let focused = active().expect("something has the focus");
    assert!(
        dialog.contains(Some(&focused)),
        "{when}, the focus is inside the dialog, not on <{}> {:?}",
        focused.tag_name(),
        focused.class_name()
    );
    focused
}

#[wasm_bindgen_test]
async fn the_focus_stays_in_the_dialog_while_it_works_and_lands_on_the_result() {
    install_fake_fetch();
    // Held, the clock keeps the try-on in its queued stage while the test looks at it.
    let clock = TestClock::held();
    let (page, opener, _mounted) = open_widget("ok.test", &clock);
    tick().await;
    generate_from_the_keyboard(&page.0);

    wait_for(&page.0, ".vto-step-current").await;
    let generate = page
        .0
        .query_selector("button.vto-generate")
        .unwrap()
        .unwrap();
    assert!(
        generate.has_attribute("disabled"),
        "Generate is disabled while it works"
    );
    let during = focus_inside_the_dialog(&page.0, "while the try-on runs");
    assert_eq!(
        during.class_name(),
        "vto-progress",
        "the progress region holds the focus"
    );

    clock.run();
    let heading = focus_on(&page.0, ".vto-result-title").await;
    assert_eq!(heading.text_content().unwrap(), "Your try-on");
    focus_inside_the_dialog(&page.0, "after the result");

    press_escape();
    dialog_closed(&page.0).await;
    assert_eq!(
        active().as_ref(),
        Some(opener.unchecked_ref::<web_sys::Element>()),
        "the focus returns to the opener"
    );
    clock.all_ended().await;
}

#[wasm_bindgen_test]
async fn after_an_error_the_focus_is_on_it_and_escape_still_closes() {
    install_fake_fetch();
    let clock = TestClock::running();
    let (page, opener, _mounted) = open_widget("bad.test", &clock);
    tick().await;
    generate_from_the_keyboard(&page.0);

    let heading = focus_on(&page.0, "[role='alert'] .vto-error-what").await;
    assert_eq!(
        heading.text_content().unwrap(),
        "We could not find exactly one person in your photo."
    );
    focus_inside_the_dialog(&page.0, "after an error");

    press_escape();
    dialog_closed(&page.0).await;
    assert_eq!(
        active().as_ref(),
        Some(opener.unchecked_ref::<web_sys::Element>()),
        "the focus returns to the opener"
    );
    clock.all_ended().await;
}

#[wasm_bindgen_test]
async fn escape_closes_the_dialog_while_a_try_on_waits_in_the_queue() {
    install_fake_fetch();
    // Held, the clock keeps the flow in its pause after the first quiet poll.
    let clock = TestClock::held();
    let (page, opener, _mounted) = open_widget("queued.test", &clock);
    tick().await;
    generate_from_the_keyboard(&page.0);
    wait_for(&page.0, ".vto-status-queue").await;
    focus_inside_the_dialog(&page.0, "while the try-on waits in the queue");

    press_escape();
    dialog_closed(&page.0).await;
    assert_eq!(
        active().as_ref(),
        Some(opener.unchecked_ref::<web_sys::Element>()),
        "the focus returns to the opener"
    );
    // Closed, the dialog lets its try-on go: the flow cancels the queued task and ends.
    clock.run();
    clock.all_ended().await;
    let calls = calls_to("queued.test");
    assert_eq!(
        calls.last().map(String::as_str),
        Some("POST /api/v1/tasks/task-queued.test/cancel "),
        "{calls:?}"
    );
}

#[wasm_bindgen_test]
async fn canceling_moves_the_focus_to_the_canceled_message() {
    install_fake_fetch();
    let clock = TestClock::held();
    let (page, _opener, _mounted) = open_widget("queued.test", &clock);
    tick().await;
    generate_from_the_keyboard(&page.0);
    let cancel: HtmlElement = wait_for(&page.0, "button.vto-cancel")
        .await
        .unchecked_into();
    // The Cancel button has the focus when pressed, and goes away with the run.
    cancel.focus().unwrap();
    cancel.click();
    focus_on(&page.0, "[role='alert'] .vto-error-what").await;
    focus_inside_the_dialog(&page.0, "after canceling");
    clock.run();
    clock.all_ended().await;
}

#[wasm_bindgen_test]
async fn escape_closes_the_dialog_even_when_the_focus_fell_to_the_page() {
    install_fake_fetch();
    let clock = TestClock::running();
    let (page, opener, _mounted) = open_widget("ok.test", &clock);
    tick().await;
    // Whatever dropped it, focus on the page body must not make Escape deaf.
    if let Some(focused) = active() {
        focused.unchecked_into::<HtmlElement>().blur().unwrap();
    }
    assert_eq!(
        active().map(|element| element.tag_name()).as_deref(),
        Some("BODY")
    );
    press_escape();
    dialog_closed(&page.0).await;
    assert_eq!(
        active().as_ref(),
        Some(opener.unchecked_ref::<web_sys::Element>()),
        "the focus returns to the opener"
    );
}

#[wasm_bindgen_test]
async fn in_a_shadow_root_too_the_focus_stays_inside_and_escape_closes() {
    install_fake_fetch();
    let clock = TestClock::held();
    let (_page, root, opener, _mounted) = open_widget_in_shadow("ok.test", &clock);
    tick().await;
    generate_from_the_keyboard(&root);
    wait_for(&root, ".vto-step-current").await;
    let during = focus_inside_the_dialog(&root, "while the try-on runs");
    assert_eq!(during.class_name(), "vto-progress");

    clock.run();
    focus_on(&root, ".vto-result-title").await;
    press_escape();
    dialog_closed(&root).await;
    assert_eq!(
        active().as_ref(),
        Some(opener.unchecked_ref::<web_sys::Element>()),
        "the focus returns to the opener"
    );
    clock.all_ended().await;
}

#[wasm_bindgen_test]
async fn focus_that_fell_to_the_page_is_taken_back_when_the_dialog_changes() {
    install_fake_fetch();
    let (page, _opener, _mounted) = open_widget("ok.test", &TestClock::running());
    tick().await;
    if let Some(focused) = active() {
        focused.unchecked_into::<HtmlElement>().blur().unwrap();
    }
    assert_eq!(
        active().map(|element| element.tag_name()).as_deref(),
        Some("BODY")
    );
    // A new photo is a change of the dialog's phase: once it is drawn, the dialog finds
    // the focus on nothing and takes it back.
    choose(&page.0, &photo(), "image/png");
    focus_on(&page.0, ".vto-progress").await;
}

/// Mounts the dialog of product `name` (its id is `id`) for the proxy at `host`, attached
/// to the page, with a host element whose `tryon:add-to-cart` events land in `carts` as
/// "product task" lines.
fn mount_product(
    host: &str,
    name: &str,
    id: &str,
    clock: &TestClock,
    carts: Rc<RefCell<Vec<String>>>,
) -> (Attached, impl Drop + use<>) {
    let document = web_sys::window().unwrap().document().unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let listener = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::CustomEvent)>::new(
        move |event: web_sys::CustomEvent| {
            let detail = event.detail();
            carts.borrow_mut().push(format!(
                "{} {}",
                field(&detail, "productId"),
                field(&detail, "taskId")
            ));
        },
    );
    root.add_event_listener_with_callback("tryon:add-to-cart", listener.as_ref().unchecked_ref())
        .unwrap();
    listener.forget();
    let config = WidgetConfig {
        product_id: id.to_owned(),
        shopper_token: Some("token-of-this-shopper".to_owned()),
        ..WidgetConfig::top(
            &format!("https://{host}"),
            &format!("https://shop.test/samples/{id}.png"),
            name,
            Locale::En,
        )
    };
    let clock = clock.clock();
    let target: web_sys::EventTarget = root.clone().into();
    let mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { <TryOnDialog config on_close=|| {} host=Some(target) clock /> }
    });
    (Attached(root), mounted)
}

fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

/// What the browser keeps for the proxy at `host`: the record and the shopper token.
fn stored_for(host: &str) -> (Option<String>, Option<String>) {
    let proxy = format!("https://{host}");
    let storage = local_storage();
    (
        storage.get_item(&remembered::record_key(&proxy)).unwrap(),
        storage.get_item(&remembered::token_key(&proxy)).unwrap(),
    )
}

fn click(root: &HtmlElement, selector: &str) {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector}"))
        .unchecked_into::<HtmlElement>()
        .click();
}

fn press_generate(root: &HtmlElement) {
    click(root, "button[type='submit']");
}

/// The product names "My looks" lists, in order.
fn listed_looks(root: &HtmlElement) -> Vec<String> {
    let names = root.query_selector_all(".vto-look-name").unwrap();
    (0..names.length())
        .map(|index| names.item(index).unwrap().text_content().unwrap())
        .collect()
}

#[wasm_bindgen_test]
async fn a_remembered_photo_makes_the_next_products_try_on_with_no_upload() {
    install_fake_fetch();
    let host = "mem.remember.test";
    let clock = TestClock::running();
    let carts = Rc::new(RefCell::new(Vec::new()));

    // The tee: a fresh photo, with "Remember my photo on this shop" ticked.
    let (page, mounted) = mount_product(host, "Classic Tee", "tee", &clock, carts.clone());
    tick().await;
    let remember = wait_for(&page.0, "input.vto-remember-input").await;
    assert!(
        !remember
            .unchecked_ref::<web_sys::HtmlInputElement>()
            .checked(),
        "unticked until the shopper ticks it"
    );
    remember.unchecked_ref::<HtmlElement>().click();
    generate(&page.0);
    wait_for(&page.0, "img[alt='Your try-on result']").await;
    clock.all_ended().await;
    let (record, token) = stored_for(host);
    let record = record.expect("the photo is remembered");
    assert!(
        record.contains(r#""url":"https://mem.remember.test/api/v1/tryon/files/p1""#),
        "{record}"
    );
    assert_eq!(token.as_deref(), Some("token-of-this-shopper"));
    drop(mounted);
    drop(page);

    // The shirt, on another dialog: the photo is chosen already, and no file is picked.
    let (page, _mounted) = mount_product(host, "Oxford Shirt", "shirt", &clock, carts.clone());
    tick().await;
    let saved = wait_for(&page.0, ".vto-saved:not([hidden])").await;
    assert!(saved.text_content().unwrap().contains("Your saved photo"));
    assert_eq!(listed_looks(&page.0), ["Classic Tee"]);
    press_generate(&page.0);
    wait_for(
        &page.0,
        ".vto-result-img[src='https://mem.remember.test/api/v1/tryon/files/result-t2']",
    )
    .await;
    clock.all_ended().await;
    let calls = calls_to(host);
    assert_eq!(
        calls
            .iter()
            .filter(|call| call.starts_with("POST /api/v1/tryon/uploads"))
            .count(),
        1,
        "one upload for both products: {calls:?}"
    );
    assert!(
        calls.contains(&"GET /api/v1/tryon/uploads/p1 ".to_owned()),
        "the dialog asked whether the photo is still kept: {calls:?}"
    );
    let second = creates(host).pop().unwrap().1;
    assert!(
        second.contains(r#""person_image_url":"https://mem.remember.test/api/v1/tryon/files/p1""#),
        "{second}"
    );
    assert!(
        second.contains(r#""top_garment_url":"https://shop.test/samples/shirt.png""#),
        "{second}"
    );

    // Both looks are listed, newest first; the tee's look shown large adds the tee.
    assert_eq!(listed_looks(&page.0), ["Oxford Shirt", "Classic Tee"]);
    click(&page.0, ".vto-look:nth-child(2) .vto-look-show");
    wait_for(
        &page.0,
        ".vto-result-img[src='https://mem.remember.test/api/v1/tryon/files/result-t1']",
    )
    .await;
    click(&page.0, ".vto-cart");
    assert_eq!(*carts.borrow(), ["tee t1"]);

    // Two ticked looks stand side by side.
    click(&page.0, ".vto-look:nth-child(1) .vto-look-compare input");
    click(&page.0, ".vto-look:nth-child(2) .vto-look-compare input");
    let pair = wait_for(&page.0, ".vto-side-by-side").await;
    assert_eq!(
        pair.text_content().unwrap(),
        "Oxford ShirtClassic Tee",
        "both looks with their products' names"
    );
    remembered::forget(&format!("https://{host}"));
}

#[wasm_bindgen_test]
async fn without_consent_nothing_is_kept_in_the_browser() {
    install_fake_fetch();
    let host = "nokeep.remember.test";
    let clock = TestClock::running();
    let (page, mounted) = mount_product(host, "Classic Tee", "tee", &clock, Rc::default());
    tick().await;
    generate(&page.0);
    wait_for(&page.0, "img[alt='Your try-on result']").await;
    clock.all_ended().await;
    assert_eq!(stored_for(host), (None, None));
    drop(mounted);
    drop(page);
    // The next dialog of the page asks for a photo again; this page's looks stay listed.
    let (page, _mounted) = mount_product(host, "Oxford Shirt", "shirt", &clock, Rc::default());
    tick().await;
    wait_for(&page.0, ".vto-looks:not([hidden])").await;
    assert!(
        page.0
            .query_selector(".vto-saved:not([hidden])")
            .unwrap()
            .is_none()
    );
    assert!(page.0.query_selector("img.vto-chosen").unwrap().is_none());
    assert_eq!(listed_looks(&page.0), ["Classic Tee"]);
}

/// Remembers a photo for `host` as an earlier visit would have.
fn remember_earlier(host: &str) {
    let proxy = format!("https://{host}");
    remembered::consent(&proxy, Some("token-of-this-shopper"), js_sys::Date::now());
    remembered::keep_photo(
        &proxy,
        &remembered::KeptPhoto {
            id: "p9".to_owned(),
            url: format!("https://{host}/api/v1/tryon/files/p9"),
            thumbnail: String::new(),
            expires_at_ms: js_sys::Date::now() + 3_600_000.0,
        },
    );
}

#[wasm_bindgen_test]
async fn forget_my_photo_deletes_it_on_the_proxy_and_in_the_browser() {
    install_fake_fetch();
    let host = "forget.remember.test";
    remember_earlier(host);
    let clock = TestClock::running();
    let (page, _mounted) = mount_product(host, "Classic Tee", "tee", &clock, Rc::default());
    tick().await;
    wait_for(&page.0, ".vto-saved:not([hidden])").await;
    click(&page.0, ".vto-forget");
    let notice = wait_until(&page.0, "the forgotten notice", {
        let root = page.0.clone();
        move || {
            let text = root.query_selector(".vto-notice").ok()??.text_content()?;
            (!text.is_empty()).then_some(text)
        }
    })
    .await;
    assert_eq!(
        notice,
        "Your photo is forgotten: deleted in this browser and by the shop."
    );
    assert!(calls_to(host).contains(&"DELETE /api/v1/tryon/uploads/p9 ".to_owned()));
    assert_eq!(stored_for(host), (None, None));
    assert!(
        page.0
            .query_selector(".vto-saved:not([hidden])")
            .unwrap()
            .is_none()
    );
    let remember: web_sys::HtmlInputElement = page
        .0
        .query_selector("input.vto-remember-input")
        .unwrap()
        .unwrap()
        .unchecked_into();
    assert!(!remember.checked());
    press_generate(&page.0);
    let alert = wait_for(&page.0, "[role='alert']").await;
    assert!(
        alert
            .text_content()
            .unwrap()
            .starts_with("Please choose a photo first."),
        "no photo is chosen any more"
    );
}

#[wasm_bindgen_test]
async fn a_photo_the_shop_no_longer_keeps_is_noticed_and_a_new_one_asked_for() {
    install_fake_fetch();
    let host = "gone.remember.test";
    remember_earlier(host);
    let clock = TestClock::running();
    let (page, _mounted) = mount_product(host, "Classic Tee", "tee", &clock, Rc::default());
    tick().await;
    clock.all_ended().await;
    assert_eq!(
        text_of(&page.0, ".vto-notice"),
        "The shop no longer keeps your saved photo. Please choose a photo again."
    );
    assert!(
        page.0.query_selector("[role='alert']").unwrap().is_none(),
        "not an error"
    );
    assert!(
        page.0
            .query_selector(".vto-saved:not([hidden])")
            .unwrap()
            .is_none()
    );
    let (record, _) = stored_for(host);
    assert!(
        !record.expect("the consent stays").contains("p9"),
        "the photo is dropped from the browser"
    );
    remembered::forget(&format!("https://{host}"));
}

fn text_of(root: &HtmlElement, selector: &str) -> String {
    root.query_selector(selector)
        .unwrap()
        .and_then(|element| element.text_content())
        .unwrap_or_default()
}

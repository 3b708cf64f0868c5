//! The try-on dialog: photo (file, drop, camera, sample model), how to wear it, options, "Generate", the wait, the result.
//!
//! It offers only what the proxy's current upstream can do (`config.offer`, which the
//! loader asked the proxy for on the first tap); without an answer it offers everything.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};

use leptos::either::EitherOf3;
use leptos::ev::{KeyboardEvent, MouseEvent, SubmitEvent};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use tryon_api::generation::FaceChoice;
use tryon_api::proxy::UploadResponse;
use tryon_api::{ErrorKind, Resolution, TaskStatus};
use wasm_bindgen::JsCast;

use crate::api::{self, Proxy};
use crate::clock::Clock;
use crate::config::WidgetConfig;
use crate::error_view::ErrorView;
use crate::events::{Emitter, Field, name};
use crate::flow::{self, Job, Phase, Photo};
use crate::i18n;
use crate::looks::MyLooks;
use crate::mode::{self, Choices};
use crate::photo;
use crate::photo_picker::{PhotoPicker, PickerIds};
use crate::problem::Problem;
use crate::remembered::{self, KeptPhoto, Look};
use crate::result_view::ResultView;
use crate::slot::mount_in_slot;
use crate::status_view::StatusView;

/// Makes element ids unique when a page holds several widgets.
static NEXT_DIALOG: AtomicU32 = AtomicU32::new(0);

/// The photo the shopper chose, kept outside the reactive graph (a `Blob` is not `Send`).
#[derive(Default)]
struct Chosen {
    /// The file, until the proxy keeps it; `None` for a remembered photo.
    blob: Option<web_sys::Blob>,
    /// The object URL of the preview, revoked when another photo replaces it.
    preview: Option<String>,
    /// The upload the proxy keeps of this photo (id and URL): a remembered photo, or one
    /// an earlier "Generate" of this dialog uploaded, which is not uploaded again.
    kept: Option<(String, String)>,
}

impl Chosen {
    /// What "Generate" starts from, if a photo was chosen.
    fn photo(&self) -> Option<Photo> {
        match (&self.kept, &self.blob) {
            (Some((_, url)), _) => Some(Photo::Kept { url: url.clone() }),
            (None, Some(blob)) => Some(Photo::Fresh(blob.clone())),
            (None, None) => None,
        }
    }

    /// Forgets the chosen photo, and frees its preview.
    fn clear(&mut self) {
        self.blob = None;
        self.kept = None;
        if let Some(old) = self.preview.take() {
            let _ = web_sys::Url::revoke_object_url(&old);
        }
    }
}

/// What the result area below the status shows, when it shows something.
#[derive(Clone, PartialEq)]
enum Outcome {
    /// A run is busy: its "Cancel".
    Cancel,
    /// The last run failed: why, and what to do.
    Error(Problem),
    /// A look: the newest result, or the one picked in "My looks".
    Look(Look),
}

/// The modal dialog of one widget. It owns the running try-on: closing the dialog
/// disposes its signals, which tells the flow and the seconds counter to stop.
#[component]
pub fn TryOnDialog(
    /// The widget's settings.
    config: WidgetConfig,
    /// Called when the shopper closes the dialog (close button, Escape, or the backdrop when idle).
    #[prop(into)]
    on_close: Callback<()>,
    /// The element that receives the widget's events (the `<virtual-tryon>` host).
    #[prop(default = None)]
    host: Option<web_sys::EventTarget>,
    /// The clock the try-ons run on: the browser's, unless a test drives one.
    #[prop(optional)]
    clock: Clock,
) -> impl IntoView {
    let locale = config.locale;
    let texts = i18n::texts(locale);
    let n = NEXT_DIALOG.fetch_add(1, Ordering::Relaxed);
    let title_id = format!("vto-title-{n}");
    let input_id = format!("vto-photo-{n}");
    let picker_ids = PickerIds {
        input: input_id.clone(),
        hint: format!("vto-photo-hint-{n}"),
        consent: format!("vto-consent-{n}"),
        remember: format!("vto-remember-{n}"),
    };
    let looks_title_id = format!("vto-looks-{n}");
    let size_id = format!("vto-size-{n}");

    let emitter = StoredValue::new_local(Emitter::new(host, &config.product_id));
    let chosen = StoredValue::new_local(Chosen::default());
    let abort = StoredValue::new_local(None::<web_sys::AbortController>);
    let preview = RwSignal::new(None::<String>);
    // What is remembered for this shop (see `remembered`): a photo the shopper asked to be
    // remembered is chosen from the start, and the looks of the visit are listed.
    let shop = StoredValue::new(config.proxy.clone());
    let token = StoredValue::new(config.shopper_token.clone());
    let retention_ms = f64::from(config.retention_hours) * 3_600_000.0;
    let remembered_photo = remembered::kept_photo(&config.proxy, js_sys::Date::now());
    let remember = RwSignal::new(remembered::is_remembering(&config.proxy));
    let saved = RwSignal::new(remembered_photo.is_some());
    let notice = RwSignal::new(None::<&'static str>);
    let looks = RwSignal::new(remembered::looks(&config.proxy, js_sys::Date::now()));
    let shown = RwSignal::new(None::<Look>);
    if let Some(photo) = &remembered_photo {
        chosen.update_value(|chosen| chosen.kept = Some((photo.id.clone(), photo.url.clone())));
        // A photo remembered without a thumbnail is shown from the proxy itself.
        let thumbnail = Some(photo.thumbnail.clone()).filter(|thumbnail| !thumbnail.is_empty());
        preview.set(thumbnail.or_else(|| Some(photo.url.clone())));
    }
    let phase = RwSignal::new(Phase::Idle);
    let elapsed = RwSignal::new(0_u32);
    let kind = config.kind;
    // The offer is fixed for the dialog's life, so the choices are drawn from it once and
    // nothing on screen depends on it reactively (reactive views cost the bundle dearly).
    let offer = config.offer;
    let choices = RwSignal::new(offer.fit(kind, Choices::for_kind(kind)));
    // Each "Generate" gets a number; a run stops as soon as it is no longer the latest,
    // or as soon as this signal is disposed with the dialog.
    let run_number = RwSignal::new(0_u32);
    let input_ref = NodeRef::<html::Input>::new();
    let close_ref = NodeRef::<html::Button>::new();
    let dialog_ref = NodeRef::<html::Div>::new();
    let progress_ref = NodeRef::<html::Div>::new();
    // The progress and the result appear below the form, out of sight in a dialog that
    // scrolls (any phone, many laptops): bring them into view when they change, on the
    // next frame so that the new content is already laid out.
    let reveal_progress = move || {
        request_animation_frame(move || {
            // The dialog may have closed before the frame came.
            if let Some(progress) = progress_ref.try_get_untracked().flatten() {
                progress.scroll_into_view();
            }
        });
    };

    // Focus moves into the dialog when it opens, as a modal dialog requires.
    Effect::new(move |_| {
        if let Some(button) = close_ref.get() {
            let _ = button.focus();
        }
    });
    // Every change of phase disables, removes or replaces controls, and a focused control
    // that goes away leaves focus on the page body, where a keyboard user is lost behind
    // the backdrop. Once the change is drawn (the next frame), focus that fell to nothing
    // is given to the progress region, where the change is shown.
    Effect::new(move |_| {
        phase.track();
        request_animation_frame(move || {
            if let Some(progress) = progress_ref.try_get_untracked().flatten() {
                take_lost_focus(&progress);
            }
        });
    });

    let emit = move |event: &str, fields: &[(&str, Field<'_>)]| {
        // A photo check may end after the dialog closed: its event is then dropped.
        emitter.try_with_value(|emitter| emitter.emit(event, fields));
    };
    let report_problem = move |problem: Problem| {
        emit(name::ERROR, &[("code", Field::Text(&problem.code()))]);
        phase.set(Phase::Failed(problem));
    };

    // A new photo replaces the old one and is checked at once from its header, so a photo
    // the service would refuse is reported before the shopper presses anything.
    let choose = move |blob: web_sys::Blob, source: &'static str| {
        if phase.with_untracked(Phase::is_busy) {
            return;
        }
        let url = web_sys::Url::create_object_url_with_blob(&blob).ok();
        chosen.update_value(|chosen| {
            chosen.clear();
            chosen.blob = Some(blob.clone());
            chosen.preview = url.clone();
        });
        preview.set(url);
        saved.set(false);
        notice.set(None);
        phase.set(Phase::Idle);
        let bytes = blob.size();
        spawn_local(async move {
            match photo::inspect(&blob, offer).await {
                Ok((_, plan)) => emit(
                    name::PHOTO,
                    &[
                        ("source", Field::Text(source)),
                        ("bytes", Field::Number(bytes)),
                        ("width", Field::Number(f64::from(plan.width))),
                        ("height", Field::Number(f64::from(plan.height))),
                    ],
                ),
                Err(problem) => {
                    if !phase.try_with_untracked(Phase::is_busy).unwrap_or(true) {
                        report_problem(problem);
                    }
                }
            }
        });
    };

    let asset_base = config.asset_base.clone();
    let pick_sample = move |sample: &'static str| {
        let url = format!("{asset_base}{sample}.jpg");
        spawn_local(async move {
            match api::fetch_blob(&url).await {
                Some(blob) => {
                    if let Some(input) = input_ref.get_untracked() {
                        input.set_value("");
                    }
                    choose(blob, "sample");
                }
                None => report_problem(Problem::Network),
            }
        });
    };

    let job = Job {
        proxy: Proxy {
            base: config.proxy.clone(),
            token: config.shopper_token.clone(),
        },
        garments: config.garments.clone(),
        choices: choices.get_untracked(),
        offer,
        clock,
    };

    // The shop no longer keeps the remembered photo: it is dropped here too and, when
    // `say`, the shopper is asked for another one in a sentence rather than an error.
    let lose_photo = move |say: bool| {
        shop.with_value(|shop| remembered::drop_photo(shop));
        if saved.try_get_untracked() == Some(true) {
            chosen.try_update_value(Chosen::clear);
            preview.set(None);
            saved.set(false);
        }
        if say {
            notice.try_set(Some(texts.photo_expired));
        }
    };
    if let Some(photo) = remembered_photo {
        let proxy = job.proxy.clone();
        job.clock.spawn(async move {
            // Only the proxy's "not kept" loses the photo: offline, it may still be there.
            if proxy.upload_is_kept(&photo.id).await == Ok(false) {
                lose_photo(true);
            }
        });
    }
    // The callbacks of the photo field must be `Send`, which the clock is not: they
    // reach it through the dialog's own store.
    let dialog_clock = StoredValue::new_local(job.clock.clone());
    // Remembers the upload `id` at `url` of `blob`, with a thumbnail drawn from it.
    let keep = move |id: String, url: String, blob: web_sys::Blob| {
        let clock = dialog_clock.get_value();
        clock.spawn(async move {
            let thumbnail = photo::thumbnail(&blob).await.unwrap_or_default();
            let photo = KeptPhoto {
                id,
                url,
                thumbnail,
                expires_at_ms: js_sys::Date::now() + retention_ms,
            };
            shop.with_value(|shop| remembered::keep_photo(shop, &photo));
            saved.try_set(true);
        });
    };
    let on_remember = move |on: bool| {
        remember.set(on);
        notice.set(None);
        if !on {
            shop.with_value(|shop| remembered::forget(shop));
            saved.set(false);
            return;
        }
        shop.with_value(|shop| {
            token.with_value(|token| {
                remembered::consent(shop, token.as_deref(), js_sys::Date::now())
            })
        });
        // A photo this dialog already uploaded is remembered at once; any other is
        // remembered when "Generate" uploads it.
        let uploaded = chosen.with_value(|chosen| chosen.kept.clone().zip(chosen.blob.clone()));
        if let Some(((id, url), blob)) = uploaded {
            keep(id, url, blob);
        }
    };
    let on_forget = {
        let proxy = job.proxy.clone();
        move |()| {
            let photo = shop.with_value(|shop| remembered::kept_photo(shop, js_sys::Date::now()));
            shop.with_value(|shop| remembered::forget(shop));
            remember.set(false);
            chosen.update_value(Chosen::clear);
            preview.set(None);
            saved.set(false);
            let proxy = proxy.clone();
            dialog_clock.get_value().spawn(async move {
                let deleted = match photo {
                    Some(photo) => proxy.delete_upload(&photo.id).await.is_ok(),
                    None => true,
                };
                notice.try_set(Some(if deleted {
                    texts.photo_forgotten
                } else {
                    texts.network.0
                }));
            });
            if let Some(input) = input_ref.get_untracked() {
                let _ = input.focus();
            }
        }
    };
    let product_id = config.product_id.clone();
    let look_name = config.product_name.clone();

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if phase.with_untracked(Phase::is_busy) {
            return;
        }
        let Some(photo) = chosen.with_value(Chosen::photo) else {
            report_problem(Problem::NoPhoto);
            return;
        };
        notice.set(None);
        // "Generate" is disabled as soon as the run starts, and a disabled button drops
        // the focus, so the focus moves first to the progress region, which tells how
        // the run goes; the result or the error takes it from there when it appears.
        if let Some(progress) = progress_ref.get_untracked() {
            let _ = progress.focus();
        }
        let number = run_number.get_untracked().wrapping_add(1);
        run_number.set(number);
        elapsed.set(0);
        let mut job = job.clone();
        job.choices = choices.get_untracked();
        emit(
            name::SUBMIT,
            &[
                ("mode", Field::Text(mode::mode_name(job.choices.mode))),
                (
                    "resolution",
                    Field::Number(job.choices.resolution.as_wire() as f64),
                ),
                ("keepFace", Field::Flag(job.choices.keep_face)),
            ],
        );
        let controller = web_sys::AbortController::new().ok();
        let signal = controller.as_ref().map(web_sys::AbortController::signal);
        abort.set_value(controller);
        let alive = move || run_number.try_get_untracked() == Some(number);
        let clock = job.clock.clone();
        let started_ms = clock.now_ms();
        let last_status = Rc::new(RefCell::new(None::<TaskStatus>));
        let (product_id, look_name) = (product_id.clone(), look_name.clone());
        let report = move |next: Phase| {
            if !alive() {
                return;
            }
            match &next {
                // Every result becomes a look of the visit, and is the one shown.
                Phase::Done {
                    task_id,
                    image_url,
                    before_url,
                } => {
                    let look = Look {
                        task_id: task_id.clone(),
                        image_url: image_url.clone(),
                        before_url: before_url.clone(),
                        product_name: look_name.clone(),
                        product_id: product_id.clone(),
                        expires_at_ms: js_sys::Date::now() + retention_ms,
                    };
                    shop.with_value(|shop| {
                        remembered::add_look(shop, look.clone());
                        looks.set(remembered::looks(shop, js_sys::Date::now()));
                    });
                    shown.set(Some(look));
                }
                // The error says it already; the photo is dropped so the next is asked for.
                Phase::Failed(Problem::Catalogue(ErrorKind::PhotoExpired)) => lose_photo(false),
                _ => {}
            }
            match &next {
                Phase::Waiting {
                    task_id, status, ..
                } => {
                    let changed = last_status.borrow().as_ref() != Some(status);
                    if changed {
                        *last_status.borrow_mut() = Some(status.clone());
                        emit(
                            name::STATUS,
                            &[
                                ("taskId", Field::Text(task_id)),
                                ("status", Field::Text(status.as_str())),
                            ],
                        );
                    }
                }
                Phase::Done { task_id, .. } => emit(
                    name::RESULT,
                    &[
                        ("taskId", Field::Text(task_id)),
                        ("mode", Field::Text(mode::mode_name(job.choices.mode))),
                        (
                            "seconds",
                            Field::Number(((clock.now_ms() - started_ms) / 1000.0).round()),
                        ),
                    ],
                ),
                Phase::Failed(problem) => {
                    emit(name::ERROR, &[("code", Field::Text(&problem.code()))])
                }
                _ => {}
            }
            let ended = matches!(next, Phase::Done { .. } | Phase::Failed(_));
            phase.set(next);
            if ended {
                reveal_progress();
            }
        };
        let flow_job = job.clone();
        // A fresh photo, once stored, is not uploaded again by this dialog's next
        // "Generate", and is remembered when the shopper asked for it.
        let uploaded = move |upload: &UploadResponse, blob: &web_sys::Blob| {
            let kept = (upload.id.clone(), upload.url.clone());
            chosen.try_update_value(|chosen| chosen.kept = Some(kept));
            if remember.try_get_untracked() == Some(true) {
                keep(upload.id.clone(), upload.url.clone(), blob.clone());
            }
        };
        reveal_progress();
        job.clock.spawn(async move {
            flow::run(
                &flow_job,
                &photo,
                &report,
                &uploaded,
                &alive,
                signal.as_ref(),
            )
            .await;
        });
        job.clock
            .spawn(count_seconds(job.clock.clone(), phase, elapsed, alive));
    };

    // Stops the running try-on: the flow sees it is no longer the latest run, its long poll
    // is aborted, and on its way out it cancels the task if it is still queued.
    let stop = move || {
        run_number.update(|number| *number = number.wrapping_add(1));
        abort.update_value(|controller| {
            if let Some(controller) = controller.take() {
                controller.abort();
            }
        });
    };
    let on_cancel = move |_| {
        let task_id = phase.with_untracked(|phase| match phase {
            Phase::Waiting { task_id, .. } => task_id.clone(),
            _ => String::new(),
        });
        stop();
        emit(
            name::STATUS,
            &[
                ("taskId", Field::Text(&task_id)),
                ("status", Field::Text("CANCELED")),
            ],
        );
        phase.set(Phase::Failed(Problem::Canceled));
    };
    let close = move || {
        stop();
        on_close.run(());
    };
    let on_again = Callback::new(move |()| {
        chosen.update_value(Chosen::clear);
        preview.set(None);
        saved.set(false);
        shown.set(None);
        phase.set(Phase::Idle);
        if let Some(input) = input_ref.get_untracked() {
            input.set_value("");
            let _ = input.focus();
        }
    });

    // The keys are heard on the whole window while the dialog is open, not on the dialog
    // alone: focus that fell to the page body (or never left the page) would otherwise
    // take Escape and Tab past the dialog, and leave a keyboard user stuck behind it.
    // Keyboard events are composed, so they reach the window from inside a shadow root too.
    let on_key = move |event: KeyboardEvent| match event.key().as_str() {
        "Escape" => close(),
        "Tab" => {
            if let Some(dialog) = dialog_ref.try_get_untracked().flatten() {
                keep_focus_inside(&dialog, &event);
            }
        }
        _ => {}
    };
    let keys = window_event_listener(leptos::ev::keydown, on_key);
    on_cleanup(move || keys.remove());
    let on_backdrop = move |event: MouseEvent| {
        // Only a click on the backdrop itself closes (clicks inside the dialog bubble here
        // too), and never while a try-on runs: a stray click must not lose a paid picture.
        if event.target() == event.current_target() && !phase.with_untracked(Phase::is_busy) {
            close();
        }
    };

    // One memo that every control locked by a run reads: the phase changes with every
    // answer of a run, but the controls only when it starts or ends.
    let busy = Memo::new(move |_| phase.with(Phase::is_busy));
    let modes = offer.modes_for(kind);
    // A product none of whose modes the upstream can do cannot be tried on at all.
    let cannot_start = {
        let none = modes.is_empty();
        move || none || busy.get()
    };
    let face = offer.face;
    let best_effort = face == Some(FaceChoice::BestEffort);
    let offers = |size: Resolution| offer.offers_resolution(size);
    let one_size = offer.resolutions().len() < 2;
    let size = choices.get_untracked().resolution;
    let product_name = config.product_name.clone();
    // Below the status, a busy run shows its "Cancel"; otherwise the result area shows the
    // error of the last run, or the look shown: the newest result, or the one the shopper
    // picked in "My looks". It is drawn anew when that changes (see `slot`), not with
    // every answer of a run, so a focused "Cancel" stays where it is.
    let outcome = Memo::new(move |_| match phase.get() {
        busy if busy.is_busy() => Some(Outcome::Cancel),
        Phase::Failed(problem) => Some(Outcome::Error(problem)),
        _ => shown.get().map(Outcome::Look),
    });
    let outcome_slot = NodeRef::<html::Div>::new();
    mount_in_slot(outcome_slot, outcome, move |outcome| {
        outcome.map(|outcome| match outcome {
            Outcome::Cancel => EitherOf3::A(view! {
                <button type="button" class="vto-cancel" on:click=on_cancel>
                    {texts.cancel}
                </button>
            }),
            Outcome::Error(problem) => EitherOf3::B(view! { <ErrorView locale problem /> }),
            Outcome::Look(look) => {
                EitherOf3::C(view! { <ResultView locale look emitter on_again /> })
            }
        })
    });
    let on_show = move |look: Look| {
        if !phase.with_untracked(Phase::is_busy) {
            phase.set(Phase::Idle);
            shown.set(Some(look));
            reveal_progress();
        }
    };
    let garment = config.kind.preview(&config.garments);
    let mode_group = format!("vto-mode-{n}");
    let face_group = format!("vto-face-{n}");
    let samples = config.samples.then(|| config.asset_base.clone());
    let tips_base = config.asset_base.clone();
    // The view macro may evaluate attributes in any order, so every second use of an id
    // gets its own copy up front.
    let (labelled_by, size_for) = (title_id.clone(), size_id.clone());

    view! {
        <div class="vto-backdrop" on:click=on_backdrop>
            <div
                class="vto-dialog"
                role="dialog"
                aria-modal="true"
                aria-labelledby=labelled_by
                data-kind=config.kind.name()
                node_ref=dialog_ref
            >
                <header class="vto-header">
                    <h2 class="vto-title" id=title_id>
                        {texts.dialog_title}
                    </h2>
                    <button
                        type="button"
                        class="vto-close"
                        aria-label=texts.close
                        node_ref=close_ref
                        on:click=move |_| close()
                    >
                        "×"
                    </button>
                </header>
                // One column on a phone; beside each other on a desktop, where the form
                // keeps its width and the result and the looks take the rest.
                <div class="vto-body">
                <form class="vto-form" on:submit=on_submit>
                    {garment
                        .map(|src| {
                            view! {
                                <figure class="vto-garment">
                                    <img class="vto-garment-img" src=src alt=product_name.clone() />
                                    <figcaption>
                                        {texts.garment_caption} " " <strong>{product_name.clone()}</strong>
                                    </figcaption>
                                </figure>
                            }
                        })}
                    {(modes.len() > 1)
                        .then(|| {
                            view! {
                                <fieldset class="vto-modes">
                                    <legend class="vto-label">{texts.how_legend}</legend>
                                    {modes
                                        .iter()
                                        .enumerate()
                                        .map(|(index, &option)| {
                                            view! {
                                                <label class="vto-choice">
                                                    <input
                                                        type="radio"
                                                        name=mode_group.clone()
                                                        value=mode::mode_name(option)
                                                        checked=index == 0
                                                        disabled=busy
                                                        on:change=move |_| choices.update(|c| c.mode = option)
                                                    />
                                                    {mode::mode_label(locale, option)}
                                                </label>
                                            }
                                        })
                                        .collect_view()}
                                </fieldset>
                            }
                        })}
                    <PhotoPicker
                        locale
                        ids=picker_ids
                        accept=offer.accept_attribute()
                        busy
                        samples
                        tips_base
                        retention_hours=config.retention_hours
                        preview
                        saved
                        remember
                        notice
                        input_ref
                        on_file=move |(blob, source): (web_sys::Blob, &'static str)| choose(blob, source)
                        on_sample=pick_sample
                        on_remember
                        on_forget
                    />
                    <details class="vto-options">
                        <summary>{texts.options_summary}</summary>
                        // Options the upstream cannot do are drawn hidden rather than left out:
                        // one fixed structure keeps the bundle smaller than views that vary.
                        <fieldset class="vto-face" hidden=face.is_none()>
                            <legend class="vto-label">{texts.face_legend}</legend>
                            <label class="vto-choice">
                                <input
                                    type="radio"
                                    name=face_group.clone()
                                    value="keep"
                                    checked=true
                                    on:change=move |_| choices.update(|c| c.keep_face = true)
                                />
                                {texts.keep_face}
                            </label>
                            <label class="vto-choice">
                                <input
                                    type="radio"
                                    name=face_group
                                    value="new"
                                    data-face=if best_effort { "best_effort" } else { "exact" }
                                    on:change=move |_| choices.update(|c| c.keep_face = false)
                                />
                                {if best_effort { texts.new_face_best_effort } else { texts.new_face }}
                            </label>
                        </fieldset>
                        // A choice of one size is no choice: it is made without asking.
                        <label class="vto-label" for=size_for hidden=one_size>
                            {texts.size_label}
                        </label>
                        <select
                            class="vto-size"
                            id=size_id
                            hidden=one_size
                            on:change=move |event| {
                                let value = event_target_value(&event);
                                choices.update(|c| c.resolution = mode::resolution_from_value(&value));
                            }
                        >
                            <option
                                value="-1"
                                selected=size == Resolution::Original
                                hidden=!offers(Resolution::Original)
                                disabled=!offers(Resolution::Original)
                            >
                                {texts.size_original}
                            </option>
                            <option
                                value="1024"
                                selected=size == Resolution::Portrait1024
                                hidden=!offers(Resolution::Portrait1024)
                                disabled=!offers(Resolution::Portrait1024)
                            >
                                {texts.size_1024}
                            </option>
                            <option
                                value="1280"
                                selected=size == Resolution::Portrait1280
                                hidden=!offers(Resolution::Portrait1280)
                                disabled=!offers(Resolution::Portrait1280)
                            >
                                {texts.size_1280}
                            </option>
                        </select>
                    </details>
                    <button type="submit" class="vto-generate" disabled=cannot_start>
                        {texts.generate}
                    </button>
                </form>
                // Focusable from script only (tabindex -1): it holds the focus while a
                // run disables the form, and Tab never stops on it.
                <div class="vto-progress" tabindex="-1" node_ref=progress_ref>
                    <StatusView locale phase elapsed />
                    <div class="vto-outcome" node_ref=outcome_slot></div>
                </div>
                <MyLooks locale looks shown on_show title_id=looks_title_id />
                </div>
            </div>
        </div>
    }
}

/// What Tab can land on inside the dialog.
const FOCUSABLE: &str = "button:not([disabled]), input:not([disabled]), select, summary, a[href], [tabindex]:not([tabindex='-1'])";

/// The focused element as seen from `node`'s own root: inside a shadow root the document
/// only knows the host element, so the root's own `activeElement` is asked.
fn active_element_near(node: &web_sys::Node) -> Option<web_sys::Element> {
    let root = node.get_root_node();
    match root.dyn_ref::<web_sys::ShadowRoot>() {
        Some(shadow) => shadow.active_element(),
        None => web_sys::window()
            .and_then(|window| window.document())
            .and_then(|document| document.active_element()),
    }
}

/// Gives the focus to `fallback` when it fell to nothing (the page body, or no element),
/// which is what the browser does when the focused element is disabled or removed.
/// Focus that went somewhere on purpose (the opener, after the dialog closed) stays.
fn take_lost_focus(fallback: &web_sys::HtmlElement) {
    if !fallback.is_connected() {
        return;
    }
    // Inside a shadow root, an element of the root holding the focus is not lost.
    let root = fallback.get_root_node();
    if let Some(shadow) = root.dyn_ref::<web_sys::ShadowRoot>()
        && shadow.active_element().is_some()
    {
        return;
    }
    let Some(document) = fallback.owner_document() else {
        return;
    };
    let lost = match (document.active_element(), document.body()) {
        (None, _) => true,
        (Some(active), Some(body)) => active == *body,
        (Some(_), None) => false,
    };
    if lost {
        let _ = fallback.focus();
    }
}

/// Wraps Tab from the last focusable element to the first and Shift+Tab the other way,
/// so keyboard focus cannot wander onto the page behind a modal dialog.
fn keep_focus_inside(dialog: &web_sys::Element, event: &KeyboardEvent) {
    let Ok(focusable) = dialog.query_selector_all(FOCUSABLE) else {
        return;
    };
    let count = focusable.length();
    let (Some(first), Some(last)) = (
        focusable.item(0),
        count.checked_sub(1).and_then(|index| focusable.item(index)),
    ) else {
        return;
    };
    let active: Option<web_sys::Node> = active_element_near(dialog).map(Into::into);
    let inside = active
        .as_ref()
        .is_some_and(|node| dialog.contains(Some(node)));
    let target = match (event.shift_key(), active) {
        (true, Some(node)) if node == first => Some(last),
        (false, Some(node)) if node == last => Some(first),
        // Focus that somehow left the dialog is brought back to its start.
        _ if !inside => Some(first),
        _ => None,
    };
    if let Some(element) = target.and_then(|node| node.dyn_into::<web_sys::HtmlElement>().ok()) {
        event.prevent_default();
        let _ = element.focus();
    }
}

/// Counts the seconds of one run on `clock` while it is busy, once a second.
async fn count_seconds(
    clock: Clock,
    phase: RwSignal<Phase>,
    elapsed: RwSignal<u32>,
    alive: impl Fn() -> bool,
) {
    let started_ms = clock.now_ms();
    loop {
        clock.sleep(1_000).await;
        let busy = phase.try_with_untracked(Phase::is_busy).unwrap_or(false);
        if !alive() || !busy {
            return;
        }
        elapsed.set(((clock.now_ms() - started_ms) / 1_000.0) as u32);
    }
}

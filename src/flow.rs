//! One try-on from chosen photo to picture: prepare, upload, segment (keep-own modes), create (repeated safely under one idempotency key when its answer is lost), long-poll until it ends.
//!
//! The flow knows nothing of Leptos: it reports each [`Phase`] through a callback and asks
//! `alive` before every step, so the dialog can stop it by going away (or by the cancel
//! button) and tests or other front ends can drive it with plain closures.

use tryon_api::mode::{Garments, TryOnMode};
use tryon_api::poll::{DEFAULT_DEADLINE_MS, deadline_passed, delay_before_poll_ms};
use tryon_api::proxy::UploadResponse;
use tryon_api::wire::{CreateTaskRequest, CreateTaskResponse, MODEL_TRYON_PLUS, TaskOutput};
use tryon_api::{ErrorKind, IdempotencyKey, TaskStatus};

use crate::api::Proxy;
use crate::clock::Clock;
use crate::mode::Choices;
use crate::offer::Offer;
use crate::photo;
use crate::problem::Problem;

/// How many times one press of "Generate" sends its create at most.
pub const CREATE_ATTEMPTS: u32 = 3;

/// Where a try-on stands, as the dialog shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Phase {
    /// Nothing started yet.
    #[default]
    Idle,
    /// The photo is being checked and prepared in the browser.
    Preparing,
    /// The photo is being uploaded to the proxy.
    Uploading,
    /// The shopper's own garment is being cut out of the photo (keep-own modes).
    Segmenting,
    /// The task is being created.
    Starting,
    /// The task exists; the last state the proxy reported.
    Waiting {
        task_id: String,
        status: TaskStatus,
        queue_position: Option<u32>,
    },
    /// The picture is ready; `before_url` is the uploaded photo, for the comparison.
    Done {
        task_id: String,
        image_url: String,
        before_url: String,
    },
    /// The try-on stopped without a picture.
    Failed(Problem),
}

impl Phase {
    /// Whether a try-on is under way, so "Generate" is disabled and the clock runs.
    pub fn is_busy(&self) -> bool {
        !matches!(self, Phase::Idle | Phase::Done { .. } | Phase::Failed(_))
    }
}

/// What one try-on needs besides the photo: the proxy, the garments and the choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub proxy: Proxy,
    /// Absolute garment URLs the upstream can fetch.
    pub garments: Garments,
    pub choices: Choices,
    /// What the upstream can do; a photo format it does not take is refused before any upload.
    pub offer: Offer,
    /// The clock of the deadline and of the waits between polls.
    pub clock: Clock,
}

impl Job {
    /// The create-task body for a person photo at `person_image_url`; `own_crop` is the
    /// shopper's own garment in the keep-own modes.
    pub fn request(
        &self,
        person_image_url: &str,
        own_crop: Option<&str>,
    ) -> Result<CreateTaskRequest, Problem> {
        let input = self
            .choices
            .mode
            .tryon_input(person_image_url, &self.garments, own_crop)
            .map_err(|_| Problem::Catalogue(ErrorKind::InvalidGarment))?;
        Ok(CreateTaskRequest {
            model: MODEL_TRYON_PLUS.to_owned(),
            input,
            parameters: Some(self.choices.parameters()),
        })
    }

    fn mode(&self) -> TryOnMode {
        self.choices.mode
    }
}

/// The photo a try-on starts from.
#[derive(Debug, Clone)]
pub enum Photo {
    /// A file the shopper just chose: prepared in the browser and uploaded first.
    Fresh(web_sys::Blob),
    /// A photo the proxy already keeps (remembered, or uploaded by an earlier try-on of
    /// the same dialog), by its URL there: nothing is prepared or uploaded again.
    Kept { url: String },
}

/// Runs one try-on of `photo` to its end, reporting every phase, and `uploaded` once a
/// fresh photo is stored (with the prepared file, for a thumbnail). Returns early,
/// silently, as soon as `alive` says nobody is listening any more, cancelling a task that
/// is still queued on the way out. `abort` ends a long poll at once when the shopper leaves.
pub async fn run(
    job: &Job,
    photo: &Photo,
    report: &dyn Fn(Phase),
    uploaded: &dyn Fn(&UploadResponse, &web_sys::Blob),
    alive: &dyn Fn() -> bool,
    abort: Option<&web_sys::AbortSignal>,
) {
    if let Err(problem) = run_inner(job, photo, report, uploaded, alive, abort).await
        && alive()
    {
        report(Phase::Failed(problem));
    }
}

async fn run_inner(
    job: &Job,
    photo: &Photo,
    report: &dyn Fn(Phase),
    uploaded: &dyn Fn(&UploadResponse, &web_sys::Blob),
    alive: &dyn Fn() -> bool,
    abort: Option<&web_sys::AbortSignal>,
) -> Result<(), Problem> {
    let person_url = match photo {
        Photo::Kept { url } => url.clone(),
        Photo::Fresh(file) => {
            report(Phase::Preparing);
            let prepared = photo::prepare(file, job.offer).await?;
            if !alive() {
                return Ok(());
            }
            report(Phase::Uploading);
            let upload = job
                .proxy
                .upload_photo(&prepared.blob, &prepared.content_type)
                .await
                .map_err(|error| error.problem())?;
            uploaded(&upload, &prepared.blob);
            upload.url
        }
    };
    if !alive() {
        return Ok(());
    }

    // An upstream that replaces only the given garment's category keeps the rest of the
    // outfit itself, so the keep-own modes send the garment alone, unsegmented.
    let own_crop = match job.mode().segment_request(&person_url) {
        Some(segment) if job.offer.segments_keep_own => {
            report(Phase::Segmenting);
            let answer = job
                .proxy
                .segment(&segment)
                .await
                .map_err(|error| error.problem())?;
            let crop = answer.output.crop_img_url.into_iter().next().flatten();
            Some(crop.ok_or(Problem::NoOwnGarment)?)
        }
        _ => None,
    };
    let request = job.request(&person_url, own_crop.as_deref())?;
    if !alive() {
        return Ok(());
    }

    report(Phase::Starting);
    // One key for this press of "Generate": every repeat of its create carries it.
    let key = attempt_key();
    let Some(created) = create(job, &request, &key, alive).await? else {
        return Ok(());
    };
    let task_id = created.output.task_id;
    let mut last_status = created.output.task_status;
    report(Phase::Waiting {
        task_id: task_id.clone(),
        status: last_status.clone(),
        queue_position: None,
    });

    let clock = &job.clock;
    let started_ms = clock.now_ms();
    // Failures in a row, for the contract's back-off; quiet answers of a proxy that does
    // not hold the query open use the same schedule so the flow never spins.
    let mut failures = 0;
    let mut quiet = 0;
    loop {
        // Every way out of the loop for a shopper who left passes here.
        if !alive() {
            abandon(&job.proxy, &task_id, &last_status).await;
            return Ok(());
        }
        if deadline_passed(started_ms, clock.now_ms(), DEFAULT_DEADLINE_MS) {
            abandon(&job.proxy, &task_id, &last_status).await;
            return Err(Problem::TimedOut);
        }
        let asked_ms = clock.now_ms();
        match job
            .proxy
            .query_task(&task_id, Some(&last_status), abort)
            .await
        {
            Ok(answer) => {
                failures = 0;
                let changed = answer.output.task_status != last_status;
                last_status = answer.output.task_status.clone();
                if !alive() {
                    continue;
                }
                let phase = settle(answer.output, &person_url)?;
                let finished = matches!(phase, Phase::Done { .. });
                report(phase);
                if finished {
                    return Ok(());
                }
                if !changed && clock.now_ms() - asked_ms < 1_000.0 {
                    clock.sleep(delay_before_poll_ms(quiet)).await;
                    quiet = quiet.saturating_add(1);
                }
            }
            // A hiccup while waiting is retried on the contract's schedule until the deadline.
            Err(error) if error.is_transient() => {
                if alive() {
                    clock.sleep(delay_before_poll_ms(failures)).await;
                    failures = failures.saturating_add(1);
                }
            }
            Err(error) => return Err(error.problem()),
        }
    }
}

/// Sends the create at most [`CREATE_ATTEMPTS`] times with the same key and body: again
/// when its answer was lost or the proxy failed, after the contract's back-off on the
/// flow's clock. The key makes a repeat safe: the proxy answers the task the first
/// attempt made, if it made one, and bills it once. `None` when the shopper left.
async fn create(
    job: &Job,
    request: &CreateTaskRequest,
    key: &IdempotencyKey,
    alive: &dyn Fn() -> bool,
) -> Result<Option<CreateTaskResponse>, Problem> {
    let mut attempt = 0;
    loop {
        match job.proxy.create_task(request, key).await {
            Ok(created) => return Ok(Some(created)),
            Err(error) if error.repeats_a_create() && attempt + 1 < CREATE_ATTEMPTS => {
                job.clock.sleep(delay_before_poll_ms(attempt)).await;
                attempt += 1;
                if !alive() {
                    return Ok(None);
                }
            }
            Err(error) => return Err(error.problem()),
        }
    }
}

/// A new random idempotency key. `Math.random` is enough: a key only has to differ from
/// the same shopper's other attempts (the proxy keeps keys per shopper), and guessing
/// another shopper's key gains nothing.
fn attempt_key() -> IdempotencyKey {
    IdempotencyKey::from_random_words(std::array::from_fn(|_| {
        (js_sys::Math::random() * 4_294_967_296.0) as u32
    }))
}

/// Cancels a task nobody waits for any more while it is still queued, so that the shop
/// does not pay for a picture no one will see. A refusal (the task already started) is
/// fine: it simply finishes unseen.
async fn abandon(proxy: &Proxy, task_id: &str, last_status: &TaskStatus) {
    if last_status.is_cancellable() {
        let _ = proxy.cancel_task(task_id).await;
    }
}

/// The phase a task answer stands for: still waiting, done, or a problem.
pub fn settle(output: TaskOutput, before_url: &str) -> Result<Phase, Problem> {
    match output.task_status {
        TaskStatus::Succeeded => output
            .image_url
            .map(|image_url| Phase::Done {
                task_id: output.task_id,
                image_url,
                before_url: before_url.to_owned(),
            })
            .ok_or(Problem::BadAnswer),
        TaskStatus::Failed => Err(Problem::from_wire(
            output.code.as_deref().unwrap_or_default(),
            output.message.as_deref().unwrap_or_default(),
        )),
        // The task is gone (expired or never known): the catalogue's words for that fit.
        TaskStatus::Unknown => Err(Problem::Catalogue(ErrorKind::TaskNotFound)),
        TaskStatus::Canceled => Err(Problem::Canceled),
        status => Ok(Phase::Waiting {
            task_id: output.task_id,
            status,
            queue_position: output.queue_position,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mode::GarmentKind;
    use tryon_api::Resolution;

    fn job(top: Option<&str>, bottom: Option<&str>, mode: TryOnMode) -> Job {
        let mut choices = Choices::for_kind(GarmentKind::Top);
        choices.mode = mode;
        Job {
            proxy: Proxy::default(),
            garments: Garments {
                top: top.map(str::to_owned),
                bottom: bottom.map(str::to_owned),
            },
            choices,
            offer: Offer::default(),
            clock: Clock::browser(),
        }
    }

    #[test]
    fn the_request_is_aitryon_plus_with_the_original_size_and_the_shoppers_face() {
        let request = job(Some("https://shop/top.png"), None, TryOnMode::TopOnly)
            .request("https://proxy/p.jpg", None)
            .unwrap();
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "model": "aitryon-plus",
                "input": {
                    "person_image_url": "https://proxy/p.jpg",
                    "top_garment_url": "https://shop/top.png"
                },
                "parameters": {"resolution": -1, "restore_face": true}
            })
        );
    }

    #[test]
    fn each_mode_sends_its_garments_and_the_options() {
        let both = (Some("https://shop/t.png"), Some("https://shop/b.png"));
        let input = |mode, crop| {
            job(both.0, both.1, mode)
                .request("https://proxy/p.jpg", crop)
                .unwrap()
                .input
        };
        let keep = input(TryOnMode::TopKeepOwnBottom, Some("https://proxy/crop"));
        assert_eq!(
            keep.bottom_garment_url.as_deref(),
            Some("https://proxy/crop")
        );
        let keep = input(TryOnMode::BottomKeepOwnTop, Some("https://proxy/crop"));
        assert_eq!(keep.top_garment_url.as_deref(), Some("https://proxy/crop"));
        assert_eq!(input(TryOnMode::Dress, None).bottom_garment_url, None);
        let outfit = input(TryOnMode::TopAndBottom, None);
        assert!(outfit.top_garment_url.is_some() && outfit.bottom_garment_url.is_some());

        let mut custom = job(both.0, None, TryOnMode::TopOnly);
        custom.choices.keep_face = false;
        custom.choices.resolution = Resolution::Portrait1024;
        let parameters = custom.request("p", None).unwrap().parameters.unwrap();
        assert_eq!(parameters.restore_face, Some(false));
        assert_eq!(parameters.resolution, Some(Resolution::Portrait1024));
    }

    #[test]
    fn a_product_without_its_garments_is_refused_before_any_call() {
        assert_eq!(
            job(None, None, TryOnMode::TopOnly).request("https://proxy/p.jpg", None),
            Err(Problem::Catalogue(ErrorKind::InvalidGarment))
        );
        assert_eq!(
            job(Some("t"), None, TryOnMode::TopAndBottom).request("p", None),
            Err(Problem::Catalogue(ErrorKind::InvalidGarment))
        );
    }

    #[test]
    fn task_answers_settle_into_phases() {
        let mut output = TaskOutput::new("t", TaskStatus::Running);
        output.queue_position = Some(2);
        assert_eq!(
            settle(output.clone(), "b"),
            Ok(Phase::Waiting {
                task_id: "t".into(),
                status: TaskStatus::Running,
                queue_position: Some(2)
            })
        );
        output.task_status = TaskStatus::Succeeded;
        assert_eq!(settle(output.clone(), "b"), Err(Problem::BadAnswer));
        output.image_url = Some("https://result".into());
        assert_eq!(
            settle(output.clone(), "b"),
            Ok(Phase::Done {
                task_id: "t".into(),
                image_url: "https://result".into(),
                before_url: "b".into()
            })
        );
        output.task_status = TaskStatus::Failed;
        output.code = Some("InvalidPerson".into());
        output.message = Some("anything".into());
        assert_eq!(
            settle(output, "b"),
            Err(Problem::Catalogue(ErrorKind::InvalidPerson))
        );
    }
}

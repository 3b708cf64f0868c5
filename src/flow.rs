//! One try-on from chosen file to picture: prepare, upload, create the task, poll until it ends.
//!
//! The flow knows nothing of Leptos: it reports each [`Phase`] through a callback and asks
//! `alive` before every step, so the dialog can stop it by going away and tests or other
//! front ends can drive it with plain closures.

use gloo_timers::future::TimeoutFuture;
use tryon_api::mode::{Garments, TryOnMode};
use tryon_api::poll::{DEFAULT_DEADLINE_MS, deadline_passed, delay_before_poll_ms};
use tryon_api::wire::{CreateTaskRequest, MODEL_TRYON_PLUS, TaskOutput, TryOnParameters};
use tryon_api::{ErrorKind, Resolution, TaskStatus};

use crate::api;
use crate::photo;
use crate::problem::Problem;

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
    /// The task is being created.
    Starting,
    /// The task exists; the last state the proxy reported.
    Waiting {
        status: TaskStatus,
        queue_position: Option<u32>,
    },
    /// The picture is ready.
    Done { image_url: String },
    /// The try-on stopped without a picture.
    Failed(Problem),
}

impl Phase {
    /// Whether a try-on is under way, so "Generate" is disabled and the clock runs.
    pub fn is_busy(&self) -> bool {
        !matches!(self, Phase::Idle | Phase::Done { .. } | Phase::Failed(_))
    }
}

/// What one try-on needs besides the photo: where the proxy is and what to wear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Base URL of the proxy; empty for the page's own origin.
    pub proxy: String,
    /// Absolute garment URLs the upstream can fetch.
    pub garments: Garments,
}

impl Job {
    /// The single-call mode the product's garments allow.
    pub fn mode(&self) -> TryOnMode {
        match (&self.garments.top, &self.garments.bottom) {
            (Some(_), Some(_)) => TryOnMode::TopAndBottom,
            (None, Some(_)) => TryOnMode::BottomOnly,
            _ => TryOnMode::TopOnly,
        }
    }

    /// The create-task body for a person photo at `person_image_url`.
    pub fn request(&self, person_image_url: &str) -> Result<CreateTaskRequest, Problem> {
        let input = self
            .mode()
            .tryon_input(person_image_url, &self.garments, None)
            .map_err(|_| Problem::Catalogue(ErrorKind::InvalidGarment))?;
        Ok(CreateTaskRequest {
            model: MODEL_TRYON_PLUS.to_owned(),
            input,
            parameters: Some(TryOnParameters {
                // The photo's own size and the shopper's own face: both also keep the
                // result eligible for the later refinement call.
                resolution: Some(Resolution::Original),
                restore_face: Some(true),
                gender: None,
            }),
        })
    }
}

/// Runs one try-on of `file` to its end, reporting every phase. Returns early, silently,
/// as soon as `alive` says nobody is listening any more, cancelling a task that is still
/// queued on the way out.
pub async fn run(
    job: &Job,
    file: &web_sys::File,
    report: &dyn Fn(Phase),
    alive: &dyn Fn() -> bool,
) {
    if let Err(problem) = run_inner(job, file, report, alive).await
        && alive()
    {
        report(Phase::Failed(problem));
    }
}

async fn run_inner(
    job: &Job,
    file: &web_sys::File,
    report: &dyn Fn(Phase),
    alive: &dyn Fn() -> bool,
) -> Result<(), Problem> {
    report(Phase::Preparing);
    let prepared = photo::prepare(file).await.map_err(Problem::Photo)?;
    if !alive() {
        return Ok(());
    }

    report(Phase::Uploading);
    let upload = api::upload_photo(&job.proxy, &prepared)
        .await
        .map_err(|error| error.problem())?;
    let request = job.request(&upload.url)?;
    if !alive() {
        return Ok(());
    }

    report(Phase::Starting);
    let created = api::create_task(&job.proxy, &request)
        .await
        .map_err(|error| error.problem())?;
    let task_id = created.output.task_id;
    let mut last_status = created.output.task_status;
    report(Phase::Waiting {
        status: last_status.clone(),
        queue_position: None,
    });

    let started_ms = js_sys::Date::now();
    let mut attempt = 0;
    loop {
        // Every way out of the loop for a shopper who left passes here.
        if !alive() {
            abandon(&job.proxy, &task_id, &last_status).await;
            return Ok(());
        }
        TimeoutFuture::new(delay_before_poll_ms(attempt)).await;
        attempt = attempt.saturating_add(1);
        if !alive() {
            continue;
        }
        if deadline_passed(started_ms, js_sys::Date::now(), DEFAULT_DEADLINE_MS) {
            abandon(&job.proxy, &task_id, &last_status).await;
            return Err(Problem::TimedOut);
        }
        match api::query_task(&job.proxy, &task_id).await {
            Ok(answer) => {
                last_status = answer.output.task_status.clone();
                if !alive() {
                    continue;
                }
                let phase = settle(answer.output)?;
                let finished = matches!(phase, Phase::Done { .. });
                report(phase);
                if finished {
                    return Ok(());
                }
            }
            // A hiccup while waiting is retried on the normal schedule until the deadline.
            Err(error) if error.is_transient() => {}
            Err(error) => return Err(error.problem()),
        }
    }
}

/// Cancels a task nobody waits for any more while it is still queued, so that the shop
/// does not pay for a picture no one will see. A refusal (the task already started) is
/// fine: it simply finishes unseen.
async fn abandon(proxy: &str, task_id: &str, last_status: &TaskStatus) {
    if last_status.is_cancellable() {
        let _ = api::cancel_task(proxy, task_id).await;
    }
}

/// The phase a task answer stands for: still waiting, done, or a problem.
pub fn settle(output: TaskOutput) -> Result<Phase, Problem> {
    match output.task_status {
        TaskStatus::Succeeded => output
            .image_url
            .map(|image_url| Phase::Done { image_url })
            .ok_or(Problem::BadAnswer),
        TaskStatus::Failed => Err(Problem::from_wire(
            output.code.as_deref().unwrap_or_default(),
            output.message.as_deref().unwrap_or_default(),
        )),
        // The task is gone (expired or never known): the catalogue's words for that fit.
        TaskStatus::Unknown => Err(Problem::Catalogue(ErrorKind::TaskNotFound)),
        TaskStatus::Canceled => Err(Problem::Canceled),
        status => Ok(Phase::Waiting {
            status,
            queue_position: output.queue_position,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(top: Option<&str>, bottom: Option<&str>) -> Job {
        Job {
            proxy: String::new(),
            garments: Garments {
                top: top.map(str::to_owned),
                bottom: bottom.map(str::to_owned),
            },
        }
    }

    #[test]
    fn the_request_is_aitryon_plus_with_the_original_size_and_the_shoppers_face() {
        let request = job(Some("https://shop/top.png"), None)
            .request("https://proxy/p.jpg")
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
    fn a_product_without_garments_is_refused_before_any_call() {
        assert_eq!(
            job(None, None).request("https://proxy/p.jpg"),
            Err(Problem::Catalogue(ErrorKind::InvalidGarment))
        );
        assert_eq!(job(None, Some("b")).mode(), TryOnMode::BottomOnly);
        assert_eq!(job(Some("t"), Some("b")).mode(), TryOnMode::TopAndBottom);
    }

    #[test]
    fn task_answers_settle_into_phases() {
        let mut output = TaskOutput::new("t", TaskStatus::Running);
        output.queue_position = Some(2);
        assert_eq!(
            settle(output.clone()),
            Ok(Phase::Waiting {
                status: TaskStatus::Running,
                queue_position: Some(2)
            })
        );
        output.task_status = TaskStatus::Succeeded;
        assert_eq!(settle(output.clone()), Err(Problem::BadAnswer));
        output.image_url = Some("https://result".into());
        assert_eq!(
            settle(output.clone()),
            Ok(Phase::Done {
                image_url: "https://result".into()
            })
        );
        output.task_status = TaskStatus::Failed;
        output.code = Some("InvalidPerson".into());
        output.message = Some("anything".into());
        assert_eq!(
            settle(output),
            Err(Problem::Catalogue(ErrorKind::InvalidPerson))
        );
    }
}

//! The life of one try-on task: PENDING → PRE-PROCESSING → RUNNING → POST-PROCESSING → SUCCEEDED or FAILED, with scaled phase durations.
//!
//! At time scale 1.0 a try-on takes about 20 s (the spec says 15-30 s): at least 1 s
//! PENDING (longer while all running slots are taken), 3 s PRE-PROCESSING (downloads and
//! input checks), 13 s RUNNING (rendering) and 3 s POST-PROCESSING (storing the result).
//! A refinement (`aitryon-refiner`) takes about 10 s. A failure is reported at the end of
//! the phase that found it, as the real service does not fail instantly either.
//!
//! Deterministic failure rules besides the input rules of the contract and the person
//! rule of [`crate::person`]:
//! - **Data inspection**: an input URL whose path contains `inappropriate` (any case)
//!   fails the task in PRE-PROCESSING with `DataInspectionFailed`, before anything is
//!   downloaded. The emulator has no content classifier; a name is the cheapest cause a
//!   test or a demo can choose on purpose.
//! - **Time limit**: a task not done 3 h (scaled) after its creation fails with
//!   `InternalError.Timeout` at that moment. Only the `task_duration_ms` fault makes a
//!   task that long.

use std::time::{Duration, Instant};

use image::DynamicImage;
use tracing::{info, warn};
use tryon_api::wire::{MODEL_REFINER, TryOnInput};
use tryon_api::{ErrorKind, Resolution, TaskStatus};

use crate::clock::now_string;
use crate::fetch::fetch_image;
use crate::person::{PersonCheck, check_person};
use crate::render::{self, BANNER_TEXT_HD, TryOn};
use crate::state::SimState;

/// How long the service lets a task run before it fails it with `InternalError.Timeout`.
const TASK_TIME_LIMIT: Duration = Duration::from_secs(3 * 60 * 60);

/// Phase durations at time scale 1.0.
#[derive(Debug, Clone, Copy)]
struct Timeline {
    pending: Duration,
    pre: Duration,
    running: Duration,
    post: Duration,
}

const TRYON_TIMELINE: Timeline = Timeline {
    pending: Duration::from_millis(1000),
    pre: Duration::from_millis(3000),
    running: Duration::from_millis(13000),
    post: Duration::from_millis(3000),
};

const REFINER_TIMELINE: Timeline = Timeline {
    pending: Duration::from_millis(1000),
    pre: Duration::from_millis(2000),
    running: Duration::from_millis(5000),
    post: Duration::from_millis(2000),
};

/// A validated create request, ready to run.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub task_id: String,
    pub model: String,
    pub input: TryOnInput,
    pub resolution: Resolution,
    pub restore_face: bool,
    /// Decided at creation from the injected `task_failure_share` and `task_failure_code`.
    pub injected_failure: Option<ErrorKind>,
    /// The RUNNING phase at time scale 1.0, when the `task_duration_ms` fault sets it.
    pub running_override: Option<Duration>,
    /// When the task was created, for the 3 h time limit.
    pub created: Instant,
}

/// The decoded inputs of a job.
struct Inputs {
    person: DynamicImage,
    top: Option<DynamicImage>,
    bottom: Option<DynamicImage>,
    coarse: Option<DynamicImage>,
}

/// Runs a job to its end. Spawned once per accepted task.
pub(crate) async fn run(state: SimState, job: Job) {
    let mut timeline = if job.model == MODEL_REFINER {
        REFINER_TIMELINE
    } else {
        TRYON_TIMELINE
    };
    if let Some(running) = job.running_override {
        timeline.running = running;
    }
    let scaled = |d: Duration| state.config().scaled(d);
    let clock = state.clock().clone();
    let id = job.task_id.as_str();

    clock
        .sleep_until(job.created + scaled(timeline.pending))
        .await;
    // The permit is held until this function returns, so at most `max_running_tasks`
    // tasks are past PENDING at once; the semaphore queues the rest fairly.
    let Ok(_permit) = state.slots().acquire_owned().await else {
        return;
    };
    let started = state.transition(id, &TaskStatus::Pending, |r| {
        r.status = TaskStatus::PreProcessing;
        r.scheduled_time = Some(now_string(&clock));
    });
    if !started {
        // Cancelled (or expired) while waiting: nothing to do.
        return;
    }
    let _running = state.start_running();
    info!(task_id = id, "task started");

    let phase_end = clock.now() + scaled(timeline.pre);
    let inputs = prepare(&state, &job).await;
    clock.sleep_until(phase_end).await;
    let inputs = match inputs {
        Ok(inputs) => inputs,
        Err(kind) => return finish_failed(&state, id, TaskStatus::PreProcessing, kind),
    };

    advance(&state, id, TaskStatus::PreProcessing, TaskStatus::Running);
    let phase_end = clock.now() + scaled(timeline.running);
    let time_limit = job.created + scaled(TASK_TIME_LIMIT);
    if phase_end > time_limit {
        // The service gives up on a task after 3 h; so does the emulator, at that moment.
        clock.sleep_until(time_limit).await;
        return finish_failed(&state, id, TaskStatus::Running, ErrorKind::InternalTimeout);
    }
    let rendered = produce(&job, inputs).await;
    clock.sleep_until(phase_end).await;
    let png = match (rendered, job.injected_failure) {
        (Ok(_), Some(kind)) => Err(kind),
        (other, _) => other,
    };
    let png = match png {
        Ok(png) => png,
        Err(kind) => return finish_failed(&state, id, TaskStatus::Running, kind),
    };

    advance(&state, id, TaskStatus::Running, TaskStatus::PostProcessing);
    let phase_end = clock.now() + scaled(timeline.post);
    let url = state.store_file(&format!("{id}.png"), png, "image/png");
    clock.sleep_until(phase_end).await;
    state.while_held().await;
    let done = state.transition(id, &TaskStatus::PostProcessing, |r| {
        r.status = TaskStatus::Succeeded;
        r.image_url = Some(url);
        r.end_time = Some(now_string(&clock));
        // Only successful images are billed, so only they use up the free quota. Billed
        // under the record's lock, so that whoever sees SUCCEEDED also sees the bill.
        state.bill_image(&job.model);
    });
    if done {
        info!(task_id = id, "task succeeded");
    }
}

fn advance(state: &SimState, id: &str, from: TaskStatus, to: TaskStatus) {
    state.transition(id, &from, |r| r.status = to);
}

fn finish_failed(state: &SimState, id: &str, from: TaskStatus, kind: ErrorKind) {
    warn!(task_id = id, code = kind.code(), "task failed");
    state.transition(id, &from, |r| {
        r.status = TaskStatus::Failed;
        r.error = Some(kind);
        r.end_time = Some(now_string(state.clock()));
    });
}

/// PRE-PROCESSING: downloads every input, applies the input rules and the person rule.
async fn prepare(state: &SimState, job: &Job) -> Result<Inputs, ErrorKind> {
    let input = &job.input;
    let urls = [
        Some(&input.person_image_url),
        input.top_garment_url.as_ref(),
        input.bottom_garment_url.as_ref(),
        input.coarse_image_url.as_ref(),
    ];
    if urls.into_iter().flatten().any(|url| fails_inspection(url)) {
        return Err(ErrorKind::DataInspectionFailed);
    }
    let timeout = state.config().download_timeout;
    let client = state.client();
    let fetch = |url: Option<String>| async move {
        match url {
            Some(url) => fetch_image(client, &url, timeout)
                .await
                .map(|(_, img)| Some(img)),
            None => Ok(None),
        }
    };
    // The downloads run concurrently, like a service that fetches all inputs at once.
    let (person, top, bottom, coarse) = tokio::join!(
        fetch(Some(job.input.person_image_url.clone())),
        fetch(job.input.top_garment_url.clone()),
        fetch(job.input.bottom_garment_url.clone()),
        fetch(job.input.coarse_image_url.clone()),
    );
    let person = person?.ok_or(ErrorKind::InvalidParameter)?;
    let (top, bottom, coarse) = (top?, bottom?, coarse?);

    let person_rgba = person.to_rgba8();
    let verdict = tokio::task::spawn_blocking(move || check_person(&person_rgba))
        .await
        .map_err(|_| ErrorKind::InternalError)?;
    if let PersonCheck::NotExactlyOne { found } = verdict {
        info!(
            task_id = job.task_id,
            found, "person rule refused the photo"
        );
        return Err(ErrorKind::InvalidPerson);
    }
    if let Some(coarse) = &coarse
        && (coarse.width(), coarse.height()) != (person.width(), person.height())
    {
        return Err(ErrorKind::SizeMismatch);
    }
    Ok(Inputs {
        person,
        top,
        bottom,
        coarse,
    })
}

/// The emulator's data-inspection rule: the URL's path (not its host or query) contains
/// `inappropriate`, in any case.
pub(crate) fn fails_inspection(url: &str) -> bool {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme
        .split_once('/')
        .map_or("", |(_, path)| path)
        .split(['?', '#'])
        .next()
        .unwrap_or_default();
    path.to_ascii_lowercase().contains("inappropriate")
}

/// RUNNING: renders the preview (or, for the refiner, re-stamps the coarse image) as PNG.
async fn produce(job: &Job, inputs: Inputs) -> Result<Vec<u8>, ErrorKind> {
    let resolution = job.resolution;
    let restore_face = job.restore_face;
    tokio::task::spawn_blocking(move || {
        let image = match &inputs.coarse {
            Some(coarse) => {
                let mut img = coarse.to_rgba8();
                render::stamp_banner(&mut img, BANNER_TEXT_HD);
                img
            }
            None => render::render(&TryOn {
                person: &inputs.person,
                top: inputs.top.as_ref(),
                bottom: inputs.bottom.as_ref(),
                resolution,
                restore_face,
            }),
        };
        render::encode_png(&image).map_err(|_| ErrorKind::InternalError)
    })
    .await
    .map_err(|_| ErrorKind::InternalError)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(timeline: Timeline) -> Duration {
        timeline.pending + timeline.pre + timeline.running + timeline.post
    }

    #[test]
    fn the_timelines_last_as_long_as_documented_at_full_scale() {
        // The spec: a try-on takes 15-30 s. The family doc: a refinement 5-15 s.
        let tryon = total(TRYON_TIMELINE);
        assert!(
            (Duration::from_secs(15)..=Duration::from_secs(30)).contains(&tryon),
            "{tryon:?}"
        );
        let refine = total(REFINER_TIMELINE);
        assert!(
            (Duration::from_secs(5)..=Duration::from_secs(15)).contains(&refine),
            "{refine:?}"
        );
        assert!(tryon < TASK_TIME_LIMIT);
    }

    #[test]
    fn the_inspection_rule_looks_at_the_path_only() {
        assert!(fails_inspection(
            "https://shop.example/img/Inappropriate-1.png"
        ));
        assert!(fails_inspection("http://h/inappropriate"));
        assert!(!fails_inspection("https://inappropriate.example/a.png"));
        assert!(!fails_inspection("https://h/a.png?tag=inappropriate"));
        assert!(!fails_inspection("https://h/appropriate.png"));
    }
}

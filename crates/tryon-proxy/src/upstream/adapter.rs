//! The upstream seam: the one trait the job worker and poll loop use, whichever upstream API serves the try-ons.
//!
//! Everything above this trait (queue, quotas, spend, persistence, result keeping, the
//! shopper-facing API) is shared by every upstream. An adapter owns what differs: how a
//! job is submitted and followed, the upstream's input rules, its submission rate and
//! concurrency, its price and what it can do ([`Capabilities`]).
//!
//! Why a trait object and not an enum of the two adapters: the adapters are chosen at
//! start from configuration, a job restored after a switch needs the adapter of its own
//! upstream beside the current one, and a third adapter (FASHN's, [`super::fashn`]) must
//! be addable without touching every `match` in the worker. The futures are boxed, as
//! for [`crate::storage::Storage`], because `async fn` in a trait cannot be called
//! through `dyn`; one allocation per upstream call is nothing beside a network call.

use std::fmt;

use bytes::Bytes;
use tryon_api::generation::{Capabilities, SubmissionRate, UpstreamKind};
use tryon_api::mode::ClothesType;
use tryon_api::wire::Usage;
use tryon_api::{ImageFacts, TaskStatus};

use super::UpstreamError;
use crate::error::ApiError;
use crate::jobs::Job;
use crate::storage::BoxFuture;

/// What the seed's create request cannot say but a translating adapter needs; the worker
/// learns it from the proxy's own files (see [`Adapter::needs_hints`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hints {
    /// The person photo's width and height, from its stored header.
    pub person_size: Option<(u32, u32)>,
    /// Which garment URL is a crop of the person's own garment (made by this proxy):
    /// `Lower` for a bottom crop (keep own bottom), `Upper` for a top crop.
    pub own_garment: Option<ClothesType>,
    /// The stored bytes of the job's images that this proxy hosts (the shopper's photo,
    /// and a garment uploaded here), read from its storage, so that an adapter can send
    /// them inline instead of asking the upstream to download them from a URL it may not
    /// reach. The own-garment crop is never among them: it is not sent at all.
    pub hosted: Vec<HostedImage>,
}

impl Hints {
    /// The stored bytes behind `url`, when it is one of this proxy's files.
    pub fn hosted(&self, url: &str) -> Option<&Bytes> {
        let url = url.trim();
        self.hosted
            .iter()
            .find(|image| image.url == url)
            .map(|image| &image.bytes)
    }
}

/// One image of a job that this proxy hosts: its URL as the create request names it, and
/// its stored bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct HostedImage {
    pub url: String,
    pub bytes: Bytes,
}

// A photo is megabytes; a log line of the hints shows its size, never its bytes.
impl fmt::Debug for HostedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostedImage")
            .field("url", &self.url)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// The upstream's timestamps of a task, shown to the shopper as they are.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Times {
    pub submit_time: Option<String>,
    pub scheduled_time: Option<String>,
    pub end_time: Option<String>,
}

/// How a job ended upstream.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Done and billed; `result_url` is the upstream's short-lived copy (kept by the
    /// proxy at once). A success without a URL is still billed, then shown as a failure.
    Succeeded {
        result_url: Option<String>,
        usage: Option<Usage>,
    },
    /// Ended without a result: `FAILED` with the catalogue's code and message, or
    /// `CANCELED` / `UNKNOWN` as the upstream said.
    Failed {
        status: TaskStatus,
        code: Option<String>,
        message: Option<String>,
        /// Images the provider billed although the job failed: the top of a two-step
        /// outfit whose second step failed. Recorded in the ledger, and it rules out a
        /// free resubmission.
        billed: Option<Usage>,
    },
}

/// The answer of a submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Submission {
    /// An asynchronous upstream took the job; [`Adapter::poll`] follows it.
    Accepted {
        upstream_id: String,
        status: TaskStatus,
    },
    /// A synchronous upstream has already answered with the job's end.
    Finished(Outcome),
}

/// The state of a submitted job, as learnt by [`Adapter::poll`].
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Not ended yet: the status to show (PENDING, RUNNING, ...).
    Ongoing { status: TaskStatus, times: Times },
    /// Not ended: the first step of the job ended and the adapter sent its next step
    /// (FASHN's outfit: the bottom, on the picture of the top) under `upstream_id`, which
    /// is recorded and followed from now on, so that a restart resumes the right step.
    Continued {
        upstream_id: String,
        status: TaskStatus,
        times: Times,
    },
    /// Ended.
    Ended { outcome: Outcome, times: Times },
}

/// One upstream API, as the job worker uses it.
pub trait Adapter: Send + Sync + 'static {
    /// Which adapter this is (`TRYON_UPSTREAM`).
    fn kind(&self) -> UpstreamKind;

    /// The model id every job of this adapter is sent with (`TRYON_MODEL`).
    fn model(&self) -> &str;

    /// What the widget may offer with this upstream.
    fn capabilities(&self) -> Capabilities;

    /// How many submissions the upstream admits per period; the dispatcher spaces its
    /// calls by this, so the upstream never has to throttle them.
    fn submission_rate(&self) -> SubmissionRate;

    /// Jobs that may be submitted and not yet ended at once.
    fn max_running(&self) -> usize;

    /// The configured price of one billed image of [`Adapter::model`], in CNY, which the
    /// spend cap counts for every job not yet billed.
    fn price_cny(&self) -> f64;

    /// Whether [`Adapter::submit`] holds the call until the job has ended. The worker then
    /// records RUNNING (with its times) itself as the call starts, since no upstream
    /// status will ever say so.
    fn answers_synchronously(&self) -> bool;

    /// Whether [`Adapter::submit`] uses [`Hints`]; the worker reads the stored photo's
    /// header only for adapters that do.
    fn needs_hints(&self) -> bool {
        false
    }

    /// Refuses an uploaded photo this upstream cannot take, at upload time, so that the
    /// shopper learns it before choosing a garment.
    fn check_photo(&self, facts: &ImageFacts) -> Result<(), ApiError>;

    /// Submits a job once. An error the upstream certainly did not act on (429, 5xx, a
    /// refused connection) may be retried by the worker; any other is final. The hints
    /// are lent, not given, since a retry sends the same photos again.
    fn submit<'a>(
        &'a self,
        job: &'a Job,
        hints: &'a Hints,
    ) -> BoxFuture<'a, Result<Submission, UpstreamError>>;

    /// Learns the state of a job accepted with `upstream_id`. The hints are those of
    /// [`Adapter::submit`] (empty unless [`Adapter::needs_hints`]), for an adapter that
    /// sends a next step of the job ([`Progress::Continued`]).
    fn poll<'a>(
        &'a self,
        job: &'a Job,
        upstream_id: &'a str,
        hints: &'a Hints,
    ) -> BoxFuture<'a, Result<Progress, UpstreamError>>;
}

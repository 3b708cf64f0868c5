//! The record the proxy keeps of one job: its state, its upstream task and how it ended, as stored and as the browser reads it.

use serde::{Deserialize, Serialize};
use tryon_api::generation::UpstreamKind;
use tryon_api::wire::{TaskOutput, TaskQueryResponse, Usage};
use tryon_api::{ErrorKind, TaskStatus};

use crate::error::ApiError;

/// What the proxy knows about one job; the browser sees all of it but the upstream id,
/// the submission flag and the refusal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub status: TaskStatus,
    /// The upstream the job was sent (or is to be sent) to, so that billing, resumption
    /// and serving follow the job's own upstream after the shop switches. Records saved
    /// before the seam existed were all sent to the seed's API.
    #[serde(default = "seed_upstream")]
    pub upstream: UpstreamKind,
    /// Set just before the create call is sent: a job with this flag and no upstream id
    /// may or may not exist upstream, so it is never sent again.
    #[serde(default)]
    pub submit_attempted: bool,
    /// The replica that claimed the job for sending, and when (Unix ms): a replica that
    /// takes over leaves a job it finds claimed and unanswered to a claimer still alive,
    /// whose call may yet be answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_ms: Option<u64>,
    /// When the upstream accepted the job (ms since the Unix epoch); the poll deadline
    /// counts from here, so time spent in the admission queue does not shorten it.
    #[serde(default)]
    pub submitted_ms: Option<u64>,
    /// The upstream's task id, once submitted. Never shown to the browser.
    pub upstream_id: Option<String>,
    pub submit_time: Option<String>,
    pub scheduled_time: Option<String>,
    pub end_time: Option<String>,
    pub code: Option<String>,
    pub message: Option<String>,
    /// The proxy's own URL of the kept result.
    pub image_url: Option<String>,
    pub usage: Option<Usage>,
    /// Set when the job is submitted once more after its task failed transiently, so that
    /// it never is a second time.
    #[serde(default)]
    pub resubmitted: bool,
    /// The answer for the create call when the upstream refused the job.
    #[serde(skip)]
    pub refusal: Option<ApiError>,
}

/// The upstream of records saved before jobs remembered theirs.
fn seed_upstream() -> UpstreamKind {
    UpstreamKind::Aitryon
}

impl JobRecord {
    /// A job for `upstream` that has just been accepted and not yet submitted.
    pub fn pending(upstream: UpstreamKind) -> JobRecord {
        JobRecord {
            status: TaskStatus::Pending,
            upstream,
            submit_attempted: false,
            claimed_by: None,
            claimed_ms: None,
            submitted_ms: None,
            upstream_id: None,
            submit_time: None,
            scheduled_time: None,
            end_time: None,
            code: None,
            message: None,
            image_url: None,
            usage: None,
            resubmitted: false,
            refusal: None,
        }
    }

    /// The record as a task query answer under the proxy's job id; `queue_position` is
    /// given while the job waits in the admission queue.
    pub fn to_response(
        &self,
        job_id: &str,
        request_id: String,
        queue_position: Option<u32>,
    ) -> TaskQueryResponse {
        let mut output = TaskOutput::new(job_id, self.status.clone());
        output.queue_position = queue_position;
        output.image_url = self.image_url.clone();
        output.submit_time = self.submit_time.clone();
        output.scheduled_time = self.scheduled_time.clone();
        output.end_time = self.end_time.clone();
        output.code = self.code.clone();
        output.message = self.message.clone();
        TaskQueryResponse {
            request_id,
            output,
            usage: self.usage,
        }
    }

    /// Marks the job failed because the upstream (or the proxy) refused to submit it.
    pub fn refuse(&mut self, refusal: ApiError) {
        self.status = TaskStatus::Failed;
        self.code = Some(refusal.body.code.clone());
        self.message = Some(refusal.body.message.clone());
        self.refusal = Some(refusal);
    }

    /// Marks the job failed with a catalogue entry and an optional detail.
    pub fn fail(&mut self, kind: ErrorKind, detail: Option<&str>) {
        self.status = TaskStatus::Failed;
        self.code = Some(kind.code().to_owned());
        self.message = Some(match detail {
            Some(detail) => format!("{} ({detail})", kind.message()),
            None => kind.message().to_owned(),
        });
    }
}

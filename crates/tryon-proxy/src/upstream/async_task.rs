//! The seed's adapter: DashScope's asynchronous create and query (`aitryon-plus`, `aitryon`), retired upstream on 2026-10-10 and still what the emulator-backed demo uses.

use tryon_api::generation::{Capabilities, SubmissionRate, UpstreamKind};
use tryon_api::{ImageFacts, TaskStatus};

use super::adapter::{Adapter, Hints, Outcome, Progress, Submission, Times};
use super::{UpstreamClient, UpstreamError};
use crate::error::ApiError;
use crate::jobs::Job;
use crate::storage::BoxFuture;

/// The documented account limits of the asynchronous API: 5 tasks between submission
/// and their end, 10 create calls per second.
pub const MAX_RUNNING: usize = 5;
/// See [`MAX_RUNNING`].
pub const SUBMISSIONS: SubmissionRate = SubmissionRate {
    count: 10,
    per_seconds: 1,
};

/// `POST .../image2image/image-synthesis` with the async header, then `GET /api/v1/tasks/{id}`.
pub struct AsyncTaskAdapter {
    client: UpstreamClient,
    model: String,
    price_cny: f64,
}

impl AsyncTaskAdapter {
    /// An adapter sending every job with `model` (validated by the configuration).
    pub fn new(client: UpstreamClient, model: impl Into<String>, price_cny: f64) -> Self {
        AsyncTaskAdapter {
            client,
            model: model.into(),
            price_cny,
        }
    }
}

impl Adapter for AsyncTaskAdapter {
    fn kind(&self) -> UpstreamKind {
        UpstreamKind::Aitryon
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::aitryon(&self.model)
    }

    fn submission_rate(&self) -> SubmissionRate {
        SUBMISSIONS
    }

    fn max_running(&self) -> usize {
        MAX_RUNNING
    }

    fn price_cny(&self) -> f64 {
        self.price_cny
    }

    fn answers_synchronously(&self) -> bool {
        false
    }

    /// The upload rules already are the seed's own rules, so nothing more is refused.
    fn check_photo(&self, _facts: &ImageFacts) -> Result<(), ApiError> {
        Ok(())
    }

    fn submit<'a>(
        &'a self,
        job: &'a Job,
        _hints: &'a Hints,
    ) -> BoxFuture<'a, Result<Submission, UpstreamError>> {
        Box::pin(async move {
            // The proxy's own `one_piece` is not DashScope's: the seed API reads the
            // garment image itself, so the field is not sent.
            let mut request = job.request.clone();
            if let Some(parameters) = request.parameters.as_mut() {
                parameters.one_piece = None;
            }
            let created = self.client.create(&request).await?;
            Ok(Submission::Accepted {
                upstream_id: created.output.task_id,
                status: created.output.task_status,
            })
        })
    }

    fn poll<'a>(
        &'a self,
        _job: &'a Job,
        upstream_id: &'a str,
        _hints: &'a Hints,
    ) -> BoxFuture<'a, Result<Progress, UpstreamError>> {
        Box::pin(async move {
            let answer = self.client.query(upstream_id).await?;
            let output = answer.output;
            let times = Times {
                submit_time: output.submit_time,
                scheduled_time: output.scheduled_time,
                end_time: output.end_time,
            };
            Ok(match output.task_status {
                TaskStatus::Succeeded => Progress::Ended {
                    outcome: Outcome::Succeeded {
                        result_url: output.image_url,
                        usage: answer.usage,
                    },
                    times,
                },
                status if status.is_terminal() => Progress::Ended {
                    outcome: Outcome::Failed {
                        status,
                        code: output.code,
                        message: output.message,
                        billed: None,
                    },
                    times,
                },
                status => Progress::Ongoing { status, times },
            })
        })
    }
}

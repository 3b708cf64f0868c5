//! The successor's adapter: synchronous multi-image editing (`qwen-image-2.0` and later ids), which turns the seed's create request into a prompt-driven edit.
//!
//! The call carries the whole job: the worker holds it (up to
//! [`GENERATION_TIMEOUT`](super::GENERATION_TIMEOUT)) and the answer holds the result
//! image, so there is no upstream task id and nothing to poll. The job's lifecycle the
//! widget sees (PENDING in the queue, RUNNING while the call is held, then SUCCEEDED or
//! FAILED) is recorded by the proxy's worker. The request comes from the contract
//! crate's [`plan_seed`]: image 1 the person, then the garments, and the mode's prompt;
//! a keep-own crop is recognised from the [`Hints`] and not sent, since the prompt keeps
//! the person's own garment.

use reqwest::StatusCode;
use tryon_api::generation::{
    Capabilities, SeedHints, SubmissionRate, SuccessorFormat, SuccessorModel, UpstreamKind,
    plan_seed,
};
use tryon_api::wire::Usage;
use tryon_api::{ErrorKind, ImageFacts, Locale, TaskStatus};

use super::adapter::{Adapter, Hints, Outcome, Progress, Submission};
use super::{GENERATION_TIMEOUT, UpstreamClient, UpstreamError};
use crate::error::ApiError;
use crate::jobs::Job;
use crate::storage::BoxFuture;

/// Calls the proxy holds at once. The service sets no concurrency limit (only the
/// submission rate), so this bounds the proxy's own open connections: at 2 calls per
/// second and calls of a few seconds, it is never the limit that waits.
pub const MAX_HELD_CALLS: usize = 16;

/// `POST /api/v1/services/aigc/multimodal-generation/generation`, one call per job.
pub struct MultimodalAdapter {
    client: UpstreamClient,
    model: SuccessorModel,
    locale: Locale,
    price_cny: f64,
}

impl MultimodalAdapter {
    /// An adapter for `model`, writing its prompts in `locale` (`TRYON_PROMPT_LOCALE`).
    pub fn new(
        client: UpstreamClient,
        model: SuccessorModel,
        locale: Locale,
        price_cny: f64,
    ) -> Self {
        MultimodalAdapter {
            client,
            model,
            locale,
            price_cny,
        }
    }
}

impl Adapter for MultimodalAdapter {
    fn kind(&self) -> UpstreamKind {
        UpstreamKind::QwenImage
    }

    fn model(&self) -> &str {
        self.model.id()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::successor(&self.model)
    }

    /// The model's own limit: 2 per second, or 2 per minute for `-pro`.
    fn submission_rate(&self) -> SubmissionRate {
        self.model.limits().submissions
    }

    fn max_running(&self) -> usize {
        MAX_HELD_CALLS
    }

    fn price_cny(&self) -> f64 {
        self.price_cny
    }

    fn answers_synchronously(&self) -> bool {
        true
    }

    fn needs_hints(&self) -> bool {
        true
    }

    /// Refuses formats the successor does not take (HEIC, which the seed accepted) and
    /// files over its size limit. Sides outside the recommended range are accepted: the
    /// model still runs on them.
    fn check_photo(&self, facts: &ImageFacts) -> Result<(), ApiError> {
        self.model
            .limits()
            .check_input(
                SuccessorFormat::from_seed(facts.format),
                facts.bytes,
                facts.width,
                facts.height,
            )
            .map(|_| ())
            .map_err(|refusal| {
                ApiError::with_detail(
                    ErrorKind::PhotoNotAccepted,
                    format_args!("{refusal}; {} does not take this photo", self.model.id()),
                )
            })
    }

    fn submit<'a>(
        &'a self,
        job: &'a Job,
        hints: Hints,
    ) -> BoxFuture<'a, Result<Submission, UpstreamError>> {
        Box::pin(async move {
            let seed_hints = SeedHints {
                own_garment: hints.own_garment,
                one_piece: false,
            };
            let request = match plan_seed(
                &job.request,
                seed_hints,
                hints.person_size,
                self.model.clone(),
                self.locale,
            ) {
                Ok(request) => request,
                Err(mapping) => {
                    // Nothing was sent, so nothing is billed; the job fails with the
                    // catalogue entry the contract gives for this mapping.
                    let refusal = ApiError::with_detail(mapping.error_kind(), &mapping);
                    return Ok(Submission::Finished(Outcome::Failed {
                        status: TaskStatus::Failed,
                        code: Some(refusal.body.code),
                        message: Some(refusal.body.message),
                    }));
                }
            };
            match self.client.generate(&request, GENERATION_TIMEOUT).await {
                Ok(answer) => Ok(Submission::Finished(Outcome::Succeeded {
                    result_url: answer.images().first().map(|url| (*url).to_owned()),
                    usage: answer.usage.map(|u| Usage {
                        image_count: u.image_count,
                    }),
                })),
                Err(UpstreamError::Api { status, body }) if is_job_failure(status) => {
                    Ok(Submission::Finished(job_failure(&body)))
                }
                Err(err) => Err(err),
            }
        })
    }

    /// A synchronous job is never accepted with an id, so there is nothing to learn.
    fn poll<'a>(
        &'a self,
        _job: &'a Job,
        _upstream_id: &'a str,
    ) -> BoxFuture<'a, Result<Progress, UpstreamError>> {
        Box::pin(async {
            Err(UpstreamError::Decode(
                "the multimodal generation call is synchronous and has no task to query".to_owned(),
            ))
        })
    }
}

/// Whether an error answer is the job's own failure (the request or its images were
/// refused) rather than something the worker handles: throttling and server trouble
/// are retried, key and account problems are the shop's and shown as unavailable.
fn is_job_failure(status: StatusCode) -> bool {
    status.is_client_error()
        && status != StatusCode::UNAUTHORIZED
        && status != StatusCode::FORBIDDEN
        && status != StatusCode::TOO_MANY_REQUESTS
}

/// The job's failure with the catalogue's code and the upstream's message (the
/// catalogue's own when the upstream sent none); an unknown code shows as an
/// unavailable service, as in the poll loop.
fn job_failure(body: &tryon_api::wire::ErrorBody) -> Outcome {
    let (code, message) = match ErrorKind::from_wire(&body.code, &body.message) {
        Some(kind) if body.message.trim().is_empty() => {
            (kind.code().to_owned(), kind.message().to_owned())
        }
        Some(kind) => (kind.code().to_owned(), body.message.clone()),
        None => {
            tracing::error!(code = %body.code, message = %body.message, "the upstream answered an unknown error");
            let kind = ErrorKind::UpstreamUnavailable;
            (kind.code().to_owned(), kind.message().to_owned())
        }
    };
    Outcome::Failed {
        status: TaskStatus::Failed,
        code: Some(code),
        message: Some(message),
    }
}

#[cfg(test)]
mod tests {
    use tryon_api::ImageFormat;

    use super::*;

    fn adapter(model: &str) -> MultimodalAdapter {
        let client = UpstreamClient::new("http://127.0.0.1:9", "sk-test".to_owned().into())
            .expect("a client");
        MultimodalAdapter::new(
            client,
            SuccessorModel::parse(model).unwrap(),
            Locale::ZhCn,
            0.2,
        )
    }

    fn facts(format: ImageFormat) -> ImageFacts {
        ImageFacts {
            format,
            width: 800,
            height: 1200,
            bytes: 200_000,
        }
    }

    #[test]
    fn heic_photos_are_refused_and_the_successor_formats_taken() {
        let adapter = adapter("qwen-image-2.0");
        let refused = adapter.check_photo(&facts(ImageFormat::Heic)).unwrap_err();
        assert_eq!(refused.body.code, ErrorKind::PhotoNotAccepted.code());
        assert!(
            refused.body.message.contains("qwen-image-2.0"),
            "{refused:?}"
        );
        for format in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::Webp] {
            assert!(adapter.check_photo(&facts(format)).is_ok(), "{format:?}");
        }
    }

    #[test]
    fn the_rate_follows_the_model() {
        let rate = |model| adapter(model).submission_rate();
        assert_eq!(
            rate("qwen-image-2.0"),
            SubmissionRate {
                count: 2,
                per_seconds: 1
            }
        );
        assert_eq!(
            rate("qwen-image-2.0-pro"),
            SubmissionRate {
                count: 2,
                per_seconds: 60
            }
        );
    }

    #[test]
    fn refused_requests_fail_the_job_and_throttling_does_not() {
        assert!(is_job_failure(StatusCode::BAD_REQUEST));
        assert!(!is_job_failure(StatusCode::TOO_MANY_REQUESTS));
        assert!(!is_job_failure(StatusCode::UNAUTHORIZED));
        assert!(!is_job_failure(StatusCode::INTERNAL_SERVER_ERROR));
        let failure = job_failure(&tryon_api::wire::ErrorBody {
            code: "DataInspectionFailed".into(),
            message: String::new(),
            request_id: String::new(),
        });
        match failure {
            Outcome::Failed {
                status,
                code,
                message,
            } => {
                assert_eq!(status, TaskStatus::Failed);
                assert_eq!(code.as_deref(), Some("DataInspectionFailed"));
                assert!(message.is_some_and(|m| !m.is_empty()));
            }
            other => panic!("{other:?}"),
        }
    }
}

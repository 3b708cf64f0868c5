//! The successor's adapter: synchronous multi-image editing (`qwen-image-2.0` and later ids), which turns the seed's create request into a prompt-driven edit.
//!
//! The call carries the whole job: the worker holds it (up to
//! [`GENERATION_TIMEOUT`](super::GENERATION_TIMEOUT)) and the answer holds the result
//! image, so there is no upstream task id and nothing to poll. The job's lifecycle the
//! widget sees (PENDING in the queue, RUNNING while the call is held, then SUCCEEDED or
//! FAILED) is recorded by the proxy's worker. The request comes from the contract
//! crate's [`plan_seed`]: image 1 the person, then the garments, and the mode's prompt;
//! a keep-own crop is recognised from the [`Hints`] and not sent, since the prompt keeps
//! the person's own garment. Images this proxy hosts (the shopper's photo) are sent
//! inline as `data:` URLs of their stored bytes, so the upstream never has to reach the
//! proxy and no public URL of it is needed; the shop's garment URLs are sent as they are.

use base64::Engine;
use reqwest::StatusCode;
use tryon_api::generation::{
    Capabilities, GenerationRequest, MAX_IMAGE_BYTES, SeedHints, SubmissionRate, SuccessorFormat,
    SuccessorModel, UpstreamKind, plan_seed,
};
use tryon_api::rules::MAX_FILE_BYTES;
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

    /// The call that carries `job`: the contract's translation of the seed's request, with
    /// every image this proxy hosts sent inline. A job that cannot be sent ends here, as
    /// the failure to record.
    fn request_for(&self, job: &Job, hints: &Hints) -> Result<GenerationRequest, Outcome> {
        let seed_hints = SeedHints {
            own_garment: hints.own_garment,
            // The widget says when the lone top is a dress, so the dress prompt is used.
            one_piece: job
                .request
                .parameters
                .as_ref()
                .and_then(|parameters| parameters.one_piece)
                .unwrap_or(false),
        };
        let mut request = plan_seed(
            &job.request,
            seed_hints,
            hints.person_size,
            self.model.clone(),
            self.locale,
        )
        .map_err(|mapping| {
            // The job fails with the catalogue entry the contract gives for this mapping.
            failure(ApiError::with_detail(mapping.error_kind(), &mapping))
        })?;
        let limit = self.model.limits().max_image_bytes;
        for item in request
            .input
            .messages
            .iter_mut()
            .flat_map(|message| message.content.iter_mut())
        {
            let Some(url) = item.image.as_deref() else {
                continue;
            };
            if let Some(bytes) = hints.hosted(url) {
                let inline = data_url(bytes, limit).map_err(|(kind, refusal)| {
                    failure(ApiError::with_detail(
                        kind,
                        format_args!("{refusal}; {} cannot take it", self.model.id()),
                    ))
                })?;
                item.image = Some(inline);
            }
        }
        Ok(request)
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
        hints: &'a Hints,
    ) -> BoxFuture<'a, Result<Submission, UpstreamError>> {
        Box::pin(async move {
            let request = match self.request_for(job, hints) {
                Ok(request) => request,
                // Nothing was sent, so nothing is billed.
                Err(failure) => return Ok(Submission::Finished(failure)),
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
        _hints: &'a Hints,
    ) -> BoxFuture<'a, Result<Progress, UpstreamError>> {
        Box::pin(async {
            Err(UpstreamError::Decode(
                "the multimodal generation call is synchronous and has no task to query".to_owned(),
            ))
        })
    }
}

// Every photo a shopper can upload fits the successor's 10 MB per image even as base64
// (4/3 of its size), whichever of the two sizes the service counts; the check in
// `data_url` is for files that came here another way, such as a kept result.
const _: () = assert!(MAX_FILE_BYTES.div_ceil(3) * 4 <= MAX_IMAGE_BYTES);

/// `bytes` as a `data:image/<format>;base64,...` URL, which the multimodal API takes in
/// place of a URL it would download: so the upstream never needs to reach this proxy.
/// Refused, with the catalogue entry and the reason, when the format is not one the
/// successor takes, or when the URL would be larger than `limit` bytes (the encoded
/// length is checked, being the larger one).
fn data_url(bytes: &[u8], limit: u64) -> Result<String, (ErrorKind, String)> {
    let format = SuccessorFormat::sniff(bytes).ok_or_else(|| {
        (
            ErrorKind::PhotoNotAccepted,
            "the image this proxy hosts is not a JPEG, PNG, BMP, TIFF, WEBP or GIF".to_owned(),
        )
    })?;
    let head = format!("data:image/{};base64,", format.name());
    let encoded = base64::encoded_len(bytes.len(), true).unwrap_or(usize::MAX);
    let total = head.len().saturating_add(encoded);
    if total as u64 > limit {
        return Err((
            ErrorKind::PhotoOutOfBounds,
            format!(
                "the image this proxy hosts has {} bytes, {total} as a data URL; at most {limit} are accepted",
                bytes.len()
            ),
        ));
    }
    let mut url = String::with_capacity(total);
    url.push_str(&head);
    base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut url);
    Ok(url)
}

/// The job's end when it cannot be sent: failed with `refusal`'s code and message.
fn failure(refusal: ApiError) -> Outcome {
    Outcome::Failed {
        status: TaskStatus::Failed,
        code: Some(refusal.body.code),
        message: Some(refusal.body.message),
        billed: None,
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
        billed: None,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use tryon_api::ImageFormat;

    use super::*;
    use crate::upstream::adapter::HostedImage;

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

    /// A seed create request: the person hosted here, a shop's top, and a bottom.
    fn job(person: &str, top: &str, bottom: Option<&str>) -> Job {
        let mut job = Job::for_tests();
        job.request.model = "aitryon-plus".to_owned();
        job.request.input.person_image_url = person.to_owned();
        job.request.input.top_garment_url = Some(top.to_owned());
        job.request.input.bottom_garment_url = bottom.map(str::to_owned);
        job
    }

    const PERSON: &str = "http://127.0.0.1:9/api/v1/tryon/files/0123456789abcdef0123456789abcdef";
    const CROP: &str = "http://127.0.0.1:9/api/v1/tryon/files/fedcba9876543210fedcba9876543210";
    const SHOP_TOP: &str = "https://shop.example/products/top.png";

    #[test]
    fn hosted_images_go_inline_and_shop_garments_stay_urls() {
        let photo = b"\xFF\xD8\xFF\xE0 a jpeg body".to_vec();
        let hints = Hints {
            person_size: Some((800, 1200)),
            own_garment: None,
            hosted: vec![HostedImage {
                url: PERSON.to_owned(),
                bytes: Bytes::from(photo.clone()),
            }],
        };
        let request = adapter("qwen-image-2.0")
            .request_for(&job(PERSON, SHOP_TOP, None), &hints)
            .expect("a request");
        let images = request.images();
        assert_eq!(images.len(), 2, "{images:?}");
        let inline = images[0]
            .strip_prefix("data:image/jpeg;base64,")
            .expect("image 1 is a data URL");
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(inline)
                .unwrap(),
            photo
        );
        assert_eq!(images[1], SHOP_TOP);
        assert!(request.validate().is_ok(), "{:?}", request.validate());
    }

    #[test]
    fn the_keep_own_crop_is_not_sent_at_all() {
        let hints = Hints {
            person_size: Some((800, 1200)),
            own_garment: Some(tryon_api::ClothesType::Lower),
            hosted: vec![HostedImage {
                url: PERSON.to_owned(),
                bytes: Bytes::from_static(b"\x89PNG\r\n\x1a\n rest"),
            }],
        };
        let request = adapter("qwen-image-2.0")
            .request_for(&job(PERSON, SHOP_TOP, Some(CROP)), &hints)
            .expect("a request");
        let images = request.images();
        assert_eq!(images.len(), 2, "{images:?}");
        assert!(images[0].starts_with("data:image/png;base64,"));
        assert_eq!(images[1], SHOP_TOP);
        assert!(!images.iter().any(|image| image.contains(CROP)));
    }

    #[test]
    fn a_hosted_image_over_the_limit_fails_the_job_clearly() {
        let mut big = b"\xFF\xD8\xFF".to_vec();
        big.resize(8 * 1024 * 1024, 0);
        let hints = Hints {
            person_size: Some((800, 1200)),
            own_garment: None,
            hosted: vec![HostedImage {
                url: PERSON.to_owned(),
                bytes: Bytes::from(big),
            }],
        };
        let failure = adapter("qwen-image-2.0")
            .request_for(&job(PERSON, SHOP_TOP, None), &hints)
            .unwrap_err();
        match failure {
            Outcome::Failed {
                status,
                code,
                message,
                billed: None,
            } => {
                assert_eq!(status, TaskStatus::Failed);
                assert_eq!(code.as_deref(), Some(ErrorKind::PhotoOutOfBounds.code()));
                let message = message.unwrap_or_default();
                assert!(
                    message.contains("data URL") && message.contains("qwen-image-2.0"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        // An upload at the 5 MB rule's limit still fits, base64 and all.
        let most = vec![0xFF; MAX_FILE_BYTES as usize];
        let mut jpeg = b"\xFF\xD8\xFF".to_vec();
        jpeg.extend_from_slice(&most[3..]);
        assert!(data_url(&jpeg, MAX_IMAGE_BYTES).is_ok());
        let (kind, _) = data_url(b"not an image", MAX_IMAGE_BYTES).unwrap_err();
        assert_eq!(kind, ErrorKind::PhotoNotAccepted);
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
                billed: None,
            } => {
                assert_eq!(status, TaskStatus::Failed);
                assert_eq!(code.as_deref(), Some("DataInspectionFailed"));
                assert!(message.is_some_and(|m| !m.is_empty()));
            }
            other => panic!("{other:?}"),
        }
    }
}

//! The FASHN adapter: `POST /v1/run` with `tryon-v1.6`, then `GET /v1/status/{id}` until the prediction ends; the seed's request becomes one prediction per garment.
//!
//! FASHN replaces one garment category of the person (`tops`, `bottoms`, `one-pieces`)
//! and keeps everything else, so the keep-own modes need no segmentation: a top over the
//! shopper's own bottom is just a top. The outfit (top and bottom) is two predictions in
//! order, the bottom on the picture of the top, billed as two images; the second one is
//! sent by [`Adapter::poll`] when the first completes ([`Progress::Continued`]), and the
//! job's upstream id names the step, so a restart resumes the right one. Images this proxy
//! hosts (the shopper's photo, a garment uploaded here) go inline as `data:` URLs, so
//! FASHN never needs to reach the proxy; with `return_base64` (the default) the result
//! comes back inline too, so FASHN keeps no copy on its CDN, and the proxy stores it as it
//! stores any result.

use std::time::{Duration, SystemTime};

use base64::Engine;
use reqwest::StatusCode;
use tryon_api::fashn::{
    self, Category, FashnMode, GarmentPhotoType, ModerationLevel, OutputFormat, RunRequest,
    RunResponse, StatusResponse, TryOnInputs,
};
use tryon_api::generation::{
    Capabilities, KeepOwnGarment, SeedHints, SubmissionRate, UpstreamKind, mode_of_seed,
};
use tryon_api::wire::{ErrorBody, Usage};
use tryon_api::{ErrorKind, ImageFacts, ImageFormat, Resolution, TaskStatus, TryOnMode};
use tryon_clock::Clock;

use super::adapter::{Adapter, Hints, Outcome, Progress, Submission, Times};
use super::{UpstreamClient, UpstreamError};
use crate::error::ApiError;
use crate::jobs::Job;
use crate::storage::BoxFuture;

/// Predictions of one account running at once: FASHN's default concurrency limit.
pub const MAX_RUNNING: usize = fashn::DEFAULT_CONCURRENCY;

/// Submissions FASHN admits: 50 `POST /v1/run` per 60 seconds. Source: the OpenAPI
/// description of the FASHN API published at
/// <https://github.com/api-evangelist/fashn> (`openapi/fashn-openapi.yml`: "Rate limit:
/// 50 requests per 60 seconds. Concurrency limit: 6 simultaneous predictions per
/// account"); docs.fashn.ai's error handling page names the two 429s
/// (`RateLimitExceeded`, `ConcurrencyLimitExceeded`) without figures.
pub const SUBMISSIONS: SubmissionRate = SubmissionRate {
    count: 50,
    per_seconds: 60,
};

/// The upstream id of the first step of an outfit (the top), before FASHN's own id.
const OUTFIT_TOP: &str = "outfit-top:";
/// The upstream id of the second step of an outfit (the bottom on the top's picture).
const OUTFIT_BOTTOM: &str = "outfit-bottom:";

/// What the shop chose for every prediction (`TRYON_FASHN_*`). The proxy's defaults are
/// always sent; the options without one are left out, so FASHN's own defaults apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FashnOptions {
    /// `return_base64`: the result comes back inline and FASHN keeps no CDN copy.
    pub return_base64: bool,
    /// Speed against quality (`TRYON_FASHN_MODE`, balanced unless set).
    pub mode: FashnMode,
    /// How the shop's garments are photographed (`TRYON_FASHN_GARMENT_PHOTO_TYPE`):
    /// product images are flat-lay unless the shop says otherwise.
    pub garment_photo_type: GarmentPhotoType,
    pub moderation_level: Option<ModerationLevel>,
    pub seed: Option<u64>,
    pub output_format: Option<OutputFormat>,
    pub segmentation_free: Option<bool>,
}

impl Default for FashnOptions {
    fn default() -> Self {
        FashnOptions {
            return_base64: true,
            mode: FashnMode::DEFAULT,
            garment_photo_type: GarmentPhotoType::FlatLay,
            moderation_level: None,
            seed: None,
            output_format: None,
            segmentation_free: None,
        }
    }
}

/// One prediction of a job: the garment to put on and its category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub garment_url: String,
    pub category: Category,
}

/// The predictions a try-on mode takes, in order: one for every mode but the outfit,
/// which is the top and then the bottom (on the first result). The keep-own modes send
/// only the new garment, since FASHN leaves the other category as it is.
pub fn steps(
    mode: TryOnMode,
    top: Option<&str>,
    bottom: Option<&str>,
) -> Result<Vec<Step>, ErrorKind> {
    let step = |url: Option<&str>, category| {
        url.map(|url| Step {
            garment_url: url.trim().to_owned(),
            category,
        })
        .ok_or(ErrorKind::InvalidGarment)
    };
    Ok(match mode {
        TryOnMode::TopOnly | TryOnMode::TopKeepOwnBottom => vec![step(top, Category::Tops)?],
        TryOnMode::BottomOnly | TryOnMode::BottomKeepOwnTop => {
            vec![step(bottom, Category::Bottoms)?]
        }
        TryOnMode::Dress => vec![step(top, Category::OnePieces)?],
        TryOnMode::TopAndBottom => {
            vec![step(top, Category::Tops)?, step(bottom, Category::Bottoms)?]
        }
    })
}

/// The inputs of one prediction with the shop's options; one sample, always, since the
/// ledger bills and the proxy keeps one picture per prediction.
pub fn inputs(
    model_image: String,
    garment_image: String,
    step: &Step,
    options: &FashnOptions,
) -> TryOnInputs {
    TryOnInputs {
        category: Some(step.category),
        mode: Some(options.mode),
        garment_photo_type: Some(options.garment_photo_type),
        moderation_level: options.moderation_level,
        seed: options.seed,
        num_samples: Some(1),
        return_base64: Some(options.return_base64),
        output_format: options.output_format,
        segmentation_free: options.segmentation_free,
        ..TryOnInputs::new(model_image, garment_image)
    }
}

/// What FASHN can do behind the seed's API: every mode (keep-own by category), the
/// model's one output size (so no fixed 1024/1280 sizes, and "-1" is not the photo's own
/// size), no new face, no refinement, and the formats it reads.
pub fn capabilities(model: &str) -> Capabilities {
    Capabilities {
        upstream: UpstreamKind::Fashn,
        model: model.to_owned(),
        modes: TryOnMode::ALL.to_vec(),
        resolutions: vec![Resolution::Original],
        original_size_exact: false,
        face_choice: None,
        keep_own_garment: KeepOwnGarment::Category,
        refinement: false,
        photo_formats: ["jpeg", "png", "webp"].map(str::to_owned).to_vec(),
        recommended_photo_side_px: Some((fashn::OUTPUT_WIDTH, fashn::OUTPUT_HEIGHT)),
    }
}

/// `POST /v1/run`, then `GET /v1/status/{id}`.
pub struct FashnAdapter {
    client: UpstreamClient,
    model: String,
    price_cny: f64,
    options: FashnOptions,
    clock: Clock,
}

impl FashnAdapter {
    /// An adapter sending every prediction with `model` (validated by the configuration)
    /// and `options`, its task times read on `clock`.
    pub fn new(
        client: UpstreamClient,
        model: impl Into<String>,
        price_cny: f64,
        options: FashnOptions,
        clock: Clock,
    ) -> Self {
        FashnAdapter {
            client,
            model: model.into(),
            price_cny,
            options,
            clock,
        }
    }

    /// The predictions of `job`, or the failure to record when it cannot be sent.
    fn steps_for(&self, job: &Job, hints: &Hints) -> Result<Vec<Step>, Outcome> {
        let request = &job.request;
        let one_piece = request
            .parameters
            .as_ref()
            .and_then(|parameters| parameters.one_piece)
            .unwrap_or(false);
        let seed_hints = SeedHints {
            own_garment: hints.own_garment,
            one_piece,
        };
        let mode = mode_of_seed(request, seed_hints)
            .map_err(|mapping| failure(ApiError::with_detail(mapping.error_kind(), &mapping)))?;
        steps(
            mode,
            request.input.top_garment_url.as_deref(),
            request.input.bottom_garment_url.as_deref(),
        )
        .map_err(|kind| failure(ApiError::new(kind)))
    }

    /// The run request of `step` on `model_image`, with a garment hosted here inline.
    fn run_request(
        &self,
        model_image: String,
        step: &Step,
        hints: &Hints,
    ) -> Result<RunRequest, Outcome> {
        let garment = inline(&step.garment_url, hints)?;
        Ok(RunRequest {
            model_name: self.model.clone(),
            inputs: inputs(model_image, garment, step, &self.options),
        })
    }

    /// The task times of a job submitted at `submitted_ms`, ending now when `ended`.
    fn times(&self, job: &Job, ended: bool) -> Times {
        let format = |ms: u64| {
            dashscope_sim::clock::format_system_time(
                SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
            )
        };
        let submitted = job.snapshot().submitted_ms.map(format);
        Times {
            submit_time: submitted.clone(),
            scheduled_time: submitted,
            end_time: ended.then(|| dashscope_sim::clock::now_string(&self.clock)),
        }
    }

    /// Sends the bottom of an outfit on the top's picture: the job's second prediction.
    async fn continue_outfit(
        &self,
        job: &Job,
        hints: &Hints,
        top_result: String,
    ) -> Result<Progress, UpstreamError> {
        let steps = match self.steps_for(job, hints) {
            Ok(steps) => steps,
            Err(outcome) => return Ok(self.ended(job, outcome)),
        };
        let Some(bottom) = steps.get(1) else {
            return Ok(self.ended(job, failure(ApiError::new(ErrorKind::InvalidGarment))));
        };
        let request = match self.run_request(top_result, bottom, hints) {
            Ok(request) => request,
            Err(outcome) => return Ok(self.ended(job, outcome)),
        };
        match self.client.fashn_run(&request).await {
            Ok(id) => Ok(Progress::Continued {
                upstream_id: format!("{OUTFIT_BOTTOM}{id}"),
                status: TaskStatus::Running,
                times: self.times(job, false),
            }),
            // Not taken (throttled, or never reached): the next poll finds the top done
            // again and sends the bottom then.
            Err(err) if certainly_not_taken(&err) => Err(err),
            // Anything else may have started a prediction, which must not be paid twice.
            Err(err) => {
                tracing::error!(job = %job.id, error = %err, "the outfit's bottom could not be sent");
                let kind = match &err {
                    UpstreamError::Api { body, .. } => {
                        ErrorKind::from_wire(&body.code, &body.message)
                            .unwrap_or(ErrorKind::UpstreamUnavailable)
                    }
                    _ => ErrorKind::UpstreamUnavailable,
                };
                Ok(self.ended(job, failure(ApiError::new(kind))))
            }
        }
    }

    fn ended(&self, job: &Job, outcome: Outcome) -> Progress {
        Progress::Ended {
            outcome,
            times: self.times(job, true),
        }
    }
}

impl Adapter for FashnAdapter {
    fn kind(&self) -> UpstreamKind {
        UpstreamKind::Fashn
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn capabilities(&self) -> Capabilities {
        capabilities(&self.model)
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

    fn needs_hints(&self) -> bool {
        true
    }

    /// FASHN reads JPEG, PNG and WEBP; HEIC and BMP are refused at upload.
    fn check_photo(&self, facts: &ImageFacts) -> Result<(), ApiError> {
        match facts.format {
            ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Webp => Ok(()),
            other => Err(ApiError::with_detail(
                ErrorKind::PhotoNotAccepted,
                format_args!("{} does not take {} photos", self.model, other.name()),
            )),
        }
    }

    fn submit<'a>(
        &'a self,
        job: &'a Job,
        hints: &'a Hints,
    ) -> BoxFuture<'a, Result<Submission, UpstreamError>> {
        Box::pin(async move {
            let prepared = self.steps_for(job, hints).and_then(|steps| {
                let person = inline(&job.request.input.person_image_url, hints)?;
                let request = self.run_request(person, &steps[0], hints)?;
                Ok((request, steps.len() > 1))
            });
            let (request, outfit) = match prepared {
                Ok(prepared) => prepared,
                // Nothing was sent, so nothing is billed.
                Err(failure) => return Ok(Submission::Finished(failure)),
            };
            let id = self.client.fashn_run(&request).await?;
            Ok(Submission::Accepted {
                upstream_id: if outfit {
                    format!("{OUTFIT_TOP}{id}")
                } else {
                    id
                },
                status: TaskStatus::Pending,
            })
        })
    }

    fn poll<'a>(
        &'a self,
        job: &'a Job,
        upstream_id: &'a str,
        hints: &'a Hints,
    ) -> BoxFuture<'a, Result<Progress, UpstreamError>> {
        Box::pin(async move {
            let (id, images, outfit_top) = if let Some(id) = upstream_id.strip_prefix(OUTFIT_TOP) {
                (id, 1, true)
            } else if let Some(id) = upstream_id.strip_prefix(OUTFIT_BOTTOM) {
                // The top was a prediction of its own, billed by FASHN like this one.
                (id, 2, false)
            } else {
                (upstream_id, 1, false)
            };
            let answer = self.client.fashn_status(id).await?;
            let status = answer.status.task_status();
            Ok(match status {
                TaskStatus::Succeeded => {
                    let result = answer.output.and_then(|output| output.into_iter().next());
                    match result {
                        Some(top) if outfit_top => {
                            return self.continue_outfit(job, hints, top).await;
                        }
                        result => self.ended(
                            job,
                            Outcome::Succeeded {
                                result_url: result,
                                usage: Some(Usage {
                                    image_count: images,
                                }),
                            },
                        ),
                    }
                }
                status if status.is_terminal() => {
                    let (code, message) = runtime_failure(answer.error.as_ref());
                    self.ended(
                        job,
                        Outcome::Failed {
                            status,
                            code: Some(code),
                            message: Some(message),
                            // The bottom of an outfit fails after its top was made and billed.
                            billed: (images == 2).then_some(Usage { image_count: 1 }),
                        },
                    )
                }
                status => Progress::Ongoing {
                    status,
                    times: self.times(job, false),
                },
            })
        })
    }
}

/// `url` as FASHN is to read it: the stored bytes as a `data:` URL when this proxy hosts
/// the image, so FASHN never has to reach the proxy, or the URL itself (the shop's
/// public product images, or a previous result).
fn inline(url: &str, hints: &Hints) -> Result<String, Outcome> {
    let Some(bytes) = hints.hosted(url) else {
        return Ok(url.trim().to_owned());
    };
    let format = ImageFormat::sniff(bytes)
        .filter(|format| {
            matches!(
                format,
                ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Webp
            )
        })
        .ok_or_else(|| {
            failure(ApiError::with_detail(
                ErrorKind::PhotoNotAccepted,
                "the image this proxy hosts is not a JPEG, PNG or WEBP, which FASHN reads",
            ))
        })?;
    let mut data = format!("data:image/{};base64,", format.name());
    base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut data);
    Ok(data)
}

/// The catalogue's code and a message for a failed prediction's runtime error: FASHN's
/// message when it sent one, the catalogue's otherwise; an unknown name shows as an
/// unavailable service, and is logged for the shop.
fn runtime_failure(error: Option<&fashn::RuntimeError>) -> (String, String) {
    let (name, message) = error.map_or(("", ""), |e| (e.name.as_str(), e.message.as_str()));
    match ErrorKind::from_wire(name, message) {
        Some(kind) if message.trim().is_empty() => {
            (kind.code().to_owned(), kind.message().to_owned())
        }
        Some(kind) => (kind.code().to_owned(), message.to_owned()),
        None => {
            tracing::error!(
                name,
                message,
                "FASHN failed a prediction with an unknown error"
            );
            let kind = ErrorKind::UpstreamUnavailable;
            (kind.code().to_owned(), kind.message().to_owned())
        }
    }
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

/// Whether FASHN certainly started no prediction: it answered 429 (throttled) or 5xx, or
/// the connection was never made.
fn certainly_not_taken(err: &UpstreamError) -> bool {
    match err {
        UpstreamError::Api { status, .. } => {
            *status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
        }
        UpstreamError::Network(e) => e.is_connect(),
        UpstreamError::Decode(_) => false,
    }
}

/// FASHN's API-level refusal as the proxy's upstream error: the error name becomes the
/// code (the catalogue knows FASHN's names). `OutOfCredits` comes with 429 like the two
/// throttling answers, but waiting does not refill credits, so it is answered as 402
/// (Payment Required): the worker does not retry it and the shopper sees it at once.
pub fn api_error(status: StatusCode, body: Option<fashn::ApiErrorBody>) -> UpstreamError {
    let body = body.unwrap_or_else(|| fashn::ApiErrorBody {
        error: String::new(),
        message: format!("FASHN answered {status} without an error body"),
    });
    let status = if body.error == fashn::api::OUT_OF_CREDITS {
        StatusCode::PAYMENT_REQUIRED
    } else {
        status
    };
    UpstreamError::Api {
        status,
        body: ErrorBody {
            code: body.error,
            message: body.message,
            request_id: String::new(),
        },
    }
}

impl UpstreamClient {
    /// Starts one FASHN prediction and answers its id.
    pub async fn fashn_run(&self, request: &RunRequest) -> Result<String, UpstreamError> {
        let url = format!("{}{}", self.base_url, fashn::RUN_PATH);
        let answer: RunResponse = self
            .fashn_call("create", self.http.post(url).json(request))
            .await?;
        answer.id.filter(|id| !id.trim().is_empty()).ok_or_else(|| {
            UpstreamError::Decode(format!(
                "FASHN accepted the run without an id: {:?}",
                answer.error
            ))
        })
    }

    /// The state of one FASHN prediction.
    pub async fn fashn_status(&self, id: &str) -> Result<StatusResponse, UpstreamError> {
        let url = format!("{}{}", self.base_url, fashn::status_path(id));
        self.fashn_call("query", self.http.get(url)).await
    }

    /// Whether FASHN answers and accepts the key: the status of an id that does not exist,
    /// which it answers 404 without doing any work, and 401 for a refused key.
    pub async fn fashn_probe(&self) -> Result<(), UpstreamError> {
        super::reachable_with_key(self.fashn_status("readyz-probe").await)
    }

    /// One call to FASHN with the key, timed and counted like the DashScope calls; a
    /// refusal is read as FASHN's error body.
    async fn fashn_call<T: serde::de::DeserializeOwned>(
        &self,
        call: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, UpstreamError> {
        self.authorized_reading(call, request, |status, bytes| {
            api_error(status, serde_json::from_slice(bytes).ok())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use serde_json::json;

    use super::*;
    use crate::upstream::adapter::HostedImage;

    const PERSON: &str = "http://127.0.0.1:9/api/v1/tryon/files/0123456789abcdef0123456789abcdef";
    const TOP: &str = "https://shop.example/top.png";
    const BOTTOM: &str = "https://shop.example/bottom.png";

    fn adapter(options: FashnOptions) -> FashnAdapter {
        let client = UpstreamClient::new("http://127.0.0.1:9", "fa-test".to_owned().into())
            .expect("a client");
        FashnAdapter::new(client, fashn::MODEL_TRYON, 0.54, options, Clock::system())
    }

    fn categories(mode: TryOnMode) -> Vec<(String, Category)> {
        steps(mode, Some(TOP), Some(BOTTOM))
            .unwrap()
            .into_iter()
            .map(|step| (step.garment_url, step.category))
            .collect()
    }

    #[test]
    fn every_mode_maps_to_its_categories_and_keep_own_sends_only_the_new_garment() {
        let top = (TOP.to_owned(), Category::Tops);
        let bottom = (BOTTOM.to_owned(), Category::Bottoms);
        assert_eq!(categories(TryOnMode::TopOnly), vec![top.clone()]);
        assert_eq!(categories(TryOnMode::TopKeepOwnBottom), vec![top.clone()]);
        assert_eq!(categories(TryOnMode::BottomOnly), vec![bottom.clone()]);
        assert_eq!(
            categories(TryOnMode::BottomKeepOwnTop),
            vec![bottom.clone()]
        );
        assert_eq!(
            categories(TryOnMode::Dress),
            vec![(TOP.to_owned(), Category::OnePieces)]
        );
        assert_eq!(categories(TryOnMode::TopAndBottom), vec![top, bottom]);
        assert_eq!(
            steps(TryOnMode::TopAndBottom, Some(TOP), None),
            Err(ErrorKind::InvalidGarment)
        );
    }

    #[test]
    fn the_inputs_carry_the_defaults_and_leave_out_every_unset_option() {
        let step = Step {
            garment_url: TOP.to_owned(),
            category: Category::Tops,
        };
        let sent = serde_json::to_value(inputs(
            "data:image/jpeg;base64,AAAA".to_owned(),
            TOP.to_owned(),
            &step,
            &FashnOptions::default(),
        ))
        .unwrap();
        assert_eq!(
            sent,
            json!({
                "model_image": "data:image/jpeg;base64,AAAA",
                "garment_image": TOP,
                "category": "tops",
                "mode": "balanced",
                "garment_photo_type": "flat-lay",
                "num_samples": 1,
                "return_base64": true
            })
        );
        let every = FashnOptions {
            return_base64: false,
            mode: FashnMode::Quality,
            garment_photo_type: GarmentPhotoType::Model,
            moderation_level: Some(ModerationLevel::Permissive),
            seed: Some(42),
            output_format: Some(OutputFormat::Jpeg),
            segmentation_free: Some(true),
        };
        let sent = serde_json::to_value(inputs("p".into(), "g".into(), &step, &every)).unwrap();
        assert_eq!(sent["mode"], "quality");
        assert_eq!(sent["garment_photo_type"], "model");
        assert_eq!(sent["moderation_level"], "permissive");
        assert_eq!(sent["seed"], 42);
        assert_eq!(sent["output_format"], "jpeg");
        assert_eq!(sent["segmentation_free"], true);
        assert_eq!(sent["return_base64"], false);
    }

    fn job(top: Option<&str>, bottom: Option<&str>, one_piece: Option<bool>) -> Job {
        let mut job = Job::for_tests();
        job.request.model = fashn::MODEL_TRYON.to_owned();
        job.request.input.person_image_url = PERSON.to_owned();
        job.request.input.top_garment_url = top.map(str::to_owned);
        job.request.input.bottom_garment_url = bottom.map(str::to_owned);
        job.request.parameters = Some(tryon_api::wire::TryOnParameters {
            one_piece,
            ..Default::default()
        });
        job
    }

    fn hints(own: Option<tryon_api::ClothesType>) -> Hints {
        Hints {
            person_size: Some((800, 1200)),
            own_garment: own,
            hosted: vec![HostedImage {
                url: PERSON.to_owned(),
                bytes: Bytes::from_static(b"\xFF\xD8\xFF\xE0 a jpeg"),
            }],
        }
    }

    #[test]
    fn the_seed_request_and_its_hints_pick_the_mode() {
        let fashn = adapter(FashnOptions::default());
        let of = |job: Job, own| {
            fashn
                .steps_for(&job, &hints(own))
                .unwrap()
                .into_iter()
                .map(|step| step.category)
                .collect::<Vec<_>>()
        };
        assert_eq!(of(job(Some(TOP), None, None), None), vec![Category::Tops]);
        assert_eq!(
            of(job(Some(TOP), None, Some(true)), None),
            vec![Category::OnePieces]
        );
        assert_eq!(
            of(job(None, Some(BOTTOM), None), None),
            vec![Category::Bottoms]
        );
        assert_eq!(
            of(job(Some(TOP), Some(BOTTOM), None), None),
            vec![Category::Tops, Category::Bottoms]
        );
        // A widget that segmented anyway sends the keep-own marker beside the garment:
        // the marker is not a garment to put on.
        assert_eq!(
            of(
                job(Some(TOP), Some(PERSON), None),
                Some(tryon_api::ClothesType::Lower)
            ),
            vec![Category::Tops]
        );
        assert_eq!(
            of(
                job(Some(PERSON), Some(BOTTOM), None),
                Some(tryon_api::ClothesType::Upper)
            ),
            vec![Category::Bottoms]
        );
    }

    #[test]
    fn hosted_images_go_inline_and_the_shops_stay_urls() {
        let fashn = adapter(FashnOptions::default());
        let step = Step {
            garment_url: TOP.to_owned(),
            category: Category::Tops,
        };
        let person = inline(PERSON, &hints(None)).unwrap();
        let request = fashn.run_request(person, &step, &hints(None)).unwrap();
        assert_eq!(request.model_name, "tryon-v1.6");
        let encoded = request
            .inputs
            .model_image
            .strip_prefix("data:image/jpeg;base64,")
            .expect("the photo goes inline");
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap(),
            b"\xFF\xD8\xFF\xE0 a jpeg"
        );
        assert_eq!(request.inputs.garment_image, TOP);
    }

    #[test]
    fn out_of_credits_is_final_and_throttling_is_retried() {
        let refused = |error: &str| {
            api_error(
                StatusCode::TOO_MANY_REQUESTS,
                Some(fashn::ApiErrorBody {
                    error: error.to_owned(),
                    message: "no".to_owned(),
                }),
            )
        };
        for throttled in ["RateLimitExceeded", "ConcurrencyLimitExceeded"] {
            let err = refused(throttled);
            assert!(err.is_transient() && certainly_not_taken(&err), "{err}");
        }
        let err = refused("OutOfCredits");
        assert!(!err.is_transient() && !certainly_not_taken(&err), "{err}");
        match err {
            UpstreamError::Api { status, body } => {
                assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
                assert_eq!(
                    ErrorKind::from_wire(&body.code, &body.message),
                    Some(ErrorKind::FashnOutOfCredits)
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn runtime_errors_map_to_the_catalogue() {
        let (code, message) = runtime_failure(Some(&fashn::RuntimeError {
            name: "PoseError".to_owned(),
            message: String::new(),
        }));
        assert_eq!(code, ErrorKind::FashnPoseError.code());
        assert_eq!(message, ErrorKind::FashnPoseError.message());
        let (code, _) = runtime_failure(Some(&fashn::RuntimeError {
            name: "SomethingNew".to_owned(),
            message: "?".to_owned(),
        }));
        assert_eq!(code, ErrorKind::UpstreamUnavailable.code());
    }

    #[test]
    fn capabilities_leave_out_what_fashn_cannot_do() {
        let offered = capabilities(fashn::MODEL_TRYON);
        assert_eq!(offered.modes.len(), 6);
        assert_eq!(offered.resolutions, vec![Resolution::Original]);
        assert_eq!(offered.face_choice, None);
        assert_eq!(offered.keep_own_garment, KeepOwnGarment::Category);
        assert!(!offered.photo_formats.contains(&"heic".to_owned()));
        let facts = |format| ImageFacts {
            format,
            width: 800,
            height: 1200,
            bytes: 100_000,
        };
        let fashn = adapter(FashnOptions::default());
        assert!(fashn.check_photo(&facts(ImageFormat::Heic)).is_err());
        assert!(fashn.check_photo(&facts(ImageFormat::Webp)).is_ok());
    }
}

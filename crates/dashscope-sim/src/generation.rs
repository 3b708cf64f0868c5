//! The successor endpoint, `POST /api/v1/services/aigc/multimodal-generation/generation` (`qwen-image-2.0` and later): synchronous multi-image editing, answered with a preview from the same compositor as the try-on tasks.
//!
//! The call is checked in this order: the Bearer key (401); the body's JSON shape (400
//! `InvalidParameter`); the model id, which must be a successor id of
//! [`SuccessorModel::parse`] (else 404 `ModelNotFound`, so the retired `aitryon-plus`
//! is refused here too); the account's standing (as for the other billed calls); the
//! model's submission limit (429 `Throttling.RateQuota`: 2 per second for
//! `qwen-image-2.0`, 2 per minute for `-pro`; off when `max_creates_per_second` is 0, the
//! switch that also turns off the create limit); the documented request rules of
//! [`GenerationRequest::validate`] (400 `InvalidParameter` whose message names the broken
//! rule); the data-inspection rule of the try-on tasks (an image URL whose path contains
//! `inappropriate`, 400 `DataInspectionFailed`); then every image is downloaded (or read
//! from its `data:` URL) and checked against [`SuccessorLimits`]: at most 10 MB, JPEG,
//! PNG, BMP, TIFF, WEBP or GIF by magic bytes (400 `InvalidParameter` naming the image).
//! Sides outside 384-3072 px are only a recommendation and are accepted.
//!
//! The answer comes after a scaled delay ([`GENERATION_TIME`] at time scale 1.0, or the
//! `task_duration_ms` fault), since the call is synchronous; the `task_failure_share`
//! fault turns it into that failure's error answer. The `n` images are one rendering
//! stored `n` times under the results path, valid 24 h (scaled), and each uses one free
//! image of the account.
//!
//! Deterministic rules that replace the model (no language model runs here):
//! - **Person**: image 1. It is scaled and cropped to `size` (default: its own size
//!   fitted into 512*512..2048*2048, like the proxy's mapping of resolution -1), and the
//!   compositor then works at that size. Unlike `aitryon`, no person check refuses it.
//! - **Which garment is which** comes from the prompt, as the model reads it: the word
//!   after `图N中的` (Chinese) or the word before `from image N` (English, any case) names
//!   the garment of image N. Bottom words ([`BOTTOM_WORDS_ZH`], [`BOTTOM_WORDS_EN`]) make
//!   it a bottom; any other word a top (a dress is drawn as a top, as in the try-on
//!   tasks). Where the prompt names none, image 2 is the top and image 3 the bottom. A
//!   garment whose slot is already taken goes to the other slot.
//! - **Face**: a prompt containing `不同的脸` or `different face` (any case) gets a
//!   different face, as `restore_face: false` does.
//!
//! UNCONFIRMED details of the real service, chosen here for determinism: the time a call
//! takes, the default `size`, the error code and message of an oversized or wrongly
//! formatted image, and whether the async header is refused (it is ignored here). TIFF
//! and GIF are recognised but this emulator cannot decode them, and says so in a 400.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use image::DynamicImage;
use image::imageops::FilterType;
use tracing::info;
use tryon_api::generation::{
    Choice, ContentItem, GENERATION_PATH, GenerationOutput, GenerationRequest, GenerationResponse,
    GenerationUsage, InputCheck, Message, OutputSize, SuccessorFormat, SuccessorModel,
};
use tryon_api::wire::ErrorBody;
use tryon_api::{ErrorKind, Resolution};

use crate::api::{check_auth, error_response};
use crate::render::{self, TryOn};
use crate::state::{SimState, new_id};

/// How long one call takes at time scale 1.0 (UNCONFIRMED upstream; the reference gives
/// no figure for the successor).
pub const GENERATION_TIME: Duration = Duration::from_secs(8);

/// Garment words that make an image a bottom in a Chinese prompt.
pub const BOTTOM_WORDS_ZH: &[&str] = &["下装", "裤", "短裤", "半身裙", "裙子"];
/// Garment words that make an image a bottom in an English prompt.
pub const BOTTOM_WORDS_EN: &[&str] = &[
    "bottom", "bottoms", "trousers", "pants", "skirt", "shorts", "jeans",
];

/// The routes of this endpoint, merged into the API router so that the fault layer
/// applies to it as to every other API call. The submission windows live in an
/// extension of this router, so each emulator instance has its own.
/// The largest request body the generation endpoint reads: three 10 MB images as base64
/// data URLs plus the text.
const GENERATION_BODY_LIMIT: usize = 3 * 10 * 1024 * 1024 * 4 / 3 + 64 * 1024;

pub(crate) fn router() -> Router<SimState> {
    Router::new()
        .route(GENERATION_PATH, post(generate))
        // Up to three images of 10 MB each may come inline as base64 data URLs (4/3 of
        // their size), far past axum's 2 MB default, as the real endpoint accepts them.
        .layer(DefaultBodyLimit::max(GENERATION_BODY_LIMIT))
        .layer(Extension(Windows::default()))
}

/// Admitted submissions per model id, for the per-model limits.
#[derive(Debug, Clone, Default)]
struct Windows(Arc<Mutex<HashMap<String, VecDeque<Instant>>>>);

impl Windows {
    /// Admits a call unless the model's limit was reached within its period.
    fn admit(&self, model: &SuccessorModel, now: Instant) -> bool {
        let rate = model.limits().submissions;
        let period = Duration::from_secs(u64::from(rate.per_seconds));
        let mut windows = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let window = windows.entry(model.id().to_owned()).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= period)
        {
            window.pop_front();
        }
        if window.len() >= rate.count as usize {
            return false;
        }
        window.push_back(now);
        true
    }
}

/// A 400 `InvalidParameter` with a message that names the problem.
fn invalid(message: impl Into<String>) -> Response {
    let body = ErrorBody {
        code: ErrorKind::InvalidParameter.code().to_owned(),
        message: message.into(),
        request_id: new_id(),
    };
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// `POST /api/v1/services/aigc/multimodal-generation/generation`.
async fn generate(
    State(state): State<SimState>,
    Extension(windows): Extension<Windows>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = state.clock().now();
    if let Err(refusal) = check_auth(&state, &headers) {
        return error_response(refusal);
    }
    let request: GenerationRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => return invalid(format!("the body is not a generation request: {error}")),
    };
    let Ok(model) = SuccessorModel::parse(&request.model) else {
        return error_response(ErrorKind::ModelNotFound);
    };
    if let Some(refusal) = state.account().refusal(model.id()) {
        return error_response(refusal);
    }
    if state.config().max_creates_per_second > 0 && !windows.admit(&model, state.clock().now()) {
        return error_response(ErrorKind::ThrottlingRateQuota);
    }
    if let Err(violation) = request.validate() {
        return (
            StatusCode::BAD_REQUEST,
            Json(violation.error_body(new_id())),
        )
            .into_response();
    }
    let references: Vec<String> = request.images().into_iter().map(str::to_owned).collect();
    if references
        .iter()
        .any(|r| !r.starts_with("data:") && crate::tasks::fails_inspection(r))
    {
        return error_response(ErrorKind::DataInspectionFailed);
    }
    let faults = state.faults();
    let injected = (faults.task_failure_share > 0.0
        && rand::random::<f64>() < faults.task_failure_share)
        .then(|| faults.task_failure_kind());
    let duration = if faults.task_duration_ms > 0 {
        Duration::from_millis(faults.task_duration_ms)
    } else {
        GENERATION_TIME
    };
    let answer_at = started + state.config().scaled(duration);

    let mut images = Vec::with_capacity(references.len());
    for (index, reference) in references.iter().enumerate() {
        match load(&state, &model, reference).await {
            Ok(image) => images.push(image),
            Err(Refusal::Kind(kind)) => return error_response(kind),
            Err(Refusal::Message(message)) => {
                return invalid(format!("image {}: {message}", index + 1));
            }
        }
    }
    let parameters = request.parameters.clone().unwrap_or_default();
    let n = parameters.n.unwrap_or(1).clamp(1, 6) as usize;
    let text = request.text().unwrap_or_default().to_owned();
    let size = match parameters.size.as_deref().map(OutputSize::parse) {
        Some(Ok(size)) => size,
        // `validate` has already refused a malformed size.
        Some(Err(violation)) => return invalid(violation.to_string()),
        None => match OutputSize::fit(images[0].width(), images[0].height()) {
            Some(size) => size,
            None => return invalid("image 1 has no size that fits 512*512..2048*2048"),
        },
    };
    // `validate` guarantees at least one image: the person.
    let person = images.remove(0);
    let rendered = tokio::task::spawn_blocking(move || compose(person, images, &text, size)).await;
    state.clock().sleep_until(answer_at).await;
    if let Some(kind) = injected {
        return error_response(kind);
    }
    let png = match rendered {
        Ok(Ok(png)) => png,
        _ => return error_response(ErrorKind::InternalError),
    };
    let request_id = new_id();
    let content = (0..n)
        .map(|i| {
            let url = state.store_file(&format!("{request_id}-{i}.png"), png.clone(), "image/png");
            // Only returned images are billed, so each uses one free image.
            state.bill_image(model.id());
            ContentItem::image(url)
        })
        .collect();
    info!(model = model.id(), n, "generation answered");
    Json(GenerationResponse {
        output: GenerationOutput {
            choices: vec![Choice {
                finish_reason: Some("stop".to_owned()),
                message: Message {
                    role: "assistant".to_owned(),
                    content,
                },
            }],
        },
        usage: Some(GenerationUsage {
            width: size.width(),
            height: size.height(),
            image_count: n as u32,
        }),
        request_id,
    })
    .into_response()
}

/// Why an input image was refused: a catalogue entry, or an `InvalidParameter` message.
enum Refusal {
    Kind(ErrorKind),
    Message(String),
}

/// Reads one image (download or `data:` URL), applies the successor's input rules and
/// decodes it.
async fn load(
    state: &SimState,
    model: &SuccessorModel,
    reference: &str,
) -> Result<DynamicImage, Refusal> {
    let limits = model.limits();
    let bytes = if reference.trim_start().starts_with("data:") {
        decode_data_url(reference)
            .ok_or_else(|| Refusal::Message("the data: URL is not base64 image data".to_owned()))?
    } else {
        let timeout = state.config().download_timeout;
        match tokio::time::timeout(
            timeout,
            download(state.client(), reference, limits.max_image_bytes),
        )
        .await
        {
            Ok(result) => result.map_err(Refusal::Kind)?,
            Err(_) => return Err(Refusal::Kind(ErrorKind::DownloadTimeout)),
        }
    };
    let format = SuccessorFormat::sniff(&bytes);
    let size = bytes.len() as u64;
    // Only what this emulator can decode is decoded; the download stopped one byte past
    // the limit, so decoding an oversized file before refusing it costs little.
    let decoded = match format {
        Some(SuccessorFormat::Tiff | SuccessorFormat::Gif) | None => None,
        Some(_) => tokio::task::spawn_blocking(move || image::load_from_memory(&bytes).ok())
            .await
            .map_err(|_| Refusal::Kind(ErrorKind::InternalError))?,
    };
    let (width, height) = decoded
        .as_ref()
        .map_or((0, 0), |image| (image.width(), image.height()));
    match limits.check_input(format, size, width, height) {
        Err(refusal) => return Err(Refusal::Message(refusal.to_string())),
        Ok(InputCheck::OutsideRecommendedSides) => {
            info!(
                width,
                height, "an input is outside the recommended 384-3072 px"
            );
        }
        Ok(InputCheck::Fine) => {}
    }
    match (decoded, format) {
        (Some(image), _) => Ok(image),
        (None, Some(SuccessorFormat::Tiff | SuccessorFormat::Gif)) => Err(Refusal::Message(
            "the emulator cannot decode TIFF or GIF (the real service accepts them); use JPEG, PNG, BMP or WEBP".to_owned(),
        )),
        (None, _) => Err(Refusal::Message("the image could not be decoded".to_owned())),
    }
}

/// Downloads at most `limit + 1` bytes, so that an oversized file is reported as such
/// without filling the memory.
pub(crate) async fn download(
    client: &reqwest::Client,
    url: &str,
    limit: u64,
) -> Result<Vec<u8>, ErrorKind> {
    let fail = |e: reqwest::Error| {
        if e.is_timeout() {
            ErrorKind::DownloadTimeout
        } else {
            ErrorKind::InvalidUrl
        }
    };
    let mut response = client.get(url).send().await.map_err(fail)?;
    if !response.status().is_success() {
        return Err(ErrorKind::InvalidUrl);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(fail)? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > limit {
            break;
        }
    }
    Ok(body)
}

/// The bytes of a `data:image/...;base64,` URL.
pub(crate) fn decode_data_url(url: &str) -> Option<Vec<u8>> {
    let (head, data) = url.trim().split_once(',')?;
    if !head.to_ascii_lowercase().starts_with("data:image/") || !head.ends_with(";base64") {
        return None;
    }
    decode_base64(data)
}

/// Standard base64 (padding optional, whitespace ignored); a crate for a dozen lines
/// would be one more dependency of a test tool.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        buffer = (buffer << 6) | u32::from(value(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Which slot the prompt gives each garment image (images 2 and 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Top,
    Bottom,
}

/// The garment word the prompt uses for image `position`, if it names one.
fn named_slot(text: &str, position: usize) -> Option<Slot> {
    let zh_anchor = format!("图{position}中的");
    if let Some(at) = text.find(&zh_anchor) {
        let after = &text[at + zh_anchor.len()..];
        let bottom = BOTTOM_WORDS_ZH.iter().any(|w| after.starts_with(w));
        return Some(if bottom { Slot::Bottom } else { Slot::Top });
    }
    let lower = text.to_lowercase();
    let en_anchor = format!(" from image {position}");
    let at = lower.find(&en_anchor)?;
    let word = lower[..at]
        .rsplit(|c: char| !c.is_alphanumeric() && c != '-')
        .next()
        .filter(|w| !w.is_empty())?;
    let bottom = BOTTOM_WORDS_EN.contains(&word);
    Some(if bottom { Slot::Bottom } else { Slot::Top })
}

/// The slot of every garment image, by the rules of the module doc.
pub fn garment_slots(text: &str, garments: usize) -> Vec<Slot> {
    let mut slots: Vec<Slot> = Vec::with_capacity(garments);
    for index in 0..garments {
        let position = index + 2;
        let wanted =
            named_slot(text, position).unwrap_or(if index == 0 { Slot::Top } else { Slot::Bottom });
        let slot = if slots.contains(&wanted) {
            match wanted {
                Slot::Top => Slot::Bottom,
                Slot::Bottom => Slot::Top,
            }
        } else {
            wanted
        };
        slots.push(slot);
    }
    slots
}

/// Whether the prompt asks for a different face.
pub fn wants_new_face(text: &str) -> bool {
    text.contains("不同的脸") || text.to_lowercase().contains("different face")
}

/// Renders the preview: the person at `size`, the garments in their slots.
fn compose(
    person: DynamicImage,
    garments: Vec<DynamicImage>,
    text: &str,
    size: OutputSize,
) -> image::ImageResult<Vec<u8>> {
    let (w, h) = (size.width(), size.height());
    let person = if (person.width(), person.height()) == (w, h) {
        person
    } else {
        person.resize_to_fill(w, h, FilterType::Triangle)
    };
    let slots = garment_slots(text, garments.len());
    let pick = |wanted: Slot| {
        slots
            .iter()
            .zip(&garments)
            .find(|(slot, _)| **slot == wanted)
            .map(|(_, image)| image)
    };
    let out = render::render(&TryOn {
        person: &person,
        top: pick(Slot::Top),
        bottom: pick(Slot::Bottom),
        resolution: Resolution::Original,
        restore_face: !wants_new_face(text),
    });
    render::encode_png(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tryon_api::Locale;
    use tryon_api::TryOnMode;
    use tryon_api::generation::prompt;

    #[test]
    fn the_proxys_own_prompts_put_each_garment_in_its_slot() {
        for locale in [Locale::ZhCn, Locale::En] {
            for restore_face in [true, false] {
                let slots = |mode, n| garment_slots(&prompt(mode, locale, restore_face), n);
                assert_eq!(slots(TryOnMode::TopOnly, 1), [Slot::Top]);
                assert_eq!(slots(TryOnMode::TopKeepOwnBottom, 1), [Slot::Top]);
                assert_eq!(slots(TryOnMode::BottomOnly, 1), [Slot::Bottom]);
                assert_eq!(slots(TryOnMode::BottomKeepOwnTop, 1), [Slot::Bottom]);
                assert_eq!(slots(TryOnMode::TopAndBottom, 2), [Slot::Top, Slot::Bottom]);
                assert_eq!(slots(TryOnMode::Dress, 1), [Slot::Top]);
                assert_eq!(
                    wants_new_face(&prompt(TryOnMode::Dress, locale, restore_face)),
                    !restore_face
                );
            }
        }
    }

    #[test]
    fn other_prompts_fall_back_to_the_image_order_and_share_the_slots() {
        assert_eq!(garment_slots("make it nice", 2), [Slot::Top, Slot::Bottom]);
        assert_eq!(
            garment_slots("图1中的女生穿着图2中的黑色裙子", 1),
            [Slot::Top]
        );
        assert_eq!(garment_slots("图1中的人穿上图2中的裤子", 1), [Slot::Bottom]);
        assert_eq!(
            garment_slots("Wear the Skirt from image 2 and the jacket from image 3", 2),
            [Slot::Bottom, Slot::Top]
        );
        // Two garments named as tops: the second takes the free slot.
        assert_eq!(
            garment_slots("图2中的上衣和图3中的外套", 2),
            [Slot::Top, Slot::Bottom]
        );
    }

    #[test]
    fn base64_data_urls_decode() {
        assert_eq!(
            decode_data_url("data:image/png;base64,iVBORw0KGgo=").unwrap(),
            b"\x89PNG\r\n\x1a\n"
        );
        assert_eq!(decode_base64("aGVsbG8").unwrap(), b"hello");
        assert!(decode_data_url("data:text/plain;base64,aGk=").is_none());
        assert!(decode_data_url("data:image/png,raw").is_none());
        assert!(decode_base64("a*b").is_none());
    }

    #[test]
    fn the_pro_window_admits_two_per_minute() {
        let windows = Windows::default();
        let pro = SuccessorModel::parse("qwen-image-2.0-pro").unwrap();
        let base = SuccessorModel::parse("qwen-image-2.0").unwrap();
        let start = Instant::now();
        assert!(windows.admit(&pro, start));
        assert!(windows.admit(&pro, start));
        assert!(!windows.admit(&pro, start + Duration::from_secs(59)));
        assert!(windows.admit(&pro, start + Duration::from_secs(60)));
        // Each model has its own window.
        assert!(windows.admit(&base, start));
        assert!(windows.admit(&base, start));
        assert!(!windows.admit(&base, start + Duration::from_millis(999)));
        assert!(windows.admit(&base, start + Duration::from_secs(1)));
    }
}

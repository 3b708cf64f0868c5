//! The successor upstream (`qwen-image-2.0` and later): multi-image editing wire types, its input rules and limits, and the plan that turns each try-on mode into an image order and a prompt.
//!
//! DashScope retired `aitryon`, `aitryon-plus`, `aitryon-refiner` and `aitryon-parsing-v1`
//! on [`AITRYON_RETIRED_ON`] and named `qwen-image-2.0` as the replacement. That model is
//! a general, **synchronous** multi-image editor: one user message with 1-3 images
//! (referred to by order, 图1/图2/图3) and one text. Try-on is therefore done by the
//! prompt: which garment from which image replaces what on the person, and what must stay.
//! The widget keeps speaking the seed's contract; this module is what lets the proxy
//! translate it.
//!
//! What maps and what does not (each point has a unit test):
//! - **Modes.** All six map to "person first, then the garment(s)" and a prompt from
//!   [`PROMPTS`], kept as data in Chinese and English. The keep-own modes keep the
//!   person's own garment **by prompt**: no segmentation call is needed (the segmentation
//!   model is retired too), and the crop the seed flow would pass is not sent.
//! - **`restore_face: true`** puts the face in the list of things to keep.
//!   **`restore_face: false`** asks for a different face instead. That is best-effort: the
//!   model has no face switch, so the result depends on it following the instruction.
//! - **`resolution`** becomes `size`: 1024 → `576*1024`, 1280 → `720*1280`, and -1 (the
//!   person photo's size) → that size scaled, keeping the aspect ratio, into the
//!   model's bounds of 512*512 to 2048*2048 pixels in total. So "original" is exact only
//!   for photos already inside the bounds; the proxy must know the photo's size.
//! - **Not mappable:** refinement (`aitryon-refiner`, no successor) is refused; the
//!   seed's request cannot tell a dress from a top (both travel as `top_garment_url`),
//!   so the proxy passes that as a [`SeedHints::one_piece`] hint or gets the top prompt;
//!   HEIC photos, which the seed accepted, are not among the successor's formats.
//!
//! This module, like the whole crate, does no I/O.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::errors::{ErrorKind, Locale};
use crate::mode::{ClothesType, Garments, MissingGarment, TryOnMode};
use crate::rules::ImageFormat;
use crate::wire::{CreateTaskRequest, ErrorBody, MODEL_REFINER, Resolution};

/// Path of the synchronous multimodal generation call (no async header, no task id).
pub const GENERATION_PATH: &str = "/api/v1/services/aigc/multimodal-generation/generation";
/// The replacement the provider named for the retired aitryon family.
pub const MODEL_QWEN_IMAGE_2: &str = "qwen-image-2.0";
/// The slower, dearer variant with a 2-per-minute submission limit.
pub const MODEL_QWEN_IMAGE_2_PRO: &str = "qwen-image-2.0-pro";
/// The day (00:00, Beijing) the aitryon family stopped answering.
pub const AITRYON_RETIRED_ON: &str = "2026-10-10";
/// The proxy's endpoint that serves [`Capabilities`] to the widget.
pub const CAPABILITIES_PATH: &str = "/api/v1/tryon/capabilities";

/// Largest input image the successor accepts: 10 MB.
pub const MAX_IMAGE_BYTES: u64 = 10 * 1024 * 1024;
/// The side lengths (px) the successor recommends for inputs; outside them it still runs.
pub const RECOMMENDED_SIDE_PX: (u32, u32) = (384, 3072);
/// Images one request may carry.
pub const MAX_IMAGES: usize = 3;
/// The range of `n`, the number of images asked for.
pub const N_RANGE: (i64, i64) = (1, 6);
/// Fewest output pixels: 512*512.
pub const MIN_PIXELS: u64 = 512 * 512;
/// Most output pixels: 2048*2048.
pub const MAX_PIXELS: u64 = 2048 * 2048;
/// Longest `negative_prompt`, in characters.
pub const MAX_NEGATIVE_PROMPT_CHARS: usize = 500;
/// Largest `seed`.
pub const MAX_SEED: i64 = 2_147_483_647;

// ---------------------------------------------------------------------------------------
// Wire types.
// ---------------------------------------------------------------------------------------

/// Body of `POST /api/v1/services/aigc/multimodal-generation/generation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationRequest {
    pub model: String,
    pub input: GenerationInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<GenerationParameters>,
}

/// The `input` object: the conversation, which must be exactly one user message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationInput {
    pub messages: Vec<Message>,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: Vec<ContentItem>,
}

/// One content item: `{"image": url}` or `{"text": prompt}`.
///
/// Both fields are optional on the wire type, rather than an enum, so that a server can
/// tell a caller precisely what is wrong with an item that has both or neither.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContentItem {
    /// A public http(s) URL or a `data:image/...;base64,` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl ContentItem {
    /// An image item.
    pub fn image(url: impl Into<String>) -> ContentItem {
        ContentItem {
            image: Some(url.into()),
            text: None,
        }
    }

    /// A text item.
    pub fn text(text: impl Into<String>) -> ContentItem {
        ContentItem {
            image: None,
            text: Some(text.into()),
        }
    }
}

/// The `parameters` object. `n` and `seed` are wide integers so that a server can report
/// an out-of-range value by name instead of failing to parse the whole body.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GenerationParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<i64>,
    /// `"W*H"`, total pixels within [`MIN_PIXELS`]..=[`MAX_PIXELS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    /// Whether the service may rewrite the prompt. The plan turns it off, because a
    /// rewritten prompt may drop the "keep" instructions a try-on depends on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_extend: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
}

impl GenerationRequest {
    /// The image references of the first message, in order.
    pub fn images(&self) -> Vec<&str> {
        self.input
            .messages
            .first()
            .map(|m| {
                m.content
                    .iter()
                    .filter_map(|c| c.image.as_deref())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The text of the first message, if it has one.
    pub fn text(&self) -> Option<&str> {
        self.input
            .messages
            .first()?
            .content
            .iter()
            .find_map(|c| c.text.as_deref())
    }

    /// Applies the documented request rules, in the order a reader of the body meets
    /// them: the message, its items, then the parameters. The model id is checked
    /// separately (see [`SuccessorModel::parse`]), as the service answers it with its own
    /// code.
    pub fn validate(&self) -> Result<(), GenerationViolation> {
        let messages = &self.input.messages;
        if messages.len() != 1 {
            return Err(GenerationViolation::MessageCount(messages.len()));
        }
        let message = &messages[0];
        if message.role != "user" {
            return Err(GenerationViolation::RoleNotUser(message.role.clone()));
        }
        let (mut images, mut texts) = (0usize, 0usize);
        for (index, item) in message.content.iter().enumerate() {
            match (&item.image, &item.text) {
                (Some(image), None) => {
                    images += 1;
                    if !is_image_reference(image) {
                        return Err(GenerationViolation::ImageReference { index });
                    }
                }
                (None, Some(text)) => {
                    texts += 1;
                    if text.trim().is_empty() {
                        return Err(GenerationViolation::EmptyText);
                    }
                }
                _ => return Err(GenerationViolation::ContentItem { index }),
            }
        }
        if !(1..=MAX_IMAGES).contains(&images) {
            return Err(GenerationViolation::ImageCount(images));
        }
        if texts != 1 {
            return Err(GenerationViolation::TextCount(texts));
        }
        let Some(parameters) = &self.parameters else {
            return Ok(());
        };
        if let Some(n) = parameters.n
            && !(N_RANGE.0..=N_RANGE.1).contains(&n)
        {
            return Err(GenerationViolation::N(n));
        }
        if let Some(size) = &parameters.size {
            OutputSize::parse(size)?;
        }
        if let Some(negative) = &parameters.negative_prompt {
            let chars = negative.chars().count();
            if chars > MAX_NEGATIVE_PROMPT_CHARS {
                return Err(GenerationViolation::NegativePromptTooLong(chars));
            }
        }
        if let Some(seed) = parameters.seed
            && !(0..=MAX_SEED).contains(&seed)
        {
            return Err(GenerationViolation::Seed(seed));
        }
        Ok(())
    }
}

/// Whether a string is an image reference the service fetches: a public http(s) URL with
/// a host, or a `data:image/...` URL.
pub fn is_image_reference(reference: &str) -> bool {
    let trimmed = reference.trim();
    if trimmed.len() > 11 && trimmed[..11].eq_ignore_ascii_case("data:image/") {
        return trimmed.contains(";base64,");
    }
    crate::rules::ImageUrl::parse(trimmed).is_ok()
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationResponse {
    pub output: GenerationOutput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<GenerationUsage>,
    pub request_id: String,
}

/// The `output` object: the answer as a chat completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationOutput {
    pub choices: Vec<Choice>,
}

/// One choice; the service returns one, whose content holds the `n` images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    pub message: Message,
}

/// The `usage` object: the output size and how many images were billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationUsage {
    pub width: u32,
    pub height: u32,
    pub image_count: u32,
}

impl GenerationResponse {
    /// The result images, `output.choices[0].message.content[i].image`, in order. They
    /// are PNG URLs valid for 24 h, so the proxy re-hosts them at once.
    pub fn images(&self) -> Vec<&str> {
        self.output
            .choices
            .first()
            .map(|c| {
                c.message
                    .content
                    .iter()
                    .filter_map(|i| i.image.as_deref())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Why a request breaks the documented rules. Every case is answered as HTTP 400
/// `InvalidParameter` with this text as the message (the shared [`ErrorBody`] shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenerationViolation {
    MessageCount(usize),
    RoleNotUser(String),
    /// An item with both `image` and `text`, or with neither.
    ContentItem {
        index: usize,
    },
    ImageReference {
        index: usize,
    },
    EmptyText,
    ImageCount(usize),
    TextCount(usize),
    N(i64),
    SizeFormat(String),
    SizeOutOfBounds {
        width: u64,
        height: u64,
    },
    NegativePromptTooLong(usize),
    Seed(i64),
}

impl fmt::Display for GenerationViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenerationViolation::MessageCount(n) => {
                write!(f, "input.messages must hold exactly one message, not {n}")
            }
            GenerationViolation::RoleNotUser(role) => {
                write!(f, "the message's role must be \"user\", not {role:?}")
            }
            GenerationViolation::ContentItem { index } => write!(
                f,
                "content item {index} must have exactly one of \"image\" and \"text\""
            ),
            GenerationViolation::ImageReference { index } => write!(
                f,
                "content item {index}: the image must be a public http(s) URL or a data:image/...;base64, URL"
            ),
            GenerationViolation::EmptyText => f.write_str("the text must not be empty"),
            GenerationViolation::ImageCount(n) => write!(
                f,
                "the message must carry 1 to {MAX_IMAGES} images, not {n}"
            ),
            GenerationViolation::TextCount(n) => {
                write!(f, "the message must carry exactly one text, not {n}")
            }
            GenerationViolation::N(n) => write!(
                f,
                "parameters.n must be from {} to {}, not {n}",
                N_RANGE.0, N_RANGE.1
            ),
            GenerationViolation::SizeFormat(size) => write!(
                f,
                "parameters.size must look like \"1024*1536\" (width*height), not {size:?}"
            ),
            GenerationViolation::SizeOutOfBounds { width, height } => write!(
                f,
                "parameters.size {width}*{height} has {} pixels; it must have from 512*512 to 2048*2048",
                width * height
            ),
            GenerationViolation::NegativePromptTooLong(chars) => write!(
                f,
                "parameters.negative_prompt has {chars} characters; at most {MAX_NEGATIVE_PROMPT_CHARS} are accepted"
            ),
            GenerationViolation::Seed(seed) => write!(
                f,
                "parameters.seed must be from 0 to {MAX_SEED}, not {seed}"
            ),
        }
    }
}

impl std::error::Error for GenerationViolation {}

impl GenerationViolation {
    /// The error body the service answers (HTTP 400) for this violation.
    pub fn error_body(&self, request_id: impl Into<String>) -> ErrorBody {
        ErrorBody {
            code: ErrorKind::InvalidParameter.code().to_owned(),
            message: self.to_string(),
            request_id: request_id.into(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Output size.
// ---------------------------------------------------------------------------------------

/// An output size within the model's bounds, written `"W*H"` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OutputSize {
    width: u32,
    height: u32,
}

impl OutputSize {
    /// Reads `"W*H"` and checks the pixel bounds.
    pub fn parse(raw: &str) -> Result<OutputSize, GenerationViolation> {
        let malformed = || GenerationViolation::SizeFormat(raw.to_owned());
        let (w, h) = raw.trim().split_once('*').ok_or_else(malformed)?;
        let side = |s: &str| {
            let s = s.trim();
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse::<u32>().ok().filter(|v| *v > 0)
        };
        let (width, height) = (
            side(w).ok_or_else(malformed)?,
            side(h).ok_or_else(malformed)?,
        );
        OutputSize::new(width, height)
    }

    /// A size, if its total pixels are within the bounds.
    pub fn new(width: u32, height: u32) -> Result<OutputSize, GenerationViolation> {
        let pixels = u64::from(width) * u64::from(height);
        if !(MIN_PIXELS..=MAX_PIXELS).contains(&pixels) {
            return Err(GenerationViolation::SizeOutOfBounds {
                width: u64::from(width),
                height: u64::from(height),
            });
        }
        Ok(OutputSize { width, height })
    }

    /// The person photo's size scaled, keeping its aspect ratio, into the pixel bounds;
    /// unchanged when it is already inside. `None` only for aspect ratios so extreme that
    /// no whole-pixel size fits (far beyond the 150-4096 px photos the proxy accepts).
    pub fn fit(width: u32, height: u32) -> Option<OutputSize> {
        if width == 0 || height == 0 {
            return None;
        }
        let pixels = u64::from(width) * u64::from(height);
        let target = if pixels < MIN_PIXELS {
            MIN_PIXELS
        } else if pixels > MAX_PIXELS {
            MAX_PIXELS
        } else {
            return OutputSize::new(width, height).ok();
        };
        let scale = (target as f64 / pixels as f64).sqrt();
        let mut w = ((f64::from(width) * scale).round() as u64).max(1);
        let mut h = ((f64::from(height) * scale).round() as u64).max(1);
        // Rounding may land a few pixels outside; nudge the side that changes the ratio
        // least (the longer one) until the product is inside.
        for _ in 0..8 {
            let product = w * h;
            if product < MIN_PIXELS {
                if w >= h { w += 1 } else { h += 1 }
            } else if product > MAX_PIXELS {
                if w >= h { w -= 1 } else { h -= 1 }
            } else {
                break;
            }
        }
        let w = u32::try_from(w).ok()?;
        let h = u32::try_from(h).ok()?;
        OutputSize::new(w, h).ok()
    }

    pub fn width(self) -> u32 {
        self.width
    }

    pub fn height(self) -> u32 {
        self.height
    }
}

impl fmt::Display for OutputSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}*{}", self.width, self.height)
    }
}

// ---------------------------------------------------------------------------------------
// Models, limits, prices, formats.
// ---------------------------------------------------------------------------------------

/// An image format the successor accepts (GIF: its first frame). HEIC, which the seed
/// accepted, is not among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SuccessorFormat {
    Jpeg,
    Png,
    Bmp,
    Tiff,
    Webp,
    Gif,
}

impl SuccessorFormat {
    pub const ALL: [SuccessorFormat; 6] = [
        SuccessorFormat::Jpeg,
        SuccessorFormat::Png,
        SuccessorFormat::Bmp,
        SuccessorFormat::Tiff,
        SuccessorFormat::Webp,
        SuccessorFormat::Gif,
    ];

    /// The short lower-case name, e.g. `tiff`.
    pub fn name(self) -> &'static str {
        match self {
            SuccessorFormat::Jpeg => "jpeg",
            SuccessorFormat::Png => "png",
            SuccessorFormat::Bmp => "bmp",
            SuccessorFormat::Tiff => "tiff",
            SuccessorFormat::Webp => "webp",
            SuccessorFormat::Gif => "gif",
        }
    }

    /// Recognises the format from the first bytes, never from a name.
    pub fn sniff(bytes: &[u8]) -> Option<SuccessorFormat> {
        if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            return Some(SuccessorFormat::Gif);
        }
        if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            return Some(SuccessorFormat::Tiff);
        }
        ImageFormat::sniff(bytes).and_then(SuccessorFormat::from_seed)
    }

    /// The successor's name for a format the seed's rules recognise; `None` for HEIC.
    pub fn from_seed(format: ImageFormat) -> Option<SuccessorFormat> {
        match format {
            ImageFormat::Jpeg => Some(SuccessorFormat::Jpeg),
            ImageFormat::Png => Some(SuccessorFormat::Png),
            ImageFormat::Bmp => Some(SuccessorFormat::Bmp),
            ImageFormat::Webp => Some(SuccessorFormat::Webp),
            ImageFormat::Heic => None,
        }
    }
}

/// How many submissions the service admits per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubmissionRate {
    pub count: u32,
    pub per_seconds: u32,
}

impl SubmissionRate {
    /// The steady spacing between two submissions that never trips the limit.
    pub fn min_interval_ms(self) -> u64 {
        u64::from(self.per_seconds) * 1000 / u64::from(self.count.max(1))
    }
}

/// The successor's input rules and limits for one model, owned by the adapter so that
/// the queue never scatters its own constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuccessorLimits {
    pub max_image_bytes: u64,
    /// Recommended, not enforced: outside it the model still runs, with worse results.
    pub recommended_side_px: (u32, u32),
    pub formats: &'static [SuccessorFormat],
    pub max_images: usize,
    pub submissions: SubmissionRate,
}

/// How an input image fares against the successor's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputCheck {
    Fine,
    /// Accepted, but a side is outside [`RECOMMENDED_SIDE_PX`].
    OutsideRecommendedSides,
}

/// An input image the successor refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputRefusal {
    /// Not one of [`SuccessorFormat::ALL`] (for example HEIC).
    Format,
    TooLarge {
        bytes: u64,
    },
}

impl fmt::Display for InputRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputRefusal::Format => {
                f.write_str("the image must be JPEG, PNG, BMP, TIFF, WEBP or GIF")
            }
            InputRefusal::TooLarge { bytes } => write!(
                f,
                "the image has {bytes} bytes; at most 10 MB ({MAX_IMAGE_BYTES} bytes) are accepted"
            ),
        }
    }
}

impl std::error::Error for InputRefusal {}

impl SuccessorLimits {
    /// Checks one input image's facts: format and size refuse, sides only advise.
    pub fn check_input(
        &self,
        format: Option<SuccessorFormat>,
        bytes: u64,
        width: u32,
        height: u32,
    ) -> Result<InputCheck, InputRefusal> {
        match format {
            Some(format) if self.formats.contains(&format) => {}
            _ => return Err(InputRefusal::Format),
        }
        if bytes > self.max_image_bytes {
            return Err(InputRefusal::TooLarge { bytes });
        }
        let (low, high) = self.recommended_side_px;
        if width.min(height) < low || width.max(height) > high {
            return Ok(InputCheck::OutsideRecommendedSides);
        }
        Ok(InputCheck::Fine)
    }
}

/// A model id the successor adapter can use: `qwen-image-<major>.<minor>` with an
/// optional `-pro`, version 2.0 or later. Built only through [`SuccessorModel::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SuccessorModel {
    id: String,
    pro: bool,
}

/// Why a model id cannot serve the successor adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelRefusal {
    /// A model of the batch retired on [`AITRYON_RETIRED_ON`].
    Retired(String),
    /// Not a `qwen-image-<version>[-pro]` id of version 2.0 or later.
    NotASuccessor(String),
}

impl fmt::Display for ModelRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelRefusal::Retired(id) => write!(
                f,
                "the model {id:?} was retired on {AITRYON_RETIRED_ON}; use {MODEL_QWEN_IMAGE_2:?} or a later qwen-image id"
            ),
            ModelRefusal::NotASuccessor(id) => write!(
                f,
                "the model {id:?} is not a multi-image editing model this adapter knows; use {MODEL_QWEN_IMAGE_2:?}, {MODEL_QWEN_IMAGE_2_PRO:?} or a later qwen-image-<version>[-pro] id"
            ),
        }
    }
}

impl std::error::Error for ModelRefusal {}

impl SuccessorModel {
    /// Accepts `qwen-image-2.0`, `qwen-image-2.0-pro`, `qwen-image-2.1-pro`,
    /// `qwen-image-3.0` and any later `qwen-image-<major>.<minor>[-pro]`; refuses the
    /// retired ids (`aitryon*`, `qwen-image`, `qwen-image-plus`, `qwen-image-max`,
    /// `qwen-image-edit*`) by name.
    pub fn parse(raw: &str) -> Result<SuccessorModel, ModelRefusal> {
        let id = raw.trim();
        let retired = id.starts_with("aitryon")
            || matches!(id, "qwen-image" | "qwen-image-plus" | "qwen-image-max")
            || id.starts_with("qwen-image-edit");
        if retired {
            return Err(ModelRefusal::Retired(id.to_owned()));
        }
        let refuse = || ModelRefusal::NotASuccessor(id.to_owned());
        let rest = id.strip_prefix("qwen-image-").ok_or_else(refuse)?;
        let (version, pro) = match rest.strip_suffix("-pro") {
            Some(version) => (version, true),
            None => (rest, false),
        };
        let (major, minor) = version.split_once('.').ok_or_else(refuse)?;
        let number = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
        };
        let major = number(major).ok_or_else(refuse)?;
        number(minor).ok_or_else(refuse)?;
        if major < 2 {
            return Err(ModelRefusal::Retired(id.to_owned()));
        }
        Ok(SuccessorModel {
            id: id.to_owned(),
            pro,
        })
    }

    /// The default successor model.
    pub fn default_model() -> SuccessorModel {
        SuccessorModel {
            id: MODEL_QWEN_IMAGE_2.to_owned(),
            pro: false,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether this is a `-pro` model (slower submission limit, higher price).
    pub fn is_pro(&self) -> bool {
        self.pro
    }

    /// The input rules and limits of this model: 2 submissions per second, or 2 per
    /// minute for `-pro`. Later ids are assumed to share the limits of their class
    /// (UNCONFIRMED: the reference gives figures for 2.0 and 2.0-pro only).
    pub fn limits(&self) -> SuccessorLimits {
        SuccessorLimits {
            max_image_bytes: MAX_IMAGE_BYTES,
            recommended_side_px: RECOMMENDED_SIDE_PX,
            formats: &SuccessorFormat::ALL,
            max_images: MAX_IMAGES,
            submissions: SubmissionRate {
                count: 2,
                per_seconds: if self.pro { 60 } else { 1 },
            },
        }
    }
}

/// The default price in CNY per returned image (Beijing): 0.20 for `qwen-image-2.0`,
/// 0.50 for `qwen-image-2.0-pro`. Later ids default to their class's price
/// (UNCONFIRMED); the proxy's configuration overrides this.
pub fn price_cny(model: &SuccessorModel) -> f64 {
    if model.is_pro() { 0.50 } else { 0.20 }
}

// ---------------------------------------------------------------------------------------
// Prompts, kept as data.
// ---------------------------------------------------------------------------------------

/// Which field of [`Garments`] feeds an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GarmentSlot {
    /// `Garments::top`: a top, or the dress in [`TryOnMode::Dress`].
    Top,
    /// `Garments::bottom`.
    Bottom,
}

/// The image order and prompt of one mode. Image 1 is always the person; `garments`
/// lists the images after it. `{face}` in a prompt becomes [`FACE_KEEP`] when the face is
/// kept and nothing when it is not (then [`FACE_CHANGE`] is appended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromptTemplate {
    pub mode: TryOnMode,
    pub garments: &'static [GarmentSlot],
    pub zh: &'static str,
    pub en: &'static str,
}

/// One row per mode, in [`TryOnMode::ALL`] order. Each prompt says what is put on from
/// which image, what it replaces, and what stays: face, pose, the other garment,
/// background. The keep-own modes name the person's own garment explicitly, which is how
/// they differ from the plain single-garment modes now that no segmentation is involved.
pub const PROMPTS: [PromptTemplate; 6] = [
    PromptTemplate {
        mode: TryOnMode::TopOnly,
        garments: &[GarmentSlot::Top],
        zh: "图1中的人穿上图2中的上衣，替换原来的上衣，保持人物的{face}姿势、下装和背景不变。",
        en: "The person in image 1 puts on the top from image 2, replacing their current top; keep the person's {face}pose, bottom and background unchanged.",
    },
    PromptTemplate {
        mode: TryOnMode::TopKeepOwnBottom,
        garments: &[GarmentSlot::Top],
        zh: "图1中的人穿上图2中的上衣，替换原来的上衣，并保留图1中人物自己原来的下装（款式、颜色和长度都不变），保持人物的{face}姿势和背景不变。",
        en: "The person in image 1 puts on the top from image 2, replacing their current top, and keeps their own bottom from image 1 (same style, colour and length); keep the person's {face}pose and background unchanged.",
    },
    PromptTemplate {
        mode: TryOnMode::BottomOnly,
        garments: &[GarmentSlot::Bottom],
        zh: "图1中的人穿上图2中的下装，替换原来的下装，保持人物的{face}姿势、上衣和背景不变。",
        en: "The person in image 1 puts on the bottom from image 2, replacing their current bottom; keep the person's {face}pose, top and background unchanged.",
    },
    PromptTemplate {
        mode: TryOnMode::BottomKeepOwnTop,
        garments: &[GarmentSlot::Bottom],
        zh: "图1中的人穿上图2中的下装，替换原来的下装，并保留图1中人物自己原来的上衣（款式、颜色和长度都不变），保持人物的{face}姿势和背景不变。",
        en: "The person in image 1 puts on the bottom from image 2, replacing their current bottom, and keeps their own top from image 1 (same style, colour and length); keep the person's {face}pose and background unchanged.",
    },
    PromptTemplate {
        mode: TryOnMode::TopAndBottom,
        garments: &[GarmentSlot::Top, GarmentSlot::Bottom],
        zh: "图1中的人穿上图2中的上衣和图3中的下装，替换原来的上衣和下装，保持人物的{face}姿势和背景不变。",
        en: "The person in image 1 puts on the top from image 2 and the bottom from image 3, replacing their current top and bottom; keep the person's {face}pose and background unchanged.",
    },
    PromptTemplate {
        mode: TryOnMode::Dress,
        garments: &[GarmentSlot::Top],
        zh: "图1中的人穿上图2中的连衣裙，替换原来的上衣和下装，保持人物的{face}姿势和背景不变。",
        en: "The person in image 1 puts on the dress from image 2, replacing their current top and bottom; keep the person's {face}pose and background unchanged.",
    },
];

/// What `{face}` becomes when the face is kept: `(zh, en)`.
pub const FACE_KEEP: (&str, &str) = ("脸、", "face, ");
/// Appended when `restore_face` is false: `(zh, en)`. Best-effort, see the module doc.
pub const FACE_CHANGE: (&str, &str) = (
    "把人物的脸换成一张不同的脸（自然真实的陌生人面孔）。",
    "Give the person a different face (a natural, realistic stranger's face).",
);
/// Appended to every prompt, so that the garment is reproduced rather than reinvented:
/// `(zh, en)`.
pub const GARMENT_FIDELITY: (&str, &str) = (
    "服装的颜色、图案和版型与参考图一致，生成真实自然的照片。",
    "Keep each garment's colour, pattern and cut as in its image, in a realistic photo.",
);
/// The negative prompt of every request: `(zh, en)`.
pub const NEGATIVE_PROMPT: (&str, &str) = (
    "变形的手和肢体，多余的手指，模糊，文字，水印",
    "deformed hands or limbs, extra fingers, blurry, text, watermark",
);

/// The row of [`PROMPTS`] for a mode.
pub fn template(mode: TryOnMode) -> &'static PromptTemplate {
    PROMPTS
        .iter()
        .find(|t| t.mode == mode)
        .unwrap_or(&PROMPTS[0])
}

fn pick(pair: (&'static str, &'static str), locale: Locale) -> &'static str {
    match locale {
        Locale::ZhCn => pair.0,
        Locale::En => pair.1,
    }
}

/// The full prompt of a mode in one language.
pub fn prompt(mode: TryOnMode, locale: Locale, restore_face: bool) -> String {
    let row = template(mode);
    let base = match locale {
        Locale::ZhCn => row.zh,
        Locale::En => row.en,
    };
    let face = if restore_face {
        pick(FACE_KEEP, locale)
    } else {
        ""
    };
    let mut text = base.replace("{face}", face);
    let space = if locale == Locale::En { " " } else { "" };
    if !restore_face {
        text.push_str(space);
        text.push_str(pick(FACE_CHANGE, locale));
    }
    text.push_str(space);
    text.push_str(pick(GARMENT_FIDELITY, locale));
    text
}

// ---------------------------------------------------------------------------------------
// The plan.
// ---------------------------------------------------------------------------------------

/// Everything besides the mode and the images that decides a request.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOptions {
    pub model: SuccessorModel,
    /// The prompt's language. Chinese by default: the model's own guide writes its
    /// examples in Chinese.
    pub locale: Locale,
    pub resolution: Resolution,
    pub restore_face: bool,
    /// The person photo's width and height; needed for [`Resolution::Original`].
    pub person_size: Option<(u32, u32)>,
    /// A fixed seed for repeatable results; none lets the service pick.
    pub seed: Option<u32>,
}

impl PlanOptions {
    /// Chinese prompts, the photo's own size, the face kept, no seed.
    pub fn new(model: SuccessorModel) -> PlanOptions {
        PlanOptions {
            model,
            locale: Locale::ZhCn,
            resolution: Resolution::Original,
            restore_face: true,
            person_size: None,
            seed: None,
        }
    }
}

/// Why a try-on cannot be expressed as a successor request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingError {
    /// The mode needs a garment the product did not give.
    MissingGarment(MissingGarment),
    /// The seed request carries no garment at all.
    NoGarment,
    /// [`Resolution::Original`] needs the person photo's size, which was not given.
    PersonSizeUnknown,
    /// The person photo's aspect ratio is too extreme for any size within the bounds.
    SizeUnmappable { width: u32, height: u32 },
    /// `aitryon-refiner` has no successor; the HD follow-up is not offered.
    RefinementUnavailable,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MappingError::MissingGarment(missing) => missing.fmt(f),
            MappingError::NoGarment => {
                f.write_str("the request has neither a top nor a bottom garment")
            }
            MappingError::PersonSizeUnknown => f.write_str(
                "resolution -1 (the photo's own size) needs the person photo's width and height",
            ),
            MappingError::SizeUnmappable { width, height } => write!(
                f,
                "a {width}x{height} photo cannot be scaled into 512*512..2048*2048 pixels"
            ),
            MappingError::RefinementUnavailable => f.write_str(
                "refinement (aitryon-refiner) was retired and the successor has no equivalent",
            ),
        }
    }
}

impl std::error::Error for MappingError {}

impl MappingError {
    /// The catalogue entry the proxy answers with.
    pub fn error_kind(&self) -> ErrorKind {
        match self {
            MappingError::MissingGarment(_) | MappingError::NoGarment => ErrorKind::InvalidGarment,
            MappingError::PersonSizeUnknown => ErrorKind::ProxyInternal,
            MappingError::SizeUnmappable { .. } => ErrorKind::InvalidInputLength,
            MappingError::RefinementUnavailable => ErrorKind::InvalidParameter,
        }
    }
}

/// The `size` for a seed resolution: 1024 → `576*1024`, 1280 → `720*1280`, -1 → the
/// person's size fitted into the bounds (see [`OutputSize::fit`]).
pub fn size_for(
    resolution: Resolution,
    person_size: Option<(u32, u32)>,
) -> Result<OutputSize, MappingError> {
    let (width, height) = match resolution {
        Resolution::Original => person_size.ok_or(MappingError::PersonSizeUnknown)?,
        fixed => fixed.output_size(0, 0),
    };
    OutputSize::fit(width, height).ok_or(MappingError::SizeUnmappable { width, height })
}

/// Builds the successor request of a try-on: image 1 the person, then the mode's
/// garments in the order of its [`PromptTemplate`], and the mode's prompt.
///
/// `own_crop` (the segmentation crop the seed flow passes in the keep-own modes) is
/// accepted for the seed's signature and deliberately **not sent**: the person's own
/// garment is already in image 1 and the prompt keeps it, so no segmentation is needed.
/// One image is asked for (`n: 1`), prompt rewriting and the watermark are off.
pub fn plan(
    mode: TryOnMode,
    person_url: &str,
    garments: &Garments,
    own_crop: Option<&str>,
    options: &PlanOptions,
) -> Result<GenerationRequest, MappingError> {
    let _ = own_crop;
    // The seed's own garment rules decide which garments a mode needs, so both upstreams
    // refuse exactly the same products.
    let input = mode
        .tryon_input(person_url, garments, None)
        .map_err(MappingError::MissingGarment)?;
    let size = size_for(options.resolution, options.person_size)?;
    let mut content = vec![ContentItem::image(person_url)];
    for slot in template(mode).garments {
        let url = match slot {
            GarmentSlot::Top => input.top_garment_url.clone(),
            GarmentSlot::Bottom => input.bottom_garment_url.clone(),
        };
        // `tryon_input` has already refused a mode whose garment is missing.
        content.extend(url.map(ContentItem::image));
    }
    content.push(ContentItem::text(prompt(
        mode,
        options.locale,
        options.restore_face,
    )));
    Ok(GenerationRequest {
        model: options.model.id().to_owned(),
        input: GenerationInput {
            messages: vec![Message {
                role: "user".to_owned(),
                content,
            }],
        },
        parameters: Some(GenerationParameters {
            n: Some(1),
            size: Some(size.to_string()),
            negative_prompt: Some(pick(NEGATIVE_PROMPT, options.locale).to_owned()),
            prompt_extend: Some(false),
            watermark: Some(false),
            seed: options.seed.map(i64::from),
        }),
    })
}

/// What the seed's create request cannot say but the plan needs; the proxy knows both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeedHints {
    /// Which garment URL is a crop of the person's own garment (made by the proxy's
    /// segmentation in the seed flow): `Lower` makes a top+bottom request
    /// `TopKeepOwnBottom`, `Upper` makes it `BottomKeepOwnTop`.
    pub own_garment: Option<ClothesType>,
    /// The lone top garment is a dress or jumpsuit (for example from the shop's
    /// catalogue); without this hint a lone top is planned as a top.
    pub one_piece: bool,
}

/// The mode a seed create request stands for.
pub fn mode_of_seed(
    request: &CreateTaskRequest,
    hints: SeedHints,
) -> Result<TryOnMode, MappingError> {
    let present = |url: &Option<String>| url.as_deref().is_some_and(|u| !u.trim().is_empty());
    let top = present(&request.input.top_garment_url);
    let bottom = present(&request.input.bottom_garment_url);
    Ok(match (top, bottom, hints.own_garment) {
        (true, true, Some(ClothesType::Lower)) => TryOnMode::TopKeepOwnBottom,
        (true, true, Some(ClothesType::Upper)) => TryOnMode::BottomKeepOwnTop,
        (true, true, _) => TryOnMode::TopAndBottom,
        (true, false, _) if hints.one_piece => TryOnMode::Dress,
        (true, false, _) => TryOnMode::TopOnly,
        (false, true, _) => TryOnMode::BottomOnly,
        (false, false, _) => return Err(MappingError::NoGarment),
    })
}

/// Translates a whole seed create request (what the widget sends) into the successor's
/// request: the mode from [`mode_of_seed`], `resolution` and `restore_face` from its
/// parameters (defaults -1 and true, as the seed documents), the own-garment crop left
/// out. Refinement requests are refused. `gender`, a refiner-only parameter, is ignored.
pub fn plan_seed(
    request: &CreateTaskRequest,
    hints: SeedHints,
    person_size: Option<(u32, u32)>,
    model: SuccessorModel,
    locale: Locale,
) -> Result<GenerationRequest, MappingError> {
    if request.model.trim() == MODEL_REFINER || request.input.coarse_image_url.is_some() {
        return Err(MappingError::RefinementUnavailable);
    }
    let mode = mode_of_seed(request, hints)?;
    let parameters = request.parameters.clone().unwrap_or_default();
    let (mut top, mut bottom) = (
        request.input.top_garment_url.clone(),
        request.input.bottom_garment_url.clone(),
    );
    let own_crop = match mode {
        TryOnMode::TopKeepOwnBottom => bottom.take(),
        TryOnMode::BottomKeepOwnTop => top.take(),
        _ => None,
    };
    let options = PlanOptions {
        locale,
        resolution: parameters.resolution.unwrap_or_default(),
        restore_face: parameters.restore_face.unwrap_or(true),
        person_size,
        ..PlanOptions::new(model)
    };
    plan(
        mode,
        &request.input.person_image_url,
        &Garments { top, bottom },
        own_crop.as_deref(),
        &options,
    )
}

// ---------------------------------------------------------------------------------------
// Capabilities served to the widget.
// ---------------------------------------------------------------------------------------

/// Which upstream adapter the proxy runs, as written in its `TRYON_UPSTREAM` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UpstreamKind {
    /// The seed's asynchronous create/poll API (`aitryon-plus`, `aitryon`), retired on
    /// [`AITRYON_RETIRED_ON`]; still what the emulator-backed demo uses.
    #[serde(rename = "aitryon")]
    Aitryon,
    /// The synchronous multi-image editing successor (`qwen-image-2.0` and later).
    #[serde(rename = "qwen-image")]
    QwenImage,
    /// FASHN's try-on API (`tryon-v1.6`), see [`crate::fashn`].
    #[serde(rename = "fashn")]
    Fashn,
}

impl UpstreamKind {
    /// The setting's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamKind::Aitryon => "aitryon",
            UpstreamKind::QwenImage => "qwen-image",
            UpstreamKind::Fashn => "fashn",
        }
    }

    /// Reads the setting; `None` for anything else.
    pub fn parse(raw: &str) -> Option<UpstreamKind> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "aitryon" => Some(UpstreamKind::Aitryon),
            "qwen-image" => Some(UpstreamKind::QwenImage),
            "fashn" => Some(UpstreamKind::Fashn),
            _ => None,
        }
    }
}

/// How the shopper's "new face" choice is honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaceChoice {
    /// A model parameter (`restore_face`) decides it.
    Exact,
    /// Only the prompt asks for it; the widget should word the option as a wish.
    BestEffort,
}

/// How "keep my own top/bottom" is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepOwnGarment {
    /// A segmentation call first (`aitryon-parsing-v1`), then the crop as a garment.
    Segmentation,
    /// The prompt keeps it; the widget must not call segmentation.
    Prompt,
    /// The upstream replaces only the category of the garment it is given (FASHN) and
    /// leaves the rest of the outfit as it is: the widget sends the garment alone and must
    /// not call segmentation.
    Category,
}

/// What the current upstream can do, so that the widget offers nothing else. Served by
/// the proxy at [`CAPABILITIES_PATH`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capabilities {
    pub upstream: UpstreamKind,
    pub model: String,
    pub modes: Vec<TryOnMode>,
    /// The seed resolutions the widget may offer (`-1`, `1024`, `1280`).
    pub resolutions: Vec<Resolution>,
    /// Whether "-1" gives exactly the photo's size (false: it is fitted into bounds).
    pub original_size_exact: bool,
    /// `None`: the widget must not offer a new face.
    pub face_choice: Option<FaceChoice>,
    pub keep_own_garment: KeepOwnGarment,
    /// Whether an HD refinement follow-up exists.
    pub refinement: bool,
    /// Photo formats the upstream takes, by the contract's short names; the widget's
    /// file picker accepts only these.
    pub photo_formats: Vec<String>,
    /// Sides (px) the upstream recommends for photos, if it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommended_photo_side_px: Option<(u32, u32)>,
}

impl Capabilities {
    /// The seed upstream: every mode, exact resolutions and face choice, segmentation for
    /// the keep-own modes, refinement, and the seed's five formats.
    pub fn aitryon(model: &str) -> Capabilities {
        Capabilities {
            upstream: UpstreamKind::Aitryon,
            model: model.to_owned(),
            modes: TryOnMode::ALL.to_vec(),
            resolutions: vec![
                Resolution::Original,
                Resolution::Portrait1024,
                Resolution::Portrait1280,
            ],
            original_size_exact: true,
            face_choice: Some(FaceChoice::Exact),
            keep_own_garment: KeepOwnGarment::Segmentation,
            refinement: true,
            photo_formats: ["jpeg", "png", "bmp", "heic", "webp"]
                .map(str::to_owned)
                .to_vec(),
            recommended_photo_side_px: None,
        }
    }

    /// The successor: every mode (keep-own by prompt), the three resolutions with "-1"
    /// fitted into bounds, a best-effort face choice, no refinement, no HEIC.
    pub fn successor(model: &SuccessorModel) -> Capabilities {
        Capabilities {
            upstream: UpstreamKind::QwenImage,
            model: model.id().to_owned(),
            modes: TryOnMode::ALL.to_vec(),
            resolutions: vec![
                Resolution::Original,
                Resolution::Portrait1024,
                Resolution::Portrait1280,
            ],
            original_size_exact: false,
            face_choice: Some(FaceChoice::BestEffort),
            keep_own_garment: KeepOwnGarment::Prompt,
            refinement: false,
            // The proxy's uploads recognise JPEG, PNG, BMP, HEIC and WEBP; of those the
            // successor takes all but HEIC.
            photo_formats: ["jpeg", "png", "bmp", "webp"].map(str::to_owned).to_vec(),
            recommended_photo_side_px: Some(model.limits().recommended_side_px),
        }
    }

    pub fn offers_mode(&self, mode: TryOnMode) -> bool {
        self.modes.contains(&mode)
    }

    pub fn offers_resolution(&self, resolution: Resolution) -> bool {
        self.resolutions.contains(&resolution)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{TryOnInput, TryOnParameters};

    const PERSON: &str = "https://shop.example/p.jpg";
    const TOP: &str = "https://shop.example/top.jpg";
    const BOTTOM: &str = "https://shop.example/bottom.jpg";

    fn garments() -> Garments {
        Garments {
            top: Some(TOP.into()),
            bottom: Some(BOTTOM.into()),
        }
    }

    fn options() -> PlanOptions {
        PlanOptions {
            person_size: Some((768, 1536)),
            ..PlanOptions::new(SuccessorModel::default_model())
        }
    }

    fn planned(mode: TryOnMode, options: &PlanOptions) -> GenerationRequest {
        plan(
            mode,
            PERSON,
            &garments(),
            Some("https://proxy/crop.png"),
            options,
        )
        .unwrap()
    }

    #[test]
    fn every_mode_sends_the_person_first_then_its_garments_in_order() {
        let expected: [(TryOnMode, &[&str]); 6] = [
            (TryOnMode::TopOnly, &[PERSON, TOP]),
            (TryOnMode::TopKeepOwnBottom, &[PERSON, TOP]),
            (TryOnMode::BottomOnly, &[PERSON, BOTTOM]),
            (TryOnMode::BottomKeepOwnTop, &[PERSON, BOTTOM]),
            (TryOnMode::TopAndBottom, &[PERSON, TOP, BOTTOM]),
            (TryOnMode::Dress, &[PERSON, TOP]),
        ];
        for (mode, images) in expected {
            let request = planned(mode, &options());
            assert_eq!(request.images(), images, "{mode:?}");
            // The text comes last, after every image, and the request obeys the rules.
            let content = &request.input.messages[0].content;
            assert!(content.last().unwrap().text.is_some(), "{mode:?}");
            assert_eq!(request.validate(), Ok(()), "{mode:?}");
            assert_eq!(request.model, "qwen-image-2.0");
        }
    }

    #[test]
    fn keep_own_modes_never_send_the_segmentation_crop() {
        for mode in [TryOnMode::TopKeepOwnBottom, TryOnMode::BottomKeepOwnTop] {
            let request = planned(mode, &options());
            assert!(
                !request.images().contains(&"https://proxy/crop.png"),
                "{mode:?}"
            );
        }
    }

    #[test]
    fn every_mode_has_its_exact_chinese_prompt() {
        let expected = [
            (
                TryOnMode::TopOnly,
                "图1中的人穿上图2中的上衣，替换原来的上衣，保持人物的脸、姿势、下装和背景不变。",
            ),
            (
                TryOnMode::TopKeepOwnBottom,
                "图1中的人穿上图2中的上衣，替换原来的上衣，并保留图1中人物自己原来的下装（款式、颜色和长度都不变），保持人物的脸、姿势和背景不变。",
            ),
            (
                TryOnMode::BottomOnly,
                "图1中的人穿上图2中的下装，替换原来的下装，保持人物的脸、姿势、上衣和背景不变。",
            ),
            (
                TryOnMode::BottomKeepOwnTop,
                "图1中的人穿上图2中的下装，替换原来的下装，并保留图1中人物自己原来的上衣（款式、颜色和长度都不变），保持人物的脸、姿势和背景不变。",
            ),
            (
                TryOnMode::TopAndBottom,
                "图1中的人穿上图2中的上衣和图3中的下装，替换原来的上衣和下装，保持人物的脸、姿势和背景不变。",
            ),
            (
                TryOnMode::Dress,
                "图1中的人穿上图2中的连衣裙，替换原来的上衣和下装，保持人物的脸、姿势和背景不变。",
            ),
        ];
        for (mode, first_sentence) in expected {
            let text = prompt(mode, Locale::ZhCn, true);
            assert_eq!(
                text,
                format!("{first_sentence}{}", GARMENT_FIDELITY.0),
                "{mode:?}"
            );
            assert_eq!(planned(mode, &options()).text(), Some(text.as_str()));
        }
    }

    #[test]
    fn every_mode_has_its_exact_english_prompt() {
        let expected = [
            (
                TryOnMode::TopOnly,
                "The person in image 1 puts on the top from image 2, replacing their current top; keep the person's face, pose, bottom and background unchanged.",
            ),
            (
                TryOnMode::TopKeepOwnBottom,
                "The person in image 1 puts on the top from image 2, replacing their current top, and keeps their own bottom from image 1 (same style, colour and length); keep the person's face, pose and background unchanged.",
            ),
            (
                TryOnMode::BottomOnly,
                "The person in image 1 puts on the bottom from image 2, replacing their current bottom; keep the person's face, pose, top and background unchanged.",
            ),
            (
                TryOnMode::BottomKeepOwnTop,
                "The person in image 1 puts on the bottom from image 2, replacing their current bottom, and keeps their own top from image 1 (same style, colour and length); keep the person's face, pose and background unchanged.",
            ),
            (
                TryOnMode::TopAndBottom,
                "The person in image 1 puts on the top from image 2 and the bottom from image 3, replacing their current top and bottom; keep the person's face, pose and background unchanged.",
            ),
            (
                TryOnMode::Dress,
                "The person in image 1 puts on the dress from image 2, replacing their current top and bottom; keep the person's face, pose and background unchanged.",
            ),
        ];
        for (mode, first_sentence) in expected {
            assert_eq!(
                prompt(mode, Locale::En, true),
                format!("{first_sentence} {}", GARMENT_FIDELITY.1),
                "{mode:?}"
            );
        }
        let en = PlanOptions {
            locale: Locale::En,
            ..options()
        };
        let request = planned(TryOnMode::TopOnly, &en);
        assert_eq!(
            request.parameters.unwrap().negative_prompt.as_deref(),
            Some(NEGATIVE_PROMPT.1)
        );
    }

    #[test]
    fn the_table_is_complete_and_every_template_names_its_images() {
        for (row, mode) in PROMPTS.iter().zip(TryOnMode::ALL) {
            assert_eq!(row.mode, mode, "rows follow TryOnMode::ALL");
            assert_eq!(template(mode), row);
            for (text, name) in [(row.zh, "图"), (row.en, "image ")] {
                assert!(text.contains("{face}"), "{mode:?}");
                // Image 1 and every garment image are referred to by their position.
                for position in 1..=row.garments.len() + 1 {
                    assert!(
                        text.contains(&format!("{name}{position}")),
                        "{mode:?} {text}"
                    );
                }
                assert!(!text.contains(&format!("{name}{}", row.garments.len() + 2)));
            }
        }
    }

    #[test]
    fn a_new_face_drops_the_face_from_the_kept_list_and_asks_for_another() {
        for mode in TryOnMode::ALL {
            let zh = prompt(mode, Locale::ZhCn, false);
            assert!(!zh.contains("脸、姿势"), "{mode:?}");
            assert!(zh.contains("保持人物的姿势"), "{mode:?}");
            assert!(zh.contains(FACE_CHANGE.0) && zh.contains("不同的脸"));
            let en = prompt(mode, Locale::En, false);
            assert!(en.contains("keep the person's pose"), "{mode:?}");
            assert!(en.contains("different face"));
            let kept = prompt(mode, Locale::En, true);
            assert!(!kept.contains("different face"));
        }
    }

    #[test]
    fn fixed_resolutions_map_to_their_sizes_and_original_is_fitted() {
        let size =
            |resolution, person| size_for(resolution, person).map(|s: OutputSize| s.to_string());
        assert_eq!(size(Resolution::Portrait1024, None).unwrap(), "576*1024");
        assert_eq!(size(Resolution::Portrait1280, None).unwrap(), "720*1280");
        // Inside the bounds: unchanged.
        assert_eq!(
            size(Resolution::Original, Some((768, 1536))).unwrap(),
            "768*1536"
        );
        // 4096*4096 is four times the maximum: halved exactly.
        assert_eq!(
            size(Resolution::Original, Some((4096, 4096))).unwrap(),
            "2048*2048"
        );
        // Too small: scaled up, aspect kept within a pixel.
        let small = size_for(Resolution::Original, Some((150, 300))).unwrap();
        let pixels = u64::from(small.width()) * u64::from(small.height());
        assert!((MIN_PIXELS..=MAX_PIXELS).contains(&pixels));
        assert!((f64::from(small.height()) / f64::from(small.width()) - 2.0).abs() < 0.01);
        // Too large and tall: scaled down into the bounds.
        let tall = size_for(Resolution::Original, Some((3000, 4096))).unwrap();
        let pixels = u64::from(tall.width()) * u64::from(tall.height());
        assert!(pixels <= MAX_PIXELS && pixels > MAX_PIXELS - 4096);
        let request = planned(
            TryOnMode::TopOnly,
            &PlanOptions {
                resolution: Resolution::Portrait1280,
                ..options()
            },
        );
        assert_eq!(
            request.parameters.unwrap().size.as_deref(),
            Some("720*1280")
        );
    }

    #[test]
    fn original_without_a_person_size_and_absurd_shapes_are_refused() {
        let unknown = plan(
            TryOnMode::TopOnly,
            PERSON,
            &garments(),
            None,
            &PlanOptions::new(SuccessorModel::default_model()),
        );
        assert_eq!(unknown, Err(MappingError::PersonSizeUnknown));
        assert_eq!(
            size_for(Resolution::Original, Some((1, 5_000_000))),
            Err(MappingError::SizeUnmappable {
                width: 1,
                height: 5_000_000
            })
        );
        assert_eq!(
            MappingError::PersonSizeUnknown.error_kind(),
            ErrorKind::ProxyInternal
        );
    }

    #[test]
    fn a_mode_without_its_garment_is_refused_like_the_seed_does() {
        let only_top = Garments {
            top: Some(TOP.into()),
            bottom: None,
        };
        let refused = plan(TryOnMode::TopAndBottom, PERSON, &only_top, None, &options());
        let Err(MappingError::MissingGarment(missing)) = refused else {
            panic!("{refused:?}");
        };
        assert_eq!(missing.needs, ClothesType::Lower);
        assert_eq!(
            MappingError::MissingGarment(missing).error_kind(),
            ErrorKind::InvalidGarment
        );
    }

    #[test]
    fn fixed_parameters_are_one_image_no_rewriting_no_watermark() {
        let request = planned(
            TryOnMode::Dress,
            &PlanOptions {
                seed: Some(42),
                ..options()
            },
        );
        let parameters = request.parameters.unwrap();
        assert_eq!(parameters.n, Some(1));
        assert_eq!(parameters.prompt_extend, Some(false));
        assert_eq!(parameters.watermark, Some(false));
        assert_eq!(parameters.seed, Some(42));
        assert_eq!(
            parameters.negative_prompt.as_deref(),
            Some(NEGATIVE_PROMPT.0)
        );
    }

    fn seed_request(top: Option<&str>, bottom: Option<&str>) -> CreateTaskRequest {
        CreateTaskRequest {
            model: "aitryon-plus".into(),
            input: TryOnInput {
                person_image_url: PERSON.into(),
                top_garment_url: top.map(str::to_owned),
                bottom_garment_url: bottom.map(str::to_owned),
                coarse_image_url: None,
            },
            parameters: Some(TryOnParameters {
                resolution: Some(Resolution::Portrait1024),
                restore_face: Some(false),
                gender: None,
                one_piece: None,
            }),
        }
    }

    #[test]
    fn a_seed_request_maps_to_its_mode_and_parameters() {
        let hints = |own, one_piece| SeedHints {
            own_garment: own,
            one_piece,
        };
        let cases = [
            (Some(TOP), None, hints(None, false), TryOnMode::TopOnly),
            (Some(TOP), None, hints(None, true), TryOnMode::Dress),
            (
                None,
                Some(BOTTOM),
                hints(None, false),
                TryOnMode::BottomOnly,
            ),
            (
                Some(TOP),
                Some(BOTTOM),
                hints(None, false),
                TryOnMode::TopAndBottom,
            ),
            (
                Some(TOP),
                Some("https://proxy/own-bottom.png"),
                hints(Some(ClothesType::Lower), false),
                TryOnMode::TopKeepOwnBottom,
            ),
            (
                Some("https://proxy/own-top.png"),
                Some(BOTTOM),
                hints(Some(ClothesType::Upper), false),
                TryOnMode::BottomKeepOwnTop,
            ),
        ];
        for (top, bottom, hints, mode) in cases {
            let request = seed_request(top, bottom);
            assert_eq!(mode_of_seed(&request, hints), Ok(mode));
            let planned = plan_seed(
                &request,
                hints,
                None,
                SuccessorModel::default_model(),
                Locale::ZhCn,
            )
            .unwrap();
            assert_eq!(
                planned.text(),
                Some(prompt(mode, Locale::ZhCn, false).as_str())
            );
            assert!(!planned.images().iter().any(|i| i.contains("/own-")));
            let parameters = planned.parameters.unwrap();
            assert_eq!(parameters.size.as_deref(), Some("576*1024"));
        }
        assert_eq!(
            mode_of_seed(&seed_request(None, None), SeedHints::default()),
            Err(MappingError::NoGarment)
        );
    }

    #[test]
    fn refinement_has_no_successor() {
        let mut request = seed_request(Some(TOP), None);
        request.model = MODEL_REFINER.into();
        let refused = plan_seed(
            &request,
            SeedHints::default(),
            None,
            SuccessorModel::default_model(),
            Locale::En,
        );
        assert_eq!(refused, Err(MappingError::RefinementUnavailable));
        assert!(!Capabilities::successor(&SuccessorModel::default_model()).refinement);
    }

    #[test]
    fn model_ids_are_checked_and_carry_their_limits_and_prices() {
        for id in [
            "qwen-image-2.0",
            "qwen-image-2.1-pro",
            "qwen-image-3.0",
            "qwen-image-3.0-pro",
        ] {
            assert_eq!(SuccessorModel::parse(id).unwrap().id(), id);
        }
        for retired in [
            "aitryon-plus",
            "aitryon-parsing-v1",
            "qwen-image",
            "qwen-image-plus",
            "qwen-image-max",
            "qwen-image-edit-plus",
            "qwen-image-1.0",
        ] {
            assert_eq!(
                SuccessorModel::parse(retired),
                Err(ModelRefusal::Retired(retired.into())),
                "{retired}"
            );
        }
        for other in [
            "wanx-v1",
            "qwen-image-2",
            "qwen-image-2.x",
            "qwen-image-2.0-ultra",
        ] {
            assert!(
                matches!(
                    SuccessorModel::parse(other),
                    Err(ModelRefusal::NotASuccessor(_))
                ),
                "{other}"
            );
        }
        let base = SuccessorModel::parse(MODEL_QWEN_IMAGE_2).unwrap();
        let pro = SuccessorModel::parse(MODEL_QWEN_IMAGE_2_PRO).unwrap();
        assert_eq!(base.limits().submissions.min_interval_ms(), 500);
        assert_eq!(pro.limits().submissions.min_interval_ms(), 30_000);
        assert_eq!(price_cny(&base), 0.20);
        assert_eq!(price_cny(&pro), 0.50);
        assert!(
            ModelRefusal::Retired("aitryon-plus".into())
                .to_string()
                .contains("2026-10-10")
        );
    }

    #[test]
    fn input_images_follow_the_successor_rules() {
        let limits = SuccessorModel::default_model().limits();
        let png = Some(SuccessorFormat::Png);
        assert_eq!(
            limits.check_input(png, 1_000_000, 768, 1536),
            Ok(InputCheck::Fine)
        );
        assert_eq!(
            limits.check_input(png, 1_000, 200, 1536),
            Ok(InputCheck::OutsideRecommendedSides)
        );
        assert_eq!(
            limits.check_input(png, MAX_IMAGE_BYTES + 1, 768, 1536),
            Err(InputRefusal::TooLarge {
                bytes: MAX_IMAGE_BYTES + 1
            })
        );
        // HEIC, accepted by the seed, is refused here.
        assert_eq!(SuccessorFormat::from_seed(ImageFormat::Heic), None);
        assert_eq!(
            limits.check_input(None, 1_000, 768, 1536),
            Err(InputRefusal::Format)
        );
        assert_eq!(
            SuccessorFormat::sniff(b"GIF89a...."),
            Some(SuccessorFormat::Gif)
        );
        assert_eq!(
            SuccessorFormat::sniff(b"II*\0...."),
            Some(SuccessorFormat::Tiff)
        );
        assert_eq!(
            SuccessorFormat::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(SuccessorFormat::Png)
        );
    }

    fn request_with(content: Vec<ContentItem>) -> GenerationRequest {
        GenerationRequest {
            model: MODEL_QWEN_IMAGE_2.into(),
            input: GenerationInput {
                messages: vec![Message {
                    role: "user".into(),
                    content,
                }],
            },
            parameters: None,
        }
    }

    #[test]
    fn the_request_rules_name_what_is_wrong() {
        let image = || ContentItem::image(PERSON);
        let text = || ContentItem::text("图1中的人穿上图2中的上衣");
        assert_eq!(request_with(vec![image(), text()]).validate(), Ok(()));
        assert_eq!(
            request_with(vec![
                ContentItem::image("data:image/png;base64,iVBOR"),
                text()
            ])
            .validate(),
            Ok(())
        );
        let cases: Vec<(Vec<ContentItem>, GenerationViolation)> = vec![
            (vec![text()], GenerationViolation::ImageCount(0)),
            (
                vec![image(), image(), image(), image(), text()],
                GenerationViolation::ImageCount(4),
            ),
            (vec![image()], GenerationViolation::TextCount(0)),
            (
                vec![image(), text(), text()],
                GenerationViolation::TextCount(2),
            ),
            (
                vec![image(), ContentItem::default()],
                GenerationViolation::ContentItem { index: 1 },
            ),
            (
                vec![ContentItem::image("file:///etc/passwd"), text()],
                GenerationViolation::ImageReference { index: 0 },
            ),
            (
                vec![image(), ContentItem::text("  ")],
                GenerationViolation::EmptyText,
            ),
        ];
        for (content, violation) in cases {
            assert_eq!(request_with(content).validate(), Err(violation));
        }
        let mut two = request_with(vec![image(), text()]);
        two.input.messages.push(two.input.messages[0].clone());
        assert_eq!(two.validate(), Err(GenerationViolation::MessageCount(2)));
        let mut system = request_with(vec![image(), text()]);
        system.input.messages[0].role = "system".into();
        assert_eq!(
            system.validate(),
            Err(GenerationViolation::RoleNotUser("system".into()))
        );
    }

    #[test]
    fn the_parameter_rules_name_what_is_wrong() {
        let with = |parameters: GenerationParameters| {
            let mut request =
                request_with(vec![ContentItem::image(PERSON), ContentItem::text("t")]);
            request.parameters = Some(parameters);
            request.validate()
        };
        assert_eq!(
            with(GenerationParameters {
                n: Some(7),
                ..Default::default()
            }),
            Err(GenerationViolation::N(7))
        );
        assert_eq!(
            with(GenerationParameters {
                n: Some(6),
                size: Some("2048*2048".into()),
                seed: Some(MAX_SEED),
                ..Default::default()
            }),
            Ok(())
        );
        assert_eq!(
            with(GenerationParameters {
                size: Some("1024x1536".into()),
                ..Default::default()
            }),
            Err(GenerationViolation::SizeFormat("1024x1536".into()))
        );
        assert_eq!(
            with(GenerationParameters {
                size: Some("511*512".into()),
                ..Default::default()
            }),
            Err(GenerationViolation::SizeOutOfBounds {
                width: 511,
                height: 512
            })
        );
        assert_eq!(
            with(GenerationParameters {
                negative_prompt: Some("坏".repeat(501)),
                ..Default::default()
            }),
            Err(GenerationViolation::NegativePromptTooLong(501))
        );
        assert_eq!(
            with(GenerationParameters {
                seed: Some(-1),
                ..Default::default()
            }),
            Err(GenerationViolation::Seed(-1))
        );
        let body = GenerationViolation::N(0).error_body("r");
        assert_eq!(body.code, "InvalidParameter");
        assert_eq!(body.message, "parameters.n must be from 1 to 6, not 0");
    }

    #[test]
    fn capabilities_differ_where_the_upstreams_differ() {
        let seed = Capabilities::aitryon("aitryon-plus");
        let next = Capabilities::successor(&SuccessorModel::default_model());
        assert_eq!(seed.modes.len(), 6);
        assert_eq!(next.modes.len(), 6);
        assert!(next.offers_resolution(Resolution::Portrait1280));
        assert!(seed.original_size_exact && !next.original_size_exact);
        assert_eq!(seed.face_choice, Some(FaceChoice::Exact));
        assert_eq!(next.face_choice, Some(FaceChoice::BestEffort));
        assert_eq!(next.keep_own_garment, KeepOwnGarment::Prompt);
        assert!(seed.photo_formats.contains(&"heic".to_owned()));
        assert!(!next.photo_formats.contains(&"heic".to_owned()));
        let json = serde_json::to_value(&next).unwrap();
        assert_eq!(json["upstream"], "qwen-image");
        assert_eq!(json["resolutions"], serde_json::json!([-1, 1024, 1280]));
        assert_eq!(json["face_choice"], "best_effort");
        assert_eq!(json["keep_own_garment"], "prompt");
        let back: Capabilities = serde_json::from_value(json).unwrap();
        assert_eq!(back, next);
        assert_eq!(
            UpstreamKind::parse(" Qwen-Image "),
            Some(UpstreamKind::QwenImage)
        );
        assert_eq!(UpstreamKind::parse(" FASHN"), Some(UpstreamKind::Fashn));
        assert_eq!(UpstreamKind::Fashn.as_str(), "fashn");
        assert_eq!(
            serde_json::to_value(UpstreamKind::Fashn).unwrap(),
            serde_json::json!("fashn")
        );
        assert_eq!(UpstreamKind::parse("fal"), None);
    }
}

//! The error catalogue: every documented DashScope code, FASHN's error names and the proxy's own, with HTTP status, exact message, retry advice and shopper-facing text in zh-CN and en.

use crate::wire::ErrorBody;

/// The shopper's language for explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    En,
    ZhCn,
}

impl Locale {
    /// Picks a locale from a BCP 47 tag such as `zh-CN`, `zh`, `en-GB`; anything else is English.
    pub fn from_tag(tag: &str) -> Locale {
        if tag.trim().to_ascii_lowercase().starts_with("zh") {
            Locale::ZhCn
        } else {
            Locale::En
        }
    }
}

/// What went wrong and what the shopper can do next, in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explanation {
    pub what: &'static str,
    pub next: &'static str,
}

macro_rules! catalogue {
    ($( $kind:ident => {
        code: $code:literal, status: $status:literal, retry: $retry:literal,
        message: $message:literal,
        en: ($en_what:literal, $en_next:literal),
        zh: ($zh_what:literal, $zh_next:literal) $(,)?
    } ),* $(,)?) => {
        /// One entry of the error catalogue. Some codes have several documented messages
        /// (for example `InvalidParameter` for a bad body and for a download timeout); each
        /// message is its own kind so that the shopper gets the right explanation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorKind { $( $kind ),* }

        impl ErrorKind {
            /// Every entry, in catalogue order.
            pub const ALL: &'static [ErrorKind] = &[ $( ErrorKind::$kind ),* ];

            /// The wire `code`.
            pub fn code(self) -> &'static str { match self { $( ErrorKind::$kind => $code ),* } }

            /// The HTTP status the service answers with.
            pub fn http_status(self) -> u16 { match self { $( ErrorKind::$kind => $status ),* } }

            /// The exact documented `message`.
            pub fn message(self) -> &'static str { match self { $( ErrorKind::$kind => $message ),* } }

            /// The `message`, for an entry whose code other entries share: the only ones
            /// whose message `from_wire` needs. Whether a code is shared is settled at
            /// compile time, so a program that reads only these (the widget) carries
            /// none of the other messages.
            fn message_if_code_shared(self) -> Option<&'static str> {
                const CODES: &[&str] = &[ $( $code ),* ];
                match self {
                    $( ErrorKind::$kind => if const { shared(CODES, $code) } { Some($message) } else { None } ),*
                }
            }

            /// Whether sending the same request again later can succeed.
            pub fn retryable(self) -> bool { match self { $( ErrorKind::$kind => $retry ),* } }

            /// The shopper-facing explanation and next step.
            pub fn explain(self, locale: Locale) -> Explanation {
                // A table, not a match: the texts are data, which costs the widget's
                // bundle less than code that picks each pair. Each row holds the
                // languages in the order of `Locale`'s variants.
                const TEXTS: &[[Explanation; 2]] = &[ $( [
                    Explanation { what: $en_what, next: $en_next },
                    Explanation { what: $zh_what, next: $zh_next },
                ] ),* ];
                TEXTS[self as usize][locale as usize]
            }
        }
    };
}

/// Whether `code` is the code of more than one entry of `codes`.
const fn shared(codes: &[&str], code: &str) -> bool {
    let mut count = 0;
    let mut index = 0;
    while index < codes.len() {
        if same(codes[index], code) {
            count += 1;
        }
        index += 1;
    }
    count > 1
}

/// `a == b`, in a constant.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut index = 0;
    while index < a.len() {
        if a[index] != b[index] {
            return false;
        }
        index += 1;
    }
    true
}

catalogue! {
    InvalidParameter => {
        code: "InvalidParameter", status: 400, retry: false,
        message: "The request is missing required parameters or in a wrong format, please check the parameters that you send.",
        en: ("The try-on request was incomplete.", "Please reload the page and try again."),
        zh: ("试衣请求不完整。", "请刷新页面后重试。"),
    },
    DownloadTimeout => {
        code: "InvalidParameter", status: 400, retry: true,
        message: "Download the media resource timed out during the data inspection process.",
        en: ("The try-on service could not fetch your photo in time.", "Please try again in a moment."),
        zh: ("试衣服务未能及时获取您的照片。", "请稍后重试。"),
    },
    InvalidUrl => {
        code: "InvalidURL", status: 400, retry: false,
        message: "The request URL is invalid, please check the request URL is available and the request image format is one of the following types: JPEG, JPG, PNG, BMP, and WEBP.",
        en: ("This file is not a photo we can read.", "Please choose a JPEG, PNG, BMP, HEIC or WEBP photo."),
        zh: ("无法读取该文件。", "请选择 JPEG、PNG、BMP、HEIC 或 WEBP 格式的照片。"),
    },
    InvalidPerson => {
        code: "InvalidPerson", status: 400, retry: false,
        message: "The input image has no human body or multi human bodies. Please upload other image with single person.",
        en: ("We could not find exactly one person in your photo.", "Please use a full-length photo of just you, facing the camera."),
        zh: ("照片中需要有且仅有一个完整的人。", "请上传一张只有您本人的正面全身照。"),
    },
    InvalidGarment => {
        code: "InvalidGarment", status: 400, retry: false,
        message: "Missing clothing image.Please input at least one top garment or bottom garment image.",
        en: ("This product has no garment image to try on.", "Please choose another product."),
        zh: ("该商品缺少可试穿的服饰图片。", "请选择其他商品。"),
    },
    InvalidInputLength => {
        code: "InvalidInputLength", status: 400, retry: false,
        message: "The image resolution is invalid, please make sure that the largest length of image is smaller than 4096, and the smallest length of image is larger than 150. and the size of image ranges from 5KB to 5MB.",
        en: ("Your photo is too small or too large.", "Please use a photo between 150 and 4096 pixels on each side and 5 KB to 5 MB."),
        zh: ("照片尺寸或文件大小不符合要求。", "请使用边长 150～4096 像素、大小 5KB～5MB 的照片。"),
    },
    InvalidClothesType => {
        code: "InvalidParameter.ClothesType", status: 400, retry: false,
        message: "The request parameter is invalid, please check the request parameter.",
        en: ("Your own clothes could not be kept for this product.", "Please try again without keeping your own clothes."),
        zh: ("无法保留您自己的服装。", "请取消“保留我的服装”后重试。"),
    },
    UnsupportedOperation => {
        code: "UnsupportedOperation", status: 400, retry: false,
        message: "Failed to cancel the task, please confirm if the task is in PENDING status.",
        en: ("Your try-on had already started and could not be stopped.", "It will finish shortly; you can close this window."),
        zh: ("试衣已开始生成，无法取消。", "稍后即可完成，您也可以关闭窗口。"),
    },
    SizeMismatch => {
        code: "InvalidParameter", status: 400, retry: false,
        message: "The size of person image and coarse_image are not the same.",
        en: ("The picture could not be refined.", "Please use the standard result."),
        zh: ("无法精修该图片。", "请使用标准效果图。"),
    },
    Arrearage => {
        code: "Arrearage", status: 400, retry: false,
        message: "Access denied, please make sure your account is in good standing.",
        en: ("Try-on is not available in this shop right now.", "Please try again later."),
        zh: ("本店暂时无法使用试衣。", "请稍后再试。"),
    },
    DataInspectionFailed => {
        code: "DataInspectionFailed", status: 400, retry: false,
        message: "Input or output data may contain inappropriate content.",
        en: ("This photo could not be used.", "Please choose a different photo."),
        zh: ("该照片无法使用。", "请换一张照片。"),
    },
    InvalidApiKey => {
        code: "InvalidApiKey", status: 401, retry: false,
        message: "Invalid API-key provided.",
        en: ("Try-on is not set up correctly in this shop.", "Please try again later; the shop has been told."),
        zh: ("本店的试衣服务配置有误。", "请稍后再试。"),
    },
    NoApiKey => {
        code: "InvalidApiKey", status: 401, retry: false,
        message: "No API-key provided.",
        en: ("Try-on is not set up correctly in this shop.", "Please try again later; the shop has been told."),
        zh: ("本店的试衣服务配置有误。", "请稍后再试。"),
    },
    AccessDenied => {
        code: "AccessDenied", status: 403, retry: false,
        message: "current user api does not support synchronous calls.",
        en: ("Try-on is not set up correctly in this shop.", "Please try again later."),
        zh: ("本店的试衣服务配置有误。", "请稍后再试。"),
    },
    AccessDeniedUnpurchased => {
        code: "AccessDenied.Unpurchased", status: 403, retry: false,
        message: "Access to model denied. Please make sure you are eligible for using the model.",
        en: ("Try-on is not available in this shop right now.", "Please try again later."),
        zh: ("本店暂时无法使用试衣。", "请稍后再试。"),
    },
    FreeTierOnly => {
        code: "AllocationQuota.FreeTierOnly", status: 403, retry: false,
        message: "The free tier of the model has been exhausted. If you want to continue access the model on a paid basis, please disable the \"use free tier only\" mode in the management console.",
        en: ("Try-on is not available in this shop right now.", "Please try again later."),
        zh: ("本店暂时无法使用试衣。", "请稍后再试。"),
    },
    ModelNotFound => {
        code: "ModelNotFound", status: 404, retry: false,
        message: "Model can not be found.",
        en: ("Try-on is not set up correctly in this shop.", "Please try again later."),
        zh: ("本店的试衣服务配置有误。", "请稍后再试。"),
    },
    Throttling => {
        code: "Throttling", status: 429, retry: true,
        message: "Requests throttling triggered.",
        en: ("Many shoppers are trying things on right now.", "Please try again in a minute."),
        zh: ("当前试衣人数较多。", "请一分钟后重试。"),
    },
    ThrottlingRateQuota => {
        code: "Throttling.RateQuota", status: 429, retry: true,
        message: "Requests rate limit exceeded, please try again later.",
        en: ("Many shoppers are trying things on right now.", "Please try again in a minute."),
        zh: ("当前试衣人数较多。", "请一分钟后重试。"),
    },
    ThrottlingBurstRate => {
        code: "Throttling.BurstRate", status: 429, retry: true,
        message: "Request rate increased too quickly. To ensure system stability, please adjust your client logic to scale requests more smoothly over time.",
        en: ("Many shoppers are trying things on right now.", "Please try again in a minute."),
        zh: ("当前试衣人数较多。", "请一分钟后重试。"),
    },
    ThrottlingAllocationQuota => {
        code: "Throttling.AllocationQuota", status: 429, retry: true,
        message: "Allocated quota exceeded, please increase your quota limit.",
        en: ("Try-on has reached its limit for now.", "Please try again later."),
        zh: ("试衣次数暂时已达上限。", "请稍后再试。"),
    },
    InternalError => {
        code: "InternalError", status: 500, retry: true,
        message: "An internal error has occured, please try again later or contact service support.",
        en: ("The try-on service had a problem.", "Please try again."),
        zh: ("试衣服务出现问题。", "请重试。"),
    },
    InternalTimeout => {
        code: "InternalError.Timeout", status: 500, retry: true,
        message: "An internal timeout error has occured during execution, please try again later or contact service support.",
        en: ("The try-on took too long.", "Please try again."),
        zh: ("试衣处理超时。", "请重试。"),
    },
    ModelServingError => {
        code: "ModelServingError", status: 503, retry: true,
        message: "Too many requests. Your requests are being throttled due to system capacity limits. Please try again later.",
        en: ("The try-on service is busy.", "Please try again in a minute."),
        zh: ("试衣服务繁忙。", "请一分钟后重试。"),
    },
    ModelUnavailable => {
        code: "ModelUnavailable", status: 503, retry: true,
        message: "Model is unavailable, please try again later.",
        en: ("The try-on service is temporarily unavailable.", "Please try again later."),
        zh: ("试衣服务暂时不可用。", "请稍后再试。"),
    },
    // FASHN's errors (the second upstream, `tryon-v1.6`), coded by FASHN's error name.
    // Runtime errors arrive in the `error.name` of a failed prediction, not as an HTTP
    // status; their status is the one the proxy answers with when it relays them, chosen
    // like the DashScope entries' (photo problems 400, service failures 5xx) so that
    // retry advice and status agree. The messages are the docs' descriptions; the service
    // sends its own wording, which `from_wire` resolves through the name alone.
    FashnImageLoadError => {
        code: "ImageLoadError", status: 400, retry: false,
        message: "Unable to load image from provided inputs.",
        en: ("The try-on service could not open your photo.", "Please choose another JPEG or PNG photo."),
        zh: ("试衣服务无法打开您的照片。", "请换一张 JPEG 或 PNG 格式的照片。"),
    },
    FashnContentModerationError => {
        code: "ContentModerationError", status: 400, retry: false,
        message: "Prohibited content detected.",
        en: ("This photo could not be used.", "Please choose a different photo."),
        zh: ("该照片无法使用。", "请换一张照片。"),
    },
    FashnPoseError => {
        code: "PoseError", status: 400, retry: false,
        message: "Unable to detect body pose.",
        en: ("We could not make out your pose in this photo.", "Please use a clear photo of just you, standing and facing the camera."),
        zh: ("无法识别照片中的身体姿势。", "请上传一张只有您本人、站立正对镜头的清晰照片。"),
    },
    FashnPipelineError => {
        code: "PipelineError", status: 500, retry: true,
        message: "Unexpected pipeline execution error.",
        en: ("The try-on service had a problem.", "Please try again."),
        zh: ("试衣服务出现问题。", "请重试。"),
    },
    FashnThirdPartyError => {
        code: "ThirdPartyError", status: 400, retry: false,
        message: "Third-party processor failure.",
        en: ("This combination of photo and garment could not be processed.", "Please try a different photo."),
        zh: ("无法处理该照片与服饰的组合。", "请换一张照片再试。"),
    },
    FashnThirdPartyProviderError => {
        code: "3rdPartyProviderError", status: 502, retry: true,
        message: "Third-party provider failure.",
        en: ("The try-on service had a problem.", "Please try again in a moment."),
        zh: ("试衣服务出现问题。", "请稍后重试。"),
    },
    FashnInternalServerError => {
        code: "InternalServerError", status: 500, retry: true,
        message: "Unexpected server-side failure.",
        en: ("The try-on service had a problem.", "Please try again."),
        zh: ("试衣服务出现问题。", "请重试。"),
    },
    FashnPollingTimeout => {
        code: "PollingTimeout", status: 504, retry: true,
        message: "Prediction polling timed out.",
        en: ("The try-on took too long.", "Please try again."),
        zh: ("试衣处理超时。", "请重试。"),
    },
    FashnUnauthorizedAccess => {
        code: "UnauthorizedAccess", status: 401, retry: false,
        message: "Unauthorized: Invalid token",
        en: ("Try-on is not set up correctly in this shop.", "Please try again later; the shop has been told."),
        zh: ("本店的试衣服务配置有误。", "请稍后再试。"),
    },
    FashnRateLimitExceeded => {
        code: "RateLimitExceeded", status: 429, retry: true,
        message: "Too many requests were made in a short period.",
        en: ("Many shoppers are trying things on right now.", "Please try again in a minute."),
        zh: ("当前试衣人数较多。", "请一分钟后重试。"),
    },
    FashnConcurrencyLimitExceeded => {
        code: "ConcurrencyLimitExceeded", status: 429, retry: true,
        message: "You have exceeded the allowed concurrency limit.",
        en: ("Many shoppers are trying things on right now.", "Please try again in a moment."),
        zh: ("当前试衣人数较多。", "请稍后重试。"),
    },
    FashnOutOfCredits => {
        code: "OutOfCredits", status: 429, retry: true,
        message: "You've used up all your API credits.",
        en: ("Try-on is not available in this shop right now.", "Please try again later."),
        zh: ("本店暂时无法使用试衣。", "请稍后再试。"),
    },
    FashnBadRequest => {
        code: "BadRequest", status: 400, retry: false,
        message: "The request is invalid or improperly formatted.",
        en: ("The try-on request was incomplete.", "Please reload the page and try again."),
        zh: ("试衣请求不完整。", "请刷新页面后重试。"),
    },
    FashnNotFound => {
        code: "NotFound", status: 404, retry: false,
        message: "The requested resource could not be found, or the requested prediction status is no longer tracked.",
        en: ("This try-on is no longer available.", "Please start a new try-on."),
        zh: ("该试衣记录已不存在。", "请重新开始试衣。"),
    },
    // The proxy's own codes, in the same shape, for refusals that never reach DashScope.
    PhotoNotAccepted => {
        code: "Proxy.PhotoNotAccepted", status: 415, retry: false,
        message: "The uploaded file is not a JPEG, PNG, BMP, HEIC or WEBP image.",
        en: ("This file is not a photo we can read.", "Please choose a JPEG, PNG, BMP, HEIC or WEBP photo."),
        zh: ("无法读取该文件。", "请选择 JPEG、PNG、BMP、HEIC 或 WEBP 格式的照片。"),
    },
    PhotoOutOfBounds => {
        code: "Proxy.PhotoOutOfBounds", status: 422, retry: false,
        message: "The uploaded image must be 5KB to 5MB with each side from 150 to 4096 pixels.",
        en: ("Your photo is too small or too large.", "Please use a photo between 150 and 4096 pixels on each side and 5 KB to 5 MB."),
        zh: ("照片尺寸或文件大小不符合要求。", "请使用边长 150～4096 像素、大小 5KB～5MB 的照片。"),
    },
    TaskNotFound => {
        code: "Proxy.TaskNotFound", status: 404, retry: false,
        message: "No try-on task with this id is known to this shopper.",
        en: ("This try-on is no longer available.", "Please start a new try-on."),
        zh: ("该试衣记录已不存在。", "请重新开始试衣。"),
    },
    UpstreamUnavailable => {
        code: "Proxy.UpstreamUnavailable", status: 502, retry: true,
        message: "The try-on service could not be reached.",
        en: ("The try-on service could not be reached.", "Please try again in a moment."),
        zh: ("暂时无法连接试衣服务。", "请稍后重试。"),
    },
    ProxyInternal => {
        code: "Proxy.InternalError", status: 500, retry: true,
        message: "The try-on proxy had an internal error.",
        en: ("Something went wrong on our side.", "Please try again."),
        zh: ("系统出现问题。", "请重试。"),
    },
    PayloadTooLarge => {
        code: "Proxy.PayloadTooLarge", status: 413, retry: false,
        message: "The request body is larger than this endpoint accepts.",
        en: ("Your photo is too large.", "Please use a photo of at most 5 MB."),
        zh: ("照片文件过大。", "请使用不超过 5MB 的照片。"),
    },
    FileNotFound => {
        code: "Proxy.FileNotFound", status: 404, retry: false,
        message: "No stored file has this id; it may have been deleted after the retention period.",
        en: ("This picture is no longer available.", "Please start a new try-on."),
        zh: ("该图片已不存在。", "请重新开始试衣。"),
    },
    // A remembered photo outlives the page that chose it, not the shop's retention period:
    // the widget learns from this that the shopper has to choose a photo again.
    PhotoExpired => {
        code: "Proxy.PhotoExpired", status: 404, retry: false,
        message: "This photo is no longer stored: it was deleted or its retention period ended.",
        en: ("Your saved photo is no longer kept.", "Please choose a photo again."),
        zh: ("您保存的照片已不再保留。", "请重新选择照片。"),
    },
    RequestTimeout => {
        code: "Proxy.RequestTimeout", status: 504, retry: true,
        message: "The try-on proxy did not finish this request in time.",
        en: ("The try-on service is slow right now.", "Please try again in a moment."),
        zh: ("试衣服务响应较慢。", "请稍后重试。"),
    },
    RouteNotFound => {
        code: "Proxy.RouteNotFound", status: 404, retry: false,
        message: "The try-on proxy has no endpoint at this path.",
        en: ("Try-on is not set up correctly in this shop.", "Please try again later."),
        zh: ("本店的试衣服务配置有误。", "请稍后再试。"),
    },
    MethodNotAllowed => {
        code: "Proxy.MethodNotAllowed", status: 405, retry: false,
        message: "This endpoint of the try-on proxy does not accept this HTTP method.",
        en: ("Try-on is not set up correctly in this shop.", "Please try again later."),
        zh: ("本店的试衣服务配置有误。", "请稍后再试。"),
    },
    OriginNotAllowed => {
        code: "Proxy.OriginNotAllowed", status: 403, retry: false,
        message: "Try-on requests are accepted only from the shop's own pages (the Origin header is missing or not allowed).",
        en: ("Try-on is not available on this page.", "Please open the product on the shop's own website."),
        zh: ("此页面无法使用试衣。", "请在本店官网的商品页面中使用。"),
    },
    GarmentNotAllowed => {
        code: "Proxy.GarmentNotAllowed", status: 403, retry: false,
        message: "The garment image must come from the shop's catalogue or be a garment cut out by this proxy.",
        en: ("This garment cannot be tried on here.", "Please choose a product from this shop."),
        zh: ("该服饰无法在此试穿。", "请选择本店的商品。"),
    },
    PersonNotUploaded => {
        code: "Proxy.PersonNotUploaded", status: 400, retry: false,
        message: "The person image must be a photo uploaded to this proxy.",
        en: ("Your photo could not be found.", "Please upload your photo again."),
        zh: ("找不到您的照片。", "请重新上传照片。"),
    },
    ShopperDailyLimit => {
        code: "Proxy.ShopperDailyLimit", status: 429, retry: false,
        message: "This shopper has reached today's number of try-ons.",
        en: ("You have reached today's number of try-ons.", "Please come back tomorrow."),
        zh: ("您今天的试衣次数已用完。", "请明天再来。"),
    },
    // Two reasons share one code, so that a client that knows only the code treats both
    // alike; the message tells them apart, and with it the shopper's next step.
    UploadLimitHourly => {
        code: "Proxy.UploadLimit", status: 429, retry: false,
        message: "This shopper has uploaded the most photos allowed within one hour.",
        en: ("You have uploaded many photos in a short time.", "Please wait a while before uploading another one."),
        zh: ("您短时间内上传的照片过多。", "请稍后再上传。"),
    },
    UploadLimitDaily => {
        code: "Proxy.UploadLimit", status: 429, retry: false,
        message: "This shopper has uploaded the most photo data allowed today.",
        en: ("You have uploaded many photos today.", "Please come back tomorrow to upload another one."),
        zh: ("您今天上传的照片过多。", "请明天再上传。"),
    },
    StorageFull => {
        code: "Proxy.StorageFull", status: 507, retry: true,
        message: "The shop's photo storage is almost full, so uploads are paused.",
        en: ("Photos cannot be uploaded in this shop right now.", "Please try again later."),
        zh: ("本店暂时无法接收照片。", "请稍后再试。"),
    },
    // The store itself (the folder, or the object store) failed or did not answer in
    // time: nothing was kept, and the same request succeeds once the store is back.
    StorageUnavailable => {
        code: "Proxy.StorageUnavailable", status: 503, retry: true,
        message: "The shop's photo storage could not be reached, so nothing was stored or read.",
        en: ("Photos cannot be saved or shown in this shop right now.", "Please try again in a moment."),
        zh: ("本店暂时无法保存或显示照片。", "请稍后重试。"),
    },
    // The proxy's database (its SQLite file, or the shop's PostgreSQL) failed or did not
    // answer in time: nothing was changed, and the same request succeeds once it is back.
    DatabaseUnavailable => {
        code: "Proxy.DatabaseUnavailable", status: 503, retry: true,
        message: "The shop's try-on records could not be reached, so nothing was changed.",
        en: ("Try-on is not available in this shop right now.", "Please try again in a moment."),
        zh: ("本店暂时无法试穿。", "请稍后重试。"),
    },
    DailyImageCap => {
        code: "Proxy.DailyImageCap", status: 503, retry: false,
        message: "The shop has reached today's number of try-on images.",
        en: ("Try-on is not available in this shop for the rest of today.", "Please come back tomorrow."),
        zh: ("本店今天的试衣次数已用完。", "请明天再来。"),
    },
    SpendCap => {
        code: "Proxy.SpendCap", status: 503, retry: false,
        message: "The shop has reached today's try-on budget.",
        en: ("Try-on is not available in this shop for the rest of today.", "Please come back tomorrow."),
        zh: ("本店今天的试衣额度已用完。", "请明天再来。"),
    },
    IdempotencyKeyReused => {
        code: "Proxy.IdempotencyKeyReused", status: 422, retry: false,
        message: "This Idempotency-Key was already used by this shopper for a create with another body.",
        en: ("This try-on could not be started twice.", "Please press \"Generate\" to start a new try-on."),
        zh: ("该试衣请求无法重复发起。", "请重新点击“生成”开始新的试衣。"),
    },
    BadSignature => {
        code: "Proxy.BadSignature", status: 401, retry: false,
        message: "The request carries a Shopify app proxy signature that does not match its parameters or is more than 90 seconds old.",
        en: ("Try-on is not set up correctly in this shop.", "Please reload the page and try again; if it keeps happening, the shop has been told."),
        zh: ("本店的试衣服务配置有误。", "请刷新页面后重试；如仍无法使用，店铺已收到通知。"),
    },
    NotReady => {
        code: "Proxy.NotReady", status: 503, retry: true,
        message: "The try-on proxy cannot serve try-ons right now (storage or upstream unavailable).",
        en: ("The try-on service is temporarily unavailable.", "Please try again later."),
        zh: ("试衣服务暂时不可用。", "请稍后再试。"),
    },
    // The funnel events and the shop's dashboard: never shown in the dialog (a beacon's
    // answer is not read, and the dashboard is the shop owner's), but worded all the same.
    InvalidEvent => {
        code: "Proxy.InvalidEvent", status: 400, retry: false,
        message: "The event batch is not JSON of known funnel events (see /api/v1/tryon/events).",
        en: ("The page sent something the try-on service does not understand.", "Please reload the page."),
        zh: ("页面发送的内容无法识别。", "请刷新页面。"),
    },
    EventRateLimit => {
        code: "Proxy.EventRateLimit", status: 429, retry: true,
        message: "This shopper has sent the most funnel events allowed within one minute.",
        en: ("The page is sending too much at once.", "Please wait a moment."),
        zh: ("页面发送过于频繁。", "请稍候片刻。"),
    },
    AdminTokenInQuery => {
        code: "Proxy.AdminTokenInQuery", status: 400, retry: false,
        message: "The admin token is refused in the query string, where it would be written to logs and browser history; send it as 'Authorization: Bearer <token>' or sign in with the form at /admin/.",
        en: ("The admin token cannot be given in the address.", "Please sign in with the form on the dashboard page."),
        zh: ("管理口令不能写在网址中。", "请在数据面板页面的登录表单中输入。"),
    },
    AdminUnauthorized => {
        code: "Proxy.AdminUnauthorized", status: 401, retry: false,
        message: "The shop's dashboard needs the admin token (TRYON_ADMIN_TOKEN) as a bearer header or a signed-in session.",
        en: ("This page is for the shop's staff.", "Please sign in with the admin token."),
        zh: ("此页面仅供店铺管理人员使用。", "请使用管理口令登录。"),
    },
}

impl ErrorKind {
    /// The error body for this entry, with the given request id.
    pub fn body(self, request_id: impl Into<String>) -> ErrorBody {
        ErrorBody {
            code: self.code().to_owned(),
            message: self.message().to_owned(),
            request_id: request_id.into(),
        }
    }

    /// Finds the catalogue entry of a wire `code` and `message`. The message picks between
    /// entries that share a code, also when the proxy appended a detail in parentheses
    /// (`"<message> (30 per hour)"`); an unknown message falls back to the first entry of
    /// its code, and an unknown code gives `None`.
    pub fn from_wire(code: &str, message: &str) -> Option<ErrorKind> {
        let same_code = || {
            ErrorKind::ALL
                .iter()
                .copied()
                .filter(|kind| kind.code() == code)
        };
        let message = message.trim();
        same_code()
            .find(|kind| {
                kind.message_if_code_shared()
                    .and_then(|known| message.strip_prefix(known))
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(" ("))
            })
            .or_else(|| same_code().next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_explanation_is_in_the_language_asked_for() {
        for kind in ErrorKind::ALL {
            let (en, zh) = (kind.explain(Locale::En), kind.explain(Locale::ZhCn));
            assert!(en.what.is_ascii() && en.next.is_ascii(), "{kind:?}: {en:?}");
            assert!(
                !zh.what.is_ascii() && !zh.next.is_ascii(),
                "{kind:?}: {zh:?}"
            );
        }
    }

    #[test]
    fn only_the_messages_of_shared_codes_are_kept_for_telling_entries_apart() {
        for kind in ErrorKind::ALL {
            let sharing = ErrorKind::ALL
                .iter()
                .filter(|other| other.code() == kind.code())
                .count();
            let expected = (sharing > 1).then_some(kind.message());
            assert_eq!(kind.message_if_code_shared(), expected, "{kind:?}");
        }
        assert!(
            ErrorKind::ALL
                .iter()
                .any(|kind| kind.message_if_code_shared().is_some())
        );
    }

    #[test]
    fn every_entry_has_text_in_both_languages_and_a_sane_status() {
        for kind in ErrorKind::ALL {
            for locale in [Locale::En, Locale::ZhCn] {
                let text = kind.explain(locale);
                assert!(!text.what.is_empty() && !text.next.is_empty(), "{kind:?}");
            }
            assert!((400..600).contains(&kind.http_status()), "{kind:?}");
            assert!(!kind.message().is_empty());
        }
        assert!(ErrorKind::ALL.len() >= 25);
    }

    #[test]
    fn every_proxy_entry_resolves_to_itself_so_the_widget_can_tell_them_apart() {
        for kind in ErrorKind::ALL
            .iter()
            .copied()
            .filter(|kind| kind.code().starts_with("Proxy."))
        {
            assert_eq!(
                ErrorKind::from_wire(kind.code(), kind.message()),
                Some(kind),
                "{kind:?}"
            );
            // The proxy appends details such as the limit in parentheses.
            let detailed = format!("{} (30 per hour)", kind.message());
            assert_eq!(ErrorKind::from_wire(kind.code(), &detailed), Some(kind));
        }
        // Only the two reasons of the upload limit share a proxy code.
        let shared: Vec<ErrorKind> = ErrorKind::ALL
            .iter()
            .copied()
            .filter(|kind| {
                kind.code().starts_with("Proxy.")
                    && ErrorKind::ALL
                        .iter()
                        .any(|other| other != kind && other.code() == kind.code())
            })
            .collect();
        assert_eq!(
            shared,
            vec![ErrorKind::UploadLimitHourly, ErrorKind::UploadLimitDaily]
        );
        assert_eq!(
            ErrorKind::from_wire("Proxy.SpendCap", ""),
            Some(ErrorKind::SpendCap)
        );
        assert_eq!(ErrorKind::PayloadTooLarge.http_status(), 413);
        assert_eq!(ErrorKind::MethodNotAllowed.http_status(), 405);
        assert_eq!(ErrorKind::IdempotencyKeyReused.http_status(), 422);
        // A refused app proxy signature is an authentication failure, which no retry fixes.
        assert_eq!(ErrorKind::BadSignature.http_status(), 401);
        assert!(!ErrorKind::BadSignature.retryable());
        assert_eq!(
            ErrorKind::from_wire("Proxy.IdempotencyKeyReused", ""),
            Some(ErrorKind::IdempotencyKeyReused)
        );
    }

    #[test]
    fn codes_with_several_messages_resolve_by_message() {
        let timeout = ErrorKind::from_wire(
            "InvalidParameter",
            "Download the media resource timed out during the data inspection process.",
        );
        assert_eq!(timeout, Some(ErrorKind::DownloadTimeout));
        assert_eq!(
            ErrorKind::from_wire("InvalidApiKey", "No API-key provided."),
            Some(ErrorKind::NoApiKey)
        );
        assert_eq!(
            ErrorKind::from_wire(
                "InvalidParameter",
                "The request is missing required parameters xxxxx"
            ),
            Some(ErrorKind::InvalidParameter)
        );
        assert_eq!(ErrorKind::from_wire("NoSuchCode", "whatever"), None);
    }

    #[test]
    fn every_fashn_name_resolves_whatever_message_the_service_sends() {
        use crate::fashn::{api, runtime};
        let names = [
            (runtime::IMAGE_LOAD_ERROR, ErrorKind::FashnImageLoadError),
            (
                runtime::CONTENT_MODERATION_ERROR,
                ErrorKind::FashnContentModerationError,
            ),
            (runtime::POSE_ERROR, ErrorKind::FashnPoseError),
            (runtime::PIPELINE_ERROR, ErrorKind::FashnPipelineError),
            (runtime::THIRD_PARTY_ERROR, ErrorKind::FashnThirdPartyError),
            (
                runtime::THIRD_PARTY_PROVIDER_ERROR,
                ErrorKind::FashnThirdPartyProviderError,
            ),
            (
                runtime::INTERNAL_SERVER_ERROR,
                ErrorKind::FashnInternalServerError,
            ),
            (runtime::POLLING_TIMEOUT, ErrorKind::FashnPollingTimeout),
            (api::UNAUTHORIZED_ACCESS, ErrorKind::FashnUnauthorizedAccess),
            (api::RATE_LIMIT_EXCEEDED, ErrorKind::FashnRateLimitExceeded),
            (
                api::CONCURRENCY_LIMIT_EXCEEDED,
                ErrorKind::FashnConcurrencyLimitExceeded,
            ),
            (api::OUT_OF_CREDITS, ErrorKind::FashnOutOfCredits),
            (api::BAD_REQUEST, ErrorKind::FashnBadRequest),
            (api::NOT_FOUND, ErrorKind::FashnNotFound),
        ];
        for (name, kind) in names {
            assert_eq!(
                ErrorKind::from_wire(name, "Error loading model image"),
                Some(kind)
            );
            assert_eq!(ErrorKind::from_wire(name, kind.message()), Some(kind));
            // The catalogue's retry advice agrees with the adapter's resubmission rule
            // except for the poller's own deadline, which must not be resubmitted.
            if kind != ErrorKind::FashnPollingTimeout
                && !name.ends_with("Exceeded")
                && kind != ErrorKind::FashnOutOfCredits
            {
                assert_eq!(
                    kind.retryable(),
                    crate::fashn::is_transient_fashn(name),
                    "{name}"
                );
            }
        }
        assert_eq!(api::INTERNAL_SERVER_ERROR, runtime::INTERNAL_SERVER_ERROR);
        assert_eq!(ErrorKind::FashnOutOfCredits.http_status(), 429);
    }

    #[test]
    fn the_documented_messages_are_exact() {
        assert_eq!(
            ErrorKind::InvalidApiKey.message(),
            "Invalid API-key provided."
        );
        assert_eq!(ErrorKind::ThrottlingRateQuota.http_status(), 429);
        assert_eq!(ErrorKind::AccessDenied.http_status(), 403);
        assert_eq!(
            ErrorKind::InvalidPerson
                .explain(Locale::from_tag("zh-CN"))
                .what,
            "照片中需要有且仅有一个完整的人。"
        );
        assert_eq!(Locale::from_tag("en-US"), Locale::En);
    }
}

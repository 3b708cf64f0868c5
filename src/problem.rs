//! Why a try-on did not produce a picture, and the words the shopper reads about it.

use tryon_api::rules::{ImageFormat, RuleViolation};
use tryon_api::wire::ErrorBody;
use tryon_api::{ErrorKind, Locale};

use crate::i18n;
use crate::offer::Offer;

/// Why a try-on stopped without a picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// An entry of the contract's error catalogue, from an error answer or a failed task.
    Catalogue(ErrorKind),
    /// A code the catalogue does not know; the shopper gets a generic message.
    UnknownCode { code: String, message: String },
    /// The chosen file breaks the input rules; found in the browser before any upload.
    Photo(RuleViolation),
    /// The photo's format is one the proxy's current upstream does not take (HEIC under
    /// `qwen-image`); found in the browser before any upload.
    FormatNotOffered { format: ImageFormat, offer: Offer },
    /// "Generate" was pressed without a photo.
    NoPhoto,
    /// The proxy could not be reached while uploading or creating the task.
    Network,
    /// The proxy answered something the widget cannot read.
    BadAnswer,
    /// The task did not finish before the poll deadline.
    TimedOut,
    /// The task was cancelled, by the shopper or upstream.
    Canceled,
    /// A keep-own mode found no garment of the shopper's to keep.
    NoOwnGarment,
    /// The browser could not decode the photo it had to scale or rotate.
    Undecodable,
}

/// The two sentences an error view shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// What went wrong.
    pub what: String,
    /// What the shopper can do next.
    pub next: String,
}

impl Problem {
    /// The problem an error answer (or a failed task's `code` and `message`) stands for.
    pub fn from_wire(code: &str, message: &str) -> Problem {
        match ErrorKind::from_wire(code, message) {
            Some(kind) => Problem::Catalogue(kind),
            None => Problem::UnknownCode {
                code: code.to_owned(),
                message: message.to_owned(),
            },
        }
    }

    /// The problem an error body stands for.
    pub fn from_body(body: &ErrorBody) -> Problem {
        Problem::from_wire(&body.code, &body.message)
    }

    /// The shopper-facing words in `locale`.
    pub fn explain(&self, locale: Locale) -> Message {
        let fixed = |(what, next): (&str, &str)| Message {
            what: what.to_owned(),
            next: next.to_owned(),
        };
        let texts = i18n::texts(locale);
        match self {
            Problem::Catalogue(kind) => fixed({
                let text = kind.explain(locale);
                (text.what, text.next)
            }),
            Problem::UnknownCode { .. } | Problem::BadAnswer => fixed(texts.generic),
            Problem::Photo(violation) => {
                let (what, next) = i18n::photo_problem(locale, violation);
                Message { what, next }
            }
            Problem::FormatNotOffered { format, offer } => {
                let (what, next) = i18n::format_problem(locale, *format, offer);
                Message { what, next }
            }
            Problem::NoPhoto => fixed(texts.no_photo),
            Problem::Network => fixed(texts.network),
            Problem::TimedOut => fixed(texts.timed_out),
            Problem::Canceled => fixed(texts.canceled),
            Problem::NoOwnGarment => fixed(texts.no_own_garment),
            Problem::Undecodable => fixed(texts.undecodable),
        }
    }

    /// The code the host page's `tryon:error` event carries: the catalogue's wire code, or
    /// a `Widget.` code for problems found in the browser.
    pub fn code(&self) -> String {
        match self {
            Problem::Catalogue(kind) => kind.code().to_owned(),
            Problem::UnknownCode { code, .. } => code.clone(),
            Problem::Photo(violation) => format!("Widget.Photo.{}", violation_name(violation)),
            Problem::FormatNotOffered { .. } => "Widget.Photo.FormatNotOffered".to_owned(),
            Problem::NoPhoto => "Widget.NoPhoto".to_owned(),
            Problem::Network => "Widget.Network".to_owned(),
            Problem::BadAnswer => "Widget.BadAnswer".to_owned(),
            Problem::TimedOut => "Widget.TimedOut".to_owned(),
            Problem::Canceled => "Widget.Canceled".to_owned(),
            Problem::NoOwnGarment => "Widget.NoOwnGarment".to_owned(),
            Problem::Undecodable => "Widget.Undecodable".to_owned(),
        }
    }
}

/// A short name of a rule violation for event codes.
fn violation_name(violation: &RuleViolation) -> &'static str {
    match violation {
        RuleViolation::UnsupportedUrl(_) => "UnsupportedUrl",
        RuleViolation::UnsupportedFormat => "UnsupportedFormat",
        RuleViolation::UnreadableHeader(_) => "UnreadableHeader",
        RuleViolation::FileTooSmall { .. } => "FileTooSmall",
        RuleViolation::FileTooLarge { .. } => "FileTooLarge",
        RuleViolation::SideTooSmall { .. } => "SideTooSmall",
        RuleViolation::SideTooLarge { .. } => "SideTooLarge",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_use_the_catalogue_and_unknown_ones_a_generic_text() {
        let person = Problem::from_wire(
            "InvalidPerson",
            "The input image has no human body or multi human bodies. Please upload other image with single person.",
        );
        assert_eq!(person, Problem::Catalogue(ErrorKind::InvalidPerson));
        assert_eq!(
            person.explain(Locale::ZhCn).what,
            "照片中需要有且仅有一个完整的人。"
        );
        let unknown = Problem::from_wire("Brand.NewCode", "whatever");
        assert!(matches!(unknown, Problem::UnknownCode { .. }));
        assert_eq!(
            unknown.explain(Locale::En).what,
            "Something went wrong with your try-on."
        );
    }

    #[test]
    fn upload_limits_and_a_full_store_show_their_own_catalogue_texts() {
        // The proxy appends the limit to the message; the reason is still recognised.
        let hourly = Problem::from_wire(
            "Proxy.UploadLimit",
            "This shopper has uploaded the most photos allowed within one hour. (30 per hour)",
        );
        assert_eq!(hourly, Problem::Catalogue(ErrorKind::UploadLimitHourly));
        assert_eq!(
            hourly.explain(Locale::En),
            Message {
                what: "You have uploaded many photos in a short time.".to_owned(),
                next: "Please wait a while before uploading another one.".to_owned(),
            }
        );
        assert_eq!(
            hourly.explain(Locale::ZhCn).what,
            "您短时间内上传的照片过多。"
        );
        assert_eq!(hourly.code(), "Proxy.UploadLimit");

        let daily = Problem::from_wire(
            "Proxy.UploadLimit",
            "This shopper has uploaded the most photo data allowed today. (3000000 bytes per day)",
        );
        assert_eq!(daily, Problem::Catalogue(ErrorKind::UploadLimitDaily));
        assert_eq!(daily.explain(Locale::ZhCn).next, "请明天再上传。");

        let full = Problem::from_body(&ErrorKind::StorageFull.body("r"));
        assert_eq!(full, Problem::Catalogue(ErrorKind::StorageFull));
        assert_eq!(
            full.explain(Locale::En).what,
            "Photos cannot be uploaded in this shop right now."
        );
        assert_eq!(full.explain(Locale::ZhCn).next, "请稍后再试。");

        let down = Problem::from_body(&ErrorKind::StorageUnavailable.body("r"));
        assert_eq!(down, Problem::Catalogue(ErrorKind::StorageUnavailable));
        assert_eq!(
            down.explain(Locale::En).what,
            "Photos cannot be saved or shown in this shop right now."
        );
        assert_eq!(
            down.explain(Locale::ZhCn).what,
            "本店暂时无法保存或显示照片。"
        );
    }

    #[test]
    fn event_codes_name_the_catalogue_or_the_widget() {
        assert_eq!(
            Problem::Catalogue(ErrorKind::InvalidPerson).code(),
            "InvalidPerson"
        );
        let small = Problem::Photo(RuleViolation::SideTooSmall {
            width: 120,
            height: 150,
        });
        assert_eq!(small.code(), "Widget.Photo.SideTooSmall");
        assert_eq!(Problem::Canceled.code(), "Widget.Canceled");
        let successor = tryon_api::generation::Capabilities::successor(
            &tryon_api::generation::SuccessorModel::default_model(),
        );
        let heic = Problem::FormatNotOffered {
            format: ImageFormat::Heic,
            offer: Offer::from_capabilities(&successor),
        };
        assert_eq!(heic.code(), "Widget.Photo.FormatNotOffered");
        assert_eq!(
            heic.explain(Locale::En).next,
            "Please choose a JPEG, PNG, BMP or WEBP photo."
        );
    }
}

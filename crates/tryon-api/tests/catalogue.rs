//! Checks the error catalogue against the two tables of the references: every documented code is present with its HTTP status and message.
//!
//! The spec's table (六、错误码) gives full messages, which must match exactly. The family
//! doc's general table shortens some messages with "..."; for those the catalogue message
//! must start with the documented part.

use tryon_api::ErrorKind;

/// `(HTTP status, code, documented message)`; a message ending in "..." is a prefix.
const SPEC_TABLE: &[(u16, &str, &str)] = &[
    (
        400,
        "InvalidParameter",
        "The request is missing required parameters or in a wrong format, please check the parameters that you send.",
    ),
    (
        400,
        "InvalidParameter",
        "Download the media resource timed out during the data inspection process.",
    ),
    (
        400,
        "InvalidURL",
        "The request URL is invalid, please check the request URL is available and the request image format is one of the following types: JPEG, JPG, PNG, BMP, and WEBP.",
    ),
    (
        400,
        "InvalidPerson",
        "The input image has no human body or multi human bodies. Please upload other image with single person.",
    ),
    (
        400,
        "InvalidGarment",
        "Missing clothing image.Please input at least one top garment or bottom garment image.",
    ),
    (
        400,
        "InvalidInputLength",
        "The image resolution is invalid, please make sure that the largest length of image is smaller than 4096, and the smallest length of image is larger than 150. and the size of image ranges from 5KB to 5MB.",
    ),
];

const FAMILY_TABLE: &[(u16, &str, &str)] = &[
    (401, "InvalidApiKey", "Invalid API-key provided."),
    (401, "InvalidApiKey", "No API-key provided."),
    (
        400,
        "Arrearage",
        "Access denied, please make sure your account is in good standing.",
    ),
    (
        400,
        "DataInspectionFailed",
        "Input or output data may contain inappropriate content.",
    ),
    (
        403,
        "AccessDenied",
        "current user api does not support synchronous calls.",
    ),
    (
        403,
        "AccessDenied.Unpurchased",
        "Access to model denied. Please make sure you are eligible for using the model.",
    ),
    (
        403,
        "AllocationQuota.FreeTierOnly",
        "The free tier of the model has been exhausted. ...",
    ),
    (404, "ModelNotFound", "Model can not be found."),
    (429, "Throttling", "Requests throttling triggered."),
    (
        429,
        "Throttling.RateQuota",
        "Requests rate limit exceeded, please try again later.",
    ),
    (
        429,
        "Throttling.BurstRate",
        "Request rate increased too quickly. ...",
    ),
    (
        429,
        "Throttling.AllocationQuota",
        "Allocated quota exceeded, please increase your quota limit.",
    ),
    (
        500,
        "InternalError",
        "An internal error has occured, please try again later or contact service support.",
    ),
    (
        500,
        "InternalError.Timeout",
        "An internal timeout error has occured during execution, ...",
    ),
    // Documented as "500/503"; the catalogue answers 503.
    (503, "ModelServingError", "Too many requests. ..."),
    (
        503,
        "ModelUnavailable",
        "Model is unavailable, please try again later.",
    ),
    // Segmentation and cancel, from the family doc's prose.
    (
        400,
        "InvalidParameter.ClothesType",
        "The request parameter is invalid, please check the request parameter.",
    ),
    (
        400,
        "UnsupportedOperation",
        "Failed to cancel the task, please confirm if the task is in PENDING status.",
    ),
    (
        400,
        "InvalidParameter",
        "The size of person image and coarse_image are not the same.",
    ),
];

fn entry(status: u16, code: &str, message: &str) -> Option<ErrorKind> {
    let prefix = message.strip_suffix("...").map(str::trim_end);
    ErrorKind::ALL.iter().copied().find(|kind| {
        kind.code() == code
            && kind.http_status() == status
            && match prefix {
                Some(prefix) => kind.message().starts_with(prefix),
                None => kind.message() == message,
            }
    })
}

#[test]
fn every_documented_code_is_in_the_catalogue_with_its_status_and_message() {
    for (status, code, message) in SPEC_TABLE.iter().chain(FAMILY_TABLE) {
        assert!(
            entry(*status, code, message).is_some(),
            "{status} {code} {message:?} is missing from the catalogue"
        );
    }
}

#[test]
fn throttling_and_server_errors_are_retryable_and_client_errors_are_not() {
    for kind in ErrorKind::ALL {
        if kind.code().starts_with("Proxy.") || *kind == ErrorKind::DownloadTimeout {
            continue;
        }
        let status = kind.http_status();
        let expected = status == 429 || status >= 500;
        assert_eq!(kind.retryable(), expected, "{kind:?} ({status})");
    }
}

#[test]
fn a_reused_idempotency_key_is_a_422_that_a_retry_cannot_fix() {
    let kind = ErrorKind::from_wire("Proxy.IdempotencyKeyReused", "").unwrap();
    assert_eq!(kind.http_status(), 422);
    assert!(!kind.retryable());
    assert!(kind.message().contains("Idempotency-Key"));
    for locale in [tryon_api::Locale::En, tryon_api::Locale::ZhCn] {
        let text = kind.explain(locale);
        assert!(!text.what.is_empty() && !text.next.is_empty());
    }
}

#[test]
fn the_upload_limit_is_a_429_with_two_reasons_and_a_full_store_a_507_to_retry_later() {
    use tryon_api::Locale;
    let hourly = ErrorKind::from_wire(
        "Proxy.UploadLimit",
        "This shopper has uploaded the most photos allowed within one hour. (30 per hour)",
    )
    .unwrap();
    let daily = ErrorKind::from_wire(
        "Proxy.UploadLimit",
        "This shopper has uploaded the most photo data allowed today. (200000000 bytes per day)",
    )
    .unwrap();
    assert_eq!(hourly, ErrorKind::UploadLimitHourly);
    assert_eq!(daily, ErrorKind::UploadLimitDaily);
    for kind in [hourly, daily] {
        assert_eq!(kind.http_status(), 429);
        assert!(!kind.retryable(), "a retry at once meets the same limit");
    }
    // The shopper learns whether a short wait or tomorrow helps.
    assert_eq!(
        hourly.explain(Locale::En).next,
        "Please wait a while before uploading another one."
    );
    assert_eq!(
        hourly.explain(Locale::ZhCn).what,
        "您短时间内上传的照片过多。"
    );
    assert!(daily.explain(Locale::En).next.contains("tomorrow"));
    assert!(daily.explain(Locale::ZhCn).next.contains("明天"));

    let full = ErrorKind::from_wire("Proxy.StorageFull", "").unwrap();
    assert_eq!(full.http_status(), 507);
    assert!(full.retryable(), "space comes back when old photos expire");
    for locale in [Locale::En, Locale::ZhCn] {
        let text = full.explain(locale);
        assert!(!text.what.is_empty() && !text.next.is_empty());
    }

    // A store that is down is a passing fault of the shop's, told apart from a full one.
    let down = ErrorKind::from_wire("Proxy.StorageUnavailable", "").unwrap();
    assert_eq!(down, ErrorKind::StorageUnavailable);
    assert_eq!(down.http_status(), 503);
    assert!(
        down.retryable(),
        "the same request succeeds once the store is back"
    );
    assert_eq!(
        down.explain(Locale::En).next,
        "Please try again in a moment."
    );
    assert_eq!(down.explain(Locale::ZhCn).next, "请稍后重试。");
}

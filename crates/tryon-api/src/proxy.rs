//! The proxy's own additions to the DashScope API: photo uploads, hosted files and shop status.

use serde::{Deserialize, Serialize};

/// `POST` a photo's raw bytes here (Content-Type `image/*`); the answer is an [`UploadResponse`].
pub const UPLOADS_PATH: &str = "/api/v1/tryon/uploads";
/// Files the proxy hosts (shopper photos and kept results) live under this prefix.
pub const FILES_PATH: &str = "/api/v1/tryon/files";
/// The proxy's public status: whether try-on is available for this shop.
pub const STATUS_PATH: &str = "/api/v1/tryon/status";

/// The path of one of the caller's own uploads: `GET` tells whether it is still kept (a
/// [`StoredUpload`], or 404 `Proxy.PhotoExpired`), `DELETE` deletes it at once.
pub fn upload_path(id: &str) -> String {
    format!("{UPLOADS_PATH}/{id}")
}

/// Answer of `GET` on one of the caller's uploads: it is still kept, until `expires_at_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredUpload {
    pub id: String,
    /// Public URL of the stored file, as the upload answered it.
    pub url: String,
    /// When the retention sweep deletes it (Unix milliseconds of the proxy's clock).
    pub expires_at_ms: u64,
    pub request_id: String,
}

/// Answer of a successful upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadResponse {
    /// Unguessable id of the stored file.
    pub id: String,
    /// Public URL of the stored file, reachable by the upstream.
    pub url: String,
    /// Detected format, e.g. `jpeg`.
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub request_id: String,
}

/// Answer of the status call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShopStatus {
    /// False when the shop's budget or cap is spent: the widget hides itself.
    pub available: bool,
    /// The model the proxy uses upstream.
    pub model: String,
    /// `"dashscope"` for the real service, `"dashscope-sim"` for the embedded emulator.
    pub upstream: String,
    /// Why try-on is not available, when `available` is false: `daily_image_cap`,
    /// `spend_cap` or `shopper_daily_limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The caller's anonymous shopper token, to send back in the `X-Tryon-Shopper` header
    /// by widgets that cannot use the proxy's cookie (cross-site pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shopper_token: Option<String>,
    /// How many try-ons this shopper has left today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shopper_remaining: Option<u32>,
}

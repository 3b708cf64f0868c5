//! Downloading and checking input images the way the service does in PRE-PROCESSING: timeout, HTTP errors, the input rules, then decoding.

use std::time::Duration;

use image::DynamicImage;
use tryon_api::ErrorKind;
use tryon_api::rules::{MAX_FILE_BYTES, check_image};

/// Downloads one input image and applies the input rules.
///
/// Failures map to the catalogue entries the real service reports: a timeout to
/// `DownloadTimeout`; an unreachable host, an HTTP error or bytes that are not an image
/// to `InvalidURL`; a rule violation to `violation.upstream_error()`.
pub async fn fetch_image(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
) -> Result<(Vec<u8>, DynamicImage), ErrorKind> {
    let bytes = match tokio::time::timeout(timeout, download(client, url)).await {
        Ok(result) => result?,
        Err(_) => return Err(ErrorKind::DownloadTimeout),
    };
    check_image(&bytes).map_err(|violation| violation.upstream_error())?;
    // Decoding is CPU work on a large buffer, so it leaves the async workers free.
    let decoded = tokio::task::spawn_blocking(move || {
        let image = image::load_from_memory(&bytes).map_err(|_| ErrorKind::InvalidUrl)?;
        Ok::<_, ErrorKind>((bytes, image))
    })
    .await
    .map_err(|_| ErrorKind::InternalError)??;
    Ok(decoded)
}

/// Reads the body, stopping one byte past the 5 MB limit so that a huge file cannot
/// exhaust memory but is still reported as too large.
async fn download(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, ErrorKind> {
    let mut response = client.get(url).send().await.map_err(|e| {
        if e.is_timeout() {
            ErrorKind::DownloadTimeout
        } else {
            ErrorKind::InvalidUrl
        }
    })?;
    if !response.status().is_success() {
        return Err(ErrorKind::InvalidUrl);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        if e.is_timeout() {
            ErrorKind::DownloadTimeout
        } else {
            ErrorKind::InvalidUrl
        }
    })? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > MAX_FILE_BYTES {
            break;
        }
    }
    Ok(body)
}

//! Turning the shopper's chosen file into the bytes that get uploaded, with the contract's limits checked first.
//!
//! Today preparation only checks the file size and passes the file through unchanged.
//! Full preparation (EXIF orientation, downscaling, re-encoding) is a later issue; it
//! belongs inside [`prepare`], which the flow already awaits, so nothing else changes.

use tryon_api::rules::{MAX_FILE_BYTES, MIN_FILE_BYTES, RuleViolation};

/// The body of an upload: a blob and the Content-Type to send it with.
#[derive(Debug, Clone)]
pub struct PreparedPhoto {
    pub blob: web_sys::Blob,
    pub content_type: String,
}

/// Sent when the browser does not know a file's type (some give HEIC no type); the proxy
/// reads the format from the magic bytes anyway.
const UNKNOWN_TYPE: &str = "application/octet-stream";

/// Checks a file size against the contract's 5 KB to 5 MB window.
pub fn check_size(bytes: u64) -> Result<(), RuleViolation> {
    if bytes < MIN_FILE_BYTES {
        Err(RuleViolation::FileTooSmall { bytes })
    } else if bytes > MAX_FILE_BYTES {
        Err(RuleViolation::FileTooLarge { bytes })
    } else {
        Ok(())
    }
}

/// Checks what can be known of `file` without reading it, right after it is chosen.
pub fn check_file(file: &web_sys::File) -> Result<(), RuleViolation> {
    check_size(file.size() as u64)
}

/// Prepares `file` for upload. It is `async` because the later image preparation
/// (decoding, rotating, re-encoding on a canvas) needs the browser's promises.
pub async fn prepare(file: &web_sys::File) -> Result<PreparedPhoto, RuleViolation> {
    check_file(file)?;
    let content_type = match file.type_() {
        kind if kind.is_empty() => UNKNOWN_TYPE.to_owned(),
        kind => kind,
    };
    let blob: &web_sys::Blob = file.as_ref();
    Ok(PreparedPhoto {
        blob: blob.clone(),
        content_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_window_is_inclusive_on_both_ends() {
        assert_eq!(
            check_size(1024),
            Err(RuleViolation::FileTooSmall { bytes: 1024 })
        );
        assert_eq!(check_size(MIN_FILE_BYTES), Ok(()));
        assert_eq!(check_size(MAX_FILE_BYTES), Ok(()));
        assert_eq!(
            check_size(MAX_FILE_BYTES + 1),
            Err(RuleViolation::FileTooLarge {
                bytes: MAX_FILE_BYTES + 1
            })
        );
    }
}

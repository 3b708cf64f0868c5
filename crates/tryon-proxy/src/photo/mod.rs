//! Privacy cleaning of uploaded photos: metadata that may hold a location or a camera (EXIF, XMP, IPTC, text chunks) is removed from every accepted format without decoding pixels.
//!
//! What each format keeps and loses:
//!
//! - JPEG ([`jpeg`]): APP1 (EXIF, XMP) and APP13 (Photoshop IPTC) segments are cut out;
//!   ICC profiles (APP2), JFIF and every other segment and the scan are kept byte for byte.
//! - PNG ([`png`]): the `eXIf`, `tEXt`, `iTXt`, `zTXt` and `tIME` chunks are dropped, and
//!   whatever follows `IEND`; every other chunk (`iCCP` included) is kept with its CRC.
//! - WebP ([`webp`]): the `EXIF` and `XMP ` chunks are dropped, the RIFF size is fixed and
//!   the EXIF and XMP flags of a `VP8X` header are cleared.
//! - HEIC/HEIF ([`heif`]): the bytes of the Exif item and of XMP (`mime`,
//!   `application/rdf+xml`) items are overwritten with zeros in place, so that no offset in
//!   the file changes and nothing has to be re-muxed; the items themselves stay declared,
//!   now empty. A file whose metadata cannot be located that way is refused.
//! - BMP has no metadata blocks: it is passed through unchanged.

pub mod heif;
pub mod jpeg;
pub mod png;
pub mod webp;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod samples;

use tryon_api::ImageFormat;

/// Why a photo's metadata could not be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StripError {
    /// The block structure of the file could not be walked.
    #[error("the {} structure could not be read", .0.name())]
    Malformed(ImageFormat),
    /// The file holds metadata stored in a way the stripper cannot clear without
    /// rewriting the file (only HEIC so far).
    #[error(
        "this {} stores its metadata in a way the shop cannot remove; please upload a JPEG or PNG",
        .0.name().to_ascii_uppercase()
    )]
    MetadataNotRemovable(ImageFormat),
}

/// Returns the file without its metadata, in the same format and with the same pixels.
/// `format` must be what [`ImageFormat::sniff`] says of `bytes`.
pub fn strip_metadata(format: ImageFormat, bytes: &[u8]) -> Result<Vec<u8>, StripError> {
    match format {
        ImageFormat::Jpeg => jpeg::strip(bytes),
        ImageFormat::Png => png::strip(bytes),
        ImageFormat::Webp => webp::strip(bytes),
        ImageFormat::Heic => heif::strip(bytes),
        ImageFormat::Bmp => Ok(bytes.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bmp_is_passed_through_unchanged() {
        let bmp = [b"BM".as_slice(), &[0u8; 40]].concat();
        assert_eq!(strip_metadata(ImageFormat::Bmp, &bmp).unwrap(), bmp);
    }

    #[test]
    fn the_refusal_names_the_format_and_what_to_do() {
        let text = StripError::MetadataNotRemovable(ImageFormat::Heic).to_string();
        assert!(text.contains("HEIC"), "{text}");
        assert!(text.contains("please upload a JPEG or PNG"), "{text}");
        assert_eq!(
            StripError::Malformed(ImageFormat::Png).to_string(),
            "the png structure could not be read"
        );
    }
}

//! The input rules of the spec, one implementation for all speakers: http(s) URLs only, format from magic bytes, 5 KB-5 MB, sides 150-4096 px read from the file header.

use std::fmt;

use crate::errors::ErrorKind;

/// Smallest accepted file: 5 KB.
pub const MIN_FILE_BYTES: u64 = 5 * 1024;
/// Largest accepted file: 5 MB.
pub const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;
/// Smallest accepted side in pixels.
pub const MIN_SIDE_PX: u32 = 150;
/// Largest accepted side in pixels.
pub const MAX_SIDE_PX: u32 = 4096;

/// An image format the service accepts, recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Bmp,
    /// HEIC or HEIF (ISO base media file with an image brand).
    Heic,
    Webp,
}

impl ImageFormat {
    /// The short lower-case name, e.g. `jpeg`.
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Bmp => "bmp",
            ImageFormat::Heic => "heic",
            ImageFormat::Webp => "webp",
        }
    }

    /// The MIME type to serve a file of this format with.
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Bmp => "image/bmp",
            ImageFormat::Heic => "image/heic",
            ImageFormat::Webp => "image/webp",
        }
    }

    /// Recognises the format from the first bytes of a file, never from its name.
    pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFormat::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFormat::Png)
        } else if bytes.starts_with(b"BM") && bytes.len() >= 26 {
            Some(ImageFormat::Bmp)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageFormat::Webp)
        } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" && is_heif_brand(&bytes[8..12]) {
            Some(ImageFormat::Heic)
        } else {
            None
        }
    }
}

fn is_heif_brand(brand: &[u8]) -> bool {
    matches!(
        brand,
        b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" | b"heif"
    )
}

/// What the header of an accepted image says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageFacts {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

/// Why an image or URL breaks the input rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleViolation {
    /// Not http or https, or not a URL at all.
    UnsupportedUrl(String),
    /// The bytes are not JPEG, PNG, BMP, HEIC or WEBP.
    UnsupportedFormat,
    /// The header of a recognised format could not be read.
    UnreadableHeader(ImageFormat),
    FileTooSmall {
        bytes: u64,
    },
    FileTooLarge {
        bytes: u64,
    },
    SideTooSmall {
        width: u32,
        height: u32,
    },
    SideTooLarge {
        width: u32,
        height: u32,
    },
}

impl RuleViolation {
    /// The catalogue entry the real service answers for this violation.
    pub fn upstream_error(&self) -> ErrorKind {
        match self {
            RuleViolation::UnsupportedUrl(_)
            | RuleViolation::UnsupportedFormat
            | RuleViolation::UnreadableHeader(_) => ErrorKind::InvalidUrl,
            _ => ErrorKind::InvalidInputLength,
        }
    }

    /// The catalogue entry the proxy answers when a shopper uploads such a file.
    pub fn upload_error(&self) -> ErrorKind {
        match self {
            RuleViolation::UnsupportedUrl(_)
            | RuleViolation::UnsupportedFormat
            | RuleViolation::UnreadableHeader(_) => ErrorKind::PhotoNotAccepted,
            _ => ErrorKind::PhotoOutOfBounds,
        }
    }
}

impl fmt::Display for RuleViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleViolation::UnsupportedUrl(url) => {
                write!(f, "{url:?} is not a public http or https URL")
            }
            RuleViolation::UnsupportedFormat => {
                f.write_str("the file is not a JPEG, PNG, BMP, HEIC or WEBP image")
            }
            RuleViolation::UnreadableHeader(format) => {
                write!(f, "the {} header could not be read", format.name())
            }
            RuleViolation::FileTooSmall { bytes } => {
                write!(
                    f,
                    "the file has {bytes} bytes; at least 5 KB ({MIN_FILE_BYTES} bytes) are needed"
                )
            }
            RuleViolation::FileTooLarge { bytes } => {
                write!(
                    f,
                    "the file has {bytes} bytes; at most 5 MB ({MAX_FILE_BYTES} bytes) are accepted"
                )
            }
            RuleViolation::SideTooSmall { width, height } => write!(
                f,
                "the image is {width}x{height} px; each side must be at least {MIN_SIDE_PX} px"
            ),
            RuleViolation::SideTooLarge { width, height } => write!(
                f,
                "the image is {width}x{height} px; each side must be at most {MAX_SIDE_PX} px"
            ),
        }
    }
}

impl std::error::Error for RuleViolation {}

/// Checks a whole file against the rules: format, file size, then sides.
pub fn check_image(bytes: &[u8]) -> Result<ImageFacts, RuleViolation> {
    let (format, width, height) = read_header(bytes)?;
    let size = bytes.len() as u64;
    if size < MIN_FILE_BYTES {
        return Err(RuleViolation::FileTooSmall { bytes: size });
    }
    if size > MAX_FILE_BYTES {
        return Err(RuleViolation::FileTooLarge { bytes: size });
    }
    check_sides(width, height)?;
    Ok(ImageFacts {
        format,
        width,
        height,
        bytes: size,
    })
}

/// Checks only the sides, for a client that knows the size before it has the file.
pub fn check_sides(width: u32, height: u32) -> Result<(), RuleViolation> {
    if width < MIN_SIDE_PX || height < MIN_SIDE_PX {
        return Err(RuleViolation::SideTooSmall { width, height });
    }
    if width > MAX_SIDE_PX || height > MAX_SIDE_PX {
        return Err(RuleViolation::SideTooLarge { width, height });
    }
    Ok(())
}

/// Reads the format and the pixel size from the file header, without decoding pixels.
pub fn read_header(bytes: &[u8]) -> Result<(ImageFormat, u32, u32), RuleViolation> {
    let format = ImageFormat::sniff(bytes).ok_or(RuleViolation::UnsupportedFormat)?;
    let size = match format {
        ImageFormat::Png => png_size(bytes),
        ImageFormat::Jpeg => jpeg_size(bytes),
        ImageFormat::Bmp => bmp_size(bytes),
        ImageFormat::Webp => webp_size(bytes),
        ImageFormat::Heic => heif_size(bytes),
    };
    match size {
        Some((width, height)) if width > 0 && height > 0 => Ok((format, width, height)),
        _ => Err(RuleViolation::UnreadableHeader(format)),
    }
}

fn be16(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?) as u32)
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn le16(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?) as u32)
}

fn le24(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 3)?;
    Some(b[0] as u32 | (b[1] as u32) << 8 | (b[2] as u32) << 16)
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    // The IHDR chunk must come first: length(4) "IHDR"(4) width(4) height(4).
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    Some((be32(bytes, 16)?, be32(bytes, 20)?))
}

fn jpeg_size(bytes: &[u8]) -> Option<(u32, u32)> {
    // Walk the marker segments until a start-of-frame, which holds height then width.
    let mut at = 2;
    loop {
        while *bytes.get(at)? != 0xFF {
            at += 1;
        }
        while *bytes.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *bytes.get(at)?;
        at += 1;
        match marker {
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            // End of image or start of scan before any frame header: nothing to read.
            0xD9 | 0xDA => return None,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let height = be16(bytes, at + 3)?;
                let width = be16(bytes, at + 5)?;
                return Some((width, height));
            }
            _ => {
                let length = be16(bytes, at)? as usize;
                if length < 2 {
                    return None;
                }
                at += length;
            }
        }
    }
}

fn bmp_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let header_len = le32(bytes, 14)?;
    if header_len == 12 {
        // OS/2 BITMAPCOREHEADER: 16-bit sizes.
        return Some((le16(bytes, 18)?, le16(bytes, 20)?));
    }
    let width = le32(bytes, 18)? as i32;
    // A negative height means the rows are stored top-down.
    let height = le32(bytes, 22)? as i32;
    Some((width.unsigned_abs(), height.unsigned_abs()))
}

fn webp_size(bytes: &[u8]) -> Option<(u32, u32)> {
    match bytes.get(12..16)? {
        b"VP8 " => {
            // Lossy: a key frame starts with the 3-byte start code 9D 01 2A at offset 23.
            if bytes.get(23..26)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            Some((le16(bytes, 26)? & 0x3FFF, le16(bytes, 28)? & 0x3FFF))
        }
        b"VP8L" => {
            if *bytes.get(20)? != 0x2F {
                return None;
            }
            let bits = le32(bytes, 21)?;
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => Some((le24(bytes, 24)? + 1, le24(bytes, 27)? + 1)),
        _ => None,
    }
}

/// Finds the image size of a HEIC/HEIF file from its `ispe` properties. A file holds one
/// `ispe` per image item (the primary image, its tiles, thumbnails); the primary image is
/// the largest, so the largest box wins.
fn heif_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let meta = find_box(bytes, b"meta")?;
    // `meta` is a full box: 4 bytes of version and flags precede its children.
    let iprp = find_box(meta.get(4..)?, b"iprp")?;
    let ipco = find_box(iprp, b"ipco")?;
    let mut best: Option<(u32, u32)> = None;
    let mut rest = ipco;
    while let Some((kind, body, after)) = next_box(rest) {
        if kind == b"ispe" {
            let size = (be32(body, 4)?, be32(body, 8)?);
            if best.is_none_or(|(w, h)| (size.0 as u64 * size.1 as u64) > (w as u64 * h as u64)) {
                best = Some(size);
            }
        }
        rest = after;
    }
    best
}

/// Splits one ISO BMFF box off the front: (type, body, the rest).
fn next_box(bytes: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let size = be32(bytes, 0)? as u64;
    let kind = bytes.get(4..8)?;
    let (header, total) = match size {
        0 => (8, bytes.len() as u64),
        1 => {
            let high = be32(bytes, 8)? as u64;
            let low = be32(bytes, 12)? as u64;
            (16, high << 32 | low)
        }
        n => (8, n),
    };
    let total = usize::try_from(total).ok()?;
    if total < header || total > bytes.len() {
        return None;
    }
    Some((kind, &bytes[header..total], &bytes[total..]))
}

fn find_box<'a>(mut bytes: &'a [u8], wanted: &[u8; 4]) -> Option<&'a [u8]> {
    while let Some((kind, body, rest)) = next_box(bytes) {
        if kind == wanted {
            return Some(body);
        }
        bytes = rest;
    }
    None
}

/// A URL the upstream can fetch: `http` or `https` with a host. Built only through
/// [`ImageUrl::parse`], so an invalid one cannot exist past the edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageUrl(String);

impl ImageUrl {
    pub fn parse(raw: &str) -> Result<ImageUrl, RuleViolation> {
        let trimmed = raw.trim();
        let lower = trimmed.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
            .ok_or_else(|| RuleViolation::UnsupportedUrl(raw.to_owned()))?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host_without_port = host.rsplit_once('@').map_or(host, |(_, h)| h);
        if host_without_port.is_empty()
            || host_without_port.starts_with(':')
            || trimmed.chars().any(char::is_whitespace)
        {
            return Err(RuleViolation::UnsupportedUrl(raw.to_owned()));
        }
        Ok(ImageUrl(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ImageUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn padded(mut header: Vec<u8>, total: usize) -> Vec<u8> {
        header.resize(total, 0);
        header
    }

    fn png(width: u32, height: u32, total: usize) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend(width.to_be_bytes());
        b.extend(height.to_be_bytes());
        padded(b, total)
    }

    fn jpeg(width: u16, height: u16, total: usize) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        b.extend(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        b.extend([0xFF, 0xC2, 0x00, 0x11, 0x08]);
        b.extend(height.to_be_bytes());
        b.extend(width.to_be_bytes());
        padded(b, total)
    }

    fn bmp(width: i32, height: i32, total: usize) -> Vec<u8> {
        let mut b = b"BM".to_vec();
        b.extend([0u8; 12]);
        b.extend(40u32.to_le_bytes());
        b.extend(width.to_le_bytes());
        b.extend(height.to_le_bytes());
        padded(b, total)
    }

    fn webp_vp8x(width: u32, height: u32, total: usize) -> Vec<u8> {
        let mut b = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        b.extend(&(width - 1).to_le_bytes()[..3]);
        b.extend(&(height - 1).to_le_bytes()[..3]);
        padded(b, total)
    }

    fn bmff_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend(kind);
        b.extend(body);
        b
    }

    fn heic(sizes: &[(u32, u32)], total: usize) -> Vec<u8> {
        let mut ipco = Vec::new();
        for (w, h) in sizes {
            let mut ispe = vec![0u8; 4];
            ispe.extend(w.to_be_bytes());
            ispe.extend(h.to_be_bytes());
            ipco.extend(bmff_box(b"ispe", &ispe));
        }
        let iprp = bmff_box(b"iprp", &bmff_box(b"ipco", &ipco));
        let mut meta_body = vec![0u8; 4];
        meta_body.extend(bmff_box(b"hdlr", &[0u8; 24]));
        meta_body.extend(iprp);
        let mut b = bmff_box(b"ftyp", b"heic\0\0\0\0mif1heic");
        b.extend(bmff_box(b"meta", &meta_body));
        padded(b, total)
    }

    #[test]
    fn each_format_is_read_from_its_header() {
        let cases = [
            (png(800, 1600, 10_000), ImageFormat::Png, 800, 1600),
            (jpeg(640, 1280, 10_000), ImageFormat::Jpeg, 640, 1280),
            (bmp(300, -900, 10_000), ImageFormat::Bmp, 300, 900),
            (webp_vp8x(1000, 2000, 10_000), ImageFormat::Webp, 1000, 2000),
            (
                heic(&[(320, 240), (3024, 4032)], 10_000),
                ImageFormat::Heic,
                3024,
                4032,
            ),
        ];
        for (bytes, format, width, height) in cases {
            let facts = check_image(&bytes).unwrap();
            assert_eq!(
                (facts.format, facts.width, facts.height),
                (format, width, height)
            );
        }
    }

    #[test]
    fn the_format_comes_from_magic_bytes_not_names() {
        assert_eq!(
            check_image(b"GIF89a....").unwrap_err(),
            RuleViolation::UnsupportedFormat
        );
        assert_eq!(
            check_image(&padded(b"<html>".to_vec(), 10_000))
                .unwrap_err()
                .upstream_error(),
            ErrorKind::InvalidUrl
        );
    }

    #[test]
    fn file_size_and_side_bounds_are_inclusive() {
        assert!(check_image(&png(150, 4096, 5 * 1024)).is_ok());
        assert!(check_image(&png(150, 4096, 5 * 1024 * 1024)).is_ok());
        assert_eq!(
            check_image(&png(800, 800, 5 * 1024 - 1)).unwrap_err(),
            RuleViolation::FileTooSmall { bytes: 5119 }
        );
        assert!(matches!(
            check_image(&png(800, 800, 5 * 1024 * 1024 + 1)).unwrap_err(),
            RuleViolation::FileTooLarge { .. }
        ));
        let small = check_image(&png(149, 800, 10_000)).unwrap_err();
        assert_eq!(
            small,
            RuleViolation::SideTooSmall {
                width: 149,
                height: 800
            }
        );
        assert_eq!(small.upstream_error(), ErrorKind::InvalidInputLength);
        assert!(small.to_string().contains("at least 150 px"));
        assert!(matches!(
            check_image(&jpeg(4097, 800, 10_000)).unwrap_err(),
            RuleViolation::SideTooLarge { .. }
        ));
    }

    #[test]
    fn a_truncated_header_is_unreadable_not_a_panic() {
        for cut in 0..40 {
            let bytes = &jpeg(640, 1280, 64)[..cut];
            let _ = read_header(bytes);
            let _ = read_header(&heic(&[(1, 1)], 200)[..cut]);
        }
        assert_eq!(
            read_header(&[0xFF, 0xD8, 0xFF, 0xD9]).unwrap_err(),
            RuleViolation::UnreadableHeader(ImageFormat::Jpeg)
        );
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_are_accepted() {
        assert!(ImageUrl::parse("https://shop.example/a.jpg").is_ok());
        assert!(ImageUrl::parse("HTTP://127.0.0.1:8080/a.png").is_ok());
        for bad in [
            "ftp://x/a.jpg",
            "file:///etc/passwd",
            "/local/a.jpg",
            "https://",
            "http:///a",
            "https://a b/c",
        ] {
            assert!(ImageUrl::parse(bad).is_err(), "{bad}");
        }
    }
}

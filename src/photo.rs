//! Turning the shopper's photo into bytes the upstream accepts: header check, EXIF orientation, downscale, JPEG re-encode.
//!
//! The contract's rules (`tryon_api::rules`) are applied in the browser before any upload,
//! so a shopper never waits for a refusal the widget could have foreseen:
//!
//! 1. The size and pixel dimensions come from the file header (`rules::read_header`),
//!    without decoding; a photo under 150 px a side is refused with its real size.
//! 2. A photo that is within every rule and upright is uploaded unchanged.
//! 3. Otherwise (over 4096 px, over 5 MB, or a JPEG whose EXIF says "rotate me") the browser
//!    decodes it upright (`createImageBitmap` with `imageOrientation: "from-image"`), scales
//!    it to fit 4096 px and re-encodes it as JPEG, lowering the quality and then the size
//!    until it fits in 5 MB. Rotation matters because the proxy strips EXIF on upload: a
//!    sideways phone photo would otherwise reach the model sideways.

use tryon_api::rules::{
    self, ImageFormat, MAX_FILE_BYTES, MAX_SIDE_PX, MIN_FILE_BYTES, MIN_SIDE_PX, RuleViolation,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::offer::Offer;
use crate::problem::Problem;

/// The body of an upload: a blob, its Content-Type and its pixel size.
#[derive(Debug, Clone)]
pub struct PreparedPhoto {
    pub blob: web_sys::Blob,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    /// Whether the browser re-encoded the photo (false: the shopper's own bytes).
    pub reencoded: bool,
}

/// How much of the file is read to find the header and the EXIF orientation: JPEG puts
/// EXIF (at most 64 KB) before the frame header, HEIF puts `meta` near the start.
const HEAD_BYTES: f64 = 512.0 * 1024.0;

/// Files larger than this are refused unread: no phone photo comes near it, and decoding
/// one would exhaust a phone's memory.
pub const MAX_INPUT_BYTES: u64 = 60 * 1024 * 1024;

/// The JPEG qualities tried in turn before the picture is made smaller.
const QUALITIES: [f64; 4] = [0.92, 0.85, 0.75, 0.6];

/// What preparation will do with a photo, decided from its header alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Upright width and height after scaling.
    pub width: u32,
    pub height: u32,
    /// Whether the photo must be decoded and re-encoded.
    pub reencode: bool,
}

/// Checks what can be known of a file from its size alone, right after it is chosen.
pub fn check_size(bytes: u64) -> Result<(), RuleViolation> {
    if bytes < MIN_FILE_BYTES {
        Err(RuleViolation::FileTooSmall { bytes })
    } else if bytes > MAX_INPUT_BYTES {
        Err(RuleViolation::FileTooLarge { bytes })
    } else {
        Ok(())
    }
}

/// Checks what can be known of `file` without reading it.
pub fn check_file(file: &web_sys::Blob) -> Result<(), RuleViolation> {
    check_size(file.size() as u64)
}

/// `width` x `height` scaled down to fit `max` on the longer side, never up.
pub fn fit_within(width: u32, height: u32, max: u32) -> (u32, u32) {
    let longer = width.max(height);
    if longer <= max {
        return (width, height);
    }
    let scale = f64::from(max) / f64::from(longer);
    let scaled = |side: u32| ((f64::from(side) * scale).floor() as u32).clamp(1, max);
    (scaled(width), scaled(height))
}

/// Decides from the header whether a photo can go as it is, must be re-encoded, or is refused.
pub fn plan(
    format: ImageFormat,
    width: u32,
    height: u32,
    bytes: u64,
    orientation: u16,
) -> Result<Plan, RuleViolation> {
    // EXIF orientations 5 to 8 turn the picture a quarter, swapping its sides.
    let (width, height) = if (5..=8).contains(&orientation) {
        (height, width)
    } else {
        (width, height)
    };
    if width < MIN_SIDE_PX || height < MIN_SIDE_PX {
        return Err(RuleViolation::SideTooSmall { width, height });
    }
    let (fit_width, fit_height) = fit_within(width, height, MAX_SIDE_PX);
    // A very long, thin picture could fall under the minimum once scaled.
    rules::check_sides(fit_width, fit_height)?;
    let rotated = format == ImageFormat::Jpeg && orientation > 1;
    let reencode = rotated || bytes > MAX_FILE_BYTES || (fit_width, fit_height) != (width, height);
    Ok(Plan {
        width: fit_width,
        height: fit_height,
        reencode,
    })
}

/// The EXIF orientation (1 to 8) of a JPEG, or 1 when it has none or it cannot be read.
pub fn exif_orientation(bytes: &[u8]) -> u16 {
    read_orientation(bytes)
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1)
}

fn read_orientation(bytes: &[u8]) -> Option<u16> {
    let be16 = |at: usize| Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    if be16(0)? != 0xFFD8 {
        return None;
    }
    let mut at = 2;
    // Walk the segments before the image data until the APP1 segment that holds EXIF.
    loop {
        let marker = be16(at)?;
        let length = usize::from(be16(at + 2)?);
        if marker == 0xFFE1 && bytes.get(at + 4..at + 10)? == b"Exif\0\0" {
            return tiff_orientation(bytes.get(at + 10..at + 2 + length)?);
        }
        if marker == 0xFFDA || marker & 0xFF00 != 0xFF00 || length < 2 {
            return None;
        }
        at += 2 + length;
    }
}

/// Reads tag 0x0112 from the first IFD of a TIFF block, in either byte order.
fn tiff_orientation(tiff: &[u8]) -> Option<u16> {
    let little = match tiff.get(0..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |at: usize| {
        let pair: [u8; 2] = tiff.get(at..at + 2)?.try_into().ok()?;
        Some(if little {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        })
    };
    let u32_at = |at: usize| {
        let quad: [u8; 4] = tiff.get(at..at + 4)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(quad)
        } else {
            u32::from_be_bytes(quad)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let entries = usize::from(u16_at(ifd)?);
    (0..entries).find_map(|n| {
        let entry = ifd + 2 + n * 12;
        (u16_at(entry)? == 0x0112)
            .then(|| u16_at(entry + 8))
            .flatten()
    })
}

/// Reads the header of `file` and decides what preparation will do, or which rule the
/// photo breaks; cheap enough to run as soon as a photo is chosen.
///
/// A format the current upstream does not take (see `offer`) is refused as soon as it is
/// recognised, before its size is read, so the shopper learns the real reason.
pub async fn inspect(file: &web_sys::Blob, offer: Offer) -> Result<(ImageFormat, Plan), Problem> {
    let bytes = file.size() as u64;
    check_size(bytes).map_err(Problem::Photo)?;
    let head = file
        .slice_with_f64_and_f64(0.0, HEAD_BYTES)
        .map_err(|_| Problem::Undecodable)?;
    let head = read_bytes(&head).await?;
    if let Some(format) = ImageFormat::sniff(&head)
        && !offer.accepts(format)
    {
        return Err(Problem::FormatNotOffered { format, offer });
    }
    let (format, width, height) = rules::read_header(&head).map_err(Problem::Photo)?;
    let orientation = if format == ImageFormat::Jpeg {
        exif_orientation(&head)
    } else {
        1
    };
    let plan = plan(format, width, height, bytes, orientation).map_err(Problem::Photo)?;
    Ok((format, plan))
}

/// Prepares `file` for upload, or says which rule it breaks (`offer`: what the current
/// upstream takes).
pub async fn prepare(file: &web_sys::Blob, offer: Offer) -> Result<PreparedPhoto, Problem> {
    let (format, plan) = inspect(file, offer).await?;
    if !plan.reencode {
        return Ok(PreparedPhoto {
            blob: file.clone(),
            content_type: format.mime().to_owned(),
            width: plan.width,
            height: plan.height,
            reencoded: false,
        });
    }
    reencode(file).await
}

/// Decodes `file` upright and encodes JPEGs until one fits every rule.
async fn reencode(file: &web_sys::Blob) -> Result<PreparedPhoto, Problem> {
    let window = web_sys::window().ok_or(Problem::Undecodable)?;
    let options = web_sys::ImageBitmapOptions::new();
    options.set_image_orientation(web_sys::ImageOrientation::FromImage);
    let promise = window
        .create_image_bitmap_with_blob_and_image_bitmap_options(file, &options)
        .map_err(|_| Problem::Undecodable)?;
    let bitmap: web_sys::ImageBitmap = JsFuture::from(promise)
        .await
        .map_err(|_| Problem::Undecodable)?
        .unchecked_into();
    let (mut width, mut height) = fit_within(bitmap.width(), bitmap.height(), MAX_SIDE_PX);
    // Each round tries the qualities at one size, then makes the picture a fifth smaller.
    for _ in 0..4 {
        rules::check_sides(width, height).map_err(Problem::Photo)?;
        for quality in QUALITIES {
            let blob = encode_jpeg(&bitmap, width, height, quality).await?;
            let size = blob.size() as u64;
            if (MIN_FILE_BYTES..=MAX_FILE_BYTES).contains(&size) {
                bitmap.close();
                return Ok(PreparedPhoto {
                    blob,
                    content_type: ImageFormat::Jpeg.mime().to_owned(),
                    width,
                    height,
                    reencoded: true,
                });
            }
        }
        (width, height) = (width * 4 / 5, height * 4 / 5);
    }
    bitmap.close();
    Err(Problem::Photo(RuleViolation::FileTooLarge {
        bytes: file.size() as u64,
    }))
}

/// Draws `bitmap` at `width` x `height` on a white ground (JPEG has no transparency) and
/// encodes it, on an OffscreenCanvas where the browser has one, else on a canvas element.
async fn encode_jpeg(
    bitmap: &web_sys::ImageBitmap,
    width: u32,
    height: u32,
    quality: f64,
) -> Result<web_sys::Blob, Problem> {
    let (w, h) = (f64::from(width), f64::from(height));
    let has_offscreen =
        js_sys::Reflect::has(&js_sys::global(), &"OffscreenCanvas".into()).unwrap_or(false);
    let promise = if has_offscreen {
        let canvas =
            web_sys::OffscreenCanvas::new(width, height).map_err(|_| Problem::Undecodable)?;
        let context: web_sys::OffscreenCanvasRenderingContext2d = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .ok_or(Problem::Undecodable)?
            .unchecked_into();
        context.set_fill_style_str("#fff");
        context.fill_rect(0.0, 0.0, w, h);
        context
            .draw_image_with_image_bitmap_and_dw_and_dh(bitmap, 0.0, 0.0, w, h)
            .map_err(|_| Problem::Undecodable)?;
        let options = web_sys::ImageEncodeOptions::new();
        options.set_type("image/jpeg");
        options.set_quality(quality);
        canvas
            .convert_to_blob_with_options(&options)
            .map_err(|_| Problem::Undecodable)?
    } else {
        let document = web_sys::window()
            .and_then(|window| window.document())
            .ok_or(Problem::Undecodable)?;
        let canvas: web_sys::HtmlCanvasElement = document
            .create_element("canvas")
            .map_err(|_| Problem::Undecodable)?
            .unchecked_into();
        canvas.set_width(width);
        canvas.set_height(height);
        let context: web_sys::CanvasRenderingContext2d = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .ok_or(Problem::Undecodable)?
            .unchecked_into();
        context.set_fill_style_str("#fff");
        context.fill_rect(0.0, 0.0, w, h);
        context
            .draw_image_with_image_bitmap_and_dw_and_dh(bitmap, 0.0, 0.0, w, h)
            .map_err(|_| Problem::Undecodable)?;
        // `toBlob` takes a callback; a promise around it lets the flow await it.
        js_sys::Promise::new(&mut |resolve, _reject| {
            let callback = wasm_bindgen::closure::Closure::once_into_js(move |blob: JsValue| {
                let _ = resolve.call1(&JsValue::NULL, &blob);
            });
            let _ = canvas.to_blob_with_type_and_encoder_options(
                callback.unchecked_ref(),
                "image/jpeg",
                &JsValue::from_f64(quality),
            );
        })
    };
    let blob = JsFuture::from(promise)
        .await
        .map_err(|_| Problem::Undecodable)?;
    blob.dyn_into().map_err(|_| Problem::Undecodable)
}

/// The width of a remembered photo's thumbnail, in pixels: sharp in the dialog's small
/// preview, and a few kilobytes in the browser's storage.
pub const THUMBNAIL_WIDTH: u32 = 120;

/// A small upright JPEG of `photo` as a data URL, for a remembered photo's preview;
/// `None` when the browser cannot draw it (the photo is then remembered without one).
pub async fn thumbnail(photo: &web_sys::Blob) -> Option<String> {
    let window = web_sys::window()?;
    let options = web_sys::ImageBitmapOptions::new();
    options.set_image_orientation(web_sys::ImageOrientation::FromImage);
    options.set_resize_width(THUMBNAIL_WIDTH);
    let promise = window
        .create_image_bitmap_with_blob_and_image_bitmap_options(photo, &options)
        .ok()?;
    let bitmap: web_sys::ImageBitmap = JsFuture::from(promise).await.ok()?.unchecked_into();
    let (width, height) = (bitmap.width(), bitmap.height());
    let canvas: web_sys::HtmlCanvasElement = window
        .document()?
        .create_element("canvas")
        .ok()?
        .unchecked_into();
    canvas.set_width(width);
    canvas.set_height(height);
    let context: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").ok().flatten()?.unchecked_into();
    context
        .draw_image_with_image_bitmap(&bitmap, 0.0, 0.0)
        .ok()?;
    bitmap.close();
    canvas
        .to_data_url_with_type_and_encoder_options("image/jpeg", &JsValue::from_f64(0.8))
        .ok()
}

/// The bytes of a blob.
async fn read_bytes(blob: &web_sys::Blob) -> Result<Vec<u8>, Problem> {
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .map_err(|_| Problem::Undecodable)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How a test writes 16-bit and 32-bit numbers in one byte order.
    type Writers = (fn(u16) -> [u8; 2], fn(u32) -> [u8; 4]);

    /// A JPEG start with an EXIF block whose first IFD holds one orientation entry.
    fn jpeg_with_orientation(orientation: u16, little: bool) -> Vec<u8> {
        let mut tiff = Vec::new();
        let (u16b, u32b): Writers = if little {
            tiff.extend(b"II");
            (u16::to_le_bytes, u32::to_le_bytes)
        } else {
            tiff.extend(b"MM");
            (u16::to_be_bytes, u32::to_be_bytes)
        };
        tiff.extend(u16b(42));
        tiff.extend(u32b(8));
        tiff.extend(u16b(1));
        tiff.extend(u16b(0x0112));
        tiff.extend(u16b(3));
        tiff.extend(u32b(1));
        tiff.extend(u16b(orientation));
        tiff.extend([0, 0]);
        tiff.extend(u32b(0));
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0, 0, 0xFF, 0xE1];
        bytes.extend(((tiff.len() + 8) as u16).to_be_bytes());
        bytes.extend(b"Exif\0\0");
        bytes.extend(tiff);
        bytes.extend([0xFF, 0xDA, 0, 2]);
        bytes
    }

    #[test]
    fn the_orientation_is_read_in_both_byte_orders_and_defaults_to_upright() {
        assert_eq!(exif_orientation(&jpeg_with_orientation(6, true)), 6);
        assert_eq!(exif_orientation(&jpeg_with_orientation(8, false)), 8);
        assert_eq!(exif_orientation(&jpeg_with_orientation(42, false)), 1);
        assert_eq!(exif_orientation(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]), 1);
        assert_eq!(exif_orientation(b"not a jpeg"), 1);
        for cut in 0..40 {
            let _ = exif_orientation(&jpeg_with_orientation(6, true)[..cut]);
        }
    }

    #[test]
    fn an_upright_photo_within_the_rules_goes_unchanged() {
        let plan = plan(ImageFormat::Jpeg, 768, 1536, 158_555, 1).unwrap();
        assert_eq!(
            plan,
            Plan {
                width: 768,
                height: 1536,
                reencode: false
            }
        );
    }

    #[test]
    fn big_heavy_or_rotated_photos_are_reencoded_within_4096() {
        let big = plan(ImageFormat::Jpeg, 4000, 3000, 4_000_000, 6).unwrap();
        assert_eq!((big.width, big.height, big.reencode), (3000, 4000, true));
        let huge = plan(ImageFormat::Png, 8192, 6144, 3_000_000, 1).unwrap();
        assert_eq!((huge.width, huge.height, huge.reencode), (4096, 3072, true));
        let heavy = plan(ImageFormat::Png, 2000, 3000, 9_000_000, 1).unwrap();
        assert!(heavy.reencode);
        // A PNG has no EXIF orientation to honour.
        assert!(!plan(ImageFormat::Png, 600, 900, 6_000, 6).unwrap().reencode);
    }

    #[test]
    fn a_photo_under_150_pixels_is_refused_with_its_upright_size() {
        assert_eq!(
            plan(ImageFormat::Png, 120, 150, 54_218, 1),
            Err(RuleViolation::SideTooSmall {
                width: 120,
                height: 150
            })
        );
        assert_eq!(
            plan(ImageFormat::Jpeg, 300, 100, 9_000, 6),
            Err(RuleViolation::SideTooSmall {
                width: 100,
                height: 300
            })
        );
        // Scaling 20000 x 200 to fit 4096 would leave 40 px.
        assert!(matches!(
            plan(ImageFormat::Png, 20_000, 200, 90_000, 1),
            Err(RuleViolation::SideTooSmall { .. })
        ));
    }

    #[test]
    fn sizes_are_checked_before_reading() {
        assert_eq!(
            check_size(1024),
            Err(RuleViolation::FileTooSmall { bytes: 1024 })
        );
        assert_eq!(check_size(MIN_FILE_BYTES), Ok(()));
        // Larger than 5 MB is fine here: preparation makes it smaller.
        assert_eq!(check_size(MAX_FILE_BYTES + 1), Ok(()));
        assert!(check_size(MAX_INPUT_BYTES + 1).is_err());
        assert_eq!(fit_within(4096, 100, 4096), (4096, 100));
        assert_eq!(fit_within(5000, 2500, 4096), (4096, 2048));
    }
}

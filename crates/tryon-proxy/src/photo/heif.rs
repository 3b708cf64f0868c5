//! HEIC/HEIF metadata clearing: the bytes of the Exif item and of XMP items (`mime` items of type `application/rdf+xml`) are found through `iinf` and `iloc` and overwritten with zeros in place, without decoding pixels or re-muxing.
//!
//! Removing the items outright would move every byte after them and so every offset in
//! `iloc`; overwriting their data with zeros of the same length removes the GPS position,
//! camera and everything else they held, and changes no offset. The items stay declared
//! (an `Exif` item of zeros), which decoders read as empty metadata. Only extents this
//! module can locate are cleared: in the file itself (construction method 0) or in the
//! `meta` box's `idat` (method 1). A file whose metadata lives anywhere else (another
//! item, another file, an extent "to the end of the file") is refused, so that no
//! metadata is ever kept silently. A file without such items is returned unchanged.

use std::ops::Range;

use tryon_api::ImageFormat;

use super::StripError;

const MALFORMED: StripError = StripError::Malformed(ImageFormat::Heic);
const NOT_REMOVABLE: StripError = StripError::MetadataNotRemovable(ImageFormat::Heic);

/// The content type of an XMP packet stored as a `mime` item.
pub const XMP_CONTENT_TYPE: &str = "application/rdf+xml";

/// One box: its type, where its body starts and where it ends, as offsets in the file.
struct BoxAt {
    kind: [u8; 4],
    body: Range<usize>,
}

/// Returns the file with the bytes of its Exif and XMP items set to zero.
pub fn strip(heif: &[u8]) -> Result<Vec<u8>, StripError> {
    // The top-level boxes are walked only up to `meta`: what follows (`mdat`, or bytes
    // some tools append) is reached through `iloc` alone.
    let mut meta = None;
    let mut at = 0;
    while at < heif.len() {
        let found = next_box(heif, at, heif.len())?;
        at = found.body.end;
        if &found.kind == b"meta" {
            meta = Some(found);
            break;
        }
    }
    let Some(meta) = meta else {
        // Without `meta` there are no items, hence no metadata items (and the rules will
        // refuse the file for want of a size).
        return Ok(heif.to_vec());
    };
    // `meta` is a full box: 4 bytes of version and flags precede its children.
    let children = boxes(
        heif,
        meta.body.start.checked_add(4).ok_or(MALFORMED)?..meta.body.end,
    )?;
    let child = |kind: &[u8; 4]| children.iter().find(|b| &b.kind == kind);
    let Some(iinf) = child(b"iinf") else {
        return Ok(heif.to_vec());
    };
    let metadata_items = metadata_item_ids(heif, &iinf.body)?;
    if metadata_items.is_empty() {
        return Ok(heif.to_vec());
    }
    let Some(iloc) = child(b"iloc") else {
        // Declared but located nowhere: the items hold no bytes.
        return Ok(heif.to_vec());
    };
    let idat = child(b"idat").map(|b| b.body.clone());
    let ranges = metadata_extents(heif, &iloc.body, &metadata_items, idat)?;
    let mut out = heif.to_vec();
    for range in ranges {
        out[range].fill(0);
    }
    Ok(out)
}

/// Splits the boxes in `range` of `bytes`. A box that does not fit is malformed.
fn boxes(bytes: &[u8], range: Range<usize>) -> Result<Vec<BoxAt>, StripError> {
    let mut found = Vec::new();
    let mut at = range.start;
    while at < range.end {
        let next = next_box(bytes, at, range.end)?;
        at = next.body.end;
        found.push(next);
    }
    Ok(found)
}

/// The box that starts at `at` and must end by `end` (the end of its container).
fn next_box(bytes: &[u8], at: usize, end: usize) -> Result<BoxAt, StripError> {
    let size = be(bytes, at, 4).ok_or(MALFORMED)?;
    let kind: [u8; 4] = bytes
        .get(at + 4..at + 8)
        .and_then(|k| k.try_into().ok())
        .ok_or(MALFORMED)?;
    let (header, total) = match size {
        // Size 0: the box runs to the end of its container.
        0 => (8, (end.saturating_sub(at)) as u64),
        1 => (16, be(bytes, at + 8, 8).ok_or(MALFORMED)?),
        n => (8, n),
    };
    let box_end = usize::try_from(total)
        .ok()
        .filter(|&total| total >= header)
        .and_then(|total| at.checked_add(total))
        .filter(|&box_end| box_end <= end && box_end <= bytes.len())
        .ok_or(MALFORMED)?;
    Ok(BoxAt {
        kind,
        body: at + header..box_end,
    })
}

/// The IDs of the Exif and XMP items declared in `iinf`.
fn metadata_item_ids(bytes: &[u8], iinf: &Range<usize>) -> Result<Vec<u32>, StripError> {
    let version = *bytes.get(iinf.start).ok_or(MALFORMED)?;
    // Version, flags, then the entry count (16 bits in version 0, 32 after).
    let first = iinf.start + 4 + if version == 0 { 2 } else { 4 };
    if first > iinf.end {
        return Err(MALFORMED);
    }
    let mut ids = Vec::new();
    for entry in boxes(bytes, first..iinf.end)? {
        if &entry.kind != b"infe" {
            continue;
        }
        let body = bytes.get(entry.body.clone()).ok_or(MALFORMED)?;
        if let Some(id) = metadata_item(body)? {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The item ID of an `infe` body if the item is Exif or XMP.
fn metadata_item(infe: &[u8]) -> Result<Option<u32>, StripError> {
    let version = *infe.first().ok_or(MALFORMED)?;
    let (id, content_type) = if version >= 2 {
        let (id, after_id) = if version == 2 {
            (be(infe, 4, 2), 6)
        } else {
            (be(infe, 4, 4), 8)
        };
        let id = id.ok_or(MALFORMED)? as u32;
        // The protection index (2 bytes), then the item type.
        let item_type = infe.get(after_id + 2..after_id + 6).ok_or(MALFORMED)?;
        if item_type == b"Exif" {
            return Ok(Some(id));
        }
        if item_type != b"mime" {
            return Ok(None);
        }
        let (_name, rest) = c_string(infe.get(after_id + 6..).ok_or(MALFORMED)?);
        (id, c_string(rest).0)
    } else {
        // Versions 0 and 1 have no item type, only a content type after the name.
        let id = be(infe, 4, 2).ok_or(MALFORMED)? as u32;
        let (_name, rest) = c_string(infe.get(8..).ok_or(MALFORMED)?);
        (id, c_string(rest).0)
    };
    let is_xmp = std::str::from_utf8(content_type)
        .is_ok_and(|t| t.trim().eq_ignore_ascii_case(XMP_CONTENT_TYPE));
    Ok(is_xmp.then_some(id))
}

/// Splits a NUL-terminated string off the front; an unterminated one runs to the end.
fn c_string(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&b| b == 0) {
        Some(nul) => (&bytes[..nul], &bytes[nul + 1..]),
        None => (bytes, &[]),
    }
}

/// The file ranges holding the data of the given items, from `iloc`.
fn metadata_extents(
    bytes: &[u8],
    iloc: &Range<usize>,
    items: &[u32],
    idat: Option<Range<usize>>,
) -> Result<Vec<Range<usize>>, StripError> {
    let mut r = Reader {
        bytes: bytes.get(..iloc.end).ok_or(MALFORMED)?,
        at: iloc.start,
    };
    let version = r.uint(1)?;
    if version > 2 {
        // An iloc this module does not know how to read: the extents cannot be found.
        return Err(NOT_REMOVABLE);
    }
    r.uint(3)?;
    let sizes = r.uint(1)?;
    let (offset_size, length_size) = (sizes >> 4, sizes & 0x0F);
    let sizes = r.uint(1)?;
    let base_offset_size = sizes >> 4;
    let index_size = if version >= 1 { sizes & 0x0F } else { 0 };
    if [offset_size, length_size, base_offset_size, index_size]
        .iter()
        .any(|size| !matches!(size, 0 | 4 | 8))
    {
        return Err(MALFORMED);
    }
    let id_size = if version < 2 { 2 } else { 4 };
    let item_count = r.uint(id_size)?;
    let extent_size = (index_size + offset_size + length_size) as usize;
    let mut ranges = Vec::new();
    for _ in 0..item_count {
        let id = r.uint(id_size)? as u32;
        let construction_method = if version >= 1 { r.uint(2)? & 0x0F } else { 0 };
        let data_reference_index = r.uint(2)?;
        let base_offset = r.uint(base_offset_size as usize)?;
        let extent_count = r.uint(2)? as usize;
        let wanted = items.contains(&id);
        if extent_count
            .checked_mul(extent_size)
            .is_none_or(|total| total > r.bytes.len() - r.at)
        {
            return Err(MALFORMED);
        }
        if extent_size == 0 {
            // Every extent is offset 0, length 0 ("all of the data"), and takes no bytes.
            if wanted && extent_count > 0 {
                return Err(NOT_REMOVABLE);
            }
            continue;
        }
        for _ in 0..extent_count {
            r.uint(index_size as usize)?;
            let offset = r.uint(offset_size as usize)?;
            let length = r.uint(length_size as usize)?;
            if !wanted {
                continue;
            }
            // Length 0 means "to the end of the data", which may hold the image itself;
            // other files and other items cannot be cleared here.
            if length == 0 || data_reference_index != 0 {
                return Err(NOT_REMOVABLE);
            }
            let within = match construction_method {
                0 => 0..bytes.len(),
                1 => idat.clone().ok_or(MALFORMED)?,
                _ => return Err(NOT_REMOVABLE),
            };
            let start = base_offset
                .checked_add(offset)
                .and_then(|start| start.checked_add(within.start as u64))
                .ok_or(MALFORMED)?;
            let end = start.checked_add(length).ok_or(MALFORMED)?;
            if end > within.end as u64 {
                return Err(MALFORMED);
            }
            ranges.push(start as usize..end as usize);
        }
    }
    Ok(ranges)
}

/// Reads big-endian unsigned integers of 0 to 8 bytes one after the other.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn uint(&mut self, size: usize) -> Result<u64, StripError> {
        let value = be(self.bytes, self.at, size).ok_or(MALFORMED)?;
        self.at += size;
        Ok(value)
    }
}

/// The big-endian unsigned integer of `size` (at most 8) bytes at `at`.
fn be(bytes: &[u8], at: usize, size: usize) -> Option<u64> {
    let field = bytes.get(at..at.checked_add(size)?)?;
    Some(field.iter().fold(0, |value, &b| value << 8 | u64::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photo::samples::{HeicItem, Stored, heic};

    const GPS: &[u8] = b"GPS-48.8584N-2.2945E";
    const CAMERA: &[u8] = b"Canon EOS";

    fn exif_payload() -> Vec<u8> {
        [&[0, 0, 0, 6][..], b"Exif\0\0MM\0*", GPS, b" ", CAMERA].concat()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn exif_and_xmp_bytes_are_zeroed_in_place_and_nothing_else_changes() {
        let xmp = [b"<x:xmpmeta>".as_slice(), CAMERA, b"</x:xmpmeta>"].concat();
        for stored in [Stored::Mdat, Stored::Idat] {
            let sample = heic(
                640,
                480,
                &[
                    HeicItem::exif(exif_payload(), stored),
                    HeicItem::xmp(xmp.clone(), stored),
                ],
                true,
            );
            let stripped = strip(&sample.input).unwrap();
            assert_eq!(stripped.len(), sample.input.len(), "no offset moves");
            assert_eq!(stripped, sample.expected, "{stored:?}");
            assert!(!contains(&stripped, GPS) && !contains(&stripped, CAMERA));
        }
    }

    #[test]
    fn a_file_without_metadata_items_is_returned_unchanged() {
        let sample = heic(640, 480, &[], false);
        assert_eq!(strip(&sample.input).unwrap(), sample.input);
        let no_meta = [&[0, 0, 0, 16][..], b"ftypheic\0\0\0\0"].concat();
        assert_eq!(strip(&no_meta).unwrap(), no_meta);
    }

    #[test]
    fn metadata_that_cannot_be_located_is_refused_not_kept() {
        let sample = heic(
            640,
            480,
            &[HeicItem::exif(exif_payload(), Stored::OtherItem)],
            false,
        );
        assert_eq!(strip(&sample.input), Err(NOT_REMOVABLE));
        assert!(
            NOT_REMOVABLE
                .to_string()
                .contains("stores its metadata in a way the shop cannot remove")
        );
    }

    #[test]
    fn a_truncated_file_is_refused_or_passed_never_a_panic() {
        let sample = heic(
            640,
            480,
            &[HeicItem::exif(exif_payload(), Stored::Mdat)],
            false,
        );
        for cut in 0..sample.input.len() {
            if let Ok(stripped) = strip(&sample.input[..cut]) {
                assert!(!contains(&stripped, GPS), "cut at {cut}");
            }
        }
    }
}

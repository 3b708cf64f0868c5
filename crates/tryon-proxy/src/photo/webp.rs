//! WebP metadata stripping: the `EXIF` and `XMP ` chunks of the RIFF container are dropped, the RIFF size is fixed and the `VP8X` header's EXIF and XMP flags are cleared, without decoding pixels.

use tryon_api::ImageFormat;

use super::StripError;

/// The chunks that carry metadata.
pub const METADATA_CHUNKS: [&[u8; 4]; 2] = [b"EXIF", b"XMP "];
/// The `VP8X` flag saying an `EXIF` chunk follows.
pub const EXIF_FLAG: u8 = 0x08;
/// The `VP8X` flag saying an `XMP ` chunk follows.
pub const XMP_FLAG: u8 = 0x04;

const MALFORMED: StripError = StripError::Malformed(ImageFormat::Webp);

/// Returns the WebP without its metadata chunks; every other chunk is kept in order,
/// byte for byte but for the two `VP8X` flags. The RIFF size must not claim more bytes
/// than the file has; bytes after the RIFF payload are not part of the image and are
/// dropped. A last chunk of odd size whose pad byte is missing gets one.
pub fn strip(webp: &[u8]) -> Result<Vec<u8>, StripError> {
    if webp.len() < 12 || &webp[0..4] != b"RIFF" || &webp[8..12] != b"WEBP" {
        return Err(MALFORMED);
    }
    let riff_size = u32::from_le_bytes([webp[4], webp[5], webp[6], webp[7]]) as usize;
    let end = riff_size
        .checked_add(8)
        .filter(|&end| end <= webp.len())
        .ok_or(MALFORMED)?;
    let mut out = Vec::with_capacity(end);
    out.extend_from_slice(&webp[..12]);
    let mut at = 12;
    while at < end {
        let header = webp
            .get(at..at + 8)
            .filter(|_| at + 8 <= end)
            .ok_or(MALFORMED)?;
        let kind = &header[0..4];
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let data_end = (at + 8)
            .checked_add(size)
            .filter(|&data_end| data_end <= end)
            .ok_or(MALFORMED)?;
        // Chunks are padded to an even size; the pad byte is not counted in `size`.
        let padded_end = (data_end + (size & 1)).min(end);
        if !METADATA_CHUNKS.iter().any(|m| m.as_slice() == kind) {
            let start = out.len();
            out.extend_from_slice(&webp[at..padded_end]);
            if size & 1 == 1 && padded_end == data_end {
                out.push(0);
            }
            if kind == b"VP8X" && size > 0 {
                out[start + 8] &= !(EXIF_FLAG | XMP_FLAG);
            }
        }
        at = padded_end;
    }
    let payload = u32::try_from(out.len() - 8).map_err(|_| MALFORMED)?;
    out[4..8].copy_from_slice(&payload.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = kind.to_vec();
        c.extend((data.len() as u32).to_le_bytes());
        c.extend(data);
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    }

    fn riff(chunks: &[&[u8]]) -> Vec<u8> {
        let body = chunks.concat();
        let mut b = b"RIFF".to_vec();
        b.extend(((body.len() + 4) as u32).to_le_bytes());
        b.extend(b"WEBP");
        b.extend(body);
        b
    }

    fn vp8x(flags: u8) -> Vec<u8> {
        chunk(b"VP8X", &[flags, 0, 0, 0, 199, 0, 0, 149, 0, 0])
    }

    #[test]
    fn exif_and_xmp_chunks_go_the_size_is_fixed_and_the_flags_cleared() {
        // ICC (0x20) and alpha (0x10) stay set; EXIF and XMP are cleared.
        let flags = 0x20 | 0x10 | EXIF_FLAG | XMP_FLAG;
        let iccp = chunk(b"ICCP", b"profile");
        let alph = chunk(b"ALPH", b"a");
        let image = chunk(b"VP8L", b"\x2fpixels");
        let input = riff(&[
            &vp8x(flags),
            &iccp,
            &alph,
            &image,
            &chunk(b"EXIF", b"MM\0*GPS-48.8584N-2.2945E"),
            &chunk(b"XMP ", b"<x>Canon EOS</x>"),
        ]);
        let expected = riff(&[&vp8x(0x30), &iccp, &alph, &image]);
        assert_eq!(strip(&input).unwrap(), expected);
    }

    #[test]
    fn an_odd_sized_metadata_chunk_is_dropped_with_its_pad_byte() {
        let image = chunk(b"VP8L", b"\x2fpix");
        let input = riff(&[&vp8x(EXIF_FLAG), &chunk(b"EXIF", b"odd"), &image]);
        assert_eq!(strip(&input).unwrap(), riff(&[&vp8x(0), &image]));
    }

    #[test]
    fn a_missing_last_pad_byte_is_added_and_trailing_bytes_dropped() {
        let mut input = riff(&[&chunk(b"VP8L", b"\x2fpixels")]);
        input.pop();
        let riff_size = (input.len() - 8) as u32;
        input[4..8].copy_from_slice(&riff_size.to_le_bytes());
        input.extend(b"GPS-48.8584N");
        assert_eq!(
            strip(&input).unwrap(),
            riff(&[&chunk(b"VP8L", b"\x2fpixels")])
        );
    }

    #[test]
    fn a_truncated_file_is_refused_not_a_panic() {
        let whole = riff(&[&vp8x(0), &chunk(b"VP8L", b"\x2fpixels")]);
        assert!(strip(&whole).is_ok());
        for cut in 0..whole.len() {
            assert_eq!(strip(&whole[..cut]), Err(MALFORMED), "cut at {cut}");
        }
    }
}

//! PNG metadata stripping: the `eXIf`, `tEXt`, `iTXt`, `zTXt` and `tIME` chunks are dropped without decoding pixels; every other chunk is kept byte for byte, CRC included.

use tryon_api::ImageFormat;

use super::StripError;

/// The PNG signature every file starts with.
pub const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// The chunks that carry metadata: EXIF (which may hold GPS), the three kinds of text
/// chunk (where tools write camera, author, place, XMP) and the modification time.
pub const METADATA_CHUNKS: [&[u8; 4]; 5] = [b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME"];

const MALFORMED: StripError = StripError::Malformed(ImageFormat::Png);

/// Returns the PNG without its metadata chunks. The chunk stream must be whole and end
/// with `IEND`; bytes after `IEND` are not part of the image and are dropped, as they
/// could carry anything. CRCs are not checked: kept chunks are copied as they came.
pub fn strip(png: &[u8]) -> Result<Vec<u8>, StripError> {
    if !png.starts_with(SIGNATURE) {
        return Err(MALFORMED);
    }
    let mut out = Vec::with_capacity(png.len());
    out.extend_from_slice(SIGNATURE);
    let mut at = SIGNATURE.len();
    loop {
        let header = png.get(at..at + 8).ok_or(MALFORMED)?;
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        // The format caps a chunk's length at 2^31 - 1.
        if length > i32::MAX as u32 {
            return Err(MALFORMED);
        }
        let kind = &header[4..8];
        // Length, type, data and CRC.
        let end = (at + 12)
            .checked_add(length as usize)
            .filter(|&end| end <= png.len())
            .ok_or(MALFORMED)?;
        if !METADATA_CHUNKS.iter().any(|m| m.as_slice() == kind) {
            out.extend_from_slice(&png[at..end]);
        }
        if kind == b"IEND" {
            return Ok(out);
        }
        at = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend(kind);
        c.extend(data);
        // A fixed stand-in CRC: the stripper copies CRCs and never checks them.
        c.extend([0xDE, 0xAD, 0xBE, 0xEF]);
        c
    }

    fn ihdr() -> Vec<u8> {
        let mut data = 300u32.to_be_bytes().to_vec();
        data.extend(200u32.to_be_bytes());
        data.extend([8, 2, 0, 0, 0]);
        chunk(b"IHDR", &data)
    }

    #[test]
    fn metadata_chunks_are_dropped_and_the_rest_kept_byte_for_byte() {
        let iccp = chunk(b"iCCP", b"icc\0\0compressed");
        let phys = chunk(b"pHYs", &[0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1]);
        let idat = chunk(b"IDAT", b"pixels");
        let iend = chunk(b"IEND", b"");
        let input = [
            SIGNATURE.as_slice(),
            &ihdr(),
            &chunk(b"eXIf", b"MM\0*GPS-48.8584N-2.2945E"),
            &iccp,
            &chunk(b"tEXt", b"Model\0Canon EOS"),
            &chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0<x/>"),
            &chunk(b"zTXt", b"Comment\0\0zz"),
            &phys,
            &chunk(b"tIME", &[7, 234, 12, 1, 10, 0, 0]),
            &idat,
            &iend,
            b"trailing GPS-48.8584N",
        ]
        .concat();
        let expected = [SIGNATURE.as_slice(), &ihdr(), &iccp, &phys, &idat, &iend].concat();
        assert_eq!(strip(&input).unwrap(), expected);
    }

    #[test]
    fn a_truncated_or_unterminated_stream_is_refused_not_a_panic() {
        let whole = [SIGNATURE.as_slice(), &ihdr(), &chunk(b"IEND", b"")].concat();
        assert!(strip(&whole).is_ok());
        for cut in 0..whole.len() {
            assert_eq!(strip(&whole[..cut]), Err(MALFORMED), "cut at {cut}");
        }
        let huge = [SIGNATURE.as_slice(), &[0xFF, 0xFF, 0xFF, 0xFF], b"tEXt"].concat();
        assert_eq!(strip(&huge), Err(MALFORMED));
    }
}

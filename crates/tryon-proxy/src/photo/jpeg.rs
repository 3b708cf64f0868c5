//! JPEG metadata stripping: APP1 (EXIF, which may hold GPS, and XMP) and APP13 (Photoshop IPTC, which may hold a place) segments are cut out without decoding pixels.

use tryon_api::ImageFormat;

use super::StripError;

/// The marker of APP1 segments: EXIF and XMP metadata live there.
const APP1: u8 = 0xE1;
/// The marker of APP13 segments: Photoshop's IPTC records (captions, places, names).
const APP13: u8 = 0xED;
/// Start of scan: after it come the compressed pixels, copied untouched.
const SOS: u8 = 0xDA;
/// End of image.
const EOI: u8 = 0xD9;

const MALFORMED: StripError = StripError::Malformed(ImageFormat::Jpeg);

/// Returns the JPEG without its APP1 and APP13 segments. Every other byte is kept in
/// order (ICC profiles in APP2 included), so the image itself is unchanged. The input must
/// start with the JPEG start-of-image marker.
pub fn strip(jpeg: &[u8]) -> Result<Vec<u8>, StripError> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return Err(MALFORMED);
    }
    let mut out = Vec::with_capacity(jpeg.len());
    out.extend_from_slice(&jpeg[..2]);
    let mut at = 2;
    loop {
        // Each header segment starts with 0xFF, possibly padded with more 0xFF fill bytes.
        if *jpeg.get(at).ok_or(MALFORMED)? != 0xFF {
            return Err(MALFORMED);
        }
        let mut marker_at = at + 1;
        while *jpeg.get(marker_at).ok_or(MALFORMED)? == 0xFF {
            marker_at += 1;
        }
        let marker = jpeg[marker_at];
        match marker {
            // Markers without a length field: keep them and go on.
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&jpeg[at..=marker_at]);
                at = marker_at + 1;
            }
            EOI => {
                out.extend_from_slice(&jpeg[at..]);
                return Ok(out);
            }
            _ => {
                let length_bytes = jpeg.get(marker_at + 1..marker_at + 3).ok_or(MALFORMED)?;
                let length = u16::from_be_bytes([length_bytes[0], length_bytes[1]]) as usize;
                if length < 2 {
                    return Err(MALFORMED);
                }
                let end = marker_at + 1 + length;
                if end > jpeg.len() {
                    return Err(MALFORMED);
                }
                if marker == SOS {
                    // From here on the data is entropy-coded; metadata segments do not follow
                    // in practice, and walking it would need decoding. Keep the rest as is.
                    out.extend_from_slice(&jpeg[at..]);
                    return Ok(out);
                }
                if marker != APP1 && marker != APP13 {
                    out.extend_from_slice(&jpeg[at..end]);
                }
                at = end;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend(((body.len() + 2) as u16).to_be_bytes());
        s.extend(body);
        s
    }

    #[test]
    fn app1_and_app13_segments_are_removed_and_everything_else_kept() {
        let app0 = segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        let exif = segment(APP1, b"Exif\0\0GPS-48.8584N-2.2945E Canon EOS");
        let icc = segment(0xE2, b"ICC_PROFILE\0\x01\x01profile");
        let xmp = segment(APP1, b"http://ns.adobe.com/xap/1.0/\0<x/>");
        let iptc = segment(APP13, b"Photoshop 3.0\08BIM\x04\x04 Paris");
        let sof = segment(0xC0, &[8, 0, 200, 0, 150, 1, 1, 0x11, 0]);
        let sos = segment(SOS, &[1, 1, 0, 0, 63, 0]);
        let scan = [0x12, 0xFF, 0x00, 0xFF, 0xE1, 0x34, 0xFF, 0xD9];
        let input = [
            &[0xFF, 0xD8][..],
            &app0,
            &exif,
            &icc,
            &iptc,
            &sof,
            &xmp,
            &sos,
            &scan,
        ]
        .concat();
        let expected = [&[0xFF, 0xD8][..], &app0, &icc, &sof, &sos, &scan].concat();
        assert_eq!(strip(&input).unwrap(), expected);
    }

    #[test]
    fn a_truncated_file_is_refused_not_a_panic() {
        let exif = segment(APP1, b"Exif\0\0");
        let input = [&[0xFF, 0xD8][..], &exif[..exif.len() - 2]].concat();
        assert_eq!(strip(&input), Err(MALFORMED));
        assert_eq!(strip(&[0xFF, 0xD8]), Err(MALFORMED));
        assert_eq!(strip(b"PNG"), Err(MALFORMED));
    }
}

//! Property tests of the strippers: they never panic on any bytes, and on valid files with metadata put anywhere they return exactly the file without it, which the rules accept as they accepted the original.

use proptest::prelude::*;
use tryon_api::ImageFormat;
use tryon_api::rules::{check_image, read_header};

use super::samples::{self, HeicItem, Insert, Sample, Stored, WebpKind};
use super::strip_metadata;

/// The text every generated metadata block carries, so that its absence can be checked
/// whatever the stripper did. Image data never holds capitals (see [`samples::filler`]).
const GPS: &[u8] = b"GPS-48.8584N-2.2945E";

const FORMATS: [ImageFormat; 5] = [
    ImageFormat::Jpeg,
    ImageFormat::Png,
    ImageFormat::Webp,
    ImageFormat::Heic,
    ImageFormat::Bmp,
];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Metadata blocks: 0 to 4, each at a random slot, of a random kind, holding the GPS
/// marker among random bytes (odd and even lengths alike).
fn inserts() -> impl Strategy<Value = Vec<Insert>> {
    let insert = (
        any::<usize>(),
        any::<usize>(),
        proptest::collection::vec(any::<u8>(), 0..48),
    )
        .prop_map(|(at, kind, noise)| Insert {
            at,
            kind,
            payload: [&noise[..noise.len() / 2], GPS, &noise[noise.len() / 2..]].concat(),
        });
    proptest::collection::vec(insert, 0..5)
}

/// A side anywhere around the rules' bounds, so that refused files are compared too.
fn side() -> impl Strategy<Value = u16> {
    prop_oneof![100u16..=200, 1000u16..=1100, 4000u16..=4200, any::<u16>()]
}

/// Valid files of the four formats with metadata, and large enough (5.2 to 6 KB of image
/// data) to stay over the 5 KB rule once stripped.
fn samples() -> impl Strategy<Value = Sample> {
    let data = 5200usize..6000;
    let jpeg = (side(), side(), data.clone(), inserts())
        .prop_map(|(w, h, len, ins)| samples::jpeg(w, h, len, &ins));
    let png = (side(), side(), data.clone(), inserts())
        .prop_map(|(w, h, len, ins)| samples::png(w.into(), h.into(), len, &ins));
    let kind = prop_oneof![
        Just(WebpKind::Extended),
        Just(WebpKind::Lossless),
        Just(WebpKind::Lossy)
    ];
    let webp = (kind, 1u16..=5000, 1u16..=5000, data, inserts())
        .prop_map(|(kind, w, h, len, ins)| samples::webp(kind, w, h, len, &ins));
    let item = (
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..48),
    )
        .prop_map(|(exif, in_idat, noise)| HeicItem {
            exif,
            payload: [noise.as_slice(), GPS].concat(),
            stored: if in_idat { Stored::Idat } else { Stored::Mdat },
        });
    let heic = (
        side(),
        side(),
        proptest::collection::vec(item, 0..4),
        any::<bool>(),
    )
        .prop_map(|(w, h, items, wide)| samples::heic(w.into(), h.into(), &items, wide));
    prop_oneof![jpeg, png, webp, heic]
}

/// What the rules say of a file, but for its byte count (stripping changes it).
fn verdict(bytes: &[u8]) -> Result<(ImageFormat, u32, u32), tryon_api::RuleViolation> {
    check_image(bytes).map(|facts| (facts.format, facts.width, facts.height))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_stripper_panics_on_arbitrary_bytes(
        format in proptest::sample::select(FORMATS.to_vec()),
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let _ = strip_metadata(format, &bytes);
    }

    #[test]
    fn no_stripper_panics_on_arbitrary_bytes_after_its_magic(
        format in proptest::sample::select(FORMATS.to_vec()),
        tail in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        // The magic bytes get the walk past its first check, into the block structure.
        let magic: &[u8] = match format {
            ImageFormat::Jpeg => &[0xFF, 0xD8, 0xFF],
            ImageFormat::Png => super::png::SIGNATURE,
            ImageFormat::Webp => b"RIFF\x00\x01\x00\x00WEBP",
            ImageFormat::Heic => b"\0\0\0\x18ftypheic\0\0\0\0mif1heic",
            ImageFormat::Bmp => b"BM",
        };
        let _ = strip_metadata(format, &[magic, &tail].concat());
    }

    #[test]
    fn stripping_a_valid_file_removes_exactly_its_metadata(sample in samples()) {
        // The generator's own check: a file differs from its stripped form exactly when
        // metadata was put in, so the cases below do exercise the removal.
        prop_assert_eq!(contains(&sample.input, GPS), sample.input != sample.expected);
        let stripped = strip_metadata(sample.format, &sample.input).unwrap();
        prop_assert!(!contains(&stripped, GPS));
        prop_assert_eq!(&stripped, &sample.expected);
        prop_assert_eq!(verdict(&stripped), verdict(&sample.input));
        prop_assert_eq!(read_header(&stripped).map(|h| h.0), Ok(sample.format));
        // A stored file that is stripped again (a re-upload) does not change.
        prop_assert_eq!(strip_metadata(sample.format, &stripped).unwrap(), stripped);
    }
}

proptest! {
    // Each case copies and walks a file of some 6 KB: fewer cases keep the suite quick.
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_corrupted_or_truncated_valid_file_never_panics(
        sample in samples(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        keep in any::<proptest::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = sample.input.clone();
        for (at, value) in flips {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        if truncate {
            bytes.truncate(keep.index(bytes.len() + 1));
        }
        if let Ok(stripped) = strip_metadata(sample.format, &bytes) {
            // Whatever the damage, a result of JPEG, PNG or WebP is its own stripping:
            // the block walk of the output agrees with the walk that made it.
            if sample.format != ImageFormat::Heic {
                prop_assert_eq!(strip_metadata(sample.format, &stripped), Ok(stripped));
            }
        }
    }
}

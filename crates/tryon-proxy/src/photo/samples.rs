//! Builders of small valid files of every format, with metadata blocks put where the caller says, for the strippers' unit and property tests: each returns the file and what stripping it must give.

use tryon_api::ImageFormat;

use super::heif::XMP_CONTENT_TYPE;
use super::webp::{EXIF_FLAG, XMP_FLAG};

/// A built file and the file its stripping must return.
#[derive(Debug, Clone)]
pub struct Sample {
    pub format: ImageFormat,
    pub input: Vec<u8>,
    pub expected: Vec<u8>,
}

/// One metadata block to insert: `at` picks the slot (modulo the number of slots),
/// `kind` picks which of the format's metadata kinds (modulo their number).
#[derive(Debug, Clone)]
pub struct Insert {
    pub at: usize,
    pub kind: usize,
    pub payload: Vec<u8>,
}

/// Stand-in image data: bytes below 0x40, so that no text marker (they all contain
/// capitals) can appear in what a stripper must keep.
pub fn filler(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(31).wrapping_add(seed as u32) % 0x40) as u8)
        .collect()
}

/// Puts every insert into `kept` (the blocks that stay) at its slot among `slots`, the
/// indexes before which a block may go; returns the whole sequence in order.
fn interleave(
    kept: &[Vec<u8>],
    slots: std::ops::RangeInclusive<usize>,
    inserts: &[(usize, Vec<u8>)],
) -> Vec<u8> {
    let first = *slots.start();
    let count = slots.end() - first + 1;
    let mut out = Vec::new();
    for (i, block) in kept.iter().enumerate() {
        for (at, extra) in inserts {
            if first + at % count == i {
                out.extend(extra);
            }
        }
        out.extend(block);
    }
    for (at, extra) in inserts {
        if first + at % count == kept.len() {
            out.extend(extra);
        }
    }
    out
}

fn jpeg_segment(marker: u8, body: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend(((body.len() + 2) as u16).to_be_bytes());
    s.extend(body);
    s
}

/// A baseline JPEG header (JFIF, ICC, DQT, SOF0) and a scan of `scan_len` bytes; the
/// inserts are APP1 (kind 0) or APP13 (kind 1) segments anywhere after start-of-image
/// and before the scan. Payloads are cut to what a segment can hold.
pub fn jpeg(width: u16, height: u16, scan_len: usize, inserts: &[Insert]) -> Sample {
    let mut sof = vec![8];
    sof.extend(height.to_be_bytes());
    sof.extend(width.to_be_bytes());
    sof.extend([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    let kept = [
        vec![0xFF, 0xD8],
        jpeg_segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"),
        jpeg_segment(0xE2, b"ICC_PROFILE\0\x01\x01profile"),
        jpeg_segment(0xDB, &filler(65, 1)),
        jpeg_segment(0xC0, &sof),
        [
            jpeg_segment(0xDA, &[3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]),
            filler(scan_len, 2),
            vec![0xFF, 0xD9],
        ]
        .concat(),
    ];
    let inserts: Vec<_> = inserts
        .iter()
        .map(|i| {
            let marker = [0xE1, 0xED][i.kind % 2];
            let payload = &i.payload[..i.payload.len().min(65_000)];
            (i.at, jpeg_segment(marker, payload))
        })
        .collect();
    Sample {
        format: ImageFormat::Jpeg,
        input: interleave(&kept, 1..=kept.len() - 1, &inserts),
        expected: kept.concat(),
    }
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend(kind);
    c.extend(data);
    // A fixed stand-in CRC: the stripper copies CRCs and never checks them.
    c.extend([0x12, 0x34, 0x56, 0x78]);
    c
}

/// A PNG with IHDR, iCCP, pHYs, one IDAT of `idat_len` bytes and IEND; the inserts are
/// `eXIf`, `tEXt`, `iTXt`, `zTXt` or `tIME` chunks anywhere after IHDR and before IEND.
pub fn png(width: u32, height: u32, idat_len: usize, inserts: &[Insert]) -> Sample {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let kept = [
        [super::png::SIGNATURE.as_slice(), &png_chunk(b"IHDR", &ihdr)].concat(),
        png_chunk(b"iCCP", b"icc\0\0compressed"),
        png_chunk(b"pHYs", &[0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1]),
        png_chunk(b"IDAT", &filler(idat_len, 3)),
        png_chunk(b"IEND", b""),
    ];
    let inserts: Vec<_> = inserts
        .iter()
        .map(|i| {
            let kinds = super::png::METADATA_CHUNKS;
            (i.at, png_chunk(kinds[i.kind % kinds.len()], &i.payload))
        })
        .collect();
    Sample {
        format: ImageFormat::Png,
        input: interleave(&kept, 1..=kept.len() - 1, &inserts),
        expected: kept.concat(),
    }
}

fn riff_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = kind.to_vec();
    c.extend((data.len() as u32).to_le_bytes());
    c.extend(data);
    if data.len() % 2 == 1 {
        c.push(0);
    }
    c
}

fn riff(body: &[u8]) -> Vec<u8> {
    let mut b = b"RIFF".to_vec();
    b.extend(((body.len() + 4) as u32).to_le_bytes());
    b.extend(b"WEBP");
    b.extend(body);
    b
}

/// How a WebP says its size.
#[derive(Debug, Clone, Copy)]
pub enum WebpKind {
    /// Extended: a `VP8X` header (with an ICC profile) before a lossless image.
    Extended,
    /// Simple lossless: the `VP8L` chunk first.
    Lossless,
    /// Simple lossy: the `VP8 ` chunk first.
    Lossy,
}

/// A WebP of the given kind with `data_len` bytes of image data; the inserts are `EXIF`
/// (kind 0) or `XMP ` (kind 1) chunks anywhere after the first chunk. An extended file
/// has the flags of the metadata it holds set, and keeps its ICC flag when stripped.
pub fn webp(
    kind: WebpKind,
    width: u16,
    height: u16,
    data_len: usize,
    inserts: &[Insert],
) -> Sample {
    let (w, h) = (u32::from(width.max(1)), u32::from(height.max(1)));
    let mut lossless = vec![0x2F];
    lossless.extend(((w - 1) & 0x3FFF | ((h - 1) & 0x3FFF) << 14).to_le_bytes());
    lossless.extend(filler(data_len, 4));
    let vp8x = |flags: u8| {
        let mut data = vec![flags, 0, 0, 0];
        data.extend(&(w - 1).to_le_bytes()[..3]);
        data.extend(&(h - 1).to_le_bytes()[..3]);
        riff_chunk(b"VP8X", &data)
    };
    let mut inserted_flags = 0;
    let inserts: Vec<_> = inserts
        .iter()
        .map(|i| {
            let (chunk, flag) = [(b"EXIF", EXIF_FLAG), (b"XMP ", XMP_FLAG)][i.kind % 2];
            inserted_flags |= flag;
            (i.at, riff_chunk(chunk, &i.payload))
        })
        .collect();
    let (input_kept, kept) = match kind {
        WebpKind::Extended => {
            let rest = [
                riff_chunk(b"ICCP", b"profile"),
                riff_chunk(b"VP8L", &lossless),
            ];
            let input = [vec![vp8x(0x20 | inserted_flags)], rest.to_vec()].concat();
            let kept = [vec![vp8x(0x20)], rest.to_vec()].concat();
            (input, kept)
        }
        WebpKind::Lossless => {
            let kept = vec![riff_chunk(b"VP8L", &lossless)];
            (kept.clone(), kept)
        }
        WebpKind::Lossy => {
            let mut lossy = vec![0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A];
            lossy.extend((w as u16).to_le_bytes());
            lossy.extend((h as u16).to_le_bytes());
            lossy.extend(filler(data_len, 5));
            let kept = vec![riff_chunk(b"VP8 ", &lossy)];
            (kept.clone(), kept)
        }
    };
    Sample {
        format: ImageFormat::Webp,
        input: riff(&interleave(&input_kept, 1..=input_kept.len(), &inserts)),
        expected: riff(&kept.concat()),
    }
}

fn bmff_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend(kind);
    b.extend(body);
    b
}

/// Where a HEIC metadata item's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// In `mdat`, by file offset (construction method 0).
    Mdat,
    /// In the `meta` box's `idat` (construction method 1).
    Idat,
    /// Inside another item (construction method 2): not something the stripper clears.
    OtherItem,
}

/// A HEIC metadata item.
#[derive(Debug, Clone)]
pub struct HeicItem {
    pub exif: bool,
    pub payload: Vec<u8>,
    pub stored: Stored,
}

impl HeicItem {
    pub fn exif(payload: Vec<u8>, stored: Stored) -> HeicItem {
        HeicItem {
            exif: true,
            payload,
            stored,
        }
    }

    pub fn xmp(payload: Vec<u8>, stored: Stored) -> HeicItem {
        HeicItem {
            exif: false,
            payload,
            stored,
        }
    }
}

/// A HEIC: `ftyp`, `meta` (hdlr, pitm, iinf, iloc, idat, iprp with one `ispe`) and
/// `mdat` with 6000 bytes of image data for item 1; the metadata items get IDs 2, 3, ...
/// and their bytes where each says. `wide` uses 8-byte offsets and lengths in `iloc`.
/// The expected file has the bytes of the items in `mdat` and `idat` set to zero.
pub fn heic(width: u32, height: u32, items: &[HeicItem], wide: bool) -> Sample {
    let image = filler(6000, 6);
    // Metadata first, then the image, so that a stripper that clears too much is seen.
    let mut mdat = Vec::new();
    let mut idat = Vec::new();
    let mut places = Vec::new();
    for item in items {
        let place = if item.stored == Stored::Idat {
            &mut idat
        } else {
            &mut mdat
        };
        places.push(place.len());
        place.extend(&item.payload);
    }
    let image_at = mdat.len();
    mdat.extend(&image);
    let version = if wide || items.iter().any(|i| i.stored != Stored::Mdat) {
        1
    } else {
        0
    };
    let size = if wide { 8 } else { 4 };
    let field = |value: usize| -> Vec<u8> {
        if wide {
            (value as u64).to_be_bytes().to_vec()
        } else {
            (value as u32).to_be_bytes().to_vec()
        }
    };
    let ftyp = bmff_box(b"ftyp", b"heic\0\0\0\0mif1heic");
    let build_meta = |mdat_body: usize| -> (Vec<u8>, usize) {
        let mut infes = Vec::new();
        let mut infe = |id: u16, kind: &[u8; 4], extra: &[u8]| {
            let body = [
                &[2, 0, 0, 0][..],
                &id.to_be_bytes(),
                &[0, 0],
                kind,
                b"\0",
                extra,
            ]
            .concat();
            infes.extend(bmff_box(b"infe", &body));
        };
        infe(1, b"hvc1", b"");
        for (n, item) in items.iter().enumerate() {
            if item.exif {
                infe(n as u16 + 2, b"Exif", b"");
            } else {
                infe(
                    n as u16 + 2,
                    b"mime",
                    &[XMP_CONTENT_TYPE.as_bytes(), b"\0"].concat(),
                );
            }
        }
        let iinf = bmff_box(
            b"iinf",
            &[
                &[0, 0, 0, 0][..],
                &(items.len() as u16 + 1).to_be_bytes(),
                &infes,
            ]
            .concat(),
        );
        let mut iloc = vec![version, 0, 0, 0, (size << 4 | size) as u8, 0];
        iloc.extend((items.len() as u16 + 1).to_be_bytes());
        let mut entry = |id: u16, method: u16, offset: usize, length: usize| {
            iloc.extend(id.to_be_bytes());
            if version >= 1 {
                iloc.extend(method.to_be_bytes());
            }
            iloc.extend([0, 0, 0, 1]);
            iloc.extend(field(offset));
            iloc.extend(field(length));
        };
        entry(1, 0, mdat_body + image_at, image.len());
        for (n, item) in items.iter().enumerate() {
            let (method, offset) = match item.stored {
                Stored::Mdat => (0, mdat_body + places[n]),
                Stored::Idat => (1, places[n]),
                Stored::OtherItem => (2, 0),
            };
            entry(n as u16 + 2, method, offset, item.payload.len());
        }
        let mut ispe = vec![0u8; 4];
        ispe.extend(width.to_be_bytes());
        ispe.extend(height.to_be_bytes());
        let ipma = [0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0x81];
        let iprp = bmff_box(
            b"iprp",
            &[
                bmff_box(b"ipco", &bmff_box(b"ispe", &ispe)),
                bmff_box(b"ipma", &ipma),
            ]
            .concat(),
        );
        let hdlr = [&[0u8; 8][..], b"pict", &[0u8; 12], b"\0"].concat();
        let before_idat = [
            &[0u8, 0, 0, 0][..],
            &bmff_box(b"hdlr", &hdlr),
            &bmff_box(b"pitm", &[0, 0, 0, 0, 0, 1]),
            &iinf,
            &bmff_box(b"iloc", &iloc),
        ]
        .concat();
        // Where the idat body starts, counted from the start of the meta box.
        let idat_body = 8 + before_idat.len() + 8;
        let meta = bmff_box(
            b"meta",
            &[before_idat, bmff_box(b"idat", &idat), iprp].concat(),
        );
        (meta, idat_body)
    };
    let (draft, _) = build_meta(0);
    let mdat_body = ftyp.len() + draft.len() + 8;
    let (meta, idat_body) = build_meta(mdat_body);
    let input = [ftyp.clone(), meta, bmff_box(b"mdat", &mdat)].concat();
    let mut expected = input.clone();
    for (n, item) in items.iter().enumerate() {
        let start = match item.stored {
            Stored::Mdat => mdat_body + places[n],
            Stored::Idat => ftyp.len() + idat_body + places[n],
            Stored::OtherItem => continue,
        };
        expected[start..start + item.payload.len()].fill(0);
    }
    Sample {
        format: ImageFormat::Heic,
        input,
        expected,
    }
}

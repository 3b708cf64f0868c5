//! The emulator's deterministic person rule (`InvalidPerson`) and the foreground analysis that the preview renderer and the segmentation reuse.
//!
//! The real service runs a body detector; the emulator needs a rule that is cheap,
//! predictable and easy to satisfy on purpose, so that tests and demos can provoke
//! `InvalidPerson` at will:
//!
//! 1. The **background colour** is the per-channel median of the pixels on the image border.
//! 2. A pixel is **foreground** when the sum of its absolute channel differences from the
//!    background colour exceeds [`FOREGROUND_DISTANCE`] (60).
//! 3. A column is **occupied** when it holds at least `max(2, height / 100)` foreground pixels.
//! 4. Runs of adjacent occupied columns are **blobs**; a blob's height is the distance from
//!    its highest to its lowest foreground pixel.
//! 5. A blob taller than 40 % of the image height is a **person**. Exactly one person passes;
//!    zero or several fail the task with `InvalidPerson`.
//!
//! A photo with a busy background is one blob as wide as the image and so passes, like a
//! real detector would usually let it pass; two people standing apart on a plain wall are
//! two blobs and fail; an empty wall or a small object fails.

use image::{Rgba, RgbaImage};

/// Colour distance (sum of absolute channel differences) above which a pixel is foreground.
pub const FOREGROUND_DISTANCE: u32 = 60;
/// A blob must be taller than this share of the image height to count as a person.
pub const PERSON_MIN_HEIGHT_SHARE: f32 = 0.40;

/// Sum of absolute channel differences between two colours, ignoring alpha.
pub fn distance(a: Rgba<u8>, b: Rgba<u8>) -> u32 {
    (0..3).map(|c| u32::from(a[c].abs_diff(b[c]))).sum()
}

/// The per-channel median of the border pixels: the backdrop colour of a studio photo.
pub fn border_colour(img: &RgbaImage) -> Rgba<u8> {
    let (w, h) = img.dimensions();
    let mut channels: [Vec<u8>; 3] = Default::default();
    let mut push = |x: u32, y: u32| {
        let px = img.get_pixel(x, y);
        for (c, list) in channels.iter_mut().enumerate() {
            list.push(px[c]);
        }
    };
    for x in 0..w {
        push(x, 0);
        push(x, h - 1);
    }
    for y in 0..h {
        push(0, y);
        push(w - 1, y);
    }
    let mut out = [0u8; 4];
    for (c, list) in channels.iter_mut().enumerate() {
        list.sort_unstable();
        out[c] = list[list.len() / 2];
    }
    out[3] = 255;
    Rgba(out)
}

/// An inclusive pixel box `[x0, x1] x [y0, y1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelBox {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl PixelBox {
    pub fn width(&self) -> u32 {
        self.x1 - self.x0 + 1
    }

    pub fn height(&self) -> u32 {
        self.y1 - self.y0 + 1
    }

    /// Grows `found` to take in the pixel at `(x, y)`, starting a box there when there is
    /// none yet.
    pub fn include(found: &mut Option<PixelBox>, x: u32, y: u32) {
        let b = found.get_or_insert(PixelBox {
            x0: x,
            y0: y,
            x1: x,
            y1: y,
        });
        b.x0 = b.x0.min(x);
        b.x1 = b.x1.max(x);
        b.y0 = b.y0.min(y);
        b.y1 = b.y1.max(y);
    }
}

/// Which pixels of an image differ from its backdrop.
#[derive(Debug, Clone)]
pub struct Foreground {
    pub width: u32,
    pub height: u32,
    pub background: Rgba<u8>,
    mask: Vec<bool>,
}

impl Foreground {
    /// Computes the mask of an image against its own border colour.
    pub fn of(img: &RgbaImage) -> Foreground {
        let background = border_colour(img);
        let mask = img
            .pixels()
            .map(|px| distance(*px, background) > FOREGROUND_DISTANCE)
            .collect();
        Foreground {
            width: img.width(),
            height: img.height(),
            background,
            mask,
        }
    }

    /// Whether the pixel at `(x, y)` is foreground.
    pub fn at(&self, x: u32, y: u32) -> bool {
        self.mask[(y * self.width + x) as usize]
    }

    /// The blobs of occupied columns, left to right (rules 3 and 4 of the module doc).
    pub fn blobs(&self) -> Vec<PixelBox> {
        let min_count = (self.height / 100).max(2);
        let occupied: Vec<bool> = (0..self.width)
            .map(|x| (0..self.height).filter(|&y| self.at(x, y)).count() as u32 >= min_count)
            .collect();
        let mut blobs = Vec::new();
        let mut x = 0;
        while x < self.width {
            if !occupied[x as usize] {
                x += 1;
                continue;
            }
            let start = x;
            while x < self.width && occupied[x as usize] {
                x += 1;
            }
            if let Some(bbox) = self.bbox_within(start, x - 1, 0, self.height - 1) {
                blobs.push(bbox);
            }
        }
        blobs
    }

    /// The box around the foreground inside the given inclusive window, if there is any.
    pub fn bbox_within(&self, x0: u32, x1: u32, y0: u32, y1: u32) -> Option<PixelBox> {
        let mut found: Option<PixelBox> = None;
        for y in y0..=y1.min(self.height - 1) {
            for x in x0..=x1.min(self.width - 1) {
                if self.at(x, y) {
                    PixelBox::include(&mut found, x, y);
                }
            }
        }
        found
    }

    /// The blobs that count as persons (rule 5 of the module doc).
    pub fn persons(&self) -> Vec<PixelBox> {
        let min_height = self.height as f32 * PERSON_MIN_HEIGHT_SHARE;
        self.blobs()
            .into_iter()
            .filter(|b| b.height() as f32 > min_height)
            .collect()
    }

    /// The median width and centre of the foreground rows between `y0` and `y1` inside the
    /// columns of `within`, used to size garments and find the head.
    pub fn band_extent(&self, within: PixelBox, y0: u32, y1: u32) -> Option<(u32, f32)> {
        let mut widths = Vec::new();
        let mut centres = Vec::new();
        for y in y0..=y1.min(self.height - 1) {
            let xs = (within.x0..=within.x1).filter(|&x| self.at(x, y));
            let (mut lo, mut hi) = (u32::MAX, 0);
            for x in xs {
                lo = lo.min(x);
                hi = hi.max(x);
            }
            if lo <= hi {
                widths.push(hi - lo + 1);
                centres.push((lo + hi) as f32 / 2.0);
            }
        }
        if widths.is_empty() {
            return None;
        }
        widths.sort_unstable();
        centres.sort_by(f32::total_cmp);
        Some((widths[widths.len() / 2], centres[centres.len() / 2]))
    }
}

/// The verdict of the person rule on one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonCheck {
    /// Exactly one person, with its box.
    One(PixelBox),
    /// No person or several: the task fails with `InvalidPerson`.
    NotExactlyOne { found: usize },
}

/// Applies the person rule of the module doc.
pub fn check_person(img: &RgbaImage) -> PersonCheck {
    let persons = Foreground::of(img).persons();
    match persons.as_slice() {
        [one] => PersonCheck::One(*one),
        _ => PersonCheck::NotExactlyOne {
            found: persons.len(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;

    #[test]
    fn the_drawn_samples_get_the_expected_verdicts() {
        assert!(matches!(
            check_person(&samples::person_one()),
            PersonCheck::One(_)
        ));
        assert!(matches!(
            check_person(&samples::person_two_tone()),
            PersonCheck::One(_)
        ));
        assert_eq!(
            check_person(&samples::person_pair()),
            PersonCheck::NotExactlyOne { found: 2 }
        );
        let empty = RgbaImage::from_pixel(300, 600, Rgba([200, 200, 200, 255]));
        assert_eq!(
            check_person(&empty),
            PersonCheck::NotExactlyOne { found: 0 }
        );
    }

    /// The proxy's tests rely on these two verdicts for their generated photos.
    #[test]
    fn full_noise_is_one_person_and_a_plain_wall_is_none() {
        let mut state = 0x1234_5678_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        };
        let noise = RgbaImage::from_fn(300, 400, |_, _| Rgba([next(), next(), next(), 255]));
        assert!(matches!(check_person(&noise), PersonCheck::One(_)));
        let wall = RgbaImage::from_fn(300, 400, |_, _| {
            let v = 120 + next() % 12;
            Rgba([v, v, v, 255])
        });
        assert_eq!(check_person(&wall), PersonCheck::NotExactlyOne { found: 0 });
    }

    #[test]
    fn the_person_box_covers_the_drawn_body() {
        let PersonCheck::One(b) = check_person(&samples::person_one()) else {
            panic!("one person expected");
        };
        // The person is drawn from y = 60 over 1420 px, centred at x = 384.
        assert!(b.y0 >= 55 && b.y0 <= 70, "{b:?}");
        assert!(b.y1 > 1400, "{b:?}");
        assert!(b.x0 < 384 && b.x1 > 384, "{b:?}");
    }
}

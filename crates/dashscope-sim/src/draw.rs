//! Small raster helpers on `RgbaImage`: filled shapes, alpha blending, deterministic noise and a tiny built-in 5x7 bitmap font.
//!
//! The emulator must draw its sample photos and stamp its previews without any font files
//! or downloads, so everything here is plain arithmetic on pixels.

use image::{Rgba, RgbaImage};

/// An opaque colour from its red, green and blue parts.
pub const fn rgb(r: u8, g: u8, b: u8) -> Rgba<u8> {
    Rgba([r, g, b, 255])
}

/// Blends `colour` over the pixel at `(x, y)` using the colour's alpha; outside pixels are ignored.
pub fn blend(img: &mut RgbaImage, x: i64, y: i64, colour: Rgba<u8>) {
    if x < 0 || y < 0 || x >= i64::from(img.width()) || y >= i64::from(img.height()) {
        return;
    }
    let dst = img.get_pixel_mut(x as u32, y as u32);
    let a = u32::from(colour[3]);
    if a == 255 {
        *dst = colour;
        return;
    }
    if a == 0 {
        return;
    }
    for c in 0..3 {
        let mixed = (u32::from(colour[c]) * a + u32::from(dst[c]) * (255 - a)) / 255;
        dst[c] = mixed as u8;
    }
    let dst_a = u32::from(dst[3]);
    dst[3] = (a + dst_a * (255 - a) / 255).min(255) as u8;
}

/// Fills the axis-aligned rectangle `[x0, x1) x [y0, y1)`.
pub fn fill_rect(img: &mut RgbaImage, x0: f32, y0: f32, x1: f32, y1: f32, colour: Rgba<u8>) {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let xs = x0.max(0.0).round() as u32..x1.min(w).round().max(0.0) as u32;
    for y in y0.max(0.0).round() as u32..y1.min(h).round().max(0.0) as u32 {
        for x in xs.clone() {
            blend(img, i64::from(x), i64::from(y), colour);
        }
    }
}

/// Fills an axis-aligned ellipse centred at `(cx, cy)` with radii `rx`, `ry`.
pub fn fill_ellipse(img: &mut RgbaImage, cx: f32, cy: f32, rx: f32, ry: f32, colour: Rgba<u8>) {
    if rx <= 0.0 || ry <= 0.0 {
        return;
    }
    let y0 = (cy - ry).floor() as i64;
    let y1 = (cy + ry).ceil() as i64;
    for y in y0..=y1 {
        let dy = (y as f32 + 0.5 - cy) / ry;
        if dy.abs() > 1.0 {
            continue;
        }
        let half = rx * (1.0 - dy * dy).sqrt();
        let xa = (cx - half).round() as i64;
        let xb = (cx + half).round() as i64;
        for x in xa..xb {
            blend(img, x, y, colour);
        }
    }
}

/// Fills a "capsule": every pixel within `radius` of the segment from `a` to `b`, which
/// draws limbs with round joints.
pub fn fill_capsule(
    img: &mut RgbaImage,
    a: (f32, f32),
    b: (f32, f32),
    radius: f32,
    colour: Rgba<u8>,
) {
    let x0 = (a.0.min(b.0) - radius).floor() as i64;
    let x1 = (a.0.max(b.0) + radius).ceil() as i64;
    let y0 = (a.1.min(b.1) - radius).floor() as i64;
    let y1 = (a.1.max(b.1) + radius).ceil() as i64;
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = (dx * dx + dy * dy).max(f32::EPSILON);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let t = (((px - a.0) * dx + (py - a.1) * dy) / len2).clamp(0.0, 1.0);
            let (qx, qy) = (a.0 + t * dx - px, a.1 + t * dy - py);
            if qx * qx + qy * qy <= radius * radius {
                blend(img, x, y, colour);
            }
        }
    }
}

/// Fills a simple polygon with the even-odd rule, one scanline at a time.
pub fn fill_polygon(img: &mut RgbaImage, points: &[(f32, f32)], colour: Rgba<u8>) {
    if points.len() < 3 {
        return;
    }
    let min_y = points.iter().map(|p| p.1).fold(f32::MAX, f32::min).floor() as i64;
    let max_y = points.iter().map(|p| p.1).fold(f32::MIN, f32::max).ceil() as i64;
    let mut crossings = Vec::new();
    for y in min_y..=max_y {
        let sy = y as f32 + 0.5;
        crossings.clear();
        for i in 0..points.len() {
            let (p, q) = (points[i], points[(i + 1) % points.len()]);
            if (p.1 <= sy && q.1 > sy) || (q.1 <= sy && p.1 > sy) {
                crossings.push(p.0 + (sy - p.1) / (q.1 - p.1) * (q.0 - p.0));
            }
        }
        crossings.sort_by(f32::total_cmp);
        for pair in crossings.chunks_exact(2) {
            for x in pair[0].round() as i64..pair[1].round() as i64 {
                blend(img, x, y, colour);
            }
        }
    }
}

/// A small deterministic pseudo-random generator (xorshift64*), so that drawn samples are
/// byte-for-byte the same every time the generator runs.
#[derive(Debug, Clone)]
pub struct Noise(u64);

impl Noise {
    /// A generator from a non-zero seed (zero is replaced, since xorshift would stay at zero).
    pub fn new(seed: u64) -> Noise {
        Noise(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `-amplitude..=amplitude`.
    pub fn offset(&mut self, amplitude: i32) -> i32 {
        if amplitude <= 0 {
            return 0;
        }
        (self.next_u64() % (2 * amplitude as u64 + 1)) as i32 - amplitude
    }
}

/// Adds grain of the given amplitude to every opaque pixel, the way a camera sensor would,
/// so that compressed samples have realistic sizes instead of a few hundred bytes.
pub fn add_grain(img: &mut RgbaImage, amplitude: i32, seed: u64) {
    let mut noise = Noise::new(seed);
    for px in img.pixels_mut() {
        // One offset shared by the channels keeps the grain grey, like luminance noise.
        let shared = noise.offset(amplitude);
        for c in 0..3 {
            let tint = noise.offset(amplitude / 3);
            px[c] = (i32::from(px[c]) + shared + tint).clamp(0, 255) as u8;
        }
    }
}

/// Width of one glyph cell in font pixels (5 columns plus one of spacing).
pub const GLYPH_ADVANCE: u32 = 6;
/// Height of one glyph in font pixels.
pub const GLYPH_HEIGHT: u32 = 7;

/// The rows of a 5x7 glyph, most significant of the low five bits on the left. Characters
/// without a glyph draw as a hollow box so that missing letters are obvious.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        ' ' => [0; 7],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        '/' => [0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        _ => [0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F],
    }
}

/// The width in image pixels of `text` drawn at `scale` (without the trailing spacing column).
pub fn text_width(text: &str, scale: u32) -> u32 {
    let chars = text.chars().count() as u32;
    (chars * GLYPH_ADVANCE).saturating_sub(1) * scale
}

/// Draws `text` with its top-left corner at `(x, y)`, each font pixel a `scale`-sized square.
pub fn draw_text(img: &mut RgbaImage, x: i64, y: i64, text: &str, scale: u32, colour: Rgba<u8>) {
    let scale = scale.max(1) as i64;
    for (i, c) in text.chars().enumerate() {
        let rows = glyph(c);
        let left = x + i as i64 * i64::from(GLYPH_ADVANCE) * scale;
        for (row, bits) in rows.iter().enumerate() {
            for col in 0..5 {
                if bits & (0x10 >> col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        blend(
                            img,
                            left + col * scale + dx,
                            y + row as i64 * scale + dy,
                            colour,
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_drawn_inside_its_measured_box_only() {
        let mut img = RgbaImage::from_pixel(120, 20, rgb(0, 0, 0));
        draw_text(&mut img, 2, 3, "OFFLINE", 2, rgb(255, 255, 255));
        let width = text_width("OFFLINE", 2);
        let mut lit = 0;
        for (x, y, px) in img.enumerate_pixels() {
            if px[0] == 255 {
                lit += 1;
                assert!(x >= 2 && x < 2 + width, "x {x} outside the text box");
                assert!((3..3 + 14).contains(&y), "y {y} outside the text box");
            }
        }
        assert!(lit > 100, "only {lit} pixels lit");
    }

    #[test]
    fn noise_is_deterministic_and_bounded() {
        let mut a = Noise::new(7);
        let mut b = Noise::new(7);
        for _ in 0..1000 {
            let v = a.offset(5);
            assert_eq!(v, b.offset(5));
            assert!((-5..=5).contains(&v));
        }
    }

    #[test]
    fn shapes_fill_where_expected() {
        let mut img = RgbaImage::from_pixel(100, 100, rgb(0, 0, 0));
        fill_ellipse(&mut img, 50.0, 50.0, 20.0, 10.0, rgb(255, 0, 0));
        assert_eq!(img.get_pixel(50, 50)[0], 255);
        assert_eq!(img.get_pixel(50, 65)[0], 0);
        fill_polygon(
            &mut img,
            &[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)],
            rgb(0, 255, 0),
        );
        assert_eq!(img.get_pixel(5, 5)[1], 255);
        fill_capsule(&mut img, (80.0, 80.0), (90.0, 90.0), 3.0, rgb(0, 0, 255));
        assert_eq!(img.get_pixel(85, 85)[2], 255);
    }
}

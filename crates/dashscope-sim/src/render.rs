//! The offline "try-on": pastes background-free garments onto the person photo, optionally swaps the face, and stamps an OFFLINE PREVIEW banner.
//!
//! This is deliberately not a model. It gives the widget and the proxy a result image
//! that depends visibly on every input (person, top, bottom, resolution, `restore_face`)
//! and that nobody can mistake for a real try-on, because of the banner.
//!
//! Placement, relative to the person's box found by [`crate::person`] (or the whole image
//! when the rule finds no single person):
//! - a top garment fills the band from 14 % to 55 % of the person's height, anchored at
//!   the shoulders, 1.15 times as wide as the median foreground width of that band;
//! - a bottom garment fills 48 % to 95 %, anchored at the waist;
//! - a one-piece (a top garment without a bottom whose cut-out is more than 1.2 times as
//!   tall as it is wide: a dress or a jumpsuit; the documented request shape sends it as the
//!   top garment alone) fills 14 % to 85 %, over both the person's top and bottom, and
//!   may be wider than the body since a skirt or trouser legs flare;
//! - when both are given the bottom is drawn first, so the top hangs over the waistband;
//! - before pasting, the person's own garment that the new one replaces (found with the
//!   segmentation rule of [`crate::segment`]) is painted in the person's skin colour
//!   (sampled on the face), so the old garment does not show around the new one. This is
//!   skipped when the person rule does not find exactly one person.

use std::io::Cursor;

use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageFormat, Rgba, RgbaImage};
use tryon_api::Resolution;

use crate::draw::{draw_text, fill_rect, rgb, text_width};
use crate::person::{Foreground, PersonCheck, PixelBox, check_person, distance};
use crate::samples::draw_replacement_face;
use crate::segment::{median_colour, segment_image};
use tryon_api::ClothesType;

/// The text of the banner on every emulator result.
pub const BANNER_TEXT: &str = "OFFLINE PREVIEW";
/// The banner text of a refined (`aitryon-refiner`) result.
pub const BANNER_TEXT_HD: &str = "OFFLINE PREVIEW HD";

/// Below this colour distance from the flat-lay backdrop a garment pixel is transparent;
/// up to [`CUTOUT_SOFT`] it fades in, which avoids hard jagged edges.
const CUTOUT_HARD: u32 = 48;
const CUTOUT_SOFT: u32 = 96;

/// The share of the person's height where each garment band starts and ends.
const TOP_BAND: (f32, f32) = (0.14, 0.55);
const BOTTOM_BAND: (f32, f32) = (0.48, 0.95);
const ONE_PIECE_BAND: (f32, f32) = (0.14, 0.85);
/// A lone top garment taller than this (height / width of its cut-out) is a one-piece.
const ONE_PIECE_ASPECT: f32 = 1.2;

/// Everything a preview depends on.
#[derive(Debug, Clone, Copy)]
pub struct TryOn<'a> {
    pub person: &'a DynamicImage,
    pub top: Option<&'a DynamicImage>,
    pub bottom: Option<&'a DynamicImage>,
    pub resolution: Resolution,
    pub restore_face: bool,
}

/// The average colour of the four 5x5 corner patches: the flat-lay backdrop.
pub fn corner_colour(img: &RgbaImage) -> Rgba<u8> {
    let (w, h) = img.dimensions();
    let patch = 5.min(w).min(h);
    let mut sum = [0u64; 3];
    let mut n = 0u64;
    for (cx, cy) in [
        (0, 0),
        (w - patch, 0),
        (0, h - patch),
        (w - patch, h - patch),
    ] {
        for y in cy..cy + patch {
            for x in cx..cx + patch {
                let px = img.get_pixel(x, y);
                for c in 0..3 {
                    sum[c] += u64::from(px[c]);
                }
                n += 1;
            }
        }
    }
    rgb((sum[0] / n) as u8, (sum[1] / n) as u8, (sum[2] / n) as u8)
}

/// Removes the flat-lay backdrop and crops to what is left; `None` when nothing but
/// backdrop remains.
///
/// The backdrop is what a flood fill from the image border reaches through pixels close to
/// the corner colour, so light details inside the garment (a white stripe, a print) stay
/// opaque. Garment pixels next to the backdrop fade in with their distance, which softens
/// jagged edges.
pub fn cutout(garment: &DynamicImage) -> Option<RgbaImage> {
    let mut img = garment.to_rgba8();
    let backdrop = corner_colour(&img);
    let (w, h) = img.dimensions();
    let index = |x: u32, y: u32| (y * w + x) as usize;
    let mut outside = vec![false; (w * h) as usize];
    let mut stack: Vec<(u32, u32)> = Vec::new();
    for x in 0..w {
        stack.push((x, 0));
        stack.push((x, h - 1));
    }
    for y in 0..h {
        stack.push((0, y));
        stack.push((w - 1, y));
    }
    while let Some((x, y)) = stack.pop() {
        if outside[index(x, y)] || distance(*img.get_pixel(x, y), backdrop) > CUTOUT_HARD {
            continue;
        }
        outside[index(x, y)] = true;
        if x > 0 {
            stack.push((x - 1, y));
        }
        if x + 1 < w {
            stack.push((x + 1, y));
        }
        if y > 0 {
            stack.push((x, y - 1));
        }
        if y + 1 < h {
            stack.push((x, y + 1));
        }
    }
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if outside[index(x, y)] {
                img.get_pixel_mut(x, y)[3] = 0;
                continue;
            }
            let touches_backdrop = (x > 0 && outside[index(x - 1, y)])
                || (x + 1 < w && outside[index(x + 1, y)])
                || (y > 0 && outside[index(x, y - 1)])
                || (y + 1 < h && outside[index(x, y + 1)]);
            let px = img.get_pixel_mut(x, y);
            if touches_backdrop {
                let d = distance(*px, backdrop).min(CUTOUT_SOFT);
                let alpha = 64 + (d - CUTOUT_HARD.min(d)) * 191 / (CUTOUT_SOFT - CUTOUT_HARD);
                px[3] = (alpha * u32::from(px[3]) / 255) as u8;
            }
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
    }
    if x0 > x1 {
        return None;
    }
    Some(imageops::crop_imm(&img, x0, y0, x1 - x0 + 1, y1 - y0 + 1).to_image())
}

/// Scales `garment` to fit a band of the person and blends it in, anchored at the band's top.
fn place(
    out: &mut RgbaImage,
    fg: &Foreground,
    person: PixelBox,
    garment: &RgbaImage,
    band: (f32, f32),
    widening: f32,
) {
    let ph = person.height() as f32;
    let y0 = person.y0 + (band.0 * ph) as u32;
    let y1 = (person.y0 + (band.1 * ph) as u32).min(out.height() - 1);
    let (band_width, centre) = fg
        .band_extent(person, y0, y1)
        .unwrap_or((person.width(), (person.x0 + person.x1) as f32 / 2.0));
    // A little wider than the body, since a flat-lay garment's shoulders slope inwards.
    let box_w = band_width as f32 * widening;
    let box_h = (y1 - y0) as f32;
    let scale = (box_w / garment.width() as f32).min(box_h / garment.height() as f32);
    let gw = ((garment.width() as f32 * scale).round() as u32).max(1);
    let gh = ((garment.height() as f32 * scale).round() as u32).max(1);
    let scaled = imageops::resize(garment, gw, gh, FilterType::Triangle);
    let left = (centre - gw as f32 / 2.0).round() as i64;
    imageops::overlay(out, &scaled, left, i64::from(y0));
}

/// Paints the person's own garments that the new ones replace in the skin colour.
fn erase_replaced(out: &mut RgbaImage, fg: &Foreground, person: PixelBox, top: bool, bottom: bool) {
    let at = |share: f32| person.y0 + (share * person.height() as f32) as u32;
    let cx = (person.x0 + person.x1) / 2;
    let half = person.width() / 20;
    let Some(skin) = median_colour(out, fg, cx - half, cx + half, at(0.06), at(0.10)) else {
        return;
    };
    let mut kinds = vec![ClothesType::Dress];
    if top {
        kinds.push(ClothesType::Upper);
    }
    if bottom {
        kinds.push(ClothesType::Lower);
    }
    let regions = segment_image(out, &kinds);
    for region in regions.into_iter().flatten() {
        for (x, y, px) in region.parsing.enumerate_pixels() {
            if px[3] > 0 {
                out.put_pixel(x, y, skin);
            }
        }
    }
}

/// Paints a different face over the head: the top 13 % of the person's box.
fn replace_face(out: &mut RgbaImage, fg: &Foreground, person: PixelBox) {
    let ph = person.height() as f32;
    let head_bottom = person.y0 + (0.13 * ph) as u32;
    let Some((width, centre)) = fg.band_extent(person, person.y0, head_bottom) else {
        return;
    };
    let rx = width as f32 * 0.4;
    draw_replacement_face(out, centre, person.y0 as f32 + 0.075 * ph, rx, rx * 1.3);
}

/// Draws the solid banner strip with `text` across the bottom of the image.
pub fn stamp_banner(img: &mut RgbaImage, text: &str) {
    let (w, h) = img.dimensions();
    let strip = (h / 18).max(28).min(h);
    fill_rect(
        img,
        0.0,
        (h - strip) as f32,
        w as f32,
        h as f32,
        rgb(24, 24, 30),
    );
    fill_rect(
        img,
        0.0,
        (h - strip) as f32,
        w as f32,
        (h - strip + 2) as f32,
        rgb(250, 200, 40),
    );
    let by_height = (strip * 6 / 10) / 7;
    let by_width = (w * 9 / 10) / text_width(text, 1).max(1);
    let scale = by_height.min(by_width).max(1);
    let tw = text_width(text, scale);
    let x = (i64::from(w) - i64::from(tw)) / 2;
    let y = i64::from(h - strip) + (i64::from(strip) - i64::from(7 * scale)) / 2 + 1;
    draw_text(img, x, y, text, scale, rgb(255, 255, 255));
}

/// Produces the preview image of a try-on.
pub fn render(tryon: &TryOn<'_>) -> RgbaImage {
    let (w, h) = tryon
        .resolution
        .output_size(tryon.person.width(), tryon.person.height());
    let mut out = if (w, h) == (tryon.person.width(), tryon.person.height()) {
        tryon.person.to_rgba8()
    } else {
        // A fixed output size keeps the photo's proportions and crops what does not fit,
        // as a portrait crop would.
        tryon
            .person
            .resize_to_fill(w, h, FilterType::Triangle)
            .to_rgba8()
    };
    let top = tryon.top.and_then(cutout);
    let bottom = tryon.bottom.and_then(cutout);
    let one_piece = bottom.is_none()
        && top
            .as_ref()
            .is_some_and(|t| t.height() as f32 > t.width() as f32 * ONE_PIECE_ASPECT);
    let fg = Foreground::of(&out);
    let person = match check_person(&out) {
        PersonCheck::One(b) => {
            erase_replaced(
                &mut out,
                &fg,
                b,
                top.is_some(),
                bottom.is_some() || one_piece,
            );
            b
        }
        PersonCheck::NotExactlyOne { .. } => PixelBox {
            x0: 0,
            y0: 0,
            x1: w - 1,
            y1: h - 1,
        },
    };
    if let Some(bottom) = &bottom {
        place(&mut out, &fg, person, bottom, BOTTOM_BAND, 1.15);
    }
    if let Some(top) = &top {
        // The median width of a one-piece's band is taken over the legs too, so it needs
        // more room to reach the knees than a top needs at the chest.
        let (band, widening) = if one_piece {
            (ONE_PIECE_BAND, 2.0)
        } else {
            (TOP_BAND, 1.15)
        };
        place(&mut out, &fg, person, top, band, widening);
    }
    if !tryon.restore_face {
        replace_face(&mut out, &fg, person);
    }
    stamp_banner(&mut out, BANNER_TEXT);
    out
}

/// Encodes a result as an opaque PNG, the format the emulator serves results in.
pub fn encode_png(img: &RgbaImage) -> image::ImageResult<Vec<u8>> {
    let rgb = DynamicImage::ImageRgba8(img.clone()).to_rgb8();
    let mut out = Vec::new();
    rgb.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;

    fn dynamic(img: RgbaImage) -> DynamicImage {
        DynamicImage::ImageRgba8(img)
    }

    #[test]
    fn the_cutout_drops_the_white_backdrop() {
        let tee = cutout(&dynamic(samples::top_tee())).unwrap();
        assert!(tee.width() < 600 && tee.height() < 600);
        assert_eq!(
            tee.get_pixel(0, 0)[3],
            0,
            "a corner of the crop is backdrop"
        );
        let centre = tee.get_pixel(tee.width() / 2, tee.height() / 2);
        assert_eq!(centre[3], 255);
    }

    #[test]
    fn the_preview_carries_the_garment_the_banner_and_the_size() {
        let person = dynamic(samples::person_one());
        let tee = dynamic(samples::top_tee());
        let out = render(&TryOn {
            person: &person,
            top: Some(&tee),
            bottom: None,
            resolution: Resolution::Portrait1024,
            restore_face: true,
        });
        assert_eq!(out.dimensions(), (576, 1024));
        // The chest now shows the coral tee instead of the grey one.
        let chest = out.get_pixel(288, 400);
        assert!(chest[0] > 180 && chest[1] < 140, "{chest:?}");
        // The banner is dark with white letters somewhere in its middle row.
        let banner_row = 1024 - 1024 / 18 / 2;
        let lit = (0..576)
            .filter(|&x| out.get_pixel(x, banner_row)[0] == 255)
            .count();
        assert!(lit > 10, "{lit} lit banner pixels");
        assert_eq!(out.get_pixel(2, 1020)[0], 24);
    }

    #[test]
    fn a_dress_alone_covers_the_torso_and_the_legs_and_a_tee_only_the_torso() {
        let person = dynamic(samples::person_one());
        let is_green = |px: &Rgba<u8>| px[1] > 110 && px[0] < 90 && px[2] < 130;
        let dress = dynamic(samples::dress());
        let out = render(&TryOn {
            person: &person,
            top: Some(&dress),
            bottom: None,
            resolution: Resolution::Original,
            restore_face: true,
        });
        let (cx, h) = (out.width() / 2, out.height());
        let torso = out.get_pixel(cx, h * 45 / 100);
        assert!(is_green(torso), "dress on the torso: {torso:?}");
        let legs = out.get_pixel(cx, h * 62 / 100);
        assert!(is_green(legs), "dress over the legs: {legs:?}");

        let tee = dynamic(samples::top_tee());
        let out = render(&TryOn {
            top: Some(&tee),
            ..TryOn {
                person: &person,
                top: None,
                bottom: None,
                resolution: Resolution::Original,
                restore_face: true,
            }
        });
        let thigh = out.get_pixel(cx, h * 62 / 100);
        let coral = thigh[0] > 180 && thigh[1] < 140;
        assert!(!coral, "a tee leaves the legs alone: {thigh:?}");
    }

    #[test]
    fn restore_face_false_changes_the_face() {
        let person = dynamic(samples::person_one());
        let tee = dynamic(samples::top_tee());
        let mut request = TryOn {
            person: &person,
            top: Some(&tee),
            bottom: None,
            resolution: Resolution::Original,
            restore_face: true,
        };
        let kept = render(&request);
        request.restore_face = false;
        let swapped = render(&request);
        let face_diff = (40..200)
            .flat_map(|y| (330..440).map(move |x| (x, y)))
            .filter(|&(x, y)| kept.get_pixel(x, y) != swapped.get_pixel(x, y))
            .count();
        assert!(face_diff > 2000, "only {face_diff} face pixels changed");
        assert_eq!(kept.get_pixel(100, 900), swapped.get_pixel(100, 900));
    }
}

//! Garment segmentation (`aitryon-parsing-v1`): a synchronous call that cuts the upper, lower or dress region out of a person photo.
//!
//! The emulator's rule, deterministic and documented so that tests can predict it:
//! 1. The person's box comes from the person rule ([`crate::person`]); without exactly one
//!    person the box is the foreground box of the whole image, and without any foreground
//!    every region is absent (`null`).
//! 2. A **chest colour** is the median foreground colour in rows 28-38 % of the box height
//!    within the central 30 % of its width; a **thigh colour** likewise in rows 55-62 %.
//! 3. When the two colours are within distance 45 (sum of channel differences) the person
//!    wears one piece: `dress` is present and `upper` / `lower` are absent. Otherwise
//!    `upper` and `lower` are present and `dress` is absent.
//! 4. A present region's mask is the foreground inside its band (upper 15-55 %, lower
//!    45-97 %, dress 15-97 % of the box height) whose colour is within distance 50 of its
//!    sample colour, without connected specks smaller than a twentieth of its largest
//!    part. A mask under 0.5 % of the box area counts as absent.
//! 5. `parsing_img_url` is an RGBA PNG of the full canvas with only the mask opaque;
//!    `crop_img_url` is an RGB PNG of the mask's box on white, padded to at least 150 px a
//!    side so it can be passed straight back as a garment URL; `bbox` is `[x1, y1, x2, y2]`.
//! 6. An `image_url` whose path contains `inappropriate` answers 400 `DataInspectionFailed`
//!    without being downloaded (the data-inspection rule of the try-on tasks).
//!
//! Account refusals (`Arrearage`, `AccessDenied.Unpurchased`,
//! `AllocationQuota.FreeTierOnly`, `ModelUnavailable`) apply as to create calls, and each
//! successful segmentation uses one free image.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use image::{RgbImage, Rgba, RgbaImage};
use serde_json::Value;
use tryon_api::rules::MIN_SIDE_PX;
use tryon_api::wire::{MODEL_PARSING, SegmentOutput, SegmentRequest, SegmentResponse, Usage};
use tryon_api::{ClothesType, ErrorKind, ImageUrl};

use crate::api::{check_auth, error_response};
use crate::fetch::fetch_image;
use crate::person::{Foreground, PersonCheck, PixelBox, check_person, distance};
use crate::render::encode_png;
use crate::state::{SimState, Window, new_id};

/// The `clothes_type` lists the documentation allows.
const ALLOWED_TYPES: &[&[ClothesType]] = &[
    &[ClothesType::Upper],
    &[ClothesType::Lower],
    &[ClothesType::Dress],
    &[ClothesType::Upper, ClothesType::Lower],
];

/// One cut-out region.
#[derive(Debug, Clone)]
pub struct Region {
    pub bbox: PixelBox,
    /// The full canvas with only the garment opaque.
    pub parsing: RgbaImage,
    /// The garment's box on white, at least 150 px a side.
    pub crop: RgbImage,
}

/// The median colour of the foreground pixels inside a window, if any.
pub(crate) fn median_colour(
    img: &RgbaImage,
    fg: &Foreground,
    x0: u32,
    x1: u32,
    y0: u32,
    y1: u32,
) -> Option<Rgba<u8>> {
    let mut channels: [Vec<u8>; 3] = Default::default();
    for y in y0..=y1.min(img.height() - 1) {
        for x in x0..=x1.min(img.width() - 1) {
            if fg.at(x, y) {
                let px = img.get_pixel(x, y);
                for (c, list) in channels.iter_mut().enumerate() {
                    list.push(px[c]);
                }
            }
        }
    }
    if channels[0].is_empty() {
        return None;
    }
    let mut out = [0u8, 0, 0, 255];
    for (c, list) in channels.iter_mut().enumerate() {
        list.sort_unstable();
        out[c] = list[list.len() / 2];
    }
    Some(Rgba(out))
}

/// Applies rules 1-5 of the module doc to one image.
pub fn segment_image(img: &RgbaImage, types: &[ClothesType]) -> Vec<Option<Region>> {
    let fg = Foreground::of(img);
    let person = match check_person(img) {
        PersonCheck::One(b) => Some(b),
        PersonCheck::NotExactlyOne { .. } => {
            fg.bbox_within(0, img.width() - 1, 0, img.height() - 1)
        }
    };
    let Some(person) = person else {
        return types.iter().map(|_| None).collect();
    };
    let at = |share: f32| person.y0 + (share * person.height() as f32) as u32;
    let centre_x0 = person.x0 + (person.width() as f32 * 0.35) as u32;
    let centre_x1 = person.x0 + (person.width() as f32 * 0.65) as u32;
    let chest = median_colour(img, &fg, centre_x0, centre_x1, at(0.28), at(0.38));
    let thigh = median_colour(img, &fg, centre_x0, centre_x1, at(0.55), at(0.62));
    let one_piece = matches!((chest, thigh), (Some(a), Some(b)) if distance(a, b) <= 45);

    types
        .iter()
        .map(|kind| {
            let (sample, band) = match kind {
                ClothesType::Upper if !one_piece => (chest, (0.15, 0.55)),
                ClothesType::Lower if !one_piece => (thigh, (0.45, 0.97)),
                ClothesType::Dress if one_piece => (chest, (0.15, 0.97)),
                _ => return None,
            };
            region(img, &fg, person, sample?, (at(band.0), at(band.1)))
        })
        .collect()
}

/// Builds one region from its sample colour and row band (rules 4 and 5).
fn region(
    img: &RgbaImage,
    fg: &Foreground,
    person: PixelBox,
    sample: Rgba<u8>,
    rows: (u32, u32),
) -> Option<Region> {
    let (w, h) = img.dimensions();
    let (y0, y1) = (rows.0.min(h - 1), rows.1.min(h - 1));
    let (bw, bh) = (person.width(), y1 - y0 + 1);
    let index = |x: u32, y: u32| ((y - y0) * bw + (x - person.x0)) as usize;
    let mut mask = vec![false; (bw * bh) as usize];
    for y in y0..=y1 {
        for x in person.x0..=person.x1 {
            mask[index(x, y)] = fg.at(x, y) && distance(*img.get_pixel(x, y), sample) <= 50;
        }
    }
    keep_large_components(&mut mask, bw, bh);
    let mut parsing = RgbaImage::new(w, h);
    let mut bbox: Option<PixelBox> = None;
    let mut count = 0u64;
    for y in y0..=y1 {
        for x in person.x0..=person.x1 {
            if mask[index(x, y)] {
                parsing.put_pixel(x, y, *img.get_pixel(x, y));
                count += 1;
                PixelBox::include(&mut bbox, x, y);
            }
        }
    }
    let bbox = bbox?;
    if (count as f64) < 0.005 * f64::from(person.width()) * f64::from(person.height()) {
        return None;
    }
    let cw = bbox.width().max(MIN_SIDE_PX);
    let ch = bbox.height().max(MIN_SIDE_PX);
    let (ox, oy) = ((cw - bbox.width()) / 2, (ch - bbox.height()) / 2);
    let mut crop = RgbImage::from_pixel(cw, ch, image::Rgb([255, 255, 255]));
    for y in bbox.y0..=bbox.y1 {
        for x in bbox.x0..=bbox.x1 {
            let px = parsing.get_pixel(x, y);
            if px[3] > 0 {
                crop.put_pixel(
                    x - bbox.x0 + ox,
                    y - bbox.y0 + oy,
                    image::Rgb([px[0], px[1], px[2]]),
                );
            }
        }
    }
    Some(Region {
        bbox,
        parsing,
        crop,
    })
}

/// Drops the specks of a mask: connected parts (4-neighbourhood) smaller than a twentieth
/// of the largest. Compression ringing along other edges (shoes, hands) matches a garment
/// colour here and there, and would otherwise stretch the garment's box.
fn keep_large_components(mask: &mut [bool], width: u32, height: u32) {
    let (w, h) = (width as usize, height as usize);
    let mut label = vec![0u32; mask.len()];
    let mut sizes = vec![0usize];
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || label[start] != 0 {
            continue;
        }
        let id = sizes.len() as u32;
        let mut size = 0;
        label[start] = id;
        stack.push(start);
        while let Some(i) = stack.pop() {
            size += 1;
            let (x, y) = (i % w, i / w);
            let neighbours = [
                (x > 0).then(|| i - 1),
                (x + 1 < w).then(|| i + 1),
                (y > 0).then(|| i - w),
                (y + 1 < h).then(|| i + w),
            ];
            for n in neighbours.into_iter().flatten() {
                if mask[n] && label[n] == 0 {
                    label[n] = id;
                    stack.push(n);
                }
            }
        }
        sizes.push(size);
    }
    let largest = sizes.iter().copied().max().unwrap_or(0);
    for (m, l) in mask.iter_mut().zip(&label) {
        if *m && sizes[*l as usize] * 20 < largest {
            *m = false;
        }
    }
}

/// Reads and checks `parameters.clothes_type` before the typed parse, so that a bad value
/// answers `InvalidParameter.ClothesType` and not the generic `InvalidParameter`.
fn clothes_types(body: &Value) -> Result<Vec<ClothesType>, ErrorKind> {
    let raw = body
        .get("parameters")
        .and_then(|p| p.get("clothes_type"))
        .ok_or(ErrorKind::InvalidParameter)?;
    let types: Vec<ClothesType> =
        serde_json::from_value(raw.clone()).map_err(|_| ErrorKind::InvalidClothesType)?;
    if ALLOWED_TYPES.contains(&types.as_slice()) {
        Ok(types)
    } else {
        Err(ErrorKind::InvalidClothesType)
    }
}

/// `POST /api/v1/services/vision/image-process/process`.
pub(crate) async fn segment(
    State(state): State<SimState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = check_auth(&state, &headers) {
        return error_response(refusal);
    }
    if !state.admit(Window::Segment) {
        return error_response(ErrorKind::ThrottlingRateQuota);
    }
    match run(&state, &body).await {
        Ok(answer) => Json(answer).into_response(),
        Err(kind) => error_response(kind),
    }
}

async fn run(state: &SimState, body: &[u8]) -> Result<SegmentResponse, ErrorKind> {
    let value: Value = serde_json::from_slice(body).map_err(|_| ErrorKind::InvalidParameter)?;
    let model = value
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if model.is_empty() {
        return Err(ErrorKind::InvalidParameter);
    }
    if model != MODEL_PARSING {
        return Err(ErrorKind::ModelNotFound);
    }
    if let Some(refusal) = state.account().refusal(model) {
        return Err(refusal);
    }
    let types = clothes_types(&value)?;
    let request: SegmentRequest =
        serde_json::from_value(value).map_err(|_| ErrorKind::InvalidParameter)?;
    let url = ImageUrl::parse(&request.input.image_url).map_err(|v| v.upstream_error())?;
    if crate::tasks::fails_inspection(url.as_str()) {
        return Err(ErrorKind::DataInspectionFailed);
    }
    let (_, image) = fetch_image(
        state.client(),
        url.as_str(),
        state.config().download_timeout,
    )
    .await?;
    let regions = tokio::task::spawn_blocking(move || {
        let rgba = image.to_rgba8();
        let regions = segment_image(&rgba, &types);
        regions
            .into_iter()
            .map(|region| {
                region
                    .map(|r| {
                        let parsing = encode_png(&r.parsing)?;
                        let crop = encode_png(&image::DynamicImage::ImageRgb8(r.crop).to_rgba8())?;
                        Ok::<_, image::ImageError>((r.bbox, parsing, crop))
                    })
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|_| ErrorKind::InternalError)?
    .map_err(|_| ErrorKind::InternalError)?;

    let mut output = SegmentOutput {
        parsing_img_url: Vec::new(),
        crop_img_url: Vec::new(),
        bbox: Vec::new(),
    };
    for region in regions {
        match region {
            Some((bbox, parsing, crop)) => {
                let id = new_id();
                output.parsing_img_url.push(Some(state.store_file(
                    &format!("{id}-parsing.png"),
                    parsing,
                    "image/png",
                )));
                output.crop_img_url.push(Some(state.store_file(
                    &format!("{id}-crop.png"),
                    crop,
                    "image/png",
                )));
                output.bbox.push(Some([
                    i64::from(bbox.x0),
                    i64::from(bbox.y0),
                    i64::from(bbox.x1),
                    i64::from(bbox.y1),
                ]));
            }
            None => {
                output.parsing_img_url.push(None);
                output.crop_img_url.push(None);
                output.bbox.push(None);
            }
        }
    }
    state.bill_image(MODEL_PARSING);
    Ok(SegmentResponse {
        output,
        usage: Some(Usage { image_count: 1 }),
        request_id: new_id(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;

    #[test]
    fn a_tee_and_shorts_person_has_upper_and_lower_but_no_dress() {
        let person = samples::person_one();
        let regions = segment_image(&person, &[ClothesType::Upper, ClothesType::Lower]);
        let upper = regions[0].as_ref().expect("upper");
        let lower = regions[1].as_ref().expect("lower");
        assert!(upper.bbox.y1 < lower.bbox.y1);
        assert!(upper.crop.width() >= 150 && upper.crop.height() >= 150);
        assert!(segment_image(&person, &[ClothesType::Dress])[0].is_none());
    }

    #[test]
    fn clothes_types_outside_the_documented_lists_are_refused() {
        let body = |types: &str| -> Value {
            serde_json::from_str(&format!(r#"{{"parameters":{{"clothes_type":{types}}}}}"#))
                .unwrap()
        };
        assert_eq!(
            clothes_types(&body(r#"["upper","lower"]"#)).unwrap().len(),
            2
        );
        assert_eq!(
            clothes_types(&body(r#"["hat"]"#)),
            Err(ErrorKind::InvalidClothesType)
        );
        assert_eq!(
            clothes_types(&body(r#"["dress","upper"]"#)),
            Err(ErrorKind::InvalidClothesType)
        );
        assert_eq!(
            clothes_types(&body("[]")),
            Err(ErrorKind::InvalidClothesType)
        );
    }
}

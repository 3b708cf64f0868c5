//! Drawn sample inputs (persons and flat-lay garments) for demos and tests, and the list of sample files the `make-samples` bin writes to `www/samples/`.
//!
//! The samples are drawn, not photographed, so that the repository carries no third-party
//! images and the emulator's person rule (see [`crate::person`]) can be checked against
//! inputs whose answer is known: one person, two persons, and a photo that is too small.
//! Every drawing is deterministic (fixed seeds), so regenerating gives identical pixels.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, Rgba, RgbaImage};

use crate::draw::{add_grain, fill_capsule, fill_ellipse, fill_polygon, fill_rect, rgb};

/// What a drawn person looks like.
#[derive(Debug, Clone, Copy)]
pub struct Look {
    pub skin: Rgba<u8>,
    pub hair: Rgba<u8>,
    /// Long hair falls to the shoulders; short hair only covers the top of the head.
    pub long_hair: bool,
    pub top: Rgba<u8>,
    pub bottom: Rgba<u8>,
    pub shoes: Rgba<u8>,
    pub lips: Rgba<u8>,
}

/// A light skin tone in a grey tee and navy shorts.
pub const LOOK_LIGHT: Look = Look {
    skin: rgb(238, 200, 170),
    hair: rgb(92, 60, 38),
    long_hair: false,
    top: rgb(110, 118, 128),
    bottom: rgb(38, 52, 92),
    shoes: rgb(40, 40, 44),
    lips: rgb(196, 110, 110),
};

/// A dark skin tone with long hair, an olive tee and dark grey shorts.
pub const LOOK_DARK: Look = Look {
    skin: rgb(120, 78, 52),
    hair: rgb(28, 22, 20),
    long_hair: true,
    top: rgb(96, 112, 60),
    bottom: rgb(58, 58, 64),
    shoes: rgb(150, 40, 40),
    lips: rgb(120, 56, 58),
};

/// The plain light studio background of the person samples.
pub const PERSON_BACKGROUND: Rgba<u8> = rgb(234, 231, 225);

/// Draws one full-length person facing the camera. `cx` is the body's centre line, `top`
/// the top of the head and `height` the whole height from hair to soles, all in pixels.
pub fn draw_person(img: &mut RgbaImage, cx: f32, top: f32, height: f32, look: &Look) {
    let h = height;
    let y = |f: f32| top + f * h;
    let x = |f: f32| cx + f * h;

    // Long hair goes first, so that the neck and the tee cover its lower part.
    if look.long_hair {
        fill_ellipse(img, cx, y(0.1), 0.06 * h, 0.075 * h, look.hair);
    }

    // Legs next, so that the shorts and shoes overlap them.
    for side in [-1.0, 1.0] {
        fill_capsule(
            img,
            (x(side * 0.045), y(0.50)),
            (x(side * 0.05), y(0.72)),
            0.036 * h,
            look.skin,
        );
        fill_capsule(
            img,
            (x(side * 0.05), y(0.72)),
            (x(side * 0.052), y(0.93)),
            0.030 * h,
            look.skin,
        );
        fill_ellipse(
            img,
            x(side * 0.062),
            y(0.952),
            0.042 * h,
            0.02 * h,
            look.shoes,
        );
    }

    // Arms hang from the shoulders and touch the torso there, as in a correct try-on photo.
    for side in [-1.0, 1.0] {
        fill_capsule(
            img,
            (x(side * 0.092), y(0.175)),
            (x(side * 0.128), y(0.315)),
            0.024 * h,
            look.skin,
        );
        fill_capsule(
            img,
            (x(side * 0.128), y(0.315)),
            (x(side * 0.142), y(0.45)),
            0.021 * h,
            look.skin,
        );
        fill_ellipse(
            img,
            x(side * 0.145),
            y(0.475),
            0.02 * h,
            0.03 * h,
            look.skin,
        );
    }

    // Neck and torso skin, then the tee with short sleeves over it.
    fill_rect(img, x(-0.02), y(0.11), x(0.02), y(0.17), look.skin);
    let torso = [
        (x(-0.1), y(0.16)),
        (x(0.1), y(0.16)),
        (x(0.078), y(0.40)),
        (x(0.092), y(0.52)),
        (x(-0.092), y(0.52)),
        (x(-0.078), y(0.40)),
    ];
    fill_polygon(img, &torso, look.skin);
    let tee = [
        (x(-0.104), y(0.155)),
        (x(-0.03), y(0.15)),
        (x(0.0), y(0.17)),
        (x(0.03), y(0.15)),
        (x(0.104), y(0.155)),
        (x(0.082), y(0.40)),
        (x(0.088), y(0.47)),
        (x(-0.088), y(0.47)),
        (x(-0.082), y(0.40)),
    ];
    fill_polygon(img, &tee, look.top);
    for side in [-1.0, 1.0] {
        fill_capsule(
            img,
            (x(side * 0.094), y(0.175)),
            (x(side * 0.112), y(0.245)),
            0.03 * h,
            look.top,
        );
    }

    // Shorts: a waistband and two legs down to mid-thigh.
    fill_rect(img, x(-0.09), y(0.46), x(0.09), y(0.52), look.bottom);
    for side in [-1.0_f32, 1.0] {
        let leg = [
            (x(side * 0.0), y(0.50)),
            (x(side * 0.092), y(0.50)),
            (x(side * 0.095), y(0.63)),
            (x(side * 0.006), y(0.63)),
        ];
        fill_polygon(img, &leg, look.bottom);
    }

    draw_head(img, cx, top, h, look, look.skin);
}

/// Draws the head: hair, face, ears, eyes, brows, nose and mouth.
fn draw_head(img: &mut RgbaImage, cx: f32, top: f32, h: f32, look: &Look, face: Rgba<u8>) {
    let y = |f: f32| top + f * h;
    let x = |f: f32| cx + f * h;
    fill_ellipse(img, cx, y(0.052), 0.05 * h, 0.05 * h, look.hair);
    for side in [-1.0, 1.0] {
        fill_ellipse(img, x(side * 0.043), y(0.07), 0.008 * h, 0.014 * h, face);
    }
    fill_ellipse(img, cx, y(0.072), 0.041 * h, 0.054 * h, face);
    // A fringe over the forehead, so the hair reads as hair and not a hat.
    fill_ellipse(img, cx, y(0.03), 0.04 * h, 0.02 * h, look.hair);
    for side in [-1.0, 1.0] {
        fill_ellipse(
            img,
            x(side * 0.016),
            y(0.066),
            0.0085 * h,
            0.0055 * h,
            rgb(250, 250, 248),
        );
        fill_ellipse(
            img,
            x(side * 0.016),
            y(0.066),
            0.0042 * h,
            0.0042 * h,
            rgb(50, 36, 30),
        );
        fill_rect(
            img,
            x(side * 0.016 - 0.01),
            y(0.054),
            x(side * 0.016 + 0.01),
            y(0.057),
            look.hair,
        );
    }
    let shade = Rgba([0, 0, 0, 40]);
    fill_polygon(
        img,
        &[(cx, y(0.07)), (x(0.006), y(0.09)), (x(-0.006), y(0.09))],
        shade,
    );
    fill_ellipse(img, cx, y(0.105), 0.013 * h, 0.005 * h, look.lips);
}

/// Paints a different, generated-looking face over the head of a drawn-like person, as the
/// real service does when `restore_face` is false. The head is found by the caller.
pub fn draw_replacement_face(img: &mut RgbaImage, cx: f32, cy: f32, rx: f32, ry: f32) {
    // A cooler skin tone, round glasses and a wide smile: unmistakably not the original.
    fill_ellipse(img, cx, cy, rx, ry, rgb(214, 178, 160));
    let eye_y = cy - ry * 0.12;
    for side in [-1.0, 1.0] {
        let ex = cx + side * rx * 0.42;
        fill_ellipse(img, ex, eye_y, rx * 0.3, rx * 0.3, rgb(30, 30, 34));
        fill_ellipse(img, ex, eye_y, rx * 0.22, rx * 0.22, rgb(170, 205, 230));
        fill_ellipse(img, ex, eye_y, rx * 0.08, rx * 0.08, rgb(30, 30, 34));
    }
    fill_rect(
        img,
        cx - rx * 0.15,
        eye_y - rx * 0.04,
        cx + rx * 0.15,
        eye_y + rx * 0.04,
        rgb(30, 30, 34),
    );
    fill_ellipse(
        img,
        cx,
        cy + ry * 0.5,
        rx * 0.45,
        ry * 0.12,
        rgb(150, 50, 60),
    );
    fill_ellipse(
        img,
        cx,
        cy + ry * 0.45,
        rx * 0.4,
        ry * 0.07,
        rgb(214, 178, 160),
    );
}

/// A studio background: a soft vertical gradient around `base` with a floor shadow line.
fn background(width: u32, height: u32, base: Rgba<u8>) -> RgbaImage {
    RgbaImage::from_fn(width, height, |_, y| {
        let shade = (y as f32 / height as f32 * 10.0) as i32;
        let c = |v: u8| (i32::from(v) - shade).clamp(0, 255) as u8;
        rgb(c(base[0]), c(base[1]), c(base[2]))
    })
}

/// `person-1.jpg`: one light-skinned person, 768x1536.
pub fn person_one() -> RgbaImage {
    let mut img = background(768, 1536, PERSON_BACKGROUND);
    draw_person(&mut img, 384.0, 60.0, 1420.0, &LOOK_LIGHT);
    add_grain(&mut img, 4, 1);
    img
}

/// `person-2.jpg`: one dark-skinned person with long hair, 720x1440.
pub fn person_two_tone() -> RgbaImage {
    let mut img = background(720, 1440, rgb(226, 232, 236));
    draw_person(&mut img, 360.0, 50.0, 1340.0, &LOOK_DARK);
    add_grain(&mut img, 4, 2);
    img
}

/// `person-two.jpg`: two persons side by side, which the service refuses (`InvalidPerson`).
pub fn person_pair() -> RgbaImage {
    let mut img = background(1200, 1200, PERSON_BACKGROUND);
    draw_person(&mut img, 330.0, 40.0, 1110.0, &LOOK_LIGHT);
    draw_person(&mut img, 870.0, 70.0, 1080.0, &LOOK_DARK);
    add_grain(&mut img, 4, 3);
    img
}

/// `person-tiny.png`: a person on a 120x150 canvas, under the 150 px minimum side.
pub fn person_tiny() -> RgbaImage {
    let mut img = background(120, 150, PERSON_BACKGROUND);
    draw_person(&mut img, 60.0, 4.0, 140.0, &LOOK_LIGHT);
    // Strong grain keeps the PNG above 5 KB, so it is refused for its sides, not its bytes.
    add_grain(&mut img, 40, 4);
    img
}

/// The white of the flat-lay backdrop.
const FLAT_LAY: Rgba<u8> = rgb(252, 252, 252);

/// A white flat-lay backdrop for garments.
fn flat_lay(width: u32, height: u32) -> RgbaImage {
    RgbaImage::from_pixel(width, height, FLAT_LAY)
}

/// Adds grain to the garment only: a clean backdrop keeps the PNG small while the
/// fabric still looks photographed.
fn grain_garment(img: &mut RgbaImage, seed: u64) {
    let mut grained = img.clone();
    add_grain(&mut grained, 3, seed);
    for (px, noisy) in img.pixels_mut().zip(grained.pixels()) {
        if *px != FLAT_LAY {
            *px = *noisy;
        }
    }
}

/// `top-tee.png`: a coral T-shirt laid flat on white, 600x600.
pub fn top_tee() -> RgbaImage {
    let mut img = flat_lay(600, 600);
    let body = rgb(228, 96, 84);
    let shirt = [
        (200.0, 70.0),
        (255.0, 60.0),
        (300.0, 95.0),
        (345.0, 60.0),
        (400.0, 70.0),
        (540.0, 160.0),
        (490.0, 250.0),
        (440.0, 215.0),
        (445.0, 540.0),
        (155.0, 540.0),
        (160.0, 215.0),
        (110.0, 250.0),
        (60.0, 160.0),
    ];
    fill_polygon(&mut img, &shirt, body);
    // The collar, a chest stripe and sleeve hems give the garment visible structure.
    fill_ellipse(&mut img, 300.0, 72.0, 48.0, 28.0, rgb(252, 252, 252));
    fill_ellipse(&mut img, 300.0, 80.0, 48.0, 26.0, rgb(196, 70, 62));
    fill_ellipse(&mut img, 300.0, 74.0, 40.0, 22.0, rgb(252, 252, 252));
    fill_rect(&mut img, 158.0, 300.0, 443.0, 330.0, rgb(250, 226, 120));
    fill_polygon(
        &mut img,
        &[
            (490.0, 250.0),
            (440.0, 215.0),
            (452.0, 196.0),
            (505.0, 228.0),
        ],
        rgb(196, 70, 62),
    );
    fill_polygon(
        &mut img,
        &[
            (110.0, 250.0),
            (160.0, 215.0),
            (148.0, 196.0),
            (95.0, 228.0),
        ],
        rgb(196, 70, 62),
    );
    grain_garment(&mut img, 10);
    img
}

/// `bottom-trousers.png`: blue trousers laid flat on white, 500x800.
pub fn bottom_trousers() -> RgbaImage {
    let mut img = flat_lay(500, 800);
    let denim = rgb(58, 92, 150);
    fill_rect(&mut img, 110.0, 40.0, 390.0, 90.0, rgb(48, 76, 128));
    let legs = [
        (110.0, 85.0),
        (390.0, 85.0),
        (420.0, 760.0),
        (275.0, 760.0),
        (250.0, 260.0),
        (225.0, 760.0),
        (80.0, 760.0),
    ];
    fill_polygon(&mut img, &legs, denim);
    // Seams and pockets, drawn as thin darker lines.
    fill_rect(&mut img, 248.0, 90.0, 252.0, 250.0, rgb(40, 64, 110));
    fill_polygon(
        &mut img,
        &[(130.0, 95.0), (190.0, 95.0), (135.0, 170.0)],
        rgb(44, 70, 120),
    );
    fill_polygon(
        &mut img,
        &[(370.0, 95.0), (310.0, 95.0), (365.0, 170.0)],
        rgb(44, 70, 120),
    );
    for x in [150.0, 350.0] {
        fill_rect(&mut img, x - 2.0, 48.0, x + 2.0, 88.0, rgb(230, 190, 90));
    }
    grain_garment(&mut img, 11);
    img
}

/// `dress.png`: a green sleeveless dress laid flat on white, 600x800.
pub fn dress() -> RgbaImage {
    let mut img = flat_lay(600, 800);
    let green = rgb(46, 140, 98);
    let outline = [
        (230.0, 40.0),
        (260.0, 40.0),
        (300.0, 90.0),
        (340.0, 40.0),
        (370.0, 40.0),
        (390.0, 140.0),
        (370.0, 300.0),
        (500.0, 760.0),
        (100.0, 760.0),
        (230.0, 300.0),
        (210.0, 140.0),
    ];
    fill_polygon(&mut img, &outline, green);
    fill_rect(&mut img, 228.0, 290.0, 372.0, 312.0, rgb(30, 100, 70));
    let mut dots = crate::draw::Noise::new(12);
    for _ in 0..60 {
        let px = 160.0 + (dots.next_u64() % 280) as f32;
        let py = 330.0 + (dots.next_u64() % 400) as f32;
        let spread = (py - 300.0) / 460.0 * 200.0 + 70.0;
        if (px - 300.0).abs() < spread - 20.0 {
            fill_ellipse(&mut img, px, py, 7.0, 7.0, rgb(240, 230, 200));
        }
    }
    grain_garment(&mut img, 12);
    img
}

/// `top-shirt.png`: a light-blue long-sleeved button shirt laid flat on white, 640x640.
pub fn top_shirt() -> RgbaImage {
    let mut img = flat_lay(640, 640);
    let cotton = rgb(150, 190, 226);
    let shirt = [
        (215.0, 70.0),
        (320.0, 100.0),
        (425.0, 70.0),
        (500.0, 110.0),
        (600.0, 520.0),
        (545.0, 540.0),
        (470.0, 250.0),
        (470.0, 600.0),
        (170.0, 600.0),
        (170.0, 250.0),
        (95.0, 540.0),
        (40.0, 520.0),
        (140.0, 110.0),
    ];
    fill_polygon(&mut img, &shirt, cotton);
    // A pointed collar, a button placket and cuffs make it read as a shirt, not a tee.
    fill_polygon(
        &mut img,
        &[(215.0, 70.0), (320.0, 100.0), (270.0, 150.0)],
        rgb(236, 242, 250),
    );
    fill_polygon(
        &mut img,
        &[(425.0, 70.0), (320.0, 100.0), (370.0, 150.0)],
        rgb(236, 242, 250),
    );
    fill_rect(&mut img, 312.0, 100.0, 328.0, 600.0, rgb(128, 168, 206));
    for i in 0..7 {
        let y = 140.0 + i as f32 * 62.0;
        fill_ellipse(&mut img, 320.0, y, 6.0, 6.0, rgb(246, 246, 240));
    }
    fill_polygon(
        &mut img,
        &[
            (600.0, 520.0),
            (545.0, 540.0),
            (535.0, 505.0),
            (590.0, 485.0),
        ],
        rgb(236, 242, 250),
    );
    fill_polygon(
        &mut img,
        &[(40.0, 520.0), (95.0, 540.0), (105.0, 505.0), (50.0, 485.0)],
        rgb(236, 242, 250),
    );
    grain_garment(&mut img, 13);
    img
}

/// `bottom-skirt.png`: a mustard A-line skirt laid flat on white, 560x600.
pub fn bottom_skirt() -> RgbaImage {
    let mut img = flat_lay(560, 600);
    let mustard = rgb(214, 160, 52);
    fill_rect(&mut img, 170.0, 50.0, 390.0, 95.0, rgb(176, 128, 36));
    fill_polygon(
        &mut img,
        &[(170.0, 92.0), (390.0, 92.0), (500.0, 560.0), (60.0, 560.0)],
        mustard,
    );
    // Pleat lines fan out from the waistband.
    for i in 1..6 {
        let top_x = 170.0 + i as f32 * 220.0 / 6.0;
        let bottom_x = 60.0 + i as f32 * 440.0 / 6.0;
        fill_polygon(
            &mut img,
            &[
                (top_x - 1.5, 95.0),
                (top_x + 1.5, 95.0),
                (bottom_x + 2.5, 560.0),
                (bottom_x - 2.5, 560.0),
            ],
            rgb(188, 138, 40),
        );
    }
    grain_garment(&mut img, 14);
    img
}

/// `jumpsuit.png`: an olive short-sleeved jumpsuit laid flat on white, 600x900. It goes
/// in the top garment field, like a dress.
pub fn jumpsuit() -> RgbaImage {
    let mut img = flat_lay(600, 900);
    let olive = rgb(104, 112, 62);
    let outline = [
        (220.0, 40.0),
        (300.0, 70.0),
        (380.0, 40.0),
        (470.0, 90.0),
        (520.0, 200.0),
        (450.0, 230.0),
        (420.0, 170.0),
        (425.0, 420.0),
        (445.0, 860.0),
        (320.0, 860.0),
        (300.0, 480.0),
        (280.0, 860.0),
        (155.0, 860.0),
        (175.0, 420.0),
        (180.0, 170.0),
        (150.0, 230.0),
        (80.0, 200.0),
        (130.0, 90.0),
    ];
    fill_polygon(&mut img, &outline, olive);
    // A belt and chest pockets give the one-piece a waist and a front.
    fill_rect(&mut img, 176.0, 400.0, 424.0, 428.0, rgb(70, 76, 40));
    fill_rect(&mut img, 210.0, 150.0, 270.0, 210.0, rgb(90, 98, 52));
    fill_rect(&mut img, 330.0, 150.0, 390.0, 210.0, rgb(90, 98, 52));
    grain_garment(&mut img, 15);
    img
}

/// How a sample file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Jpeg,
    Png,
}

/// One file of `www/samples/`.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub file_name: &'static str,
    pub encoding: Encoding,
    /// Whether the file satisfies the service's input rules (`rules::check_image`).
    pub passes_rules: bool,
    pub draw: fn() -> RgbaImage,
}

/// Every sample file, in the order the bin writes them.
pub const SAMPLES: &[Sample] = &[
    Sample {
        file_name: "person-1.jpg",
        encoding: Encoding::Jpeg,
        passes_rules: true,
        draw: person_one,
    },
    Sample {
        file_name: "person-2.jpg",
        encoding: Encoding::Jpeg,
        passes_rules: true,
        draw: person_two_tone,
    },
    Sample {
        file_name: "person-two.jpg",
        encoding: Encoding::Jpeg,
        passes_rules: true,
        draw: person_pair,
    },
    Sample {
        file_name: "person-tiny.png",
        encoding: Encoding::Png,
        passes_rules: false,
        draw: person_tiny,
    },
    Sample {
        file_name: "top-tee.png",
        encoding: Encoding::Png,
        passes_rules: true,
        draw: top_tee,
    },
    Sample {
        file_name: "bottom-trousers.png",
        encoding: Encoding::Png,
        passes_rules: true,
        draw: bottom_trousers,
    },
    Sample {
        file_name: "dress.png",
        encoding: Encoding::Png,
        passes_rules: true,
        draw: dress,
    },
    Sample {
        file_name: "top-shirt.png",
        encoding: Encoding::Png,
        passes_rules: true,
        draw: top_shirt,
    },
    Sample {
        file_name: "bottom-skirt.png",
        encoding: Encoding::Png,
        passes_rules: true,
        draw: bottom_skirt,
    },
    Sample {
        file_name: "jumpsuit.png",
        encoding: Encoding::Png,
        passes_rules: true,
        draw: jumpsuit,
    },
];

/// JPEG quality of the photo samples: high enough to keep edges clean, low enough to stay
/// far below the 5 MB limit.
const JPEG_QUALITY: u8 = 88;

/// Encodes an image as a sample file would be stored.
pub fn encode(img: &RgbaImage, encoding: Encoding) -> image::ImageResult<Vec<u8>> {
    let mut out = Vec::new();
    match encoding {
        Encoding::Jpeg => {
            // JPEG has no alpha channel, so the samples are flattened to RGB first.
            let rgb = image::DynamicImage::ImageRgba8(img.clone()).to_rgb8();
            JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).encode_image(&rgb)?;
        }
        Encoding::Png => {
            let rgb = image::DynamicImage::ImageRgba8(img.clone()).to_rgb8();
            rgb.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)?;
        }
    }
    Ok(out)
}

impl Sample {
    /// Draws and encodes this sample.
    pub fn render(&self) -> image::ImageResult<Vec<u8>> {
        encode(&(self.draw)(), self.encoding)
    }
}

/// Finds a sample by file name.
pub fn sample(file_name: &str) -> Option<&'static Sample> {
    SAMPLES.iter().find(|s| s.file_name == file_name)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use tryon_api::rules::{RuleViolation, check_image};

    use super::*;

    fn samples_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../www/samples")
    }

    #[test]
    fn the_committed_sample_files_obey_the_input_rules() {
        for sample in SAMPLES {
            let path = samples_dir().join(sample.file_name);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; run `cargo run -p dashscope-sim --bin make-samples`",
                    path.display()
                )
            });
            let verdict = check_image(&bytes);
            if sample.passes_rules {
                let facts = verdict.unwrap_or_else(|v| panic!("{}: {v}", sample.file_name));
                assert!(
                    facts.bytes < 1024 * 1024,
                    "{} is {} bytes",
                    sample.file_name,
                    facts.bytes
                );
            } else {
                assert!(
                    matches!(verdict, Err(RuleViolation::SideTooSmall { .. })),
                    "{}: {verdict:?}",
                    sample.file_name
                );
            }
        }
        let person =
            check_image(&std::fs::read(samples_dir().join("person-1.jpg")).unwrap()).unwrap();
        assert_eq!((person.width, person.height), (768, 1536));
        let tee = check_image(&std::fs::read(samples_dir().join("top-tee.png")).unwrap()).unwrap();
        assert_eq!((tee.width, tee.height), (600, 600));
    }
}

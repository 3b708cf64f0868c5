//! What the dialog offers a shopper: the proxy's capabilities of its current upstream, turned into modes, picture sizes, a face choice and photo formats.
//!
//! The proxy answers `GET /api/v1/tryon/capabilities` with what its upstream can do
//! ([`Capabilities`]). The loader (`www/loader.js`) asks once, on the first tap, while the
//! bundle downloads, and hands the parsed answer to `mount`, which reads it with
//! [`Offer::from_js`]: the browser's JSON parser and a few field reads cost the bundle far
//! less than a serde reader of the type, or a dialog redrawn when a later answer comes.
//! [`Offer::from_capabilities`] is the same mapping from the typed value, and the tests
//! hold the two to each other. When the call fails (an older proxy, a network hiccup),
//! [`Offer::default`] offers everything the seed upstream could do, which is what the
//! widget always offered.
//! Everything here is pure so that it is tested natively and in the browser.

use tryon_api::Resolution;
use tryon_api::generation::{Capabilities, FaceChoice, KeepOwnGarment};
use tryon_api::mode::TryOnMode;
use tryon_api::rules::ImageFormat;
use wasm_bindgen::JsValue;

use crate::js_object;
use crate::mode::{Choices, GarmentKind, mode_name};

/// Every photo format the contract's rules recognise, in the order messages list them.
pub const ALL_FORMATS: [ImageFormat; 5] = [
    ImageFormat::Jpeg,
    ImageFormat::Png,
    ImageFormat::Bmp,
    ImageFormat::Heic,
    ImageFormat::Webp,
];

/// Every picture size, in the order the size choice lists them.
pub const ALL_RESOLUTIONS: [Resolution; 3] = [
    Resolution::Original,
    Resolution::Portrait1024,
    Resolution::Portrait1280,
];

/// The options the dialog shows, and the photos it takes.
///
/// The sets are bit masks over [`TryOnMode::ALL`], [`ALL_RESOLUTIONS`] and [`ALL_FORMATS`],
/// so that an offer is `Copy`: closures and problems carry it for free, which keeps the
/// bundle smaller than lists would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    modes: u8,
    resolutions: u8,
    /// How a new face is honoured; `None` hides the face choice.
    pub face: Option<FaceChoice>,
    formats: u8,
    /// Whether the keep-own modes segment the photo first: not when the upstream replaces
    /// only the given garment's category (`keep_own_garment: "category"`, FASHN), since it
    /// keeps the rest of the outfit by itself.
    pub segments_keep_own: bool,
}

/// The mask of the items of `all` that `keep` keeps.
fn mask<T: Copy>(all: &[T], keep: impl Fn(T) -> bool) -> u8 {
    all.iter()
        .enumerate()
        .filter(|(_, item)| keep(**item))
        .fold(0, |mask, (index, _)| mask | 1 << index)
}

/// Whether `mask` holds `item` of `all`.
fn holds<T: PartialEq>(mask: u8, all: &[T], item: &T) -> bool {
    all.iter()
        .position(|candidate| candidate == item)
        .is_some_and(|index| mask & 1 << index != 0)
}

impl Default for Offer {
    /// Everything, as the widget offered before upstreams could differ.
    fn default() -> Offer {
        Offer {
            modes: mask(&TryOnMode::ALL, |_| true),
            resolutions: mask(&ALL_RESOLUTIONS, |_| true),
            face: Some(FaceChoice::Exact),
            formats: mask(&ALL_FORMATS, |_| true),
            segments_keep_own: true,
        }
    }
}

impl Offer {
    /// What to offer for an upstream that can do `capabilities`. Formats the widget does
    /// not know are ignored: it could not read their headers anyway.
    pub fn from_capabilities(capabilities: &Capabilities) -> Offer {
        Offer {
            modes: mask(&TryOnMode::ALL, |mode| capabilities.offers_mode(mode)),
            resolutions: mask(&ALL_RESOLUTIONS, |size| {
                capabilities.offers_resolution(size)
            }),
            face: capabilities.face_choice,
            formats: mask(&ALL_FORMATS, |format| {
                capabilities
                    .photo_formats
                    .iter()
                    .any(|name| name == format.name())
            }),
            segments_keep_own: capabilities.keep_own_garment != KeepOwnGarment::Category,
        }
    }

    /// What to offer for the proxy's capabilities answer as the browser parsed it (the
    /// contract's [`Capabilities`] in JSON), reading only the fields the dialog needs, by
    /// the contract's wire names. `None` when it is not such an answer, so that the dialog
    /// keeps offering everything. A missing or unknown `face_choice` hides the face
    /// choice: offering a switch nobody promised would be worse than not offering it.
    pub fn from_js(answer: &JsValue) -> Option<Offer> {
        let field = |name: &str| js_object::get(answer, name);
        let list = |name: &str| {
            field(name)
                .filter(js_sys::Array::is_array)
                .map(|value| js_sys::Array::from(&value))
        };
        let has = |list: &js_sys::Array, wanted: &JsValue| list.includes(wanted, 0);
        let (modes, sizes, formats) =
            (list("modes")?, list("resolutions")?, list("photo_formats")?);
        let face = match field("face_choice")?.as_string().as_deref() {
            Some("exact") => Some(FaceChoice::Exact),
            Some("best_effort") => Some(FaceChoice::BestEffort),
            _ => None,
        };
        Some(Offer {
            modes: mask(&TryOnMode::ALL, |mode| {
                has(&modes, &JsValue::from_str(mode_name(mode)))
            }),
            resolutions: mask(&ALL_RESOLUTIONS, |size| {
                has(&sizes, &JsValue::from_f64(size.as_wire() as f64))
            }),
            face,
            formats: mask(&ALL_FORMATS, |format| {
                has(&formats, &JsValue::from_str(format.name()))
            }),
            segments_keep_own: field("keep_own_garment")
                .and_then(|value| value.as_string())
                .is_none_or(|how| how != "category"),
        })
    }

    /// Whether the upstream can do `mode`.
    pub fn offers_mode(&self, mode: TryOnMode) -> bool {
        holds(self.modes, &TryOnMode::ALL, &mode)
    }

    /// Whether the size choice lists `resolution`.
    pub fn offers_resolution(&self, resolution: Resolution) -> bool {
        holds(self.resolutions, &ALL_RESOLUTIONS, &resolution)
    }

    /// The picture sizes to list, in [`ALL_RESOLUTIONS`] order.
    pub fn resolutions(&self) -> Vec<Resolution> {
        ALL_RESOLUTIONS
            .into_iter()
            .filter(|size| self.offers_resolution(*size))
            .collect()
    }

    /// Whether a photo of `format` may be uploaded.
    pub fn accepts(&self, format: ImageFormat) -> bool {
        holds(self.formats, &ALL_FORMATS, &format)
    }

    /// The photo formats the upstream takes, in [`ALL_FORMATS`] order.
    pub fn formats(&self) -> impl Iterator<Item = ImageFormat> + '_ {
        ALL_FORMATS
            .into_iter()
            .filter(|format| self.accepts(*format))
    }

    /// The modes a shopper may choose for a product of `kind`, its default first. Empty
    /// when the upstream can do none of them: the dialog then refuses to start.
    pub fn modes_for(&self, kind: GarmentKind) -> Vec<TryOnMode> {
        kind.modes()
            .iter()
            .copied()
            .filter(|mode| self.offers_mode(*mode))
            .collect()
    }

    /// The file inputs' `accept` attribute: any image while every format is taken, so
    /// that phones keep offering their camera roll as before; else the accepted types.
    pub fn accept_attribute(&self) -> String {
        if self.formats == Offer::default().formats {
            return "image/*".to_owned();
        }
        let mut accept = String::new();
        for format in self.formats() {
            if !accept.is_empty() {
                accept.push(',');
            }
            accept.push_str(format.mime());
        }
        accept
    }

    /// `choices` moved onto what is offered: a mode, size or new face the upstream cannot
    /// do is replaced by the product's first offered mode, the first size, and the
    /// shopper's own face, so that a request never asks for what will be refused.
    pub fn fit(&self, kind: GarmentKind, choices: Choices) -> Choices {
        let modes = self.modes_for(kind);
        let sizes = self.resolutions();
        Choices {
            mode: if modes.contains(&choices.mode) {
                choices.mode
            } else {
                modes.first().copied().unwrap_or(choices.mode)
            },
            keep_face: choices.keep_face || self.face.is_none(),
            resolution: if sizes.contains(&choices.resolution) {
                choices.resolution
            } else {
                sizes.first().copied().unwrap_or(choices.resolution)
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tryon_api::generation::SuccessorModel;

    #[test]
    fn the_default_offers_everything() {
        let offer = Offer::default();
        assert_eq!(
            offer,
            Offer::from_capabilities(&Capabilities::aitryon("aitryon-plus"))
        );
        assert_eq!(offer.accept_attribute(), "image/*");
        for kind in [GarmentKind::Top, GarmentKind::Bottom] {
            assert_eq!(offer.modes_for(kind), kind.modes());
        }
    }

    #[test]
    fn fashn_keeps_the_own_garment_without_segmentation() {
        let fashn = Capabilities {
            keep_own_garment: KeepOwnGarment::Category,
            ..Capabilities::aitryon("tryon-v1.6")
        };
        assert!(!Offer::from_capabilities(&fashn).segments_keep_own);
        let successor = Capabilities::successor(&SuccessorModel::default_model());
        assert!(Offer::from_capabilities(&successor).segments_keep_own);
        assert!(Offer::default().segments_keep_own);
    }

    #[test]
    fn the_successor_refuses_heic_and_makes_the_face_a_wish() {
        let offer =
            Offer::from_capabilities(&Capabilities::successor(&SuccessorModel::default_model()));
        assert!(!offer.accepts(ImageFormat::Heic));
        assert!(offer.accepts(ImageFormat::Jpeg));
        assert_eq!(offer.face, Some(FaceChoice::BestEffort));
        assert_eq!(offer.resolutions(), ALL_RESOLUTIONS);
        assert_eq!(
            offer.accept_attribute(),
            "image/jpeg,image/png,image/bmp,image/webp"
        );
    }
}

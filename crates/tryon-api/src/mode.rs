//! The six try-on modes of the spec and how each becomes one or two upstream calls.

use serde::{Deserialize, Serialize};

use crate::wire::{MODEL_PARSING, SegmentInput, SegmentParameters, SegmentRequest, TryOnInput};

/// A garment region that segmentation can cut out of a person photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClothesType {
    Upper,
    Lower,
    Dress,
}

/// What the shopper wants to try on, and what of their own outfit they keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TryOnMode {
    /// A top; the model generates a bottom.
    TopOnly,
    /// A top over the person's own bottom (segmentation of the lower region first).
    TopKeepOwnBottom,
    /// A bottom; the model generates a top.
    BottomOnly,
    /// A bottom under the person's own top (segmentation of the upper region first).
    BottomKeepOwnTop,
    /// A top and a bottom together.
    TopAndBottom,
    /// A dress or jumpsuit, sent as the top garment alone.
    Dress,
}

/// The garments of the product page, as URLs the upstream can fetch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Garments {
    pub top: Option<String>,
    pub bottom: Option<String>,
}

/// A garment the chosen mode needs but the product did not give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingGarment {
    pub mode: TryOnMode,
    pub needs: ClothesType,
}

impl std::fmt::Display for MissingGarment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let which = match self.needs {
            ClothesType::Upper => "a top garment image",
            ClothesType::Lower => "a bottom garment image",
            ClothesType::Dress => "a dress or jumpsuit image",
        };
        write!(f, "the mode {:?} needs {which}", self.mode)
    }
}

impl std::error::Error for MissingGarment {}

impl TryOnMode {
    pub const ALL: [TryOnMode; 6] = [
        TryOnMode::TopOnly,
        TryOnMode::TopKeepOwnBottom,
        TryOnMode::BottomOnly,
        TryOnMode::BottomKeepOwnTop,
        TryOnMode::TopAndBottom,
        TryOnMode::Dress,
    ];

    /// The region to cut out of the person photo first, for the keep-own modes.
    pub fn segmentation(self) -> Option<ClothesType> {
        match self {
            TryOnMode::TopKeepOwnBottom => Some(ClothesType::Lower),
            TryOnMode::BottomKeepOwnTop => Some(ClothesType::Upper),
            _ => None,
        }
    }

    /// The segmentation request of a keep-own mode, or `None` when one call suffices.
    pub fn segment_request(self, person_image_url: &str) -> Option<SegmentRequest> {
        self.segmentation().map(|region| SegmentRequest {
            model: MODEL_PARSING.to_owned(),
            input: SegmentInput {
                image_url: person_image_url.to_owned(),
            },
            parameters: SegmentParameters {
                clothes_type: vec![region],
            },
        })
    }

    /// The try-on `input` for this mode. `own_crop` is the segmentation's
    /// `crop_img_url` in the keep-own modes and is ignored otherwise.
    pub fn tryon_input(
        self,
        person_image_url: &str,
        garments: &Garments,
        own_crop: Option<&str>,
    ) -> Result<TryOnInput, MissingGarment> {
        let need = |garment: &Option<String>, needs| {
            garment.clone().ok_or(MissingGarment { mode: self, needs })
        };
        let (top, bottom) = match self {
            TryOnMode::TopOnly => (Some(need(&garments.top, ClothesType::Upper)?), None),
            TryOnMode::BottomOnly => (None, Some(need(&garments.bottom, ClothesType::Lower)?)),
            TryOnMode::TopAndBottom => (
                Some(need(&garments.top, ClothesType::Upper)?),
                Some(need(&garments.bottom, ClothesType::Lower)?),
            ),
            TryOnMode::Dress => (Some(need(&garments.top, ClothesType::Dress)?), None),
            TryOnMode::TopKeepOwnBottom => (
                Some(need(&garments.top, ClothesType::Upper)?),
                own_crop.map(str::to_owned),
            ),
            TryOnMode::BottomKeepOwnTop => (
                own_crop.map(str::to_owned),
                Some(need(&garments.bottom, ClothesType::Lower)?),
            ),
        };
        Ok(TryOnInput {
            person_image_url: person_image_url.to_owned(),
            top_garment_url: top,
            bottom_garment_url: bottom,
            coarse_image_url: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn garments() -> Garments {
        Garments {
            top: Some("https://shop/top.jpg".into()),
            bottom: Some("https://shop/bottom.jpg".into()),
        }
    }

    #[test]
    fn single_garment_modes_send_one_garment_and_no_segmentation() {
        let top = TryOnMode::TopOnly
            .tryon_input("p", &garments(), None)
            .unwrap();
        assert_eq!(top.top_garment_url.as_deref(), Some("https://shop/top.jpg"));
        assert_eq!(top.bottom_garment_url, None);
        let dress = TryOnMode::Dress
            .tryon_input("p", &garments(), None)
            .unwrap();
        assert_eq!(dress.bottom_garment_url, None);
        let bottom = TryOnMode::BottomOnly
            .tryon_input("p", &garments(), None)
            .unwrap();
        assert_eq!(bottom.top_garment_url, None);
        for mode in [
            TryOnMode::TopOnly,
            TryOnMode::BottomOnly,
            TryOnMode::TopAndBottom,
            TryOnMode::Dress,
        ] {
            assert!(mode.segment_request("p").is_none());
        }
    }

    #[test]
    fn keep_own_modes_segment_first_and_pass_the_crop() {
        let seg = TryOnMode::TopKeepOwnBottom
            .segment_request("https://p")
            .unwrap();
        assert_eq!(seg.parameters.clothes_type, vec![ClothesType::Lower]);
        assert_eq!(seg.model, "aitryon-parsing-v1");
        let input = TryOnMode::TopKeepOwnBottom
            .tryon_input("https://p", &garments(), Some("https://crop"))
            .unwrap();
        assert_eq!(input.bottom_garment_url.as_deref(), Some("https://crop"));
        let input = TryOnMode::BottomKeepOwnTop
            .tryon_input("https://p", &garments(), Some("https://crop"))
            .unwrap();
        assert_eq!(input.top_garment_url.as_deref(), Some("https://crop"));
        assert_eq!(
            TryOnMode::BottomKeepOwnTop.segmentation(),
            Some(ClothesType::Upper)
        );
    }

    #[test]
    fn a_mode_without_its_garment_is_refused() {
        let only_top = Garments {
            top: Some("t".into()),
            bottom: None,
        };
        let err = TryOnMode::TopAndBottom
            .tryon_input("p", &only_top, None)
            .unwrap_err();
        assert_eq!(err.needs, ClothesType::Lower);
        assert!(err.to_string().contains("bottom garment"));
    }
}

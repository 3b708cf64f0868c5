//! From the product's garment kind and the shopper's choices to the contract's try-on mode and options.
//!
//! The product page says what it sells (`garment-kind`); the shopper may choose how to wear
//! a single garment (with a generated counterpart, or over their own clothes) and, folded
//! away, the face and the picture size. Everything here is pure so it is tested natively.

use tryon_api::mode::{Garments, TryOnMode};
use tryon_api::wire::TryOnParameters;
use tryon_api::{Locale, Resolution};

use crate::i18n;

/// What the product is, as the page declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GarmentKind {
    /// A top: shirt, tee, jacket.
    #[default]
    Top,
    /// A bottom: trousers, skirt, shorts.
    Bottom,
    /// A top and a bottom sold together.
    Outfit,
    /// A dress or jumpsuit.
    Dress,
}

impl GarmentKind {
    /// Reads the `garment-kind` attribute; without one the garments decide (both: an
    /// outfit, only a bottom: a bottom, otherwise a top).
    pub fn parse(attribute: Option<&str>, garments: &Garments) -> GarmentKind {
        match attribute
            .map(|value| value.trim().to_ascii_lowercase())
            .as_deref()
        {
            Some("top") => GarmentKind::Top,
            Some("bottom") => GarmentKind::Bottom,
            Some("outfit") => GarmentKind::Outfit,
            Some("dress") => GarmentKind::Dress,
            _ => match (&garments.top, &garments.bottom) {
                (Some(_), Some(_)) => GarmentKind::Outfit,
                (None, Some(_)) => GarmentKind::Bottom,
                _ => GarmentKind::Top,
            },
        }
    }

    /// The wire name, for events.
    pub fn name(self) -> &'static str {
        match self {
            GarmentKind::Top => "top",
            GarmentKind::Bottom => "bottom",
            GarmentKind::Outfit => "outfit",
            GarmentKind::Dress => "dress",
        }
    }

    /// The modes a shopper can choose between for this kind, the default first.
    pub fn modes(self) -> &'static [TryOnMode] {
        match self {
            GarmentKind::Top => &[TryOnMode::TopOnly, TryOnMode::TopKeepOwnBottom],
            GarmentKind::Bottom => &[TryOnMode::BottomOnly, TryOnMode::BottomKeepOwnTop],
            GarmentKind::Outfit => &[TryOnMode::TopAndBottom],
            GarmentKind::Dress => &[TryOnMode::Dress],
        }
    }

    /// The garment to show as "You are trying on": the top (or dress) first.
    pub fn preview(self, garments: &Garments) -> Option<String> {
        match self {
            GarmentKind::Bottom => garments.bottom.clone().or_else(|| garments.top.clone()),
            _ => garments.top.clone().or_else(|| garments.bottom.clone()),
        }
    }
}

/// The words of a mode in the "How to wear it" choice.
pub fn mode_label(locale: Locale, mode: TryOnMode) -> &'static str {
    let texts = i18n::texts(locale);
    match mode {
        TryOnMode::TopOnly => texts.with_generated_bottom,
        TryOnMode::TopKeepOwnBottom => texts.keep_own_bottoms,
        TryOnMode::BottomOnly => texts.with_generated_top,
        TryOnMode::BottomKeepOwnTop => texts.keep_own_top,
        TryOnMode::TopAndBottom | TryOnMode::Dress => texts.try_it_on,
    }
}

/// The wire name of a mode, for events and the DOM (`data-mode`).
pub fn mode_name(mode: TryOnMode) -> &'static str {
    match mode {
        TryOnMode::TopOnly => "top_only",
        TryOnMode::TopKeepOwnBottom => "top_keep_own_bottom",
        TryOnMode::BottomOnly => "bottom_only",
        TryOnMode::BottomKeepOwnTop => "bottom_keep_own_top",
        TryOnMode::TopAndBottom => "top_and_bottom",
        TryOnMode::Dress => "dress",
    }
}

/// What the shopper chose for one try-on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choices {
    pub mode: TryOnMode,
    /// Keep the shopper's own face (`restore_face`), the default.
    pub keep_face: bool,
    pub resolution: Resolution,
}

impl Choices {
    /// The defaults for a product: its first mode, the shopper's face, the photo's size.
    pub fn for_kind(kind: GarmentKind) -> Choices {
        Choices {
            mode: kind.modes()[0],
            keep_face: true,
            resolution: Resolution::Original,
        }
    }

    /// The create call's `parameters`.
    pub fn parameters(&self) -> TryOnParameters {
        TryOnParameters {
            resolution: Some(self.resolution),
            restore_face: Some(self.keep_face),
            gender: None,
            // Only a dress says so: every other body stays the seed's own.
            one_piece: (self.mode == TryOnMode::Dress).then_some(true),
        }
    }
}

/// The resolution a `<select>` value stands for (the wire numbers).
pub fn resolution_from_value(value: &str) -> Resolution {
    match value {
        "1024" => Resolution::Portrait1024,
        "1280" => Resolution::Portrait1280,
        _ => Resolution::Original,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn garments(top: bool, bottom: bool) -> Garments {
        Garments {
            top: top.then(|| "https://shop/t.png".to_owned()),
            bottom: bottom.then(|| "https://shop/b.png".to_owned()),
        }
    }

    #[test]
    fn the_attribute_wins_and_the_garments_decide_without_it() {
        assert_eq!(
            GarmentKind::parse(Some(" Dress "), &garments(true, false)),
            GarmentKind::Dress
        );
        assert_eq!(
            GarmentKind::parse(None, &garments(true, true)),
            GarmentKind::Outfit
        );
        assert_eq!(
            GarmentKind::parse(Some("socks"), &garments(false, true)),
            GarmentKind::Bottom
        );
        assert_eq!(
            GarmentKind::parse(None, &garments(true, false)),
            GarmentKind::Top
        );
    }

    #[test]
    fn every_mode_is_reachable_from_exactly_one_kind() {
        let mut reached: Vec<TryOnMode> = [
            GarmentKind::Top,
            GarmentKind::Bottom,
            GarmentKind::Outfit,
            GarmentKind::Dress,
        ]
        .iter()
        .flat_map(|kind| kind.modes().iter().copied())
        .collect();
        assert_eq!(reached.len(), TryOnMode::ALL.len());
        for mode in TryOnMode::ALL {
            reached.retain(|m| *m != mode);
        }
        assert!(reached.is_empty());
    }

    #[test]
    fn only_the_keep_own_choices_segment_first() {
        assert!(GarmentKind::Top.modes()[1].segmentation().is_some());
        assert!(GarmentKind::Bottom.modes()[1].segmentation().is_some());
        assert!(GarmentKind::Top.modes()[0].segmentation().is_none());
        assert_eq!(GarmentKind::Dress.modes(), &[TryOnMode::Dress]);
    }

    #[test]
    fn the_choices_become_the_wire_parameters() {
        let mut choices = Choices::for_kind(GarmentKind::Outfit);
        assert_eq!(choices.mode, TryOnMode::TopAndBottom);
        choices.keep_face = false;
        choices.resolution = resolution_from_value("1280");
        let json = serde_json::to_value(choices.parameters()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"resolution": 1280, "restore_face": false})
        );
        // A dress says it is one, so that an upstream asked for a category can be told.
        let dress = serde_json::to_value(Choices::for_kind(GarmentKind::Dress).parameters());
        assert_eq!(
            dress.unwrap(),
            serde_json::json!({"resolution": -1, "restore_face": true, "one_piece": true})
        );
        assert_eq!(resolution_from_value("-1"), Resolution::Original);
    }

    #[test]
    fn the_preview_shows_the_product_garment() {
        assert_eq!(
            GarmentKind::Bottom
                .preview(&garments(true, true))
                .as_deref(),
            Some("https://shop/b.png")
        );
        assert_eq!(
            GarmentKind::Dress
                .preview(&garments(true, false))
                .as_deref(),
            Some("https://shop/t.png")
        );
    }
}

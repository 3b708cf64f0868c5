//! The widget's settings, read from the attributes of the `<virtual-tryon>` element that hosts it.
//!
//! ```html
//! <virtual-tryon proxy="" garment-top="samples/top-tee.png" garment-kind="top"
//!     product-name="Classic Tee" product-id="tee-01" locale="en" samples="on"></virtual-tryon>
//! ```
//!
//! `proxy` is the proxy's base URL (empty: the page's own origin), `garment-top` and
//! `garment-bottom` are garment images (relative URLs are resolved against the page,
//! because the upstream service fetches them), `garment-kind` is `top`, `bottom`, `outfit`
//! or `dress`, `locale` is a BCP 47 tag (absent: the browser's language), `samples="off"`
//! hides the sample models and `retention-hours` is what the consent line promises.
//! The `data-` spelling of every attribute is read too, for pages that cannot use custom
//! attribute names.

use tryon_api::Locale;
use tryon_api::mode::Garments;

use crate::mode::GarmentKind;
use crate::offer::Offer;

/// How long the proxy keeps photos unless the page says otherwise (its default).
pub const DEFAULT_RETENTION_HOURS: u32 = 24;

/// Everything the widget needs to know about the page it lives on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetConfig {
    /// Base URL of the proxy; empty for the page's own origin.
    pub proxy: String,
    /// Absolute garment URLs.
    pub garments: Garments,
    /// What the product is, which decides the try-on modes.
    pub kind: GarmentKind,
    /// The product's name, for the garment preview's alternative text and downloads.
    pub product_name: String,
    /// The shop's product id, passed back in events; the name when the page gives none.
    pub product_id: String,
    /// The language of every string the widget shows.
    pub locale: Locale,
    /// Whether the sample models are offered.
    pub samples: bool,
    /// Where the bundle's files (samples, styles) live, ending in `/`.
    pub asset_base: String,
    /// The anonymous shopper token from the proxy's status answer, sent back in a header
    /// for cross-site pages whose browsers block the proxy's cookie.
    pub shopper_token: Option<String>,
    /// What the consent line says about how long the photo is kept.
    pub retention_hours: u32,
    /// What the proxy's current upstream can do, from its capabilities answer; everything
    /// until one is known.
    pub offer: Offer,
}

impl WidgetConfig {
    /// Reads the settings from `host`'s attributes, resolving URLs against the page.
    pub fn from_element(host: &web_sys::Element) -> WidgetConfig {
        let attr = |name: &str| {
            host.get_attribute(name)
                .or_else(|| host.get_attribute(&format!("data-{name}")))
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let base = web_sys::window()
            .and_then(|window| window.document())
            .and_then(|document| document.base_uri().ok().flatten());
        let garment = |name: &str| attr(name).map(|href| absolute_url(&href, base.as_deref()));
        let garments = Garments {
            top: garment("garment-top"),
            bottom: garment("garment-bottom"),
        };
        let navigator_language = web_sys::window().and_then(|window| window.navigator().language());
        let product_name = attr("product-name").unwrap_or_default();
        WidgetConfig {
            proxy: attr("proxy").unwrap_or_default(),
            kind: GarmentKind::parse(attr("garment-kind").as_deref(), &garments),
            garments,
            product_id: attr("product-id").unwrap_or_else(|| product_name.clone()),
            product_name,
            locale: pick_locale(attr("locale").as_deref(), navigator_language.as_deref()),
            samples: attr("samples").is_none_or(|value| is_on(&value)),
            asset_base: String::new(),
            shopper_token: None,
            retention_hours: attr("retention-hours")
                .and_then(|value| value.parse().ok())
                .unwrap_or(DEFAULT_RETENTION_HOURS),
            offer: Offer::default(),
        }
    }

    /// A configuration for a product with only a top, for tests and examples.
    pub fn top(proxy: &str, top: &str, product_name: &str, locale: Locale) -> WidgetConfig {
        WidgetConfig {
            proxy: proxy.to_owned(),
            garments: Garments {
                top: Some(top.to_owned()),
                bottom: None,
            },
            kind: GarmentKind::Top,
            product_name: product_name.to_owned(),
            product_id: product_name.to_owned(),
            locale,
            samples: true,
            asset_base: String::new(),
            shopper_token: None,
            retention_hours: DEFAULT_RETENTION_HOURS,
            offer: Offer::default(),
        }
    }
}

/// Whether a switch attribute says on; anything but an explicit "off" word is on.
pub fn is_on(value: &str) -> bool {
    !matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "off" | "false" | "no" | "0"
    )
}

/// The page's explicit locale wins over the browser's language; English is the fallback.
pub fn pick_locale(data_locale: Option<&str>, navigator_language: Option<&str>) -> Locale {
    data_locale
        .or(navigator_language)
        .map(Locale::from_tag)
        .unwrap_or_default()
}

/// `href` resolved against `base` like `new URL(href, base)`; left as it is when the
/// browser cannot resolve it, so that the service reports the bad URL rather than the widget
/// hiding it.
pub fn absolute_url(href: &str, base: Option<&str>) -> String {
    let resolved = match base {
        Some(base) => web_sys::Url::new_with_base(href, base),
        None => web_sys::Url::new(href),
    };
    resolved
        .map(|url| url.href())
        .unwrap_or_else(|_| href.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_locale_wins_over_the_browser_and_english_is_the_default() {
        assert_eq!(pick_locale(Some("zh-CN"), Some("en-US")), Locale::ZhCn);
        assert_eq!(pick_locale(Some("en"), Some("zh-CN")), Locale::En);
        assert_eq!(pick_locale(None, Some("zh-TW")), Locale::ZhCn);
        assert_eq!(pick_locale(None, None), Locale::En);
    }

    #[test]
    fn switches_are_on_unless_they_say_off() {
        assert!(is_on("on") && is_on("") && is_on("yes"));
        assert!(!is_on("off") && !is_on("FALSE") && !is_on(" 0 "));
    }
}

//! The widget's settings, read from the `data-*` attributes of the element it mounts into.
//!
//! ```html
//! <div id="tryon-root" data-proxy="" data-garment-top="samples/top-tee.png"
//!      data-product-name="Classic Tee" data-locale="en"></div>
//! ```
//!
//! `data-proxy` is the proxy's base URL (empty: the page's own origin), `data-garment-top`
//! and `data-garment-bottom` are garment images (relative URLs are resolved against the
//! page, because the upstream service fetches them), `data-locale` is a BCP 47 tag
//! (absent: the browser's language).

use tryon_api::Locale;
use tryon_api::mode::Garments;

use crate::flow::Job;

/// Everything the widget needs to know about the page it lives on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetConfig {
    /// Base URL of the proxy; empty for the page's own origin.
    pub proxy: String,
    /// Absolute garment URLs.
    pub garments: Garments,
    /// The product's name, for the garment preview's alternative text.
    pub product_name: String,
    /// The language of every string the widget shows.
    pub locale: Locale,
}

impl WidgetConfig {
    /// Reads the settings from `root`'s attributes, resolving garment URLs against the page.
    pub fn from_element(root: &web_sys::Element) -> WidgetConfig {
        let attr = |name: &str| {
            root.get_attribute(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let base = web_sys::window()
            .and_then(|window| window.document())
            .and_then(|document| document.base_uri().ok().flatten());
        let garment = |name: &str| attr(name).map(|href| absolute_url(&href, base.as_deref()));
        let navigator_language = web_sys::window().and_then(|window| window.navigator().language());
        WidgetConfig {
            proxy: attr("data-proxy").unwrap_or_default(),
            garments: Garments {
                top: garment("data-garment-top"),
                bottom: garment("data-garment-bottom"),
            },
            product_name: attr("data-product-name").unwrap_or_default(),
            locale: pick_locale(
                attr("data-locale").as_deref(),
                navigator_language.as_deref(),
            ),
        }
    }

    /// The part of the settings one try-on needs.
    pub fn job(&self) -> Job {
        Job {
            proxy: self.proxy.clone(),
            garments: self.garments.clone(),
        }
    }
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
}

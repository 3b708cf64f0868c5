//! The shop's rules for every paid call: allowed page origins, allowed garment images, the anonymous shopper identity with its daily limit, and the shop's daily image and spend caps.
//!
//! Shopper identity. The proxy issues an anonymous token on `GET /api/v1/tryon/status`,
//! two ways at once, and accepts either on later calls:
//! - an HttpOnly cookie `tryon_shopper`. It is what works for the same-origin demo page
//!   (the dev server forwards `/api/` to the proxy, and `fetch` sends same-origin cookies
//!   by default, so the widget needs no change). Over HTTPS it is `SameSite=None; Secure`
//!   so that a cross-site widget using `credentials: "include"` can use it too; over
//!   plain HTTP browsers refuse `Secure`, so it is `SameSite=Lax` there.
//! - the same token in the answer's `X-Tryon-Shopper` header and `shopper_token` field,
//!   for cross-site widgets: browsers increasingly block third-party cookies (Safari,
//!   Firefox, Chrome's tracking protection), while a header the widget keeps and sends
//!   back always arrives. CORS allows and exposes that header.
//!
//! Without a valid token the shopper is known by the connection's IP address, so that a
//! widget that sends neither still has a (shared, coarser) daily limit. Tokens are
//! `{random id}.{HMAC-SHA256 of the id}`: a forged or altered token is ignored, and IP
//! addresses are kept only as keyed hashes, never in clear in the database.
//!
//! A request that came through the shop's Shopify app proxy, its signature verified
//! ([`crate::shopify`]), with a logged-in customer is that customer's, whatever token it
//! carries: the key is a keyed hash of the shop and the customer id (kept, like
//! addresses, never in clear), so the customer's jobs, photos and limits are the same on
//! every device. Without a customer it is a guest's, known by token as above, or else by
//! the address Shopify reports in `X-Forwarded-For`, since the connection is Shopify's.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use tryon_api::ErrorKind;
use tryon_api::generation::{MODEL_QWEN_IMAGE_2, MODEL_QWEN_IMAGE_2_PRO};
use tryon_api::proxy::FILES_PATH;
use tryon_api::wire::{MODEL_PARSING, MODEL_TRYON, MODEL_TRYON_PLUS};

use crate::error::ApiError;
use crate::shopify::AppProxyCaller;
use crate::state::AppState;
use crate::storage::FileId;
use crate::store::{FileKind, Totals, UploadLimits};
use tryon_clock::Clock;

/// The documented list prices in CNY: per successful output image for the try-on and
/// multi-image editing models, per input image for segmentation.
pub const DEFAULT_PRICES_CNY: &[(&str, f64)] = &[
    (MODEL_TRYON_PLUS, 0.50),
    (MODEL_TRYON, 0.20),
    (MODEL_PARSING, 0.004),
    (MODEL_QWEN_IMAGE_2, 0.20),
    (MODEL_QWEN_IMAGE_2_PRO, 0.50),
    // FASHN bills one credit per tryon-v1.6 image; 0.54 CNY is $0.075 (the on-demand price
    // of an image listed by fal.ai for the same model) at 7.2 CNY per USD. Shops on a
    // FASHN plan set their own credit price.
    (tryon_api::fashn::MODEL_TRYON, 0.54),
];

/// The cookie that carries the shopper token.
pub const SHOPPER_COOKIE: &str = "tryon_shopper";
/// The header that carries the shopper token, both ways.
pub const SHOPPER_HEADER: &str = "x-tryon-shopper";
/// How long the cookie lives: a year; the daily limit is what matters, not the token's age.
const COOKIE_MAX_AGE_SECS: u64 = 365 * 24 * 3600;
/// Days are counted in Beijing time (UTC+8), the upstream's only region and billing day.
const DAY_OFFSET_SECS: u64 = 8 * 3600;

/// The shop's rules, read from the environment.
#[derive(Debug, Clone)]
pub struct PolicySettings {
    /// `TRYON_ALLOWED_ORIGINS` holds `*`: any page may call the proxy (development only).
    pub any_origin: bool,
    /// A garment URL must start with one of these, or be a crop this proxy produced.
    /// Empty with `any_origin` means any garment is accepted.
    pub garment_prefixes: Vec<String>,
    /// Try-ons one shopper may start per day; 0 turns the limit off.
    pub shopper_daily_limit: u32,
    /// Billed try-on images per day for the whole shop.
    pub daily_image_cap: Option<u64>,
    /// CNY per day for the whole shop, try-on and segmentation together.
    pub spend_cap_cny: Option<f64>,
    /// Price per model, in CNY.
    pub prices: Vec<(String, f64)>,
    /// Signs shopper tokens; `None` uses a random secret kept in the data folder.
    pub shopper_secret: Option<SecretString>,
    /// Uploads one shopper may store within any rolling hour; 0 turns the limit off.
    pub uploads_per_hour: u32,
    /// Bytes of stored uploads one shopper may add per Beijing day; 0 turns it off.
    pub upload_bytes_per_day: u64,
    /// Uploads are refused when storing one would leave less free space than this in the
    /// data folder; 0 turns the floor off.
    pub min_free_bytes: u64,
    /// The Shopify app's API secret (`TRYON_SHOPIFY_API_SECRET`): with it, requests that
    /// Shopify's app proxy signed are verified and their customers recognised.
    pub shopify_api_secret: Option<SecretString>,
}

impl PolicySettings {
    /// The default garment prefixes: the allowed origins, each with a trailing slash so
    /// that `https://shop.example` does not also allow `https://shop.example.evil`.
    pub fn prefixes_of(origins: &[HeaderValue], any_origin: bool) -> Vec<String> {
        if any_origin {
            return Vec::new();
        }
        origins
            .iter()
            .filter_map(|o| o.to_str().ok())
            .map(|o| format!("{o}/"))
            .collect()
    }

    /// Rules that accept any http(s) garment and set no limits or caps (origins are
    /// still checked): for tests and tools that exercise something else.
    pub fn open() -> PolicySettings {
        PolicySettings {
            any_origin: false,
            garment_prefixes: vec!["http://".to_owned(), "https://".to_owned()],
            shopper_daily_limit: 0,
            daily_image_cap: None,
            spend_cap_cny: None,
            prices: DEFAULT_PRICES_CNY
                .iter()
                .map(|(m, p)| ((*m).to_owned(), *p))
                .collect(),
            shopper_secret: None,
            uploads_per_hour: 0,
            upload_bytes_per_day: 0,
            min_free_bytes: 0,
            shopify_api_secret: None,
        }
    }

    /// The per-shopper upload limits.
    pub fn upload_limits(&self) -> UploadLimits {
        UploadLimits {
            per_hour: self.uploads_per_hour,
            bytes_per_day: self.upload_bytes_per_day,
        }
    }

    /// The price of one billed image of `model`; unknown models cost the dearest known
    /// price, so that a cap is never undercounted.
    pub fn price_of(&self, model: &str) -> f64 {
        self.prices
            .iter()
            .find(|(m, _)| m == model)
            .map(|(_, p)| *p)
            .unwrap_or_else(|| self.prices.iter().map(|(_, p)| *p).fold(0.0, f64::max))
    }
}

/// The day number (days since 1970-01-01 in Beijing time) of a moment in ms.
pub fn day_of(ms: u64) -> i64 {
    ((ms / 1000 + DAY_OFFSET_SECS) / 86_400) as i64
}

/// Today's day number on `clock`.
pub fn today(clock: &Clock) -> i64 {
    day_of(clock.unix_ms())
}

/// Milliseconds from `ms` to the next Beijing midnight, when daily counts start again.
pub fn ms_until_next_day(ms: u64) -> u64 {
    let next_day = (day_of(ms) + 1) as u64;
    (next_day * 86_400 - DAY_OFFSET_SECS) * 1000 - ms
}

/// Signs and checks shopper tokens, and hashes IP addresses.
#[derive(Clone)]
pub struct ShopperKeys {
    secret: SecretString,
}

type HmacSha256 = Hmac<Sha256>;

impl ShopperKeys {
    pub fn new(secret: SecretString) -> ShopperKeys {
        ShopperKeys { secret }
    }

    fn mac_hex(&self, data: &str, bytes: usize) -> String {
        let mut mac = HmacSha256::new_from_slice(self.secret.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(data.as_bytes());
        mac.finalize().into_bytes()[..bytes]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A fresh token: a random id and its signature.
    pub fn issue(&self) -> String {
        let id = format!("{:032x}", rand::random::<u128>());
        let signature = self.mac_hex(&id, 16);
        format!("{id}.{signature}")
    }

    /// The shopper key of a token, when the token is one this proxy signed.
    pub fn verify(&self, token: &str) -> Option<String> {
        let (id, signature) = token.trim().split_once('.')?;
        let valid_id = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
        // The comparison is by the library's constant-time check, so timing tells nothing.
        let mut mac = HmacSha256::new_from_slice(self.secret.expose_secret().as_bytes()).ok()?;
        mac.update(id.as_bytes());
        let expected = hex_decode(signature)?;
        (valid_id && mac.verify_truncated_left(&expected).is_ok() && expected.len() == 16)
            .then(|| format!("t:{id}"))
    }

    /// The shopper key of a connection without a token: a keyed hash of its IP address.
    pub fn ip_key(&self, ip: &str) -> String {
        format!("ip:{}", self.mac_hex(&format!("ip:{ip}"), 12))
    }

    /// The shopper key of a shop's logged-in customer: a keyed hash of the shop and the
    /// customer id, so that the id is never stored in clear.
    pub fn customer_key(&self, shop: &str, customer_id: &str) -> String {
        format!(
            "shopify:{}",
            self.mac_hex(&format!("shopify:{shop}:{customer_id}"), 16)
        )
    }
}

fn hex_decode(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The caller of a request, as far as the shop's limits are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shopper {
    /// `shopify:{hash}`, `t:{token id}` or `ip:{hash}`; what jobs, files and the daily
    /// count are keyed by.
    pub key: String,
    /// The valid token the caller presented, if any.
    pub token: Option<String>,
    /// What the shop's Shopify app proxy said of the caller, when the request came
    /// through it with a verified signature.
    pub app_proxy: Option<AppProxyCaller>,
}

impl Shopper {
    /// Whether the shopper is a shop's logged-in customer (and keyed as one).
    pub fn is_customer(&self) -> bool {
        self.app_proxy
            .as_ref()
            .is_some_and(|caller| caller.customer().is_some())
    }
}

impl FromRequestParts<AppState> for Shopper {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(shopper_of(parts, &state.shopper_keys))
    }
}

fn shopper_of(parts: &Parts, keys: &ShopperKeys) -> Shopper {
    let headers = &parts.headers;
    // Set only by the signature check, after it verified the request.
    let app_proxy = parts.extensions.get::<AppProxyCaller>().cloned();
    let from_header = headers
        .get(SHOPPER_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let from_cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SHOPPER_COOKIE)
        .map(|(_, value)| value.to_owned());
    // The header wins: a widget that sends it chose it on purpose.
    let token = [from_header, from_cookie]
        .into_iter()
        .flatten()
        .find_map(|token| {
            keys.verify(&token)
                .map(|key| (key, token.trim().to_owned()))
        });
    // A customer Shopify vouches for is the same shopper on every device, so their key
    // wins over this device's token (which is still echoed by the status call).
    if let Some((shop, customer_id)) = app_proxy.as_ref().and_then(AppProxyCaller::customer) {
        return Shopper {
            key: keys.customer_key(shop, customer_id),
            token: token.map(|(_, token)| token),
            app_proxy,
        };
    }
    if let Some((key, token)) = token {
        return Shopper {
            key,
            token: Some(token),
            app_proxy,
        };
    }
    // Through the app proxy the connection is Shopify's, shared by every shop's
    // shoppers; Shopify names the shopper's own address in X-Forwarded-For. Elsewhere the
    // header is whatever the caller wrote, so only the connection counts.
    let forwarded = app_proxy.as_ref().and_then(|_| {
        headers
            .get("x-forwarded-for")?
            .to_str()
            .ok()?
            .split(',')
            .next()?
            .trim()
            .parse::<std::net::IpAddr>()
            .ok()
    });
    let ip = forwarded.map(|ip| ip.to_string()).unwrap_or_else(|| {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
    });
    Shopper {
        key: keys.ip_key(&ip),
        token: None,
        app_proxy,
    }
}

/// The `Set-Cookie` value for a token: `SameSite=None; Secure` when the proxy is reached
/// over HTTPS (so cross-site widgets can send it), `SameSite=Lax` over plain HTTP, where
/// browsers would drop a `Secure` cookie.
pub fn shopper_cookie(token: &str, https: bool) -> String {
    let site = if https {
        "SameSite=None; Secure"
    } else {
        "SameSite=Lax"
    };
    format!("{SHOPPER_COOKIE}={token}; Path=/api/; Max-Age={COOKIE_MAX_AGE_SECS}; HttpOnly; {site}")
}

/// Whether the caller reached the proxy over HTTPS: by the public base URL, or by the
/// `X-Forwarded-Proto` a TLS-terminating reverse proxy sets.
pub fn is_https(state: &AppState, headers: &HeaderMap) -> bool {
    state.public_base_url.starts_with("https://")
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Refuses a paid call whose page origin is missing or not allowed. Browsers send
/// `Origin` on every POST, same-origin ones included, so a missing one means a script
/// outside a browser, which the shop's budget is not for; except through the shop's
/// Shopify app proxy, which forwards only some headers: its verified signature says the
/// call was made on the shop's own storefront, so it stands in for a missing `Origin`
/// (one that is present must still be allowed).
pub fn check_origin(
    state: &AppState,
    headers: &HeaderMap,
    shopper: &Shopper,
) -> Result<(), ApiError> {
    if state.policy.any_origin {
        return Ok(());
    }
    let origin = headers.get(header::ORIGIN);
    match origin {
        Some(origin) if state.allowed_origins.iter().any(|o| o == origin) => Ok(()),
        None if shopper.app_proxy.is_some() => Ok(()),
        Some(origin) => Err(ApiError::with_detail(
            ErrorKind::OriginNotAllowed,
            format!(
                "{} is not allowed",
                origin.to_str().unwrap_or("this origin")
            ),
        )),
        None => Err(ApiError::with_detail(
            ErrorKind::OriginNotAllowed,
            "no Origin header",
        )),
    }
}

/// The id of a file hosted here, when `url` is this proxy's URL for it.
pub fn own_file_id(state: &AppState, url: &str) -> Option<FileId> {
    let prefix = format!("{}{FILES_PATH}/", state.public_base_url);
    url.strip_prefix(&prefix).and_then(FileId::parse)
}

/// The id of `raw_id` and when it expires, when it names an upload of `shopper` that is
/// still within the retention period; 404 `Proxy.PhotoExpired` otherwise, whether the
/// file is gone, past its period (the sweeper may not have reached it yet), another
/// shopper's or not an upload at all: a caller learns nothing of files not theirs.
pub async fn own_upload(
    state: &AppState,
    shopper: &Shopper,
    raw_id: &str,
) -> Result<(FileId, u64), ApiError> {
    kept_upload(state, raw_id, Some(shopper)).await
}

/// Like [`own_upload`], for whoever calls: the photo of a try-on or a segmentation. Its
/// owner is not checked there, as before photos could be remembered: a file URL is
/// unguessable, and the upstream itself fetches it without any identity.
async fn kept_upload(
    state: &AppState,
    raw_id: &str,
    owner: Option<&Shopper>,
) -> Result<(FileId, u64), ApiError> {
    let expired = || ApiError::new(ErrorKind::PhotoExpired);
    let id = FileId::parse(raw_id).ok_or_else(expired)?;
    let entry = state
        .store
        .file(id.as_str())
        .await
        .map_err(ApiError::from)?
        .ok_or_else(expired)?;
    let expires_at_ms = entry
        .created_ms
        .saturating_add(state.retention.as_millis() as u64);
    let usable = entry.kind == FileKind::Upload
        && owner.is_none_or(|shopper| entry.shopper == shopper.key)
        && state.clock.unix_ms() < expires_at_ms;
    if usable {
        Ok((id, expires_at_ms))
    } else {
        Err(expired())
    }
}

/// Refuses a person photo on this proxy that is no longer kept (404 `Proxy.PhotoExpired`):
/// a remembered photo may have been forgotten or swept since the widget last looked, and
/// the try-on would otherwise fail upstream after the whole wait. Photos elsewhere are
/// the upstream's to fetch, as before.
pub async fn check_person(state: &AppState, url: &str) -> Result<(), ApiError> {
    let prefix = format!("{}{FILES_PATH}/", state.public_base_url);
    match url.trim().strip_prefix(&prefix) {
        Some(raw_id) => kept_upload(state, raw_id, None).await.map(|_| ()),
        None => Ok(()),
    }
}

/// Refuses a garment URL that is neither under an allowed prefix nor a crop this proxy
/// produced, so that the shop pays only for its own products.
pub async fn check_garment(state: &AppState, url: &str) -> Result<(), ApiError> {
    if state.policy.any_origin && state.policy.garment_prefixes.is_empty() {
        return Ok(());
    }
    if state
        .policy
        .garment_prefixes
        .iter()
        .any(|p| url.starts_with(p.as_str()))
    {
        return Ok(());
    }
    let is_crop = match own_file_id(state, url) {
        Some(id) => state
            .store
            .file(id.as_str())
            .await
            .map_err(ApiError::from)?
            .is_some_and(|file| file.kind == FileKind::Crop),
        None => false,
    };
    if is_crop {
        return Ok(());
    }
    Err(ApiError::with_detail(ErrorKind::GarmentNotAllowed, url))
}

/// Why the shop cannot take one more try-on now, if it cannot: the daily image cap or
/// the spend cap. In-flight jobs count as if they will bill, so a burst cannot overshoot.
/// A create judges the same rule inside its own admission ([`caps_check`]); this reads
/// the figures for the status call and segmentations.
pub async fn shop_cap_reached(state: &AppState) -> Option<ErrorKind> {
    let policy = &state.policy;
    if policy.daily_image_cap.is_none() && policy.spend_cap_cny.is_none() {
        return None;
    }
    let figures = async {
        let totals = state.store.day_totals(today(&state.clock)).await?;
        let unfinished = state.store.count_unfinished().await?;
        Ok::<_, crate::store::StoreError>((totals, unfinished))
    };
    match figures.await {
        Ok((totals, unfinished)) => caps_check(state)(totals, unfinished).err(),
        Err(err) => {
            // Without the ledger the spend is unknown; refusing is the safe side.
            tracing::error!(error = %err, "the ledger could not be read; refusing paid calls");
            Some(ErrorKind::SpendCap)
        }
    }
}

/// The shop's caps as a rule on the day's bills and the jobs not yet ended: the call
/// being judged counts as one more in-flight image.
pub fn caps_check(
    state: &AppState,
) -> impl Fn(Totals, u64) -> Result<(), ErrorKind> + Send + Sync + use<> {
    let daily_image_cap = state.policy.daily_image_cap;
    let spend_cap_cny = state.policy.spend_cap_cny;
    let price = state.adapter.price_cny();
    move |totals: Totals, unfinished: u64| {
        let committed = unfinished + 1;
        if let Some(cap) = daily_image_cap
            && totals.tryon_images + committed > cap
        {
            return Err(ErrorKind::DailyImageCap);
        }
        if let Some(cap) = spend_cap_cny {
            let spend = totals.cny + committed as f64 * price;
            // A small tolerance keeps float sums such as 0.1 + 0.2 from tipping the cap.
            if spend > cap + 1e-9 {
                return Err(ErrorKind::SpendCap);
            }
        }
        Ok(())
    }
}

/// The status call's `reason` for a refusal kind.
pub fn reason_of(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::DailyImageCap => "daily_image_cap",
        ErrorKind::SpendCap => "spend_cap",
        ErrorKind::ShopperDailyLimit => "shopper_daily_limit",
        _ => "unavailable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> ShopperKeys {
        ShopperKeys::new(SecretString::from("test-secret".to_owned()))
    }

    #[test]
    fn issued_tokens_verify_and_altered_ones_do_not() {
        let keys = keys();
        let token = keys.issue();
        let key = keys.verify(&token).expect("a valid token");
        assert!(key.starts_with("t:"));
        let mut altered = token.clone();
        let last = altered.pop().unwrap();
        altered.push(if last == '0' { '1' } else { '0' });
        assert_eq!(keys.verify(&altered), None);
        assert_eq!(keys.verify("nonsense"), None);
        let other = ShopperKeys::new(SecretString::from("another".to_owned()));
        assert_eq!(other.verify(&token), None, "tokens are bound to the secret");
    }

    #[test]
    fn ip_keys_are_stable_hashes_without_the_address() {
        let keys = keys();
        let key = keys.ip_key("203.0.113.9");
        assert_eq!(key, keys.ip_key("203.0.113.9"));
        assert_ne!(key, keys.ip_key("203.0.113.10"));
        assert!(!key.contains("203.0.113.9"));
    }

    /// The parts of a request from `peer` with `headers`, as the extractor sees them once
    /// the signature check has run (`caller` set when it verified the request).
    fn parts(headers: &[(&str, &str)], caller: Option<AppProxyCaller>) -> Parts {
        let mut request = axum::http::Request::builder();
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo(SocketAddr::from(([198, 51, 100, 7], 443))));
        if let Some(caller) = caller {
            parts.extensions.insert(caller);
        }
        parts
    }

    fn caller(shop: &str, customer: Option<&str>) -> Option<AppProxyCaller> {
        Some(AppProxyCaller {
            shop: Some(shop.to_owned()),
            customer_id: customer.map(str::to_owned),
        })
    }

    #[test]
    fn a_verified_customer_is_the_shopper_whatever_token_the_device_sends() {
        let keys = keys();
        let token = keys.issue();
        let phone = shopper_of(
            &parts(
                &[(SHOPPER_HEADER, &token)],
                caller("a.myshopify.com", Some("42")),
            ),
            &keys,
        );
        let laptop = shopper_of(&parts(&[], caller("a.myshopify.com", Some("42"))), &keys);
        assert_eq!(phone.key, laptop.key, "the same customer on two devices");
        assert_eq!(phone.key, keys.customer_key("a.myshopify.com", "42"));
        assert!(phone.key.starts_with("shopify:") && !phone.key.contains("42"));
        assert!(phone.is_customer());
        assert_eq!(
            phone.token.as_deref(),
            Some(token.as_str()),
            "the token is kept"
        );

        // Another customer, or the same id in another shop, is someone else.
        let other = shopper_of(&parts(&[], caller("a.myshopify.com", Some("43"))), &keys);
        let elsewhere = shopper_of(&parts(&[], caller("b.myshopify.com", Some("42"))), &keys);
        assert_ne!(other.key, phone.key);
        assert_ne!(elsewhere.key, phone.key);
    }

    #[test]
    fn a_guest_through_the_app_proxy_is_known_by_token_or_forwarded_address() {
        let keys = keys();
        let token = keys.issue();
        let guest = shopper_of(
            &parts(&[(SHOPPER_HEADER, &token)], caller("a.myshopify.com", None)),
            &keys,
        );
        assert_eq!(Some(guest.key), keys.verify(&token));
        assert!(!shopper_of(&parts(&[], caller("a.myshopify.com", None)), &keys).is_customer());

        // Without a token: the address Shopify forwards, not Shopify's own connection.
        let forwarded = [("x-forwarded-for", "203.0.113.9, 10.0.0.1")];
        let through_shopify =
            shopper_of(&parts(&forwarded, caller("a.myshopify.com", None)), &keys);
        assert_eq!(through_shopify.key, keys.ip_key("203.0.113.9"));
        // An unsigned request's X-Forwarded-For is the caller's own word: ignored.
        let unsigned = shopper_of(&parts(&forwarded, None), &keys);
        assert_eq!(unsigned.key, keys.ip_key("198.51.100.7"));
        assert_eq!(unsigned.app_proxy, None);
        // A header that names no address leaves the connection's.
        let garbled = shopper_of(
            &parts(
                &[("x-forwarded-for", "unknown")],
                caller("a.myshopify.com", None),
            ),
            &keys,
        );
        assert_eq!(garbled.key, keys.ip_key("198.51.100.7"));
    }

    #[test]
    fn days_turn_at_midnight_beijing_time() {
        // 2026-01-01 15:59:59 UTC is 23:59:59 in Beijing; one second later is the next day.
        let before = 1_767_283_199_000;
        assert_eq!(day_of(before) + 1, day_of(before + 1000));
        assert_eq!(ms_until_next_day(before), 1000);
        assert_eq!(ms_until_next_day(before + 1000), 86_400_000);
        assert_eq!(ms_until_next_day(before + 1500), 86_399_500);
    }

    #[test]
    fn cookies_are_secure_only_over_https() {
        assert!(shopper_cookie("t", true).contains("SameSite=None; Secure"));
        let plain = shopper_cookie("t", false);
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Lax"));
        assert!(!plain.contains("Secure"));
    }
}

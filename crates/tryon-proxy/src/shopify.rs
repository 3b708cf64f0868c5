//! Shopify's app proxy: the signature Shopify adds to every storefront request it forwards here, checked before any handler runs, and the logged-in customer it vouches for.
//!
//! A shop's storefront reaches the proxy at `https://{shop}/apps/tryon/...` (the app's
//! `[app_proxy]` with prefix `apps` and subpath `tryon`). Shopify forwards each request to
//! the app proxy URL with the path after the subpath appended, strips cookies both ways,
//! and adds `shop`, `logged_in_customer_id` (empty when nobody is logged in),
//! `path_prefix`, `timestamp` and `signature` to the query. The signature is the hex
//! HMAC-SHA256, keyed with the app's API secret (`TRYON_SHOPIFY_API_SECRET`), of every
//! other parameter, decoded, sorted by name and written `key=value` with no separator, the
//! values of a repeated key joined by `,`: what Shopify's documentation computes and
//! `@shopify/shopify-api` checks (`tests/shopify/app-proxy-hmac.test.mjs` asks that
//! library about the same requests as the proxy, and `scripts/shopify-check.sh` runs it).
//!
//! With the secret set, a request that carries `signature` goes on only if the signature
//! matches, compared in constant time, and its `timestamp` is at most 90 s away from the
//! proxy's clock; any other is answered 401 `Proxy.BadSignature`, saying which of the two
//! failed. A request without `signature` is any other caller and keeps their rules
//! (origin, shopper token or address). A verified request with a customer makes that
//! customer the shopper ([`crate::policy::Shopper`]), so that their try-ons, photos,
//! limits and "delete my data" follow them from device to device.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use tryon_api::ErrorKind;

use crate::error::ApiError;
use crate::state::AppState;

/// The query parameter that carries Shopify's signature.
pub const SIGNATURE_PARAM: &str = "signature";
/// How far a signed request's timestamp may be from the proxy's clock, either way: the
/// tolerance of Shopify's own library, which also bounds how long a copied URL replays.
pub const MAX_CLOCK_SKEW_SECS: u64 = 90;

type HmacSha256 = Hmac<Sha256>;

/// Checks app proxy signatures with the app's API secret.
#[derive(Clone)]
pub struct AppProxyKey {
    secret: SecretString,
}

/// What a verified app proxy request says about its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppProxyCaller {
    /// The shop's `{shop}.myshopify.com` domain, lower-cased, when `shop` is given.
    pub shop: Option<String>,
    /// The logged-in customer's id: `logged_in_customer_id` when it is not empty and
    /// `shop` is known, since an id means something only within its shop.
    pub customer_id: Option<String>,
}

impl AppProxyCaller {
    /// The shop and the id of the logged-in customer, if one is logged in.
    pub fn customer(&self) -> Option<(&str, &str)> {
        Some((self.shop.as_deref()?, self.customer_id.as_deref()?))
    }
}

/// Why a signed request was refused; the text is the detail of the 401 answer, so it names
/// what failed without repeating the signature or anything derived from the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRefusal {
    #[error("the signature parameter appears more than once")]
    Repeated,
    #[error("the signature is not a hex-encoded HMAC-SHA256")]
    Malformed,
    #[error("the signature does not match the request's parameters")]
    Mismatch,
    #[error("the signed request has no timestamp")]
    NoTimestamp,
    #[error("the timestamp is not a whole number of seconds")]
    BadTimestamp,
    #[error(
        "the timestamp is {seconds} s {} the proxy's clock; at most {MAX_CLOCK_SKEW_SECS} s are accepted",
        if *.ahead { "ahead of" } else { "behind" }
    )]
    Stale { seconds: u64, ahead: bool },
}

impl AppProxyKey {
    pub fn new(secret: SecretString) -> AppProxyKey {
        AppProxyKey { secret }
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(self.secret.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length")
    }

    /// Checks the app proxy signature of a request's raw query at `now_unix_secs`:
    /// `Ok(None)` when the query carries no signature (not an app proxy request), the
    /// caller when it is valid and fresh, and why not otherwise.
    pub fn verify(
        &self,
        query: &str,
        now_unix_secs: u64,
    ) -> Result<Option<AppProxyCaller>, SignatureRefusal> {
        let pairs = parse(query);
        let mut signatures = pairs.iter().filter(|(name, _)| name == SIGNATURE_PARAM);
        let Some((_, signature)) = signatures.next() else {
            return Ok(None);
        };
        if signatures.next().is_some() {
            return Err(SignatureRefusal::Repeated);
        }
        let expected = hex_decode(signature)
            .filter(|bytes| bytes.len() == 32)
            .ok_or(SignatureRefusal::Malformed)?;
        let mut mac = self.mac();
        mac.update(canonical(&pairs).as_bytes());
        // The library's comparison takes the same time wherever the bytes differ.
        mac.verify_slice(&expected)
            .map_err(|_| SignatureRefusal::Mismatch)?;

        let params = grouped(&pairs);
        let value = |name: &str| params.get(name).map(|values| values.join(","));
        let timestamp = value("timestamp").ok_or(SignatureRefusal::NoTimestamp)?;
        let signed_at = timestamp
            .parse::<u64>()
            .map_err(|_| SignatureRefusal::BadTimestamp)?;
        let seconds = now_unix_secs.abs_diff(signed_at);
        if seconds > MAX_CLOCK_SKEW_SECS {
            return Err(SignatureRefusal::Stale {
                seconds,
                ahead: signed_at > now_unix_secs,
            });
        }
        let shop = value("shop")
            .map(|shop| shop.trim().to_ascii_lowercase())
            .filter(|shop| !shop.is_empty());
        let customer_id = value("logged_in_customer_id")
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty() && shop.is_some());
        Ok(Some(AppProxyCaller { shop, customer_id }))
    }

    /// The signature Shopify would send with `query` (its `signature`, if any, left out):
    /// for tests and tools that stand in for Shopify.
    pub fn sign(&self, query: &str) -> String {
        let mut mac = self.mac();
        mac.update(canonical(&parse(query)).as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Middleware: lets a request without an app proxy signature through as it is, refuses
/// one whose signature fails with 401 `Proxy.BadSignature`, and hands the caller of a
/// verified one to the handlers as a request extension (read by the `Shopper` extractor).
pub async fn check_app_proxy(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(query) = request.uri().query() else {
        return next.run(request).await;
    };
    let Some(key) = &state.app_proxy else {
        if has_signature(query) && !UNVERIFIED_WARNED.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "a request carries a Shopify app proxy signature, but TRYON_SHOPIFY_API_SECRET \
                 is not set: such requests are treated as unsigned and their customers are not recognised"
            );
        }
        return next.run(request).await;
    };
    match key.verify(query, state.clock.unix_ms() / 1000) {
        Ok(None) => {}
        Ok(Some(caller)) => {
            request.extensions_mut().insert(caller);
        }
        Err(refusal) => {
            tracing::warn!(%refusal, path = %request.uri().path(), "refused a Shopify app proxy request");
            return ApiError::with_detail(ErrorKind::BadSignature, refusal).into_response();
        }
    }
    next.run(request).await
}

/// Whether the missing secret has been reported, so that the log says it once, not per request.
static UNVERIFIED_WARNED: AtomicBool = AtomicBool::new(false);

fn has_signature(query: &str) -> bool {
    parse(query).iter().any(|(name, _)| name == SIGNATURE_PARAM)
}

/// The query's parameters, percent- and plus-decoded, in their order.
fn parse(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// The parameters other than the signature by name, in byte order of their names, each
/// with its values in the order they came.
fn grouped(pairs: &[(String, String)]) -> BTreeMap<&str, Vec<&str>> {
    let mut params: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, value) in pairs.iter().filter(|(name, _)| name != SIGNATURE_PARAM) {
        params.entry(name).or_default().push(value);
    }
    params
}

/// The signed message: `key=value` for every parameter but the signature, sorted by key,
/// with no separator, a repeated key's values joined by `,`.
fn canonical(pairs: &[(String, String)]) -> String {
    grouped(pairs)
        .iter()
        .map(|(name, values)| format!("{name}={}", values.join(",")))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of Shopify's "Authenticate app proxies" page: secret `hush`, its query
    /// and its signature, signed at 1317327555.
    const DOCS_SECRET: &str = "hush";
    const DOCS_QUERY: &str = "extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555&signature=4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb";
    const DOCS_SIGNED_AT: u64 = 1_317_327_555;

    fn key(secret: &str) -> AppProxyKey {
        AppProxyKey::new(SecretString::from(secret.to_owned()))
    }

    /// `query` with a valid signature appended.
    fn signed(secret: &str, query: &str) -> String {
        format!("{query}&signature={}", key(secret).sign(query))
    }

    #[test]
    fn the_documented_example_verifies_with_its_customer() {
        let caller = key(DOCS_SECRET)
            .verify(DOCS_QUERY, DOCS_SIGNED_AT)
            .expect("valid")
            .expect("signed");
        assert_eq!(
            caller.customer(),
            Some(("shop-name.myshopify.com", "1")),
            "{caller:?}"
        );
        // Signing the same parameters gives the documented signature back.
        let (unsigned, signature) = DOCS_QUERY.split_once("&signature=").unwrap();
        assert_eq!(key(DOCS_SECRET).sign(unsigned), signature);
        assert_eq!(
            canonical(&parse(DOCS_QUERY)),
            "extra=1,2logged_in_customer_id=1path_prefix=/apps/awesome_reviewsshop=shop-name.myshopify.comtimestamp=1317327555"
        );
    }

    #[test]
    fn the_timestamp_may_be_90_seconds_away_either_way_and_no_more() {
        let key = key(DOCS_SECRET);
        for now in [DOCS_SIGNED_AT - 90, DOCS_SIGNED_AT, DOCS_SIGNED_AT + 90] {
            assert!(matches!(key.verify(DOCS_QUERY, now), Ok(Some(_))), "{now}");
        }
        assert_eq!(
            key.verify(DOCS_QUERY, DOCS_SIGNED_AT + 91),
            Err(SignatureRefusal::Stale {
                seconds: 91,
                ahead: false
            })
        );
        assert_eq!(
            key.verify(DOCS_QUERY, DOCS_SIGNED_AT - 91),
            Err(SignatureRefusal::Stale {
                seconds: 91,
                ahead: true
            })
        );
        let text = SignatureRefusal::Stale {
            seconds: 91,
            ahead: false,
        }
        .to_string();
        assert_eq!(
            text,
            "the timestamp is 91 s behind the proxy's clock; at most 90 s are accepted"
        );
    }

    #[test]
    fn a_changed_value_name_or_signature_or_another_secret_is_a_mismatch() {
        let now = DOCS_SIGNED_AT;
        let tampered = [
            DOCS_QUERY.replace("logged_in_customer_id=1", "logged_in_customer_id=2"),
            DOCS_QUERY.replace("shop-name", "other-shop"),
            DOCS_QUERY.replace("extra=1&extra=2", "extra=2&extra=1"),
            DOCS_QUERY.replace("extra=1&", "extra=1&added=1&"),
            DOCS_QUERY.replace("signature=4c", "signature=4d"),
        ];
        for query in &tampered {
            assert_eq!(
                key(DOCS_SECRET).verify(query, now),
                Err(SignatureRefusal::Mismatch),
                "{query}"
            );
        }
        assert_eq!(
            key("another secret").verify(DOCS_QUERY, now),
            Err(SignatureRefusal::Mismatch)
        );
        // One value with a comma and the key repeated sign the same string: a property of
        // Shopify's scheme (its library accepts both too), harmless since Shopify signs
        // whatever the storefront sent, so both stand for a request it forwarded.
        let joined = signed(
            DOCS_SECRET,
            "extra=1,2&shop=s.myshopify.com&timestamp=1317327555",
        );
        let repeated = signed(
            DOCS_SECRET,
            "extra=1&extra=2&shop=s.myshopify.com&timestamp=1317327555",
        );
        assert_eq!(
            joined.rsplit_once('=').unwrap().1,
            repeated.rsplit_once('=').unwrap().1
        );
        assert!(matches!(key(DOCS_SECRET).verify(&joined, now), Ok(Some(_))));
    }

    #[test]
    fn repeated_keys_are_joined_in_order_and_keys_sorted_wherever_they_stand() {
        let query = "timestamp=1317327555&b=2&a=x&b=1&shop=s.myshopify.com&logged_in_customer_id=";
        assert_eq!(
            canonical(&parse(query)),
            "a=xb=2,1logged_in_customer_id=shop=s.myshopify.comtimestamp=1317327555"
        );
        let caller = key("k")
            .verify(&signed("k", query), DOCS_SIGNED_AT)
            .unwrap()
            .unwrap();
        assert_eq!(caller.shop.as_deref(), Some("s.myshopify.com"));
        assert_eq!(caller.customer(), None, "nobody is logged in");
    }

    #[test]
    fn no_signature_is_an_unsigned_request_and_a_broken_one_is_refused() {
        let key = key(DOCS_SECRET);
        assert_eq!(key.verify("", DOCS_SIGNED_AT), Ok(None));
        assert_eq!(key.verify("wait_ms=20000&since=RUNNING", 0), Ok(None));
        let (unsigned, _) = DOCS_QUERY.split_once("&signature=").unwrap();
        assert_eq!(key.verify(unsigned, DOCS_SIGNED_AT), Ok(None));
        for (query, refusal) in [
            (
                format!("{unsigned}&signature="),
                SignatureRefusal::Malformed,
            ),
            (
                format!("{unsigned}&signature=zz"),
                SignatureRefusal::Malformed,
            ),
            (
                format!("{unsigned}&signature=4c68"),
                SignatureRefusal::Malformed,
            ),
            (
                format!("{DOCS_QUERY}&signature=00"),
                SignatureRefusal::Repeated,
            ),
        ] {
            assert_eq!(key.verify(&query, DOCS_SIGNED_AT), Err(refusal), "{query}");
        }
    }

    #[test]
    fn a_valid_signature_still_needs_a_numeric_timestamp() {
        let key = key("k");
        assert_eq!(
            key.verify(&signed("k", "shop=s.myshopify.com"), 0),
            Err(SignatureRefusal::NoTimestamp)
        );
        assert_eq!(
            key.verify(&signed("k", "shop=s.myshopify.com&timestamp=soon"), 0),
            Err(SignatureRefusal::BadTimestamp)
        );
        // A repeated timestamp joins into no number at all.
        assert_eq!(
            key.verify(&signed("k", "timestamp=1&timestamp=2"), 1),
            Err(SignatureRefusal::BadTimestamp)
        );
    }

    #[test]
    fn a_customer_needs_a_shop_and_the_values_are_decoded_before_signing() {
        let key = key("k");
        let caller = key
            .verify(&signed("k", "logged_in_customer_id=7&timestamp=100"), 100)
            .unwrap()
            .unwrap();
        assert_eq!(
            caller.customer(),
            None,
            "an id without its shop names nobody"
        );
        // `+` and percent escapes are decoded, as Shopify signs the decoded values.
        let query = "q=a+b%2Fc&shop=S.MyShopify.com&logged_in_customer_id=7&timestamp=100";
        assert_eq!(
            canonical(&parse(query)),
            "logged_in_customer_id=7q=a b/cshop=S.MyShopify.comtimestamp=100"
        );
        let caller = key.verify(&signed("k", query), 100).unwrap().unwrap();
        assert_eq!(caller.customer(), Some(("s.myshopify.com", "7")));
    }
}

//! Who may see the dashboard: the holder of `TRYON_ADMIN_TOKEN`, by a bearer header or by a session cookie that the login form sets; never by a token in the query string.
//!
//! The token is compared in constant time (an HMAC check of the library's, not `==`). The
//! session cookie holds no token: it is `{expiry}.{HMAC of the expiry keyed by the
//! token}`, so changing the token ends every session, and it is `HttpOnly`,
//! `SameSite=Strict` (a cross-site page can neither read nor send it, which is what keeps
//! the login and logout forms safe from forged posts) and `Secure` over HTTPS, decided as
//! for the shopper cookie ([`crate::policy::is_https`]). The login form also refuses a post
//! whose `Origin` is not the proxy's own.

use std::time::Duration;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;
use tryon_api::ErrorKind;

use super::page;
use super::words::Lang;
use crate::error::ApiError;
use crate::policy::is_https;
use crate::state::AppState;

/// The session cookie's name.
pub const ADMIN_COOKIE: &str = "tryon_admin";
/// How long a session lasts before the owner signs in again.
pub const SESSION_LENGTH: Duration = Duration::from_secs(12 * 3600);
/// Query parameters that are refused because they look like a credential.
const CREDENTIAL_PARAMETERS: &[&str] = &["token", "access_token", "admin_token", "auth"];

type HmacSha256 = Hmac<Sha256>;

/// The admin token, kept only as the keys it is checked with.
#[derive(Clone)]
pub struct AdminKeys {
    token: SecretString,
}

impl AdminKeys {
    pub fn new(token: SecretString) -> AdminKeys {
        AdminKeys { token }
    }

    /// Whether `presented` is the token, compared in constant time: both are hashed with
    /// a keyed MAC first, so the comparison's length and time say nothing of the token.
    pub fn is_token(&self, presented: &str) -> bool {
        let mac_of = |text: &str| {
            let mut mac = HmacSha256::new_from_slice(b"tryon admin token check")
                .expect("HMAC accepts keys of any length");
            mac.update(text.as_bytes());
            mac
        };
        let expected = mac_of(self.token.expose_secret()).finalize().into_bytes();
        mac_of(presented).verify_slice(&expected).is_ok()
    }

    fn session_mac(&self, expires_ms: u64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.token.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(format!("tryon admin session until {expires_ms}").as_bytes());
        mac
    }

    /// A session value valid until `expires_ms`.
    pub fn session(&self, expires_ms: u64) -> String {
        let signature: String = self
            .session_mac(expires_ms)
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{expires_ms}.{signature}")
    }

    /// Whether `value` is a session this token signed that has not expired at `now_ms`.
    pub fn is_session(&self, value: &str, now_ms: u64) -> bool {
        let Some((expires, signature)) = value.split_once('.') else {
            return false;
        };
        let Ok(expires_ms) = expires.parse::<u64>() else {
            return false;
        };
        let Some(signature) = hex_decode(signature) else {
            return false;
        };
        now_ms < expires_ms
            && self
                .session_mac(expires_ms)
                .verify_slice(&signature)
                .is_ok()
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

/// Refuses a request whose query string carries something that looks like the token:
/// 400 `Proxy.AdminTokenInQuery`, whatever its value (which is never echoed or logged).
pub fn refuse_query_token(uri: &Uri) -> Result<(), ApiError> {
    let Some(query) = uri.query() else {
        return Ok(());
    };
    let carries_credential = query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .any(|name| {
            CREDENTIAL_PARAMETERS
                .iter()
                .any(|credential| name.eq_ignore_ascii_case(credential))
        });
    if carries_credential {
        Err(ApiError::new(ErrorKind::AdminTokenInQuery))
    } else {
        Ok(())
    }
}

/// How a request proved it is the owner's, if it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Bearer,
    Session,
}

/// Checks the bearer header, then the session cookie; `None` when neither is valid.
pub fn access_of(state: &AppState, headers: &HeaderMap) -> Option<Access> {
    let keys = state.admin.as_ref()?;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    if let Some(token) = bearer {
        // A wrong bearer is not rescued by a cookie: the caller meant the header.
        return keys.is_token(token).then_some(Access::Bearer);
    }
    let now_ms = state.clock.unix_ms();
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == ADMIN_COOKIE)
        .any(|(_, value)| keys.is_session(value, now_ms))
        .then_some(Access::Session)
}

/// The refusal of a JSON or CSV call without access: 401 with `WWW-Authenticate`.
pub fn unauthorized() -> Response {
    let mut response = ApiError::new(ErrorKind::AdminUnauthorized).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"tryon-admin\""),
    );
    response
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// The admin token; named `password` so that password managers offer to keep it.
    pub password: String,
    #[serde(default)]
    pub lang: Option<String>,
}

/// `POST /admin/login`: a right token sets the session cookie and goes to the dashboard
/// (303); a wrong one shows the form again with a 401.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(keys) = state.admin.as_ref() else {
        return ApiError::new(ErrorKind::RouteNotFound).into_response();
    };
    if !posted_from_itself(&headers) {
        return ApiError::with_detail(
            ErrorKind::OriginNotAllowed,
            "the dashboard's forms are accepted from the dashboard itself",
        )
        .into_response();
    }
    let (password, lang) = match form {
        Ok(Form(form)) => (form.password, form.lang),
        Err(_) => (String::new(), None),
    };
    let lang = Lang::pick(lang.as_deref(), &headers);
    if !keys.is_token(password.trim()) {
        tracing::warn!("a dashboard sign-in with a wrong token");
        return page::login_page(lang, StatusCode::UNAUTHORIZED, true);
    }
    let expires_ms = state.clock.unix_ms() + SESSION_LENGTH.as_millis() as u64;
    let cookie = session_cookie(&keys.session(expires_ms), is_https(&state, &headers));
    let mut response = Redirect::to(&format!("/admin/?lang={}", lang.tag())).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `POST /admin/logout`: forgets the session cookie and shows the sign-in form.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    if !posted_from_itself(&headers) {
        return ApiError::with_detail(
            ErrorKind::OriginNotAllowed,
            "the dashboard's forms are accepted from the dashboard itself",
        )
        .into_response();
    }
    let lang = Lang::pick(super::words::lang_param(&uri).as_deref(), &headers);
    let mut response = Redirect::to(&format!("/admin/?lang={}", lang.tag())).into_response();
    if let Ok(value) = HeaderValue::from_str(&admin_cookie("", 0, is_https(&state, &headers))) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The `Set-Cookie` value of a session.
pub fn session_cookie(value: &str, https: bool) -> String {
    admin_cookie(value, SESSION_LENGTH.as_secs(), https)
}

/// The one shape of the admin cookie, for a session and for signing out (empty, expired).
fn admin_cookie(value: &str, max_age_secs: u64, https: bool) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!(
        "{ADMIN_COOKIE}={value}; Path=/admin; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{secure}"
    )
}

/// Whether a form post came from a page of this proxy: browsers send `Origin` with every
/// form post, and it must name the host the request was sent to. A post without `Origin`
/// (a script, not a browser) is let through: it still needs the token.
fn posted_from_itself(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let forwarded = headers
        .get("x-forwarded-host")
        .and_then(|v| v.to_str().ok());
    let named = |host: &str| {
        !host.is_empty()
            && (origin.eq_ignore_ascii_case(&format!("http://{host}"))
                || origin.eq_ignore_ascii_case(&format!("https://{host}")))
    };
    named(host) || forwarded.is_some_and(named)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> AdminKeys {
        AdminKeys::new(SecretString::from("the-admin-token-1234".to_owned()))
    }

    #[test]
    fn only_the_token_itself_is_the_token() {
        let keys = keys();
        assert!(keys.is_token("the-admin-token-1234"));
        for wrong in [
            "",
            "the-admin-token-123",
            "the-admin-token-12345",
            "THE-ADMIN-TOKEN-1234",
        ] {
            assert!(!keys.is_token(wrong), "{wrong}");
        }
    }

    #[test]
    fn sessions_expire_and_belong_to_their_token() {
        let keys = keys();
        let session = keys.session(10_000);
        assert!(keys.is_session(&session, 9_999));
        assert!(!keys.is_session(&session, 10_000), "expired");
        let later = session.replacen("10000", "99999", 1);
        assert!(
            !keys.is_session(&later, 9_999),
            "a changed expiry is not signed"
        );
        let other = AdminKeys::new(SecretString::from("another-admin-token-99".to_owned()));
        assert!(
            !other.is_session(&session, 9_999),
            "a new token ends old sessions"
        );
        assert!(!keys.is_session("garbage", 0));
        assert!(
            !session.contains("the-admin-token"),
            "no token in the cookie"
        );
    }

    #[test]
    fn a_credential_in_the_query_string_is_refused_whatever_its_case() {
        let refused = |uri: &str| refuse_query_token(&uri.parse().unwrap()).is_err();
        assert!(refused("/admin/?token=abc"));
        assert!(refused("/admin/api/summary?days=3&Access_Token=x"));
        assert!(refused("/admin/?token"));
        assert!(!refused("/admin/?days=30&lang=en"));
        assert!(!refused("/admin/"));
        let refusal = refuse_query_token(&"/admin/?token=sekrit".parse().unwrap()).unwrap_err();
        assert_eq!(refusal.status, 400);
        assert!(!refusal.body.message.contains("sekrit"));
    }

    #[test]
    fn cookies_are_strict_http_only_and_secure_over_https() {
        let plain = session_cookie("v", false);
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(plain.contains("Path=/admin") && !plain.contains("Secure"));
        assert!(session_cookie("v", true).ends_with("; Secure"));
    }

    #[test]
    fn forms_are_accepted_from_the_proxys_own_origin_only() {
        let headers = |origin: Option<&str>, host: &str| {
            let mut map = HeaderMap::new();
            map.insert(header::HOST, host.parse().unwrap());
            if let Some(origin) = origin {
                map.insert(header::ORIGIN, origin.parse().unwrap());
            }
            map
        };
        assert!(posted_from_itself(&headers(
            Some("http://127.0.0.1:8787"),
            "127.0.0.1:8787"
        )));
        assert!(posted_from_itself(&headers(None, "127.0.0.1:8787")));
        assert!(!posted_from_itself(&headers(
            Some("http://127.0.0.1:8080"),
            "127.0.0.1:8787"
        )));
        assert!(!posted_from_itself(&headers(
            Some("null"),
            "127.0.0.1:8787"
        )));
    }
}

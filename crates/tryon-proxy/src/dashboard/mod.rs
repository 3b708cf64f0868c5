//! The shop owner's dashboard under `/admin/`: try-ons, spend against the caps, time to result, the queue and the widget's funnel, as a page, as JSON and as CSV, behind `TRYON_ADMIN_TOKEN`.
//!
//! Without the token set the routes do not exist (404, like any unknown path). With it,
//! [`auth`] lets in a bearer header or the session cookie its login form sets; a token in
//! the query string is refused before anything else, since it would end up in logs and
//! browser history. Every answer under `/admin/` is `no-store`, has a strict
//! Content-Security-Policy (no script at all; styles from one served file) and carries
//! no CORS headers, so no shop page can read it with the owner's cookie.
//!
//! [`summary`] computes the figures, [`page`] draws them (server-rendered SVG, no CDN,
//! readable at 375 px) in the words of [`words`] (en and zh-CN), and [`export`] writes
//! the CSV.

pub mod auth;
pub mod export;
pub mod page;
pub mod summary;
pub mod words;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use secrecy::SecretString;

use crate::analytics::DEFAULT_EVENTS_PER_MINUTE;
use crate::state::AppState;

/// Where the dashboard lives.
pub const ADMIN_PREFIX: &str = "/admin";
/// The shortest admin token accepted: long enough that guessing it is hopeless.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// The page allows its own stylesheet and nothing else: no script, no frames, no other
/// origin, and forms only to itself.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The dashboard's stylesheet, served from the binary.
const STYLESHEET: &str = include_str!("dashboard.css");

/// The dashboard's settings, read with the rest of the environment.
#[derive(Debug, Clone)]
pub struct DashboardSettings {
    /// `TRYON_ADMIN_TOKEN`; `None` turns the dashboard off.
    pub admin_token: Option<SecretString>,
    /// `TRYON_EVENTS_PER_MINUTE`: funnel events one shopper may send per minute; 0 is off.
    pub events_per_minute: u32,
}

impl Default for DashboardSettings {
    fn default() -> DashboardSettings {
        DashboardSettings {
            admin_token: None,
            events_per_minute: DEFAULT_EVENTS_PER_MINUTE,
        }
    }
}

impl DashboardSettings {
    /// Reads `TRYON_ADMIN_TOKEN` and `TRYON_EVENTS_PER_MINUTE` through `get`, reporting
    /// mistakes by name (never repeating the token).
    pub fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
        mistake: &mut impl FnMut(&'static str, String),
    ) -> DashboardSettings {
        let mut settings = DashboardSettings::default();
        if let Some(token) = get("TRYON_ADMIN_TOKEN") {
            if token.chars().count() < MIN_ADMIN_TOKEN_CHARS {
                mistake(
                    "TRYON_ADMIN_TOKEN",
                    format!(
                        "is shorter than {MIN_ADMIN_TOKEN_CHARS} characters; use a long random one, such as the output of `openssl rand -hex 24`"
                    ),
                );
            } else if !token.bytes().all(|b| b.is_ascii_graphic()) {
                // It travels in a header and a form: visible ASCII only.
                mistake(
                    "TRYON_ADMIN_TOKEN",
                    "contains spaces, control or non-ASCII characters".to_owned(),
                );
            } else {
                settings.admin_token = Some(SecretString::from(token));
            }
        }
        if let Some(raw) = get("TRYON_EVENTS_PER_MINUTE") {
            match raw.parse::<u32>() {
                Ok(limit) => settings.events_per_minute = limit,
                Err(_) => mistake(
                    "TRYON_EVENTS_PER_MINUTE",
                    format!("{raw:?} is not a whole number of events (0 turns the limit off)"),
                ),
            }
        }
        settings
    }
}

/// The dashboard's routes, or none when it is off (so that `/admin/` answers 404).
pub fn routes(state: &AppState) -> Router<AppState> {
    if state.admin.is_none() {
        return Router::new();
    }
    Router::new()
        .route(
            ADMIN_PREFIX,
            get(|| async { Redirect::permanent("/admin/") }),
        )
        .route("/admin/", get(page::dashboard))
        .route("/admin/login", post(auth::login))
        .route("/admin/logout", post(auth::logout))
        .route("/admin/api/summary", get(summary::summary_json))
        .route("/admin/export.csv", get(export::export_csv))
        .route("/admin/dashboard.css", get(stylesheet))
        .layer(middleware::from_fn(guard))
}

/// Every request under `/admin/`: refused at once when it carries a token in its query
/// string; every answer gets the dashboard's security headers.
async fn guard(request: Request, next: Next) -> Response {
    let mut response = match auth::refuse_query_token(request.uri()) {
        Err(refusal) => refusal.into_response(),
        Ok(()) => next.run(request).await,
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Not `no-referrer`: under it browsers send `Origin: null` with the page's own form
    // posts, which the login's origin check must be able to tell from a foreign page.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Middleware outside the CORS layer: takes the CORS headers off every answer under
/// `/admin`, preflights included. The shop's page origins are allowed for the widget's
/// calls, and a shop's pages are often same-site with its proxy, where a SameSite=Strict
/// cookie is still sent; without CORS headers no page script can read the dashboard.
pub async fn without_cors(request: Request, next: Next) -> Response {
    let admin = is_admin_path(request.uri().path());
    let mut response = next.run(request).await;
    if admin {
        let headers = response.headers_mut();
        let cors: Vec<_> = headers
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in cors {
            headers.remove(name);
        }
    }
    response
}

fn is_admin_path(path: &str) -> bool {
    path == ADMIN_PREFIX || path.starts_with("/admin/")
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLESHEET,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn read(vars: &[(&str, &str)]) -> (DashboardSettings, Vec<(&'static str, String)>) {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        let mut mistakes = Vec::new();
        let settings = DashboardSettings::from_lookup(
            &|name| map.get(name).map(|v| (*v).to_owned()),
            &mut |variable, problem| mistakes.push((variable, problem)),
        );
        (settings, mistakes)
    }

    #[test]
    fn the_dashboard_is_off_without_a_token_and_weak_tokens_are_refused_unrepeated() {
        let (settings, mistakes) = read(&[]);
        assert!(settings.admin_token.is_none() && mistakes.is_empty());
        assert_eq!(settings.events_per_minute, DEFAULT_EVENTS_PER_MINUTE);

        let (settings, _) = read(&[
            ("TRYON_ADMIN_TOKEN", "a-long-enough-admin-token"),
            ("TRYON_EVENTS_PER_MINUTE", "0"),
        ]);
        assert_eq!(
            settings.admin_token.unwrap().expose_secret(),
            "a-long-enough-admin-token"
        );
        assert_eq!(settings.events_per_minute, 0);

        for bad in ["short-secret", "has a space in it, long enough"] {
            let (settings, mistakes) = read(&[
                ("TRYON_ADMIN_TOKEN", bad),
                ("TRYON_EVENTS_PER_MINUTE", "many"),
            ]);
            assert!(settings.admin_token.is_none());
            let names: Vec<_> = mistakes.iter().map(|(name, _)| *name).collect();
            assert_eq!(names, ["TRYON_ADMIN_TOKEN", "TRYON_EVENTS_PER_MINUTE"]);
            assert!(!mistakes[0].1.contains(bad), "{}", mistakes[0].1);
        }
    }

    #[test]
    fn the_proxys_settings_read_the_dashboard_and_name_its_mistakes() {
        let settings = crate::configuration::Settings::from_lookup(|name| {
            (name == "TRYON_ADMIN_TOKEN").then(|| "a-long-enough-admin-token".to_owned())
        })
        .unwrap();
        assert!(settings.dashboard.admin_token.is_some());
        assert!(!format!("{settings:?}").contains("a-long-enough-admin-token"));
        let err = crate::configuration::Settings::from_lookup(|name| {
            (name == "TRYON_ADMIN_TOKEN").then(|| "short".to_owned())
        })
        .unwrap_err();
        assert_eq!(err.mistakes[0].variable, "TRYON_ADMIN_TOKEN");
        assert!(
            crate::configuration::Settings::from_lookup(|_| None)
                .unwrap()
                .dashboard
                .admin_token
                .is_none()
        );
    }

    #[test]
    fn admin_paths_are_the_prefix_and_below_it_only() {
        assert!(is_admin_path("/admin"));
        assert!(is_admin_path("/admin/api/summary"));
        assert!(!is_admin_path("/administrator"));
        assert!(!is_admin_path("/api/v1/tryon/status"));
    }
}

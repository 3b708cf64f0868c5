//! The funnel events the loader sends the proxy for the shop's dashboard: their path, the six steps, the beacon's body and the rules a batch must meet.
//!
//! The loader sends a batch with `navigator.sendBeacon` as `text/plain` (a CORS-safelisted
//! type, so that a cross-site page needs no preflight, which a beacon cannot make), and
//! nothing before the shopper's first tap. A batch names only products, steps, times, a
//! task id and the shopper token the status call issued: the schema refuses any other
//! field, so that a photo or its URL cannot be stored by mistake.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `POST` a batch of funnel events here; the answer is `204 No Content`.
pub const EVENTS_PATH: &str = "/api/v1/tryon/events";
/// The largest batch body the proxy reads; larger ones answer 413.
pub const MAX_EVENTS_BODY_BYTES: usize = 8 * 1024;
/// The most events one batch may carry: a page sends a handful at a time.
pub const MAX_EVENTS_PER_BATCH: usize = 20;
/// The longest product id kept; shops' ids and names are far shorter.
pub const MAX_PRODUCT_CHARS: usize = 128;
/// The longest task id accepted (the proxy's own are 36-character UUIDs).
pub const MAX_TASK_CHARS: usize = 64;

/// One step of the try-on funnel, in the order a shopper goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FunnelStep {
    /// The button came on screen (queued until the shopper's first tap, then sent).
    #[serde(rename = "shown")]
    Shown,
    /// The dialog opened (`tryon:open`).
    #[serde(rename = "open")]
    Open,
    /// A photo was given (`tryon:photo`).
    #[serde(rename = "photo")]
    Photo,
    /// "Generate" was pressed (`tryon:submit`).
    #[serde(rename = "submit")]
    Submit,
    /// The picture was shown (`tryon:result`).
    #[serde(rename = "result")]
    Result,
    /// "Add to cart" was pressed on a look (`tryon:add-to-cart`).
    #[serde(rename = "add-to-cart")]
    AddToCart,
}

impl FunnelStep {
    /// Every step, in funnel order.
    pub const ALL: [FunnelStep; 6] = [
        FunnelStep::Shown,
        FunnelStep::Open,
        FunnelStep::Photo,
        FunnelStep::Submit,
        FunnelStep::Result,
        FunnelStep::AddToCart,
    ];

    /// The wire name: the widget's DOM event name without its `tryon:` prefix, or `shown`.
    pub fn as_str(self) -> &'static str {
        match self {
            FunnelStep::Shown => "shown",
            FunnelStep::Open => "open",
            FunnelStep::Photo => "photo",
            FunnelStep::Submit => "submit",
            FunnelStep::Result => "result",
            FunnelStep::AddToCart => "add-to-cart",
        }
    }

    /// The step of a wire name; `None` for any other name.
    pub fn parse(raw: &str) -> Option<FunnelStep> {
        FunnelStep::ALL
            .into_iter()
            .find(|step| step.as_str() == raw)
    }
}

/// The body of one beacon, as the loader sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    /// The shopper token of the status call, when the loader has one: a beacon cannot set
    /// the `X-Tryon-Shopper` header, and a cross-site page's cookie may be blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub events: Vec<WireEvent>,
}

/// One event of a batch, as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireEvent {
    /// A [`FunnelStep`] wire name.
    pub name: String,
    /// The product's id (the element's `product-id`, else its `product-name`).
    #[serde(default)]
    pub product: String,
    /// When it happened in the browser, in Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<u64>,
    /// The try-on's task id, for `result` and `add-to-cart`: it ties the job to its product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
}

/// One event that met the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelEvent {
    pub step: FunnelStep,
    pub product: String,
    pub at_ms: Option<u64>,
    pub task: Option<String>,
}

/// A batch that met the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidBatch {
    pub token: Option<String>,
    pub events: Vec<FunnelEvent>,
}

/// Why a batch was refused; nothing of a refused batch is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventRefusal {
    /// Not JSON of the batch's shape (unknown fields included).
    Malformed(String),
    /// No events at all.
    Empty,
    /// More than [`MAX_EVENTS_PER_BATCH`] events.
    TooMany(usize),
    /// An event name that is not a [`FunnelStep`].
    UnknownName(String),
    /// A product id that is too long, holds control characters or looks like a URL.
    BadProduct,
    /// A task id that is too long or holds anything but letters, digits, `-` and `_`.
    BadTask,
}

impl fmt::Display for EventRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventRefusal::Malformed(reason) => write!(f, "not an event batch: {reason}"),
            EventRefusal::Empty => write!(f, "the batch has no events"),
            EventRefusal::TooMany(count) => write!(
                f,
                "{count} events in one batch, at most {MAX_EVENTS_PER_BATCH} are accepted"
            ),
            EventRefusal::UnknownName(name) => {
                let names: Vec<&str> = FunnelStep::ALL.iter().map(|s| s.as_str()).collect();
                // The name is shortened: it is the caller's text, echoed back.
                let shown: String = name.chars().take(40).collect();
                write!(
                    f,
                    "{shown:?} is not an event name; use one of {}",
                    names.join(", ")
                )
            }
            EventRefusal::BadProduct => write!(
                f,
                "a product id must be at most {MAX_PRODUCT_CHARS} characters, without control characters or URLs"
            ),
            EventRefusal::BadTask => write!(
                f,
                "a task id must be at most {MAX_TASK_CHARS} letters, digits, '-' or '_'"
            ),
        }
    }
}

/// Reads and checks a beacon's body: the whole batch is accepted, or refused with the
/// first reason found.
pub fn parse_batch(body: &[u8]) -> Result<ValidBatch, EventRefusal> {
    let batch: EventBatch = serde_json::from_slice(body).map_err(|err| {
        // serde's message names the field or position, never more of the body than a word.
        EventRefusal::Malformed(err.to_string())
    })?;
    if batch.events.is_empty() {
        return Err(EventRefusal::Empty);
    }
    if batch.events.len() > MAX_EVENTS_PER_BATCH {
        return Err(EventRefusal::TooMany(batch.events.len()));
    }
    let mut events = Vec::with_capacity(batch.events.len());
    for event in batch.events {
        let step =
            FunnelStep::parse(&event.name).ok_or(EventRefusal::UnknownName(event.name.clone()))?;
        let product = event.product.trim().to_owned();
        if !is_product_id(&product) {
            return Err(EventRefusal::BadProduct);
        }
        let task = match event.task {
            Some(task) if is_task_id(&task) => Some(task),
            Some(_) => return Err(EventRefusal::BadTask),
            None => None,
        };
        events.push(FunnelEvent {
            step,
            product,
            at_ms: event.at,
            task,
        });
    }
    let token = batch.token.filter(|token| !token.trim().is_empty());
    Ok(ValidBatch { token, events })
}

/// Whether `product` may be kept as a product id: short, printable, and not a URL, so
/// that a page cannot send a photo's address in its place.
fn is_product_id(product: &str) -> bool {
    let lower = product.to_ascii_lowercase();
    product.chars().count() <= MAX_PRODUCT_CHARS
        && !product.chars().any(char::is_control)
        && !lower.contains("://")
        && !lower.starts_with("data:")
        && !lower.starts_with("blob:")
}

fn is_task_id(task: &str) -> bool {
    !task.is_empty()
        && task.len() <= MAX_TASK_CHARS
        && task
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_round_trips_by_name_in_funnel_order() {
        for step in FunnelStep::ALL {
            assert_eq!(FunnelStep::parse(step.as_str()), Some(step));
            assert_eq!(
                serde_json::to_string(&step).unwrap(),
                format!("\"{}\"", step.as_str())
            );
        }
        assert!(FunnelStep::ALL.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(FunnelStep::parse("tryon:open"), None);
    }

    #[test]
    fn a_loader_batch_is_accepted_with_its_token_times_and_task() {
        let body = br#"{"token":"abc.def","events":[
            {"name":"shown","product":"tee-01","at":1700000000000},
            {"name":"open","product":" tee-01 "},
            {"name":"add-to-cart","product":"tee-01","task":"3f2c-uuid_1"}]}"#;
        let batch = parse_batch(body).unwrap();
        assert_eq!(batch.token.as_deref(), Some("abc.def"));
        assert_eq!(batch.events.len(), 3);
        assert_eq!(batch.events[0].at_ms, Some(1_700_000_000_000));
        assert_eq!(batch.events[1].product, "tee-01", "trimmed");
        assert_eq!(batch.events[2].step, FunnelStep::AddToCart);
        assert_eq!(batch.events[2].task.as_deref(), Some("3f2c-uuid_1"));
    }

    #[test]
    fn bad_batches_are_refused_whole_with_a_reason() {
        let refused = |body: &str| parse_batch(body.as_bytes()).unwrap_err();
        assert!(matches!(refused("not json"), EventRefusal::Malformed(_)));
        assert!(matches!(
            refused(r#"{"events":{}}"#),
            EventRefusal::Malformed(_)
        ));
        // A field the schema does not know, such as a photo, is refused, not dropped.
        assert!(matches!(
            refused(r#"{"events":[{"name":"photo","product":"a","photo":"data:x"}]}"#),
            EventRefusal::Malformed(_)
        ));
        assert_eq!(refused(r#"{"events":[]}"#), EventRefusal::Empty);
        let many = format!(
            r#"{{"events":[{}]}}"#,
            [r#"{"name":"open","product":"a"}"#; MAX_EVENTS_PER_BATCH + 1].join(",")
        );
        assert_eq!(
            refused(&many),
            EventRefusal::TooMany(MAX_EVENTS_PER_BATCH + 1)
        );
        assert_eq!(
            refused(r#"{"events":[{"name":"open","product":"a"},{"name":"buy","product":"a"}]}"#),
            EventRefusal::UnknownName("buy".into())
        );
        for product in [
            "https://shop.example/api/v1/tryon/files/abc",
            "data:image/png;base64,AAAA",
            "blob:https://shop.example/1",
            "a\u{7}b",
        ] {
            let body = serde_json::json!({"events": [{"name": "open", "product": product}]});
            assert_eq!(
                refused(&body.to_string()),
                EventRefusal::BadProduct,
                "{product}"
            );
        }
        let long = "x".repeat(MAX_PRODUCT_CHARS + 1);
        let body = serde_json::json!({"events": [{"name": "open", "product": long}]});
        assert_eq!(refused(&body.to_string()), EventRefusal::BadProduct);
        assert_eq!(
            refused(r#"{"events":[{"name":"result","product":"a","task":"../x"}]}"#),
            EventRefusal::BadTask
        );
        assert!(
            refused(r#"{"events":[{"name":"buy"}]}"#)
                .to_string()
                .contains("add-to-cart")
        );
    }
}

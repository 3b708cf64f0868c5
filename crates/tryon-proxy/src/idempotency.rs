//! Idempotent creates: reading the `Idempotency-Key` header, fingerprinting a create's body, and the per-key lock that lets only one create of a key run at a time.
//!
//! The mapping itself (shopper and key to the job made) lives in [`crate::jobs::JobStore`]
//! and its database, written in the same transaction as the job, so that it survives a
//! restart and disappears with the job.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use tokio::sync::OwnedMutexGuard;
use tryon_api::{ErrorKind, IdempotencyKey};

use crate::error::ApiError;

/// The header name as the `http` crate spells it (lowercase).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The create's key, if it sent one; a malformed one is refused with the reason, so
/// that a widget bug shows at once instead of silently losing the protection.
pub fn key_of(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let raw = value.to_str().map_err(|_| {
        ApiError::with_detail(
            ErrorKind::InvalidParameter,
            tryon_api::idempotency::KeyViolation::NotVisibleAscii,
        )
    })?;
    IdempotencyKey::parse(raw)
        .map(Some)
        .map_err(|violation| ApiError::with_detail(ErrorKind::InvalidParameter, violation))
}

/// The SHA-256 (hex) of a create body in canonical form: a JSON body is read and written
/// again (object keys sorted, no spaces), so that the same request sent twice matches
/// however its bytes were laid out; anything else is hashed as it is.
pub fn fingerprint(body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| serde_json::to_vec(&value).ok());
    let digest = Sha256::digest(canonical.as_deref().unwrap_or(body));
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// One async lock per `(shopper, key)` in use. A create with a key holds its lock from
/// the look-up until it has answered, so concurrent repeats wait for the first one and
/// then find its job (or, if it was refused, a free key) instead of making another.
#[derive(Default)]
pub struct KeyLocks {
    locks: Mutex<LockMap>,
}

/// `(shopper key, idempotency key)` to the lock of the create that runs with it.
type LockMap = HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>;

/// Held while one create of a key runs; dropping it lets the next one in.
pub struct KeyGuard<'a> {
    locks: &'a KeyLocks,
    slot: (String, String),
    lock: Arc<tokio::sync::Mutex<()>>,
    held: Option<OwnedMutexGuard<()>>,
}

impl KeyLocks {
    /// Waits until no other create of `shopper`'s `key` runs, and holds the key.
    pub async fn hold(&self, shopper: &str, key: &IdempotencyKey) -> KeyGuard<'_> {
        let slot = (shopper.to_owned(), key.as_str().to_owned());
        // Every clone of a lock is made under this map lock, so the count that the guard
        // reads on drop tells exactly whether anybody else still waits for it.
        let lock = self.map().entry(slot.clone()).or_default().clone();
        let held = lock.clone().lock_owned().await;
        KeyGuard {
            locks: self,
            slot,
            lock,
            held: Some(held),
        }
    }

    /// How many keys have a create running or waiting, for tests of the clean-up.
    pub fn in_use(&self) -> usize {
        self.map().len()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, LockMap> {
        // Each change is one insert or remove, so a poisoned lock is safe to keep using.
        self.locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        self.held.take();
        let mut map = self.locks.map();
        // The map's clone and this guard's are the only ones left: nobody waits, so the
        // entry goes and the map does not grow with every key ever used.
        if Arc::strong_count(&self.lock) == 2 {
            map.remove(&self.slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_json_laid_out_differently_has_the_same_fingerprint() {
        let one = fingerprint(br#"{"model":"m","input":{"a":1,"b":2}}"#);
        let two = fingerprint(b"{ \"input\": {\"b\": 2, \"a\": 1},\n \"model\": \"m\" }");
        assert_eq!(one, two);
        assert_eq!(one.len(), 64);
        assert_ne!(one, fingerprint(br#"{"model":"m","input":{"a":1,"b":3}}"#));
        assert_ne!(fingerprint(b"not json"), fingerprint(b"not json!"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn any_body_has_a_fingerprint_and_its_layout_does_not_change_it(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
            fields in proptest::collection::btree_map("[a-z_]{1,8}", "\\PC{0,12}", 0..6),
        ) {
            // Arbitrary bytes (almost never JSON) are hashed as they are, without a panic.
            let digest = fingerprint(&bytes);
            proptest::prop_assert!(digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()));
            // The same object, compact or pretty, keys in any order, is the same request.
            let object: serde_json::Map<String, serde_json::Value> =
                fields.into_iter().map(|(k, v)| (k, v.into())).collect();
            let compact = serde_json::to_vec(&object).unwrap();
            let mut reversed: Vec<_> = object.iter().collect();
            reversed.reverse();
            let pretty = format!(
                "{{\n  {}\n}}",
                reversed
                    .iter()
                    .map(|(k, v)| format!("{} : {}", serde_json::Value::from(k.as_str()), v))
                    .collect::<Vec<_>>()
                    .join(",\n  ")
            );
            proptest::prop_assert_eq!(fingerprint(&compact), fingerprint(pretty.as_bytes()));
        }
    }

    #[test]
    fn a_malformed_key_is_refused_as_an_invalid_parameter() {
        let mut headers = HeaderMap::new();
        assert_eq!(key_of(&headers), Ok(None));
        headers.insert(IDEMPOTENCY_KEY, "has space".parse().unwrap());
        let refusal = key_of(&headers).unwrap_err();
        assert_eq!(refusal.status, 400);
        assert_eq!(refusal.body.code, "InvalidParameter");
        assert!(
            refusal.body.message.contains("visible ASCII"),
            "{refusal:?}"
        );
        headers.insert(IDEMPOTENCY_KEY, "k-1".parse().unwrap());
        assert_eq!(key_of(&headers).unwrap().unwrap().as_str(), "k-1");
    }

    #[tokio::test]
    async fn a_key_is_held_by_one_create_at_a_time_and_let_go_after() {
        let locks = KeyLocks::default();
        let key = IdempotencyKey::parse("k").unwrap();
        let first = locks.hold("t:a", &key).await;
        // Another shopper's same key is another lock.
        let other = locks.hold("t:b", &key).await;
        let waiting = locks.hold("t:a", &key);
        tokio::pin!(waiting);
        assert!(poll_once(waiting.as_mut()).await.is_none());
        drop(first);
        let second = waiting.await;
        drop(second);
        drop(other);
        assert_eq!(locks.in_use(), 0);
    }

    /// Polls a future once, answering its output if it was ready.
    async fn poll_once<F: std::future::Future + Unpin>(future: F) -> Option<F::Output> {
        let mut future = future;
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut future).poll(cx) {
                std::task::Poll::Ready(output) => Some(output),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}

//! The `Idempotency-Key` of a create call: the header's name and the validated key the widget sends with each try-on attempt.
//!
//! The widget makes one key per press of "Generate" and sends it again, with the same
//! body, when it repeats a create whose answer was lost. The proxy answers such a repeat
//! with the job the first attempt made instead of a second, paid one. The name is the one
//! of the IETF draft (`draft-ietf-httpapi-idempotency-key-header`), as Stripe uses it.

use std::fmt;

/// The request header that carries the key (HTTP header names are case-insensitive).
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// The longest key accepted, in characters.
pub const MAX_KEY_LEN: usize = 255;

/// A key as the proxy accepts it: 1 to [`MAX_KEY_LEN`] visible ASCII characters
/// (`!` to `~`), so that it is safe in a header, a log field and a database row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// Why a header value is not a key; its text is what the caller is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyViolation {
    Empty,
    TooLong,
    NotVisibleAscii,
}

impl fmt::Display for KeyViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = match self {
            KeyViolation::Empty => "is empty",
            KeyViolation::TooLong => "is longer than 255 characters",
            KeyViolation::NotVisibleAscii => "holds a character that is not visible ASCII",
        };
        write!(
            f,
            "the {IDEMPOTENCY_KEY_HEADER} header {reason}; it must be 1 to {MAX_KEY_LEN} visible ASCII characters"
        )
    }
}

impl std::error::Error for KeyViolation {}

impl IdempotencyKey {
    /// Checks a header value. Surrounding spaces are not trimmed: a key is compared byte
    /// for byte, so the value must be sent exactly as it was made.
    pub fn parse(raw: &str) -> Result<IdempotencyKey, KeyViolation> {
        if raw.is_empty() {
            return Err(KeyViolation::Empty);
        }
        if raw.len() > MAX_KEY_LEN {
            return Err(KeyViolation::TooLong);
        }
        if !raw.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(KeyViolation::NotVisibleAscii);
        }
        Ok(IdempotencyKey(raw.to_owned()))
    }

    /// A key made of random words drawn by the caller (this crate draws no randomness):
    /// 32 lowercase hex digits for four 32-bit words, 128 bits in all.
    pub fn from_random_words(words: [u32; 4]) -> IdempotencyKey {
        IdempotencyKey(words.iter().map(|word| format!("{word:08x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_one_to_255_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(IdempotencyKey::parse("tryon-2f1c~!#").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert_eq!(IdempotencyKey::parse(""), Err(KeyViolation::Empty));
        assert_eq!(
            IdempotencyKey::parse(&"k".repeat(256)),
            Err(KeyViolation::TooLong)
        );
        for bad in ["with space", "tab\t", "ключ", "nul\0", "del\x7f"] {
            assert_eq!(
                IdempotencyKey::parse(bad),
                Err(KeyViolation::NotVisibleAscii),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_violation_says_what_a_key_must_be() {
        let text = KeyViolation::TooLong.to_string();
        assert!(text.contains("Idempotency-Key"), "{text}");
        assert!(text.contains("1 to 255 visible ASCII characters"), "{text}");
    }

    #[test]
    fn random_words_make_a_valid_key_of_32_hex_digits() {
        let key = IdempotencyKey::from_random_words([0, 1, 0xdead_beef, u32::MAX]);
        assert_eq!(key.as_str(), "0000000000000001deadbeefffffffff");
        assert_eq!(IdempotencyKey::parse(key.as_str()), Ok(key));
    }
}

//! The try-on contract shared by the widget, the proxy and the emulator: wire types, input rules, error catalogue, status machine and poll schedule.
//!
//! This crate does no I/O (no network, no files, no clocks) so that it builds for
//! `wasm32-unknown-unknown` and native alike, and so that every speaker applies exactly
//! the same rules. The split between browser and server happens only at the I/O edge.

pub mod errors;
pub mod fashn;
pub mod funnel;
pub mod generation;
pub mod idempotency;
pub mod mode;
pub mod poll;
pub mod proxy;
pub mod rules;
pub mod status;
pub mod wire;

pub use errors::{ErrorKind, Locale};
pub use idempotency::{IDEMPOTENCY_KEY_HEADER, IdempotencyKey};
pub use mode::{ClothesType, TryOnMode};
pub use rules::{ImageFacts, ImageFormat, ImageUrl, RuleViolation};
pub use status::TaskStatus;
pub use wire::Resolution;

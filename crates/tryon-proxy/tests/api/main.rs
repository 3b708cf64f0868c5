//! The proxy's integration tests, one binary: every test starts its own proxy on port 0 (with the embedded emulator unless it says otherwise).

mod admission;
mod binary;
mod chaos;
mod dashboard;
mod events;
mod fashn;
mod helpers;
mod idempotency;
mod limits;
mod policy;
mod properties;
mod remembered;
mod resilience;
mod resubmission;
mod retention;
mod security;
mod segmentation;
mod shopify;
mod tasks;
mod uploads;
mod upstreams;

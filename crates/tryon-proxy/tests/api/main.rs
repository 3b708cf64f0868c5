//! The proxy's integration tests, one binary: every test starts its own proxy on port 0 (with the embedded emulator unless it says otherwise), on this run's file store (the data folder, or an S3-compatible server with `TRYON_TEST_S3_ENDPOINT`) and state database (SQLite, or PostgreSQL with `TRYON_TEST_DATABASE_URL`); `scripts/backends-test.sh` runs them on moto and PostgreSQL.

mod admission;
mod binary;
mod chaos;
mod dashboard;
mod database;
mod db_backend;
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
mod s3;
mod security;
mod segmentation;
mod shopify;
mod storage;
mod store_backend;
mod tasks;
mod uploads;
mod upstreams;

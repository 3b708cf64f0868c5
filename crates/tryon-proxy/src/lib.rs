//! The shop's try-on proxy: hosts shopper photos, holds the DashScope key, submits and polls try-on tasks, and keeps the results.
//!
//! Code map: [`configuration`] reads the environment; [`startup`] builds the router and
//! starts everything (the embedded emulator in [`embedded`] when no key is set);
//! [`routes`] holds one module per resource; [`upstream`] is the DashScope client and the
//! upstream seam ([`upstream::Adapter`], with one adapter for the seed's asynchronous
//! `aitryon` API and one for the synchronous `qwen-image` successor, chosen by
//! `TRYON_UPSTREAM`); [`admission`] queues jobs and hands each to a worker within the
//! current adapter's limits, on the one replica that [`replicas`] makes the dispatcher; [`jobs`] keeps each job's record, runs its poll loop and
//! records how it ended (shared by every adapter); [`store`] is the state seam (jobs,
//! keys, ledger, daily counts, file index, the dashboard's rows: SQLite by default,
//! PostgreSQL for several replicas), which imports none of the services that use it;
//! [`storage`] keeps files (a local folder, or any S3-compatible object store);
//! [`photo`] cleans uploaded photos; [`idempotency`] makes a repeated create answer the job
//! its key already made; [`error`] is the one error shape of every answer;
//! [`policy`] holds the shop's rules (origins, garments, shopper identity and limits,
//! caps), whose spend, daily counts and file index live in [`store`]; [`shopify`]
//! verifies the requests a shop's Shopify app proxy signs; [`retention`] deletes what is
//! older than the retention period. [`dashboard`] is the shop owner's page of figures
//! under `/admin/`, fed by the job rows and funnel events the store keeps, within the
//! rules of [`analytics`].
//!
//! Architecture invariants: the key never leaves [`upstream::UpstreamClient`] except in
//! the upstream's Authorization header; browsers read job records, never cause an
//! upstream query; every refusal uses the contract crate's error catalogue; a paid call
//! passes the origin, garment, shopper-limit and cap checks before anything is queued.

pub mod admission;
pub mod analytics;
pub mod configuration;
pub mod dashboard;
pub mod embedded;
pub mod error;
pub mod idempotency;
pub mod jobs;
pub mod photo;
pub mod policy;
pub mod replicas;
pub mod retention;
pub mod routes;
pub mod shopify;
pub mod startup;
pub mod state;
pub mod storage;
pub mod store;
pub mod telemetry;
pub mod upstream;

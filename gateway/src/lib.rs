//! Touchstone's gateway: the central half of the system.
//!
//! # Layout
//!
//! - [`config`]: flags and the config file, merged and validated.
//! - [`broker`]: the embedded MQTT broker for the single-machine default.
//! - [`store`]: the database (SQLite or PostgreSQL), ledger writes, master data, read queries.
//! - [`ingest`]: the loop that takes bench events off MQTT, commits them in batches and
//!   confirms them back.
//! - [`snapshots`]: publishes master data and job progress as retained messages for benches.
//! - [`import`]: master data from CSV and JSON files, with errors naming line and field.
//! - [`http`]: the HTTP router: the JSON API, with [`dashboard`] merged in.
//! - [`dashboard`]: the manager dashboard's pages, sign-in and live updates.
//! - [`gateway`]: wires the parts together and runs them until shutdown.

pub mod broker;
pub mod config;
pub mod dashboard;
pub mod gateway;
pub mod http;
pub mod import;
pub mod ingest;
pub mod snapshots;
pub mod store;

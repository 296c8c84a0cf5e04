//! The workshop model and the wire protocol of Touchstone.
//!
//! This crate is the bottom of the dependency graph: the kiosk, the gateway and the balance
//! drivers all speak in its types. It does no I/O, reads no clock and holds no global state;
//! every function takes what it needs and returns a value, so all of it is tested without a
//! broker, a database or a balance.
//!
//! # Layout
//!
//! - [`ids`]: validated identifiers (jobs, stations, operators, stages, stones, events).
//! - [`metal`]: exact grams, fineness, alloys and fine weight.
//! - [`units`]: balance units with exact gram factors; ambiguous units never convert.
//! - [`workshop`]: master data (jobs and their components, stages, stations, operators,
//!   loss bands).
//! - [`event`]: the floor ledger, one event type with a closed set of facts.
//! - [`rules`]: what may happen next, as pure functions.
//! - [`protocol`]: MQTT topics and payloads, strict decoding.

pub mod event;
pub mod ids;
pub mod metal;
pub mod protocol;
pub mod rules;
pub mod units;
pub mod workshop;

//! The Touchstone bench kiosk: what a worker touches all day.
//!
//! # Layout
//!
//! - [`config`]: the station's TOML file, validated with errors that name the key.
//! - [`journal`]: the local SQLite journal; **an event is on disk before the screen says
//!   done**, numbered without gaps for the life of the station.
//! - [`uplink`]: publishes unconfirmed events in order and marks them confirmed only on the
//!   gateway's acknowledgement; heartbeat and last will.
//! - [`cache`]: the master data from the gateway's retained snapshots, kept on disk.
//! - [`simulate`]: headless stations driving the same journal and uplink.
//!
//! The kiosk depends on the domain crate and the balance drivers; the gateway library is used
//! only by the demo, which runs one in-process.

pub mod bench;
pub mod cache;
pub mod config;
pub mod demo_data;
pub mod journal;
pub mod simulate;
pub mod uplink;

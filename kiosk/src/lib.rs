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
//! - [`bench`]: the bench's state machine: what a scan or a tap means now. Pure.
//! - [`scanner`]: keyboard-mode scans told from typing; serial scanners.
//! - [`gpio`]: lamps, buzzer and the debounced foot switch, on the Pi or simulated.
//! - [`station`]: the parts behind the screen and the executor of the bench's commands.
//! - [`app`] and [`ui`]: the frame loop and the drawing of every screen.
//! - [`simulate`]: headless stations driving the same journal and uplink.
//!
//! The kiosk depends on the domain crate and the balance drivers; the gateway library is used
//! only by the demo, which runs one in-process.

pub mod app;
pub mod bench;
pub mod cache;
pub mod config;
pub mod demo_data;
pub mod gpio;
pub mod journal;
pub mod scanner;
pub mod simulate;
pub mod station;
pub mod ui;
pub mod uplink;

//! Precision balances for Touchstone: decoders, commands, a serial driver and a simulator.
//!
//! # Layout
//!
//! - [`protocol`], [`units`], [`reading`], [`framing`], [`decode`], [`command`]: the sans-IO
//!   core. Bytes and a timestamp go in, [`Reading`]s come out; no port, no clock.
//! - [`driver`]: the only code that touches a serial port. It publishes the latest reading
//!   and the connection state on a `watch` channel and answers `capture_stable`.
//! - [`sim`]: a virtual balance of every family behind a pseudo-terminal, for tests and the
//!   kiosk's demo mode.
//!
//! The crate depends on the domain crate for grams and units and on nothing of the kiosk or
//! gateway. **A weight is only ever captured when the balance said it is stable, or, for a
//! family without a stability flag, after it held still for the configured time.**

pub mod command;
pub mod decode;
pub mod driver;
pub mod framing;
mod number;
pub mod protocol;
pub mod reading;
pub mod sim;
pub mod units;

pub use decode::{Decoder, decode_line};
pub use driver::{Balance, BalanceView, Captured, ConnectionState, DriverConfig, DriverError};
pub use protocol::Protocol;
pub use reading::{IdentityReply, Reading, Status, UnitToken};
pub use units::Unit;

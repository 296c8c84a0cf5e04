//! What the driver publishes: the connection state and the latest reading, as one value on a
//! `watch` channel the kiosk reads each frame.

use std::fmt;

use touchstone_model::event::BalanceIdentity;
use touchstone_model::protocol::BalanceState;

use crate::reading::{Reading, Status};

/// The state of the link to the balance, in words an installer understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Opening the port (first time or after a loss).
    Connecting,
    /// Open and decoding lines.
    Connected,
    /// Open, but no byte has arrived for the silence timeout: balance off, cable loose, or a
    /// balance that only prints on its key.
    Silent,
    /// Bytes arrive but no line decodes: wrong baud, parity or protocol.
    Garbled,
    /// The port is gone (unplugged adapter) or could not be opened; retrying with backoff.
    Disconnected {
        /// Why, in words.
        reason: String,
    },
    /// A different balance answered on this port than before.
    WrongBalance {
        /// The serial number expected.
        expected: String,
        /// The serial number reported.
        found: String,
    },
    /// The port is closed while the common settings and families are tried on it.
    Probing,
    /// The driver was stopped.
    Stopped,
}

impl ConnectionState {
    /// The wire protocol's summary, given the latest reading.
    pub fn balance_state(&self, latest: Option<&Reading>) -> BalanceState {
        match self {
            ConnectionState::Connected => match latest.map(|r| &r.status) {
                Some(Status::Overload | Status::Underload | Status::Error { .. }) => {
                    BalanceState::Fault
                }
                _ => BalanceState::Connected,
            },
            ConnectionState::Garbled | ConnectionState::WrongBalance { .. } => BalanceState::Fault,
            _ => BalanceState::Disconnected,
        }
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionState::Connecting => f.write_str("connecting"),
            ConnectionState::Connected => f.write_str("connected"),
            ConnectionState::Silent => {
                f.write_str("silent: the port is open but the balance sends nothing")
            }
            ConnectionState::Garbled => f.write_str(
                "garbled: data arrives but does not decode (check baud, parity, protocol)",
            ),
            ConnectionState::Disconnected { reason } => write!(f, "disconnected: {reason}"),
            ConnectionState::WrongBalance { expected, found } => {
                write!(f, "wrong balance: expected serial {expected}, found {found}")
            }
            ConnectionState::Probing => f.write_str("probing: trying the common settings"),
            ConnectionState::Stopped => f.write_str("stopped"),
        }
    }
}

/// Everything the kiosk shows about a balance, published on every change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceView {
    /// The link state.
    pub state: ConnectionState,
    /// Who the balance said it is (protocol always; model and serial when it answered).
    pub identity: BalanceIdentity,
    /// The latest decoded line, weight or not.
    pub latest: Option<Reading>,
    /// Counts decoded lines; a capture waits for a number past the one it started at.
    pub seq: u64,
    /// For families without a stability flag: the latest reading has held still for the
    /// configured time. Always false for families that flag stability themselves.
    pub settled: bool,
}

impl BalanceView {
    /// The view before the port is opened.
    pub fn initial(identity: BalanceIdentity) -> Self {
        BalanceView {
            state: ConnectionState::Connecting,
            identity,
            latest: None,
            seq: 0,
            settled: false,
        }
    }
}

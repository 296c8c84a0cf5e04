//! The driver's errors: opening, commanding and capturing.

use std::path::PathBuf;

use crate::command::Command;
use crate::protocol::Protocol;

/// Why a driver call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// The balance reported overload.
    #[error("the balance is overloaded; take the load off")]
    Overload,
    /// The balance reported underload (often: the pan is missing).
    #[error("the balance reports underload; check the weighing pan")]
    Underload,
    /// The balance reported an error code.
    #[error("the balance reported error {code}")]
    Balance {
        /// The balance's code.
        code: String,
    },
    /// No stable reading before the deadline.
    #[error("no stable reading within {timeout_ms} ms ({state})")]
    Timeout {
        /// The deadline that passed.
        timeout_ms: u128,
        /// The connection state when it passed.
        state: String,
    },
    /// The family has no such command.
    #[error("{protocol} balances have no {command:?} command")]
    Unsupported {
        /// The family.
        protocol: Protocol,
        /// The command.
        command: Command,
    },
    /// The port could not be opened.
    #[error("cannot open {path}: {reason}")]
    Open {
        /// The port.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The port is not open right now.
    #[error("the balance is not connected ({state})")]
    NotConnected {
        /// The connection state.
        state: String,
    },
    /// The driver task has ended.
    #[error("the balance driver has stopped")]
    Stopped,
}

//! The serial driver: the only part of the crate that touches a port.
//!
//! [`Balance::spawn`] starts one task per balance. The task opens the port with the
//! configured settings, checks the balance's identity, then polls or listens, decodes every
//! line and publishes a [`BalanceView`] on a `watch` channel. It survives the real world: a
//! lost port (unplugged USB adapter, balance switched off) is reopened with backoff and the
//! same identity check; a silent or garbled port is reported as such. The handle answers
//! [`Balance::capture_stable`], sends tare and zero, and stops the task when dropped.

mod config;
mod error;
pub mod probe;
mod settle;
mod state;
mod task;

use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use touchstone_model::event::{BalanceIdentity, Stability};

pub use config::{
    DataBits, DriverConfig, FlowControl, Mode, Parity, SerialSettings, SettlePolicy, StopBits,
    Terminator,
};
pub use error::DriverError;
pub use settle::{StillnessTracker, Verdict, judge};
pub use state::{BalanceView, ConnectionState};

use crate::command::{self, Command};
use crate::reading::Reading;

/// A weight the balance vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// The reading, with its value, unit, grams and raw line.
    pub reading: Reading,
    /// `Stable` when the balance said so, `Settled` when the value held still for a family
    /// without a stability flag.
    pub stability: Stability,
    /// The balance it came from.
    pub identity: BalanceIdentity,
}

/// What a probe found, or nothing when no balance answered.
type ProbeResult = Result<Option<probe::ProbeReport>, DriverError>;

/// What the handle asks of the task.
#[derive(Debug)]
enum Request {
    Send(Command, oneshot::Sender<Result<(), DriverError>>),
    /// Close the port, probe it (each attempt listening this long), reopen it.
    Probe(Duration, oneshot::Sender<ProbeResult>),
}

/// A running balance driver. Dropping it stops the task.
#[derive(Debug)]
pub struct Balance {
    view: watch::Receiver<BalanceView>,
    requests: mpsc::Sender<Request>,
    task: tokio::task::JoinHandle<()>,
}

impl Balance {
    /// Starts the driver on the current tokio runtime. Fails only when the configuration asks
    /// for something the family cannot do (polling a balance that has no request command).
    pub fn spawn(config: DriverConfig) -> Result<Balance, DriverError> {
        if let config::Mode::Polling { .. } = config.mode
            && command::encode(config.protocol, Command::ImmediateWeight).is_none()
        {
            return Err(DriverError::Unsupported {
                protocol: config.protocol,
                command: Command::ImmediateWeight,
            });
        }
        let identity = BalanceIdentity {
            protocol: config.protocol.name().to_owned(),
            model: None,
            serial: config.expected_serial.clone(),
        };
        let (view_tx, view) = watch::channel(BalanceView::initial(identity));
        let (requests, request_rx) = mpsc::channel(8);
        tracing::info!(
            device = %config.path.display(),
            protocol = %config.protocol,
            baud = config.serial.baud,
            mode = ?config.mode,
            "starting balance driver"
        );
        let task = tokio::spawn(task::run(config, view_tx, request_rx));
        Ok(Balance { view, requests, task })
    }

    /// A receiver of the balance's view; `borrow()` it each frame, or await `changed()`.
    pub fn watch(&self) -> watch::Receiver<BalanceView> {
        self.view.clone()
    }

    /// The next reading the balance reports stable (or, for families without a stability
    /// flag, the first reading after the value held still for the configured time), within
    /// `timeout`. Readings from before the call never count. Overload, underload and balance
    /// errors end the wait at once; a disconnection does not, so a balance unplugged and
    /// plugged back within the timeout still gives its weight.
    pub async fn capture_stable(&self, timeout: Duration) -> Result<Captured, DriverError> {
        let mut view = self.view.clone();
        let mut last_seq = view.borrow_and_update().seq;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, view.changed()).await {
                Err(_elapsed) => {
                    return Err(DriverError::Timeout {
                        timeout_ms: timeout.as_millis(),
                        state: view.borrow().state.to_string(),
                    });
                }
                Ok(Err(_closed)) => return Err(DriverError::Stopped),
                Ok(Ok(())) => {}
            }
            let current = view.borrow_and_update().clone();
            if current.seq <= last_seq || current.state != ConnectionState::Connected {
                continue;
            }
            last_seq = current.seq;
            let Some(reading) = current.latest else { continue };
            match judge(&reading, current.settled) {
                Verdict::Capture(stability) => {
                    tracing::debug!(raw = %reading.raw, ?stability, "captured weight");
                    return Ok(Captured { reading, stability, identity: current.identity });
                }
                Verdict::Wait => {}
                Verdict::Fail(err) => return Err(err),
            }
        }
    }

    /// Tares the balance.
    pub async fn tare(&self) -> Result<(), DriverError> {
        self.send(Command::Tare).await
    }

    /// Zeroes the balance.
    pub async fn zero(&self) -> Result<(), DriverError> {
        self.send(Command::Zero).await
    }

    /// Sends any command; the reply, if the family sends one, shows up in the view.
    pub async fn send(&self, command: Command) -> Result<(), DriverError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Send(command, reply))
            .await
            .map_err(|_closed| DriverError::Stopped)?;
        answer.await.map_err(|_closed| DriverError::Stopped)?
    }

    /// Closes the port, tries the common serial settings and every family on it as
    /// `touchstone-scale probe` does (never a command that tares or zeroes), and reopens it
    /// with the configured settings; `listen` is how long each attempt waits for bytes. For a
    /// supervisor finding out why a balance reads garbled or silent.
    pub async fn probe(&self, listen: Duration) -> ProbeResult {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Probe(listen, reply))
            .await
            .map_err(|_closed| DriverError::Stopped)?;
        answer.await.map_err(|_closed| DriverError::Stopped)?
    }

    /// Stops the task and waits for it to close the port.
    pub async fn shutdown(self) {
        let Balance { view: _, requests, task } = self;
        drop(requests);
        if let Err(err) = task.await {
            tracing::error!(error = %err, "balance driver task failed");
        }
    }
}

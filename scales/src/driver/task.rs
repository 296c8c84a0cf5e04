//! The driver task: one loop per open port over a closed set of events, and the reconnect
//! loop around it.
//!
//! **Only this file reads or writes a serial port.** A session ends when the port fails
//! (EOF or an I/O error: the adapter was unplugged), when another balance answers, or when
//! the handle is dropped; the outer loop then waits with doubling backoff and reopens.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, WriteHalf};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_serial::SerialStream;

use super::Request;
use super::config::{DataBits, DriverConfig, FlowControl, Mode, Parity, StopBits, Terminator};
use super::error::DriverError;
use super::settle::StillnessTracker;
use super::state::{BalanceView, ConnectionState};
use crate::command::{self, Command};
use crate::decode::Decoder;
use crate::reading::{IdentityReply, Reading};

/// How a session ended.
enum SessionEnd {
    /// The handle is gone: stop.
    Shutdown,
    /// The port failed; reconnect.
    Lost(String),
    /// Another balance answered.
    WrongBalance { expected: String, found: String },
    /// A probe was asked for: the port is closed for it.
    Probe(Duration, tokio::sync::oneshot::Sender<super::ProbeResult>),
}

/// One thing that happened while a port was open.
enum Event {
    Read(std::io::Result<usize>),
    Poll,
    Request(Option<Request>),
    Timer,
}

/// Runs until the handle is dropped.
pub(super) async fn run(
    config: DriverConfig,
    view: watch::Sender<BalanceView>,
    mut requests: mpsc::Receiver<Request>,
) {
    let mut backoff = config.reconnect_initial;
    let mut known_serial = config.expected_serial.clone();
    // `Connecting` only before the first attempt: later attempts keep showing why the last
    // one failed (disconnected, wrong balance) until a session is up again.
    set_state(&view, ConnectionState::Connecting);
    loop {
        let end = match open_port(&config) {
            Ok(port) => {
                tracing::info!(device = %config.path.display(), "balance port open");
                let mut session = Session::new(&config, &view, &mut known_serial);
                let end = session.run(port, &mut requests).await;
                if session.reached_connected {
                    backoff = config.reconnect_initial;
                }
                end
            }
            Err(err) => SessionEnd::Lost(err.to_string()),
        };
        let state = match end {
            SessionEnd::Shutdown => break,
            SessionEnd::Probe(listen, reply) => {
                probe_port(&config, &view, listen, reply).await;
                backoff = config.reconnect_initial;
                continue;
            }
            SessionEnd::Lost(reason) => {
                tracing::warn!(
                    device = %config.path.display(),
                    %reason,
                    retry_ms = backoff.as_millis(),
                    "balance lost"
                );
                ConnectionState::Disconnected { reason }
            }
            SessionEnd::WrongBalance { expected, found } => {
                tracing::error!(
                    device = %config.path.display(),
                    %expected,
                    %found,
                    "a different balance answered"
                );
                ConnectionState::WrongBalance { expected, found }
            }
        };
        set_state(&view, state.clone());

        // Wait out the backoff, still answering the handle.
        let deadline = Instant::now() + backoff;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => break,
                request = requests.recv() => match request {
                    None => {
                        set_state(&view, ConnectionState::Stopped);
                        return;
                    }
                    Some(Request::Send(_, reply)) => {
                        let refused = DriverError::NotConnected { state: state.to_string() };
                        let _ = reply.send(Err(refused));
                    }
                    Some(Request::Probe(listen, reply)) => {
                        probe_port(&config, &view, listen, reply).await;
                        break;
                    }
                },
            }
        }
        backoff = (backoff * 2).min(config.reconnect_max);
    }
    tracing::info!(device = %config.path.display(), "balance driver stopped");
    set_state(&view, ConnectionState::Stopped);
}

/// Probes the closed port and answers; the caller opens it again afterwards.
async fn probe_port(
    config: &DriverConfig,
    view: &watch::Sender<BalanceView>,
    listen: Duration,
    reply: tokio::sync::oneshot::Sender<super::ProbeResult>,
) {
    set_state(view, ConnectionState::Probing);
    tracing::info!(device = %config.path.display(), "probing the balance port");
    let result = super::probe::probe(&config.path, listen).await;
    let _ = reply.send(result);
}

fn set_state(view: &watch::Sender<BalanceView>, state: ConnectionState) {
    view.send_if_modified(|current| {
        let changed = current.state != state;
        if changed {
            tracing::debug!(from = %current.state, to = %state, "balance state");
            current.state = state;
        }
        changed
    });
}

/// Opens the port with the configured settings.
pub(crate) fn open_port(config: &DriverConfig) -> Result<SerialStream, DriverError> {
    let serial = &config.serial;
    let builder = tokio_serial::new(config.path.to_string_lossy(), serial.baud)
        .data_bits(match serial.data_bits {
            DataBits::Seven => tokio_serial::DataBits::Seven,
            DataBits::Eight => tokio_serial::DataBits::Eight,
        })
        .parity(match serial.parity {
            Parity::None => tokio_serial::Parity::None,
            Parity::Odd => tokio_serial::Parity::Odd,
            Parity::Even => tokio_serial::Parity::Even,
        })
        .stop_bits(match serial.stop_bits {
            StopBits::One => tokio_serial::StopBits::One,
            StopBits::Two => tokio_serial::StopBits::Two,
        })
        .flow_control(match serial.flow_control {
            FlowControl::None => tokio_serial::FlowControl::None,
            FlowControl::Software => tokio_serial::FlowControl::Software,
            FlowControl::Hardware => tokio_serial::FlowControl::Hardware,
        });
    SerialStream::open(&builder)
        .map_err(|err| DriverError::Open { path: config.path.clone(), reason: err.to_string() })
}

/// The bytes for `command`, with the configured terminator in place of CR LF.
pub(crate) fn command_bytes(config: &DriverConfig, command: Command) -> Option<Vec<u8>> {
    let mut bytes = command::encode(config.protocol, command)?;
    if bytes.ends_with(b"\r\n") {
        match config.serial.terminator {
            Terminator::CrLf => {}
            Terminator::Cr => {
                bytes.pop();
            }
            Terminator::Lf => {
                bytes.truncate(bytes.len() - 2);
                bytes.push(b'\n');
            }
        }
    }
    Some(bytes)
}

/// The state of one open port.
struct Session<'a> {
    config: &'a DriverConfig,
    view: &'a watch::Sender<BalanceView>,
    known_serial: &'a mut Option<String>,
    decoder: Decoder,
    tracker: StillnessTracker,
    /// Identity commands still to send, and when the current one gives up.
    identity_queue: Vec<Command>,
    identity_deadline: Option<Instant>,
    last_byte: Instant,
    last_line: Instant,
    reached_connected: bool,
}

impl<'a> Session<'a> {
    fn new(
        config: &'a DriverConfig,
        view: &'a watch::Sender<BalanceView>,
        known_serial: &'a mut Option<String>,
    ) -> Self {
        let now = Instant::now();
        let identity_queue = [Command::Model, Command::Serial]
            .into_iter()
            .filter(|c| command::encode(config.protocol, *c).is_some())
            .collect();
        Session {
            config,
            view,
            known_serial,
            decoder: Decoder::with_cr_pause(config.protocol, config.cr_pause),
            tracker: StillnessTracker::new(config.settle),
            identity_queue,
            identity_deadline: None,
            last_byte: now,
            last_line: now,
            reached_connected: false,
        }
    }

    async fn run(
        &mut self,
        port: SerialStream,
        requests: &mut mpsc::Receiver<Request>,
    ) -> SessionEnd {
        let (mut reader, mut writer) = tokio::io::split(port);
        let mut buf = [0u8; 1024];
        let poll_every = match self.config.mode {
            Mode::Polling { interval } => interval,
            Mode::Streaming => Duration::from_secs(3600),
        };
        let mut poll = tokio::time::interval(poll_every);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        if let Err(end) = self.next_identity(&mut writer).await {
            return end;
        }
        loop {
            let timer = self.next_deadline();
            let event = tokio::select! {
                read = reader.read(&mut buf) => Event::Read(read),
                _ = poll.tick() => Event::Poll,
                request = requests.recv() => Event::Request(request),
                () = tokio::time::sleep_until(timer) => Event::Timer,
            };
            let now = Instant::now();
            match event {
                Event::Read(Ok(0)) => return SessionEnd::Lost("the port closed".into()),
                Event::Read(Err(err)) => return SessionEnd::Lost(err.to_string()),
                Event::Read(Ok(n)) => {
                    self.last_byte = now;
                    let bytes = buf.get(..n).unwrap_or_default();
                    tracing::trace!(bytes = ?String::from_utf8_lossy(bytes), "balance bytes");
                    let readings = self.decoder.push(bytes, now.into_std());
                    if let Err(end) = self.take(readings, &mut writer).await {
                        return end;
                    }
                }
                Event::Poll => {
                    let polling = matches!(self.config.mode, Mode::Polling { .. });
                    if polling
                        && self.identity_queue.is_empty()
                        && self.identity_deadline.is_none()
                        && let Err(end) = self.write(&mut writer, Command::ImmediateWeight).await
                    {
                        return end;
                    }
                }
                Event::Request(None) => return SessionEnd::Shutdown,
                Event::Request(Some(Request::Probe(listen, reply))) => {
                    return SessionEnd::Probe(listen, reply);
                }
                Event::Request(Some(Request::Send(command, reply))) => {
                    let result = match command_bytes(self.config, command) {
                        None => Err(DriverError::Unsupported {
                            protocol: self.config.protocol,
                            command,
                        }),
                        Some(bytes) => writer
                            .write_all(&bytes)
                            .await
                            .map_err(|err| DriverError::NotConnected { state: err.to_string() }),
                    };
                    let failed = result.is_err();
                    let _ = reply.send(result);
                    if failed {
                        return SessionEnd::Lost("writing to the port failed".into());
                    }
                }
                Event::Timer => {
                    if let Some(reading) = self.decoder.poll_idle(now.into_std())
                        && let Err(end) = self.take(vec![reading], &mut writer).await
                    {
                        return end;
                    }
                    if self.identity_deadline.is_some_and(|d| now >= d) {
                        tracing::debug!("identity reply timed out");
                        self.identity_deadline = None;
                        if let Err(end) = self.next_identity(&mut writer).await {
                            return end;
                        }
                    }
                }
            }
            self.update_health(now);
        }
    }

    fn next_deadline(&self) -> Instant {
        let now = Instant::now();
        // Once silent or garbled, those deadlines lie in the past; re-check at a gentle pace
        // instead of waking the task in a tight loop.
        let mut next = now + Duration::from_millis(250);
        for health in [
            self.last_byte + self.config.silence_timeout,
            self.last_line + self.config.garbled_timeout,
        ] {
            if health > now {
                next = next.min(health);
            }
        }
        // A waiting CR line or identity reply is due at once if its time has come.
        let due = [self.decoder.idle_deadline().map(Instant::from_std), self.identity_deadline];
        for deadline in due.into_iter().flatten() {
            next = next.min(deadline.max(now));
        }
        next
    }

    /// Silent, garbled or connected, once the identity check is done.
    fn update_health(&mut self, now: Instant) {
        if !self.identity_queue.is_empty() || self.identity_deadline.is_some() {
            return;
        }
        let state = if now.duration_since(self.last_byte) >= self.config.silence_timeout {
            ConnectionState::Silent
        } else if now.duration_since(self.last_line) >= self.config.garbled_timeout {
            ConnectionState::Garbled
        } else {
            ConnectionState::Connected
        };
        if state == ConnectionState::Connected && !self.reached_connected {
            self.reached_connected = true;
            tracing::info!(device = %self.config.path.display(), "balance connected");
        }
        set_state(self.view, state);
    }

    async fn write(
        &self,
        writer: &mut WriteHalf<SerialStream>,
        command: Command,
    ) -> Result<(), SessionEnd> {
        let Some(bytes) = command_bytes(self.config, command) else { return Ok(()) };
        writer
            .write_all(&bytes)
            .await
            .map_err(|err| SessionEnd::Lost(format!("writing to the port failed: {err}")))
    }

    /// Sends the next identity query, or starts normal work when none is left.
    async fn next_identity(
        &mut self,
        writer: &mut WriteHalf<SerialStream>,
    ) -> Result<(), SessionEnd> {
        if let Some(command) = self.identity_queue.pop() {
            self.identity_deadline = Some(Instant::now() + self.config.identity_timeout);
            return self.write(writer, command).await;
        }
        self.identity_deadline = None;
        if self.config.mode == Mode::Streaming {
            // A balance that can stream on command is asked to; one set to stream already
            // ignores or acknowledges it.
            self.write(writer, Command::ContinuousOn).await?;
        }
        self.update_health(Instant::now());
        Ok(())
    }

    /// Publishes decoded readings, handling identity replies on the way.
    async fn take(
        &mut self,
        readings: Vec<Reading>,
        writer: &mut WriteHalf<SerialStream>,
    ) -> Result<(), SessionEnd> {
        if readings.is_empty() {
            return Ok(());
        }
        self.last_line = Instant::now();
        let mut answered = false;
        for reading in &readings {
            match &reading.identity {
                Some(IdentityReply::Serial(found)) => {
                    answered = true;
                    match self.known_serial.as_ref() {
                        Some(expected) if expected != found => {
                            return Err(SessionEnd::WrongBalance {
                                expected: expected.clone(),
                                found: found.clone(),
                            });
                        }
                        _ => *self.known_serial = Some(found.clone()),
                    }
                    self.view.send_modify(|v| v.identity.serial = Some(found.clone()));
                }
                Some(IdentityReply::Model(model)) => {
                    answered = true;
                    self.view.send_modify(|v| v.identity.model = Some(model.clone()));
                }
                None => {}
            }
        }
        let protocol = self.config.protocol;
        let mut settled = false;
        for reading in &readings {
            settled = self.tracker.observe(reading) && !protocol.reports_stability();
        }
        let count = u64::try_from(readings.len()).unwrap_or(u64::MAX);
        if let Some(latest) = readings.into_iter().last() {
            tracing::debug!(raw = %latest.raw, status = %latest.status, "balance reading");
            self.view.send_modify(|v| {
                v.seq = v.seq.saturating_add(count);
                v.latest = Some(latest);
                v.settled = settled;
            });
        }
        if answered && self.identity_deadline.is_some() {
            self.next_identity(writer).await?;
        }
        Ok(())
    }
}

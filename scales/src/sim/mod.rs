//! A virtual balance of any family behind a pseudo-terminal, for tests and the kiosk's demo.
//!
//! [`SimBalance::start`] creates a pty pair and a stable symlink to its slave end (the way
//! udev gives a USB adapter a stable name). The balance answers its family's commands,
//! streams when asked, and is scripted through the handle: [`SimBalance::place`],
//! [`SimBalance::remove`], [`SimBalance::unplug`] (closes the pty and removes the link),
//! [`SimBalance::replug`] (a new pty, the same link), [`SimBalance::garbage`] (what a wrong
//! baud rate looks like). The physics and the line shapes are pure ([`physics`], [`format`]);
//! this file only moves bytes.

pub mod format;
pub mod physics;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rust_decimal::Decimal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_serial::{SerialPort, SerialStream};

use crate::command::Command;
use crate::framing::LineFramer;
use crate::protocol::Protocol;
use format::Cause;
use physics::{Physics, PhysicsConfig};

/// How to set up a virtual balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// The family it imitates.
    pub protocol: Protocol,
    /// Where the stable symlink to the current pty is kept.
    pub link: PathBuf,
    /// The physical model.
    pub physics: PhysicsConfig,
    /// Print continuously from the start, as a balance set to stream mode does. Families
    /// without commands (Shimadzu, ViBRA, generic) always stream.
    pub streaming: bool,
    /// Time between continuous lines.
    pub stream_interval: Duration,
    /// The model it reports.
    pub model: String,
    /// The serial number it reports.
    pub serial: String,
}

impl SimConfig {
    /// A 320 g, 0.001 g balance that settles in 300 ms, linked at `link`.
    pub fn new(protocol: Protocol, link: impl Into<PathBuf>) -> Self {
        SimConfig {
            protocol,
            link: link.into(),
            physics: PhysicsConfig::default(),
            streaming: false,
            stream_interval: Duration::from_millis(50),
            model: "SIM320".to_owned(),
            serial: "SIM0001".to_owned(),
        }
    }
}

/// Scripted actions, sent from the handle to the balance's task.
#[derive(Debug)]
enum Control {
    Place(Decimal),
    Unplug,
    Replug,
    Garbage(bool),
    Streaming(bool),
}

/// A running virtual balance. Dropping it stops the balance; the symlink is removed.
#[derive(Debug)]
pub struct SimBalance {
    link: PathBuf,
    control: mpsc::Sender<(Control, oneshot::Sender<io::Result<()>>)>,
}

impl SimBalance {
    /// Creates the pty and the link and starts the balance on the current runtime.
    pub async fn start(config: SimConfig) -> io::Result<SimBalance> {
        let link = config.link.clone();
        let port = plug(&link)?;
        let (control, control_rx) = mpsc::channel(8);
        tracing::info!(
            protocol = %config.protocol,
            device = %link.display(),
            "virtual balance started"
        );
        tokio::spawn(Task::new(config).run(port, control_rx));
        Ok(SimBalance { link, control })
    }

    /// The stable path to connect to.
    pub fn path(&self) -> &Path {
        &self.link
    }

    /// Puts a total of `grams` on the pan; it settles over the configured time.
    pub async fn place(&self, grams: Decimal) -> io::Result<()> {
        self.ask(Control::Place(grams)).await
    }

    /// Takes everything off the pan.
    pub async fn remove(&self) -> io::Result<()> {
        self.ask(Control::Place(Decimal::ZERO)).await
    }

    /// Pulls the USB adapter: the pty closes and the link disappears.
    pub async fn unplug(&self) -> io::Result<()> {
        self.ask(Control::Unplug).await
    }

    /// Plugs it back: a new pty behind the same link.
    pub async fn replug(&self) -> io::Result<()> {
        self.ask(Control::Replug).await
    }

    /// Sends noise instead of lines, as a balance at the wrong baud rate appears.
    pub async fn garbage(&self, on: bool) -> io::Result<()> {
        self.ask(Control::Garbage(on)).await
    }

    /// Switches continuous output on or off, as the balance's menu would.
    pub async fn streaming(&self, on: bool) -> io::Result<()> {
        self.ask(Control::Streaming(on)).await
    }

    async fn ask(&self, control: Control) -> io::Result<()> {
        let (reply, answer) = oneshot::channel();
        let stopped =
            || io::Error::new(io::ErrorKind::BrokenPipe, "the virtual balance has stopped");
        self.control.send((control, reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The two ends of a pty: the balance writes the master; the slave is kept open so the pty
/// lives while no driver has it open, and its name is what the link points to.
struct Plugged {
    master: SerialStream,
    _slave: SerialStream,
    pty: PathBuf,
}

fn plug(link: &Path) -> io::Result<Plugged> {
    let (master, slave) = SerialStream::pair().map_err(io::Error::other)?;
    let name = slave.name().ok_or_else(|| io::Error::other("the pty has no slave name"))?;
    // Re-point atomically, so a driver never sees a link to a dead pty and a live one at once.
    let staging = link.with_extension("new");
    let _ = std::fs::remove_file(&staging);
    std::os::unix::fs::symlink(&name, &staging)?;
    std::fs::rename(&staging, link)?;
    tracing::debug!(device = %link.display(), pty = %name, "virtual balance plugged");
    Ok(Plugged { master, _slave: slave, pty: PathBuf::from(name) })
}

/// The balance's task state.
struct Task {
    config: SimConfig,
    physics: Physics,
    continuous: bool,
    garbage: bool,
    /// A stable-weight request waiting for the load to settle (MT-SICS `S` waits, §3.3).
    pending_stable: bool,
    framer: LineFramer,
}

impl Task {
    fn new(config: SimConfig) -> Self {
        let streams_only =
            crate::command::encode(config.protocol, Command::ImmediateWeight).is_none();
        Task {
            physics: Physics::new(config.physics, Instant::now().into_std()),
            continuous: config.streaming || streams_only,
            garbage: false,
            pending_stable: false,
            framer: LineFramer::default(),
            config,
        }
    }

    async fn run(
        mut self,
        port: Plugged,
        mut control: mpsc::Receiver<(Control, oneshot::Sender<io::Result<()>>)>,
    ) {
        let mut port = Some(port);
        let mut tick = tokio::time::interval(self.config.stream_interval);
        let mut buf = [0u8; 256];
        loop {
            let event = match port.as_mut() {
                Some(plugged) => tokio::select! {
                    read = plugged.master.read(&mut buf) => Some(read),
                    _ = tick.tick() => None,
                    request = control.recv() => match request {
                        Some(request) => { self.control(request, &mut port); continue; }
                        None => break,
                    },
                },
                None => match control.recv().await {
                    Some(request) => {
                        self.control(request, &mut port);
                        continue;
                    }
                    None => break,
                },
            };
            let Some(plugged) = port.as_mut() else { continue };
            let out = match event {
                Some(Ok(n)) if n > 0 => self.commands(buf.get(..n).unwrap_or_default()),
                // EIO or EOF on the master: no driver has the slave open right now.
                Some(_) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Vec::new()
                }
                None => self.tick(),
            };
            if !out.is_empty() && plugged.master.write_all(&out).await.is_err() {
                tracing::debug!("virtual balance write failed; nobody listening");
            }
        }
        // Remove the link only if it is still ours: another virtual balance may have been
        // plugged in at the same path since.
        if let Some(plugged) = port
            && std::fs::read_link(&self.config.link).ok() == Some(plugged.pty.clone())
        {
            let _ = std::fs::remove_file(&self.config.link);
        }
    }

    fn control(
        &mut self,
        (control, reply): (Control, oneshot::Sender<io::Result<()>>),
        port: &mut Option<Plugged>,
    ) {
        let now = Instant::now().into_std();
        let result = match control {
            Control::Place(grams) => {
                self.physics.place(grams, now);
                Ok(())
            }
            Control::Unplug => {
                *port = None;
                match std::fs::remove_file(&self.config.link) {
                    Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
                    _ => Ok(()),
                }
            }
            Control::Replug => plug(&self.config.link).map(|plugged| {
                *port = Some(plugged);
                self.framer.reset();
            }),
            Control::Garbage(on) => {
                self.garbage = on;
                Ok(())
            }
            Control::Streaming(on) => {
                self.continuous = on;
                Ok(())
            }
        };
        let _ = reply.send(result);
    }

    /// Periodic output: continuous lines, noise, and a waiting stable reply.
    fn tick(&mut self) -> Vec<u8> {
        if self.garbage {
            // Characters sampled at the wrong baud rate: high bytes, framing junk, and line
            // ends often enough that a framer sees many lines, none of which decode.
            return b"\xf8\x80\x1e\xfe\x00\x9c\xe0x\xff\r\n".to_vec();
        }
        let now = Instant::now().into_std();
        let decimals = self.physics.config().decimals;
        let mut out = Vec::new();
        if self.pending_stable {
            let shown = self.physics.indicate(now);
            if shown.stable || shown.overload {
                self.pending_stable = false;
                out.extend(format::weight_line(
                    self.config.protocol,
                    Cause::Stable,
                    shown,
                    decimals,
                ));
            }
        }
        if self.continuous {
            let shown = self.physics.indicate(now);
            out.extend(format::weight_line(self.config.protocol, Cause::Stream, shown, decimals));
        }
        out
    }

    /// Replies to the command lines in `bytes`.
    fn commands(&mut self, bytes: &[u8]) -> Vec<u8> {
        let protocol = self.config.protocol;
        let mut lines = Vec::new();
        if protocol == Protocol::Kern {
            // Kern's legacy commands are single letters with no terminator (§7.1).
            lines.extend(bytes.iter().map(|b| vec![*b]));
        } else {
            self.framer.push(bytes, Instant::now().into_std(), &mut lines);
        }
        let mut out = Vec::new();
        for line in lines {
            match format::recognise(protocol, &line) {
                Some(command) => out.extend(self.answer(command)),
                None => out.extend(format::unknown_reply(protocol).unwrap_or_default()),
            }
        }
        if self.garbage { Vec::new() } else { out }
    }

    fn answer(&mut self, command: Command) -> Vec<u8> {
        let protocol = self.config.protocol;
        let now = Instant::now().into_std();
        let decimals = self.physics.config().decimals;
        match command {
            Command::StableWeight => {
                let shown = self.physics.indicate(now);
                if shown.stable || shown.overload {
                    return format::weight_line(protocol, Cause::Stable, shown, decimals);
                }
                self.pending_stable = true;
                Vec::new()
            }
            Command::ImmediateWeight => {
                if matches!(protocol, Protocol::MtSics | Protocol::KernKcp) {
                    // `SI` also ends `SIR` (MT-SICS p.207).
                    self.continuous = false;
                }
                let shown = self.physics.indicate(now);
                format::weight_line(protocol, Cause::Immediate, shown, decimals)
            }
            Command::ContinuousOn | Command::ContinuousOff => {
                self.continuous = command == Command::ContinuousOn;
                Vec::new()
            }
            Command::Zero | Command::Tare => {
                let done = if command == Command::Zero {
                    self.physics.zero(now)
                } else {
                    self.physics.tare(now)
                };
                let tare = self.physics.tare_grams();
                format::state_reply(protocol, command, done, tare, decimals).unwrap_or_default()
            }
            Command::Serial | Command::Model => {
                format::identity_reply(protocol, command, &self.config.model, &self.config.serial)
                    .unwrap_or_default()
            }
        }
    }
}

//! The bench's moving parts behind the screen: journal, master data cache, balance, uplink
//! and signals, and the executor that carries out the bench's [`Command`]s.
//!
//! The screen never waits. [`Station::execute`] starts each command on the tokio runtime and
//! returns; the result comes back as an [`Outcome`] on a channel the app drains every frame,
//! and each outcome (and each change of the balance, the link, the journal or the cache)
//! asks the screen to repaint. Nothing else does, so a static screen costs nothing.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use tokio::sync::{mpsc, watch};
use touchstone_model::event::Event;
use touchstone_model::ids::JobId;
use touchstone_scales::{Balance, BalanceView, DriverConfig, DriverError};

use crate::bench::{Command, Input};
use crate::cache::Cache;
use crate::config::{GpioSettings, ScannerSettings, StationConfig};
use crate::gpio::{self, Signals};
use crate::journal::{Entry, Journal};
use crate::scanner;
use crate::uplink::{BenchStatus, LinkState, Uplink, UplinkSettings};

/// How long each attempt of a probe listens for the balance.
const PROBE_LISTEN: std::time::Duration = std::time::Duration::from_millis(600);

/// What a probe found, in words for the supervisor at the settings screen.
pub fn probe_words(
    found: &Result<Option<touchstone_scales::driver::probe::ProbeReport>, DriverError>,
) -> String {
    use touchstone_scales::driver::{DataBits, Parity, StopBits};
    match found {
        Ok(Some(report)) => {
            let serial = &report.serial;
            let frame = format!(
                "{}{}{}",
                match serial.data_bits {
                    DataBits::Seven => 7,
                    DataBits::Eight => 8,
                },
                match serial.parity {
                    Parity::None => "N",
                    Parity::Odd => "O",
                    Parity::Even => "E",
                },
                match serial.stop_bits {
                    StopBits::One => 1,
                    StopBits::Two => 2,
                }
            );
            let who = [report.identity.model.as_deref(), report.identity.serial.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", serial ");
            let how = if report.streaming { "prints on its own" } else { "answers requests" };
            let who = if who.is_empty() { String::new() } else { format!(" ({who})") };
            format!(
                "Probe: a {} balance{who} answered at {} baud {frame}; it {how}; it read {}.",
                report.protocol,
                serial.baud,
                report.sample.raw.trim()
            )
        }
        Ok(None) => "Probe: no balance answered at any common setting. Check the cable, that \
                     the balance is on, and its interface menu."
            .into(),
        Err(err) => format!("Probe failed: {err}."),
    }
}

/// How long a capture waits for the balance to be stable.
pub const CAPTURE_TIMEOUT: Duration = Duration::from_secs(20);

/// How many events the history screen lists.
pub const HISTORY_LEN: u32 = 50;

/// How often the free space of the journal's disk is read.
pub const DISK_CHECK: Duration = Duration::from_secs(30);

/// The journal's disk: free and total bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    /// Bytes this process may still write.
    pub free: u64,
    /// The file system's size.
    pub total: u64,
}

/// How worried to be about the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskLevel {
    /// Plenty left.
    Fine,
    /// Under a gigabyte or a tenth of the disk: weeks of backlog still fit, but IT should act.
    Low,
    /// Under 200 MB: the journal may soon refuse to write.
    Critical,
}

impl DiskSpace {
    /// Reads the file system holding `path`.
    pub fn of(path: &Path) -> std::io::Result<DiskSpace> {
        let stat = rustix::fs::statvfs(path)?;
        Ok(DiskSpace {
            free: stat.f_bavail.saturating_mul(stat.f_frsize),
            total: stat.f_blocks.saturating_mul(stat.f_frsize),
        })
    }

    /// The level this much free space is at. A journal event takes about a kilobyte, so the
    /// low mark still leaves room for about a million events.
    pub fn level(self) -> DiskLevel {
        const MB: u64 = 1_000_000;
        if self.free < 200 * MB {
            DiskLevel::Critical
        } else if self.free < 1_000 * MB || self.free < self.total / 10 {
            DiskLevel::Low
        } else {
            DiskLevel::Fine
        }
    }
}

/// What came back from the runtime.
#[derive(Debug)]
pub enum Outcome {
    /// The journal has these events on disk.
    Saved(Vec<Event>),
    /// The journal refused them; nothing was recorded.
    SaveFailed(String),
    /// This bench's events for a job, oldest first.
    JobEvents(JobId, Vec<Event>),
    /// An input from outside the screen: a capture, a serial scan, the foot switch.
    Input(Input),
    /// The station's recent events, newest first.
    History(Vec<Entry>),
    /// Something to tell the worker that changes nothing (tare failed, say).
    Notice(String),
}

/// Wakes the screen. Holds the egui context once the app has one, and counts its wakes.
#[derive(Clone, Default)]
pub struct Waker(Arc<Mutex<Option<egui::Context>>>, Arc<std::sync::atomic::AtomicU64>);

impl std::fmt::Debug for Waker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Waker")
    }
}

impl Waker {
    /// Asks for a repaint.
    pub fn wake(&self) {
        self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(guard) = self.0.lock()
            && let Some(ctx) = guard.as_ref()
        {
            ctx.request_repaint();
        }
    }

    /// Asks the window to close (SIGTERM).
    pub fn close(&self) {
        if let Ok(guard) = self.0.lock()
            && let Some(ctx) = guard.as_ref()
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            ctx.request_repaint();
        }
    }

    /// Binds the context to wake.
    pub fn bind(&self, ctx: &egui::Context) {
        if let Ok(mut guard) = self.0.lock() {
            *guard = Some(ctx.clone());
        }
    }
}

/// Sends outcomes and wakes the screen.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<Outcome>,
    waker: Waker,
}

impl Outbox {
    /// Asks the window to close.
    pub fn close_screen(&self) {
        self.waker.close();
    }

    /// Reports an outcome.
    pub fn send(&self, outcome: Outcome) -> bool {
        let sent = self.tx.send(outcome).is_ok();
        self.waker.wake();
        sent
    }
}

/// Everything the bench runs on. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Station {
    /// The journal.
    pub journal: Journal,
    /// The master data.
    pub cache: Cache,
    /// The balance, when one is configured.
    pub balance: Option<Arc<Balance>>,
    /// Lamps and buzzer.
    pub signals: Signals,
    /// The link to the gateway.
    pub link: watch::Receiver<LinkState>,
    /// What the heartbeat reports.
    pub status: Arc<watch::Sender<BenchStatus>>,
    /// Where the journal lives, for the settings screen.
    pub data_dir: PathBuf,
    /// The journal disk's free space, read every [`DISK_CHECK`].
    pub disk: watch::Receiver<Option<DiskSpace>>,
    runtime: tokio::runtime::Handle,
    outbox: Outbox,
}

impl Station {
    /// How many times the runtime has woken the screen since start.
    pub fn wakes(&self) -> u64 {
        self.outbox.waker.1.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The sender of outcomes, for inputs that come from elsewhere.
    pub fn outbox(&self) -> Outbox {
        self.outbox.clone()
    }

    /// The balance's view now, if there is a balance.
    pub fn balance_view(&self) -> Option<BalanceView> {
        self.balance.as_ref().map(|b| b.watch().borrow().clone())
    }

    /// Binds the screen to wake and starts repainting it whenever a part changes in a way
    /// the screen shows. A polled balance publishes a new view several times a second; the
    /// screen is woken only when the weight, unit or state it shows changes.
    pub fn bind_screen(&self, ctx: &egui::Context) {
        self.outbox.waker.bind(ctx);
        let waker = self.outbox.waker.clone();
        let mut link = self.link.clone();
        let mut journal = self.journal.watch_stats();
        let mut cache = self.cache.watch();
        let mut disk = self.disk.clone();
        let mut balance = self.balance.as_ref().map(|b| b.watch());
        self.runtime.spawn(async move {
            let mut shown = balance.as_ref().map(|b| crate::ui::weight_words(Some(&b.borrow())));
            loop {
                let balance_changed = async {
                    match balance.as_mut() {
                        Some(view) => view.changed().await.is_ok(),
                        None => std::future::pending().await,
                    }
                };
                let (alive, from_balance) = tokio::select! {
                    r = link.changed() => (r.is_ok(), false),
                    r = journal.changed() => (r.is_ok(), false),
                    r = cache.changed() => (r.is_ok(), false),
                    r = disk.changed() => (r.is_ok(), false),
                    alive = balance_changed => (alive, true),
                };
                if !alive {
                    return;
                }
                if from_balance {
                    let now = balance.as_ref().map(|b| crate::ui::weight_words(Some(&b.borrow())));
                    if now == shown {
                        continue;
                    }
                    shown = now;
                }
                waker.wake();
            }
        });
    }

    /// Starts a command; its result arrives as an [`Outcome`].
    pub fn execute(&self, command: Command) {
        let outbox = self.outbox.clone();
        match command {
            Command::Journal(records) => {
                let journal = self.journal.clone();
                self.runtime.spawn(async move {
                    let outcome = match journal.append_all(records, Utc::now()).await {
                        Ok(events) => Outcome::Saved(events),
                        Err(err) => {
                            tracing::error!(error = %err, "journal write failed");
                            Outcome::SaveFailed(err.to_string())
                        }
                    };
                    outbox.send(outcome);
                });
            }
            Command::LoadJob(job) => {
                let journal = self.journal.clone();
                self.runtime.spawn(async move {
                    match journal.for_job(&job).await {
                        Ok(entries) => {
                            let events = entries.into_iter().map(|e| e.event).collect();
                            outbox.send(Outcome::JobEvents(job, events));
                        }
                        Err(err) => {
                            outbox.send(Outcome::Notice(format!(
                                "Could not read the journal: {err}"
                            )));
                        }
                    }
                });
            }
            Command::Capture => {
                let Some(balance) = self.balance.clone() else {
                    outbox.send(Outcome::Input(Input::CaptureFailed(
                        "This bench has no balance configured.".into(),
                    )));
                    return;
                };
                self.runtime.spawn(async move {
                    let input = match balance.capture_stable(CAPTURE_TIMEOUT).await {
                        Ok(captured) => Input::Captured(Box::new(captured)),
                        Err(err) => Input::CaptureFailed(capture_words(&err.to_string())),
                    };
                    outbox.send(Outcome::Input(input));
                });
            }
            Command::Tare | Command::Zero => {
                let Some(balance) = self.balance.clone() else { return };
                let tare = command == Command::Tare;
                self.runtime.spawn(async move {
                    let result = if tare { balance.tare().await } else { balance.zero().await };
                    if let Err(err) = result {
                        let what = if tare { "Tare" } else { "Zero" };
                        outbox.send(Outcome::Notice(format!("{what} failed: {err}")));
                    }
                });
            }
            Command::Identify => {
                let Some(balance) = self.balance.clone() else { return };
                self.runtime.spawn(async move {
                    for ask in [
                        touchstone_scales::command::Command::Serial,
                        touchstone_scales::command::Command::Model,
                    ] {
                        if let Err(err) = balance.send(ask).await {
                            outbox.send(Outcome::Notice(format!(
                                "The balance did not answer: {err}"
                            )));
                            return;
                        }
                    }
                });
            }
            Command::Probe => {
                let Some(balance) = self.balance.clone() else { return };
                self.runtime.spawn(async move {
                    let found = balance.probe(PROBE_LISTEN).await;
                    outbox.send(Outcome::Notice(probe_words(&found)));
                });
            }
            Command::Signal(signal) => self.signals.signal(signal),
        }
    }

    /// Loads the history screen's events.
    pub fn load_history(&self) {
        let journal = self.journal.clone();
        let outbox = self.outbox.clone();
        self.runtime.spawn(async move {
            if let Ok(entries) = journal.recent(HISTORY_LEN).await {
                outbox.send(Outcome::History(entries));
            }
        });
    }
}

fn capture_words(error: &str) -> String {
    format!("No weight taken: {error}. Check the balance and try again.")
}

/// A running bench: the station, its outcomes, and what must be stopped at the end.
#[derive(Debug)]
pub struct Running {
    /// The station.
    pub station: Station,
    /// Its outcomes.
    pub outcomes: mpsc::UnboundedReceiver<Outcome>,
    /// What stops it.
    pub stopper: Stopper,
}

/// Stops a running bench.
#[derive(Debug)]
pub struct Stopper {
    uplink: Uplink,
    journal: Journal,
}

impl Stopper {
    /// Publishes the offline status, stops the uplink and closes the journal.
    pub async fn shutdown(self) {
        self.uplink.shutdown().await;
        self.journal.close().await;
    }
}

/// Reads the free space of `dir`'s disk now and every [`DISK_CHECK`], logging each change of
/// level. The task ends when every receiver is gone.
fn watch_disk(dir: PathBuf) -> watch::Receiver<Option<DiskSpace>> {
    let (tx, rx) = watch::channel(DiskSpace::of(&dir).ok());
    tokio::spawn(async move {
        let mut level = DiskLevel::Fine;
        let mut tick = tokio::time::interval(DISK_CHECK);
        loop {
            tick.tick().await;
            let space = DiskSpace::of(&dir).ok();
            if let Some(space) = space
                && space.level() != level
            {
                level = space.level();
                let dir = dir.display();
                tracing::warn!(free_bytes = space.free, ?level, %dir, "journal disk space");
            }
            // Only a change of level wakes the screen; the figure itself updates with it.
            tx.send_if_modified(|old| {
                let changed = old.map(DiskSpace::level) != space.map(DiskSpace::level);
                *old = space;
                changed
            });
            if tx.is_closed() {
                return;
            }
        }
    });
    rx
}

/// The journal file inside a data directory.
pub fn journal_path(data_dir: &Path) -> PathBuf {
    data_dir.join("journal.db")
}

/// Opens everything a station file describes and starts the uplink. `balance` overrides the
/// configured balance (the demo's virtual one).
pub async fn start(
    config: &StationConfig,
    balance: Option<DriverConfig>,
    version: &str,
) -> anyhow::Result<Running> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let journal = Journal::open(&journal_path(&config.data_dir), &config.station)
        .await
        .with_context(|| format!("opening the journal in {}", config.data_dir.display()))?;
    let cache = Cache::load(journal.clone()).await.context("loading the cached workshop data")?;
    let balance = match balance.or_else(|| config.balance.clone()) {
        Some(driver) => Some(Arc::new(Balance::spawn(driver).context("starting the balance")?)),
        None => None,
    };
    let status = Arc::new(watch::channel(BenchStatus::default()).0);
    let uplink = Uplink::spawn(
        UplinkSettings {
            station: config.station.clone(),
            broker: config.broker.clone(),
            heartbeat: config.heartbeat,
            version: version.to_owned(),
        },
        journal.clone(),
        Some(cache.clone()),
        status.subscribe(),
    );
    let waker = Waker::default();
    let (press_tx, mut presses) = mpsc::unbounded_channel();
    let signals = gpio::open(&config.gpio, config.debounce, move || {
        let _ = press_tx.send(());
    })
    .context("opening the GPIO pins")?;
    if matches!(config.gpio, GpioSettings::Rppal(_)) {
        tracing::info!("GPIO on the Raspberry Pi's pins");
    }
    let disk = watch_disk(config.data_dir.clone());
    let (tx, outcomes) = mpsc::unbounded_channel();
    let station = Station {
        journal,
        cache,
        balance,
        signals,
        link: uplink.link(),
        status,
        data_dir: config.data_dir.clone(),
        disk,
        runtime: tokio::runtime::Handle::current(),
        outbox: Outbox { tx, waker },
    };

    let outbox = station.outbox();
    tokio::spawn(async move {
        while presses.recv().await.is_some() {
            if !outbox.send(Outcome::Input(Input::FootSwitch)) {
                return;
            }
        }
    });
    if let ScannerSettings::Serial { port, baud } = &config.scanner {
        let outbox = station.outbox();
        tokio::spawn(scanner::run_serial(port.clone(), *baud, move |code| {
            outbox.send(Outcome::Input(Input::Scan(code)))
        }));
    }
    let stopper = Stopper { uplink, journal: station.journal.clone() };
    Ok(Running { station, outcomes, stopper })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1_000_000;

    #[test]
    fn a_probe_is_told_in_words_a_supervisor_can_act_on() {
        use touchstone_scales::Protocol;
        use touchstone_scales::driver::SerialSettings;
        use touchstone_scales::driver::probe::ProbeReport;
        let sample = touchstone_scales::decode_line(
            Protocol::MtSics,
            b"S S      0.000 g\r\n",
            std::time::Instant::now(),
        )
        .unwrap();
        let report = ProbeReport {
            protocol: Protocol::MtSics,
            serial: SerialSettings::defaults_for(Protocol::MtSics),
            identity: touchstone_model::event::BalanceIdentity {
                protocol: "mt-sics".into(),
                model: Some("XS204".into()),
                serial: Some("B123".into()),
            },
            sample,
            streaming: false,
        };
        assert_eq!(
            probe_words(&Ok(Some(report))),
            "Probe: a mt-sics balance (XS204, serial B123) answered at 9600 baud 8N1; it answers \
         requests; it read S S      0.000 g."
        );
        assert!(probe_words(&Ok(None)).starts_with("Probe: no balance answered"));
    }

    #[test]
    fn disk_levels_warn_long_before_the_disk_is_full() {
        let space = |free, total| DiskSpace { free, total };
        assert_eq!(space(20_000 * MB, 32_000 * MB).level(), DiskLevel::Fine);
        // Under a tenth of the card, or under a gigabyte on a big disk: low.
        assert_eq!(space(3_000 * MB, 32_000 * MB).level(), DiskLevel::Low);
        assert_eq!(space(900 * MB, 500_000 * MB).level(), DiskLevel::Low);
        assert_eq!(space(150 * MB, 32_000 * MB).level(), DiskLevel::Critical);
        assert_eq!(space(0, 0).level(), DiskLevel::Critical);
    }

    #[test]
    fn the_free_space_of_a_real_folder_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let space = DiskSpace::of(dir.path()).unwrap();
        assert!(space.total > 0 && space.free <= space.total, "{space:?}");
        assert!(DiskSpace::of(&dir.path().join("missing")).is_err());
    }
}

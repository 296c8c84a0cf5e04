//! The kiosk app: one frame at a time, it takes in what happened (outcomes from the runtime,
//! keys from a keyboard-mode scanner, taps), lets the [`Bench`] decide, starts the commands
//! the bench returns, and draws the screen through [`crate::ui`].
//!
//! The app holds no rules of its own: the bench decides, the station carries out, the
//! drawing code only shows and reports taps.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use touchstone_model::protocol::BalanceState;

use crate::bench::{Action, Bench, Command, Input};
use crate::journal::Entry;
use crate::scanner::KeyBurst;
use crate::station::{Outcome, Station};
use crate::ui::{self, Demo, Frame, Tap};

/// Where the app's clock comes from: the system's, or a fixed instant for snapshots.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The system clock.
    System,
    /// Always this instant.
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// Now.
    pub fn now(self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(at) => at,
        }
    }
}

/// How the app is set up besides its station.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// Idle time before the operator is signed out.
    pub idle_signout: Duration,
    /// Longest gap between two keys of a keyboard-mode scan.
    pub scan_gap: Duration,
    /// Fewest characters in a keyboard-mode scan.
    pub scan_min_len: usize,
    /// The clock.
    pub clock: Clock,
    /// The software version shown in the settings.
    pub version: String,
    /// The demo's helpers, when running the demo.
    pub demo: Option<Demo>,
}

/// The kiosk.
pub struct KioskApp {
    bench: Bench,
    station: Station,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    keys: KeyBurst,
    history: Vec<Entry>,
    notice: Option<String>,
    options: AppOptions,
    bound: bool,
}

impl std::fmt::Debug for KioskApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KioskApp").field("bench", &self.bench).finish_non_exhaustive()
    }
}

impl KioskApp {
    /// A kiosk on a running station.
    pub fn new(
        station: Station,
        outcomes: mpsc::UnboundedReceiver<Outcome>,
        options: AppOptions,
    ) -> Self {
        let now = options.clock.now();
        let bench = Bench::new(station.journal.station().clone(), options.idle_signout, now);
        KioskApp {
            bench,
            station,
            outcomes,
            keys: KeyBurst::new(options.scan_gap, options.scan_min_len),
            history: Vec::new(),
            notice: None,
            options,
            bound: false,
        }
    }

    /// The bench's state, for tests and the status heartbeat.
    pub fn bench(&self) -> &Bench {
        &self.bench
    }

    /// The station.
    pub fn station(&self) -> &Station {
        &self.station
    }

    /// One frame: take in what happened, decide, draw.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if !self.bound {
            ui::style(&ctx);
            self.station.bind_screen(&ctx);
            self.station.execute(Command::Signal(crate::bench::Signal::Ready));
            self.bound = true;
        }
        let now = self.options.clock.now();
        self.drain_outcomes(now);
        for code in self.scans(&ctx) {
            self.input(Input::Scan(code), now);
        }
        self.input(Input::Tick, now);

        // One copy of the balance's view serves the whole frame and the status heartbeat.
        let balance = self.station.balance_view();
        let taps = {
            let master = self.station.cache.read();
            let link = self.station.link.borrow().clone();
            let frame = Frame {
                bench: &self.bench,
                master: &master,
                balance: balance.as_ref(),
                balance_can: ui::BalanceCan::of(balance.as_ref()),
                link: &link,
                journal: self.station.journal.stats(),
                disk: *self.station.disk.borrow(),
                panel: self.station.signals.state(),
                history: &self.history,
                notice: self.notice.as_deref(),
                version: &self.options.version,
                data_dir: &self.station.data_dir,
                demo: self.options.demo.as_ref(),
                now,
            };
            ui::draw(ui, &frame)
        };
        for tap in taps {
            match tap {
                Tap::Bench(action) => {
                    self.notice = None;
                    self.tap(action);
                }
                Tap::Scan(code) => self.input(Input::Scan(code), now),
                Tap::Demo(demo) => {
                    if let Some(helpers) = &self.options.demo {
                        helpers.act(demo);
                    }
                }
            }
        }
        self.report_status(balance.as_ref());
        self.schedule_idle_tick(&ctx, now);
    }

    /// Taps an action as the screen would, for tests and benchmarks without a pointer.
    pub fn tap(&mut self, action: Action) {
        let now = self.options.clock.now();
        if action == Action::History {
            self.station.load_history();
        }
        self.input(Input::Tap(action), now);
    }

    fn input(&mut self, input: Input, now: DateTime<Utc>) {
        let commands = {
            let master = self.station.cache.read();
            self.bench.handle(input, &master, now)
        };
        self.run(commands);
    }

    fn run(&mut self, commands: Vec<Command>) {
        for command in commands {
            self.station.execute(command);
        }
    }

    fn drain_outcomes(&mut self, now: DateTime<Utc>) {
        while let Ok(outcome) = self.outcomes.try_recv() {
            match outcome {
                Outcome::Saved(events) => {
                    self.bench.saved(&events);
                    self.station.execute(Command::Signal(crate::bench::Signal::Done));
                    if matches!(self.bench.screen(), crate::bench::Screen::History) {
                        self.station.load_history();
                    }
                }
                Outcome::SaveFailed(reason) => {
                    self.bench.save_failed(&reason);
                    self.station.execute(Command::Signal(crate::bench::Signal::Refused));
                }
                Outcome::JobEvents(job, events) => self.bench.job_events(&job, events),
                Outcome::Input(input) => self.input(input, now),
                Outcome::History(entries) => self.history = entries,
                Outcome::Notice(text) => self.notice = Some(text),
            }
        }
    }

    /// Codes typed by a keyboard-mode scanner this frame.
    fn scans(&mut self, ctx: &egui::Context) -> Vec<String> {
        let (events, time) = ctx.input(|i| (i.events.clone(), i.time));
        let at = Duration::from_secs_f64(time.max(0.0));
        let mut codes = Vec::new();
        for event in events {
            match event {
                egui::Event::Text(text) => {
                    for ch in text.chars() {
                        self.keys.key(ch, at);
                    }
                }
                egui::Event::Key { key: egui::Key::Enter, pressed: true, .. } => {
                    codes.extend(self.keys.enter(at));
                }
                _ => {}
            }
        }
        codes
    }

    fn report_status(&self, balance: Option<&touchstone_scales::BalanceView>) {
        let operator = self.bench.operator().map(|o| o.id.clone());
        let (balance, detail) = match balance {
            None => (BalanceState::None, None),
            Some(view) => {
                (view.state.balance_state(view.latest.as_ref()), Some(view.state.to_string()))
            }
        };
        self.station.status.send_if_modified(|status| {
            let changed = status.operator != operator
                || status.balance != balance
                || status.balance_detail != detail;
            if changed {
                status.operator = operator;
                status.balance = balance;
                status.balance_detail = detail;
            }
            changed
        });
    }

    /// Wakes the screen in time for the idle sign-out, without repainting in between.
    fn schedule_idle_tick(&self, ctx: &egui::Context, now: DateTime<Utc>) {
        if let Some(left) = self.bench.idle_left(now) {
            ctx.request_repaint_after(left + Duration::from_millis(50));
        }
    }
}

impl eframe::App for KioskApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}

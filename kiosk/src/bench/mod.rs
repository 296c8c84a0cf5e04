//! The bench's state machine: what a scan, a tap, the foot switch or a balance capture means
//! at this moment, and what must happen because of it.
//!
//! It is pure. [`Bench::handle`] takes the input, the master data and the time, changes the
//! screen and returns [`Command`]s; the app carries them out (journal, balance, lamps) and
//! reports back. **Nothing is shown as done until the journal says it is on disk**: a
//! [`Command::Journal`] leaves the bench "saving", and only [`Bench::saved`] moves it on.
//! A refused action records nothing; a supervisor's badge on an overridable refusal records
//! an `override` event and the action together, in one transaction.

pub mod view;

use chrono::{DateTime, Utc};
use touchstone_model::event::{
    Event, Fact, HoldReason, SignOutReason, StoneMovement, Weighing, WeightPurpose,
};
use touchstone_model::ids::{JobId, StationId};
use touchstone_model::rules::{
    LossAssessment, LossVerdict, Refusal, assess_loss, check_stage_finish, check_stage_start,
    check_stone_issue,
};
use touchstone_model::workshop::{Component, LossBand, Operator, Station};
use touchstone_scales::Captured;

use crate::cache::MasterData;
use crate::journal::Record;
pub use view::{JobView, Metal};

/// Notes a worker can add with one tap (no keyboard at the bench).
pub const NOTES: [&str; 5] = [
    "Needs a supervisor to look",
    "Porosity found",
    "Stone loose, re-check",
    "Customer call needed",
    "Waiting for findings",
];

/// Hold reasons offered, in the order shown.
pub const HOLD_REASONS: [HoldReason; 5] = [
    HoldReason::MissingParts,
    HoldReason::CustomerChange,
    HoldReason::QualityIssue,
    HoldReason::AwaitingCad,
    HoldReason::Other,
];

/// A hold reason in words.
pub fn hold_words(reason: HoldReason) -> &'static str {
    match reason {
        HoldReason::MissingParts => "Missing parts",
        HoldReason::CustomerChange => "Customer change",
        HoldReason::QualityIssue => "Quality issue",
        HoldReason::AwaitingCad => "Awaiting CAD",
        HoldReason::Other => "Other",
    }
}

/// Something the worker asked for by touch (or the foot switch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Sign the operator out.
    SignOut,
    /// Start this station's stage on the open job.
    StartStage,
    /// Finish the stage in progress.
    FinishStage,
    /// Open the weighing screen for a purpose.
    Weigh(WeightPurpose),
    /// Take the weight when the balance is stable.
    Capture,
    /// Tare the balance.
    Tare,
    /// Zero the balance.
    Zero,
    /// Ask the balance for its serial number and model (changes nothing on it).
    IdentifyBalance,
    /// Try the common serial settings and families on the balance's port.
    ProbeBalance,
    /// Show the hold reasons.
    Hold,
    /// Hold the job for this reason.
    HoldBecause(HoldReason),
    /// Release a held job.
    Release,
    /// Show the notes.
    Note,
    /// Add the note at this index of [`NOTES`].
    AddNote(usize),
    /// Accept a loss over the warning line.
    ConfirmLoss,
    /// Close a red screen or a list, back to the job or the start.
    Dismiss,
    /// Put the job away.
    CloseJob,
    /// Show this station's recent events.
    History,
    /// Ask for a supervisor's badge to open the settings.
    Settings,
}

/// Everything the bench reacts to.
#[derive(Debug, Clone)]
pub enum Input {
    /// A barcode, from any scanner.
    Scan(String),
    /// A tap.
    Tap(Action),
    /// The foot switch, debounced: the same as the capture button.
    FootSwitch,
    /// The balance gave a stable weight.
    Captured(Box<Captured>),
    /// The balance could not give one.
    CaptureFailed(String),
    /// Time passed (idle sign-out).
    Tick,
}

/// What the app must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Write these records in one transaction, then call [`Bench::saved`] or
    /// [`Bench::save_failed`].
    Journal(Vec<Record>),
    /// Load this bench's events for the job and pass them to [`Bench::job_events`].
    LoadJob(JobId),
    /// Wait for a stable weight, then report [`Input::Captured`] or [`Input::CaptureFailed`].
    Capture,
    /// Tare the balance.
    Tare,
    /// Zero the balance.
    Zero,
    /// Ask the balance who it is.
    Identify,
    /// Probe the balance's port.
    Probe,
    /// Sound and light.
    Signal(Signal),
}

/// Sound and light cues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Green: ready.
    Ready,
    /// Amber: waiting (settling, saving).
    Waiting,
    /// Red and a buzz: refused.
    Refused,
    /// A short beep: done.
    Done,
}

/// A red screen: what was refused and whether a supervisor may allow it.
#[derive(Debug, Clone, PartialEq)]
pub struct Interlock {
    /// Short title, e.g. "Not at this stage".
    pub title: String,
    /// Plain words for the worker.
    pub detail: String,
    /// What a supervisor's badge would record (after the override), if overridable.
    pub pending: Option<Vec<Record>>,
}

/// Which screen is up.
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    /// Nobody signed in: scan your badge.
    SignIn,
    /// Signed in, no job: scan an envelope.
    Ready,
    /// The job card with its actions.
    Job,
    /// Weighing for a purpose; `capturing` while waiting for the balance to be stable.
    Weighing {
        /// What for.
        purpose: WeightPurpose,
        /// A capture is running.
        capturing: bool,
    },
    /// A loss over the warning line: confirm or cancel.
    ConfirmLoss {
        /// The weighing to record.
        weighing: Box<Weighing>,
        /// Its loss.
        assessment: LossAssessment,
    },
    /// Choose a hold reason.
    HoldReasons,
    /// Choose a note.
    Notes,
    /// A refusal.
    Refused(Interlock),
    /// This station's recent events.
    History,
    /// Scan a supervisor badge to open the settings.
    SupervisorGate,
    /// Balance, journal, link and version.
    Settings,
}

/// A short message under the header ("Saved: stage started").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    /// The words.
    pub text: String,
    /// Good news (green) or a warning (amber).
    pub good: bool,
}

/// What happens once the journal has the records.
#[derive(Debug, Clone, PartialEq)]
struct AfterSave {
    screen: Screen,
    operator: OperatorChange,
    banner: String,
}

#[derive(Debug, Clone, PartialEq)]
enum OperatorChange {
    Keep,
    SignIn(Operator),
    SignOut,
}

/// The bench.
#[derive(Debug, Clone)]
pub struct Bench {
    station: StationId,
    idle_signout: chrono::Duration,
    operator: Option<Operator>,
    last_activity: DateTime<Utc>,
    job: Option<JobId>,
    job_events: Vec<Event>,
    screen: Screen,
    banner: Option<Banner>,
    saving: Option<AfterSave>,
}

impl Bench {
    /// A bench with nobody signed in.
    pub fn new(station: StationId, idle_signout: std::time::Duration, now: DateTime<Utc>) -> Self {
        Bench {
            station,
            idle_signout: chrono::Duration::from_std(idle_signout).unwrap_or(chrono::Duration::MAX),
            operator: None,
            last_activity: now,
            job: None,
            job_events: Vec::new(),
            screen: Screen::SignIn,
            banner: None,
            saving: None,
        }
    }

    /// The screen to draw.
    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    /// Who is signed in.
    pub fn operator(&self) -> Option<&Operator> {
        self.operator.as_ref()
    }

    /// The open job's id.
    pub fn job(&self) -> Option<&JobId> {
        self.job.as_ref()
    }

    /// The message under the header.
    pub fn banner(&self) -> Option<&Banner> {
        self.banner.as_ref()
    }

    /// Whether records are on their way to the journal.
    pub fn is_saving(&self) -> bool {
        self.saving.is_some()
    }

    /// The station this bench is.
    pub fn station_id(&self) -> &StationId {
        &self.station
    }

    /// The open job as the bench sees it, when the cache knows it.
    pub fn job_view(&self, master: &MasterData, now: DateTime<Utc>) -> Option<JobView> {
        let snapshot = master.jobs.get(self.job.as_ref()?)?;
        Some(JobView::new(snapshot, &self.job_events, now.date_naive()))
    }

    /// This station's master data, or a stand-in with no stages when the cache lacks it.
    pub fn station(&self, master: &MasterData) -> Station {
        master.stations.iter().find(|s| s.id == self.station).cloned().unwrap_or_else(|| Station {
            id: self.station.clone(),
            name: self.station.to_string(),
            stages: Vec::new(),
        })
    }

    /// How long until the idle sign-out, when someone is signed in.
    pub fn idle_left(&self, now: DateTime<Utc>) -> Option<std::time::Duration> {
        self.operator.as_ref()?;
        let left = self.idle_signout - (now - self.last_activity);
        Some(left.to_std().unwrap_or_default())
    }

    /// The events of the open job, loaded from the journal after [`Command::LoadJob`].
    pub fn job_events(&mut self, job: &JobId, events: Vec<Event>) {
        if self.job.as_ref() == Some(job) {
            self.job_events = events;
        }
    }

    /// Reacts to one input.
    pub fn handle(
        &mut self,
        input: Input,
        master: &MasterData,
        now: DateTime<Utc>,
    ) -> Vec<Command> {
        if !matches!(input, Input::Tick | Input::Captured(_) | Input::CaptureFailed(_)) {
            self.last_activity = now;
        }
        if self.saving.is_some() {
            // One write at a time: the screen says "saving" and takes nothing else.
            return Vec::new();
        }
        match input {
            Input::Tick => self.tick(now),
            Input::Scan(code) => self.scan(code.trim(), master, now),
            Input::Tap(action) => self.tap(action, master, now),
            Input::FootSwitch => self.tap(Action::Capture, master, now),
            Input::Captured(captured) => self.captured(*captured, master, now),
            Input::CaptureFailed(reason) => {
                if let Screen::Weighing { capturing, .. } = &mut self.screen {
                    *capturing = false;
                }
                self.banner = Some(Banner { text: reason, good: false });
                vec![Command::Signal(Signal::Refused)]
            }
        }
    }

    /// The journal has the records: move on.
    pub fn saved(&mut self, events: &[Event]) {
        let Some(after) = self.saving.take() else { return };
        for event in events {
            if event.job.is_some() && event.job == self.job {
                self.job_events.push(event.clone());
            }
        }
        match after.operator {
            OperatorChange::Keep => {}
            OperatorChange::SignIn(operator) => self.operator = Some(operator),
            OperatorChange::SignOut => {
                self.operator = None;
                self.job = None;
                self.job_events.clear();
            }
        }
        self.screen = after.screen;
        self.banner = Some(Banner { text: after.banner, good: true });
    }

    /// The journal refused the records: nothing happened; say so in red.
    pub fn save_failed(&mut self, reason: &str) {
        self.saving = None;
        self.screen = Screen::Refused(Interlock {
            title: "Not saved".into(),
            detail: format!(
                "The bench could not record this ({reason}). Call IT; nothing was recorded."
            ),
            pending: None,
        });
    }

    fn tick(&mut self, now: DateTime<Utc>) -> Vec<Command> {
        let Some(operator) = &self.operator else { return Vec::new() };
        if now - self.last_activity < self.idle_signout {
            return Vec::new();
        }
        let record = Record {
            operator: Some(operator.id.clone()),
            job: None,
            fact: Fact::SignedOut { reason: SignOutReason::Idle },
        };
        self.save(vec![record], Screen::SignIn, OperatorChange::SignOut, "Signed out (idle)")
    }

    fn save(
        &mut self,
        records: Vec<Record>,
        screen: Screen,
        operator: OperatorChange,
        banner: &str,
    ) -> Vec<Command> {
        self.saving = Some(AfterSave { screen, operator, banner: banner.to_owned() });
        vec![Command::Journal(records), Command::Signal(Signal::Waiting)]
    }

    fn refuse(
        &mut self,
        title: &str,
        detail: String,
        pending: Option<Vec<Record>>,
    ) -> Vec<Command> {
        self.screen = Screen::Refused(Interlock { title: title.to_owned(), detail, pending });
        self.banner = None;
        vec![Command::Signal(Signal::Refused)]
    }

    fn refuse_rule(&mut self, refusal: &Refusal, records: Vec<Record>) -> Vec<Command> {
        let title = match refusal {
            Refusal::StageNotAtStation { .. }
            | Refusal::StageNotOnRoute { .. }
            | Refusal::NotNextOnRoute { .. } => "Not at this stage",
            Refusal::AlreadyInProgress { .. } | Refusal::NotInStage { .. } => "Wrong stage",
            Refusal::RouteComplete => "Route finished",
            Refusal::OnHold => "Job on hold",
            Refusal::CadNotApproved => "CAD not approved",
            Refusal::WeightRequired { .. } => "Weigh first",
            Refusal::StoneOfAnotherJob { .. } => "Wrong stone",
            Refusal::StoneNotReserved => "Stone not reserved",
        };
        let mut detail = capitalise(&refusal.to_string());
        detail.push('.');
        let pending = refusal.overridable().then_some(records);
        self.refuse(title, detail, pending)
    }

    fn record(&self, job: Option<JobId>, fact: Fact) -> Record {
        Record { operator: self.operator.as_ref().map(|o| o.id.clone()), job, fact }
    }

    fn scan(&mut self, code: &str, master: &MasterData, now: DateTime<Utc>) -> Vec<Command> {
        if let Some(operator) = master.operators.iter().find(|o| o.badge.as_str() == code) {
            return self.badge(operator.clone());
        }
        if master.jobs.keys().any(|id| id.as_str() == code) {
            return self.open_job(code, master);
        }
        if let Some(movement) = stone_movement(code, master) {
            return self.stone(movement, master, now);
        }
        let detail = if master.operators.is_empty() && master.jobs.is_empty() {
            format!(
                "`{code}` is unknown, and this bench has no workshop data yet. \
                 Check its link to the gateway."
            )
        } else {
            format!("`{code}` is not a badge, job or stone this bench knows. Nothing was recorded.")
        };
        self.refuse("Unknown barcode", detail, None)
    }

    fn badge(&mut self, badge: Operator) -> Vec<Command> {
        // A supervisor's badge on an overridable red screen allows the refused action.
        if let Screen::Refused(Interlock { detail, pending: Some(records), .. }) = &self.screen {
            if !badge.role.may_override() {
                self.banner = Some(Banner {
                    text: format!("{} cannot override; a supervisor's badge is needed", badge.name),
                    good: false,
                });
                return vec![Command::Signal(Signal::Refused)];
            }
            let mut all = vec![self.record(
                records.first().and_then(|r| r.job.clone()),
                Fact::Override { supervisor: badge.id.clone(), refusal: detail.clone() },
            )];
            all.extend(records.iter().cloned());
            let screen = if self.job.is_some() { Screen::Job } else { Screen::Ready };
            let banner = format!("Allowed by {}", badge.name);
            return self.save(all, screen, OperatorChange::Keep, &banner);
        }
        if matches!(self.screen, Screen::Refused(Interlock { pending: None, .. }))
            && self.operator.is_some()
        {
            self.banner = Some(Banner {
                text: "No badge can allow this. Tap OK to go back.".into(),
                good: false,
            });
            return vec![Command::Signal(Signal::Refused)];
        }
        if self.screen == Screen::SupervisorGate {
            if badge.role.may_override() {
                self.screen = Screen::Settings;
                return Vec::new();
            }
            return self.refuse(
                "Supervisors only",
                "Settings need a supervisor's badge.".into(),
                None,
            );
        }
        if !badge.active {
            return self.refuse(
                "Badge not active",
                format!("{} may not sign in. See a supervisor.", badge.name),
                None,
            );
        }
        match self.operator.clone() {
            Some(current) if current.id == badge.id => self.sign_out(SignOutReason::Manual),
            Some(current) => {
                let records = vec![
                    Record {
                        operator: Some(current.id.clone()),
                        job: None,
                        fact: Fact::SignedOut { reason: SignOutReason::Replaced },
                    },
                    Record { operator: Some(badge.id.clone()), job: None, fact: Fact::SignedIn {} },
                ];
                self.job = None;
                self.job_events.clear();
                let banner = format!("Welcome, {}", badge.name);
                self.save(records, Screen::Ready, OperatorChange::SignIn(badge), &banner)
            }
            None => {
                let records = vec![Record {
                    operator: Some(badge.id.clone()),
                    job: None,
                    fact: Fact::SignedIn {},
                }];
                let banner = format!("Welcome, {}", badge.name);
                self.save(records, Screen::Ready, OperatorChange::SignIn(badge), &banner)
            }
        }
    }

    fn sign_out(&mut self, reason: SignOutReason) -> Vec<Command> {
        let Some(operator) = &self.operator else { return Vec::new() };
        let record = Record {
            operator: Some(operator.id.clone()),
            job: None,
            fact: Fact::SignedOut { reason },
        };
        self.save(vec![record], Screen::SignIn, OperatorChange::SignOut, "Signed out")
    }

    fn open_job(&mut self, code: &str, master: &MasterData) -> Vec<Command> {
        if self.operator.is_none() {
            return self.refuse(
                "Sign in first",
                "Scan your badge, then the envelope.".into(),
                None,
            );
        }
        let Some(id) = master.jobs.keys().find(|id| id.as_str() == code).cloned() else {
            return Vec::new();
        };
        if self.job.as_ref() != Some(&id) {
            self.job_events.clear();
        }
        self.job = Some(id.clone());
        self.screen = Screen::Job;
        self.banner = None;
        vec![Command::LoadJob(id), Command::Signal(Signal::Ready)]
    }

    fn stone(
        &mut self,
        movement: StoneMovement,
        master: &MasterData,
        now: DateTime<Utc>,
    ) -> Vec<Command> {
        let Some(view) = self.job_view(master, now) else {
            return self.refuse(
                "Scan the job first",
                format!("Scan the envelope of the job before stone {}.", movement.item_id()),
                None,
            );
        };
        let record = self.record(Some(view.job.id.clone()), Fact::StoneIssued(movement.clone()));
        match check_stone_issue(&view.job, &movement, master.jobs.values().map(|s| &s.job)) {
            Ok(()) => {
                let banner = format!("Saved: stone {} issued", movement.item_id());
                self.save(vec![record], Screen::Job, OperatorChange::Keep, &banner)
            }
            Err(refusal) => self.refuse_rule(&refusal, vec![record]),
        }
    }

    fn tap(&mut self, action: Action, master: &MasterData, now: DateTime<Utc>) -> Vec<Command> {
        if self.operator.is_none() {
            return Vec::new();
        }
        match action {
            Action::SignOut => self.sign_out(SignOutReason::Manual),
            Action::Dismiss => {
                self.screen = if self.job.is_some() { Screen::Job } else { Screen::Ready };
                vec![Command::Signal(Signal::Ready)]
            }
            Action::CloseJob => {
                self.job = None;
                self.job_events.clear();
                self.screen = Screen::Ready;
                Vec::new()
            }
            Action::History => {
                self.screen = Screen::History;
                Vec::new()
            }
            Action::Settings => {
                self.screen = Screen::SupervisorGate;
                Vec::new()
            }
            Action::Tare => vec![Command::Tare],
            Action::Zero => vec![Command::Zero],
            Action::IdentifyBalance => vec![Command::Identify],
            Action::ProbeBalance => vec![Command::Probe],
            _ => self.job_action(action, master, now),
        }
    }

    fn job_action(
        &mut self,
        action: Action,
        master: &MasterData,
        now: DateTime<Utc>,
    ) -> Vec<Command> {
        let Some(view) = self.job_view(master, now) else { return Vec::new() };
        let job = Some(view.job.id.clone());
        let station = self.station(master);
        match action {
            Action::StartStage => {
                let Some(stage) = view.stage_to_start(&station) else {
                    return self.refuse(
                        "No stage here",
                        "This bench has no stages in the workshop data.".into(),
                        None,
                    );
                };
                let record = self.record(job, Fact::StageStarted { stage: stage.clone() });
                match check_stage_start(&view.job, &view.progress, &station, &stage, &master.stages)
                {
                    Ok(()) => self.save(
                        vec![record],
                        Screen::Job,
                        OperatorChange::Keep,
                        "Saved: stage started",
                    ),
                    Err(refusal) => self.refuse_rule(&refusal, vec![record]),
                }
            }
            Action::FinishStage => {
                let Some(stage) = view.stage_in_progress().cloned() else {
                    return self.refuse(
                        "Not started",
                        "Start the stage before finishing it.".into(),
                        None,
                    );
                };
                let record = self.record(job, Fact::StageFinished { stage: stage.clone() });
                let weighed = view.metal.receipt_weighed;
                match check_stage_finish(&view.progress, &stage, &master.stages, weighed) {
                    Ok(()) => self.save(
                        vec![record],
                        Screen::Job,
                        OperatorChange::Keep,
                        "Saved: stage finished",
                    ),
                    Err(refusal) => self.refuse_rule(&refusal, vec![record]),
                }
            }
            Action::Weigh(purpose) => {
                if view.stage_in_progress().is_none() {
                    return self.refuse(
                        "Not started",
                        "Start the stage before weighing for it.".into(),
                        None,
                    );
                }
                self.screen = Screen::Weighing { purpose, capturing: false };
                self.banner = None;
                vec![Command::Signal(Signal::Waiting)]
            }
            Action::Capture => match &mut self.screen {
                Screen::Weighing { capturing: capturing @ false, .. } => {
                    *capturing = true;
                    vec![Command::Capture]
                }
                _ => Vec::new(),
            },
            Action::Hold if !view.progress.held => {
                self.screen = Screen::HoldReasons;
                Vec::new()
            }
            Action::HoldBecause(reason) => {
                let record = self.record(job, Fact::JobHeld { reason, note: String::new() });
                let banner = format!("Saved: on hold ({})", hold_words(reason));
                self.save(vec![record], Screen::Job, OperatorChange::Keep, &banner)
            }
            Action::Release if view.progress.held => {
                let record = self.record(job, Fact::JobReleased {});
                self.save(vec![record], Screen::Job, OperatorChange::Keep, "Saved: released")
            }
            Action::Note => {
                self.screen = Screen::Notes;
                Vec::new()
            }
            Action::AddNote(index) => {
                let Some(text) = NOTES.get(index) else { return Vec::new() };
                let record = self.record(job, Fact::Note { text: (*text).to_owned() });
                self.save(vec![record], Screen::Job, OperatorChange::Keep, "Saved: note added")
            }
            Action::ConfirmLoss => {
                let Screen::ConfirmLoss { weighing, .. } = &self.screen else { return Vec::new() };
                let record = self.record(job, Fact::WeightRecorded((**weighing).clone()));
                self.save(vec![record], Screen::Job, OperatorChange::Keep, "Saved: receipt weighed")
            }
            _ => Vec::new(),
        }
    }

    fn captured(
        &mut self,
        captured: Captured,
        master: &MasterData,
        now: DateTime<Utc>,
    ) -> Vec<Command> {
        let Screen::Weighing { purpose, capturing: true } = self.screen else { return Vec::new() };
        let Some(view) = self.job_view(master, now) else { return Vec::new() };
        let Some(stage) = view.stage_in_progress().cloned() else { return Vec::new() };
        let reading = captured.reading;
        let Some(grams) = reading.grams else {
            self.screen = Screen::Weighing { purpose, capturing: false };
            return self.refuse(
                "Unit not accepted",
                "The balance shows a unit that does not convert to grams. Set it to grams.".into(),
                None,
            );
        };
        if grams <= touchstone_model::metal::Grams::ZERO {
            // An empty pan (or a stale line from before the metal went on) is not a weighing.
            self.screen = Screen::Weighing { purpose, capturing: false };
            self.banner = Some(Banner {
                text: format!(
                    "The balance reads {grams}: put the metal on the pan and take the weight \
                     again. Nothing was recorded."
                ),
                good: false,
            });
            return vec![Command::Signal(Signal::Refused)];
        }
        let weighing = Weighing {
            purpose,
            grams,
            value: reading.value.unwrap_or_default(),
            unit: reading.unit.map(|u| u.raw).unwrap_or_default(),
            raw: reading.raw,
            stability: captured.stability,
            balance: captured.identity,
            stage: Some(stage.clone()),
            alloy: None,
            tree: None,
        };
        let job = Some(view.job.id.clone());
        let record = self.record(job, Fact::WeightRecorded(weighing.clone()));
        let saved = format!("Saved: {} {}", purpose_words(purpose), grams);
        if purpose != WeightPurpose::Receipt
            || view.metal.issued == touchstone_model::metal::Grams::ZERO
        {
            return self.save(vec![record], Screen::Job, OperatorChange::Keep, &saved);
        }
        let Some(StageLoss { assessment, band }) = stage_loss(&view, master, &stage, grams) else {
            return self.save(vec![record], Screen::Job, OperatorChange::Keep, &saved);
        };
        let band = band.as_ref();
        match assessment.verdict {
            LossVerdict::Within | LossVerdict::NoBand => {
                self.save(vec![record], Screen::Job, OperatorChange::Keep, &saved)
            }
            LossVerdict::OverWarning | LossVerdict::Gain => {
                self.screen = Screen::ConfirmLoss { weighing: Box::new(weighing), assessment };
                vec![Command::Signal(Signal::Waiting)]
            }
            LossVerdict::OverHard => {
                let detail = format!(
                    "Loss {} ({}%) is over the hard line of {}%. A supervisor must allow it.",
                    assessment.loss,
                    assessment.percent.normalize(),
                    band.map(|b| b.hard_percent.normalize().to_string()).unwrap_or_default(),
                );
                self.refuse("Loss too high", detail, Some(vec![record]))
            }
        }
    }
}

/// A stage's loss against its band.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageLoss {
    /// Loss in grams, fine grams and percent, and the verdict.
    pub assessment: LossAssessment,
    /// The band it was judged against, if one is set.
    pub band: Option<LossBand>,
}

/// The loss at `stage` if `received` grams came back in all, against what was issued there
/// and the band for the stage and the job's alloy. `None` when nothing was issued at the
/// stage or the alloy is unknown to the cache.
pub fn stage_loss(
    view: &JobView,
    master: &MasterData,
    stage: &touchstone_model::ids::StageId,
    received: touchstone_model::metal::Grams,
) -> Option<StageLoss> {
    if view.metal.issued == touchstone_model::metal::Grams::ZERO {
        return None;
    }
    let alloy = master.alloys.iter().find(|a| a.code == view.job.alloy)?;
    let band = LossBand::find(&master.loss_bands, stage, &view.job.alloy).cloned();
    let assessment = assess_loss(
        view.metal.issued,
        received,
        view.metal.scrap,
        alloy.fineness,
        band.as_ref(),
        view::division(received),
    );
    Some(StageLoss { assessment, band })
}

/// A weighing purpose in words.
pub fn purpose_words(purpose: WeightPurpose) -> &'static str {
    match purpose {
        WeightPurpose::Issue => "issue",
        WeightPurpose::Receipt => "receipt",
        WeightPurpose::ScrapReturn => "scrap return",
        other => other.as_str(),
    }
}

/// The stone or packet a code names, with what issuing it moves.
fn stone_movement(code: &str, master: &MasterData) -> Option<StoneMovement> {
    master.jobs.values().flat_map(|s| &s.job.components).find_map(|c| match c {
        Component::Stone { id, .. } if id.as_str() == code => {
            Some(StoneMovement::Stone { id: id.clone(), broken: false })
        }
        Component::Packet { id, count, total_carat, .. } if id.as_str() == code => {
            Some(StoneMovement::Packet {
                id: id.clone(),
                count: *count,
                carat: Some(*total_carat),
                broken: false,
            })
        }
        _ => None,
    })
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests;

use chrono::TimeZone;
use rust_decimal::Decimal;
use touchstone_model::event::{BalanceIdentity, Stability};
use touchstone_model::ids::EventId;
use touchstone_model::metal::Grams;
use touchstone_scales::reading::{Reading, Status, UnitToken};
use touchstone_scales::units::Unit;

use super::*;
use crate::demo_data;

const MEI: &str = "B-10425";
const HANNAH: &str = "B-20101";
const LUCA: &str = "B-10422";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap()
}

/// A bench at the setting station and the demo workshop as of an hour before `t0`.
fn setup() -> (Bench, MasterData) {
    let master = demo_data::master_data(t0() - chrono::Duration::hours(1)).unwrap();
    let bench = Bench::new("setting-1".parse().unwrap(), std::time::Duration::from_secs(300), t0());
    (bench, master)
}

/// Carries out journal commands the way the app does, numbering events from 1.
struct Driver {
    bench: Bench,
    master: MasterData,
    journal: Vec<Event>,
    now: DateTime<Utc>,
}

impl Driver {
    fn new() -> Driver {
        let (bench, master) = setup();
        Driver { bench, master, journal: Vec::new(), now: t0() }
    }

    fn input(&mut self, input: Input) -> Vec<Command> {
        let commands = self.bench.handle(input, &self.master, self.now);
        for command in &commands {
            match command {
                Command::Journal(records) => {
                    let events: Vec<Event> = records
                        .iter()
                        .map(|r| Event {
                            id: EventId::now_v7(),
                            station: self.bench.station_id().clone(),
                            seq: u64::try_from(self.journal.len()).unwrap() + 1,
                            operator: r.operator.clone(),
                            job: r.job.clone(),
                            recorded_at: self.now,
                            fact: r.fact.clone(),
                        })
                        .collect();
                    self.journal.extend(events.iter().cloned());
                    self.bench.saved(&events);
                }
                Command::LoadJob(job) => {
                    let events = self
                        .journal
                        .iter()
                        .filter(|e| e.job.as_ref() == Some(job))
                        .cloned()
                        .collect();
                    self.bench.job_events(job, events);
                }
                _ => {}
            }
        }
        commands
    }

    fn scan(&mut self, code: &str) -> Vec<Command> {
        self.input(Input::Scan(code.into()))
    }

    fn tap(&mut self, action: Action) -> Vec<Command> {
        self.input(Input::Tap(action))
    }

    fn weigh(&mut self, purpose: WeightPurpose, grams: &str) -> Vec<Command> {
        self.tap(Action::Weigh(purpose));
        assert_eq!(self.tap(Action::Capture), vec![Command::Capture]);
        self.input(Input::Captured(Box::new(captured(grams))))
    }

    fn facts(&self) -> Vec<&str> {
        self.journal.iter().map(|e| e.fact.type_name()).collect()
    }

    fn refused_title(&self) -> Option<&str> {
        match self.bench.screen() {
            Screen::Refused(interlock) => Some(&interlock.title),
            _ => None,
        }
    }
}

fn captured(grams: &str) -> Captured {
    let number: Decimal = grams.parse().unwrap();
    Captured {
        reading: Reading {
            at: std::time::Instant::now(),
            value: Some(grams.into()),
            number: Some(number),
            unit: Some(UnitToken {
                raw: "g".into(),
                unit: Unit::Mass(touchstone_model::units::MassUnit::Gram),
            }),
            grams: Some(Grams::new(number)),
            stability: Some(Stability::Stable),
            status: Status::Ok,
            identity: None,
            raw: format!("S S {grams:>10} g"),
        },
        stability: Stability::Stable,
        identity: BalanceIdentity { protocol: "mt-sics".into(), model: None, serial: None },
    }
}

#[test]
fn badge_signs_in_and_the_same_badge_signs_out() {
    let mut d = Driver::new();
    d.scan(MEI);
    assert_eq!(d.bench.operator().unwrap().name, "Mei Tanaka");
    assert_eq!(d.bench.screen(), &Screen::Ready);
    d.scan(MEI);
    assert!(d.bench.operator().is_none());
    assert_eq!(d.facts(), ["signed_in", "signed_out"]);
}

#[test]
fn nothing_is_done_until_the_journal_says_so() {
    let (mut bench, master) = setup();
    let commands = bench.handle(Input::Scan(MEI.into()), &master, t0());
    assert!(matches!(&commands[0], Command::Journal(r) if r[0].fact == (Fact::SignedIn {})));
    assert!(bench.operator().is_none(), "signed in before the journal confirmed");
    assert!(bench.is_saving());
    assert!(bench.handle(Input::Scan(LUCA.into()), &master, t0()).is_empty());

    bench.save_failed("disk full");
    assert!(bench.operator().is_none());
    assert!(matches!(bench.screen(), Screen::Refused(i) if i.title == "Not saved"));
}

#[test]
fn another_badge_replaces_the_operator() {
    let mut d = Driver::new();
    d.scan(MEI);
    d.scan(LUCA);
    assert_eq!(d.bench.operator().unwrap().name, "Luca Bianchi");
    assert_eq!(d.facts(), ["signed_in", "signed_out", "signed_in"]);
    assert_eq!(d.journal[1].fact, Fact::SignedOut { reason: SignOutReason::Replaced });
}

#[test]
fn idle_bench_signs_out_after_the_configured_time() {
    let mut d = Driver::new();
    d.scan(MEI);
    d.now = t0() + chrono::Duration::seconds(299);
    assert!(d.input(Input::Tick).is_empty());
    d.now = t0() + chrono::Duration::seconds(301);
    d.input(Input::Tick);
    assert!(d.bench.operator().is_none());
    assert_eq!(d.journal[1].fact, Fact::SignedOut { reason: SignOutReason::Idle });
}

#[test]
fn inactive_badge_and_unknown_barcode_are_refused_and_record_nothing() {
    let mut d = Driver::new();
    d.scan("B-10399");
    assert_eq!(d.refused_title(), Some("Badge not active"));
    d.scan("XYZ-123");
    assert_eq!(d.refused_title(), Some("Unknown barcode"));
    d.scan("J-2026-0147");
    assert_eq!(d.refused_title(), Some("Sign in first"));
    assert!(d.journal.is_empty());
}

#[test]
fn job_not_at_this_stage_is_refused_then_allowed_by_a_supervisor() {
    let mut d = Driver::new();
    d.scan(MEI);
    d.scan("J-2026-0167");
    assert_eq!(d.bench.screen(), &Screen::Job);
    let commands = d.tap(Action::StartStage);
    assert_eq!(commands, vec![Command::Signal(Signal::Refused)]);
    assert_eq!(d.refused_title(), Some("Not at this stage"));

    d.scan(LUCA);
    assert_eq!(d.refused_title(), Some("Not at this stage"), "a worker cannot override");
    assert!(d.bench.banner().unwrap().text.contains("supervisor"));

    d.scan(HANNAH);
    assert_eq!(d.facts(), ["signed_in", "override", "stage_started"]);
    let Fact::Override { supervisor, refusal } = &d.journal[1].fact else { panic!() };
    assert_eq!(supervisor.as_str(), "op-hannah");
    assert!(refusal.contains("due at cad"), "{refusal}");
    assert_eq!(d.journal[1].operator.as_ref().unwrap().as_str(), "op-mei");
    assert_eq!(d.bench.screen(), &Screen::Job);
}

#[test]
fn full_stage_with_issue_receipt_and_finish() {
    let mut d = Driver::new();
    // J-2026-0169 finished assembly, so setting is next.
    let job: JobId = "J-2026-0169".parse().unwrap();
    d.master.jobs.get_mut(&job).unwrap().progress.in_progress = false;
    d.scan(MEI);
    d.scan("J-2026-0169");
    d.tap(Action::StartStage);
    d.tap(Action::FinishStage);
    assert_eq!(d.refused_title(), Some("Weigh first"));
    d.tap(Action::Dismiss);

    d.weigh(WeightPurpose::Issue, "10.000");
    d.weigh(WeightPurpose::Receipt, "9.980");
    let view = d.bench.job_view(&d.master, d.now).unwrap();
    assert_eq!(view.metal.issued, Grams::new(Decimal::new(10_000, 3)));
    assert!(view.metal.receipt_weighed);
    d.tap(Action::FinishStage);
    assert_eq!(
        d.facts(),
        ["signed_in", "stage_started", "weight_recorded", "weight_recorded", "stage_finished"]
    );
    let Fact::WeightRecorded(w) = &d.journal[3].fact else { panic!() };
    assert_eq!(w.stage.as_ref().unwrap().as_str(), "setting");
    assert_eq!(w.raw, "S S      9.980 g");
    let view = d.bench.job_view(&d.master, d.now).unwrap();
    assert!(!view.progress.in_progress);
}

#[test]
fn loss_over_warning_asks_and_over_hard_needs_a_supervisor() {
    let mut d = Driver::new();
    d.scan(MEI);
    d.scan("J-2026-0147");
    d.weigh(WeightPurpose::Issue, "10.000");
    // Setting band: warn 0.5 %, hard 1.0 %.
    d.weigh(WeightPurpose::Receipt, "9.930");
    let Screen::ConfirmLoss { assessment, .. } = d.bench.screen() else { panic!() };
    assert_eq!(assessment.percent, Decimal::new(7, 1));
    assert_eq!(assessment.verdict, LossVerdict::OverWarning);
    assert_eq!(d.facts(), ["signed_in", "weight_recorded"]);
    d.tap(Action::ConfirmLoss);
    assert_eq!(d.facts(), ["signed_in", "weight_recorded", "weight_recorded"]);

    d.weigh(WeightPurpose::Receipt, "9.500");
    assert_eq!(d.refused_title(), Some("Loss too high"));
    d.scan(HANNAH);
    assert_eq!(d.facts()[3..], ["override", "weight_recorded"]);
}

#[test]
fn unstable_balance_records_nothing_until_captured() {
    let mut d = Driver::new();
    d.scan(MEI);
    d.scan("J-2026-0147");
    d.tap(Action::Weigh(WeightPurpose::Issue));
    assert_eq!(d.input(Input::FootSwitch), vec![Command::Capture]);
    assert!(d.input(Input::FootSwitch).is_empty(), "one capture at a time");
    d.input(Input::CaptureFailed("no stable reading within 10 s".into()));
    assert_eq!(
        d.bench.screen(),
        &Screen::Weighing { purpose: WeightPurpose::Issue, capturing: false }
    );
    assert_eq!(d.facts(), ["signed_in"]);
}

#[test]
fn an_empty_pan_is_not_a_weighing() {
    let mut d = Driver::new();
    d.scan(MEI);
    d.scan("J-2026-0147");
    d.weigh(WeightPurpose::Issue, "0.000");
    assert_eq!(
        d.bench.screen(),
        &Screen::Weighing { purpose: WeightPurpose::Issue, capturing: false }
    );
    assert!(d.bench.banner().is_some_and(|b| !b.good && b.text.contains("put the metal")));
    d.weigh(WeightPurpose::Issue, "-0.002");
    assert_eq!(d.facts(), ["signed_in"], "nothing recorded for an empty pan");
    d.weigh(WeightPurpose::Issue, "5.250");
    assert_eq!(d.facts(), ["signed_in", "weight_recorded"]);
}

#[test]
fn stone_of_another_job_is_refused_without_override() {
    let mut d = Driver::new();
    d.scan(MEI);
    d.scan("J-2026-0147");
    d.scan("ST-40131");
    assert_eq!(d.refused_title(), Some("Wrong stone"));
    let Screen::Refused(interlock) = d.bench.screen() else { panic!() };
    assert!(interlock.detail.contains("J-2026-0153"), "{}", interlock.detail);
    assert!(interlock.pending.is_none());
    d.scan(HANNAH);
    assert_eq!(d.facts(), ["signed_in"], "nothing overrides a stone of another job");
    assert!(d.bench.banner().unwrap().text.starts_with("No badge can allow this"));

    d.tap(Action::Dismiss);
    d.scan("PK-7731");
    assert_eq!(d.facts(), ["signed_in", "stone_issued"]);
}

#[test]
fn hold_and_release_with_a_reason_and_a_note() {
    let mut d = Driver::new();
    d.scan(MEI);
    d.scan("J-2026-0147");
    d.tap(Action::Hold);
    assert_eq!(d.bench.screen(), &Screen::HoldReasons);
    d.tap(Action::HoldBecause(HoldReason::MissingParts));
    d.tap(Action::StartStage);
    d.tap(Action::Dismiss);
    d.tap(Action::Note);
    d.tap(Action::AddNote(1));
    d.tap(Action::Release);
    assert_eq!(d.facts(), ["signed_in", "job_held", "note", "job_released"]);
    assert_eq!(d.journal[2].fact, Fact::Note { text: NOTES[1].into() });
}

#[test]
fn settings_open_only_for_a_supervisor_badge() {
    let mut d = Driver::new();
    d.scan(MEI);
    d.tap(Action::Settings);
    d.scan(LUCA);
    assert_eq!(d.refused_title(), Some("Supervisors only"));
    d.tap(Action::Settings);
    d.scan(HANNAH);
    assert_eq!(d.bench.screen(), &Screen::Settings);
    assert_eq!(d.facts(), ["signed_in"]);
    // A probe of the balance's port is asked of the station and records nothing.
    assert_eq!(d.tap(Action::ProbeBalance), [Command::Probe]);
    assert_eq!(d.facts(), ["signed_in"]);
}

#[test]
fn local_events_newer_than_the_snapshot_move_the_job_on() {
    let mut d = Driver::new();
    d.scan(MEI);
    d.scan("J-2026-0147");
    d.weigh(WeightPurpose::Receipt, "5.000");
    d.tap(Action::FinishStage);
    let view = d.bench.job_view(&d.master, d.now).unwrap();
    assert_eq!(view.progress.stage.as_ref().unwrap().as_str(), "setting");
    assert!(!view.progress.in_progress);
    // A snapshot newer than the events already contains them and wins.
    let job: JobId = "J-2026-0147".parse().unwrap();
    d.master.jobs.get_mut(&job).unwrap().updated_at = d.now + chrono::Duration::seconds(1);
    let view = d.bench.job_view(&d.master, d.now).unwrap();
    assert!(view.progress.in_progress);
}

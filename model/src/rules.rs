//! The workshop's rules as pure functions: where a job stands, whether a stage may start or
//! finish, whether a stone may be issued, and how a receipt's loss compares with its band.
//!
//! The bench uses them to refuse an action before it happens; the gateway uses the same
//! functions to flag events that broke a rule anyway (an old cache, an override).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::event::{Fact, StoneMovement};
use crate::ids::{JobId, StageId};
use crate::metal::{Fineness, Grams};
use crate::workshop::{Component, Job, LossBand, StageDef, Station};

/// Where a job stands on its route, derived from its events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobProgress {
    /// The stage in progress, or the last one finished.
    pub stage: Option<StageId>,
    /// Whether `stage` is in progress (true) or finished (false).
    pub in_progress: bool,
    /// Whether the job is on hold.
    pub held: bool,
}

impl JobProgress {
    /// Folds one fact about the job into its progress.
    pub fn apply(&mut self, fact: &Fact) {
        match fact {
            Fact::StageStarted { stage } => {
                self.stage = Some(stage.clone());
                self.in_progress = true;
            }
            Fact::StageFinished { stage } => {
                self.stage = Some(stage.clone());
                self.in_progress = false;
            }
            Fact::JobHeld { .. } => self.held = true,
            Fact::JobReleased {} => self.held = false,
            _ => {}
        }
    }

    /// The stage the job should enter next, or `None` when it is in progress or done.
    pub fn next_stage<'a>(&self, job: &'a Job) -> Option<&'a StageId> {
        if self.in_progress {
            return None;
        }
        match &self.stage {
            None => job.route.first(),
            Some(last) => job.route_position(last).and_then(|i| job.route.get(i + 1)),
        }
    }

    /// Whether every stage of the route is finished.
    pub fn is_complete(&self, job: &Job) -> bool {
        !self.in_progress && self.stage.is_some() && self.stage.as_ref() == job.route.last()
    }
}

/// Why a bench refuses an action, in words a worker understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum Refusal {
    /// The station does not work this stage.
    #[error("this bench does not do {stage}")]
    StageNotAtStation {
        /// The stage asked for.
        stage: StageId,
    },
    /// The stage is not on the job's route.
    #[error("{stage} is not on this job's route")]
    StageNotOnRoute {
        /// The stage asked for.
        stage: StageId,
    },
    /// The job is due at another stage first.
    #[error("this job is due at {expected}, not {stage}")]
    NotNextOnRoute {
        /// The stage asked for.
        stage: StageId,
        /// The stage the route says comes next.
        expected: StageId,
    },
    /// The job is in a stage already.
    #[error("this job is already in {stage}; finish it first")]
    AlreadyInProgress {
        /// The stage in progress.
        stage: StageId,
    },
    /// The job is not in the stage that was asked to finish.
    #[error("this job is not in {stage}")]
    NotInStage {
        /// The stage asked for.
        stage: StageId,
    },
    /// Every stage is done.
    #[error("this job has finished its route")]
    RouteComplete,
    /// The job is on hold.
    #[error("this job is on hold")]
    OnHold,
    /// The CAD revision to work from is not approved.
    #[error("the CAD model is not approved; do not start")]
    CadNotApproved,
    /// The stage needs a receipt weight before it can finish.
    #[error("weigh the piece before finishing {stage}")]
    WeightRequired {
        /// The stage.
        stage: StageId,
    },
    /// The stone or packet belongs to another job.
    #[error("this stone belongs to job {owner}; do not use it")]
    StoneOfAnotherJob {
        /// The job it is reserved for.
        owner: JobId,
    },
    /// No job reserves the stone or packet.
    #[error("this stone is not reserved for any job")]
    StoneNotReserved,
}

impl Refusal {
    /// Whether a supervisor's badge may override this refusal. A stone of another job never
    /// may: issuing it is exactly the mistake the check exists to stop.
    pub fn overridable(&self) -> bool {
        !matches!(self, Refusal::StoneOfAnotherJob { .. } | Refusal::RouteComplete)
    }
}

/// May `stage` start for `job` at `station`, given where the job stands?
pub fn check_stage_start(
    job: &Job,
    progress: &JobProgress,
    station: &Station,
    stage: &StageId,
    stages: &[StageDef],
) -> Result<(), Refusal> {
    if !station.stages.contains(stage) {
        return Err(Refusal::StageNotAtStation { stage: stage.clone() });
    }
    if job.route_position(stage).is_none() {
        return Err(Refusal::StageNotOnRoute { stage: stage.clone() });
    }
    if progress.held {
        return Err(Refusal::OnHold);
    }
    if progress.in_progress {
        let current = progress.stage.clone().unwrap_or_else(|| stage.clone());
        return Err(Refusal::AlreadyInProgress { stage: current });
    }
    match progress.next_stage(job) {
        None => return Err(Refusal::RouteComplete),
        Some(expected) if expected != stage => {
            return Err(Refusal::NotNextOnRoute {
                stage: stage.clone(),
                expected: expected.clone(),
            });
        }
        Some(_) => {}
    }
    let needs_cad = stages.iter().find(|d| &d.id == stage).is_none_or(|d| d.requires_approved_cad);
    if needs_cad && !job.cad_is_approved() {
        return Err(Refusal::CadNotApproved);
    }
    Ok(())
}

/// May `stage` finish, given whether a receipt was weighed during it?
pub fn check_stage_finish(
    progress: &JobProgress,
    stage: &StageId,
    stages: &[StageDef],
    receipt_weighed: bool,
) -> Result<(), Refusal> {
    if !progress.in_progress || progress.stage.as_ref() != Some(stage) {
        return Err(Refusal::NotInStage { stage: stage.clone() });
    }
    let needs_weight = stages.iter().any(|d| &d.id == stage && d.requires_weight);
    if needs_weight && !receipt_weighed {
        return Err(Refusal::WeightRequired { stage: stage.clone() });
    }
    Ok(())
}

/// May this stone or packet be issued to `job`? `all_jobs` is every job the bench knows, to
/// name the owner of a stone reserved elsewhere.
pub fn check_stone_issue<'a>(
    job: &Job,
    movement: &StoneMovement,
    all_jobs: impl IntoIterator<Item = &'a Job>,
) -> Result<(), Refusal> {
    let wanted = movement.item_id();
    let reserves = |j: &Job| {
        j.components.iter().any(|c| match c {
            Component::Stone { id, .. } => id.as_str() == wanted,
            Component::Packet { id, .. } => id.as_str() == wanted,
            Component::Part { .. } => false,
        })
    };
    if reserves(job) {
        return Ok(());
    }
    match all_jobs.into_iter().find(|j| j.id != job.id && reserves(j)) {
        Some(owner) => Err(Refusal::StoneOfAnotherJob { owner: owner.id.clone() }),
        None => Err(Refusal::StoneNotReserved),
    }
}

/// How a receipt's loss compares with the stage's allowed band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossVerdict {
    /// Inside the band.
    Within,
    /// Over the warning line: the worker confirms.
    OverWarning,
    /// Over the hard line: a supervisor must approve.
    OverHard,
    /// Heavier back than issued beyond the balance's tolerance: unrecorded solder or stones,
    /// or a substitution.
    Gain,
    /// No band is set for this stage and alloy.
    NoBand,
}

/// The loss of a receipt against its issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossAssessment {
    /// issued - received - scrap returned, in gross grams; negative is a gain.
    pub loss: Grams,
    /// The same in fine grams.
    pub fine_loss: Grams,
    /// Loss as a percentage of the metal issued (forward loss), exact to 4 decimals.
    pub percent: Decimal,
    /// How it compares with the band.
    pub verdict: LossVerdict,
}

/// Assesses a receipt: loss = issued - received - scrap, against `band`. A gain within
/// `tolerance` (the balance's readability) is treated as no loss.
pub fn assess_loss(
    issued: Grams,
    received: Grams,
    scrap: Grams,
    fineness: Fineness,
    band: Option<&LossBand>,
    tolerance: Grams,
) -> LossAssessment {
    let loss = issued - received - scrap;
    let fine_loss = fineness.fine_weight(loss);
    let percent = if issued.value().is_zero() {
        Decimal::ZERO
    } else {
        (loss.value() * Decimal::ONE_HUNDRED / issued.value()).round_dp(4)
    };
    let verdict = if loss.is_negative() && (-loss) > tolerance {
        LossVerdict::Gain
    } else {
        match band {
            None => LossVerdict::NoBand,
            Some(b) if percent > b.hard_percent => LossVerdict::OverHard,
            Some(b) if percent > b.warn_percent => LossVerdict::OverWarning,
            Some(_) => LossVerdict::Within,
        }
    };
    LossAssessment { loss, fine_loss, percent, verdict }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workshop::CadRevision;

    fn id<T: std::str::FromStr>(text: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        text.parse().unwrap()
    }

    fn job() -> Job {
        Job {
            id: id("J-1"),
            customer_ref: "SO-1".into(),
            description: "ring".into(),
            alloy: id("18KY"),
            due: chrono::NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
            route: vec![id("cad"), id("casting"), id("setting")],
            components: vec![Component::Stone {
                id: id("ST-1"),
                shape: String::new(),
                carat: Decimal::ONE,
                color: String::new(),
                clarity: String::new(),
                lab: None,
                certificate: None,
            }],
            approved_cad: Some(CadRevision("r1".into())),
            latest_cad: Some(CadRevision("r1".into())),
            notes: String::new(),
            expected_grams: None,
        }
    }

    fn station(stages: &[&str]) -> Station {
        Station {
            id: id("bench-1"),
            name: "Bench 1".into(),
            stages: stages.iter().map(|s| id(s)).collect(),
        }
    }

    fn stage_defs() -> Vec<StageDef> {
        vec![
            StageDef {
                id: id("cad"),
                name: "CAD".into(),
                requires_weight: false,
                requires_approved_cad: false,
            },
            StageDef {
                id: id("casting"),
                name: "Casting".into(),
                requires_weight: true,
                requires_approved_cad: true,
            },
        ]
    }

    fn started(stage: &str) -> JobProgress {
        JobProgress { stage: Some(id(stage)), in_progress: true, held: false }
    }

    fn finished(stage: &str) -> JobProgress {
        JobProgress { stage: Some(id(stage)), in_progress: false, held: false }
    }

    #[test]
    fn first_stage_of_the_route_may_start() {
        let p = JobProgress::default();
        assert_eq!(
            check_stage_start(&job(), &p, &station(&["cad"]), &id("cad"), &stage_defs()),
            Ok(())
        );
    }

    #[test]
    fn stage_must_be_worked_at_the_station() {
        let r = check_stage_start(
            &job(),
            &JobProgress::default(),
            &station(&["polish"]),
            &id("cad"),
            &[],
        );
        assert_eq!(r, Err(Refusal::StageNotAtStation { stage: id("cad") }));
    }

    #[test]
    fn stage_must_be_on_the_route() {
        let r =
            check_stage_start(&job(), &finished("cad"), &station(&["polish"]), &id("polish"), &[]);
        assert_eq!(r, Err(Refusal::StageNotOnRoute { stage: id("polish") }));
    }

    #[test]
    fn skipping_a_stage_is_refused() {
        let r = check_stage_start(
            &job(),
            &finished("cad"),
            &station(&["setting"]),
            &id("setting"),
            &[],
        );
        assert_eq!(
            r,
            Err(Refusal::NotNextOnRoute { stage: id("setting"), expected: id("casting") })
        );
        let r = check_stage_start(
            &job(),
            &JobProgress::default(),
            &station(&["casting"]),
            &id("casting"),
            &[],
        );
        assert_eq!(r, Err(Refusal::NotNextOnRoute { stage: id("casting"), expected: id("cad") }));
    }

    #[test]
    fn held_job_may_not_start() {
        let mut p = finished("cad");
        p.apply(&Fact::JobHeld { reason: crate::event::HoldReason::Other, note: String::new() });
        let r =
            check_stage_start(&job(), &p, &station(&["casting"]), &id("casting"), &stage_defs());
        assert_eq!(r, Err(Refusal::OnHold));
        p.apply(&Fact::JobReleased {});
        assert_eq!(
            check_stage_start(&job(), &p, &station(&["casting"]), &id("casting"), &stage_defs()),
            Ok(())
        );
    }

    #[test]
    fn stage_in_progress_must_finish_first() {
        let r = check_stage_start(&job(), &started("cad"), &station(&["cad"]), &id("cad"), &[]);
        assert_eq!(r, Err(Refusal::AlreadyInProgress { stage: id("cad") }));
    }

    #[test]
    fn finished_route_refuses_more_work() {
        let r = check_stage_start(
            &job(),
            &finished("setting"),
            &station(&["setting"]),
            &id("setting"),
            &[],
        );
        assert_eq!(r, Err(Refusal::RouteComplete));
        assert!(finished("setting").is_complete(&job()));
        assert!(!started("setting").is_complete(&job()));
    }

    #[test]
    fn unapproved_cad_blocks_stages_that_need_it() {
        let mut j = job();
        j.latest_cad = Some(CadRevision("r2".into()));
        // CAD itself may start on an unapproved revision: that is where it gets made.
        let p = JobProgress::default();
        assert_eq!(
            check_stage_start(&j, &p, &station(&["cad"]), &id("cad"), &stage_defs()),
            Ok(())
        );
        let r = check_stage_start(
            &j,
            &finished("cad"),
            &station(&["casting"]),
            &id("casting"),
            &stage_defs(),
        );
        assert_eq!(r, Err(Refusal::CadNotApproved));
        // A stage with no definition is held to the strict default.
        let r = check_stage_start(
            &j,
            &finished("casting"),
            &station(&["setting"]),
            &id("setting"),
            &stage_defs(),
        );
        assert_eq!(r, Err(Refusal::CadNotApproved));
    }

    #[test]
    fn progress_folds_facts() {
        let mut p = JobProgress::default();
        p.apply(&Fact::StageStarted { stage: id("cad") });
        assert_eq!(p, started("cad"));
        assert_eq!(p.next_stage(&job()), None);
        p.apply(&Fact::StageFinished { stage: id("cad") });
        assert_eq!(p.next_stage(&job()), Some(&id("casting")));
        p.apply(&Fact::Note { text: "x".into() });
        assert_eq!(p, finished("cad"));
    }

    #[test]
    fn finish_needs_the_stage_in_progress_and_its_weight() {
        let defs = stage_defs();
        assert_eq!(
            check_stage_finish(&finished("cad"), &id("cad"), &defs, false),
            Err(Refusal::NotInStage { stage: id("cad") })
        );
        assert_eq!(check_stage_finish(&started("cad"), &id("cad"), &defs, false), Ok(()));
        assert_eq!(
            check_stage_finish(&started("casting"), &id("casting"), &defs, false),
            Err(Refusal::WeightRequired { stage: id("casting") })
        );
        assert_eq!(check_stage_finish(&started("casting"), &id("casting"), &defs, true), Ok(()));
    }

    #[test]
    fn stone_of_another_job_is_refused_and_never_overridable() {
        let mine = job();
        let mut other = job();
        other.id = id("J-2");
        other.components = vec![Component::Packet {
            id: id("PK-9"),
            description: String::new(),
            count: 10,
            total_carat: Decimal::ONE,
        }];
        let jobs = [mine.clone(), other];
        let own = StoneMovement::Stone { id: id("ST-1"), broken: false };
        assert_eq!(check_stone_issue(&mine, &own, &jobs), Ok(()));
        let theirs = StoneMovement::Packet { id: id("PK-9"), count: 2, carat: None, broken: false };
        let refusal = check_stone_issue(&mine, &theirs, &jobs).unwrap_err();
        assert_eq!(refusal, Refusal::StoneOfAnotherJob { owner: id("J-2") });
        assert!(!refusal.overridable());
        let stray = StoneMovement::Stone { id: id("ST-404"), broken: false };
        assert_eq!(check_stone_issue(&mine, &stray, &jobs), Err(Refusal::StoneNotReserved));
    }

    fn g(text: &str) -> Grams {
        text.parse().unwrap()
    }

    fn band() -> LossBand {
        LossBand {
            stage: id("polish"),
            alloy: None,
            warn_percent: Decimal::new(5, 1),
            hard_percent: Decimal::new(10, 1),
        }
    }

    #[test]
    fn loss_inside_the_band() {
        let f = Fineness::new(750).unwrap();
        let a = assess_loss(g("10.000"), g("9.960"), g("0"), f, Some(&band()), g("0.001"));
        assert_eq!(a.loss, g("0.04"));
        assert_eq!(a.fine_loss, g("0.03"));
        assert_eq!(a.percent, Decimal::new(4, 1));
        assert_eq!(a.verdict, LossVerdict::Within);
    }

    #[test]
    fn scrap_returned_is_not_loss() {
        let f = Fineness::new(585).unwrap();
        let a = assess_loss(g("20"), g("18.5"), g("1.45"), f, Some(&band()), g("0.01"));
        assert_eq!(a.loss, g("0.05"));
        assert_eq!(a.percent, Decimal::new(25, 2));
        assert_eq!(a.verdict, LossVerdict::Within);
    }

    #[test]
    fn loss_over_warning_and_hard_lines() {
        let f = Fineness::new(750).unwrap();
        let warn = assess_loss(g("10"), g("9.93"), g("0"), f, Some(&band()), g("0.001"));
        assert_eq!(warn.verdict, LossVerdict::OverWarning);
        let hard = assess_loss(g("10"), g("9.8"), g("0"), f, Some(&band()), g("0.001"));
        assert_eq!(hard.verdict, LossVerdict::OverHard);
        assert_eq!(hard.percent, Decimal::from(2));
        // Exactly on the line is still inside it.
        let edge = assess_loss(g("10"), g("9.95"), g("0"), f, Some(&band()), g("0.001"));
        assert_eq!(edge.verdict, LossVerdict::Within);
    }

    #[test]
    fn gain_beyond_tolerance_is_flagged() {
        let f = Fineness::new(750).unwrap();
        let tiny = assess_loss(g("10"), g("10.001"), g("0"), f, Some(&band()), g("0.001"));
        assert_eq!(tiny.verdict, LossVerdict::Within);
        let gain = assess_loss(g("10"), g("10.2"), g("0"), f, Some(&band()), g("0.001"));
        assert_eq!(gain.verdict, LossVerdict::Gain);
        assert_eq!(gain.loss, g("-0.2"));
    }

    #[test]
    fn no_band_and_no_issue() {
        let f = Fineness::new(925).unwrap();
        let a = assess_loss(g("0"), g("0"), g("0"), f, None, g("0.01"));
        assert_eq!(a.percent, Decimal::ZERO);
        assert_eq!(a.verdict, LossVerdict::NoBand);
    }
}

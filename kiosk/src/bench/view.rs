//! What the bench derives about a job from its cached snapshot and this bench's own journal:
//! where it stands now, the metal that moved at its current stage, and which stage this
//! station would start or finish. Pure functions over values.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use touchstone_model::event::{Event, Fact, WeightPurpose};
use touchstone_model::ids::StageId;
use touchstone_model::metal::Grams;
use touchstone_model::protocol::JobSnapshot;
use touchstone_model::rules::JobProgress;
use touchstone_model::workshop::{Job, Station};

/// Metal weighed for one job at one stage, from this bench's journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Metal {
    /// Issued to the job.
    pub issued: Grams,
    /// Received back.
    pub received: Grams,
    /// Scrap returned.
    pub scrap: Grams,
    /// Whether a receipt was weighed.
    pub receipt_weighed: bool,
}

/// A job as the bench sees it right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobView {
    /// The job's master data.
    pub job: Job,
    /// Where it stands: the gateway's word, then this bench's newer events on top.
    pub progress: JobProgress,
    /// Metal at the stage in progress (or the last one), from this bench's journal.
    pub metal: Metal,
    /// Past its due date.
    pub late: bool,
}

impl JobView {
    /// Builds the view from the snapshot and this bench's events for the job (oldest first).
    /// Events newer than the snapshot are folded in, so a bench working offline sees its own
    /// starts and finishes; older ones are already in the snapshot.
    pub fn new(snapshot: &JobSnapshot, local: &[Event], today: NaiveDate) -> JobView {
        let mut progress = snapshot.progress.clone();
        for event in local.iter().filter(|e| newer(e, snapshot.updated_at)) {
            progress.apply(&event.fact);
        }
        let metal = progress.stage.as_ref().map(|s| metal_at(local, s)).unwrap_or_default();
        JobView {
            job: snapshot.job.clone(),
            late: snapshot.job.due < today && !progress.is_complete(&snapshot.job),
            progress,
            metal,
        }
    }

    /// The stage in progress, if any.
    pub fn stage_in_progress(&self) -> Option<&StageId> {
        self.progress.stage.as_ref().filter(|_| self.progress.in_progress)
    }

    /// The stage this station would start: the job's next stage when the station works it,
    /// else the station's first stage (which the rules will then refuse with a reason).
    pub fn stage_to_start(&self, station: &Station) -> Option<StageId> {
        match self.progress.next_stage(&self.job) {
            Some(next) if station.stages.contains(next) => Some(next.clone()),
            _ => station.stages.first().cloned(),
        }
    }
}

fn newer(event: &Event, snapshot_at: DateTime<Utc>) -> bool {
    event.recorded_at > snapshot_at
}

/// Sums the weighings recorded at `stage`.
pub fn metal_at(local: &[Event], stage: &StageId) -> Metal {
    let mut metal = Metal::default();
    for event in local {
        let Fact::WeightRecorded(w) = &event.fact else { continue };
        if w.stage.as_ref() != Some(stage) {
            continue;
        }
        let add = |total: Grams| total.checked_add(w.grams).unwrap_or(total);
        match w.purpose {
            WeightPurpose::Issue => metal.issued = add(metal.issued),
            WeightPurpose::Receipt => {
                metal.received = add(metal.received);
                metal.receipt_weighed = true;
            }
            WeightPurpose::ScrapReturn => metal.scrap = add(metal.scrap),
            _ => {}
        }
    }
    metal
}

/// One division of the balance that printed `grams`: the smallest step its digits show.
pub fn division(grams: Grams) -> Grams {
    Grams::new(Decimal::new(1, grams.value().scale()))
}

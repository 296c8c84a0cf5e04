//! The floor ledger: one event type with a closed set of facts.
//!
//! An event is a fact a bench observed, journaled there first and never changed afterwards.
//! Everything the managers see is derived from the ordered stream of these.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::{
    AlloyCode, EventId, JobId, OperatorId, PacketId, StageId, StationId, StoneId, TreeId,
};
use crate::metal::Grams;

/// One fact recorded at a bench.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Minted by the bench; the idempotency key everywhere downstream.
    pub id: EventId,
    /// The bench that recorded it.
    pub station: StationId,
    /// The bench's gapless sequence number, starting at 1.
    pub seq: u64,
    /// Who was signed in, when anyone was.
    pub operator: Option<OperatorId>,
    /// The job it concerns, where one applies.
    pub job: Option<JobId>,
    /// The bench's clock when it was recorded. Bench clocks drift; the gateway keeps its own
    /// arrival time beside this one.
    pub recorded_at: DateTime<Utc>,
    /// What happened.
    pub fact: Fact,
}

/// What happened at the bench. The set is closed: a new kind of fact is a protocol change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fact {
    /// An operator signed in by scanning their badge.
    SignedIn {},
    /// An operator signed out.
    SignedOut {
        /// Why.
        reason: SignOutReason,
    },
    /// The job entered a stage at this bench and its holder took custody.
    StageStarted {
        /// The stage started.
        stage: StageId,
    },
    /// The job finished a stage at this bench and custody passes on.
    StageFinished {
        /// The stage finished.
        stage: StageId,
    },
    /// Work on the job stopped for a reason.
    JobHeld {
        /// Why.
        reason: HoldReason,
        /// Free words, may be empty.
        #[serde(default)]
        note: String,
    },
    /// A hold was lifted.
    JobReleased {},
    /// A stable weight was taken from the balance.
    WeightRecorded(Weighing),
    /// A stone or part of a packet was handed to the job.
    StoneIssued(StoneMovement),
    /// A stone or part of a packet came back, spare or broken.
    StoneReturned(StoneMovement),
    /// A free note on the job or the bench.
    Note {
        /// The text.
        text: String,
    },
    /// A supervisor allowed an action the bench had refused. Recorded before the action itself.
    Override {
        /// The supervisor or manager whose badge allowed it.
        supervisor: OperatorId,
        /// The refusal that was overridden, as the bench worded it.
        refusal: String,
    },
}

impl Fact {
    /// The fact's type as it is named on the wire, for logs and queries.
    pub fn type_name(&self) -> &'static str {
        match self {
            Fact::SignedIn {} => "signed_in",
            Fact::SignedOut { .. } => "signed_out",
            Fact::StageStarted { .. } => "stage_started",
            Fact::StageFinished { .. } => "stage_finished",
            Fact::JobHeld { .. } => "job_held",
            Fact::JobReleased {} => "job_released",
            Fact::WeightRecorded(_) => "weight_recorded",
            Fact::StoneIssued(_) => "stone_issued",
            Fact::StoneReturned(_) => "stone_returned",
            Fact::Note { .. } => "note",
            Fact::Override { .. } => "override",
        }
    }

    /// Whether the fact is about a job and so must name one.
    pub fn needs_job(&self) -> bool {
        matches!(
            self,
            Fact::StageStarted { .. }
                | Fact::StageFinished { .. }
                | Fact::JobHeld { .. }
                | Fact::JobReleased {}
                | Fact::StoneIssued(_)
                | Fact::StoneReturned(_)
        )
    }
}

/// Why an operator was signed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignOutReason {
    /// They scanned their badge again or tapped sign out.
    Manual,
    /// The bench was idle for longer than the configured time.
    Idle,
    /// Another operator signed in at the bench.
    Replaced,
}

/// Why a job was put on hold; the bench offers this list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// A stone or part is missing.
    MissingParts,
    /// The customer asked for a change.
    CustomerChange,
    /// A defect needs a decision.
    QualityIssue,
    /// Waiting for CAD approval or a new revision.
    AwaitingCad,
    /// Anything else; the note says what.
    Other,
}

/// What a weighing was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightPurpose {
    /// Metal issued to the job at this stage.
    Issue,
    /// Metal received back from the stage.
    Receipt,
    /// Filings, offcuts or sprues returned to the store.
    ScrapReturn,
    /// A casting tree's wax (or resin), without the rubber base.
    TreeWax,
    /// The metal charged to cast a tree.
    TreeCharged,
    /// The tree as cast, before cutting.
    TreeCast,
    /// One piece cut from a cast tree.
    TreePiece,
    /// The sprue and button returned from a cast tree.
    SprueReturn,
    /// A reference mass on the balance, for the daily check.
    CheckWeight,
    /// A bin of sweeps, dust or wash water for the refiner.
    Sweeps,
}

impl WeightPurpose {
    /// The purpose as it is named on the wire and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            WeightPurpose::Issue => "issue",
            WeightPurpose::Receipt => "receipt",
            WeightPurpose::ScrapReturn => "scrap_return",
            WeightPurpose::TreeWax => "tree_wax",
            WeightPurpose::TreeCharged => "tree_charged",
            WeightPurpose::TreeCast => "tree_cast",
            WeightPurpose::TreePiece => "tree_piece",
            WeightPurpose::SprueReturn => "sprue_return",
            WeightPurpose::CheckWeight => "check_weight",
            WeightPurpose::Sweeps => "sweeps",
        }
    }
}

/// How the balance vouched for a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stability {
    /// The balance flagged the reading stable.
    Stable,
    /// The balance has no stability flag; the reading held still within the configured
    /// tolerance for the configured time.
    Settled,
    /// The reading was moving. A bench never records one; the gateway flags any that arrive.
    Unstable,
}

/// The balance a weight came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceIdentity {
    /// The protocol family, e.g. `mt-sics`.
    pub protocol: String,
    /// The model, as the balance reported it or as configured.
    #[serde(default)]
    pub model: Option<String>,
    /// The serial number, as the balance reported it or as configured.
    #[serde(default)]
    pub serial: Option<String>,
}

/// A weight as the balance said it, with the exact grams it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weighing {
    /// What it was for.
    pub purpose: WeightPurpose,
    /// The mass in exact grams.
    pub grams: Grams,
    /// The number exactly as the balance printed it.
    pub value: String,
    /// The unit token exactly as the balance sent it.
    pub unit: String,
    /// The balance's whole reply line.
    pub raw: String,
    /// How the reading was known to be still.
    pub stability: Stability,
    /// Which balance.
    pub balance: BalanceIdentity,
    /// The stage the metal moved at, where one applies.
    #[serde(default)]
    pub stage: Option<StageId>,
    /// The alloy weighed, when it is not the job's (sweeps, trees, check weights).
    #[serde(default)]
    pub alloy: Option<AlloyCode>,
    /// The casting tree, for the casting steps.
    #[serde(default)]
    pub tree: Option<TreeId>,
}

/// Which stones moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StoneMovement {
    /// One certified stone.
    Stone {
        /// The stone.
        id: StoneId,
        /// Returned broken rather than spare (returns only).
        #[serde(default)]
        broken: bool,
    },
    /// Some stones from a packet.
    Packet {
        /// The packet.
        id: PacketId,
        /// How many stones.
        count: u32,
        /// Their carat weight, exact, when weighed.
        #[serde(default)]
        carat: Option<Decimal>,
        /// Returned broken rather than spare (returns only).
        #[serde(default)]
        broken: bool,
    },
}

impl StoneMovement {
    /// The id of the stone or packet, as text.
    pub fn item_id(&self) -> &str {
        match self {
            StoneMovement::Stone { id, .. } => id.as_str(),
            StoneMovement::Packet { id, .. } => id.as_str(),
        }
    }
}

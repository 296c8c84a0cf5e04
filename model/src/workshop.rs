//! The workshop's master data: jobs, stages, stations, operators and loss bands.
//!
//! These come from the ERP or an import file, are stored by the gateway and cached by every
//! bench. They are plain data with serde at the edges; the rules that read them live in
//! [`crate::rules`].

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::{AlloyCode, BadgeCode, JobId, OperatorId, PacketId, StageId, StationId, StoneId};
use crate::metal::Grams;

/// One piece being made: the envelope that travels the floor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// The number on the envelope's barcode.
    pub id: JobId,
    /// The customer's or the sales order's reference.
    pub customer_ref: String,
    /// What the piece is, in words.
    pub description: String,
    /// The alloy it is made in.
    pub alloy: AlloyCode,
    /// The promised date.
    pub due: NaiveDate,
    /// The stages it must pass, in order.
    pub route: Vec<StageId>,
    /// Stones, packets and other parts reserved for it.
    #[serde(default)]
    pub components: Vec<Component>,
    /// The CAD revision the customer approved, if any. A route that starts with CAD needs none
    /// to begin; every later stage does when [`StageDef::requires_approved_cad`] says so.
    #[serde(default)]
    pub approved_cad: Option<CadRevision>,
    /// The latest CAD revision made, approved or not.
    #[serde(default)]
    pub latest_cad: Option<CadRevision>,
    /// Expected weights and free notes for the bench.
    #[serde(default)]
    pub notes: String,
    /// The expected finished gross weight, when the ERP knows it.
    #[serde(default)]
    pub expected_grams: Option<Grams>,
}

impl Job {
    /// Position of `stage` in the route, if it is on it.
    pub fn route_position(&self, stage: &StageId) -> Option<usize> {
        self.route.iter().position(|s| s == stage)
    }

    /// Whether the approved revision is also the latest one made.
    pub fn cad_is_approved(&self) -> bool {
        match (&self.approved_cad, &self.latest_cad) {
            (Some(approved), Some(latest)) => approved == latest,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// A CAD model revision, e.g. `r3`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CadRevision(pub String);

/// A part reserved for a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Component {
    /// A significant stone, usually certified.
    Stone {
        /// The stone's own id (its packet label or certificate barcode).
        id: StoneId,
        /// Shape, e.g. "round brilliant".
        #[serde(default)]
        shape: String,
        /// Carat weight, exact.
        carat: Decimal,
        /// Colour grade.
        #[serde(default)]
        color: String,
        /// Clarity grade.
        #[serde(default)]
        clarity: String,
        /// The grading lab, e.g. "GIA".
        #[serde(default)]
        lab: Option<String>,
        /// The lab's certificate number.
        #[serde(default)]
        certificate: Option<String>,
    },
    /// A packet of small stones.
    Packet {
        /// The packet's id.
        id: PacketId,
        /// What the stones are, e.g. "melee diamond 1.3 mm".
        #[serde(default)]
        description: String,
        /// How many stones.
        count: u32,
        /// Their total carat weight, exact.
        total_carat: Decimal,
    },
    /// A finding or other part (clasp, post, jump ring).
    Part {
        /// What it is.
        description: String,
        /// How many.
        #[serde(default = "one")]
        quantity: u32,
    },
}

fn one() -> u32 {
    1
}

/// What a bench may do with a stage and what it demands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageDef {
    /// The stage's id, used in routes.
    pub id: StageId,
    /// Its name for people, e.g. "Stone setting".
    pub name: String,
    /// Whether finishing the stage requires a receipt weighing first.
    #[serde(default)]
    pub requires_weight: bool,
    /// Whether the stage may only start on an approved CAD revision.
    #[serde(default = "yes")]
    pub requires_approved_cad: bool,
}

fn yes() -> bool {
    true
}

/// A bench on the floor and the stages it works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Station {
    /// The station's id, also its MQTT identity.
    pub id: StationId,
    /// Its name for people, e.g. "Setting bench 2".
    pub name: String,
    /// The stages worked here.
    pub stages: Vec<StageId>,
}

/// What a person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works at a bench.
    Worker,
    /// Works, and may override a refused action with their badge.
    Supervisor,
    /// Sees everything, including money; may also override.
    Manager,
}

impl Role {
    /// Its name as the wire, files and databases write it: `worker`, `supervisor`, `manager`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Supervisor => "supervisor",
            Role::Manager => "manager",
        }
    }

    /// Whether this role may override an interlock at a bench.
    pub fn may_override(self) -> bool {
        matches!(self, Role::Supervisor | Role::Manager)
    }
}

impl std::str::FromStr for Role {
    type Err = crate::metal::UnknownName;

    /// Parses a role's name, in lower case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Role::Worker, Role::Supervisor, Role::Manager]
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| crate::metal::UnknownName {
                what: "role",
                text: text.to_owned(),
                allowed: "worker, supervisor or manager",
            })
    }
}

/// A person who signs in with a badge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    /// The operator's id.
    pub id: OperatorId,
    /// Their name as the screen shows it.
    pub name: String,
    /// The code on their badge.
    pub badge: BadgeCode,
    /// What they may do.
    pub role: Role,
    /// Whether they may still sign in.
    #[serde(default = "yes")]
    pub active: bool,
}

/// The allowed loss of one stage for one alloy, in percent of the metal issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossBand {
    /// The stage.
    pub stage: StageId,
    /// The alloy, or `None` for the stage's default band.
    #[serde(default)]
    pub alloy: Option<AlloyCode>,
    /// Loss above this percentage asks the worker to confirm.
    pub warn_percent: Decimal,
    /// Loss above this percentage needs a supervisor.
    pub hard_percent: Decimal,
}

impl LossBand {
    /// The band for `stage` and `alloy`: the alloy's own if there is one, else the stage's
    /// default.
    pub fn find<'a>(
        bands: &'a [LossBand],
        stage: &StageId,
        alloy: &AlloyCode,
    ) -> Option<&'a LossBand> {
        let for_stage = || bands.iter().filter(move |b| &b.stage == stage);
        for_stage()
            .find(|b| b.alloy.as_ref() == Some(alloy))
            .or_else(|| for_stage().find(|b| b.alloy.is_none()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_match_the_wire_and_parse_back() {
        for role in [Role::Worker, Role::Supervisor, Role::Manager] {
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("boss".parse::<Role>().is_err());
    }

    fn job_json() -> &'static str {
        r#"{
            "id": "J-1", "customer_ref": "SO-9", "description": "Solitaire ring",
            "alloy": "18KY", "due": "2026-12-20", "route": ["cad", "casting", "setting"],
            "components": [
                {"type": "stone", "id": "ST-1", "carat": "1.02", "lab": "GIA",
                 "certificate": "2141438171"},
                {"type": "packet", "id": "PK-7", "count": 12, "total_carat": "0.36"}
            ],
            "approved_cad": "r2", "latest_cad": "r2"
        }"#
    }

    #[test]
    fn job_decodes_with_components() {
        let job: Job = serde_json::from_str(job_json()).unwrap();
        assert_eq!(job.components.len(), 2);
        assert!(job.cad_is_approved());
        assert_eq!(job.route_position(&"casting".parse().unwrap()), Some(1));
    }

    #[test]
    fn unknown_job_fields_are_refused() {
        let text =
            job_json().replace("\"notes\"", "\"x\"").replacen('{', "{\"colour\": \"red\",", 1);
        let err = serde_json::from_str::<Job>(&text).unwrap_err();
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn newer_unapproved_cad_is_not_approved() {
        let mut job: Job = serde_json::from_str(job_json()).unwrap();
        job.latest_cad = Some(CadRevision("r3".into()));
        assert!(!job.cad_is_approved());
        job.approved_cad = None;
        assert!(!job.cad_is_approved());
    }

    #[test]
    fn alloy_band_wins_over_stage_default() {
        let band = |alloy: Option<&str>, warn: i64| LossBand {
            stage: "polish".parse().unwrap(),
            alloy: alloy.map(|a| a.parse().unwrap()),
            warn_percent: Decimal::new(warn, 1),
            hard_percent: Decimal::new(warn * 2, 1),
        };
        let bands = [band(None, 5), band(Some("AG925"), 7)];
        let stage = "polish".parse().unwrap();
        let found = LossBand::find(&bands, &stage, &"AG925".parse().unwrap()).unwrap();
        assert_eq!(found.warn_percent, Decimal::new(7, 1));
        let found = LossBand::find(&bands, &stage, &"18KY".parse().unwrap()).unwrap();
        assert_eq!(found.warn_percent, Decimal::new(5, 1));
        assert!(
            LossBand::find(&bands, &"cad".parse().unwrap(), &"18KY".parse().unwrap()).is_none()
        );
    }
}

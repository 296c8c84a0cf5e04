//! The wire protocol between benches and the gateway: MQTT topics and JSON payloads.
//!
//! Every topic carries the protocol version (`touchstone/v1/...`) and every payload repeats it
//! in a `v` field, so a consumer can refuse what it does not understand before reading it.
//! Decoding is strict: unknown fields, wrong types and missing fields are errors that say
//! what was wrong. `docs/protocol.md` describes the same thing for people.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{Event, Fact};
use crate::ids::{EventId, IdError, JobId, OperatorId, StationId};
use crate::metal::Alloy;
use crate::rules::JobProgress;
use crate::workshop::{Job, LossBand, Operator, StageDef, Station};

/// The protocol version this crate speaks.
pub const VERSION: u32 = 1;

/// The first topic level of every Touchstone topic.
pub const ROOT: &str = "touchstone";

/// The largest event payload accepted. A real event is well under 4 KiB; the limit keeps a
/// broken or hostile bench from filling the dead-letter table with megabytes.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// Topic builders for protocol version 1.
pub mod topics {
    use super::*;

    /// Where a bench publishes its events (QoS 1).
    pub fn events(station: &StationId) -> String {
        format!("{ROOT}/v{VERSION}/stations/{station}/events")
    }

    /// Where the gateway confirms committed events to a bench (QoS 1).
    pub fn acks(station: &StationId) -> String {
        format!("{ROOT}/v{VERSION}/stations/{station}/acks")
    }

    /// Where a bench publishes its heartbeat and where its last will lands (retained).
    pub fn status(station: &StationId) -> String {
        format!("{ROOT}/v{VERSION}/stations/{station}/status")
    }

    /// A job's retained snapshot.
    pub fn job(job: &JobId) -> String {
        format!("{ROOT}/v{VERSION}/master/jobs/{job}")
    }

    /// A retained list of master data: `operators`, `stages`, `stations`, `loss-bands`,
    /// `alloys`.
    pub fn master(list: MasterList) -> String {
        format!("{ROOT}/v{VERSION}/master/{}", list.topic_level())
    }

    /// Every station's events, in every protocol version, so that the gateway can refuse a
    /// version it does not speak instead of never hearing it.
    pub const ALL_EVENTS: &str = "touchstone/+/stations/+/events";

    /// Every station's status, in every protocol version.
    pub const ALL_STATUS: &str = "touchstone/+/stations/+/status";

    /// Every retained master data message of this protocol version: lists and jobs.
    pub fn all_master() -> String {
        format!("{ROOT}/v{VERSION}/master/#")
    }
}

/// The lists of master data that benches cache, each one retained message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MasterList {
    /// Every operator, with badge and role.
    Operators,
    /// Every stage definition.
    Stages,
    /// Every station and the stages it works.
    Stations,
    /// Every loss band.
    LossBands,
    /// Every alloy and its fineness.
    Alloys,
}

impl MasterList {
    /// The topic level naming the list.
    pub fn topic_level(self) -> &'static str {
        match self {
            MasterList::Operators => "operators",
            MasterList::Stages => "stages",
            MasterList::Stations => "stations",
            MasterList::LossBands => "loss-bands",
            MasterList::Alloys => "alloys",
        }
    }
}

/// A topic the gateway listens on, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StationTopic {
    /// `touchstone/v{version}/stations/{station}/events`.
    Events {
        /// The version in the topic.
        version: u32,
        /// The station the topic names.
        station: StationId,
    },
    /// `touchstone/v{version}/stations/{station}/status`.
    Status {
        /// The version in the topic.
        version: u32,
        /// The station the topic names.
        station: StationId,
    },
}

impl StationTopic {
    /// Parses a station topic. The station level is validated like any station id.
    pub fn parse(topic: &str) -> Result<Self, DecodeError> {
        let bad = || DecodeError::Topic(topic.to_owned());
        let mut levels = topic.split('/');
        let (Some(ROOT), Some(version), Some("stations"), Some(station), Some(kind), None) = (
            levels.next(),
            levels.next(),
            levels.next(),
            levels.next(),
            levels.next(),
            levels.next(),
        ) else {
            return Err(bad());
        };
        let version = version.strip_prefix('v').and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let station = StationId::new(station).map_err(DecodeError::Id)?;
        match kind {
            "events" => Ok(StationTopic::Events { version, station }),
            "status" => Ok(StationTopic::Status { version, station }),
            _ => Err(bad()),
        }
    }
}

/// Why a payload was refused. Each message says what was wrong in words an integrator can act
/// on; the gateway stores it beside the raw bytes in its dead letters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The topic is not one the protocol defines.
    #[error("topic `{0}` is not a Touchstone station topic")]
    Topic(String),
    /// The payload is larger than the protocol allows.
    #[error("payload of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The payload's size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The payload is not JSON of the expected shape.
    #[error("invalid payload: {0}")]
    Json(String),
    /// The payload or topic names a version this side does not speak.
    #[error("unsupported protocol version {found}; this gateway speaks version {VERSION}")]
    UnsupportedVersion {
        /// The version found.
        found: u64,
    },
    /// An id in the topic is not valid.
    #[error("invalid topic: {0}")]
    Id(#[source] IdError),
    /// The payload claims another station than the topic it came on.
    #[error("station `{payload}` published on the topic of station `{topic}`")]
    StationMismatch {
        /// The station in the topic, which the broker's access rules vouch for.
        topic: StationId,
        /// The station in the payload.
        payload: StationId,
    },
    /// The payload is well formed but breaks a protocol invariant.
    #[error("invalid event: {0}")]
    Invalid(&'static str),
}

/// An event on the wire. Field for field the same as [`Event`], plus the version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventMessage {
    /// The protocol version, always [`VERSION`].
    pub v: u32,
    /// The event's id (UUID v7).
    pub id: EventId,
    /// The station that recorded it; must match the topic.
    pub station: StationId,
    /// The station's gapless sequence number, from 1.
    pub seq: u64,
    /// Who was signed in.
    #[serde(default)]
    pub operator: Option<OperatorId>,
    /// The job it concerns.
    #[serde(default)]
    pub job: Option<JobId>,
    /// The bench's clock, RFC 3339 in UTC.
    pub recorded_at: DateTime<Utc>,
    /// What happened.
    pub fact: Fact,
}

impl From<&Event> for EventMessage {
    fn from(e: &Event) -> Self {
        EventMessage {
            v: VERSION,
            id: e.id,
            station: e.station.clone(),
            seq: e.seq,
            operator: e.operator.clone(),
            job: e.job.clone(),
            recorded_at: e.recorded_at,
            fact: e.fact.clone(),
        }
    }
}

/// Encodes an event for the wire.
pub fn encode_event(event: &Event) -> Vec<u8> {
    // Serializing this type cannot fail: every field is a string, number or plain enum.
    serde_json::to_vec(&EventMessage::from(event)).unwrap_or_default()
}

/// Decodes an event that arrived on the events topic of `topic_station`, refusing anything
/// that is not exactly a version-1 event from that station.
pub fn decode_event(topic_station: &StationId, payload: &[u8]) -> Result<Event, DecodeError> {
    if payload.len() > MAX_EVENT_BYTES {
        return Err(DecodeError::TooLarge { len: payload.len(), max: MAX_EVENT_BYTES });
    }
    let msg: EventMessage = match serde_json::from_slice(payload) {
        Ok(msg) => msg,
        Err(err) => return Err(explain_json_error(payload, err)),
    };
    if u64::from(msg.v) != u64::from(VERSION) {
        return Err(DecodeError::UnsupportedVersion { found: msg.v.into() });
    }
    if &msg.station != topic_station {
        return Err(DecodeError::StationMismatch {
            topic: topic_station.clone(),
            payload: msg.station,
        });
    }
    if msg.seq == 0 {
        return Err(DecodeError::Invalid("seq starts at 1"));
    }
    if msg.fact.needs_job() && msg.job.is_none() {
        return Err(DecodeError::Invalid("this kind of fact must name a job"));
    }
    Ok(Event {
        id: msg.id,
        station: msg.station,
        seq: msg.seq,
        operator: msg.operator,
        job: msg.job,
        recorded_at: msg.recorded_at,
        fact: msg.fact,
    })
}

/// Turns a serde error into the clearest refusal: an unknown version beats a field complaint,
/// because a newer bench's fields are expected to differ.
fn explain_json_error(payload: &[u8], err: serde_json::Error) -> DecodeError {
    #[derive(Deserialize)]
    struct VersionOnly {
        v: Option<serde_json::Value>,
    }
    if let Ok(VersionOnly { v: Some(v) }) = serde_json::from_slice::<VersionOnly>(payload) {
        match v.as_u64() {
            Some(found) if found != u64::from(VERSION) => {
                return DecodeError::UnsupportedVersion { found };
            }
            _ => {}
        }
    }
    DecodeError::Json(err.to_string())
}

/// What became of one event at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckOutcome {
    /// Committed now.
    Stored,
    /// Committed before; this copy was not stored again.
    Duplicate,
}

/// The gateway's confirmation of one event, sent only after its transaction committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    /// The event's id.
    pub id: EventId,
    /// The event's sequence number at its station.
    pub seq: u64,
    /// Stored now or already stored.
    pub outcome: AckOutcome,
}

/// One message of acknowledgements for one station: everything of that station's in one
/// committed batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckMessage {
    /// The protocol version.
    pub v: u32,
    /// The station whose events these are.
    pub station: StationId,
    /// The confirmations, in the order the events arrived.
    pub acks: Vec<Ack>,
}

/// The state of a bench's balance, as the bench sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BalanceState {
    /// Connected and answering.
    Connected,
    /// The port is gone or silent.
    Disconnected,
    /// Answering with an error, overload or underload.
    Fault,
    /// The bench has no balance configured.
    None,
}

/// A bench's heartbeat, retained; also its last will, with `online: false`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusMessage {
    /// The protocol version.
    pub v: u32,
    /// The station.
    pub station: StationId,
    /// False in the last will and in a clean goodbye.
    pub online: bool,
    /// The bench's clock when sent (absent in a last will, which is written in advance).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// Events journaled but not yet confirmed.
    #[serde(default)]
    pub backlog: u64,
    /// The balance's state.
    pub balance: BalanceState,
    /// Free words about the balance, e.g. "overload" or the port name.
    #[serde(default)]
    pub balance_detail: Option<String>,
    /// The kiosk software version.
    pub version: String,
    /// Who is signed in.
    #[serde(default)]
    pub operator: Option<OperatorId>,
}

/// Decodes a status message from the status topic of `topic_station`.
pub fn decode_status(
    topic_station: &StationId,
    payload: &[u8],
) -> Result<StatusMessage, DecodeError> {
    if payload.len() > MAX_EVENT_BYTES {
        return Err(DecodeError::TooLarge { len: payload.len(), max: MAX_EVENT_BYTES });
    }
    let msg: StatusMessage =
        serde_json::from_slice(payload).map_err(|err| explain_json_error(payload, err))?;
    if msg.v != VERSION {
        return Err(DecodeError::UnsupportedVersion { found: msg.v.into() });
    }
    if &msg.station != topic_station {
        return Err(DecodeError::StationMismatch {
            topic: topic_station.clone(),
            payload: msg.station,
        });
    }
    Ok(msg)
}

/// A job's retained snapshot: the job and where it stands, for benches to cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSnapshot {
    /// The protocol version.
    pub v: u32,
    /// The job's master data.
    pub job: Job,
    /// Where it stands, as the gateway last derived it.
    pub progress: JobProgress,
    /// When the gateway wrote this snapshot.
    pub updated_at: DateTime<Utc>,
}

/// A retained list of master data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListSnapshot<T> {
    /// The protocol version.
    pub v: u32,
    /// The items.
    pub items: Vec<T>,
    /// When the gateway wrote this snapshot.
    pub updated_at: DateTime<Utc>,
}

/// The operators list snapshot.
pub type OperatorsSnapshot = ListSnapshot<Operator>;
/// The stages list snapshot.
pub type StagesSnapshot = ListSnapshot<StageDef>;
/// The stations list snapshot.
pub type StationsSnapshot = ListSnapshot<Station>;
/// The loss bands snapshot.
pub type LossBandsSnapshot = ListSnapshot<LossBand>;
/// The alloys snapshot.
pub type AlloysSnapshot = ListSnapshot<Alloy>;

impl fmt::Display for MasterList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.topic_level())
    }
}

#[cfg(test)]
mod tests;

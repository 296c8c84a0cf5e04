//! What a decoder hands back for one line: a balance reading with everything the record needs.
//!
//! A [`Reading`] keeps the number exactly as the balance printed it, the unit token as sent and
//! what it means, the exact grams where the unit converts without doubt, the balance's own
//! stability flag, the status and the raw line. It owns no parsing and no I/O; the family
//! modules under `decode` build readings and the driver only passes them on.

use std::fmt;
use std::time::Instant;

use rust_decimal::Decimal;
use touchstone_model::event::Stability;
use touchstone_model::metal::Grams;

use crate::units::Unit;

/// What a line says about the balance, besides the weight.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Status {
    /// A weight (or a count, a percentage) in range.
    Ok,
    /// Above capacity, or the positive out-of-range header.
    Overload,
    /// Below the lower limit, e.g. the pan is missing.
    Underload,
    /// The balance reported an error; `code` is its own token, e.g. `ES`, `E01`, `10b`.
    Error {
        /// The error code as the balance printed it.
        code: String,
    },
    /// A command was understood or carried out (MT `Z A`, A&D `<AK>`, Ohaus `OK!`,
    /// Radwag `Z D`), or an identity reply came back.
    Ack,
}

impl Status {
    /// The lowercase word the `decode` JSON contract uses.
    pub fn word(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Overload => "overload",
            Status::Underload => "underload",
            Status::Error { .. } => "error",
            Status::Ack => "ack",
        }
    }

    /// Shorthand for an error status.
    pub fn error(code: impl Into<String>) -> Self {
        Status::Error { code: code.into() }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Error { code } => write!(f, "error {code}"),
            other => f.write_str(other.word()),
        }
    }
}

/// An identity field a balance sent in answer to an identity command.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdentityReply {
    /// The serial number.
    Serial(String),
    /// The model or type designation.
    Model(String),
}

/// The unit part of a reading: the token as sent and what the family says it means.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnitToken {
    /// The token exactly as sent, without padding.
    pub raw: String,
    /// Its meaning for this balance family.
    pub unit: Unit,
}

/// One decoded line from a balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// When the line's terminator arrived, as the caller passed it in.
    pub at: Instant,
    /// The number exactly as printed, sign and digits kept (including a decimal comma), or
    /// `None` when the line carries no number.
    pub value: Option<String>,
    /// The number as an exact decimal, with the printed scale kept.
    pub number: Option<Decimal>,
    /// The unit token, when the line has one.
    pub unit: Option<UnitToken>,
    /// Exact grams, only when the unit converts without doubt.
    pub grams: Option<Grams>,
    /// The balance's own stability flag: `None` when the format does not carry one.
    /// Decoders never produce [`Stability::Settled`]; that is the capture's judgement.
    pub stability: Option<Stability>,
    /// Ok, overload, underload, error or acknowledgement.
    pub status: Status,
    /// Identity data, for replies to identity commands.
    pub identity: Option<IdentityReply>,
    /// The whole line as received, terminator stripped, invalid UTF-8 replaced.
    pub raw: String,
}

impl Reading {
    /// True when this is an in-range weight the balance itself flagged stable.
    pub fn is_stable_weight(&self) -> bool {
        self.status == Status::Ok
            && self.stability == Some(Stability::Stable)
            && self.grams.is_some()
    }
}

/// A reading before the decoder stamps it with its time and raw line; what family parsers build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub value: Option<String>,
    pub number: Option<Decimal>,
    pub unit: Option<UnitToken>,
    pub stability: Option<Stability>,
    pub status: Status,
    pub identity: Option<IdentityReply>,
}

impl Parsed {
    /// A line with only a status, e.g. an acknowledgement or an error code.
    pub fn status(status: Status) -> Self {
        Parsed { value: None, number: None, unit: None, stability: None, status, identity: None }
    }

    /// An acknowledgement carrying an identity field.
    pub fn identity(reply: IdentityReply) -> Self {
        Parsed { identity: Some(reply), ..Parsed::status(Status::Ack) }
    }

    /// A weight line.
    pub fn weight(
        number: crate::number::Number,
        unit: Option<UnitToken>,
        stability: Option<Stability>,
    ) -> Self {
        Parsed {
            value: Some(number.printed),
            number: Some(number.value),
            unit,
            stability,
            status: Status::Ok,
            identity: None,
        }
    }

    /// Replaces the status, keeping the rest.
    pub fn with_status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    /// Stamps the parse with its time and line; grams are worked out here, once, for every
    /// family, so no family can convert a unit its own table left ambiguous.
    pub fn into_reading(self, at: Instant, raw: String) -> Reading {
        let grams = match (&self.number, &self.unit) {
            (Some(number), Some(token)) => token.unit.to_grams(*number),
            _ => None,
        };
        Reading {
            at,
            value: self.value,
            number: self.number,
            unit: self.unit,
            grams,
            stability: self.stability,
            status: self.status,
            identity: self.identity,
            raw,
        }
    }
}

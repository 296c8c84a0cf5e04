//! The `decode` JSON contract: one object per decoded line, the shape others test against.
//!
//! Fields: `value` (string as printed, or null), `unit` (token as sent, or null),
//! `unit_normalized` (mass symbol, `ambiguous`, `pcs`, `%`, `N`, `unknown`, or null),
//! `grams` (exact decimal string, or null), `stable` (true, false or null when the format does
//! not say), `status` (`ok`, `overload`, `underload`, `error`, `ack`), `error_code` (string or
//! null), `serial` and `model` (identity replies, or null), and `raw` (the line).

use serde::Serialize;
use touchstone_model::event::Stability;
use touchstone_scales::{IdentityReply, Reading, Status};

/// One decoded line, as printed by `touchstone-scale decode`.
#[derive(Debug, Serialize)]
pub struct ReadingJson<'a> {
    value: Option<&'a str>,
    unit: Option<&'a str>,
    unit_normalized: Option<&'static str>,
    grams: Option<String>,
    stable: Option<bool>,
    status: &'static str,
    error_code: Option<&'a str>,
    serial: Option<&'a str>,
    model: Option<&'a str>,
    raw: &'a str,
}

impl<'a> From<&'a Reading> for ReadingJson<'a> {
    fn from(reading: &'a Reading) -> Self {
        ReadingJson {
            value: reading.value.as_deref(),
            unit: reading.unit.as_ref().map(|u| u.raw.as_str()),
            unit_normalized: reading.unit.as_ref().map(|u| u.unit.name()),
            grams: reading.grams.map(|g| g.value().to_string()),
            stable: reading.stability.map(|s| s != Stability::Unstable),
            status: reading.status.word(),
            error_code: match &reading.status {
                Status::Error { code } => Some(code.as_str()),
                _ => None,
            },
            serial: match &reading.identity {
                Some(IdentityReply::Serial(serial)) => Some(serial.as_str()),
                _ => None,
            },
            model: match &reading.identity {
                Some(IdentityReply::Model(model)) => Some(model.as_str()),
                _ => None,
            },
            raw: &reading.raw,
        }
    }
}

//! Shared helpers for the family tests: one compact expectation string per line, so each
//! fixture reads as a table row.

use std::time::Instant;

use touchstone_model::event::Stability;

use super::decode_line;
use crate::protocol::Protocol;
use crate::reading::{IdentityReply, Reading, Status};

/// Renders a reading as `value unit g=grams stability status[:code] [serial=|model=]`, with
/// `-` for what is absent, or `skip` when the line is not recognised.
pub(crate) fn render(reading: Option<&Reading>) -> String {
    let Some(r) = reading else { return "skip".to_owned() };
    let value = r.value.clone().unwrap_or_else(|| "-".into());
    let unit = r.unit.as_ref().map_or_else(|| "-".into(), |u| u.raw.clone());
    let grams = r.grams.map_or_else(|| "-".into(), |g| g.value().to_string());
    let stability = match r.stability {
        Some(Stability::Stable) => "stable",
        Some(Stability::Unstable) => "unstable",
        Some(Stability::Settled) => "settled",
        None => "-",
    };
    let status = match &r.status {
        Status::Error { code } => format!("error:{code}"),
        other => other.word().to_owned(),
    };
    let identity = match &r.identity {
        Some(IdentityReply::Serial(s)) => format!(" serial={s}"),
        Some(IdentityReply::Model(m)) => format!(" model={m}"),
        None => String::new(),
    };
    format!("{value} {unit} g={grams} {stability} {status}{identity}")
}

/// Decodes `line` as `protocol` and compares with the expectation.
#[track_caller]
pub(crate) fn check(protocol: Protocol, line: &str, expected: &str) {
    let reading = decode_line(protocol, line.as_bytes(), Instant::now());
    assert_eq!(render(reading.as_ref()), expected, "{protocol} line {line:?}");
}

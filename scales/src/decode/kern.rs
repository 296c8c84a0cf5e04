//! Kern, which speaks several dialects by model family (reference §7).
//!
//! One decoder takes all three that Kern-branded lab and bench balances print, since the
//! shapes cannot be confused: the legacy `s`/`w`/`t` format (a number, and a unit only when
//! stable, PCB and FKB manuals), KCP replies in MT-SICS grammar (§3.4), and the industrial
//! `ST,GS 1.000KG` headers (KFB-TM). Kern AET/PET are Radwag-built and PBS/PBJ are
//! Shimadzu-built (§7, inferred): configure those as `radwag` and `shimadzu`.
//!
//! The PCB manual puts the minus sign in column 2 while a real capture has it next to the
//! digits (as reported on the OpenTrickler project's tracker), and the FKB manual's own
//! example is one column longer than its table: the legacy line is read by tokens, never by
//! columns.

use touchstone_model::event::Stability;

use super::number_then_unit;
use crate::protocol::Protocol;
use crate::reading::{Parsed, Status};

/// Parses one Kern line.
pub(super) fn parse(text: &str) -> Option<Parsed> {
    let trimmed = text.trim();
    if let Some(industrial) = industrial(trimmed) {
        return industrial;
    }
    super::mt_sics::parse(Protocol::Kern, trimmed).or_else(|| legacy(trimmed))
}

/// `ST,GS 1.000KG` / `US,GS 1.342KG` (KFB-TM manual p.50): the second header is separated by
/// a space there, by a comma on GAB.
fn industrial(text: &str) -> Option<Option<Parsed>> {
    let (header, rest) = text.split_once(',')?;
    if !matches!(header, "ST" | "US" | "OL") {
        return None;
    }
    let rest = rest.trim_start();
    let rest = ["GS", "NT"]
        .iter()
        .find_map(|second| rest.strip_prefix(second))
        .map_or(rest, |tail| tail.trim_start_matches([',', ' ']));
    Some(super::and::parse(Protocol::Kern, &format!("{header},{rest}")))
}

/// The 18-byte legacy reply (PCB manual p.35).
fn legacy(text: &str) -> Option<Parsed> {
    if text.contains("Error") {
        return Some(Parsed::status(Status::error("Error")));
    }
    // Column 1 may hold `M` (PCB table; its meaning is not given in the sources).
    let body = match text.strip_prefix('M') {
        Some(rest) if rest.starts_with([' ', '-', '+']) => rest,
        _ => text,
    };
    let (number, unit, after) = number_then_unit(Protocol::Kern, body)?;
    if !after.trim().is_empty() {
        return None;
    }
    let stability = if unit.is_some() { Stability::Stable } else { Stability::Unstable };
    Some(Parsed::weight(number, unit, Some(stability)))
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::protocol::Protocol::{Kern, KernKcp};

    #[test]
    fn legacy_lines_unit_means_stable() {
        check(Kern, "     -450.45 gn ", "-450.45 gn g=-29.1886690095 stable ok");
        check(Kern, "       0.665 g  ", "0.665 g g=0.665 stable ok");
        check(Kern, "       0.665    ", "0.665 - g=- unstable ok");
        check(Kern, " -     12.50 g  ", "-12.50 g g=-12.50 stable ok");
        check(Kern, "M      12.50 g  ", "12.50 g g=12.50 stable ok");
        check(Kern, "           Error", "- - g=- - error:Error");
    }

    #[test]
    fn kcp_replies_follow_mt_sics() {
        check(KernKcp, "S S      12.345 g", "12.345 g g=12.345 stable ok");
        check(KernKcp, "S D      12.345 g", "12.345 g g=12.345 unstable ok");
        check(Kern, "S +", "- - g=- - overload");
        check(Kern, "S -", "- - g=- - underload");
        check(Kern, "ES", "- - g=- - error:ES");
        check(Kern, "Z A", "- - g=- - ack");
    }

    #[test]
    fn industrial_headers() {
        check(Kern, "ST,GS 1.000KG", "1.000 KG g=1000.000 stable ok");
        check(Kern, "US,GS 1.342KG", "1.342 KG g=1342.000 unstable ok");
        check(Kern, "ST,GS,-   12.5 g", "-12.5 g g=-12.5 stable ok");
        check(Kern, "OL,GS", "- - g=- - overload");
    }

    #[test]
    fn noise_is_skipped() {
        check(Kern, "abc", "skip");
        check(Kern, "12.5 g trailing words", "skip");
    }
}

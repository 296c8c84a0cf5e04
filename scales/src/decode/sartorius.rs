//! Sartorius SBI output, 16- and 22-character forms (reference §6.3, §6.4).
//!
//! Stability is the presence of the unit: "if the weighing system has not stabilized, no unit
//! symbol is output" (MC1 manual p.111, confirmed by the Cubis captures in §6.3). The 22-char
//! form prefixes a six-character ID (`N`, `N1`, `T1`, `Qnt`, `Stat`, ...). Special codes sit
//! in the number's columns: `H`/`HH` overload, `L`/`LL` underload, `C` adjustment, `Err ##`.
//! The exact column of `Err` is uncertain (§6.3), so codes are found by token, not column.

use touchstone_model::event::Stability;

use super::number_then_unit;
use crate::protocol::Protocol;
use crate::reading::{IdentityReply, Parsed, Status};

/// Parses one SBI line.
pub(super) fn parse(text: &str) -> Option<Parsed> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    // §6.2: identity replies to `ESC x1_`/`ESC x2_` must not be read as weights.
    if let Some(model) = trimmed.strip_prefix("Model") {
        return Some(Parsed::identity(IdentityReply::Model(model.trim().to_owned())));
    }
    if let Some(serial) = trimmed.strip_prefix("SerNo.") {
        return Some(Parsed::identity(IdentityReply::Serial(serial.trim().to_owned())));
    }
    if let Some(status) = trimmed.strip_prefix("Stat") {
        return Some(status_record(status));
    }

    if let Some(parsed) = special(trimmed) {
        return Some(parsed);
    }
    // The 22-char form: an ID word before the sign column.
    let mut body = trimmed;
    let mut id = "";
    if trimmed.starts_with(|c: char| c.is_ascii_alphabetic()) {
        let end = trimmed.find([' ', '+', '-']).unwrap_or(trimmed.len());
        id = &trimmed[..end];
        body = &trimmed[end..];
    }
    special(body).or_else(|| weight(id, body))
}

fn weight(id: &str, body: &str) -> Option<Parsed> {
    let (number, unit, after) = number_then_unit(Protocol::SartoriusSbi, body)?;
    if !after.trim().is_empty() {
        return None;
    }
    let stability = if unit.is_some() { Stability::Stable } else { Stability::Unstable };
    let parsed = Parsed::weight(number, unit, Some(stability));
    // `T1`/`T2`: the application tare memory, reported, not weighed.
    Some(if id.starts_with('T') { parsed.with_status(Status::Ack) } else { parsed })
}

/// The codes SBI prints where the number would be (Signum p.88, LE2202S p.51).
fn special(body: &str) -> Option<Parsed> {
    let body = body.trim().trim_start_matches(['+', '-']).trim();
    let status = match body {
        "H" | "HH" => Status::Overload,
        "L" | "LL" => Status::Underload,
        "C" => Status::error("C"),
        // OpenTrickler saw `---` during internal adjustment (PR #79).
        "---" | "--" => Status::error("---"),
        _ => {
            let code = body.strip_prefix("Err")?.trim();
            Status::error(code)
        }
    };
    Some(Parsed::status(status))
}

/// `Stat        AB` carries status codes, `Stat     ERR XYZ` an error (Master series p.5-5).
fn status_record(rest: &str) -> Parsed {
    match rest.find("ERR") {
        Some(index) => Parsed::status(Status::error(rest[index + 3..].trim())),
        None => Parsed::status(Status::Ack),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::protocol::Protocol::SartoriusSbi as Sbi;

    #[test]
    fn unit_present_means_stable() {
        check(Sbi, "+150.11775 g  ", "+150.11775 g g=150.11775 stable ok");
        check(Sbi, "+   1255.7 g  ", "+1255.7 g g=1255.7 stable ok");
        check(Sbi, "+111.25507 mg ", "+111.25507 mg g=0.11125507 stable ok");
        check(Sbi, "+   27.350    ", "+27.350 - g=- unstable ok");
        check(Sbi, "-     0.00 g  ", "-0.00 g g=0 stable ok");
    }

    #[test]
    fn twenty_two_character_form_with_id() {
        check(Sbi, "N     +    0.031    ", "+0.031 - g=- unstable ok");
        check(Sbi, "N     +    0.006 g  ", "+0.006 g g=0.006 stable ok");
        check(Sbi, "Qnt   +      235 pcs", "+235 pcs g=- stable ok");
        check(Sbi, "T1    +    5.000 g  ", "+5.000 g g=5.000 stable ack");
    }

    #[test]
    fn gr_is_grain_on_sartorius() {
        check(Sbi, "+   62.916 gr ", "+62.916 gr g=4.07688822156 stable ok");
        check(Sbi, "+   62.916 GN ", "+62.916 GN g=4.07688822156 stable ok");
    }

    #[test]
    fn special_codes() {
        check(Sbi, "+     H       ", "- - g=- - overload");
        check(Sbi, "      HH      ", "- - g=- - overload");
        check(Sbi, "-     L       ", "- - g=- - underload");
        check(Sbi, "   Err  02    ", "- - g=- - error:02");
        check(Sbi, "      C       ", "- - g=- - error:C");
        check(Sbi, "Stat     ERR 101", "- - g=- - error:101");
        check(Sbi, "Stat     Cal.Int.", "- - g=- - ack");
    }

    #[test]
    fn identity_lines_are_not_weights() {
        check(Sbi, "Model  BCE124I-1CEU ", "- - g=- - ack model=BCE124I-1CEU");
        check(Sbi, "SerNo.    0031801165", "- - g=- - ack serial=0031801165");
    }

    #[test]
    fn blank_readout_and_noise_are_skipped() {
        check(Sbi, "                ", "skip");
        check(Sbi, "+ 12.3 g extra", "skip");
    }
}

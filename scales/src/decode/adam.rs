//! Adam Equipment (reference §9.3), which has no single protocol.
//!
//! Understood: Highland "Format 2" (sign, value, a three-column unit, no stability flag),
//! CPWplus lines with a `G`/`N`/`T` legend (`G + 2.00 kg`), AZextra's attached unit
//! (`0.123kg`), and the MDW/PGL placeholders: `^^^^^^` over capacity, `______` under,
//! `--------` zero-point error, and `!EU`/`!EK`/`!EF` invalid-command replies. None of these
//! formats carries a stability flag, so every reading has stability `None` and the capture
//! waits for the value to hold still.

use super::number_then_unit;
use crate::protocol::Protocol;
use crate::reading::{Parsed, Status};

/// Parses one Adam line.
pub(super) fn parse(text: &str) -> Option<Parsed> {
    let trimmed = text.trim();
    if let Some(code) = trimmed.strip_prefix('!') {
        return Some(Parsed::status(Status::error(code.trim())));
    }
    if is_run_of(trimmed, '^') {
        return Some(Parsed::status(Status::Overload));
    }
    if is_run_of(trimmed, '_') {
        return Some(Parsed::status(Status::Underload));
    }
    if is_run_of(trimmed, '-') && trimmed.len() >= 4 {
        return Some(Parsed::status(Status::error("zero")));
    }

    // CPWplus legend: gross, net or tare.
    let mut body = trimmed;
    let mut tare = false;
    if let Some((legend, rest)) = trimmed.split_once(' ')
        && matches!(legend, "G" | "N" | "T" | "GS" | "NT")
    {
        tare = legend == "T";
        body = rest;
    }
    let (number, unit, after) = number_then_unit(Protocol::Adam, body)?;
    if !after.trim().is_empty() {
        return None;
    }
    let parsed = Parsed::weight(number, unit, None);
    Some(if tare { parsed.with_status(Status::Ack) } else { parsed })
}

fn is_run_of(text: &str, c: char) -> bool {
    text.len() >= 3 && text.chars().all(|x| x == c)
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::protocol::Protocol::Adam;

    #[test]
    fn highland_format_two() {
        check(Adam, "+      123.45 g ", "+123.45 g g=123.45 - ok");
        check(Adam, "-        1.50 ct ", "-1.50 ct g=-0.300 - ok");
        check(Adam, "         125PCS", "125 PCS g=- - ok");
    }

    #[test]
    fn cpwplus_legends() {
        check(Adam, "G + 2.00 kg", "+2.00 kg g=2000.00 - ok");
        check(Adam, "N + 1.00 kg", "+1.00 kg g=1000.00 - ok");
        check(Adam, "T + 0.50 kg", "+0.50 kg g=500.00 - ack");
    }

    #[test]
    fn attached_unit() {
        check(Adam, "0.123kg", "0.123 kg g=123.000 - ok");
    }

    #[test]
    fn pgl_placeholders_and_errors() {
        check(Adam, "^^^^^^", "- - g=- - overload");
        check(Adam, "______", "- - g=- - underload");
        check(Adam, "--------", "- - g=- - error:zero");
        check(Adam, "!EU", "- - g=- - error:EU");
    }

    #[test]
    fn noise_is_skipped() {
        check(Adam, "Adam", "skip");
        check(Adam, "12 g 13 g", "skip");
    }
}

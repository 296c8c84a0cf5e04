//! Ohaus print formats (reference §5.3): weight, unit, an optional `?` for unstable, then an
//! optional legend (`TOTAL`, `NET`, `G`, `T`, a time of day, `WET WT`).
//!
//! The manual's own examples disagree with its column table (§5.3: `192.21` has 11
//! characters before the unit where the table says 10), so lines are parsed by tokens. The
//! Ohaus sources give no serial form for overload or underload (§5.3, §10); a line whose
//! number field holds anything else (`-Hi-`, `-Lo-` as on the display) is skipped rather
//! than guessed, and the README records that gap. The unverified Pioneer PR lines with A&D
//! headers (`ST,GS, +  0.0000 g`) are accepted through the A&D parser, since they cost nothing
//! to understand and would otherwise be lost.

use touchstone_model::event::Stability;

use super::number_then_unit;
use crate::protocol::Protocol;
use crate::reading::{IdentityReply, Parsed, Status};

/// Parses one Ohaus line.
pub(super) fn parse(text: &str) -> Option<Parsed> {
    let trimmed = text.trim();
    match trimmed {
        // §5.2: settings commands answer `OK!`; invalid commands and a 40 s stability
        // timeout answer `ES`.
        "OK!" => return Some(Parsed::status(Status::Ack)),
        "ES" => return Some(Parsed::status(Status::error("ES"))),
        _ => {}
    }
    if trimmed.starts_with("ST,") || trimmed.starts_with("US,") {
        return super::and::parse(Protocol::Ohaus, trimmed);
    }
    if let Some(serial) = trimmed.strip_prefix("SN:").or_else(|| trimmed.strip_prefix("SN ")) {
        return Some(Parsed::identity(IdentityReply::Serial(serial.trim().to_owned())));
    }

    let (number, unit, after) = number_then_unit(Protocol::Ohaus, trimmed)?;
    let unit = unit?;
    if unit.raw == "?" {
        // A number with `?` and no unit is not a weight line this parser knows.
        return None;
    }
    let mut stability = Stability::Stable;
    let mut tare = false;
    for token in after.split_whitespace() {
        match token {
            "?" => stability = Stability::Unstable,
            "T" => tare = true,
            _ => {}
        }
    }
    let parsed = Parsed::weight(number, Some(unit), Some(stability));
    // Ranger/Defender print the tare as its own line with the legend `T`.
    Some(if tare { parsed.with_status(Status::Ack) } else { parsed })
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::protocol::Protocol::Ohaus;

    #[test]
    fn manual_examples_stable_and_unstable() {
        check(Ohaus, "     192.21 g", "192.21 g g=192.21 stable ok");
        check(Ohaus, "       0.01 g ?", "0.01 g g=0.01 unstable ok");
        check(Ohaus, "     176.30 g ? 00:00:15", "176.30 g g=176.30 unstable ok");
        check(Ohaus, "     207.80 g TOTAL", "207.80 g g=207.80 stable ok");
        check(Ohaus, "      -3.25 ct", "-3.25 ct g=-0.650 stable ok");
    }

    #[test]
    fn scout_formats_with_padding() {
        check(Ohaus, "        0.00 g     ", "0.00 g g=0 stable ok");
        check(Ohaus, "       12.73 g    ?", "12.73 g g=12.73 unstable ok");
        check(Ohaus, "      0.5950 oz   ?", "0.5950 oz g=16.8679662593750 unstable ok");
        check(Ohaus, "           3 PCS  ?", "3 PCS g=- unstable ok");
        check(Ohaus, "       1.000 grn", "1.000 grn g=0.06479891000 stable ok");
    }

    #[test]
    fn gross_net_and_tare_legends() {
        check(Ohaus, "   11.11 kg NET", "11.11 kg g=11110.00 stable ok");
        check(Ohaus, "    1.23 kg T", "1.23 kg g=1230.00 stable ack");
    }

    #[test]
    fn acknowledgements_and_errors() {
        check(Ohaus, "OK!", "- - g=- - ack");
        check(Ohaus, "ES", "- - g=- - error:ES");
    }

    #[test]
    fn display_placeholders_and_taels_are_not_grams() {
        check(Ohaus, "  -Hi- g", "skip");
        check(Ohaus, "      1.000 thk", "1.000 thk g=- stable ok");
        check(Ohaus, "      12.00", "skip");
    }
}

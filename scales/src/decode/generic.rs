//! Balances that only stream a number and a unit (reference §9.5): G&G, US Solid, Creedmoor,
//! Citizen and My Weigh until their protocols are known, and the legacy Mettler "PM" lines
//! some of them imitate (Steinberg `S      0.00 GN`, `SD     -1.14 GN`, §3.5).
//!
//! The parser skips to the first sign or digit, allows the sign to stand apart from the digits
//! (G&G `-  450.38 GN`) and takes the next token as the unit. A leading `S`/`SD` header is
//! read as stable/unstable; without it the format says nothing about stability. US Solid
//! prints tildes near capacity (`+ ~~~~~~~~GN`); §10 infers that means overload, and this
//! decoder reports it so (a wrong guess only refuses a capture). `----` and `^^^^` are
//! refused as non-numbers. A bare `gr` stays ambiguous here: without the make, it may be a
//! grain or a gram.

use touchstone_model::event::Stability;

use super::number_then_unit;
use crate::protocol::Protocol;
use crate::reading::{Parsed, Status};

/// Parses one streamed line.
pub(super) fn parse(text: &str) -> Option<Parsed> {
    let trimmed = text.trim();
    if trimmed.contains("~~~") {
        return Some(Parsed::status(Status::Overload));
    }
    let (stability, body) = if let Some(rest) = trimmed.strip_prefix("SD ") {
        (Some(Stability::Unstable), rest)
    } else if let Some(rest) = trimmed.strip_prefix("S ") {
        (Some(Stability::Stable), rest)
    } else {
        (None, trimmed)
    };
    let start = body.find(|c: char| c.is_ascii_digit() || c == '+' || c == '-' || c == '.')?;
    // Only a short label (a legend like `E *`, `G`, `NET`) may precede the number.
    if start > 8 {
        return None;
    }
    let (number, unit, after) = number_then_unit(Protocol::Generic, &body[start..])?;
    if !after.trim().is_empty() {
        return None;
    }
    Some(Parsed::weight(number, unit, stability))
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::protocol::Protocol::Generic;

    #[test]
    fn gg_and_creedmoor_lines() {
        check(Generic, "     0.00 GN", "0.00 GN g=0 - ok");
        check(Generic, "-  450.38 GN", "-450.38 GN g=-29.1841330858 - ok");
        check(Generic, "    0.665 g ", "0.665 g g=0.665 - ok");
        check(Generic, "+045.991 ct ", "+045.991 ct g=9.1982 - ok");
        check(Generic, "+   20.758g  ", "+20.758 g g=20.758 - ok");
    }

    #[test]
    fn legacy_mettler_headers_carry_stability() {
        check(Generic, "S       0.00 GN", "0.00 GN g=0 stable ok");
        check(Generic, "SD     -1.14 GN", "-1.14 GN g=-0.0738707574 unstable ok");
    }

    #[test]
    fn tildes_mean_overload_and_placeholders_are_refused() {
        check(Generic, "+ ~~~~~~~~GN ", "- - g=- - overload");
        check(Generic, "  ----  g", "skip");
        check(Generic, "^^^^", "skip");
    }

    #[test]
    fn gr_stays_ambiguous_without_the_make() {
        check(Generic, "  12.00 gr", "12.00 gr g=- - ok");
    }
}

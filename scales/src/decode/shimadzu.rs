//! Shimadzu "EB type" standard format (reference §9.1), also Kern PBS/PBJ.
//!
//! A sign column (space or `-`), the value right-justified, a one- or two-column unit written
//! straight after the digits (`-  186.65g `), then CR (CR LF with menu 96). With "output with
//! stability" on, an `S` or `U` byte leads the line; Kern's Shimadzu-built models send `S`/`D`
//! there, so `D` is read as unstable too. Without the prefix the format says nothing about
//! stability. Overload is `OL`/`-OL` whose exact columns are uncertain (§9.1): it is found as
//! a token anywhere in the line.

use touchstone_model::event::Stability;

use super::number_then_unit;
use crate::protocol::Protocol;
use crate::reading::{Parsed, Status};

/// Parses one Shimadzu line.
pub(super) fn parse(text: &str) -> Option<Parsed> {
    let text = text.trim_end();
    let (stability, body) = match text.as_bytes().first() {
        Some(b'S') => (Some(Stability::Stable), &text[1..]),
        Some(b'U' | b'D') => (Some(Stability::Unstable), &text[1..]),
        _ => (None, text),
    };
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    match compact.as_str() {
        "OL" | "oL" | "+OL" => return Some(Parsed::status(Status::Overload)),
        "-OL" | "-oL" => return Some(Parsed::status(Status::Underload)),
        _ => {}
    }
    let (number, unit, after) = number_then_unit(Protocol::Shimadzu, body)?;
    if !after.trim().is_empty() {
        return None;
    }
    Some(Parsed::weight(number, unit, stability))
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::protocol::Protocol::Shimadzu;

    #[test]
    fn manual_hex_examples() {
        check(Shimadzu, "-  186.65g ", "-186.65 g g=-186.65 - ok");
        check(Shimadzu, "-  21.6865g ", "-21.6865 g g=-21.6865 - ok");
        check(Shimadzu, "   100.000ct", "100.000 ct g=20.0000 - ok");
    }

    #[test]
    fn stability_prefix() {
        check(Shimadzu, "S   186.65g ", "186.65 g g=186.65 stable ok");
        check(Shimadzu, "U   186.65g ", "186.65 g g=186.65 unstable ok");
        check(Shimadzu, "D-  186.65g ", "-186.65 g g=-186.65 unstable ok");
    }

    #[test]
    fn overload_tokens() {
        check(Shimadzu, "      OL  ", "- - g=- - overload");
        check(Shimadzu, "S     -OL ", "- - g=- - underload");
    }

    #[test]
    fn verified_digit_brackets_are_stripped() {
        check(Shimadzu, "   186.6[5]g ", "186.65 g g=186.65 - ok");
    }

    #[test]
    fn noise_is_skipped() {
        check(Shimadzu, "Shimadzu", "skip");
        check(Shimadzu, "  12.3g extra", "skip");
    }
}

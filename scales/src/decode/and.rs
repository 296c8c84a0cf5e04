//! A&D standard format and its CSV and two-header variants (reference §4.2, §4.4).
//!
//! `HH,±DDDDDDDD UUU`: a two-letter header (`ST` stable, `US` unstable, `QT` stable count,
//! `OL` out of range), a comma, nine data characters with leading zeros and a right-aligned
//! three-column unit. CSV output puts a comma (or `;` with a decimal comma, AD-4212D p.27)
//! before the unit. Indicators and Kern industrial scales add a second header (`GS`, `NT`).
//! `OL` lines differ by series (`OL,+999999.9  g` on EJ, `OL,+9999999E+19` on GH); the sign
//! alone decides overload or underload and the digits are ignored, as §4.2 advises.

use touchstone_model::event::Stability;

use super::number_then_unit;
use crate::protocol::Protocol;
use crate::reading::{IdentityReply, Parsed, Status};

/// Parses one A&D line; `protocol` picks the unit table (Kern industrial reuses this).
pub(super) fn parse(protocol: Protocol, text: &str) -> Option<Parsed> {
    let text = text.trim();
    if text.as_bytes() == [0x06] {
        // §4.4: `<AK>` when the error-code parameter is enabled.
        return Some(Parsed::status(Status::Ack));
    }
    let (header, rest) = text.split_once([',', ';'])?;
    let header = header.trim();
    match header {
        "EC" => return Some(Parsed::status(Status::error(rest.trim()))),
        "SN" => return Some(Parsed::identity(IdentityReply::Serial(rest.trim().to_owned()))),
        "TN" => return Some(Parsed::identity(IdentityReply::Model(rest.trim().to_owned()))),
        _ => {}
    }
    let stability = match header {
        "ST" | "QT" => Some(Stability::Stable),
        "US" => Some(Stability::Unstable),
        // FX-i `WT` replies carry no stability meaning in the sources; say so.
        "WT" | "PT" => None,
        "OL" => return Some(out_of_range(rest)),
        _ => return None,
    };

    // Second header of indicators: `ST,NT,+0012.34kg`, `ST,GS, +   0.0000 g`.
    let mut data = rest;
    if let Some((second, tail)) = rest.split_once([',', ';'])
        && matches!(second.trim(), "GS" | "NT" | "TR" | "GR")
    {
        data = tail;
    }
    let (number, unit, after) = number_then_unit(protocol, &without_csv_separator(data))
        .map(|(n, u, a)| (n, u, a.trim().to_owned()))?;
    if !after.is_empty() {
        return None;
    }
    let parsed = Parsed::weight(number, unit, stability);
    Some(if header == "PT" { parsed.with_status(Status::Ack) } else { parsed })
}

/// Drops the CSV separator between data and unit: `+0013.538, g` or `+0013,538; g`.
fn without_csv_separator(data: &str) -> String {
    match data.rfind([',', ';']) {
        Some(index) if data[index + 1..].trim().chars().all(|c| !c.is_ascii_digit()) => {
            let mut joined = data[..index].to_owned();
            joined.push(' ');
            joined.push_str(&data[index + 1..]);
            joined
        }
        _ => data.to_owned(),
    }
}

fn out_of_range(rest: &str) -> Parsed {
    let status = match rest.trim_start().as_bytes().first() {
        Some(b'-') => Status::Underload,
        _ => Status::Overload,
    };
    Parsed::status(status)
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::protocol::Protocol::And;

    #[test]
    fn standard_format_headers_carry_stability() {
        check(And, "ST,+0013.538  g", "+0013.538 g g=13.538 stable ok");
        check(And, "US,+0013.538  g", "+0013.538 g g=13.538 unstable ok");
        check(And, "ST,+001234.5  g", "+001234.5 g g=1234.5 stable ok");
        check(And, "ST,-0000.012  g", "-0000.012 g g=-0.012 stable ok");
        check(And, "QT,+00012345 PC", "+00012345 PC g=- stable ok");
        check(And, "ST,+00000.00 lb", "+00000.00 lb g=0 stable ok");
    }

    #[test]
    fn a_bare_t_is_a_tola_on_and() {
        check(And, "ST,+0001.000  t", "+0001.000 t g=11.6638038000 stable ok");
        check(And, "ST,+0001.000 tl", "+0001.000 tl g=- stable ok");
    }

    #[test]
    fn both_overload_shapes_read_by_their_sign() {
        check(And, "OL,+999999.9  g", "- - g=- - overload");
        check(And, "OL,-99999999 PC", "- - g=- - underload");
        check(And, "OL,+9999999E+19", "- - g=- - overload");
        check(And, "OL,-9999999E+19", "- - g=- - underload");
        check(And, "OL,+9999999E+19, ct", "- - g=- - overload");
    }

    #[test]
    fn csv_and_decimal_comma() {
        check(And, "ST,+0013.538, g", "+0013.538 g g=13.538 stable ok");
        check(And, "ST;+0013,538; g", "+0013,538 g g=13.538 stable ok");
    }

    #[test]
    fn two_header_indicator_lines() {
        check(And, "ST,NT,+0012.34kg", "+0012.34 kg g=12340.00 stable ok");
        check(And, "US,GS, +      0.5000 g", "+0.5000 g g=0.5000 unstable ok");
    }

    #[test]
    fn errors_acks_and_identity() {
        check(And, "EC,E01", "- - g=- - error:E01");
        check(And, "\u{6}", "- - g=- - ack");
        check(And, "SN,01234567", "- - g=- - ack serial=01234567");
        check(And, "TN,  FX-300i", "- - g=- - ack model=FX-300i");
    }

    #[test]
    fn id_and_glp_lines_are_skipped() {
        check(And, "0000000", "skip");
        check(And, "LAB-0123, 2004/07/01, 12:34:56, ST,+0000.1278,  g", "skip");
        check(And, "ST,+00X3.538  g", "skip");
    }
}

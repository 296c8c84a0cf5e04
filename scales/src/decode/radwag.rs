//! Radwag command replies, mass frames and printouts (reference §8), also Kern AET/PET.
//!
//! Mass frame (PUE C/31 manual §18.4): the command echo left-aligned in three columns (`S  `,
//! `SI `, `SUI`), a stability character (space stable, `?` unstable, `^` over, `v` under), a
//! sign, the mass and a unit. Documents disagree on the exact columns (§8.3), so the
//! stability character is found right after the echo and the rest is read by tokens. Command
//! status replies are two tokens (`Z A`, `Z D`, `T I`, `S E`); the printout frame has no echo.

use touchstone_model::event::Stability;

use super::{number_then_unit, quoted};
use crate::protocol::Protocol;
use crate::reading::{IdentityReply, Parsed, Status};

/// Parses one Radwag line.
pub(super) fn parse(text: &str) -> Option<Parsed> {
    let text = text.trim_end();
    if text.trim() == "ES" {
        return Some(Parsed::status(Status::error("ES")));
    }
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if let [command, status] = tokens.as_slice()
        && command.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && let Some(parsed) = command_status(status)
    {
        return Some(parsed);
    }
    if let [command, "A", rest @ ..] = tokens.as_slice()
        && *command == "NB"
    {
        let serial = quoted(text).unwrap_or_else(|| rest.first().copied().unwrap_or_default());
        return Some(Parsed::identity(IdentityReply::Serial(serial.to_owned())));
    }

    let echo_len = text.bytes().take_while(u8::is_ascii_uppercase).count();
    let frame = if echo_len == 0 {
        text
    } else {
        if !matches!(&text[..echo_len], "S" | "SI" | "SU" | "SUI" | "C" | "CU") {
            return None;
        }
        // Echoes shorter than three letters are space-padded to three columns.
        let padded = echo_len.max(3).min(text.len());
        // `get`, not indexing: the padding may be a multi-byte character from line noise.
        if !text.get(echo_len..padded)?.bytes().all(|b| b == b' ') {
            return None;
        }
        text.get(padded..)?
    };
    mass_frame(frame)
}

/// Stability character, then sign, mass and unit.
fn mass_frame(frame: &str) -> Option<Parsed> {
    let mut chars = frame.chars();
    let flag = chars.next()?;
    let rest = chars.as_str();
    let stability = match flag {
        ' ' => Stability::Stable,
        '?' => Stability::Unstable,
        // WTC-30 prints just `^` or `v` on an over-range print (§8.4).
        '^' => return Some(Parsed::status(Status::Overload)),
        'v' => return Some(Parsed::status(Status::Underload)),
        _ => return None,
    };
    // The mass and unit fields are always apart (§8.3, §8.4); a unit glued to the digits is
    // another family's line (Shimadzu's `186.65g`).
    let (_, tail) = crate::number::scan(rest)?;
    if !tail.is_empty() && !tail.starts_with(' ') {
        return None;
    }
    let (number, unit, after) = number_then_unit(Protocol::Radwag, rest)?;
    if !after.trim().is_empty() {
        return None;
    }
    Some(Parsed::weight(number, unit, Some(stability)))
}

/// `XX A` in progress, `XX D` done, `XX OK`, `XX I` not possible now, `XX ^`/`XX v` range,
/// `XX E` stability timeout (§8.2).
fn command_status(status: &str) -> Option<Parsed> {
    let status = match status {
        "A" | "D" | "OK" => Status::Ack,
        "^" => Status::Overload,
        "v" => Status::Underload,
        "I" | "E" => Status::error(status),
        _ => return None,
    };
    Some(Parsed::status(status))
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::protocol::Protocol::Radwag;

    #[test]
    fn manual_mass_frames() {
        check(Radwag, "S    -      8.5 g  ", "-8.5 g g=-8.5 stable ok");
        check(Radwag, "SI ?       18.5 kg ", "18.5 kg g=18500.0 unstable ok");
        check(Radwag, "SUI? -   58.237 kg ", "-58.237 kg g=-58237.000 unstable ok");
        check(Radwag, "SU    -  172.135 N  ", "-172.135 N g=- stable ok");
    }

    #[test]
    fn gr_is_grain_on_radwag() {
        check(Radwag, "SUI        1.56 gr ", "1.56 gr g=0.1010862996 stable ok");
        check(Radwag, "SUI?       2.18 gr ", "2.18 gr g=0.1412616238 unstable ok");
    }

    #[test]
    fn printouts_without_echo() {
        check(Radwag, "      1832.0 g  ", "1832.0 g g=1832.0 stable ok");
        check(Radwag, "? -    2.237 lb ", "-2.237 lb g=-1014.68613169 unstable ok");
        check(Radwag, "^      0.000 kg ", "- - g=- - overload");
        check(Radwag, "v", "- - g=- - underload");
        check(Radwag, "      18.32[0] g  ", "18.320 g g=18.320 stable ok");
    }

    #[test]
    fn two_stage_acknowledgements_and_errors() {
        check(Radwag, "Z A", "- - g=- - ack");
        check(Radwag, "Z D", "- - g=- - ack");
        check(Radwag, "T I", "- - g=- - error:I");
        check(Radwag, "S E", "- - g=- - error:E");
        check(Radwag, "S ^", "- - g=- - overload");
        check(Radwag, "S v", "- - g=- - underload");
        check(Radwag, "ES", "- - g=- - error:ES");
        check(Radwag, "NB A \"412345\"", "- - g=- - ack serial=412345");
    }

    #[test]
    fn unknown_echoes_are_skipped() {
        check(Radwag, "XYZ  12.0 g", "skip");
        check(Radwag, "S!   12.0 g", "skip");
        check(Radwag, "S   186.65g ", "skip");
        // Found by the property test: a multi-byte character inside the echo's padding.
        check(Radwag, "S\u{fffd}  12.0 g", "skip");
    }
}

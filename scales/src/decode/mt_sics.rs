//! Mettler Toledo MT-SICS replies (reference §3), also used by Kern KCP (§3.4).
//!
//! Grammar (MT-SICS manual 11781363L §2.1.2): `<ID> <status> [<weight, 10 chars> <unit>]`.
//! Weight replies carry the ID `S` for S/SI/SIR/SU; `T`, `TI`, `TA` carry a tare; `Z`, `ZI`,
//! `TAC` and the `I` queries are acknowledgements. A weight field may hold `Error <n><t>`
//! instead of a number (§2.1.4) and must not read as a stable weight.

use touchstone_model::event::Stability;

use super::{number_then_unit, quoted};
use crate::protocol::Protocol;
use crate::reading::{IdentityReply, Parsed, Status};

/// Parses one MT-SICS line.
pub(super) fn parse(protocol: Protocol, text: &str) -> Option<Parsed> {
    let text = text.trim();
    let (id, rest) = split_token(text);
    if rest.is_empty() {
        // §2.1.3.2: the general errors are bare two-letter lines.
        return match id {
            "ES" | "ET" | "EL" => Some(Parsed::status(Status::error(id))),
            _ => None,
        };
    }
    if !id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) || id.len() > 5 {
        return None;
    }
    let (status, body) = split_token(rest);
    match id {
        "S" | "SU" | "SIC1" => weight(protocol, status, body),
        "T" | "TI" | "TA" => tare(protocol, status, body),
        "I4" if status == "A" => {
            Some(Parsed::identity(IdentityReply::Serial(quoted(body)?.to_owned())))
        }
        "I2" if status == "A" => {
            // p.87: type, capacity and unit in one quoted string; the model is its first word.
            let model = quoted(body)?.split_whitespace().next()?;
            Some(Parsed::identity(IdentityReply::Model(model.to_owned())))
        }
        _ => command_status(status),
    }
}

fn split_token(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    let end = text.find(' ').unwrap_or(text.len());
    (&text[..end], text[end..].trim_start())
}

fn weight(protocol: Protocol, status: &str, body: &str) -> Option<Parsed> {
    let stability = match status {
        // `M`/`N`: stable/dynamic below MinWeigh (SIUM/SUM only); the balance still vouches
        // for stillness, so `M` counts as stable.
        "S" | "M" => Stability::Stable,
        "D" | "N" => Stability::Unstable,
        other => return command_status(other),
    };
    if let Some(code) = body.strip_prefix("Error") {
        // §2.1.4: `S S  Error 10b` is a fault, whatever the status letter says.
        let code = code.trim();
        return Some(Parsed::status(Status::error(if code.is_empty() { "Error" } else { code })));
    }
    let (number, unit, after) = number_then_unit(protocol, body)?;
    // SIC1 appends a CRC after the unit; other trailing text means this is not SICS.
    if !after.trim().is_empty() && after.trim().len() != 4 {
        return None;
    }
    Some(Parsed::weight(number, unit, Some(stability)))
}

fn tare(protocol: Protocol, status: &str, body: &str) -> Option<Parsed> {
    match status {
        "S" | "D" | "A" => {
            let parsed = match number_then_unit(protocol, body) {
                Some((number, unit, _)) => Parsed::weight(number, unit, None),
                None => Parsed::status(Status::Ack),
            };
            Some(parsed.with_status(Status::Ack))
        }
        other => command_status(other),
    }
}

/// Status letters of replies without a weight (§2.1.2.2, §2.1.3.1).
fn command_status(status: &str) -> Option<Parsed> {
    let status = match status {
        "A" | "B" | "S" | "D" => Status::Ack,
        "+" => Status::Overload,
        "-" => Status::Underload,
        "I" | "L" => Status::error(status),
        _ => return None,
    };
    Some(Parsed::status(status))
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::protocol::Protocol::MtSics;

    #[test]
    fn stable_and_dynamic_weights() {
        check(MtSics, "S S      14.256 g", "14.256 g g=14.256 stable ok");
        check(MtSics, "S D      -0.012 g", "-0.012 g g=-0.012 unstable ok");
        check(MtSics, "S S     100.00 ct", "100.00 ct g=20.000 stable ok");
        check(MtSics, "S S       1.5 dwt", "1.5 dwt g=2.332760760 stable ok");
    }

    #[test]
    fn error_in_the_weight_field_is_not_a_stable_weight() {
        check(MtSics, "S S  Error 10b", "- - g=- - error:10b");
    }

    #[test]
    fn range_and_command_errors() {
        check(MtSics, "S +", "- - g=- - overload");
        check(MtSics, "S -", "- - g=- - underload");
        check(MtSics, "S I", "- - g=- - error:I");
        check(MtSics, "ES", "- - g=- - error:ES");
        check(MtSics, "EL", "- - g=- - error:EL");
    }

    #[test]
    fn tare_and_zero_are_acknowledgements() {
        check(MtSics, "Z A", "- - g=- - ack");
        check(MtSics, "T S     12.345 g", "12.345 g g=12.345 - ack");
        check(MtSics, "ZI D", "- - g=- - ack");
    }

    #[test]
    fn identity_replies() {
        check(MtSics, "I4 A \"B021002593\"", "- - g=- - ack serial=B021002593");
        check(MtSics, "I2 A \"WXS205SDU WXA-Bridge 220.00900 g\"", "- - g=- - ack model=WXS205SDU");
    }

    #[test]
    fn ambiguous_units_keep_no_grams() {
        check(MtSics, "S S      1.000 tlh", "1.000 tlh g=- stable ok");
        check(MtSics, "S S      1.000 t", "1.000 t g=- stable ok");
    }

    #[test]
    fn echoes_and_noise_are_skipped() {
        check(MtSics, "SI", "skip");
        check(MtSics, "S S garbage g", "skip");
        check(MtSics, "hello world", "skip");
    }
}

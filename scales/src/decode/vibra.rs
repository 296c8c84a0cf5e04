//! Shinko Denshi / ViBRA (reference §9.2): `P1 D1..D7(8) U1 U2 S1 S2`, 14 or 15 bytes.
//!
//! P1 is the sign, D the digits (leading zeros by default), U1U2 a two-letter unit (`␣G`,
//! `CT`, `OT`, `DW`, `GR`, `TL`...), S1 a check-weighing judgement (`L`, `G`, `H` or space)
//! and S2 the status: `S` stable, `U` unstable, `E` data error. The fields are fixed from
//! the right, so the line is read from its end; the number is what is left.
//! `TL` stands for every tael the balance offers and can never be converted (§2.2).

use touchstone_model::event::Stability;

use super::unit;
use crate::number;
use crate::protocol::Protocol;
use crate::reading::{Parsed, Status};

/// Parses one ViBRA line.
pub(super) fn parse(text: &str) -> Option<Parsed> {
    let text = text.trim_end_matches(['\r', '\n']);
    if !text.is_ascii() || text.len() < 6 {
        return None;
    }
    let (head, tail) = text.split_at(text.len() - 4);
    let tail = tail.as_bytes();
    let unit_token = std::str::from_utf8(&tail[..2]).ok()?.trim();
    if !matches!(tail[2], b' ' | b'L' | b'G' | b'H') {
        return None;
    }
    let stability = match tail[3] {
        b'S' => Stability::Stable,
        b'U' => Stability::Unstable,
        b'E' => return Some(Parsed::status(Status::error("E"))),
        _ => return None,
    };
    let number = number::whole(head)?;
    if unit_token.is_empty() {
        return None;
    }
    Some(Parsed::weight(number, Some(unit(Protocol::Vibra, unit_token)), Some(stability)))
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::protocol::Protocol::Vibra;

    #[test]
    fn manual_examples() {
        check(Vibra, "+00123.4 G S", "+00123.4 G g=123.4 stable ok");
        check(Vibra, "-65.4321KG U", "-65.4321 KG g=-65432.1000 unstable ok");
        check(Vibra, "+0012.345CT S", "+0012.345 CT g=2.4690 stable ok");
    }

    #[test]
    fn jewellery_units() {
        check(Vibra, "+0001.000OT S", "+0001.000 OT g=31.1034768000 stable ok");
        check(Vibra, "+0010.000DW S", "+0010.000 DW g=15.55173840000 stable ok");
        check(Vibra, "+0001.000MO S", "+0001.000 MO g=3.75000 stable ok");
        check(Vibra, "+0001.000to S", "+0001.000 to g=11.6638038000 stable ok");
        check(Vibra, "+0001.000TL S", "+0001.000 TL g=- stable ok");
    }

    #[test]
    fn judgement_column_and_data_error() {
        check(Vibra, "+00123.4 GHS", "+00123.4 G g=123.4 stable ok");
        check(Vibra, "+00123.4 G E", "- - g=- - error:E");
    }

    #[test]
    fn noise_is_skipped() {
        check(Vibra, "+00123.4 G X", "skip");
        check(Vibra, "hello", "skip");
        check(Vibra, "+001é3.4 G S", "skip");
    }
}

//! What each balance family means by its unit tokens (reference §2.3).
//!
//! The domain crate's [`MassUnit`] knows the exact gram factors and refuses every ambiguous
//! token. This module adds what only a family knows: Sartorius and Radwag print `gr` for the
//! grain, A&D prints a bare `t` for the tola, ViBRA prints `OT` for the troy ounce. Everything
//! still in doubt (taels, baht, tical, a bare `t` elsewhere, `gr` from an unknown make) stays
//! [`Unit::Ambiguous`] and is never turned into grams.

use rust_decimal::Decimal;
use touchstone_model::metal::Grams;
use touchstone_model::units::MassUnit;

use crate::protocol::Protocol;

/// The meaning of a unit token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// A mass with an exact gram factor.
    Mass(MassUnit),
    /// A mass whose factor depends on country or model (taels, baht, a bare `t`, an unknown
    /// make's `gr`): kept as printed, never converted.
    Ambiguous,
    /// Pieces in counting mode.
    Pieces,
    /// Percent in percent-weighing mode.
    Percent,
    /// Newtons: a force, refused for weight records.
    Newton,
    /// A token this family's table does not list.
    Unknown,
}

impl Unit {
    /// Exact grams for `value` in this unit, if it is an exact mass unit.
    pub fn to_grams(self, value: Decimal) -> Option<Grams> {
        match self {
            Unit::Mass(unit) => unit.to_grams(value).ok(),
            _ => None,
        }
    }

    /// The normalized name used in JSON and logs: the mass symbol, or a category word.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Mass(unit) => unit.symbol(),
            Unit::Ambiguous => "ambiguous",
            Unit::Pieces => "pcs",
            Unit::Percent => "%",
            Unit::Newton => "N",
            Unit::Unknown => "unknown",
        }
    }
}

/// Resolves a unit token as `protocol` sends it. The token is matched with its case kept,
/// except where a family is known to print upper case (ViBRA, A&D `GN`).
pub fn resolve(protocol: Protocol, token: &str) -> Unit {
    let token = token.trim();
    if let Some(unit) = family_token(protocol, token) {
        return unit;
    }
    match token {
        "PCS" | "pcs" | "PC" | "Pcs" => Unit::Pieces,
        "%" => Unit::Percent,
        "N" => Unit::Newton,
        "tl" | "TL" | "tlh" | "tls" | "tlt" | "tlc" | "tcl" | "thk" | "tsg" | "ttw" | "baht"
        | "msg" | "t" | "gr" | "tical" => Unit::Ambiguous,
        other => other.parse::<MassUnit>().map_or(Unit::Unknown, Unit::Mass),
    }
}

/// The tokens a family uses differently from the shared table, per reference §2.3.
fn family_token(protocol: Protocol, token: &str) -> Option<Unit> {
    use MassUnit::*;
    let unit = match (protocol, token) {
        // §2.2: `gr` is the grain on Sartorius (MC1 unit table) and Radwag (`UI` list).
        (Protocol::SartoriusSbi | Protocol::Radwag, "gr") => Unit::Mass(Grain),
        // §4.2: A&D's 3-column unit field prints the tola as `  t`.
        (Protocol::And, "t") => Unit::Mass(Tola),
        (Protocol::And, "DS") => Unit::Unknown,
        // §5.2: Ohaus Scout STX lists `grn` for the grain.
        (Protocol::Ohaus, "grn") => Unit::Mass(Grain),
        // §9.2: ViBRA's two-letter codes.
        (Protocol::Vibra, "OT") => Unit::Mass(TroyOunce),
        (Protocol::Vibra, "DW") => Unit::Mass(Pennyweight),
        (Protocol::Vibra, "GR") => Unit::Mass(Grain),
        (Protocol::Vibra, "MO") => Unit::Mass(Momme),
        (Protocol::Vibra, "to") => Unit::Mass(Tola),
        (Protocol::Vibra, "#") => Unit::Unknown,
        // §3.2 and M21: MT-SICS spells the microgram with a non-ASCII byte whose code page we
        // cannot know; `ug` and both Unicode micro signs are accepted by the domain parser.
        _ => return None,
    };
    Some(unit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn family_tokens_follow_the_reference_table() {
        assert_eq!(resolve(Protocol::SartoriusSbi, "gr"), Unit::Mass(MassUnit::Grain));
        assert_eq!(resolve(Protocol::Radwag, "gr"), Unit::Mass(MassUnit::Grain));
        assert_eq!(resolve(Protocol::And, "t"), Unit::Mass(MassUnit::Tola));
        assert_eq!(resolve(Protocol::Vibra, "OT"), Unit::Mass(MassUnit::TroyOunce));
        assert_eq!(resolve(Protocol::Vibra, "G"), Unit::Mass(MassUnit::Gram));
        assert_eq!(resolve(Protocol::Kern, "gn"), Unit::Mass(MassUnit::Grain));
        assert_eq!(resolve(Protocol::MtSics, "GN"), Unit::Mass(MassUnit::Grain));
    }

    #[test]
    fn ambiguous_tokens_never_reach_grams() {
        for protocol in Protocol::ALL {
            for token in ["tl", "TL", "tlh", "tls", "baht", "tcl", "msg", "thk"] {
                assert_eq!(resolve(protocol, token), Unit::Ambiguous, "{protocol} {token}");
            }
        }
        // A bare `t` is a tola only on A&D; `gr` is a grain only where the family says so.
        for protocol in [Protocol::MtSics, Protocol::Generic, Protocol::Adam, Protocol::Ohaus] {
            assert_eq!(resolve(protocol, "t"), Unit::Ambiguous);
            assert_eq!(resolve(protocol, "gr"), Unit::Ambiguous);
        }
    }

    #[test]
    fn counts_and_forces_have_no_grams() {
        for token in ["PCS", "%", "N"] {
            let unit = resolve(Protocol::MtSics, token);
            assert_eq!(unit.to_grams(Decimal::ONE), None, "{token}");
        }
    }

    proptest! {
        #[test]
        fn every_exact_unit_converts_to_grams_and_back(
            mantissa in -1_000_000_000_000i64..1_000_000_000_000i64,
            scale in 0u32..=8,
            index in 0usize..MassUnit::ALL.len(),
        ) {
            let mass = MassUnit::ALL[index];
            let unit = resolve(Protocol::MtSics, mass.symbol());
            prop_assert_eq!(unit, Unit::Mass(mass));
            let value = Decimal::new(mantissa, scale);
            let grams = unit.to_grams(value).unwrap();
            let back = mass.from_grams(grams).unwrap();
            prop_assert_eq!(back.normalize(), value.normalize());
        }
    }
}

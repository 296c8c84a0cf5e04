//! Units of mass that balances print, with exact gram factors.
//!
//! Only units with a legal definition convert to grams. Taels, baht, tical, mesghal and other
//! tokens whose meaning depends on the country or the balance are kept as printed and never
//! turned into grams; a bare `t` or `gr` is resolved by the balance family's decoder, not
//! here, because `t` is a tola on one make and a tonne on another and `gr` is a grain.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::metal::Grams;

/// A unit of mass with an exact definition in grams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MassUnit {
    /// Gram.
    Gram,
    /// Milligram, 0.001 g.
    Milligram,
    /// Microgram, 0.000001 g.
    Microgram,
    /// Kilogram, 1000 g.
    Kilogram,
    /// Metric carat, 0.2 g exactly (CGPM 1907).
    Carat,
    /// Grain, 0.06479891 g exactly (1959 international yard and pound).
    Grain,
    /// Pennyweight, 24 grains.
    Pennyweight,
    /// Troy ounce, 480 grains.
    TroyOunce,
    /// Avoirdupois ounce, 437.5 grains.
    Ounce,
    /// Avoirdupois pound, 7000 grains.
    Pound,
    /// Momme, 3.75 g.
    Momme,
    /// Tola, 180 grains.
    Tola,
}

/// A mass expressed in grams that does not fit the decimal type (about 28 significant digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{value} {unit} does not fit an exact decimal number of grams")]
pub struct ConversionOverflow {
    /// The value that overflowed.
    pub value: Decimal,
    /// Its unit.
    pub unit: MassUnit,
}

/// A unit token no exact unit answers to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unit `{0}` has no exact gram factor; switch the balance to g, ct, dwt or ozt")]
pub struct UnknownUnit(pub String);

impl MassUnit {
    /// Every unit, for tests and menus.
    pub const ALL: [MassUnit; 12] = [
        MassUnit::Gram,
        MassUnit::Milligram,
        MassUnit::Microgram,
        MassUnit::Kilogram,
        MassUnit::Carat,
        MassUnit::Grain,
        MassUnit::Pennyweight,
        MassUnit::TroyOunce,
        MassUnit::Ounce,
        MassUnit::Pound,
        MassUnit::Momme,
        MassUnit::Tola,
    ];

    /// Grams in one of this unit, exact.
    pub fn grams_per_unit(self) -> Decimal {
        // Each factor is an exact decimal; the imperial ones derive from the grain.
        let (mantissa, scale): (i64, u32) = match self {
            MassUnit::Gram => (1, 0),
            MassUnit::Milligram => (1, 3),
            MassUnit::Microgram => (1, 6),
            MassUnit::Kilogram => (1000, 0),
            MassUnit::Carat => (2, 1),
            MassUnit::Grain => (6_479_891, 8),
            MassUnit::Pennyweight => (155_517_384, 8),
            MassUnit::TroyOunce => (311_034_768, 7),
            MassUnit::Ounce => (28_349_523_125, 9),
            MassUnit::Pound => (45_359_237, 5),
            MassUnit::Momme => (375, 2),
            MassUnit::Tola => (116_638_038, 7),
        };
        Decimal::new(mantissa, scale)
    }

    /// The conventional symbol, as the product and reports print it.
    pub fn symbol(self) -> &'static str {
        match self {
            MassUnit::Gram => "g",
            MassUnit::Milligram => "mg",
            MassUnit::Microgram => "µg",
            MassUnit::Kilogram => "kg",
            MassUnit::Carat => "ct",
            MassUnit::Grain => "gn",
            MassUnit::Pennyweight => "dwt",
            MassUnit::TroyOunce => "ozt",
            MassUnit::Ounce => "oz",
            MassUnit::Pound => "lb",
            MassUnit::Momme => "mom",
            MassUnit::Tola => "tola",
        }
    }

    /// Converts `value` of this unit to grams, exactly.
    pub fn to_grams(self, value: Decimal) -> Result<Grams, ConversionOverflow> {
        value
            .checked_mul(self.grams_per_unit())
            .map(Grams::new)
            .ok_or(ConversionOverflow { value, unit: self })
    }

    /// Converts grams to this unit. Exact whenever the quotient terminates within the
    /// decimal's 28 digits, which holds for every gram value that came from this unit.
    pub fn from_grams(self, grams: Grams) -> Option<Decimal> {
        grams.value().checked_div(self.grams_per_unit())
    }
}

impl fmt::Display for MassUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl FromStr for MassUnit {
    type Err = UnknownUnit;

    /// Parses an unambiguous symbol. `gr`, `t` and the tael family are refused on purpose:
    /// only a balance family's decoder knows what its own token means.
    fn from_str(token: &str) -> Result<Self, UnknownUnit> {
        let unit = match token.trim() {
            "g" | "G" => MassUnit::Gram,
            "mg" => MassUnit::Milligram,
            "µg" | "μg" | "ug" => MassUnit::Microgram,
            "kg" | "KG" | "Kg" => MassUnit::Kilogram,
            "ct" | "CT" => MassUnit::Carat,
            "gn" | "GN" | "grain" => MassUnit::Grain,
            "dwt" | "DWT" => MassUnit::Pennyweight,
            "ozt" | "OZT" => MassUnit::TroyOunce,
            "oz" | "OZ" => MassUnit::Ounce,
            "lb" | "LB" => MassUnit::Pound,
            "mom" | "MOM" => MassUnit::Momme,
            "tola" | "TOLA" => MassUnit::Tola,
            other => return Err(UnknownUnit(other.to_owned())),
        };
        Ok(unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str_exact(text).unwrap()
    }

    #[test]
    fn factors_match_their_definitions() {
        let grain = MassUnit::Grain.grams_per_unit();
        assert_eq!(MassUnit::Pennyweight.grams_per_unit(), grain * d("24"));
        assert_eq!(MassUnit::TroyOunce.grams_per_unit(), grain * d("480"));
        assert_eq!(MassUnit::Ounce.grams_per_unit(), grain * d("437.5"));
        assert_eq!(MassUnit::Pound.grams_per_unit(), grain * d("7000"));
        assert_eq!(MassUnit::Tola.grams_per_unit(), grain * d("180"));
        assert_eq!(MassUnit::Carat.to_grams(d("5")).unwrap().value(), d("1"));
        assert_eq!(MassUnit::TroyOunce.to_grams(d("1")).unwrap().value(), d("31.1034768"));
        assert_eq!(MassUnit::Pennyweight.to_grams(d("10")).unwrap().value(), d("15.5517384"));
    }

    #[test]
    fn ambiguous_tokens_are_refused() {
        for token in ["gr", "t", "tl", "TL", "tlh", "tls", "baht", "msg", "N", "PCS", ""] {
            assert!(token.parse::<MassUnit>().is_err(), "{token} must not parse");
        }
        let err = "tl".parse::<MassUnit>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unit `tl` has no exact gram factor; switch the balance to g, ct, dwt or ozt"
        );
    }

    #[test]
    fn symbols_parse_back() {
        for unit in MassUnit::ALL {
            assert_eq!(unit.symbol().parse::<MassUnit>(), Ok(unit));
        }
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(MassUnit::Kilogram.to_grams(Decimal::MAX).is_err());
    }

    proptest! {
        #[test]
        fn every_unit_round_trips_through_grams(
            mantissa in -10_000_000_000i64..10_000_000_000i64,
            scale in 0u32..=6,
            index in 0usize..MassUnit::ALL.len(),
        ) {
            let unit = MassUnit::ALL[index];
            let value = Decimal::new(mantissa, scale);
            let grams = unit.to_grams(value).unwrap();
            let back = unit.from_grams(grams).unwrap();
            prop_assert_eq!(back.normalize(), value.normalize());
        }
    }
}

//! Metal by weight: exact grams, fineness, alloys and fine weight.
//!
//! Weights and money must never be rounded by accident, so grams are exact decimals and every
//! arithmetic path here is checked: an overflow is an error, never a wrapped or truncated value.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Neg, Sub};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::AlloyCode;

/// A mass in grams, held as an exact decimal with the digits it was given.
///
/// On the wire and in files it is a JSON string such as `"12.345"`, so no consumer parses it
/// through a binary float.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Grams(Decimal);

impl Grams {
    /// No metal.
    pub const ZERO: Grams = Grams(Decimal::ZERO);

    /// Wraps an exact decimal number of grams.
    pub const fn new(value: Decimal) -> Self {
        Self(value)
    }

    /// The decimal value.
    pub const fn value(self) -> Decimal {
        self.0
    }

    /// Whether the mass is below zero (a net weight after tare may be).
    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// The same mass written without trailing zeros, for comparisons and display.
    pub fn normalized(self) -> Self {
        Self(self.0.normalize())
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Grams) -> Option<Grams> {
        self.0.checked_add(other.0).map(Grams)
    }

    /// `self - other`, or `None` on overflow.
    pub fn checked_sub(self, other: Grams) -> Option<Grams> {
        self.0.checked_sub(other.0).map(Grams)
    }
}

impl Add for Grams {
    type Output = Grams;

    /// Adds two masses. Workshop masses are many orders of magnitude below the decimal's
    /// range (about 7.9e28), so this panics only on a broken invariant elsewhere.
    fn add(self, other: Grams) -> Grams {
        Grams(self.0 + other.0)
    }
}

impl Sub for Grams {
    type Output = Grams;

    fn sub(self, other: Grams) -> Grams {
        Grams(self.0 - other.0)
    }
}

impl Neg for Grams {
    type Output = Grams;

    fn neg(self) -> Grams {
        Grams(-self.0)
    }
}

impl Sum for Grams {
    fn sum<I: Iterator<Item = Grams>>(iter: I) -> Grams {
        iter.fold(Grams::ZERO, Add::add)
    }
}

impl fmt::Display for Grams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} g", self.0)
    }
}

impl FromStr for Grams {
    type Err = rust_decimal::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Decimal::from_str_exact(text.trim()).map(Grams)
    }
}

/// Purity in parts per thousand of the precious metal, e.g. 750 for 18 karat gold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct Fineness(u16);

/// A fineness outside 1..=1000 parts per thousand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("fineness {0} is outside 1..=1000 parts per thousand")]
pub struct FinenessError(pub u16);

impl Fineness {
    /// Pure metal: 1000 parts per thousand.
    pub const PURE: Fineness = Fineness(1000);

    /// Checks that `per_mille` lies in 1..=1000.
    pub fn new(per_mille: u16) -> Result<Self, FinenessError> {
        if (1..=1000).contains(&per_mille) {
            Ok(Self(per_mille))
        } else {
            Err(FinenessError(per_mille))
        }
    }

    /// Parts per thousand.
    pub fn per_mille(self) -> u16 {
        self.0
    }

    /// The fine (pure) metal in `gross`: gross x fineness / 1000, exact.
    pub fn fine_weight(self, gross: Grams) -> Grams {
        Grams(gross.0 * Decimal::from(self.0) / Decimal::ONE_THOUSAND)
    }

    /// The fineness of a mixture of parts of various fineness (a piece with solder or
    /// findings added), as exact parts per thousand, or `None` when the parts weigh nothing.
    pub fn of_mixture(parts: &[(Grams, Fineness)]) -> Option<Decimal> {
        let gross: Grams = parts.iter().map(|(g, _)| *g).sum();
        if gross.0.is_zero() {
            return None;
        }
        let fine: Grams = parts.iter().map(|(g, f)| f.fine_weight(*g)).sum();
        fine.0.checked_mul(Decimal::ONE_THOUSAND)?.checked_div(gross.0)
    }
}

impl TryFrom<u16> for Fineness {
    type Error = FinenessError;

    fn try_from(value: u16) -> Result<Self, FinenessError> {
        Self::new(value)
    }
}

impl From<Fineness> for u16 {
    fn from(f: Fineness) -> u16 {
        f.0
    }
}

/// The precious metal an alloy is priced and refined for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metal {
    /// Gold of any karat and colour.
    Gold,
    /// Silver (sterling, Argentium, Britannia).
    Silver,
    /// Platinum.
    Platinum,
    /// Palladium.
    Palladium,
}

impl Metal {
    /// Every metal, in order.
    pub const ALL: [Metal; 4] = [Metal::Gold, Metal::Silver, Metal::Platinum, Metal::Palladium];

    /// Its name as the wire, files and databases write it: `gold`, `silver`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Metal::Gold => "gold",
            Metal::Silver => "silver",
            Metal::Platinum => "platinum",
            Metal::Palladium => "palladium",
        }
    }
}

/// A name that is none of the ones a closed list allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a {what} ({allowed})")]
pub struct UnknownName {
    /// What was asked for: "metal", "role".
    pub what: &'static str,
    /// The text given.
    pub text: String,
    /// The names allowed, in words.
    pub allowed: &'static str,
}

impl FromStr for Metal {
    type Err = UnknownName;

    /// Parses a metal's name, in lower case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Metal::ALL.into_iter().find(|m| m.as_str() == text).ok_or_else(|| UnknownName {
            what: "metal",
            text: text.to_owned(),
            allowed: "gold, silver, platinum or palladium",
        })
    }
}

/// An alloy the workshop works: its code, the metal, and the fineness used for fine weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alloy {
    /// The code used on jobs and in loss bands, e.g. `18KY`.
    pub code: AlloyCode,
    /// A name for people, e.g. "18K yellow gold".
    pub name: String,
    /// The precious metal.
    pub metal: Metal,
    /// The fineness actually alloyed (the shop's "touch"), which may exceed the hallmark.
    pub fineness: Fineness,
}

impl Alloy {
    /// The fine metal in a gross weight of this alloy.
    pub fn fine_weight(&self, gross: Grams) -> Grams {
        self.fineness.fine_weight(gross)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metal_names_match_the_wire_and_parse_back() {
        for metal in Metal::ALL {
            let wire = serde_json::to_value(metal).unwrap();
            assert_eq!(wire, metal.as_str());
            assert_eq!(metal.as_str().parse::<Metal>(), Ok(metal));
        }
        let err = "tin".parse::<Metal>().unwrap_err();
        assert_eq!(err.to_string(), "`tin` is not a metal (gold, silver, platinum or palladium)");
    }

    fn g(text: &str) -> Grams {
        text.parse().unwrap()
    }

    #[test]
    fn fine_weight_is_exact() {
        let f750 = Fineness::new(750).unwrap();
        assert_eq!(f750.fine_weight(g("12.345")), g("9.25875"));
        let f585 = Fineness::new(585).unwrap();
        assert_eq!(f585.fine_weight(g("0.001")), g("0.000585"));
    }

    #[test]
    fn fineness_out_of_range_is_refused() {
        assert_eq!(Fineness::new(0), Err(FinenessError(0)));
        assert_eq!(Fineness::new(1001), Err(FinenessError(1001)));
        assert!(serde_json::from_str::<Fineness>("1200").is_err());
        assert_eq!(serde_json::from_str::<Fineness>("916").unwrap().per_mille(), 916);
    }

    #[test]
    fn solder_lowers_a_pieces_fineness() {
        // 10 g of 18K with 0.5 g of 14K solder: (7.5 + 0.2925) / 10.5 = 742.142857... per mille.
        let parts =
            [(g("10"), Fineness::new(750).unwrap()), (g("0.5"), Fineness::new(585).unwrap())];
        let mixed = Fineness::of_mixture(&parts).unwrap();
        assert!(mixed > Decimal::from(742) && mixed < Decimal::from(743), "{mixed}");
        assert_eq!(Fineness::of_mixture(&[]), None);
    }

    #[test]
    fn grams_keep_printed_digits_on_the_wire() {
        let w = g("3.100");
        assert_eq!(serde_json::to_string(&w).unwrap(), "\"3.100\"");
        assert_eq!(w.normalized(), g("3.1"));
        assert_eq!(w, g("3.1"), "equality is by value, not by digits");
    }

    #[test]
    fn grams_arithmetic() {
        assert_eq!(g("1.5") + g("2.25"), g("3.75"));
        assert_eq!(g("1.5") - g("2.25"), g("-0.75"));
        assert!((g("1") - g("2")).is_negative());
        assert!(!Grams::ZERO.is_negative());
        assert_eq!([g("1"), g("2")].into_iter().sum::<Grams>(), g("3"));
        assert_eq!(Grams::new(Decimal::MAX).checked_add(g("1")), None);
        assert!("abc".parse::<Grams>().is_err());
    }
}

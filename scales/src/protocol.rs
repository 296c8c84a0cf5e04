//! The balance families this crate speaks, and their names on the command line and in config.
//!
//! A family is chosen per configured balance, never guessed from one line (reference §0.2);
//! autodetection in `probe` only proposes one.

use std::fmt;
use std::str::FromStr;

/// A balance protocol family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// Mettler Toledo MT-SICS.
    MtSics,
    /// A&D standard format (and its CSV and two-header variants).
    And,
    /// Ohaus print formats.
    Ohaus,
    /// Sartorius SBI, 16 and 22 character forms.
    SartoriusSbi,
    /// Kern: the legacy `s`/`w`/`t` format, KCP (MT-SICS-like) replies and the industrial
    /// `ST,GS` headers. Commands use the legacy single-letter set.
    Kern,
    /// Kern with KCP commands (the MT-SICS dialect of newer Kern balances); decodes like
    /// [`Protocol::Kern`].
    KernKcp,
    /// Radwag (also Kern AET/PET, which are Radwag-built).
    Radwag,
    /// Shimadzu "EB type" format (also Kern PBS/PBJ).
    Shimadzu,
    /// Shinko Denshi / ViBRA.
    Vibra,
    /// Adam Equipment formats.
    Adam,
    /// Balances that only stream a number and a unit.
    Generic,
}

/// A protocol name no family answers to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol `{0}`; expected one of {names}", names = Protocol::names())]
pub struct UnknownProtocol(pub String);

impl Protocol {
    /// Every family, in the order autodetection tries them.
    pub const ALL: [Protocol; 11] = [
        Protocol::MtSics,
        Protocol::And,
        Protocol::Ohaus,
        Protocol::SartoriusSbi,
        Protocol::Kern,
        Protocol::KernKcp,
        Protocol::Radwag,
        Protocol::Shimadzu,
        Protocol::Vibra,
        Protocol::Adam,
        Protocol::Generic,
    ];

    /// The name used on the command line and in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::MtSics => "mt-sics",
            Protocol::And => "and",
            Protocol::Ohaus => "ohaus",
            Protocol::SartoriusSbi => "sartorius-sbi",
            Protocol::Kern => "kern",
            Protocol::KernKcp => "kern-kcp",
            Protocol::Radwag => "radwag",
            Protocol::Shimadzu => "shimadzu",
            Protocol::Vibra => "vibra",
            Protocol::Adam => "adam",
            Protocol::Generic => "generic",
        }
    }

    /// All names, comma separated, for messages.
    pub fn names() -> String {
        Protocol::ALL.map(Protocol::name).join(", ")
    }

    /// True when the family's lines say whether the balance is stable. For the others the
    /// capture waits until the value has held still (reference §10).
    pub fn reports_stability(self) -> bool {
        !matches!(self, Protocol::Adam | Protocol::Generic)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Protocol {
    type Err = UnknownProtocol;

    fn from_str(name: &str) -> Result<Self, UnknownProtocol> {
        Protocol::ALL
            .into_iter()
            .find(|protocol| protocol.name() == name.trim())
            .ok_or_else(|| UnknownProtocol(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for protocol in Protocol::ALL {
            assert_eq!(protocol.name().parse::<Protocol>(), Ok(protocol));
        }
        assert!("mettler".parse::<Protocol>().is_err());
    }
}

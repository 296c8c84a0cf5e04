//! The kinds of master data a file or upload may hold, and how file names name them.

use std::fmt;
use std::str::FromStr;

/// What a master data file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Alloys and their fineness.
    Alloys,
    /// Stage definitions.
    Stages,
    /// Stations and the stages they work.
    Stations,
    /// Operators and their badges.
    Operators,
    /// Allowed loss per stage and alloy.
    LossBands,
    /// Jobs.
    Jobs,
    /// Stones, packets and parts of jobs already stored (CSV's way to give job components).
    Components,
}

/// The syntax of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
}

impl Kind {
    /// Every kind, in the order they must be imported so that references resolve.
    pub const ALL: [Kind; 7] = [
        Kind::Alloys,
        Kind::Stages,
        Kind::Stations,
        Kind::Operators,
        Kind::LossBands,
        Kind::Jobs,
        Kind::Components,
    ];

    /// The kind's name, as in file names and URLs: `jobs`, `loss-bands`, ...
    pub fn name(self) -> &'static str {
        match self {
            Kind::Alloys => "alloys",
            Kind::Stages => "stages",
            Kind::Stations => "stations",
            Kind::Operators => "operators",
            Kind::LossBands => "loss-bands",
            Kind::Jobs => "jobs",
            Kind::Components => "components",
        }
    }

    /// The names of all kinds, comma-separated, for messages.
    pub fn names() -> String {
        Kind::ALL.map(Kind::name).join(", ")
    }

    /// The position in the import order.
    pub fn order(self) -> usize {
        Kind::ALL.iter().position(|k| *k == self).unwrap_or(Kind::ALL.len())
    }

    /// The kind and format a file name implies: `jobs.csv`, `Loss-Bands.JSON`, `loss_bands.csv`.
    pub fn from_file_name(name: &str) -> Option<(Kind, Format)> {
        let format = Format::from_file_name(name)?;
        let (stem, _) = name.rsplit_once('.')?;
        Some((stem.parse().ok()?, format))
    }
}

impl Format {
    /// The format a file's extension names: `.csv` or `.json`, in any case.
    pub fn from_file_name(name: &str) -> Option<Format> {
        let (_, ext) = name.rsplit_once('.')?;
        match ext.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A text that names no kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a kind of master data; expected one of {names}", names = Kind::names())]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;

    fn from_str(text: &str) -> Result<Self, UnknownKind> {
        let wanted = text.trim().to_ascii_lowercase().replace('_', "-");
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == wanted)
            .ok_or_else(|| UnknownKind(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_name_kind_and_format() {
        assert_eq!(Kind::from_file_name("jobs.csv"), Some((Kind::Jobs, Format::Csv)));
        assert_eq!(Kind::from_file_name("Loss_Bands.JSON"), Some((Kind::LossBands, Format::Json)));
        assert_eq!(Kind::from_file_name("jobs.xlsx"), None);
        assert_eq!(Kind::from_file_name("README.md"), None);
        assert_eq!(Kind::from_file_name("customers.csv"), None);
    }

    #[test]
    fn import_order_puts_references_first() {
        assert!(Kind::Stages.order() < Kind::Jobs.order());
        assert!(Kind::Alloys.order() < Kind::LossBands.order());
        assert!(Kind::Jobs.order() < Kind::Components.order());
    }
}

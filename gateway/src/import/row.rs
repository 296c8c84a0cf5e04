//! One CSV row being read: typed getters for its cells that record a problem naming the
//! line and column instead of failing, so that every bad cell of a file is reported at once.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;

use rust_decimal::Decimal;

use super::{Location, Problem};

/// A row the CSV reader could not split, in words.
pub(super) fn row_error(err: &csv::Error) -> String {
    match err.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("has {len} cells where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_owned(),
        _ => err.to_string(),
    }
}

/// One row being read, collecting the problems of its cells.
pub(super) struct Row<'a> {
    pub(super) index: &'a HashMap<String, usize>,
    pub(super) record: &'a csv::StringRecord,
    pub(super) at: Location,
    pub(super) problems: Vec<Problem>,
}

impl Row<'_> {
    /// The cell, or `None` when the column is absent or the cell empty.
    pub(super) fn opt(&self, field: &str) -> Option<&str> {
        let cell = self.record.get(*self.index.get(field)?)?;
        (!cell.is_empty()).then_some(cell)
    }

    pub(super) fn text(&self, field: &str) -> String {
        self.opt(field).unwrap_or_default().to_owned()
    }

    pub(super) fn problem(&mut self, field: &str, message: String) {
        self.problems.push(Problem::new(self.at, field, message));
    }

    /// A cell that must not be empty, parsed.
    pub(super) fn req<T: FromStr>(&mut self, field: &str) -> Option<T>
    where
        T::Err: Display,
    {
        if self.opt(field).is_none() {
            self.problem(field, "is required".to_owned());
            return None;
        }
        self.parsed(field).flatten()
    }

    /// A cell that may be empty, parsed; `Some(None)` when empty, `None` when bad.
    pub(super) fn parsed<T: FromStr>(&mut self, field: &str) -> Option<Option<T>>
    where
        T::Err: Display,
    {
        let Some(cell) = self.opt(field) else { return Some(None) };
        match cell.parse() {
            Ok(value) => Some(Some(value)),
            Err(err) => {
                let message = format!("\"{cell}\" is not accepted: {err}");
                self.problem(field, message);
                None
            }
        }
    }

    pub(super) fn custom<T>(
        &mut self,
        field: &str,
        required: bool,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<Option<T>> {
        let Some(cell) = self.opt(field) else {
            if required {
                self.problem(field, "is required".to_owned());
                return None;
            }
            return Some(None);
        };
        match parse(cell) {
            Some(value) => Some(Some(value)),
            None => {
                let message = format!("\"{cell}\" is not {what}");
                self.problem(field, message);
                None
            }
        }
    }

    pub(super) fn decimal(&mut self, field: &str, required: bool) -> Option<Option<Decimal>> {
        self.custom(field, required, "an exact decimal number", |c| Decimal::from_str_exact(c).ok())
    }

    pub(super) fn flag(&mut self, field: &str, default: bool) -> bool {
        let parsed =
            self.custom(field, false, "true or false", |c| match c.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Some(true),
                "false" | "no" | "0" => Some(false),
                _ => None,
            });
        parsed.flatten().unwrap_or(default)
    }

    /// A `|`-separated list; every entry parsed.
    pub(super) fn list<T: FromStr>(&mut self, field: &str) -> Vec<T>
    where
        T::Err: Display,
    {
        let Some(cell) = self.opt(field) else { return Vec::new() };
        let mut out = Vec::new();
        let mut bad = Vec::new();
        for entry in cell.split('|').map(str::trim) {
            match entry.parse() {
                Ok(value) => out.push(value),
                Err(err) => bad.push(format!("\"{entry}\" is not accepted: {err}")),
            }
        }
        for message in bad {
            self.problem(field, message);
        }
        out
    }
}

//! Master data from files: jobs, stone components, operators, stations, stages, loss bands
//! and alloys, as CSV or JSON, checked whole before anything is stored.
//!
//! A file is all or nothing: one bad row and nothing of it is written, and every bad row is
//! reported (up to [`MAX_PROBLEMS`]) with its CSV line or JSON array index and the field.
//! JSON files are arrays of objects in the model's own serde shape. CSV files have a header
//! row; their columns are described in [`table`]. The same parsing and checks serve the
//! HTTP API's master data uploads, so a file and an upload are refused for the same reasons.
//!
//! This module reads files and writes through the store; it never publishes to benches. The
//! caller notifies whoever republishes master data.

mod check;
mod events;
mod json;
mod kind;
mod row;
pub mod table;

use std::fmt;
use std::path::Path;

use chrono::Utc;
use touchstone_model::ids::JobId;
use touchstone_model::metal::Alloy;
use touchstone_model::workshop::{Component, Job, LossBand, Operator, StageDef, Station};

use crate::store::{Store, StoreError, to_us};

pub use events::{EventsReport, import_events};
pub use kind::{Format, Kind};

/// The most problems one refusal lists; the rest are only counted.
pub const MAX_PROBLEMS: usize = 50;

/// Where in a document a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A line of a CSV file, counted from 1 (the header is line 1).
    Line(u64),
    /// An item of a JSON array, counted from 0.
    Index(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(line) => write!(f, "line {line}"),
            Location::Index(index) => write!(f, "index {index}"),
        }
    }
}

/// One thing wrong with one item of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The line or index of the item.
    pub at: Location,
    /// The field, as named in the file (`due`, `components[1].carat`), or empty when the
    /// problem concerns the whole item.
    pub field: String,
    /// What is wrong, in words a person can act on.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(at: Location, field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem { at, field: field.into(), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.at, self.message)
        } else {
            write!(f, "{}, field {}: {}", self.at, self.field, self.message)
        }
    }
}

/// One component of a job, as a `components` file lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobComponent {
    /// The job it is reserved for; the job must already be stored.
    pub job: JobId,
    /// The stone, packet or part.
    pub component: Component,
}

/// The items of one document, of one kind.
#[derive(Debug, Clone)]
pub enum Items {
    /// Alloys.
    Alloys(Vec<Alloy>),
    /// Stage definitions.
    Stages(Vec<StageDef>),
    /// Stations.
    Stations(Vec<Station>),
    /// Operators.
    Operators(Vec<Operator>),
    /// Loss bands.
    LossBands(Vec<LossBand>),
    /// Jobs, with their components when the format carries them.
    Jobs(Vec<Job>),
    /// Components that replace those of the jobs they name.
    Components(Vec<JobComponent>),
}

/// A parsed document: its items, each with where it was found.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Where each item was, in the same order as the items.
    pub at: Vec<Location>,
    /// The items.
    pub items: Items,
}

impl Batch {
    /// How many items it holds.
    pub fn len(&self) -> usize {
        self.at.len()
    }

    /// Whether it holds no item.
    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }
}

/// Why a document was not stored.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// The document as a whole could not be read (not a JSON array, no CSV header, ...).
    #[error("{0}")]
    Malformed(String),
    /// Some items are wrong; nothing was stored.
    #[error("{} problem(s), nothing was stored", .total)]
    Invalid {
        /// The first [`MAX_PROBLEMS`] problems.
        problems: Vec<Problem>,
        /// How many problems there were in all.
        total: usize,
    },
    /// The store failed.
    #[error("storing master data")]
    Store(#[source] StoreError),
}

impl From<StoreError> for Rejection {
    fn from(err: StoreError) -> Self {
        Rejection::Store(err)
    }
}

/// Why a file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file or folder could not be read.
    #[error("reading {file}")]
    Read {
        /// The file or folder.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The kind of data could not be told from the file name.
    #[error(
        "{file}: cannot tell what it holds; name it after its kind ({}) with .csv or .json, \
         or give the kind",
        Kind::names()
    )]
    UnknownKind {
        /// The file.
        file: String,
    },
    /// The file as a whole could not be read.
    #[error("{file}: {message}")]
    Malformed {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Some rows are wrong; nothing of the file was stored.
    #[error("{}", render_problems(file, problems, *total))]
    Invalid {
        /// The file.
        file: String,
        /// The first [`MAX_PROBLEMS`] problems.
        problems: Vec<Problem>,
        /// How many problems there were in all.
        total: usize,
    },
    /// The store failed.
    #[error("storing {file}")]
    Store {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: StoreError,
    },
}

fn render_problems(file: &str, problems: &[Problem], total: usize) -> String {
    let mut text = problems.iter().map(|p| format!("{file} {p}")).collect::<Vec<_>>().join("\n");
    if total > problems.len() {
        text.push_str(&format!("\n{file}: {} more problem(s) not listed", total - problems.len()));
    }
    text.push_str(&format!("\n{file}: nothing was imported"));
    text
}

/// What one file brought in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The file's name.
    pub file: String,
    /// What it held.
    pub kind: Kind,
    /// How many items were stored.
    pub count: usize,
}

/// Parses a document of `kind` in `format` and checks it against itself and the store.
pub async fn parse_and_check(
    store: &Store,
    kind: Kind,
    format: Format,
    bytes: &[u8],
) -> Result<Batch, Rejection> {
    let (batch, mut problems) = match format {
        Format::Json => json::parse(kind, bytes)?,
        Format::Csv => table::parse(kind, bytes)?,
    };
    let known = check::Known::load(store).await?;
    problems.extend(check::check_with_jobs(store, &batch, known).await?);
    if problems.is_empty() {
        return Ok(batch);
    }
    problems.sort_by_key(|p| match p.at {
        Location::Line(n) => n,
        Location::Index(n) => u64::try_from(n).unwrap_or(u64::MAX),
    });
    let total = problems.len();
    problems.truncate(MAX_PROBLEMS);
    Err(Rejection::Invalid { problems, total })
}

/// Parses, checks and stores one document; nothing is stored when any item is wrong.
/// Returns how many items were stored.
pub async fn import_bytes(
    store: &Store,
    kind: Kind,
    format: Format,
    bytes: &[u8],
) -> Result<usize, Rejection> {
    let batch = parse_and_check(store, kind, format, bytes).await?;
    let count = batch.len();
    let now = to_us(Utc::now());
    match batch.items {
        Items::Alloys(items) => store.upsert_list(&items, now).await?,
        Items::Stages(items) => store.upsert_list(&items, now).await?,
        Items::Stations(items) => store.upsert_list(&items, now).await?,
        Items::Operators(items) => store.upsert_list(&items, now).await?,
        Items::LossBands(items) => store.upsert_list(&items, now).await?,
        Items::Jobs(items) => store.upsert_jobs(&items, now).await?,
        Items::Components(items) => {
            let jobs = check::with_components(store, items).await?;
            store.upsert_jobs(&jobs, now).await?;
        }
    }
    Ok(count)
}

/// Imports one file. The kind comes from `kind`, else from the file name (`jobs.csv`,
/// `loss-bands.json`, ...); the format always from the extension.
pub async fn import_file(
    store: &Store,
    path: &Path,
    kind: Option<Kind>,
) -> Result<ImportReport, ImportError> {
    let file = path
        .file_name()
        .map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into_owned());
    let named = Kind::from_file_name(&file);
    let (Some(kind), Some(format)) =
        (kind.or(named.map(|(k, _)| k)), Format::from_file_name(&file))
    else {
        return Err(ImportError::UnknownKind { file });
    };
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|source| ImportError::Read { file: path.display().to_string(), source })?;
    match import_bytes(store, kind, format, &bytes).await {
        Ok(count) => {
            tracing::info!(file = %file, kind = %kind, count, "imported master data");
            Ok(ImportReport { file, kind, count })
        }
        Err(Rejection::Malformed(message)) => Err(ImportError::Malformed { file, message }),
        Err(Rejection::Invalid { problems, total }) => {
            Err(ImportError::Invalid { file, problems, total })
        }
        Err(Rejection::Store(source)) => Err(ImportError::Store { file, source }),
    }
}

/// Imports every file of `dir` whose name names a kind, in dependency order (alloys, stages,
/// stations, operators, loss bands, jobs, components), and skips other files. Stops at the
/// first file that fails: the files after it may depend on it.
pub async fn import_dir(store: &Store, dir: &Path) -> Result<Vec<ImportReport>, ImportError> {
    let read_err = |source| ImportError::Read { file: dir.display().to_string(), source };
    let mut entries = tokio::fs::read_dir(dir).await.map_err(read_err)?;
    let mut found = Vec::new();
    while let Some(entry) = entries.next_entry().await.map_err(read_err)? {
        let name = entry.file_name().to_string_lossy().into_owned();
        match Kind::from_file_name(&name) {
            Some((kind, _)) => found.push((kind, name, entry.path())),
            None => tracing::debug!(file = %name, "not a master data file; skipped"),
        }
    }
    found.sort_by(|a, b| (a.0.order(), &a.1).cmp(&(b.0.order(), &b.1)));
    let mut reports = Vec::with_capacity(found.len());
    for (kind, _, path) in found {
        reports.push(import_file(store, &path, Some(kind)).await?);
    }
    Ok(reports)
}

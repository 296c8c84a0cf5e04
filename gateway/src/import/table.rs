//! CSV documents: one item per row, a header row naming the columns.
//!
//! Columns may come in any order; names are matched without regard to case. A column left
//! out or a cell left empty takes the field's default where the model has one. Lists inside a
//! cell are separated by `|`. Booleans are `true`/`false` (also `yes`/`no`, `1`/`0`).
//!
//! The files and their columns, required ones in bold:
//!
//! - `alloys.csv`: **code**, **name**, **metal** (gold, silver, platinum, palladium),
//!   **fineness** (‰)
//! - `stages.csv`: **id**, **name**, requires_weight (false), requires_approved_cad (true)
//! - `stations.csv`: **id**, **name**, stages (`casting|cleanup`)
//! - `operators.csv`: **id**, **name**, **badge**, **role** (worker, supervisor, manager),
//!   active (true)
//! - `loss-bands.csv`: **stage**, alloy (empty: the stage's default), **warn_percent**,
//!   **hard_percent**
//! - `jobs.csv`: **id**, **customer_ref**, description, **alloy**, **due** (YYYY-MM-DD),
//!   **route** (`cad|wax|casting`), approved_cad, latest_cad, notes, expected_grams
//! - `components.csv`: **job_id**, **type** (stone, packet, part), id, shape, carat, color,
//!   clarity, lab, certificate, description, count, total_carat, quantity
//!
//! A job's stones, packets and parts do not fit one row, so in CSV they are a file of their
//! own, `components.csv`, one component per row with the job's id. Importing it replaces the
//! components of every job it names (the jobs must already be stored: import `jobs.csv`
//! first, which `import_dir` does). A stone needs `id` and `carat`; a packet `id`, `count`
//! and `total_carat`; a part `description` (and `quantity`, 1 when empty).

use std::collections::HashMap;

use chrono::NaiveDate;
use touchstone_model::metal::{Alloy, Fineness, Grams, Metal};
use touchstone_model::workshop::{
    CadRevision, Component, Job, LossBand, Operator, Role, StageDef, Station,
};

use super::row::{Row, row_error};
use super::{Batch, Items, JobComponent, Kind, Location, Problem, Rejection};

/// The columns a file of `kind` may have, and whether each is required.
pub fn columns(kind: Kind) -> &'static [(&'static str, bool)] {
    match kind {
        Kind::Alloys => &[("code", true), ("name", true), ("metal", true), ("fineness", true)],
        Kind::Stages => &[
            ("id", true),
            ("name", true),
            ("requires_weight", false),
            ("requires_approved_cad", false),
        ],
        Kind::Stations => &[("id", true), ("name", true), ("stages", false)],
        Kind::Operators => {
            &[("id", true), ("name", true), ("badge", true), ("role", true), ("active", false)]
        }
        Kind::LossBands => {
            &[("stage", true), ("alloy", false), ("warn_percent", true), ("hard_percent", true)]
        }
        Kind::Jobs => &[
            ("id", true),
            ("customer_ref", true),
            ("description", false),
            ("alloy", true),
            ("due", true),
            ("route", true),
            ("approved_cad", false),
            ("latest_cad", false),
            ("notes", false),
            ("expected_grams", false),
        ],
        Kind::Components => &[
            ("job_id", true),
            ("type", true),
            ("id", false),
            ("shape", false),
            ("carat", false),
            ("color", false),
            ("clarity", false),
            ("lab", false),
            ("certificate", false),
            ("description", false),
            ("count", false),
            ("total_carat", false),
            ("quantity", false),
        ],
    }
}

/// Parses `bytes` as a CSV file of `kind`; returns the good rows and the problems of the bad
/// ones.
pub(super) fn parse(kind: Kind, bytes: &[u8]) -> Result<(Batch, Vec<Problem>), Rejection> {
    // Spreadsheets often save CSV with a byte order mark, which would stick to the first
    // column's name.
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|err| Rejection::Malformed(format!("cannot read the header row: {err}")))?
        .clone();
    let mut problems = Vec::new();
    let header_at = Location::Line(1);
    let mut index = HashMap::new();
    for (position, name) in header.iter().enumerate() {
        let name = name.to_ascii_lowercase();
        if !columns(kind).iter().any(|(known, _)| *known == name) {
            let known = columns(kind).iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ");
            problems.push(Problem::new(
                header_at,
                name,
                format!("is not a column of {kind}; expected {known}"),
            ));
        } else if index.insert(name.clone(), position).is_some() {
            problems.push(Problem::new(header_at, name, "appears twice in the header"));
        }
    }
    for (name, required) in columns(kind) {
        if *required && !index.contains_key(*name) {
            problems.push(Problem::new(header_at, *name, "column is missing from the header"));
        }
    }
    if !problems.is_empty() {
        return Err(Rejection::Invalid { total: problems.len(), problems });
    }

    let mut at = Vec::new();
    let mut items = Items::empty(kind);
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                problems.push(Problem::new(Location::Line(line), "", row_error(&err)));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let mut row =
            Row { index: &index, record: &record, at: Location::Line(line), problems: Vec::new() };
        let pushed = items.push_row(&mut row);
        if row.problems.is_empty() && pushed {
            at.push(row.at);
        } else {
            problems.append(&mut row.problems);
        }
    }
    Ok((Batch { at, items }, problems))
}

fn parse_metal(text: &str) -> Option<Metal> {
    text.to_ascii_lowercase().parse().ok()
}

fn parse_role(text: &str) -> Option<Role> {
    text.to_ascii_lowercase().parse().ok()
}

impl Items {
    fn empty(kind: Kind) -> Items {
        match kind {
            Kind::Alloys => Items::Alloys(Vec::new()),
            Kind::Stages => Items::Stages(Vec::new()),
            Kind::Stations => Items::Stations(Vec::new()),
            Kind::Operators => Items::Operators(Vec::new()),
            Kind::LossBands => Items::LossBands(Vec::new()),
            Kind::Jobs => Items::Jobs(Vec::new()),
            Kind::Components => Items::Components(Vec::new()),
        }
    }

    /// Reads `row` as an item of this kind; pushes it when every cell was good.
    fn push_row(&mut self, row: &mut Row<'_>) -> bool {
        match self {
            Items::Alloys(items) => push(items, row, alloy),
            Items::Stages(items) => push(items, row, stage),
            Items::Stations(items) => push(items, row, station),
            Items::Operators(items) => push(items, row, operator),
            Items::LossBands(items) => push(items, row, loss_band),
            Items::Jobs(items) => push(items, row, job),
            Items::Components(items) => push(items, row, job_component),
        }
    }
}

fn push<T>(items: &mut Vec<T>, row: &mut Row<'_>, read: fn(&mut Row<'_>) -> Option<T>) -> bool {
    match read(row) {
        Some(item) if row.problems.is_empty() => {
            items.push(item);
            true
        }
        _ => false,
    }
}

fn alloy(row: &mut Row<'_>) -> Option<Alloy> {
    let code = row.req("code");
    let name = row.req::<String>("name");
    let metal = row.custom("metal", true, "gold, silver, platinum or palladium", parse_metal);
    let fineness =
        row.custom("fineness", true, "a fineness in parts per thousand (1 to 1000)", |c| {
            Fineness::new(c.parse().ok()?).ok()
        });
    Some(Alloy { code: code?, name: name?, metal: metal??, fineness: fineness?? })
}

fn stage(row: &mut Row<'_>) -> Option<StageDef> {
    let id = row.req("id");
    let name = row.req::<String>("name");
    let requires_weight = row.flag("requires_weight", false);
    let requires_approved_cad = row.flag("requires_approved_cad", true);
    Some(StageDef { id: id?, name: name?, requires_weight, requires_approved_cad })
}

fn station(row: &mut Row<'_>) -> Option<Station> {
    let id = row.req("id");
    let name = row.req::<String>("name");
    let stages = row.list("stages");
    Some(Station { id: id?, name: name?, stages })
}

fn operator(row: &mut Row<'_>) -> Option<Operator> {
    let id = row.req("id");
    let name = row.req::<String>("name");
    let badge = row.req("badge");
    let role = row.custom("role", true, "worker, supervisor or manager", parse_role);
    let active = row.flag("active", true);
    Some(Operator { id: id?, name: name?, badge: badge?, role: role??, active })
}

fn loss_band(row: &mut Row<'_>) -> Option<LossBand> {
    let stage = row.req("stage");
    let alloy = row.parsed("alloy");
    let warn = row.decimal("warn_percent", true);
    let hard = row.decimal("hard_percent", true);
    Some(LossBand { stage: stage?, alloy: alloy?, warn_percent: warn??, hard_percent: hard?? })
}

fn job(row: &mut Row<'_>) -> Option<Job> {
    let id = row.req("id");
    let customer_ref = row.req::<String>("customer_ref");
    let alloy = row.req("alloy");
    let due = row.custom("due", true, "a date (YYYY-MM-DD)", |c| {
        NaiveDate::parse_from_str(c, "%Y-%m-%d").ok()
    });
    let route = row.list("route");
    if route.is_empty() && row.opt("route").is_none() {
        row.problem("route", "is required: the stages in order, e.g. cad|wax|casting".to_owned());
    }
    let expected =
        row.custom("expected_grams", false, "a number of grams", |c| c.parse::<Grams>().ok());
    Some(Job {
        id: id?,
        customer_ref: customer_ref?,
        description: row.text("description"),
        alloy: alloy?,
        due: due??,
        route,
        components: Vec::new(),
        approved_cad: row.opt("approved_cad").map(|c| CadRevision(c.to_owned())),
        latest_cad: row.opt("latest_cad").map(|c| CadRevision(c.to_owned())),
        notes: row.text("notes"),
        expected_grams: expected?,
    })
}

fn job_component(row: &mut Row<'_>) -> Option<JobComponent> {
    let job = row.req("job_id");
    let kind = row.text("type").to_ascii_lowercase();
    let fields: &[&str] = match kind.as_str() {
        "stone" => &["id", "shape", "carat", "color", "clarity", "lab", "certificate"],
        "packet" => &["id", "description", "count", "total_carat"],
        "part" => &["description", "quantity"],
        "" => {
            row.problem("type", "is required: stone, packet or part".to_owned());
            return None;
        }
        other => {
            row.problem("type", format!("\"{other}\" is not stone, packet or part"));
            return None;
        }
    };
    for (column, _) in columns(Kind::Components).iter().skip(2) {
        if !fields.contains(column) && row.opt(column).is_some() {
            row.problem(column, format!("does not apply to a {kind}; leave it empty"));
        }
    }
    let component = match kind.as_str() {
        "stone" => {
            let id = row.req("id");
            let carat = row.decimal("carat", true);
            Component::Stone {
                id: id?,
                shape: row.text("shape"),
                carat: carat??,
                color: row.text("color"),
                clarity: row.text("clarity"),
                lab: row.opt("lab").map(str::to_owned),
                certificate: row.opt("certificate").map(str::to_owned),
            }
        }
        "packet" => {
            let id = row.req("id");
            let count = row.req("count");
            let total = row.decimal("total_carat", true);
            Component::Packet {
                id: id?,
                description: row.text("description"),
                count: count?,
                total_carat: total??,
            }
        }
        _ => {
            let description = row.req::<String>("description");
            let quantity = row.parsed("quantity");
            Component::Part { description: description?, quantity: quantity?.unwrap_or(1) }
        }
    };
    Some(JobComponent { job: job?, component })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(kind: Kind, text: &str) -> Vec<String> {
        match parse(kind, text.as_bytes()) {
            Ok((_, problems)) => problems.iter().map(ToString::to_string).collect(),
            Err(Rejection::Invalid { problems, .. }) => {
                problems.iter().map(ToString::to_string).collect()
            }
            Err(other) => vec![other.to_string()],
        }
    }

    const JOBS: &str = "id,customer_ref,description,alloy,due,route\n\
        J-1,SO-1,Solitaire,18KY,2026-12-20,cad|wax|casting\n";

    #[test]
    fn a_byte_order_mark_does_not_rename_the_first_column() {
        let text = format!("\u{feff}{JOBS}");
        let (batch, problems) = parse(Kind::Jobs, text.as_bytes()).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(batch.len(), 1);
    }

    #[test]
    fn good_jobs_parse_with_their_route() {
        let (batch, problems) = parse(Kind::Jobs, JOBS.as_bytes()).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let Items::Jobs(jobs) = batch.items else { panic!("not jobs") };
        assert_eq!(jobs[0].route.len(), 3);
        assert_eq!(batch.at, vec![Location::Line(2)]);
    }

    #[test]
    fn bad_date_names_line_and_field() {
        let text = format!("{JOBS}J-2,SO-2,Band,14KW,2026-13-01,casting\n");
        assert_eq!(
            problems(Kind::Jobs, &text),
            vec![r#"line 3, field due: "2026-13-01" is not a date (YYYY-MM-DD)"#]
        );
    }

    #[test]
    fn every_bad_cell_of_every_row_is_reported() {
        let text = "code,name,metal,fineness\n18KY,18K yellow,gold,750\n\
                    X,,copper,1200\nAG925,Sterling,silver,925\nBAD CODE,Y,gold,585\n";
        let found = problems(Kind::Alloys, text);
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].starts_with("line 3, field name"), "{found:?}");
        assert!(found[2].starts_with("line 3, field fineness"), "{found:?}");
        assert!(found[3].starts_with("line 5, field code"), "{found:?}");
    }

    #[test]
    fn unknown_and_missing_columns_are_refused_at_the_header() {
        let found = problems(Kind::Operators, "id,name,colour\n");
        assert!(found.iter().any(|p| p.starts_with("line 1, field colour")), "{found:?}");
        assert!(found.iter().any(|p| p.contains("field badge: column is missing")), "{found:?}");
    }

    #[test]
    fn components_check_fields_by_type() {
        let text = "job_id,type,id,carat,count,total_carat,certificate\n\
                    J-1,stone,ST-1,1.02,,,2141438171\n\
                    J-1,packet,PK-1,0.5,12,0.36,\n\
                    J-1,gem,X,,,,\n";
        let found = problems(Kind::Components, text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("line 3, field carat: does not apply"), "{found:?}");
        assert!(found[1].starts_with("line 4, field type"), "{found:?}");
    }
}

//! Checks that need more than one item: duplicate keys within a document, and references to
//! stages, alloys, jobs and badges that must exist.
//!
//! References are checked only where the store knows the other side: with no stages stored
//! yet, a job's route is taken as given, so a workshop can load its files in any order the
//! first time. `import_dir` loads them in dependency order, so there every reference is
//! checked.

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;
use touchstone_model::metal::Alloy;
use touchstone_model::workshop::{Component, Job, Operator, StageDef};

use super::{Batch, Items, JobComponent, Location, Problem};
use crate::store::{Store, StoreError};

/// What the store already holds that items may refer to.
#[derive(Debug, Default)]
pub(super) struct Known {
    stages: HashSet<String>,
    alloys: HashSet<String>,
    badges: HashMap<String, String>,
    jobs: HashSet<String>,
}

impl Known {
    pub(super) async fn load(store: &Store) -> Result<Known, StoreError> {
        let stages = store.list::<StageDef>().await?.into_iter().map(|s| s.id.to_string());
        let alloys = store.list::<Alloy>().await?.into_iter().map(|a| a.code.to_string());
        let badges = store.list::<Operator>().await?.into_iter();
        Ok(Known {
            stages: stages.collect(),
            alloys: alloys.collect(),
            badges: badges.map(|o| (o.badge.to_string(), o.id.to_string())).collect(),
            jobs: HashSet::new(),
        })
    }

    fn stage_problem(&self, stage: &str) -> Option<String> {
        (!self.stages.is_empty() && !self.stages.contains(stage))
            .then(|| format!("stage `{stage}` is not among the stored stages"))
    }

    fn alloy_problem(&self, alloy: &str) -> Option<String> {
        (!self.alloys.is_empty() && !self.alloys.contains(alloy))
            .then(|| format!("alloy `{alloy}` is not among the stored alloys"))
    }
}

/// Remembers the first place of each key and reports the second.
struct Unique(HashMap<String, Location>);

impl Unique {
    fn new() -> Self {
        Unique(HashMap::new())
    }

    fn check(&mut self, key: String, at: Location, field: &str, out: &mut Vec<Problem>) {
        if let Some(first) = self.0.get(&key) {
            out.push(Problem::new(at, field, format!("`{key}` appears again (first at {first})")));
        } else {
            self.0.insert(key, at);
        }
    }
}

/// Every cross-item problem of `batch`.
pub(super) fn check(batch: &Batch, known: &Known) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut unique = Unique::new();
    let at = &batch.at;
    match &batch.items {
        Items::Alloys(items) => {
            for (alloy, at) in items.iter().zip(at) {
                unique.check(alloy.code.to_string(), *at, "code", &mut out);
                blank(&alloy.name, *at, "name", &mut out);
            }
        }
        Items::Stages(items) => {
            for (stage, at) in items.iter().zip(at) {
                unique.check(stage.id.to_string(), *at, "id", &mut out);
                blank(&stage.name, *at, "name", &mut out);
            }
        }
        Items::Stations(items) => {
            for (station, at) in items.iter().zip(at) {
                unique.check(station.id.to_string(), *at, "id", &mut out);
                blank(&station.name, *at, "name", &mut out);
                for (i, stage) in station.stages.iter().enumerate() {
                    if let Some(message) = known.stage_problem(stage.as_str()) {
                        out.push(Problem::new(*at, list_field(*at, "stages", i), message));
                    }
                }
            }
        }
        Items::Operators(items) => {
            let mut badges = Unique::new();
            for (operator, at) in items.iter().zip(at) {
                unique.check(operator.id.to_string(), *at, "id", &mut out);
                badges.check(operator.badge.to_string(), *at, "badge", &mut out);
                blank(&operator.name, *at, "name", &mut out);
                match known.badges.get(operator.badge.as_str()) {
                    Some(owner) if owner != operator.id.as_str() => out.push(Problem::new(
                        *at,
                        "badge",
                        format!("badge `{}` already belongs to operator `{owner}`", operator.badge),
                    )),
                    _ => {}
                }
            }
        }
        Items::LossBands(items) => {
            for (band, at) in items.iter().zip(at) {
                let alloy = band.alloy.as_ref().map_or("*", |a| a.as_str());
                unique.check(format!("{}/{alloy}", band.stage), *at, "stage", &mut out);
                if let Some(message) = known.stage_problem(band.stage.as_str()) {
                    out.push(Problem::new(*at, "stage", message));
                }
                if let Some(message) =
                    band.alloy.as_ref().and_then(|a| known.alloy_problem(a.as_str()))
                {
                    out.push(Problem::new(*at, "alloy", message));
                }
                percent(band.warn_percent, *at, "warn_percent", &mut out);
                percent(band.hard_percent, *at, "hard_percent", &mut out);
                if band.warn_percent > band.hard_percent {
                    out.push(Problem::new(*at, "hard_percent", "must not be below warn_percent"));
                }
            }
        }
        Items::Jobs(items) => {
            let mut stones = Unique::new();
            for (job, at) in items.iter().zip(at) {
                unique.check(job.id.to_string(), *at, "id", &mut out);
                check_job(job, *at, known, &mut stones, &mut out);
            }
        }
        Items::Components(items) => {
            let mut stones = Unique::new();
            for (item, at) in items.iter().zip(at) {
                if !known.jobs.contains(item.job.as_str()) {
                    let message = format!("job `{}` is not stored; import its job first", item.job);
                    out.push(Problem::new(*at, "job_id", message));
                }
                check_component(&item.component, *at, "", &mut stones, &mut out);
            }
        }
    }
    out
}

/// Like [`check`], but first looks up the jobs that components name.
pub(super) async fn check_with_jobs(
    store: &Store,
    batch: &Batch,
    mut known: Known,
) -> Result<Vec<Problem>, StoreError> {
    if let Items::Components(items) = &batch.items {
        for item in items {
            if !known.jobs.contains(item.job.as_str()) && store.job(&item.job).await?.is_some() {
                known.jobs.insert(item.job.to_string());
            }
        }
    }
    Ok(check(batch, &known))
}

fn check_job(job: &Job, at: Location, known: &Known, stones: &mut Unique, out: &mut Vec<Problem>) {
    if job.route.is_empty() {
        out.push(Problem::new(at, "route", "must name at least one stage"));
    }
    for (i, stage) in job.route.iter().enumerate() {
        if let Some(message) = known.stage_problem(stage.as_str()) {
            out.push(Problem::new(at, list_field(at, "route", i), message));
        }
    }
    if let Some(message) = known.alloy_problem(job.alloy.as_str()) {
        out.push(Problem::new(at, "alloy", message));
    }
    if job.expected_grams.is_some_and(|g| g.value() <= Decimal::ZERO) {
        out.push(Problem::new(at, "expected_grams", "must be more than zero"));
    }
    for (i, component) in job.components.iter().enumerate() {
        check_component(component, at, &format!("components[{i}]."), stones, out);
    }
}

fn check_component(
    component: &Component,
    at: Location,
    prefix: &str,
    stones: &mut Unique,
    out: &mut Vec<Problem>,
) {
    let field = |name: &str| format!("{prefix}{name}");
    match component {
        Component::Stone { id, carat, .. } => {
            stones.check(id.to_string(), at, &field("id"), out);
            if *carat <= Decimal::ZERO {
                out.push(Problem::new(at, field("carat"), "must be more than zero"));
            }
        }
        Component::Packet { id, count, total_carat, .. } => {
            stones.check(id.to_string(), at, &field("id"), out);
            if *count == 0 {
                out.push(Problem::new(at, field("count"), "must be at least 1"));
            }
            if *total_carat <= Decimal::ZERO {
                out.push(Problem::new(at, field("total_carat"), "must be more than zero"));
            }
        }
        Component::Part { quantity, .. } => {
            if *quantity == 0 {
                out.push(Problem::new(at, field("quantity"), "must be at least 1"));
            }
        }
    }
}

/// A list entry's field name: `route[2]` in JSON, plain `route` in CSV where the cell holds
/// the whole list.
fn list_field(at: Location, name: &str, index: usize) -> String {
    match at {
        Location::Index(_) => format!("{name}[{index}]"),
        Location::Line(_) => name.to_owned(),
    }
}

fn blank(text: &str, at: Location, field: &str, out: &mut Vec<Problem>) {
    if text.trim().is_empty() {
        out.push(Problem::new(at, field, "must not be empty"));
    }
}

fn percent(value: Decimal, at: Location, field: &str, out: &mut Vec<Problem>) {
    if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
        out.push(Problem::new(at, field, format!("{value} is not a percentage from 0 to 100")));
    }
}

/// The stored jobs named by `items`, each with its components replaced by the ones listed
/// for it, in the order first named.
pub(super) async fn with_components(
    store: &Store,
    items: Vec<JobComponent>,
) -> Result<Vec<Job>, StoreError> {
    let mut order = Vec::new();
    let mut by_job: HashMap<String, Vec<Component>> = HashMap::new();
    for item in items {
        let key = item.job.to_string();
        if !by_job.contains_key(&key) {
            order.push(item.job.clone());
        }
        by_job.entry(key).or_default().push(item.component);
    }
    let mut jobs = Vec::with_capacity(order.len());
    for id in order {
        // Checked to exist just before; a job deleted meanwhile is simply skipped.
        if let Some(mut job) = store.job(&id).await? {
            job.components = by_job.remove(id.as_str()).unwrap_or_default();
            jobs.push(job);
        }
    }
    Ok(jobs)
}

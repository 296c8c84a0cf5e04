//! The demo workshop as the kiosk's cache would hold it, built from the gateway's demo files
//! (master data and a month of history) without a gateway. Used by the tests and by the demo
//! before the first snapshots arrive.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use touchstone_model::protocol::{JobSnapshot, VERSION, decode_event};
use touchstone_model::rules::JobProgress;
use touchstone_model::workshop::Job;

use crate::cache::MasterData;

const JOBS: &str = include_str!("../../gateway/demo/jobs.json");
const OPERATORS: &str = include_str!("../../gateway/demo/operators.json");
const STAGES: &str = include_str!("../../gateway/demo/stages.json");
const STATIONS: &str = include_str!("../../gateway/demo/stations.json");
const LOSS_BANDS: &str = include_str!("../../gateway/demo/loss-bands.json");
const ALLOYS: &str = include_str!("../../gateway/demo/alloys.json");
const HISTORY: &str = include_str!("../../gateway/demo/events.jsonl");

/// Why the demo files did not load (a build with broken demo files).
#[derive(Debug, thiserror::Error)]
#[error("demo file {file}: {reason}")]
pub struct DemoDataError {
    file: &'static str,
    reason: String,
}

fn parse<T: DeserializeOwned>(file: &'static str, text: &str) -> Result<T, DemoDataError> {
    serde_json::from_str(text).map_err(|err| DemoDataError { file, reason: err.to_string() })
}

/// The demo workshop, with each job's progress folded from the demo history, as if the
/// gateway had published it at `at`.
pub fn master_data(at: DateTime<Utc>) -> Result<MasterData, DemoDataError> {
    let jobs: Vec<Job> = parse("jobs.json", JOBS)?;
    let mut progress: BTreeMap<_, JobProgress> = BTreeMap::new();
    for line in HISTORY.lines().filter(|l| !l.trim().is_empty()) {
        #[derive(serde::Deserialize)]
        struct Station {
            station: touchstone_model::ids::StationId,
        }
        let station: Station = parse("events.jsonl", line)?;
        let event = decode_event(&station.station, line.as_bytes())
            .map_err(|err| DemoDataError { file: "events.jsonl", reason: err.to_string() })?;
        if let Some(job) = &event.job {
            progress.entry(job.clone()).or_default().apply(&event.fact);
        }
    }
    let jobs = jobs
        .into_iter()
        .map(|job| {
            let progress = progress.remove(&job.id).unwrap_or_default();
            (job.id.clone(), JobSnapshot { v: VERSION, job, progress, updated_at: at })
        })
        .collect();
    Ok(MasterData {
        jobs,
        operators: parse("operators.json", OPERATORS)?,
        stages: parse("stages.json", STAGES)?,
        stations: parse("stations.json", STATIONS)?,
        loss_bands: parse("loss-bands.json", LOSS_BANDS)?,
        alloys: parse("alloys.json", ALLOYS)?,
        updated_at: Some(at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_workshop_loads_with_jobs_along_their_routes() {
        let data = master_data(Utc::now()).unwrap();
        assert_eq!(data.jobs.len(), 12);
        assert_eq!(data.operators.len(), 9);
        let started = data.jobs.values().filter(|s| s.progress.stage.is_some()).count();
        assert!(started >= 10, "{started}");
        assert!(data.jobs.values().any(|s| s.progress.held));
    }
}

//! Bench events from a file, for demos and for replaying a bench's exported journal: one
//! event per line in the wire format benches publish (`events.jsonl`).
//!
//! Each line is decoded by the same strict decoder the MQTT ingest uses, and the file is
//! committed as one batch through the store's ingest write, so the derived state (job stage,
//! visits, metal totals, anomalies) comes out exactly as if the benches had sent it. Events
//! already stored are skipped, so importing a file twice stores nothing the second time.
//!
//! **Call it before the ingest task starts.** The store's feed cursor is in commit order
//! only while one task writes the ledger.

use std::path::Path;

use touchstone_model::ids::StationId;
use touchstone_model::protocol::{AckOutcome, decode_event};

use super::{ImportError, Location, MAX_PROBLEMS, Problem};
use crate::store::Store;
use crate::store::ingest::Incoming;

/// What an events file brought in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsReport {
    /// The file's name.
    pub file: String,
    /// Events stored now.
    pub stored: usize,
    /// Events that were already stored.
    pub duplicates: usize,
}

/// Imports the events of `path`, one wire JSON event per line (blank lines are skipped).
/// Each event counts as received when it was recorded. Nothing is stored when any line is
/// wrong.
pub async fn import_events(store: &Store, path: &Path) -> Result<EventsReport, ImportError> {
    let file = path
        .file_name()
        .map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into_owned());
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|source| ImportError::Read { file: path.display().to_string(), source })?;
    let (batch, mut problems) = parse(&text);
    if !problems.is_empty() {
        let total = problems.len();
        problems.truncate(MAX_PROBLEMS);
        return Err(ImportError::Invalid { file, problems, total });
    }
    let acks = store
        .commit_batch(&batch)
        .await
        .map_err(|source| ImportError::Store { file: file.clone(), source })?
        .acks;
    let stored = acks.iter().filter(|a| a.outcome == AckOutcome::Stored).count();
    let duplicates = acks.len() - stored;
    tracing::info!(file = %file, stored, duplicates, "imported bench events");
    Ok(EventsReport { file, stored, duplicates })
}

/// Decodes every line; returns the events and the problems of the lines that failed.
fn parse(text: &str) -> (Vec<Incoming>, Vec<Problem>) {
    let mut batch = Vec::new();
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let at = Location::Line(u64::try_from(index + 1).unwrap_or(u64::MAX));
        if line.trim().is_empty() {
            continue;
        }
        // The decoder checks the payload against the station of its topic; a file has no
        // topic, so the payload's own station stands in for it.
        let station = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("station").and_then(|s| s.as_str()).map(StationId::new));
        let station = match station {
            Some(Ok(station)) => station,
            Some(Err(err)) => {
                problems.push(Problem::new(at, "station", err.to_string()));
                continue;
            }
            None => {
                problems.push(Problem::new(at, "", "is not a JSON event with a station"));
                continue;
            }
        };
        match decode_event(&station, line.as_bytes()) {
            Ok(event) => {
                let received_at = event.recorded_at;
                batch.push(Incoming { event, received_at });
            }
            Err(err) => problems.push(Problem::new(at, "", err.to_string())),
        }
    }
    (batch, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = concat!(
        r#"{"v": 1, "id": "019ad5a2-8c00-7000-8000-000000000001", "station": "bench-1", "#,
        r#""seq": 1, "operator": "op-amara", "job": "J-1", "recorded_at": "#,
        r#""2026-12-01T09:00:00Z", "fact": {"type": "stage_started", "stage": "cleanup"}}"#
    );

    #[test]
    fn lines_decode_strictly_and_name_their_line() {
        let text =
            format!("{LINE}\n\n{}\n{{\"v\": 1}}\n", LINE.replace("\"seq\": 1", "\"seq\": 0"));
        let (batch, problems) = parse(&text);
        assert_eq!(batch.len(), 1);
        let texts: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "line 3: invalid event: seq starts at 1",
                "line 4: is not a JSON event with a station"
            ]
        );
    }
}

//! One job's whole story: what it is, where it stands, and every event in order with who,
//! where, when, weights, stones, holds and notes: the chain of custody, printable.

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::Utc;
use maud::{Markup, html};
use touchstone_model::event::{Fact, Stability, StoneMovement, WeightPurpose};
use touchstone_model::ids::{JobId, StationId};
use touchstone_model::metal::Grams;
use touchstone_model::protocol::decode_event;
use touchstone_model::workshop::{Component, Job};

use super::view::{Cell, Column, Nav, Page, Table, format_age, format_grams};
use super::{PageRequest, PageResult, Workshop};
use crate::http::{AppError, AppState};
use crate::store::query::{EventRow, JobStateRow};
use crate::store::to_us;

/// The most events one page shows; a job has a few dozen.
const MAX_EVENTS: i64 = 5_000;

/// A fact in words: what happened, and the details.
pub fn fact_words(fact: &Fact, workshop: &Workshop) -> (String, String) {
    let stage = |s: &touchstone_model::ids::StageId| workshop.stage_name(s.as_str());
    match fact {
        Fact::SignedIn {} => ("Signed in".into(), String::new()),
        Fact::SignedOut { reason } => ("Signed out".into(), format!("{reason:?}").to_lowercase()),
        Fact::StageStarted { stage: s } => (format!("Started {}", stage(s)), "took custody".into()),
        Fact::StageFinished { stage: s } => (format!("Finished {}", stage(s)), "handed on".into()),
        Fact::JobHeld { reason, note } => {
            let reason = format!("{reason:?}");
            let mut words = String::new();
            for (i, c) in reason.chars().enumerate() {
                if c.is_uppercase() && i > 0 {
                    words.push(' ');
                }
                words.push(c.to_ascii_lowercase());
            }
            let detail = if note.is_empty() { words } else { format!("{words}: {note}") };
            ("Put on hold".into(), detail)
        }
        Fact::JobReleased {} => ("Released from hold".into(), String::new()),
        Fact::WeightRecorded(w) => {
            let purpose = purpose_words(w.purpose);
            let stability = match w.stability {
                Stability::Stable => "stable",
                Stability::Settled => "settled",
                Stability::Unstable => "UNSTABLE",
            };
            let balance = [
                Some(w.balance.protocol.as_str()),
                w.balance.model.as_deref(),
                w.balance.serial.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
            let mut detail = format!(
                "{} ({} {} as read, {stability}, balance {balance})",
                format_grams(w.grams),
                w.value,
                w.unit
            );
            if let Some(s) = &w.stage {
                detail.push_str(&format!(", {}", stage(s)));
            }
            (format!("Weighed: {purpose}"), detail)
        }
        Fact::StoneIssued(m) => ("Stone issued".into(), movement_words(m)),
        Fact::StoneReturned(m) => ("Stone returned".into(), movement_words(m)),
        Fact::Note { text } => ("Note".into(), text.clone()),
        Fact::Override { supervisor, refusal } => (
            "Supervisor override".into(),
            format!("{} allowed: {refusal}", workshop.operator_name(supervisor.as_str())),
        ),
    }
}

fn purpose_words(purpose: WeightPurpose) -> &'static str {
    match purpose {
        WeightPurpose::Issue => "metal issued",
        WeightPurpose::Receipt => "metal received",
        WeightPurpose::ScrapReturn => "scrap returned",
        WeightPurpose::TreeWax => "wax tree",
        WeightPurpose::TreeCharged => "metal charged to a tree",
        WeightPurpose::TreeCast => "cast tree",
        WeightPurpose::TreePiece => "piece cut from a tree",
        WeightPurpose::SprueReturn => "sprue returned",
        WeightPurpose::CheckWeight => "check weight",
        WeightPurpose::Sweeps => "sweeps",
    }
}

fn movement_words(m: &StoneMovement) -> String {
    match m {
        StoneMovement::Stone { id, broken } => {
            format!("{id}{}", if *broken { ", broken" } else { "" })
        }
        StoneMovement::Packet { id, count, carat, broken } => {
            let carat = carat.map(|c| format!(", {c} ct")).unwrap_or_default();
            format!("{count} from packet {id}{carat}{}", if *broken { ", broken" } else { "" })
        }
    }
}

/// The chain of custody: every event in order.
pub fn timeline(
    events: &[EventRow],
    anomalies: &[crate::store::query::AnomalyRow],
    workshop: &Workshop,
) -> Table {
    let rows = events
        .iter()
        .map(|row| {
            let decoded = StationId::new(row.station.clone())
                .ok()
                .and_then(|station| decode_event(&station, row.payload.as_bytes()).ok());
            let (what, detail) = match &decoded {
                Some(event) => fact_words(&event.fact, workshop),
                None => ("(unreadable)".into(), "the stored event does not decode".into()),
            };
            let flags: Vec<String> = anomalies
                .iter()
                .filter(|a| a.event_id == row.event_id)
                .map(|a| format!("{}: {}", a.kind.replace('_', " "), a.detail))
                .collect();
            let mut flag_cell = Cell::text(flags.join("; "));
            if !flags.is_empty() {
                flag_cell = flag_cell.class("bad");
            }
            vec![
                Cell::time(row.recorded_us),
                Cell::time(row.received_us),
                Cell::text(workshop.station_name(&row.station)),
                Cell::text(
                    row.operator.as_deref().map(|o| workshop.operator_name(o)).unwrap_or_default(),
                ),
                Cell::text(what),
                Cell::text(detail),
                flag_cell,
            ]
        })
        .collect();
    Table {
        id: "timeline",
        columns: vec![
            Column::text("At the bench"),
            Column::text("Stored"),
            Column::text("Station"),
            Column::text("Who"),
            Column::text("What"),
            Column::text("Detail"),
            Column::text("Flagged"),
        ],
        rows,
        empty: "No event has concerned this job yet.",
    }
}

fn route(job: &Job, state: Option<&JobStateRow>, workshop: &Workshop) -> Markup {
    let current = state.and_then(|s| s.stage.clone());
    let in_progress = state.is_some_and(|s| s.in_progress);
    let at = current.as_deref().and_then(|c| job.route.iter().position(|s| s.as_str() == c));
    html! {
        ol.route {
            @for (i, stage) in job.route.iter().enumerate() {
                @let class = match at {
                    Some(at) if i < at || (i == at && !in_progress) => "done",
                    Some(at) if i == at => "now",
                    _ => "todo",
                };
                li class=(class) { (workshop.stage_name(stage.as_str())) }
            }
        }
    }
}

fn components(job: &Job) -> Markup {
    html! {
        @if !job.components.is_empty() {
            ul.components {
                @for c in &job.components {
                    li { (component_words(c)) }
                }
            }
        }
    }
}

fn component_words(component: &Component) -> String {
    let text = serde_json::to_value(component).unwrap_or_default();
    let field = |name: &str| {
        text.get(name).and_then(|v| {
            v.as_str().map(str::to_owned).or_else(|| (!v.is_null()).then(|| v.to_string()))
        })
    };
    let mut parts: Vec<String> =
        ["id", "shape", "carat", "color", "clarity", "lab", "certificate", "count", "description"]
            .iter()
            .filter_map(|name| {
                field(name).map(|v| if *name == "carat" { format!("{v} ct") } else { v })
            })
            .collect();
    if let Some(kind) = text.get("kind").and_then(|v| v.as_str()) {
        parts.insert(0, kind.to_owned());
    }
    parts.join(" · ")
}

/// `GET /jobs/{id}`
pub async fn page(
    State(state): State<AppState>,
    request: PageRequest,
    Path(id): Path<String>,
) -> Response {
    let id = JobId::new(id).map_err(|err| AppError::BadRequest(err.to_string()));
    request.answer(async { build(&state, &id?, request.query()).await }.await)
}

async fn build(state: &AppState, id: &JobId, query: &str) -> PageResult {
    let store = &state.store;
    let workshop = Workshop::load(state).await?;
    let job = store.job(id).await?;
    let events = store.events_after(Some(id), 0, MAX_EVENTS).await?;
    let Some(job) = job else {
        if events.is_empty() {
            return Err(AppError::NotFound(format!("There is no job {id}.")));
        }
        let ids: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
        let anomalies = store.anomalies_of_events(&ids).await?;
        let table = timeline(&events, &anomalies, &workshop);
        let body = html! {
            p.alert {
                "This job is not in the master data: its events are kept, but the workshop "
                "never imported it."
            }
            (table.html(query))
        };
        return Ok(Page::new(format!("Job {id}"), Nav::Other, body, vec![table]));
    };
    let row = store.job_state(id).await?;
    let ids: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
    let anomalies = store.anomalies_of_events(&ids).await?;
    let alloy = workshop.alloys.get(job.alloy.as_str());
    let now = Utc::now();
    let progress = touchstone_model::rules::JobProgress {
        stage: row.as_ref().and_then(|r| r.stage.as_deref()).and_then(|s| s.parse().ok()),
        in_progress: row.as_ref().is_some_and(|r| r.in_progress),
        held: row.as_ref().is_some_and(|r| r.held),
    };
    let late = job.due < now.date_naive() && !progress.is_complete(&job);

    let metal_rows = store
        .metal_totals(id)
        .await?
        .into_iter()
        .map(|t| {
            let grams: Grams = t.grams.parse().unwrap_or_default();
            let fine = alloy.map(|a| a.fine_weight(grams));
            vec![
                Cell::text(if t.stage.is_empty() {
                    String::new()
                } else {
                    workshop.stage_name(&t.stage)
                }),
                Cell::text(workshop.operator_name(&t.operator)),
                Cell::text(t.purpose.replace('_', " ")),
                Cell::count(t.weighings),
                Cell::grams(grams),
                fine.map_or_else(|| Cell::text(""), Cell::grams),
            ]
        })
        .collect();
    let metal = Table {
        id: "metal",
        columns: vec![
            Column::text("Stage"),
            Column::text("Who"),
            Column::text("Purpose"),
            Column::number("Weighings"),
            Column::number("Gross"),
            Column::number("Fine"),
        ],
        rows: metal_rows,
        empty: "Nothing weighed yet.",
    };
    let now_us = to_us(now);
    let visit_rows = store
        .stage_visits(id)
        .await?
        .into_iter()
        .map(|v| {
            let took = match v.finished_us {
                Some(end) => format_age(end, v.started_us),
                None => format!("{} so far", format_age(now_us, v.started_us)),
            };
            vec![
                Cell::text(workshop.stage_name(&v.stage)),
                Cell::text(workshop.station_name(&v.station)),
                Cell::text(
                    v.operator.as_deref().map(|o| workshop.operator_name(o)).unwrap_or_default(),
                ),
                Cell::time(v.started_us),
                v.finished_us.map_or_else(|| Cell::text("in progress"), Cell::time),
                Cell::text(took),
            ]
        })
        .collect();
    let visits = Table {
        id: "visits",
        columns: vec![
            Column::text("Stage"),
            Column::text("Station"),
            Column::text("Who"),
            Column::text("Started"),
            Column::text("Finished"),
            Column::text("Took"),
        ],
        rows: visit_rows,
        empty: "No stage started yet.",
    };
    let timeline = timeline(&events, &anomalies, &workshop);
    let holder = row.as_ref().and_then(|r| r.holder.as_deref()).map(|h| workshop.operator_name(h));
    let body = html! {
        div.jobhead {
            p.lead { (job.description) }
            dl.facts {
                dt { "Customer" } dd { (job.customer_ref) }
                dt { "Alloy" }
                dd { (alloy.map_or_else(|| job.alloy.to_string(), |a| a.name.clone())) }
                dt { "Due" } dd.bad[late] { (job.due.format("%d %b %Y")) @if late { " (late)" } }
                dt { "CAD" } dd {
                    @match (&job.approved_cad, job.cad_is_approved()) {
                        (Some(rev), true) => { "revision " (rev.0) " approved" },
                        (Some(rev), false) => {
                            span.warn { "revision " (rev.0) " approved, a newer one is not" }
                        },
                        (None, _) => { span.warn { "no approved revision" } },
                    }
                }
                dt { "Now" } dd {
                    @match &row {
                        Some(r) => {
                            (r.stage.as_deref().map(|s| workshop.stage_name(s)).unwrap_or_default())
                            (if r.in_progress { " in progress" } else { " finished" })
                            @if r.held { span.bad { ", on hold" } }
                            @if let Some(h) = &holder { ", held by " (h) }
                        },
                        None => { "not started" },
                    }
                }
                @if let Some(expected) = job.expected_grams {
                    dt { "Expected" } dd { (format_grams(expected)) }
                }
                @if !job.notes.is_empty() {
                    dt { "Notes" } dd { (job.notes) }
                }
            }
            (route(&job, row.as_ref(), &workshop))
            (components(&job))
            p.noprint { button type="button" data-print { "Print" } }
        }
        h2 { "Chain of custody" }
        (timeline.html(query))
        h2 { "Metal" }
        (metal.html(query))
        h2 { "Stage visits" }
        (visits.html(query))
    };
    Ok(Page::new(format!("Job {id}"), Nav::Other, body, vec![timeline, metal, visits]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::tests::workshop;

    #[test]
    fn facts_read_as_workshop_words() {
        let workshop = workshop();
        let held: Fact = serde_json::from_value(serde_json::json!({
            "type": "job_held", "reason": "missing_parts", "note": "side stones"
        }))
        .unwrap();
        assert_eq!(
            fact_words(&held, &workshop),
            ("Put on hold".into(), "missing parts: side stones".into())
        );
        let started: Fact = serde_json::from_value(
            serde_json::json!({"type": "stage_started", "stage": "casting"}),
        )
        .unwrap();
        assert_eq!(fact_words(&started, &workshop).0, "Started Casting");
    }
}

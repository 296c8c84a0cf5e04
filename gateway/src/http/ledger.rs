//! The ledger as read by machines and managers: the ordered event feed, dead letters,
//! anomalies, and the stations' health.
//!
//! The feed is the ERP's contract: events in cursor order, each exactly once, resumable
//! after any cursor. `next_after` is the last cursor of the page, or the `after` given when
//! the page is empty, so a client can always poll with the value it got back.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use base64::Engine;
use serde::Serialize;
use serde::ser::Error as _;
use serde_json::value::RawValue;
use touchstone_model::workshop::Station;

use super::AppState;
use super::error::AppError;
use super::params::{self, PageParams};

/// One item of the feed.
#[derive(Debug, Serialize)]
pub(super) struct FeedItem {
    cursor: i64,
    received_at: String,
    event: Box<RawValue>,
}

/// A page of the feed.
#[derive(Debug, Serialize)]
pub(super) struct Feed {
    events: Vec<FeedItem>,
    next_after: i64,
}

/// `GET /api/v1/events`
pub(super) async fn events(
    State(state): State<AppState>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<Feed>, AppError> {
    let page = params::query(query)?.page("a cursor")?;
    let rows = state.store.events_after(None, page.after, page.limit).await?;
    let next_after = rows.last().map_or(page.after, |r| r.cursor);
    let events = rows
        .into_iter()
        .map(|row| {
            // The payload is the wire JSON the gateway encoded itself; passing it through
            // unparsed keeps every digit exactly as stored.
            let event = RawValue::from_string(row.payload).map_err(|err| {
                AppError::Internal(
                    format!(
                        "stored event {} is not JSON: {}",
                        row.event_id,
                        serde_json::Error::custom(err)
                    )
                    .into(),
                )
            })?;
            Ok(FeedItem { cursor: row.cursor, received_at: params::time(row.received_us), event })
        })
        .collect::<Result<_, AppError>>()?;
    Ok(Json(Feed { events, next_after }))
}

/// One dead letter.
#[derive(Debug, Serialize)]
pub(super) struct DeadLetter {
    id: i64,
    received_at: String,
    topic: String,
    reason: String,
    /// `utf8` when the payload is text, `base64` otherwise.
    encoding: &'static str,
    payload: String,
}

/// A page of dead letters.
#[derive(Debug, Serialize)]
pub(super) struct DeadLetters {
    dead_letters: Vec<DeadLetter>,
    next_after: i64,
}

/// `GET /api/v1/dead-letters`
pub(super) async fn dead_letters(
    State(state): State<AppState>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<DeadLetters>, AppError> {
    let page = params::query(query)?.page("a dead letter id")?;
    let rows = state.store.dead_letters_after(page.after, page.limit).await?;
    let next_after = rows.last().map_or(page.after, |r| r.id);
    let dead_letters = rows
        .into_iter()
        .map(|row| {
            let (encoding, payload) = match String::from_utf8(row.payload) {
                Ok(text) => ("utf8", text),
                Err(err) => {
                    ("base64", base64::engine::general_purpose::STANDARD.encode(err.into_bytes()))
                }
            };
            DeadLetter {
                id: row.id,
                received_at: params::time(row.received_us),
                topic: row.topic,
                reason: row.reason,
                encoding,
                payload,
            }
        })
        .collect();
    Ok(Json(DeadLetters { dead_letters, next_after }))
}

/// One anomaly.
#[derive(Debug, Serialize)]
pub(super) struct Anomaly {
    id: i64,
    event_id: String,
    station: String,
    job: Option<String>,
    kind: String,
    detail: String,
    created_at: String,
}

/// A page of anomalies.
#[derive(Debug, Serialize)]
pub(super) struct Anomalies {
    anomalies: Vec<Anomaly>,
    next_after: i64,
}

/// `GET /api/v1/anomalies`
pub(super) async fn anomalies(
    State(state): State<AppState>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<Anomalies>, AppError> {
    let page = params::query(query)?.page("an anomaly id")?;
    let rows = state.store.anomalies_after(page.after, page.limit).await?;
    let next_after = rows.last().map_or(page.after, |r| r.id);
    let anomalies = rows
        .into_iter()
        .map(|a| Anomaly {
            id: a.id,
            event_id: a.event_id,
            station: a.station,
            job: a.job,
            kind: a.kind,
            detail: a.detail,
            created_at: params::time(a.created_us),
        })
        .collect();
    Ok(Json(Anomalies { anomalies, next_after }))
}

/// A station: its master data and its last reported state.
#[derive(Debug, Serialize)]
pub(super) struct StationView {
    id: String,
    /// Absent when the station sent events but is not in the master data.
    name: Option<String>,
    stages: Vec<String>,
    in_master_data: bool,
    online: bool,
    last_heartbeat_at: Option<String>,
    last_event_at: Option<String>,
    last_seq: i64,
    backlog: i64,
    balance: Option<String>,
    balance_detail: Option<String>,
    version: Option<String>,
    operator: Option<String>,
}

/// Every station.
#[derive(Debug, Serialize)]
pub(super) struct Stations {
    stations: Vec<StationView>,
}

/// `GET /api/v1/stations`
pub(super) async fn stations(State(state): State<AppState>) -> Result<Json<Stations>, AppError> {
    let master = state.store.list::<Station>().await?;
    let mut states = state.store.station_states().await?;
    let mut stations = Vec::with_capacity(master.len());
    for station in master {
        let found = states.iter().position(|s| s.station == station.id.as_str());
        let live = found.map(|i| states.swap_remove(i));
        stations.push(view(station.id.to_string(), Some(station), live));
    }
    for live in states {
        stations.push(view(live.station.clone(), None, Some(live)));
    }
    stations.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Json(Stations { stations }))
}

fn view(
    id: String,
    station: Option<Station>,
    live: Option<crate::store::query::StationStateRow>,
) -> StationView {
    let in_master_data = station.is_some();
    let (name, stages) = match station {
        Some(s) => (Some(s.name), s.stages.iter().map(ToString::to_string).collect()),
        None => (None, Vec::new()),
    };
    let live = live.as_ref();
    StationView {
        id,
        name,
        stages,
        in_master_data,
        online: live.is_some_and(|l| l.online),
        last_heartbeat_at: live.and_then(|l| l.last_status_us).map(params::time),
        last_event_at: live.and_then(|l| l.last_event_us).map(params::time),
        last_seq: live.map_or(0, |l| l.last_seq),
        backlog: live.map_or(0, |l| l.backlog),
        balance: live.and_then(|l| l.balance.clone()),
        balance_detail: live.and_then(|l| l.balance_detail.clone()),
        version: live.and_then(|l| l.version.clone()),
        operator: live.and_then(|l| l.operator.clone()),
    }
}

//! Jobs: the list with where each stands, one job's whole picture (master data, state,
//! metal, visits), and its timeline of events.
//!
//! "Late" means the due date has passed (in UTC) and the job has not finished the last stage
//! of its route. Fine grams use the job's alloy's fineness; a weighing of another alloy
//! (sweeps, a tree) is still counted at the job's fineness, because the totals do not keep
//! the alloy apart.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use touchstone_model::ids::StageId;
use touchstone_model::metal::{Alloy, Fineness, Grams};
use touchstone_model::rules::JobProgress;
use touchstone_model::workshop::Job;

use super::AppState;
use super::error::AppError;
use super::params::{self, PageParams};
use crate::store::query::{JobFilter, JobStateRow};

/// The default and largest number of jobs per page.
const JOB_PAGE: (i64, i64) = (500, 5000);

/// Query parameters of the job list.
#[derive(Debug, Default, Deserialize)]
pub(super) struct JobListParams {
    stage: Option<String>,
    station: Option<String>,
    q: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// Where a job stands.
#[derive(Debug, Serialize)]
pub(super) struct JobState {
    stage: Option<String>,
    in_progress: bool,
    held: bool,
    station: Option<String>,
    holder: Option<String>,
    last_event_at: Option<String>,
    next_stage: Option<String>,
    complete: bool,
    late: bool,
    cad_approved: bool,
}

impl JobState {
    fn new(job: &Job, row: Option<&JobStateRow>, today: NaiveDate) -> JobState {
        let progress = JobProgress {
            stage: row.and_then(|r| r.stage.as_deref()).and_then(|s| StageId::new(s).ok()),
            in_progress: row.is_some_and(|r| r.in_progress),
            held: row.is_some_and(|r| r.held),
        };
        let complete = progress.is_complete(job);
        JobState {
            stage: row.and_then(|r| r.stage.clone()),
            in_progress: progress.in_progress,
            held: progress.held,
            station: row.and_then(|r| r.station.clone()),
            holder: row.and_then(|r| r.holder.clone()),
            last_event_at: row.map(|r| params::time(r.last_event_us)),
            next_stage: progress.next_stage(job).map(ToString::to_string),
            complete,
            late: !complete && job.due < today,
            cad_approved: job.cad_is_approved(),
        }
    }
}

/// One job in the list.
#[derive(Debug, Serialize)]
pub(super) struct JobSummary {
    id: String,
    customer_ref: String,
    description: String,
    alloy: String,
    due: NaiveDate,
    #[serde(flatten)]
    state: JobState,
}

/// A page of the job list.
#[derive(Debug, Serialize)]
pub(super) struct JobList {
    jobs: Vec<JobSummary>,
    next_after: Option<String>,
}

/// `GET /api/v1/jobs`
pub(super) async fn list(
    State(state): State<AppState>,
    query: Result<Query<JobListParams>, QueryRejection>,
) -> Result<Json<JobList>, AppError> {
    let query = params::query(query)?;
    let nonempty = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter = JobFilter {
        stage: nonempty(query.stage),
        station: nonempty(query.station),
        q: nonempty(query.q),
        after: nonempty(query.after),
        limit: params::limit(query.limit.as_deref(), JOB_PAGE.0, JOB_PAGE.1)?,
    };
    let rows = state.store.job_overview(&filter).await?;
    let today = Utc::now().date_naive();
    let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= filter.limit;
    let next_after = if full { rows.last().map(|(job, _)| job.id.to_string()) } else { None };
    let jobs = rows
        .iter()
        .map(|(job, row)| JobSummary {
            id: job.id.to_string(),
            customer_ref: job.customer_ref.clone(),
            description: job.description.clone(),
            alloy: job.alloy.to_string(),
            due: job.due,
            state: JobState::new(job, row.as_ref(), today),
        })
        .collect();
    Ok(Json(JobList { jobs, next_after }))
}

/// One summed metal movement.
#[derive(Debug, Serialize)]
pub(super) struct MetalTotal {
    stage: Option<String>,
    operator: Option<String>,
    purpose: String,
    grams: Grams,
    fine_grams: Option<Grams>,
    weighings: i64,
}

/// One visit to a stage.
#[derive(Debug, Serialize)]
pub(super) struct Visit {
    stage: String,
    station: String,
    operator: Option<String>,
    started_at: String,
    finished_at: Option<String>,
}

/// A job's whole picture.
#[derive(Debug, Serialize)]
pub(super) struct JobDetail {
    job: Job,
    state: JobState,
    fineness: Option<Fineness>,
    metal: Vec<MetalTotal>,
    visits: Vec<Visit>,
}

/// `GET /api/v1/jobs/{id}`
pub(super) async fn detail(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<JobDetail>, AppError> {
    let id = params::job_id(path)?;
    let store = &state.store;
    let Some(job) = store.job(&id).await? else {
        return Err(AppError::NotFound(format!("no job `{id}`")));
    };
    let row = store.job_state(&id).await?;
    let alloys = store.list::<Alloy>().await?;
    let fineness = alloys.iter().find(|a| a.code == job.alloy).map(|a| a.fineness);
    let mut metal = Vec::new();
    for total in store.metal_totals(&id).await? {
        let grams: Grams = total.grams.parse().map_err(|err: rust_decimal::Error| {
            AppError::Internal(format!("stored grams `{}` of job {id}: {err}", total.grams).into())
        })?;
        let blank = |s: String| (!s.is_empty()).then_some(s);
        metal.push(MetalTotal {
            stage: blank(total.stage),
            operator: blank(total.operator),
            purpose: total.purpose,
            fine_grams: fineness.map(|f| f.fine_weight(grams)),
            grams,
            weighings: total.weighings,
        });
    }
    let visits = store
        .stage_visits(&id)
        .await?
        .into_iter()
        .map(|v| Visit {
            stage: v.stage,
            station: v.station,
            operator: v.operator,
            started_at: params::time(v.started_us),
            finished_at: v.finished_us.map(params::time),
        })
        .collect();
    let state = JobState::new(&job, row.as_ref(), Utc::now().date_naive());
    Ok(Json(JobDetail { job, state, fineness, metal, visits }))
}

/// An anomaly attached to a timeline entry.
#[derive(Debug, Serialize)]
pub(super) struct TimelineAnomaly {
    id: i64,
    kind: String,
    detail: String,
    created_at: String,
}

/// One event of a job's timeline.
#[derive(Debug, Serialize)]
pub(super) struct TimelineEntry {
    cursor: i64,
    event_id: String,
    received_at: String,
    recorded_at: String,
    station: String,
    operator: Option<String>,
    fact: Value,
    anomalies: Vec<TimelineAnomaly>,
}

/// A page of a job's timeline.
#[derive(Debug, Serialize)]
pub(super) struct Timeline {
    job: String,
    events: Vec<TimelineEntry>,
    next_after: i64,
}

/// `GET /api/v1/jobs/{id}/timeline`
pub(super) async fn timeline(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<Timeline>, AppError> {
    let id = params::job_id(path)?;
    let page = params::query(query)?.page("a cursor")?;
    let store = &state.store;
    let rows = store.events_after(Some(&id), page.after, page.limit).await?;
    if rows.is_empty() && page.after == 0 && !store.job_exists(&id).await? {
        return Err(AppError::NotFound(format!("no job `{id}`")));
    }
    let ids: Vec<String> = rows.iter().map(|r| r.event_id.clone()).collect();
    let mut anomalies = store.anomalies_of_events(&ids).await?;
    let next_after = rows.last().map_or(page.after, |r| r.cursor);
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let mut wire: Value = serde_json::from_str(&row.payload).map_err(|err| {
            AppError::Internal(
                format!("stored event {} does not decode: {err}", row.event_id).into(),
            )
        })?;
        let fact = wire.get_mut("fact").map(Value::take).unwrap_or(Value::Null);
        let (mine, rest): (Vec<_>, Vec<_>) =
            anomalies.into_iter().partition(|a| a.event_id == row.event_id);
        anomalies = rest;
        events.push(TimelineEntry {
            cursor: row.cursor,
            event_id: row.event_id,
            received_at: params::time(row.received_us),
            recorded_at: params::time(row.recorded_us),
            station: row.station,
            operator: row.operator,
            fact,
            anomalies: mine
                .into_iter()
                .map(|a| TimelineAnomaly {
                    id: a.id,
                    kind: a.kind,
                    detail: a.detail,
                    created_at: params::time(a.created_us),
                })
                .collect(),
        });
    }
    Ok(Json(Timeline { job: id.to_string(), events, next_after }))
}

//! Search by job number, customer reference, stone or certificate number, or person; and the
//! open jobs at one stage or station, which the floor board links to.

use axum::extract::State;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::late::position;
use super::view::{Cell, Column, Nav, Page, Table};
use super::{PageRequest, PageResult, Params, Workshop};
use crate::http::{AppError, AppState};
use crate::store::dashboard::OpenJob;
use crate::store::query::JobFilter;

/// The most jobs a search lists.
const MAX_RESULTS: i64 = 100;

/// The page's query.
#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    stage: Option<String>,
    station: Option<String>,
}

fn open_job_table(id: &'static str, jobs: &[&OpenJob], workshop: &Workshop) -> Table {
    let rows = jobs
        .iter()
        .map(|j| {
            vec![
                Cell::text(j.job_id.clone()).link(format!("/jobs/{}", j.job_id)),
                Cell::text(j.customer_ref.clone()),
                Cell::text(j.description.clone()),
                Cell::text(position(j, workshop)),
                Cell::text(
                    j.holder.as_deref().map(|h| workshop.operator_name(h)).unwrap_or_default(),
                ),
                Cell::text(j.due.format("%d %b %Y").to_string()),
            ]
        })
        .collect();
    Table {
        id,
        columns: ["Job", "Customer", "Description", "Where", "Held by", "Due"]
            .into_iter()
            .map(Column::text)
            .collect(),
        rows,
        empty: "No open job here.",
    }
}

/// `GET /search`
pub async fn page(
    State(state): State<AppState>,
    request: PageRequest,
    Params(params): Params<SearchQuery>,
) -> Response {
    request.answer(async { build(&state, &params?, request.query()).await }.await)
}

async fn build(state: &AppState, params: &SearchQuery, query: &str) -> PageResult {
    let workshop = Workshop::load(state).await?;
    let q = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > 100) {
        return Err(AppError::BadRequest("a search is at most 100 characters".into()));
    }

    if let Some(stage) = params.stage.as_deref().filter(|s| !s.is_empty()) {
        let jobs = state.store.open_jobs().await?;
        let here: Vec<&OpenJob> = jobs
            .iter()
            .filter(|j| j.current_or_next().is_some_and(|s| s.as_str() == stage))
            .collect();
        let table = open_job_table("jobs", &here, &workshop);
        let body = html! { (table.html(query)) };
        return Ok(Page::new(
            format!("Open jobs at {}", workshop.stage_name(stage)),
            Nav::Other,
            body,
            vec![table],
        ));
    }
    if let Some(station) = params.station.as_deref().filter(|s| !s.is_empty()) {
        let jobs = state.store.open_jobs().await?;
        let here: Vec<&OpenJob> = jobs
            .iter()
            .filter(|j| j.in_progress && j.station.as_deref() == Some(station))
            .collect();
        let table = open_job_table("jobs", &here, &workshop);
        let body = html! { (table.html(query)) };
        return Ok(Page::new(
            format!("Jobs in progress at {}", workshop.station_name(station)),
            Nav::Other,
            body,
            vec![table],
        ));
    }

    let Some(q) = q else {
        let body = html! {
            form.searchbig method="get" action="/search" role="search" {
                input type="search" name="q" autofocus aria-label="Search"
                    placeholder="Job, customer, stone or certificate, person";
                button.primary type="submit" { "Search" }
            }
        };
        return Ok(Page::new("Search", Nav::Other, body, vec![]));
    };

    let filter = JobFilter { q: Some(q.to_owned()), limit: MAX_RESULTS, ..JobFilter::default() };
    let found = state.store.job_overview(&filter).await?;
    let today = chrono::Utc::now().date_naive();
    let job_rows = found
        .iter()
        .map(|(job, row)| {
            let place = match row {
                Some(r) => {
                    let stage =
                        r.stage.as_deref().map(|s| workshop.stage_name(s)).unwrap_or_default();
                    format!("{stage}{}", if r.in_progress { " (working)" } else { " (finished)" })
                }
                None => "not started".into(),
            };
            let due = Cell::text(job.due.format("%d %b %Y").to_string());
            vec![
                Cell::text(job.id.to_string()).link(format!("/jobs/{}", job.id)),
                Cell::text(job.customer_ref.clone()),
                Cell::text(job.description.clone()),
                Cell::text(place),
                if job.due < today { due.class("muted") } else { due },
            ]
        })
        .collect();
    let jobs = Table {
        id: "jobs",
        columns: ["Job", "Customer", "Description", "Last stage", "Due"]
            .into_iter()
            .map(Column::text)
            .collect(),
        rows: job_rows,
        empty: "No job, customer, stone or certificate matches.",
    };
    let needle = q.to_lowercase();
    let open = state.store.open_jobs().await?;
    let mut people: Vec<_> = workshop
        .operators
        .values()
        .filter(|o| {
            o.name.to_lowercase().contains(&needle)
                || o.badge.as_str().eq_ignore_ascii_case(q)
                || o.id.as_str().eq_ignore_ascii_case(q)
        })
        .collect();
    people.sort_by(|a, b| a.name.cmp(&b.name));
    let people_rows = people
        .iter()
        .map(|o| {
            let holding: Vec<String> = open
                .iter()
                .filter(|j| j.in_progress && j.holder.as_deref() == Some(o.id.as_str()))
                .map(|j| j.job_id.clone())
                .collect();
            vec![
                Cell::text(o.name.clone()),
                Cell::text(format!("{:?}", o.role).to_lowercase()),
                Cell::text(o.badge.to_string()),
                Cell::text(holding.join(", ")),
            ]
        })
        .collect();
    let people = Table {
        id: "people",
        columns: ["Name", "Role", "Badge", "Working on"].into_iter().map(Column::text).collect(),
        rows: people_rows,
        empty: "No person matches.",
    };
    let body = html! {
        form.searchbig method="get" action="/search" role="search" {
            input type="search" name="q" value=(q) aria-label="Search";
            button.primary type="submit" { "Search" }
        }
        h2 { "Jobs" }
        (jobs.html(query))
        h2 { "People" }
        (people.html(query))
    };
    Ok(Page::new(format!("Search: {q}"), Nav::Other, body, vec![jobs, people]))
}

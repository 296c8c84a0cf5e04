//! Late, at risk and silent jobs.
//!
//! Late: past its due date and not finished. At risk: not late yet, but its remaining stages
//! at their median times over the last 30 days end after the due date (the stage in progress
//! counts what is left of its median). Silent: started, not on hold, and no scan for the
//! chosen number of hours. Due dates are whole days: a job due today is late tomorrow.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use maud::html;
use serde::Deserialize;

use super::view::{Cell, Column, Nav, Page, Table, format_age, format_time};
use super::{PageRequest, PageResult, Params, Workshop};
use crate::http::{AppError, AppState};
use crate::store::dashboard::OpenJob;
use crate::store::{stats, to_us};

/// The page's query.
#[derive(Debug, Default, Deserialize)]
pub struct LateQuery {
    hours: Option<String>,
}

/// The default hours without a scan before a job counts as silent.
pub const SILENT_HOURS: i64 = 4;

/// A job at risk and when it would finish at the usual pace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtRisk<'a> {
    /// The job.
    pub job: &'a OpenJob,
    /// When it would finish, microseconds.
    pub projected_us: i64,
}

/// The three lists.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Lists<'a> {
    /// Past due, most overdue first.
    pub late: Vec<&'a OpenJob>,
    /// Due in time only on paper, soonest due first.
    pub at_risk: Vec<AtRisk<'a>>,
    /// No scan for a while, longest silent first.
    pub silent: Vec<&'a OpenJob>,
}

/// The end of a due date, in microseconds: midnight UTC after it.
fn due_end_us(due: NaiveDate) -> i64 {
    due.succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)).map_or(i64::MAX, |d| to_us(d.and_utc()))
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// When `job` would finish if each remaining stage took its median time.
pub fn projected_finish(job: &OpenJob, medians: &HashMap<String, Duration>, now_us: i64) -> i64 {
    let mut at = now_us;
    for (i, stage) in job.remaining().iter().enumerate() {
        let median = medians.get(stage.as_str()).map_or(0, |d| micros(*d));
        if i == 0 && job.in_progress {
            at += (median - (now_us - job.since_us)).max(0);
        } else {
            at += median;
        }
    }
    at
}

/// Sorts the open jobs into the three lists.
pub fn lists<'a>(
    jobs: &'a [OpenJob],
    medians: &HashMap<String, Duration>,
    now_us: i64,
    silent_after: Duration,
) -> Lists<'a> {
    let today = crate::store::from_us(now_us).date_naive();
    let mut lists = Lists::default();
    for job in jobs {
        if job.due < today {
            lists.late.push(job);
        } else {
            let projected_us = projected_finish(job, medians, now_us);
            if projected_us > due_end_us(job.due) {
                lists.at_risk.push(AtRisk { job, projected_us });
            }
        }
        if !job.held && job.last_event_us.is_some_and(|us| now_us - us > micros(silent_after)) {
            lists.silent.push(job);
        }
    }
    lists.late.sort_by_key(|j| (j.due, j.job_id.clone()));
    lists.at_risk.sort_by_key(|r| (r.job.due, r.job.job_id.clone()));
    lists.silent.sort_by_key(|j| (j.last_event_us, j.job_id.clone()));
    lists
}

/// Where a job is, in words: "Casting (working)", "waiting for Polishing".
pub fn position(job: &OpenJob, workshop: &Workshop) -> String {
    let hold = if job.held { ", on hold" } else { "" };
    match job.current_or_next() {
        Some(stage) if job.in_progress => {
            format!("{} (working{hold})", workshop.stage_name(stage.as_str()))
        }
        Some(stage) => format!("waiting for {}{hold}", workshop.stage_name(stage.as_str())),
        None => format!("past its route{hold}"),
    }
}

fn job_cells(job: &OpenJob, workshop: &Workshop) -> Vec<Cell> {
    vec![
        Cell::text(job.job_id.clone()).link(format!("/jobs/{}", job.job_id)),
        Cell::text(job.customer_ref.clone()),
        Cell::text(job.description.clone()),
        Cell::text(position(job, workshop)),
        Cell::text(job.holder.as_deref().map(|h| workshop.operator_name(h)).unwrap_or_default()),
        Cell::text(job.due.format("%d %b %Y").to_string()),
    ]
}

fn job_columns() -> Vec<Column> {
    ["Job", "Customer", "Description", "Where", "Held by", "Due"]
        .into_iter()
        .map(Column::text)
        .collect()
}

/// The three tables.
pub fn tables(lists: &Lists<'_>, workshop: &Workshop, now_us: i64) -> Vec<Table> {
    let today = crate::store::from_us(now_us).date_naive();
    let mut late_columns = job_columns();
    late_columns.push(Column::number("Days late"));
    let late = lists
        .late
        .iter()
        .map(|job| {
            let mut row = job_cells(job, workshop);
            row.push(Cell::count((today - job.due).num_days()).class("bad"));
            row
        })
        .collect();
    let mut risk_columns = job_columns();
    risk_columns.push(Column::text("Would finish"));
    let at_risk = lists
        .at_risk
        .iter()
        .map(|r| {
            let mut row = job_cells(r.job, workshop);
            row.push(Cell::time(r.projected_us).class("warn"));
            row
        })
        .collect();
    let mut silent_columns = job_columns();
    silent_columns
        .extend([Column::text("Last scan"), Column::number("Silent for").csv("Silent hours")]);
    let silent = lists
        .silent
        .iter()
        .map(|job| {
            let last = job.last_event_us.unwrap_or_default();
            let mut row = job_cells(job, workshop);
            row.push(Cell::time(last));
            row.push(Cell::pair(
                format_age(now_us, last),
                ((now_us - last) / 3_600_000_000).to_string(),
            ));
            row
        })
        .collect();
    vec![
        Table { id: "late", columns: late_columns, rows: late, empty: "No job is late." },
        Table { id: "at-risk", columns: risk_columns, rows: at_risk, empty: "No job is at risk." },
        Table {
            id: "silent",
            columns: silent_columns,
            rows: silent,
            empty: "Every job has been scanned recently.",
        },
    ]
}

/// Median stage times over the 30 days before `now_us`.
pub async fn recent_medians(
    state: &AppState,
    now_us: i64,
) -> Result<HashMap<String, Duration>, AppError> {
    let today = stats::day_of(now_us);
    let period = stats::Period::Days { from: today - 29, to: today };
    let histograms = state.store.stage_histograms(period).await?;
    Ok(histograms
        .into_iter()
        .filter_map(|(stage, h)| stats::percentile(&h, 50).map(|m| (stage, m)))
        .collect())
}

/// `GET /late`
pub async fn page(
    State(state): State<AppState>,
    request: PageRequest,
    Params(params): Params<LateQuery>,
) -> Response {
    request.answer(async { build(&state, &params?, request.query()).await }.await)
}

async fn build(state: &AppState, params: &LateQuery, query: &str) -> PageResult {
    let hours = match params.hours.as_deref() {
        None | Some("") => SILENT_HOURS,
        Some(text) => text.parse().ok().filter(|h| (1..=720).contains(h)).ok_or_else(|| {
            AppError::BadRequest(format!(
                "hours must be a whole number from 1 to 720, not `{text}`"
            ))
        })?,
    };
    let workshop = Workshop::load(state).await?;
    let jobs = state.store.open_jobs().await?;
    let now_us = to_us(Utc::now());
    let medians = recent_medians(state, now_us).await?;
    let silent_after = Duration::from_secs(u64::try_from(hours).unwrap_or(4) * 3600);
    let lists = lists(&jobs, &medians, now_us, silent_after);
    let tables = tables(&lists, &workshop, now_us);
    let body = html! {
        div.cards {
            div.card.alert[!lists.late.is_empty()] {
                span.big { (lists.late.len()) } span { "late" }
            }
            div.card.warn[!lists.at_risk.is_empty()] {
                span.big { (lists.at_risk.len()) } span { "at risk" }
            }
            div.card { span.big { (lists.silent.len()) } span { "silent " (hours) " h or more" } }
        }
        h2 { "Late" }
        (tables[0].html(query))
        h2 { "At risk" }
        p.muted {
            "Not late yet, but its remaining stages at their median times of the last 30 days "
            "end after the due date."
        }
        (tables[1].html(query))
        h2 { "Silent" }
        form.inline method="get" action="/late" {
            label { "No scan for "
                select name="hours" data-autosubmit {
                    @for h in [1, 2, 4, 8, 24, 72] {
                        option value=(h) selected[h == hours] { (h) " h" }
                    }
                }
            }
            noscript { button type="submit" { "Show" } }
        }
        (tables[2].html(query))
        p.muted {
            "As of " time datetime=(super::view::rfc3339(now_us)) { (format_time(now_us)) } "."
        }
    };
    Ok(Page::new("Late and at risk", Nav::Late, body, tables))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::tests::open_job;

    const HOUR: i64 = 3_600_000_000;

    #[test]
    fn late_at_risk_and_silent_jobs_are_told_apart() {
        // 4 December 2026, noon UTC.
        let now = to_us("2026-12-04T12:00:00Z".parse::<chrono::DateTime<Utc>>().unwrap());
        let medians: HashMap<String, Duration> = [
            ("cad".to_owned(), Duration::from_secs(24 * 3600)),
            ("casting".to_owned(), Duration::from_secs(10 * 3600)),
            ("polishing".to_owned(), Duration::from_secs(5 * 3600)),
        ]
        .into();
        let mut late = open_job("J-late", Some("casting"), true);
        late.due = "2026-12-03".parse().unwrap();
        late.last_event_us = Some(now - HOUR);
        // Due today, with casting (10 h, 2 h spent) and polishing (5 h) left: 13 h from
        // noon ends tomorrow, after today's end.
        let mut risky = open_job("J-risk", Some("casting"), true);
        risky.due = "2026-12-04".parse().unwrap();
        risky.since_us = now - 2 * HOUR;
        risky.last_event_us = Some(now - 2 * HOUR);
        // Due today, only polishing left: 5 h from noon is still today.
        let mut fine = open_job("J-fine", Some("casting"), false);
        fine.due = "2026-12-04".parse().unwrap();
        fine.last_event_us = Some(now - 5 * HOUR);
        let mut held = open_job("J-held", Some("casting"), false);
        held.held = true;
        held.last_event_us = Some(now - 50 * HOUR);
        let jobs = [late, risky, fine, held];

        let lists = lists(&jobs, &medians, now, Duration::from_secs(4 * 3600));
        let ids = |v: &[&OpenJob]| v.iter().map(|j| j.job_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&lists.late), ["J-late"]);
        assert_eq!(lists.at_risk.len(), 1);
        assert_eq!(lists.at_risk[0].job.job_id, "J-risk");
        assert_eq!(lists.at_risk[0].projected_us, now + 8 * HOUR + 5 * HOUR);
        assert_eq!(ids(&lists.silent), ["J-fine"], "held jobs are expected to be silent");
    }

    #[test]
    fn a_job_not_started_has_its_whole_route_ahead() {
        let medians: HashMap<String, Duration> =
            [("cad".to_owned(), Duration::from_secs(3600))].into();
        let job = open_job("J-new", None, false);
        assert_eq!(projected_finish(&job, &medians, 0), HOUR, "stages without data count 0");
    }
}

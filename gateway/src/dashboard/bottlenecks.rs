//! Where work piles up: per stage, the median and p90 time of the visits finished in a
//! period, how many it finished a day, what is there now, and how many days of work that
//! is at its pace. The stage with the most days of work is the bottleneck and is marked.
//!
//! Times come from the daily or monthly histograms (within 2.5%, see
//! [`crate::store::stats`]).

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use maud::html;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::chart::{self, Series};
use super::view::{Cell, Column, Nav, Page, Table, format_duration};
use super::{PERIODS, PageRequest, PageResult, Params, Workshop, period_days};
use crate::http::AppState;
use crate::store::dashboard::OpenJob;
use crate::store::stats;

/// The page's query.
#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    /// 7, 30, 90 or 365.
    pub days: Option<String>,
}

/// One stage's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct StageFlow {
    /// The stage id.
    pub stage: String,
    /// Visits finished in the period.
    pub finished: i64,
    /// Median visit time.
    pub median: Option<Duration>,
    /// 90th percentile visit time.
    pub p90: Option<Duration>,
    /// Jobs being worked there now.
    pub working: usize,
    /// Jobs waiting for it now.
    pub waiting: usize,
    /// Days of work there now at the period's pace; `None` when it finished nothing.
    pub days_of_work: Option<Decimal>,
    /// The stage with the most days of work.
    pub bottleneck: bool,
}

/// Per stage, in the workshop's order (stages without a definition after).
pub fn flows(
    histograms: &HashMap<String, Vec<(i64, i64)>>,
    jobs: &[OpenJob],
    workshop: &Workshop,
    days: i64,
) -> Vec<StageFlow> {
    let mut stages: Vec<String> = workshop.stages.iter().map(|s| s.id.to_string()).collect();
    for stage in histograms.keys() {
        if !stages.contains(stage) {
            stages.push(stage.clone());
        }
    }
    let mut flows: Vec<StageFlow> = stages
        .into_iter()
        .map(|stage| {
            let histogram = histograms.get(&stage).map(Vec::as_slice).unwrap_or_default();
            let finished: i64 = histogram.iter().map(|(_, n)| n).sum();
            let here = |working: bool| {
                jobs.iter()
                    .filter(|j| j.in_progress == working)
                    .filter(|j| j.current_or_next().is_some_and(|s| s.as_str() == stage))
                    .count()
            };
            let (working, waiting) = (here(true), here(false));
            let days_of_work = (finished > 0).then(|| {
                let queue = Decimal::from(working + waiting);
                (queue * Decimal::from(days) / Decimal::from(finished)).round_dp(1)
            });
            StageFlow {
                median: stats::percentile(histogram, 50),
                p90: stats::percentile(histogram, 90),
                stage,
                finished,
                working,
                waiting,
                days_of_work,
                bottleneck: false,
            }
        })
        .collect();
    let most = flows.iter().filter_map(|f| f.days_of_work).max();
    if let Some(most) = most.filter(|m| !m.is_zero()) {
        for flow in &mut flows {
            flow.bottleneck = flow.days_of_work == Some(most);
        }
    }
    flows
}

fn duration_cell(duration: Option<Duration>) -> Cell {
    match duration {
        Some(d) => Cell::pair(format_duration(d), format!("{:.2}", d.as_secs_f64() / 3600.0)),
        None => Cell::text(""),
    }
}

/// The stage table; CSV times are in hours.
pub fn table(flows: &[StageFlow], workshop: &Workshop, days: i64) -> Table {
    let rows = flows
        .iter()
        .map(|f| {
            let mut name = Cell::text(workshop.stage_name(&f.stage))
                .link(format!("/search?stage={}", f.stage));
            if f.bottleneck {
                name = name.class("hot");
            }
            let per_day = Decimal::from(f.finished) / Decimal::from(days.max(1));
            vec![
                name,
                duration_cell(f.median),
                duration_cell(f.p90),
                Cell::count(f.finished),
                Cell::text(per_day.round_dp(1).to_string()),
                Cell::count(i64::try_from(f.working).unwrap_or(i64::MAX)),
                Cell::count(i64::try_from(f.waiting).unwrap_or(i64::MAX)),
                match f.days_of_work {
                    Some(d) => {
                        let cell = Cell::text(d.to_string());
                        if f.bottleneck { cell.class("hot") } else { cell }
                    }
                    None => Cell::text(""),
                },
            ]
        })
        .collect();
    Table {
        id: "stage-times",
        columns: vec![
            Column::text("Stage"),
            Column::number("Median time").csv("Median hours"),
            Column::number("p90 time").csv("p90 hours"),
            Column::number("Finished"),
            Column::number("Per day"),
            Column::number("Working now"),
            Column::number("Waiting now"),
            Column::number("Days of work"),
        ],
        rows,
        empty: "No stage has finished a visit in this period.",
    }
}

fn hours_words(hours: f64) -> String {
    format_duration(Duration::from_secs_f64(hours * 3600.0))
}

/// A period picker for pages that show one.
pub fn period_picker(action: &str, days: i64) -> maud::Markup {
    html! {
        form.inline method="get" action=(action) {
            label { "Period "
                select name="days" data-autosubmit {
                    @for d in PERIODS {
                        option value=(d) selected[d == days] { (super::period_words(d)) }
                    }
                }
            }
            noscript { button type="submit" { "Show" } }
        }
    }
}

/// `GET /bottlenecks`
pub async fn page(
    State(state): State<AppState>,
    request: PageRequest,
    Params(params): Params<PeriodQuery>,
) -> Response {
    request.answer(async { build(&state, &params?, request.query()).await }.await)
}

async fn build(state: &AppState, params: &PeriodQuery, query: &str) -> PageResult {
    let choice = period_days(params.days.as_deref())?;
    let (period, days) = super::period_until_now(choice);
    let (workshop, jobs) = Workshop::load_with_open_jobs(state).await?;
    let histograms = state.store.stage_histograms(period).await?;
    let flows = flows(&histograms, &jobs, &workshop, days);
    let table = table(&flows, &workshop, days);
    let bottleneck = flows.iter().find(|f| f.bottleneck);
    let hours = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() / 3600.0);
    let bars: Vec<(String, Vec<f64>)> = flows
        .iter()
        .filter(|f| f.finished > 0)
        .map(|f| (workshop.stage_name(&f.stage), vec![hours(f.median), hours(f.p90)]))
        .collect();
    let series = [Series { name: "median", class: "a" }, Series { name: "p90", class: "b" }];
    let body = html! {
        (period_picker("/bottlenecks", choice))
        @if let Some(b) = bottleneck {
            p.lead {
                "The bottleneck is " strong { (workshop.stage_name(&b.stage)) } ": "
                (b.working + b.waiting) " jobs there, "
                (b.days_of_work.unwrap_or_default()) " days of work at its pace in "
                (super::period_words(choice)) "."
            }
        }
        @if !bars.is_empty() {
            figure {
                (chart::bars("Time per stage visit", &bars, &series, hours_words))
                figcaption {
                    "Time per stage visit, finished in " (super::period_words(choice)) "."
                }
            }
        }
        (table.html(query))
    };
    Ok(Page::new("Bottlenecks", Nav::Bottlenecks, body, vec![table]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::tests::{open_job, workshop};

    #[test]
    fn the_stage_with_the_most_days_of_work_is_the_bottleneck() {
        let workshop = workshop();
        let hour = stats::bucket_of(3_600_000_000);
        let day = stats::bucket_of(86_400_000_000);
        // In 30 days casting finished 30 visits (one a day) and polishing 60 (two a day).
        let histograms: HashMap<String, Vec<(i64, i64)>> = [
            ("casting".to_owned(), vec![(hour, 20), (day, 10)]),
            ("polishing".to_owned(), vec![(hour, 60)]),
        ]
        .into();
        // Three jobs at casting (three days of work), four at polishing (two days).
        let jobs = vec![
            open_job("A", Some("casting"), true),
            open_job("B", Some("cad"), false),
            open_job("C", Some("cad"), false),
            open_job("D", Some("casting"), false),
            open_job("E", Some("casting"), false),
            open_job("F", Some("polishing"), true),
            open_job("G", Some("polishing"), true),
        ];
        let flows = flows(&histograms, &jobs, &workshop, 30);
        let flow = |id: &str| flows.iter().find(|f| f.stage == id).unwrap();
        assert_eq!((flow("casting").working, flow("casting").waiting), (1, 2));
        assert_eq!(flow("casting").days_of_work, Some(Decimal::new(30, 1)));
        assert_eq!((flow("polishing").working, flow("polishing").waiting), (2, 2));
        assert_eq!(flow("polishing").days_of_work, Some(Decimal::new(20, 1)));
        assert!(flow("casting").bottleneck && !flow("polishing").bottleneck);
        assert_eq!(flow("cad").days_of_work, None, "nothing finished, no pace");
        let median = flow("casting").median.unwrap().as_secs_f64();
        assert!((median / 3600.0 - 1.0).abs() < 0.03, "{median}");
        let p90 = flow("casting").p90.unwrap().as_secs_f64();
        assert!((p90 / 86_400.0 - 1.0).abs() < 0.03, "{p90}");
    }
}

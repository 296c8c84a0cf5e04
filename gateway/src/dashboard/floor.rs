//! The floor board: work in progress per stage and per station, with how long the oldest
//! has been there and the fine metal it holds; the page a manager leaves open.
//!
//! A job works in the stage it has started and waits for the next stage of its route once
//! it has finished one; a job not started yet waits for its route's first stage. A job on
//! hold counts where it stands, as held.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use maud::html;
use touchstone_model::metal::{Grams, Metal};

use super::view::{Cell, Column, Nav, Page, Table, format_age, format_grams};
use super::{PageRequest, PageResult, Workshop};
use crate::http::AppState;
use crate::store::dashboard::OpenJob;
use crate::store::query::{AnomalyRow, StationStateRow};
use crate::store::to_us;

/// Fine metal, per metal.
pub type FineByMetal = BTreeMap<Metal, Grams>;

/// One stage's line on the board.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageLine {
    /// The stage id.
    pub stage: String,
    /// Jobs being worked.
    pub working: usize,
    /// Jobs waiting for it.
    pub waiting: usize,
    /// Of those, on hold.
    pub held: usize,
    /// Since when the longest-standing job has been there.
    pub oldest_us: Option<i64>,
    /// Gross metal of its jobs.
    pub gross: Grams,
    /// Fine metal of its jobs.
    pub fine: FineByMetal,
}

/// One station's line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StationLine {
    /// The station id.
    pub station: String,
    /// Jobs in progress there.
    pub working: usize,
    /// Since when the longest-running has been in progress.
    pub oldest_us: Option<i64>,
    /// Who is signed in, as the station last said.
    pub operator: Option<String>,
    /// Fine metal of its jobs in progress.
    pub fine: FineByMetal,
}

/// The board.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Board {
    /// Jobs not finished.
    pub open: usize,
    /// Jobs being worked.
    pub working: usize,
    /// Jobs on hold.
    pub held: usize,
    /// Jobs no event has concerned yet.
    pub not_started: usize,
    /// Jobs past their due date.
    pub late: usize,
    /// Per stage, in the workshop's order.
    pub stages: Vec<StageLine>,
    /// Per station, in the workshop's order.
    pub stations: Vec<StationLine>,
    /// Fine metal on the floor.
    pub fine: FineByMetal,
}

/// The fine metal of a job's last weighed metal, if its alloy is known.
pub fn fine_of(job: &OpenJob, workshop: &Workshop) -> Option<(Metal, Grams)> {
    let alloy = workshop.alloys.get(&job.alloy)?;
    Some((alloy.metal, alloy.fine_weight(job.metal?)))
}

fn add_fine(fine: &mut FineByMetal, metal: Option<(Metal, Grams)>) {
    if let Some((metal, grams)) = metal {
        let total = fine.entry(metal).or_default();
        *total = *total + grams;
    }
}

/// Builds the board from the open jobs and the stations' states.
pub fn board(
    jobs: &[OpenJob],
    workshop: &Workshop,
    stations: &[StationStateRow],
    today: NaiveDate,
) -> Board {
    let mut stages: BTreeMap<String, StageLine> = workshop
        .stages
        .iter()
        .map(|s| (s.id.to_string(), StageLine { stage: s.id.to_string(), ..StageLine::default() }))
        .collect();
    let mut lines: BTreeMap<String, StationLine> = workshop
        .stations
        .iter()
        .map(|s| {
            (s.id.to_string(), StationLine { station: s.id.to_string(), ..StationLine::default() })
        })
        .collect();
    let mut board = Board { open: jobs.len(), ..Board::default() };
    for job in jobs {
        let fine = fine_of(job, workshop);
        add_fine(&mut board.fine, fine);
        board.working += usize::from(job.in_progress);
        board.held += usize::from(job.held);
        board.not_started += usize::from(job.last_event_us.is_none());
        board.late += usize::from(job.due < today);
        if let Some(stage) = job.current_or_next() {
            let line = stages
                .entry(stage.to_string())
                .or_insert_with(|| StageLine { stage: stage.to_string(), ..StageLine::default() });
            if job.in_progress {
                line.working += 1;
            } else {
                line.waiting += 1;
            }
            line.held += usize::from(job.held);
            line.oldest_us = Some(line.oldest_us.map_or(job.since_us, |o| o.min(job.since_us)));
            if let Some(metal) = job.metal {
                line.gross = line.gross + metal;
            }
            add_fine(&mut line.fine, fine);
        }
        if job.in_progress
            && let Some(station) = &job.station
        {
            let line = lines.entry(station.clone()).or_insert_with(|| StationLine {
                station: station.clone(),
                ..StationLine::default()
            });
            line.working += 1;
            line.oldest_us = Some(line.oldest_us.map_or(job.since_us, |o| o.min(job.since_us)));
            add_fine(&mut line.fine, fine);
        }
    }
    for state in stations {
        if let Some(line) = lines.get_mut(&state.station) {
            line.operator = state.operator.clone();
        }
    }
    board.stages = stages.into_values().collect();
    board.stages.sort_by_key(|l| (workshop.stage_order(&l.stage), l.stage.clone()));
    board.stations = lines.into_values().collect();
    let station_order = |id: &str| workshop.stations.iter().position(|s| s.id.as_str() == id);
    board
        .stations
        .sort_by_key(|l| (station_order(&l.station).unwrap_or(usize::MAX), l.station.clone()));
    board
}

/// The metals present anywhere on the board, for its columns.
fn metals(board: &Board) -> Vec<Metal> {
    board.fine.keys().copied().collect()
}

fn fine_cells(fine: &FineByMetal, metals: &[Metal]) -> Vec<Cell> {
    metals.iter().map(|m| Cell::grams_or_blank(fine.get(m).copied().unwrap_or_default())).collect()
}

fn age_cell(now_us: i64, since: Option<i64>) -> Cell {
    match since {
        Some(us) => Cell::pair(format_age(now_us, us), crate::dashboard::view::rfc3339(us)),
        None => Cell::text(""),
    }
}

/// The board's tables.
pub fn tables(board: &Board, workshop: &Workshop, now_us: i64) -> Vec<Table> {
    let metals = metals(board);
    let fine_columns = || metals.iter().map(|m| Column::number(format!("Fine {}", m.as_str())));

    let mut columns = vec![
        Column::text("Stage"),
        Column::number("Working"),
        Column::number("Waiting"),
        Column::number("On hold"),
        Column::number("Oldest there").csv("Oldest there since"),
        Column::number("Gross metal"),
    ];
    columns.extend(fine_columns());
    let busiest = board.stages.iter().map(|l| l.working + l.waiting).max().unwrap_or(0);
    let stage_rows = board
        .stages
        .iter()
        .map(|l| {
            let count = l.working + l.waiting;
            let mut name = Cell::text(workshop.stage_name(&l.stage))
                .link(format!("/search?stage={}", l.stage));
            if busiest > 0 && count == busiest {
                name = name.class("hot");
            }
            let mut row = vec![
                name,
                Cell::count(i64::try_from(l.working).unwrap_or(i64::MAX)),
                Cell::count(i64::try_from(l.waiting).unwrap_or(i64::MAX)),
                Cell::count(i64::try_from(l.held).unwrap_or(i64::MAX)),
                age_cell(now_us, l.oldest_us),
                Cell::grams_or_blank(l.gross),
            ];
            row.extend(fine_cells(&l.fine, &metals));
            row
        })
        .collect();

    let mut columns_st = vec![
        Column::text("Station"),
        Column::text("Signed in"),
        Column::number("Jobs in progress"),
        Column::number("Longest running").csv("Longest running since"),
    ];
    columns_st.extend(fine_columns());
    let station_rows = board
        .stations
        .iter()
        .map(|l| {
            let mut row = vec![
                Cell::text(workshop.station_name(&l.station))
                    .link(format!("/search?station={}", l.station)),
                Cell::text(
                    l.operator.as_deref().map(|o| workshop.operator_name(o)).unwrap_or_default(),
                ),
                Cell::count(i64::try_from(l.working).unwrap_or(i64::MAX)),
                age_cell(now_us, l.oldest_us),
            ];
            row.extend(fine_cells(&l.fine, &metals));
            row
        })
        .collect();
    vec![
        Table { id: "stages", columns, rows: stage_rows, empty: "No stages are defined yet." },
        Table {
            id: "stations",
            columns: columns_st,
            rows: station_rows,
            empty: "No stations are defined yet.",
        },
    ]
}

/// The recent anomalies as a table.
pub fn anomaly_table(anomalies: &[AnomalyRow], workshop: &Workshop) -> Table {
    let rows = anomalies
        .iter()
        .map(|a| {
            let job = a.job.clone().unwrap_or_default();
            let job_cell = if job.is_empty() {
                Cell::text("")
            } else {
                Cell::text(job.clone()).link(format!("/jobs/{job}"))
            };
            vec![
                Cell::time(a.created_us),
                Cell::text(a.kind.replace('_', " ")).class(anomaly_class(&a.kind)),
                job_cell,
                Cell::text(workshop.station_name(&a.station)),
                Cell::text(a.detail.clone()),
            ]
        })
        .collect();
    Table {
        id: "anomalies",
        columns: vec![
            Column::text("When"),
            Column::text("What"),
            Column::text("Job"),
            Column::text("Station"),
            Column::text("Detail"),
        ],
        rows,
        empty: "Nothing unusual recorded.",
    }
}

/// How loudly an anomaly kind is shown.
pub fn anomaly_class(kind: &str) -> &'static str {
    match kind {
        "loss_over_hard" | "stone_of_another_job" | "sequence_gap" => "bad",
        "override" => "muted",
        _ => "warn",
    }
}

/// `GET /`
pub async fn page(State(state): State<AppState>, request: PageRequest) -> Response {
    request.answer(build(&state, request.query()).await)
}

async fn build(state: &AppState, query: &str) -> PageResult {
    let (workshop, jobs) = Workshop::load_with_open_jobs(state).await?;
    let stations = state.store.station_states().await?;
    let anomalies = state.store.anomalies_latest(15).await?;
    let now = Utc::now();
    let board = board(&jobs, &workshop, &stations, now.date_naive());
    let mut tables = tables(&board, &workshop, to_us(now));
    tables.push(anomaly_table(&anomalies, &workshop));
    let fine = board
        .fine
        .iter()
        .map(|(m, g)| format!("{} fine {}", format_grams(*g), m.as_str()))
        .collect::<Vec<_>>();
    let body = html! {
        div.cards {
            div.card { span.big { (board.open) } span { "open jobs" } }
            div.card { span.big { (board.working) } span { "being worked" } }
            div.card { span.big { (board.open - board.working) } span { "waiting" } }
            a.card.alert[board.late > 0] href="/late" { span.big { (board.late) } span { "late" } }
            div.card.warn[board.held > 0] { span.big { (board.held) } span { "on hold" } }
            div.card { span.big { (board.not_started) } span { "not started" } }
        }
        @if !fine.is_empty() {
            p.lead { "On the floor: " (fine.join(", ")) "." }
        }
        h2 { "Stages" }
        (tables[0].html(query))
        h2 { "Stations" }
        (tables[1].html(query))
        h2 { "Recent anomalies" }
        (tables[2].html(query))
    };
    Ok(Page::new("Floor", Nav::Floor, body, tables))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::tests::{open_job, workshop};

    #[test]
    fn jobs_count_where_they_work_or_wait_and_bring_their_metal() {
        let workshop = workshop();
        let today: NaiveDate = "2026-12-04".parse().unwrap();
        let mut casting = open_job("J-1", Some("casting"), true);
        casting.metal = Some("20.000".parse().unwrap());
        casting.station = Some("cast-1".into());
        casting.since_us = 100;
        // Finished casting: waits for polishing, the next stage of its route.
        let mut waiting = open_job("J-2", Some("casting"), false);
        waiting.metal = Some("10.000".parse().unwrap());
        waiting.held = true;
        waiting.since_us = 50;
        waiting.due = "2026-12-01".parse().unwrap();
        let fresh = open_job("J-3", None, false);
        let board = board(&[casting, waiting, fresh], &workshop, &[], today);

        assert_eq!(
            (board.open, board.working, board.held, board.not_started, board.late),
            (3, 1, 1, 1, 1)
        );
        let line = |id: &str| board.stages.iter().find(|l| l.stage == id).unwrap().clone();
        assert_eq!((line("casting").working, line("casting").waiting), (1, 0));
        assert_eq!((line("polishing").waiting, line("polishing").held), (1, 1));
        assert_eq!(line("polishing").oldest_us, Some(50));
        assert_eq!(line("cad").waiting, 1, "a job not started waits for its first stage");
        // 18K at 750: 20 g and 10 g gross are 15 g and 7.5 g fine.
        assert_eq!(line("casting").fine[&Metal::Gold], "15.000".parse().unwrap());
        assert_eq!(board.fine[&Metal::Gold], "22.500".parse().unwrap());
        let station = board.stations.iter().find(|l| l.station == "cast-1").unwrap();
        assert_eq!(station.working, 1);
        // Stages keep the workshop's order.
        let order: Vec<&str> = board.stages.iter().map(|l| l.stage.as_str()).collect();
        assert_eq!(order, ["cad", "casting", "polishing"]);
    }
}

//! Every bench's health: online or not and since when, its journal backlog, its balance,
//! who is signed in, its last event and its software version.
//!
//! A bench says it is online in its heartbeats and offline in its last will or goodbye. A
//! bench whose heartbeats stopped without a last will (a broker restart can lose one) is shown
//! as silent once none has come for [`STALE`].

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use maud::html;

use super::view::{Cell, Column, Nav, Page, Table, format_age};
use super::{PageRequest, PageResult, Workshop};
use crate::http::AppState;
use crate::store::query::StationStateRow;
use crate::store::to_us;

/// Without a heartbeat for this long a bench is shown as silent, whatever it said last.
pub const STALE: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// A bench's link as the page tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Heartbeats arrive.
    Online,
    /// It said goodbye, or its last will was published.
    Offline,
    /// It said it was online, but its heartbeats stopped.
    Silent,
    /// It never reported.
    Unknown,
}

/// The link of a station at `now_us`.
pub fn link(state: Option<&StationStateRow>, now_us: i64) -> Link {
    let Some(state) = state else { return Link::Unknown };
    let Some(last) = state.last_status_us else { return Link::Unknown };
    let stale = now_us - last > i64::try_from(STALE.as_micros()).unwrap_or(i64::MAX);
    match (state.online, stale) {
        (true, false) => Link::Online,
        (true, true) => Link::Silent,
        (false, _) => Link::Offline,
    }
}

/// The stations table.
pub fn table(workshop: &Workshop, states: &[StationStateRow], now_us: i64) -> Table {
    let mut ids: Vec<String> = workshop.stations.iter().map(|s| s.id.to_string()).collect();
    for state in states {
        if !ids.contains(&state.station) {
            ids.push(state.station.clone());
        }
    }
    let rows = ids
        .iter()
        .map(|id| {
            let state = states.iter().find(|s| &s.station == id);
            let link = link(state, now_us);
            let since = state.and_then(|s| match link {
                Link::Silent => s.last_status_us,
                _ => s.online_since_us,
            });
            let (word, class) = match link {
                Link::Online => ("online", "good"),
                Link::Offline => ("offline", "bad"),
                Link::Silent => ("no heartbeat", "warn"),
                Link::Unknown => ("never reported", "muted"),
            };
            let since_cell = match since {
                Some(us) => {
                    Cell::pair(format!("{} ago", format_age(now_us, us)), super::view::rfc3339(us))
                }
                None => Cell::text(""),
            };
            let backlog = state.map_or(0, |s| s.backlog);
            let balance = state.and_then(|s| s.balance.clone()).unwrap_or_default();
            let balance_class = match balance.as_str() {
                "connected" => "good",
                "" => "muted",
                _ => "bad",
            };
            let balance_words = match state.and_then(|s| s.balance_detail.clone()) {
                Some(detail) if !detail.is_empty() => format!("{balance}: {detail}"),
                _ => balance,
            };
            vec![
                Cell::text(workshop.station_name(id)).link(format!("/search?station={id}")),
                Cell::text(word).class(class),
                since_cell,
                if backlog > 0 { Cell::count(backlog).class("warn") } else { Cell::count(backlog) },
                Cell::text(balance_words).class(balance_class),
                Cell::text(
                    state
                        .and_then(|s| s.operator.as_deref())
                        .map(|o| workshop.operator_name(o))
                        .unwrap_or_default(),
                ),
                state.and_then(|s| s.last_event_us).map_or_else(|| Cell::text(""), Cell::time),
                Cell::text(state.and_then(|s| s.version.clone()).unwrap_or_default()),
            ]
        })
        .collect();
    Table {
        id: "stations",
        columns: vec![
            Column::text("Station"),
            Column::text("Link"),
            Column::number("Since"),
            Column::number("Backlog"),
            Column::text("Balance"),
            Column::text("Signed in"),
            Column::text("Last event"),
            Column::text("Version"),
        ],
        rows,
        empty: "No stations are defined or have reported yet.",
    }
}

/// `GET /stations`
pub async fn page(State(state): State<AppState>, request: PageRequest) -> Response {
    request.answer(build(&state, request.query()).await)
}

async fn build(state: &AppState, query: &str) -> PageResult {
    let workshop = Workshop::load(state).await?;
    let states = state.store.station_states().await?;
    let now_us = to_us(Utc::now());
    let count = |wanted: Link| {
        workshop
            .stations
            .iter()
            .filter(|s| link(states.iter().find(|r| r.station == s.id.as_str()), now_us) == wanted)
            .count()
    };
    let backlog: i64 = states.iter().map(|s| s.backlog).sum();
    let table = table(&workshop, &states, now_us);
    let body = html! {
        div.cards {
            div.card.good { span.big { (count(Link::Online)) } span { "online" } }
            div.card.alert[count(Link::Offline) > 0] {
                span.big { (count(Link::Offline)) } span { "offline" }
            }
            div.card.warn[count(Link::Silent) > 0] {
                span.big { (count(Link::Silent)) } span { "no heartbeat" }
            }
            div.card.warn[backlog > 0] {
                span.big { (backlog) } span { "events waiting at benches" }
            }
        }
        (table.html(query))
    };
    Ok(Page::new("Stations", Nav::Stations, body, vec![table]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(online: bool, last_status_us: Option<i64>) -> StationStateRow {
        StationStateRow {
            station: "cast-1".into(),
            last_seq: 0,
            last_event_us: None,
            last_status_us,
            online,
            online_since_us: last_status_us,
            backlog: 0,
            balance: None,
            balance_detail: None,
            version: None,
            operator: None,
        }
    }

    #[test]
    fn a_bench_whose_heartbeats_stopped_is_silent() {
        let now = 1_000_000_000_000;
        let minute = 60_000_000;
        assert_eq!(link(None, now), Link::Unknown);
        assert_eq!(link(Some(&state(true, Some(now - minute))), now), Link::Online);
        assert_eq!(link(Some(&state(true, Some(now - 6 * minute))), now), Link::Silent);
        assert_eq!(link(Some(&state(false, Some(now - minute))), now), Link::Offline);
        assert_eq!(link(Some(&state(false, None)), now), Link::Unknown);
    }
}

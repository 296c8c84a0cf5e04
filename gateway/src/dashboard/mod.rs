//! The manager dashboard: server-rendered pages over the gateway's store, for a laptop or a
//! phone, updated live while they are open.
//!
//! # Layout
//!
//! - [`auth`]: sign-in, sessions and the [`auth::Viewer`] each page takes.
//! - [`view`]: the page shell, tables that also export as CSV, and number formats.
//! - [`chart`]: small inline SVG charts.
//! - [`live`]: the server-sent event stream that tells open pages the floor moved.
//! - [`floor`], [`late`], [`bottlenecks`], [`stations`], [`metal`], [`job`], [`search`],
//!   [`dead_letters`]: one page each. Each computes its figures in plain functions over rows
//!   from the store (tested without HTTP) and renders them apart.
//!
//! Every page and its data need a signed-in manager or supervisor; supervisors see the floor
//! but no money. The pages read only; the only writes are signing in and out and setting a
//! metal price. Pages carry no scripts of their own: one small script refreshes `<main>` when
//! the floor moves and shows times in the reader's zone, and everything works without it.

pub mod auth;
pub mod bottlenecks;
pub mod chart;
pub mod dead_letters;
pub mod floor;
pub mod job;
pub mod late;
pub mod live;
mod login;
pub mod metal;
pub mod search;
pub mod stations;
pub mod view;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use touchstone_model::ids::StageId;
use touchstone_model::metal::Alloy;
use touchstone_model::workshop::{LossBand, Operator, StageDef, Station};

use crate::http::{AppError, AppState};
use auth::Viewer;
use view::{Page, Render};

/// The dashboard's routes. Pages redirect to the sign-in page without a session.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(floor::page))
        .route("/late", get(late::page))
        .route("/bottlenecks", get(bottlenecks::page))
        .route("/stations", get(stations::page))
        .route("/metal", get(metal::page))
        .route("/metal/prices", post(metal::set_price))
        .route("/jobs/{id}", get(job::page))
        .route("/search", get(search::page))
        .route("/dead-letters", get(dead_letters::page))
        .route("/live", get(live::stream))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/assets/app.css", get(stylesheet))
        .route("/assets/live.js", get(script))
}

/// The master data every page names things with, read once per request.
#[derive(Debug, Default)]
pub struct Workshop {
    /// Stages in the order the workshop listed them.
    pub stages: Vec<StageDef>,
    /// Stations by id.
    pub stations: Vec<Station>,
    /// Operators by id.
    pub operators: HashMap<String, Operator>,
    /// Alloys by code.
    pub alloys: HashMap<String, Alloy>,
    /// Loss bands.
    pub bands: Vec<LossBand>,
}

impl Workshop {
    /// Reads the lists from the store.
    pub async fn load(state: &AppState) -> Result<Workshop, AppError> {
        let store = &state.store;
        Ok(Workshop {
            stages: store.list::<StageDef>().await?,
            stations: store.list::<Station>().await?,
            operators: store
                .list::<Operator>()
                .await?
                .into_iter()
                .map(|o| (o.id.to_string(), o))
                .collect(),
            alloys: store
                .list::<Alloy>()
                .await?
                .into_iter()
                .map(|a| (a.code.to_string(), a))
                .collect(),
            bands: store.list::<LossBand>().await?,
        })
    }

    /// Reads the lists and the open jobs, with the stages in the order the jobs' routes pass
    /// them: what the pages about work in progress start from.
    pub async fn load_with_open_jobs(
        state: &AppState,
    ) -> Result<(Workshop, Vec<crate::store::dashboard::OpenJob>), AppError> {
        let mut workshop = Workshop::load(state).await?;
        let jobs = state.store.open_jobs().await?;
        workshop.order_stages(jobs.iter().map(|j| j.route.as_slice()));
        Ok((workshop, jobs))
    }

    /// A stage's name, or its id when the master data does not know it.
    pub fn stage_name(&self, id: &str) -> String {
        self.stages
            .iter()
            .find(|s| s.id.as_str() == id)
            .map_or_else(|| id.to_owned(), |s| s.name.clone())
    }

    /// An operator's name, or their id.
    pub fn operator_name(&self, id: &str) -> String {
        self.operators.get(id).map_or_else(|| id.to_owned(), |o| o.name.clone())
    }

    /// A station's name, or its id.
    pub fn station_name(&self, id: &str) -> String {
        self.stations
            .iter()
            .find(|s| s.id.as_str() == id)
            .map_or_else(|| id.to_owned(), |s| s.name.clone())
    }

    /// Where a stage sits in the workshop's list, for sorting; unknown stages go last.
    pub fn stage_order(&self, id: &str) -> usize {
        self.stages.iter().position(|s| s.id.as_str() == id).unwrap_or(usize::MAX)
    }

    /// Puts the stages in the order jobs pass them. The master data keeps stages as a set,
    /// so the order is read from `routes`: a stage comes after every stage that precedes it
    /// on some route; among stages free to come next, the one earliest in any route goes
    /// first. Stages on a loop of routes, or on no route, keep their place after the rest.
    pub fn order_stages<'a>(&mut self, routes: impl IntoIterator<Item = &'a [StageId]>) {
        let index: HashMap<String, usize> =
            self.stages.iter().enumerate().map(|(i, s)| (s.id.to_string(), i)).collect();
        let n = self.stages.len();
        let mut after: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut before_count = vec![0_usize; n];
        let mut first_seen = vec![usize::MAX; n];
        let mut seen_edges = std::collections::HashSet::new();
        for route in routes {
            let ids: Vec<usize> =
                route.iter().filter_map(|s| index.get(s.as_str()).copied()).collect();
            for (position, id) in ids.iter().enumerate() {
                first_seen[*id] = first_seen[*id].min(position);
            }
            for pair in ids.windows(2) {
                if pair[0] != pair[1] && seen_edges.insert((pair[0], pair[1])) {
                    after[pair[0]].push(pair[1]);
                    before_count[pair[1]] += 1;
                }
            }
        }
        let mut order = Vec::with_capacity(n);
        let mut placed = vec![false; n];
        loop {
            let next = (0..n)
                .filter(|i| !placed[*i] && before_count[*i] == 0 && first_seen[*i] != usize::MAX)
                .min_by_key(|i| (first_seen[*i], *i));
            let Some(next) = next else { break };
            placed[next] = true;
            order.push(next);
            for later in &after[next] {
                before_count[*later] -= 1;
            }
        }
        order.extend((0..n).filter(|i| !placed[*i]));
        let mut stages: Vec<Option<StageDef>> =
            std::mem::take(&mut self.stages).into_iter().map(Some).collect();
        self.stages = order.into_iter().filter_map(|i| stages[i].take()).collect();
    }
}

/// A page handler's result: the page, or an error shown as a page.
pub type PageResult = Result<Page, AppError>;

/// A request for a page: who asks and how they want the answer (whole, partial or CSV, with
/// the raw query string for the links a page builds). Without a session it redirects to the
/// sign-in page.
#[derive(Debug)]
pub struct PageRequest {
    /// Who asks.
    pub viewer: Viewer,
    /// Whole, partial or CSV.
    pub render: Render,
}

impl PageRequest {
    /// The raw query string.
    pub fn query(&self) -> &str {
        &self.render.query
    }

    /// Answers with the page as asked, or with an error page.
    pub fn answer(&self, result: PageResult) -> Response {
        match result {
            Ok(page) => page.respond(Some(&self.viewer), &self.render),
            Err(err) => error_response(err, Some(&self.viewer)),
        }
    }
}

impl FromRequestParts<AppState> for PageRequest {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        let render = Render::from_request(&parts.headers, parts.uri.query());
        Ok(PageRequest { viewer, render })
    }
}

/// A page's query parameters, or what was wrong with them; never rejects, so that a bad
/// parameter is told on a page.
#[derive(Debug)]
pub struct Params<T>(pub Result<T, AppError>);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let parsed = Query::<T>::from_request_parts(parts, state).await;
        Ok(Params(parsed.map(|Query(q)| q).map_err(|err| AppError::BadRequest(err.body_text()))))
    }
}

/// An error as a page: 4xx say what was wrong, 5xx say nothing of the inside and are logged.
pub fn error_response(err: AppError, viewer: Option<&Viewer>) -> Response {
    let status = err.status();
    let message = match &err {
        AppError::Internal(_) => {
            // The JSON response logs the cause once; its body is not used.
            drop(err.into_response());
            "Something went wrong inside the gateway. It has been logged; try again in a moment."
                .to_owned()
        }
        other => other.to_string(),
    };
    view::error_page(status, &message, viewer)
}

/// The query parameter `days`: one of the periods the pages offer.
pub fn period_days(text: Option<&str>) -> Result<i64, AppError> {
    match text {
        None | Some("") => Ok(30),
        Some(text) => text.parse().ok().filter(|d| PERIODS.contains(d)).ok_or_else(|| {
            AppError::BadRequest(format!("days must be one of 7, 30, 90 or 365, not `{text}`"))
        }),
    }
}

/// The periods, in days, the pages offer; 365 stands for the twelve calendar months up to
/// this one (see [`crate::store::stats::Period::ending`]).
pub const PERIODS: [i64; 4] = [7, 30, 90, 365];

/// A period's name on a page.
pub fn period_words(days: i64) -> String {
    if days > 90 { "the last 12 months".into() } else { format!("the last {days} days") }
}

/// The period a page shows for the `days` choice, and how many of its days have passed.
pub fn period_until_now(days: i64) -> (crate::store::stats::Period, i64) {
    let today = crate::store::stats::day_of(crate::store::to_us(chrono::Utc::now()));
    let period = crate::store::stats::Period::ending(today, days);
    let (from, to) = period.days();
    (period, to.min(today) - from + 1)
}

async fn stylesheet() -> Response {
    asset(include_str!("assets/app.css"), "text/css; charset=utf-8")
}

async fn script() -> Response {
    asset(include_str!("assets/live.js"), "text/javascript; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Links carry the version, so a new release is fetched anew.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    response
}

#[cfg(test)]
pub(crate) mod tests {
    //! A small workshop for the pages' unit tests.

    use serde_json::json;

    use super::Workshop;
    use crate::store::dashboard::OpenJob;

    /// Three stages, two stations, 18K yellow gold with a casting band, two operators.
    fn value<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    pub fn workshop() -> Workshop {
        Workshop {
            stages: vec![
                value(json!({"id": "cad", "name": "CAD", "requires_weight": false})),
                value(json!({"id": "casting", "name": "Casting", "requires_weight": true})),
                value(json!({"id": "polishing", "name": "Polishing", "requires_weight": true})),
            ],
            stations: vec![
                value(json!({"id": "cast-1", "name": "Casting 1", "stages": ["casting"]})),
                value(json!({"id": "polish-1", "name": "Polishing 1", "stages": ["polishing"]})),
            ],
            operators: [("op-mei", "Mei Tanaka"), ("op-ravi", "Ravi Shah")]
                .into_iter()
                .map(|(id, name)| {
                    let badge = format!("B-{id}");
                    (
                        id.to_owned(),
                        value(json!({"id": id, "name": name, "badge": badge, "role": "worker"})),
                    )
                })
                .collect(),
            alloys: [("18KY", "gold", 750), ("925", "silver", 925)]
                .into_iter()
                .map(|(code, metal, fineness)| {
                    let alloy =
                        json!({"code": code, "name": code, "metal": metal, "fineness": fineness});
                    (code.to_owned(), value(alloy))
                })
                .collect(),
            bands: vec![value(json!({"stage": "casting", "alloy": "18KY", "warn_percent": "3",
                       "hard_percent": "5"}))],
        }
    }

    #[test]
    fn stages_are_ordered_as_routes_pass_them() {
        let mut workshop = workshop();
        // Alphabetical in the master data; "polishing" before "casting" on no route.
        workshop.stages.reverse();
        let ids = |v: &[&str]| {
            v.iter().map(|s| s.parse().unwrap()).collect::<Vec<touchstone_model::ids::StageId>>()
        };
        let routes = [ids(&["casting", "polishing"]), ids(&["cad", "casting"])];
        workshop.order_stages(routes.iter().map(Vec::as_slice));
        let order: Vec<&str> = workshop.stages.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(order, ["cad", "casting", "polishing"]);
    }

    /// An 18K job on the route CAD, casting, polishing, due at the end of 2026.
    pub fn open_job(id: &str, stage: Option<&str>, in_progress: bool) -> OpenJob {
        OpenJob {
            job_id: id.to_owned(),
            customer_ref: format!("SO-{id}"),
            description: "Ring".into(),
            alloy: "18KY".into(),
            due: "2026-12-31".parse().unwrap(),
            route: ["cad", "casting", "polishing"].iter().map(|s| s.parse().unwrap()).collect(),
            stage: stage.map(|s| s.parse().unwrap()),
            in_progress,
            held: false,
            station: None,
            holder: None,
            last_event_us: stage.map(|_| 1),
            since_us: 0,
            metal: None,
        }
    }
}

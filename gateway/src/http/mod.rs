//! The HTTP face of the gateway, built by [`app`] as one axum router so tests call it without
//! a socket: the JSON API (health, jobs, stations, the event feed, dead letters, anomalies,
//! master data uploads, metal prices) and the manager dashboard ([`crate::dashboard`]).
//!
//! Everything under `/api/v1` needs `Authorization: Bearer <token>`; the dashboard's pages
//! need a signed-in session; `/health` and the sign-in page need neither. Every API error is
//! JSON `{"error": "..."}`, times are RFC 3339 UTC and grams are decimal strings.
//! `docs/openapi.json` describes every API route, and a test checks both ways that it and
//! [`route_table`] agree.
//!
//! Handlers only read through the store's query functions and write master data through
//! the import checks; they never touch the ledger.

mod auth;
mod error;
mod jobs;
mod ledger;
mod master;
mod params;
mod prices;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode};
use axum::routing::{MethodRouter, get, put};
use axum::{Json, Router, middleware};
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

pub use error::AppError;

use crate::dashboard::auth::LoginLimiter;
use crate::store::Store;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Woken after master data changed, so that benches get new snapshots.
    pub master_changed: Arc<Notify>,
    /// The bearer token `/api/v1` requires.
    pub api_token: String,
    /// True once the gateway is connected and serving.
    pub ready: watch::Receiver<bool>,
    /// Counts changes to what the dashboard shows; open pages refresh when it moves.
    pub floor: Arc<watch::Sender<u64>>,
    /// Failed dashboard sign-ins, for refusing guessers.
    pub login_limiter: Arc<LoginLimiter>,
    /// How the dashboard is served.
    pub dashboard: DashboardSettings,
}

/// How the dashboard is served.
#[derive(Debug, Clone, Copy, Default)]
pub struct DashboardSettings {
    /// Mark session cookies `Secure`: the dashboard is reached over HTTPS (through a proxy).
    pub secure_cookies: bool,
}

impl AppState {
    /// State for `store` with `api_token`, ready, no sign-in failures and a new floor counter.
    pub fn new(store: Store, api_token: String) -> AppState {
        let (_, ready) = watch::channel(true);
        AppState {
            store,
            master_changed: Arc::new(Notify::new()),
            api_token,
            ready,
            floor: Arc::new(watch::channel(0).0),
            login_limiter: Arc::new(LoginLimiter::default()),
            dashboard: DashboardSettings::default(),
        }
    }

    /// Tells open dashboard pages that what they show may have changed.
    pub fn floor_moved(&self) {
        self.floor.send_modify(|v| *v = v.wrapping_add(1));
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a secret: say only whether there is one.
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("api_token", &"****")
            .field("ready", &*self.ready.borrow())
            .finish_non_exhaustive()
    }
}

/// A request slower than this is logged as slow.
const SLOW_REQUEST: Duration = Duration::from_millis(500);

/// How long the health check waits for the database.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The API's routes as (method, path) pairs, with each handler; both [`app`] and
/// [`route_table`] are built from this one list.
fn routes() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::GET, "/health", get(health)),
        (Method::GET, "/api/v1/jobs", get(jobs::list)),
        (Method::GET, "/api/v1/jobs/{id}", get(jobs::detail)),
        (Method::GET, "/api/v1/jobs/{id}/timeline", get(jobs::timeline)),
        (Method::GET, "/api/v1/stations", get(ledger::stations)),
        (Method::GET, "/api/v1/events", get(ledger::events)),
        (Method::GET, "/api/v1/dead-letters", get(ledger::dead_letters)),
        (Method::GET, "/api/v1/anomalies", get(ledger::anomalies)),
        (Method::PUT, "/api/v1/metal-prices/{metal}", put(prices::put)),
        (
            Method::PUT,
            "/api/v1/master/{kind}",
            put(master::put).layer(DefaultBodyLimit::max(master::MAX_UPLOAD_BYTES)),
        ),
    ]
}

/// Every (method, path) the app serves, paths written as in OpenAPI (`/api/v1/jobs/{id}`).
pub fn route_table() -> Vec<(Method, &'static str)> {
    routes().into_iter().map(|(method, path, _)| (method, path)).collect()
}

/// The HTTP app over `state`.
pub fn app(state: AppState) -> Router {
    let mut public = Router::new();
    let mut api = Router::new();
    for (_, path, handler) in routes() {
        if path.starts_with("/api/") {
            api = api.route(path, handler);
        } else {
            public = public.route(path, handler);
        }
    }
    let api = api.route_layer(middleware::from_fn_with_state(state.clone(), auth::require_token));
    public
        .merge(api)
        .merge(crate::dashboard::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// Logs every request at debug, and at warn when it was slow; says how long it took in a
/// `Server-Timing` header.
async fn log_request(request: Request, next: middleware::Next) -> axum::response::Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let mut response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    // The server's own time, for browsers' developer tools and the dashboard benchmark.
    let timing = format!("app;dur={:.1}", elapsed.as_secs_f64() * 1000.0);
    if let Ok(value) = axum::http::HeaderValue::from_str(&timing) {
        response.headers_mut().insert("server-timing", value);
    }
    if elapsed > SLOW_REQUEST {
        let ms = elapsed.as_millis();
        tracing::warn!(%method, %path, status, ms, "slow request");
    } else {
        tracing::debug!(%method, %path, status, us = elapsed.as_micros(), "request");
    }
    response
}

/// `GET /health`: 200 once the gateway is ready and the database answers, else 503.
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let unavailable = |reason: String| {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "reason": reason})))
    };
    if !*state.ready.borrow() {
        return unavailable("the gateway is starting or shutting down".to_owned());
    }
    match tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "health check: database does not answer");
            unavailable("the database does not answer".to_owned())
        }
        Err(_) => unavailable("the database did not answer in time".to_owned()),
    }
}

async fn not_found(request: Request) -> AppError {
    AppError::NotFound(format!("no route {} {}", request.method(), request.uri().path()))
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

//! Shared fixtures of the HTTP tests: a temp SQLite store with the demo workshop, events
//! put in through the store's own ingest, and requests sent to the app without a socket.

#![allow(dead_code, reason = "each test binary uses a different part of the fixtures")]

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::sync::{Notify, watch};
use touchstone_gateway::http::{AppState, app};
use touchstone_gateway::import;
use touchstone_gateway::store::Store;
use touchstone_gateway::store::ingest::Incoming;
use touchstone_model::event::{
    BalanceIdentity, Event, Fact, Stability, StoneMovement, Weighing, WeightPurpose,
};
use touchstone_model::ids::EventId;
use touchstone_model::protocol::{BalanceState, StatusMessage};
use tower::ServiceExt;

/// The token every fixture app requires.
pub const TOKEN: &str = "test-token-5f1c";

/// A store with the demo workshop and an app over it.
pub struct Fixture {
    pub store: Store,
    pub app: Router,
    pub master_changed: Arc<Notify>,
    pub ready: watch::Sender<bool>,
    /// The dashboard's floor counter, to move it as the ingest would.
    pub floor: Arc<watch::Sender<u64>>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// A fresh store with the demo master data, ready, with [`TOKEN`] required.
    pub async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&database_url(&dir).await).await.unwrap();
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo");
        import::import_dir(&store, &demo).await.unwrap();
        let master_changed = Arc::new(Notify::new());
        let (ready, ready_rx) = watch::channel(true);
        let mut state = AppState::new(store.clone(), TOKEN.to_owned());
        state.master_changed = master_changed.clone();
        state.ready = ready_rx;
        let floor = state.floor.clone();
        let app = app(state);
        Fixture { store, app, master_changed, ready, floor, _dir: dir }
    }

    /// Sends a request with the token and returns the status and JSON body.
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        self.call_as(method, uri, body, Some(TOKEN)).await
    }

    /// `GET uri` with the token.
    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.call(Method::GET, uri, None).await
    }

    /// Sends a request with the given token, or none.
    pub async fn call_as(
        &self,
        method: Method,
        uri: &str,
        body: Option<Vec<u8>>,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request.body(body.map_or_else(Body::empty, Body::from)).unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|err| panic!("{status}: body is not JSON ({err}): {bytes:?}"))
        };
        (status, value)
    }

    /// Commits `events` as one batch received at `at`.
    pub async fn commit(&self, events: Vec<Event>, at: DateTime<Utc>) {
        let batch: Vec<Incoming> =
            events.into_iter().map(|event| Incoming { event, received_at: at }).collect();
        self.store.commit_batch(&batch).await.unwrap();
    }

    /// Records a heartbeat of `station`.
    pub async fn heartbeat(&self, station: &str, backlog: u64) {
        let status = StatusMessage {
            v: 1,
            station: station.parse().unwrap(),
            online: true,
            at: Some(Utc::now()),
            backlog,
            balance: BalanceState::Connected,
            balance_detail: Some("/dev/ttyUSB0".to_owned()),
            version: "0.1.0".to_owned(),
            operator: Some("op-priya".parse().unwrap()),
        };
        self.store.record_status(&status, Utc::now().timestamp_micros()).await.unwrap();
    }
}

/// A fresh SQLite file in `dir`, or, when `TOUCHSTONE_TEST_POSTGRES` holds a server URL
/// such as `postgres://postgres@127.0.0.1:5432`, a fresh database on that server. The
/// PostgreSQL databases are left behind for inspection; drop them with the server.
async fn database_url(dir: &tempfile::TempDir) -> String {
    let Ok(base) = std::env::var("TOUCHSTONE_TEST_POSTGRES") else {
        return Store::sqlite_url(dir.path());
    };
    sqlx::any::install_default_drivers();
    let name = format!("ts_http_{}", uuid::Uuid::now_v7().simple());
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&format!("{base}/postgres"))
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    format!("{base}/{name}")
}

/// Builds the events of one bench, numbering them from `first_seq`.
pub struct Bench {
    pub station: &'static str,
    pub operator: &'static str,
    pub seq: u64,
    pub clock: DateTime<Utc>,
}

impl Bench {
    pub fn new(station: &'static str, operator: &'static str) -> Bench {
        let clock = "2026-12-01T08:00:00Z".parse().unwrap();
        Bench { station, operator, seq: 0, clock }
    }

    /// The next event of this bench about `job`.
    pub fn event(&mut self, job: Option<&str>, fact: Fact) -> Event {
        self.seq += 1;
        self.clock += Duration::minutes(7);
        Event {
            id: EventId::now_v7(),
            station: self.station.parse().unwrap(),
            seq: self.seq,
            operator: Some(self.operator.parse().unwrap()),
            job: job.map(|j| j.parse().unwrap()),
            recorded_at: self.clock,
            fact,
        }
    }

    pub fn start(&mut self, job: &str, stage: &str) -> Event {
        self.event(Some(job), Fact::StageStarted { stage: stage.parse().unwrap() })
    }

    pub fn finish(&mut self, job: &str, stage: &str) -> Event {
        self.event(Some(job), Fact::StageFinished { stage: stage.parse().unwrap() })
    }

    pub fn weigh(&mut self, job: &str, stage: &str, purpose: WeightPurpose, grams: &str) -> Event {
        let weighing = Weighing {
            purpose,
            grams: grams.parse().unwrap(),
            value: grams.to_owned(),
            unit: "g".to_owned(),
            raw: format!("S S     {grams} g"),
            stability: Stability::Stable,
            balance: BalanceIdentity {
                protocol: "mt-sics".to_owned(),
                model: Some("ML304T".to_owned()),
                serial: Some("B912345678".to_owned()),
            },
            stage: Some(stage.parse().unwrap()),
            alloy: None,
            tree: None,
        };
        self.event(Some(job), Fact::WeightRecorded(weighing))
    }

    pub fn issue_stone(&mut self, job: &str, stone: &str) -> Event {
        let movement = StoneMovement::Stone { id: stone.parse().unwrap(), broken: false };
        self.event(Some(job), Fact::StoneIssued(movement))
    }

    pub fn note(&mut self, job: &str, text: &str) -> Event {
        self.event(Some(job), Fact::Note { text: text.to_owned() })
    }
}

/// A few days of work on demo jobs: casting and cleanup of J-2026-0141 with weights,
/// setting of J-2026-0147 with a stone of another job (an anomaly), and notes.
pub async fn floor_day(fx: &Fixture) {
    let at: DateTime<Utc> = "2026-12-01T09:00:00Z".parse().unwrap();
    let mut casting = Bench::new("casting-1", "op-tomas");
    let mut bench = Bench::new("bench-1", "op-amara");
    let mut setting = Bench::new("setting-1", "op-priya");
    // Bench clocks run on: the cleanup bench starts after casting has finished.
    bench.clock += Duration::hours(3);
    setting.clock += Duration::hours(3);
    let job = "J-2026-0141";
    let batch = vec![
        casting.start(job, "casting"),
        casting.weigh(job, "casting", WeightPurpose::Issue, "6.20"),
        casting.weigh(job, "casting", WeightPurpose::Receipt, "6.17"),
        casting.finish(job, "casting"),
    ];
    fx.commit(batch, at).await;
    let batch = vec![
        bench.start(job, "cleanup"),
        bench.weigh(job, "cleanup", WeightPurpose::Issue, "6.17"),
        bench.weigh(job, "cleanup", WeightPurpose::Receipt, "6.050"),
        bench.weigh(job, "cleanup", WeightPurpose::ScrapReturn, "0.080"),
        bench.note(job, "porosity on the left shoulder, filed out"),
        setting.start("J-2026-0147", "setting"),
        setting.issue_stone("J-2026-0147", "ST-40117"),
    ];
    fx.commit(batch, at + Duration::hours(3)).await;
}

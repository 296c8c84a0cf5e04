//! Dashboard benchmark: a year of a busy workshop loaded through the gateway's own ingest,
//! then every page's server time over repeated requests, and the live update's delay from a
//! bench's MQTT publish to the refreshed page.
//!
//! The workshop: 100 stations over the 12 demo stages, 150 workers, jobs released evenly over
//! the 365 days before now, each passing its route with starts, weighings and finishes, so
//! that about three million events are stored (`--quick`: about 100,000). Jobs whose route
//! runs past now are the work in progress. Events are committed 1,000 at a time through
//! `Store::commit_batch`, the same code the gateway's writer runs, so every derived row and
//! daily aggregate is built as it would be in production. Then the release gateway runs on
//! that database as a child process and is measured over HTTP on loopback.
//!
//! Run: `cargo bench -p touchstone-tests --bench dashboard` (`-- --quick` for a short run,
//! `-- --postgres` for PostgreSQL instead of SQLite, `-- --keep DIR` to keep the SQLite
//! database in DIR and measure it again next time without loading it anew).

#![expect(
    clippy::cast_precision_loss,
    reason = "counts far below 2^52 are turned into rates and grams for generated data"
)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use rust_decimal::Decimal;
use touchstone_gateway::dashboard::auth::hash_password;
use touchstone_gateway::store::Store;
use touchstone_gateway::store::ingest::Incoming;
use touchstone_gateway::store::users::UserRow;
use touchstone_model::event::{BalanceIdentity, Event, Fact, Stability, Weighing, WeightPurpose};
use touchstone_model::ids::{EventId, StationId};
use touchstone_model::metal::Alloy;
use touchstone_model::workshop::{Job, LossBand, Operator, Role, StageDef, Station};
use touchstone_tests::bench::Bench;
use touchstone_tests::servers::Postgres;
use touchstone_tests::{GatewayProcess, GatewaySetup};

/// Stations in the workshop.
const STATIONS: usize = 100;

/// Workers.
const WORKERS: usize = 150;

/// Requests per page after the warm-up.
const REQUESTS: usize = 40;

/// Live updates measured.
const LIVE_ROUNDS: usize = 30;

/// A small deterministic generator, so every run loads the same workshop.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A number in `0.0..1.0`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1_u64 << 53) as f64
    }
}

/// The generated master data.
struct Workshop {
    stages: Vec<StageDef>,
    stations: Vec<Station>,
    operators: Vec<Operator>,
    alloys: Vec<Alloy>,
    bands: Vec<LossBand>,
    /// The stations and their workers, per stage.
    benches: HashMap<String, Vec<(StationId, String)>>,
}

fn workshop() -> anyhow::Result<Workshop> {
    let stages: Vec<StageDef> =
        serde_json::from_str(include_str!("../../gateway/demo/stages.json"))?;
    let alloys: Vec<Alloy> = serde_json::from_str(include_str!("../../gateway/demo/alloys.json"))?;
    let bands: Vec<LossBand> =
        serde_json::from_str(include_str!("../../gateway/demo/loss-bands.json"))?;
    let mut stations = Vec::new();
    let mut benches: HashMap<String, Vec<(StationId, String)>> = HashMap::new();
    for i in 0..STATIONS {
        let stage = &stages[i % stages.len()];
        let id: StationId = format!("st-{i:03}").parse()?;
        let worker = format!("op-{:03}", i % WORKERS);
        benches.entry(stage.id.to_string()).or_default().push((id.clone(), worker));
        stations.push(Station {
            id,
            name: format!("{} {}", stage.name, i / stages.len() + 1),
            stages: vec![stage.id.clone()],
        });
    }
    let operators = (0..WORKERS)
        .map(|i| -> anyhow::Result<Operator> {
            Ok(Operator {
                id: format!("op-{i:03}").parse()?,
                name: format!("Worker {i:03}"),
                badge: format!("B-{i:05}").parse()?,
                role: if i % 25 == 0 { Role::Supervisor } else { Role::Worker },
                active: true,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Workshop { stages, stations, operators, alloys, bands, benches })
}

/// Writes one job's events, in time order, up to `now`.
struct JobPlan {
    job: Job,
    events: Vec<Event>,
}

fn plan_job(
    n: usize,
    released: DateTime<Utc>,
    now: DateTime<Utc>,
    workshop: &Workshop,
    seqs: &mut HashMap<StationId, u64>,
    rng: &mut Rng,
) -> anyhow::Result<JobPlan> {
    let optional = ["setting", "plating", "engraving", "assembly"];
    let route: Vec<_> = workshop
        .stages
        .iter()
        .filter(|s| !optional.contains(&s.id.as_str()) || rng.below(2) == 0)
        .map(|s| s.id.clone())
        .collect();
    let alloy = &workshop.alloys[usize::try_from(rng.below(workshop.alloys.len() as u64))?];
    let due = (released + chrono::Duration::days(12 + i64::try_from(rng.below(20))?)).date_naive();
    let job: Job = serde_json::from_value(serde_json::json!({
        "id": format!("J-{n:06}"),
        "customer_ref": format!("SO-{:05} Customer {}", n % 90_000, n % 977),
        "description": "Ring, generated for the dashboard benchmark",
        "alloy": alloy.code,
        "due": due,
        "route": route,
        "approved_cad": "r1",
        "latest_cad": "r1",
    }))?;
    let mut events = Vec::new();
    let mut at = released;
    let mut metal = 4.0 + 20.0 * rng.unit();
    for stage in &job.route {
        // Waiting in the queue (up to three days), then the work itself; both vary a lot
        // from job to job, and a job's route takes about two weeks.
        at += chrono::Duration::minutes(i64::try_from(20 + rng.below(3 * 24 * 60))?);
        let benches = &workshop.benches[stage.as_str()];
        let (station, worker) = &benches[usize::try_from(rng.below(benches.len() as u64))?];
        let weighed = workshop.stages.iter().any(|s| &s.id == stage && s.requires_weight);
        let work = chrono::Duration::minutes(i64::try_from(10 + rng.below(5 * 60))?);
        let mut facts = vec![Fact::StageStarted { stage: stage.clone() }];
        if weighed {
            let issued = metal;
            // Most visits lose a little, within the band; one in fifty loses too much.
            let loss_percent = if rng.below(50) == 0 { 2.5 } else { 0.6 * rng.unit() };
            let received = issued * (1.0 - loss_percent / 100.0 * 0.8);
            let scrap = issued - received - issued * loss_percent / 100.0 * 0.2;
            facts.push(weigh(WeightPurpose::Issue, issued, stage));
            facts.push(weigh(WeightPurpose::Receipt, received, stage));
            if rng.below(3) == 0 && scrap > 0.001 {
                facts.push(weigh(WeightPurpose::ScrapReturn, scrap, stage));
            }
            metal = received;
        }
        facts.push(Fact::StageFinished { stage: stage.clone() });
        let step = work / i32::try_from(facts.len())?;
        for fact in facts {
            if at > now {
                return Ok(JobPlan { job, events });
            }
            let seq = seqs.entry(station.clone()).or_insert(0);
            *seq += 1;
            events.push(Event {
                id: EventId::now_v7(),
                station: station.clone(),
                seq: *seq,
                operator: Some(worker.parse()?),
                job: Some(job.id.clone()),
                recorded_at: at,
                fact,
            });
            at += step;
        }
    }
    Ok(JobPlan { job, events })
}

fn weigh(purpose: WeightPurpose, grams: f64, stage: &touchstone_model::ids::StageId) -> Fact {
    let value = Decimal::from_f64_retain(grams).unwrap_or_default().round_dp(3);
    Fact::WeightRecorded(Weighing {
        purpose,
        grams: touchstone_model::metal::Grams::new(value),
        value: value.to_string(),
        unit: "g".into(),
        raw: format!("S S {value:>10} g"),
        stability: Stability::Stable,
        balance: BalanceIdentity {
            protocol: "mt-sics".into(),
            model: Some("XS204".into()),
            serial: Some("B0001".into()),
        },
        stage: Some(stage.clone()),
        alloy: None,
        tree: None,
    })
}

/// Loads the workshop and a year of events; returns how many events were stored.
async fn load(store: &Store, target_events: usize) -> anyhow::Result<usize> {
    let workshop = workshop()?;
    let now = Utc::now();
    let now_us = now.timestamp_micros();
    store.upsert_list(&workshop.stages, now_us).await?;
    store.upsert_list(&workshop.stations, now_us).await?;
    store.upsert_list(&workshop.operators, now_us).await?;
    store.upsert_list(&workshop.alloys, now_us).await?;
    store.upsert_list(&workshop.bands, now_us).await?;

    // About 32 events a job: spread the jobs evenly over the year.
    let jobs = target_events / 32;
    let year = chrono::Duration::days(365);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut seqs = HashMap::new();
    let mut batch: Vec<Incoming> = Vec::with_capacity(1_000);
    let mut stored = 0;
    let started = Instant::now();
    let mut pending_jobs = Vec::new();
    for n in 0..jobs {
        let released = now - year + year * i32::try_from(n)? / i32::try_from(jobs)?;
        let plan = plan_job(n, released, now, &workshop, &mut seqs, &mut rng)?;
        pending_jobs.push(plan.job);
        for event in plan.events {
            let received_at = event.recorded_at + chrono::Duration::milliseconds(150);
            batch.push(Incoming { event, received_at });
        }
        if batch.len() >= 1_000 || n + 1 == jobs {
            // Master data first, as an ERP sends jobs before the floor works them.
            store.upsert_jobs(&pending_jobs, now_us).await?;
            pending_jobs.clear();
            store.commit_batch(&batch).await?;
            stored += batch.len();
            batch.clear();
        }
        if n % 10_000 == 0 && n > 0 {
            let rate = stored as f64 / started.elapsed().as_secs_f64();
            eprintln!("  {n} jobs, {stored} events, {rate:.0} events/s");
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "Loaded {jobs} jobs and {stored} events in {seconds:.0} s ({:.0} events/s through \
         commit_batch).\n",
        stored as f64 / seconds
    );
    Ok(stored)
}

/// Milliseconds at `percent` of sorted samples.
fn percentile(sorted: &[f64], percent: usize) -> f64 {
    let index = (sorted.len().saturating_sub(1) * percent).div_ceil(100);
    sorted.get(index).copied().unwrap_or(0.0)
}

struct Client {
    http: reqwest::Client,
    base: String,
    cookie: String,
    token: String,
}

impl Client {
    async fn sign_in(
        gateway: &GatewayProcess,
        user: &str,
        password: &str,
    ) -> anyhow::Result<Client> {
        let http =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
        let response = http
            .post(format!("{}/login", gateway.http))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("username={user}&password={password}"))
            .send()
            .await?;
        let cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .context("no session cookie: sign-in failed")?
            .to_owned();
        Ok(Client { http, base: gateway.http.clone(), cookie, token: gateway.token.clone() })
    }

    /// One GET; returns the server's own time and the time seen here, in milliseconds.
    async fn time(&self, path: &str) -> anyhow::Result<(f64, f64)> {
        let started = Instant::now();
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = response.status();
        let server = response
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("app;dur="))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN);
        let body = response.bytes().await?;
        let client = started.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(status.is_success(), "GET {path}: {status}");
        anyhow::ensure!(!body.is_empty(), "GET {path}: empty body");
        Ok((server, client))
    }
}

async fn pages(client: &Client, store: &Store) -> anyhow::Result<()> {
    // A job with a long story, and a customer reference to search for.
    let open = store.open_jobs().await?;
    let job = open.iter().max_by_key(|j| j.route.len()).context("an open job")?;
    let pages = vec![
        ("floor board", "/".to_owned()),
        ("late and at risk", "/late".to_owned()),
        ("bottlenecks, 30 days", "/bottlenecks".to_owned()),
        ("bottlenecks, 365 days", "/bottlenecks?days=365".to_owned()),
        ("stations", "/stations".to_owned()),
        ("metal, 30 days", "/metal".to_owned()),
        ("metal, 365 days", "/metal?days=365".to_owned()),
        ("job timeline", format!("/jobs/{}", job.job_id)),
        ("search by customer", format!("/search?q={}", job.customer_ref.replace(' ', "+"))),
        ("search by worker", "/search?q=Worker+042".to_owned()),
        ("open jobs at a stage", "/search?stage=polish".to_owned()),
        ("dead letters", "/dead-letters".to_owned()),
        ("floor board as CSV", "/?csv=stages".to_owned()),
        ("loss by worker as CSV, 365 days", "/metal?days=365&csv=loss-by-worker".to_owned()),
        ("API: event feed, 1,000 events", "/api/v1/events?after=1000000&limit=1000".to_owned()),
    ];
    println!("| page | server p50 | server p95 | server max | seen by the client p95 |");
    println!("|---|---|---|---|---|");
    for (name, path) in pages {
        for _ in 0..5 {
            client.time(&path).await?;
        }
        let mut server = Vec::with_capacity(REQUESTS);
        let mut seen = Vec::with_capacity(REQUESTS);
        for _ in 0..REQUESTS {
            let (s, c) = client.time(&path).await?;
            server.push(s);
            seen.push(c);
        }
        server.sort_by(f64::total_cmp);
        seen.sort_by(f64::total_cmp);
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
            percentile(&server, 50),
            percentile(&server, 95),
            server.last().copied().unwrap_or_default(),
            percentile(&seen, 95)
        );
    }
    println!();
    Ok(())
}

/// From a bench's publish to the `floor` event on an open page's stream, and to the page's
/// new `<main>` fetched as the browser's script does.
async fn live(client: &Client, gateway: &GatewayProcess, store: &Store) -> anyhow::Result<()> {
    let workshop = workshop()?;
    let open = store.open_jobs().await?;
    let waiting: Vec<_> = open
        .iter()
        .filter(|j| !j.in_progress && !j.held && j.last_event_us.is_some())
        .filter_map(|j| j.current_or_next().map(|s| (j.job_id.clone(), s.clone())))
        .take(LIVE_ROUNDS)
        .collect();
    let working = open.iter().filter(|j| j.in_progress).count();
    anyhow::ensure!(
        waiting.len() == LIVE_ROUNDS,
        "{} jobs wait for a stage, {working} are worked, of {} open",
        waiting.len(),
        open.len()
    );
    let stations = gateway.get("/api/v1/stations").await?;
    let last_seq = |id: &StationId| {
        stations["stations"]
            .as_array()
            .and_then(|all| all.iter().find(|s| s["id"] == id.as_str()))
            .and_then(|s| s["last_seq"].as_u64())
            .unwrap_or(0)
    };

    let response = client
        .http
        .get(format!("{}/live", client.base))
        .header("cookie", &client.cookie)
        .send()
        .await?;
    anyhow::ensure!(response.status().is_success(), "the live stream: {}", response.status());
    let mut stream = response.bytes_stream();
    let mut to_event = Vec::new();
    let mut to_page = Vec::new();
    let mut benches: HashMap<StationId, Bench> = HashMap::new();
    for (job, stage) in waiting {
        let (station, _) = &workshop.benches[stage.as_str()][0];
        if !benches.contains_key(station) {
            let mut bench = Bench::connect(&gateway.mqtt_url, station.as_str()).await?;
            bench.continue_after(last_seq(station));
            benches.insert(station.clone(), bench);
        }
        let bench = benches.get_mut(station).context("the bench")?;
        let event = bench.event(Some(&job), Fact::StageStarted { stage });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        bench.publish(&event).await?;
        loop {
            let chunk = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .context("no live event within 10 s")?
                .context("the live stream ended")??;
            if String::from_utf8_lossy(&chunk).contains("event: floor") {
                break;
            }
        }
        to_event.push(started.elapsed().as_secs_f64() * 1000.0);
        let page = client
            .http
            .get(format!("{}/", client.base))
            .header("cookie", &client.cookie)
            .header("x-touchstone-partial", "1")
            .send()
            .await?;
        page.bytes().await?;
        to_page.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    to_event.sort_by(f64::total_cmp);
    to_page.sort_by(f64::total_cmp);
    println!("| live update, {LIVE_ROUNDS} publishes | p50 | p95 | max |");
    println!("|---|---|---|---|");
    for (name, samples) in
        [("publish to the page's event", &to_event), ("publish to the new page", &to_page)]
    {
        println!(
            "| {name} | {:.0} ms | {:.0} ms | {:.0} ms |",
            percentile(samples, 50),
            percentile(samples, 95),
            samples.last().copied().unwrap_or_default()
        );
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let use_postgres = std::env::args().any(|a| a == "--postgres");
    let target = if quick { 100_000 } else { 3_000_000 };
    let dir = tempfile::tempdir()?;
    let args: Vec<String> = std::env::args().collect();
    let keep = args.iter().position(|a| a == "--keep").and_then(|i| args.get(i + 1));
    let db_dir = keep.map_or_else(|| dir.path().to_owned(), std::path::PathBuf::from);
    std::fs::create_dir_all(&db_dir)?;
    let db_file = db_dir.join("touchstone.db");
    let reuse = keep.is_some() && db_file.exists();
    let postgres = if use_postgres { Some(Postgres::start().await?) } else { None };
    let url = match &postgres {
        Some(pg) => pg.create_database("dashboard").await?,
        None => format!("sqlite://{}?mode=rwc", db_file.display()),
    };
    println!(
        "# dashboard benchmark: {} backend, about {target} events\n",
        if use_postgres { "PostgreSQL" } else { "SQLite" }
    );

    let store = Store::open(&url).await?;
    let password = "benchmark-password";
    if reuse {
        println!("Reusing the workshop in {}.\n", db_file.display());
        measure(&store, &url, dir.path(), password, 0).await?;
        store.close().await;
        return Ok(());
    }
    let stored = load(&store, target).await?;
    let hash = tokio::task::spawn_blocking(move || hash_password(password))
        .await?
        .map_err(anyhow::Error::msg)?;
    let manager = UserRow {
        username: "bench".into(),
        display_name: "Benchmark".into(),
        role: Role::Manager,
        password_hash: hash,
        disabled: false,
    };
    store.create_user(&manager, Utc::now().timestamp_micros()).await?;
    measure(&store, &url, dir.path(), password, stored).await?;
    store.close().await;
    Ok(())
}

/// Runs the gateway on the loaded database and measures its pages and live updates.
async fn measure(
    store: &Store,
    url: &str,
    dir: &std::path::Path,
    password: &str,
    stored: usize,
) -> anyhow::Result<()> {
    let setup = GatewaySetup { database: Some(url.to_owned()), ..GatewaySetup::default() };
    let gateway = GatewayProcess::start(dir.join("gateway"), setup).await?;
    let client = Client::sign_in(&gateway, "bench", password).await?;
    if stored > 0 {
        println!("{stored} events stored.");
    }
    println!("Every page {REQUESTS} times after 5 warm-up requests:\n");
    pages(&client, store).await?;
    live(&client, &gateway, store).await
}

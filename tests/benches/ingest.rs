//! Ingest benchmark: the gateway against what its parts allow, side by side in one run.
//!
//! For each database (SQLite, PostgreSQL), on one Mosquitto broker:
//! (a) plain MQTT QoS 1 publishers to a subscriber, no gateway;
//! (b) the gateway ingesting the same stream, with commits and acknowledgements, timed until
//!     the publishers hold every acknowledgement;
//! (c) a plain batched insert of the same rows straight into the same table;
//! (d) the gateway draining a backlog of queued events after being down;
//! plus the gateway committing one event per transaction, and publish-to-acknowledgement
//! latency at a tenth of the measured full rate. (a), (b) and (c) alternate for several rounds
//! and report medians, because this machine is shared and noisy.
//!
//! Run: `cargo bench -p touchstone-tests --bench ingest` (add `-- --quick` for a short run,
//! `-- --backend sqlite` for one database).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rumqttc::{AsyncClient, Event as MqttEvent, MqttOptions, Packet, QoS};
use tokio::sync::Barrier;
use touchstone_gateway::store::ingest::ROWS_PER_STATEMENT;
use touchstone_gateway::store::{Placeholders, statement_chunks};
use touchstone_model::event::{Event, WeightPurpose};
use touchstone_model::ids::EventId;
use touchstone_model::protocol::{encode_event, topics};
use touchstone_tests::bench::{Bench, event_at, host_port, weighing};
use touchstone_tests::cpu::{CpuSample, CpuUse};
use touchstone_tests::servers::{Mosquitto, Postgres};
use touchstone_tests::{GatewayProcess, GatewaySetup};

const STATIONS: usize = 10;

struct Sizes {
    stream: usize,
    rounds: usize,
    backlog: usize,
    single: usize,
    latency_secs: u64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes = if quick {
        Sizes { stream: 5_000, rounds: 1, backlog: 10_000, single: 500, latency_secs: 3 }
    } else {
        Sizes { stream: 20_000, rounds: 3, backlog: 100_000, single: 2_000, latency_secs: 10 }
    };
    let mosquitto = Mosquitto::start().await?;
    let postgres = Postgres::start().await?;
    println!(
        "# ingest benchmark: {} events per stream from {STATIONS} stations, {} rounds\n",
        sizes.stream, sizes.rounds
    );
    // `--backend sqlite` or `--backend postgres` runs one database only, for profiling.
    let args: Vec<String> = std::env::args().collect();
    let only = args.iter().position(|a| a == "--backend").and_then(|i| args.get(i + 1));
    for backend in ["sqlite", "postgres"] {
        if only.is_some_and(|only| only != backend) {
            continue;
        }
        run_backend(backend, &mosquitto, &postgres, &sizes)
            .await
            .with_context(|| backend.to_owned())?;
    }
    Ok(())
}

async fn database(
    backend: &str,
    postgres: &Postgres,
    dir: &std::path::Path,
    name: &str,
) -> anyhow::Result<String> {
    Ok(match backend {
        "sqlite" => format!("sqlite://{}?mode=rwc", dir.join(format!("{name}.db")).display()),
        _ => postgres.create_database(name).await?,
    })
}

async fn run_backend(
    backend: &str,
    mosquitto: &Mosquitto,
    postgres: &Postgres,
    sizes: &Sizes,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut a = Vec::new();
    let mut b = Vec::new();
    let mut c = Vec::new();
    let mut single = Vec::new();
    let mut cpu = CpuTotals::default();
    for round in 0..sizes.rounds {
        let streams = make_streams(sizes.stream);
        a.push(cpu.a.add(plain_mqtt(&mosquitto.url(), &streams).await?));

        let url = database(backend, postgres, dir.path(), &format!("b{round}")).await?;
        let gateway =
            start_gateway(dir.path().join(format!("gw-b{round}")), &url, mosquitto, None).await?;
        b.push(cpu.b.add(gateway_stream(&gateway.mqtt_url, &streams).await?));
        drop(gateway);

        let url = database(backend, postgres, dir.path(), &format!("c{round}")).await?;
        c.push(cpu.c.add(plain_insert(&url, &streams).await?));

        // One event per transaction: what batching saves.
        let url = database(backend, postgres, dir.path(), &format!("s{round}")).await?;
        let data_dir = dir.path().join(format!("gw-s{round}"));
        let gateway = start_gateway(data_dir, &url, mosquitto, Some(1)).await?;
        single.push(gateway_stream(&gateway.mqtt_url, &make_streams(sizes.single)).await?.0);
        drop(gateway);
    }
    let (a, b, c, single) = (median(a), median(b), median(c), median(single));
    println!("## {backend}\n");
    println!("| measure | events/s | ratio |\n|---|---|---|");
    println!("| (a) plain MQTT QoS 1 publish to subscribe | {a:.0} | 1.00 of (a) |");
    println!("| (b) gateway: commit, then acknowledge | {b:.0} | {:.2} of (a) |", b / a);
    println!("| (c) plain batched insert, same rows | {c:.0} | |");

    // (d) a backlog queued in the broker for the stopped gateway's persistent session,
    // alternating with a plain insert of the same rows; timed from the gateway's restart
    // (its start-up included) until the last row is in.
    let mut d = Vec::new();
    let mut dc = Vec::new();
    for round in 0..sizes.rounds {
        let url = database(backend, postgres, dir.path(), &format!("d{round}")).await?;
        let data_dir = dir.path().join(format!("gw-d{round}"));
        let mut gateway = start_gateway(data_dir, &url, mosquitto, None).await?;
        gateway.terminate()?;
        let backlog = make_streams(sizes.backlog);
        publish_only(&mosquitto.url(), &backlog).await?;
        let started = Instant::now();
        let before = CpuSample::now();
        gateway.restart().await?;
        wait_rows(&url, sizes.backlog).await?;
        let used = before.until(&CpuSample::now());
        d.push(cpu.d.add((rate(sizes.backlog, started.elapsed()), used, sizes.backlog)));
        drop(gateway);

        let url = database(backend, postgres, dir.path(), &format!("dc{round}")).await?;
        dc.push(cpu.dc.add(plain_insert(&url, &backlog).await?));
    }
    let (d, dc) = (median(d), median(dc));
    println!(
        "| (d) gateway draining {} queued events | {d:.0} | {:.2} of the same rows' plain \
         insert ({dc:.0}/s) |",
        sizes.backlog,
        d / dc
    );

    println!(
        "| gateway with one event per transaction | {single:.0} | (b) is {:.1}x faster |",
        b / single
    );
    println!("\n| CPU per event, all rounds | cores busy | microseconds of CPU per event |");
    println!("|---|---|---|");
    for (name, totals) in [
        ("(a) plain MQTT", &cpu.a),
        ("(b) gateway", &cpu.b),
        ("(c) plain insert", &cpu.c),
        ("(d) gateway drain", &cpu.d),
        ("(d) plain insert", &cpu.dc),
    ] {
        println!("| {name} | {:.2} | {} |", totals.used.cores_busy(), totals.line());
    }
    println!();

    // Latency at a tenth of the measured full rate.
    let url = database(backend, postgres, dir.path(), "latency").await?;
    let gateway = start_gateway(dir.path().join("gw-latency"), &url, mosquitto, None).await?;
    let (p50, p99) = latency(&gateway.mqtt_url, b / 10.0, sizes.latency_secs).await?;
    println!(
        "| publish to acknowledgement at {:.0} events/s | p50 {:.1} ms, p99 {:.1} ms | |\n",
        b / 10.0,
        p50,
        p99
    );
    Ok(())
}

async fn start_gateway(
    data_dir: std::path::PathBuf,
    url: &str,
    mosquitto: &Mosquitto,
    batch_max: Option<usize>,
) -> anyhow::Result<GatewayProcess> {
    let extra_args =
        batch_max.map(|n| vec!["--batch-max".to_owned(), n.to_string()]).unwrap_or_default();
    let setup =
        GatewaySetup { database: Some(url.to_owned()), broker: Some(mosquitto.url()), extra_args };
    GatewayProcess::start(data_dir, setup).await
}

fn make_streams(total: usize) -> Vec<Vec<Event>> {
    let mut streams = Vec::new();
    for s in 0..STATIONS {
        let station =
            format!("bench-{s:02}").parse().unwrap_or_else(|_| unreachable!("a valid id"));
        let events = (0..total / STATIONS)
            .map(|i| {
                let seq = u64::try_from(i + 1).unwrap_or(u64::MAX);
                let job = format!("J-{s}-{}", i % 50);
                event_at(
                    &station,
                    seq,
                    Some(&job),
                    weighing(WeightPurpose::Issue, "3.141", Some("casting")),
                )
            })
            .collect();
        streams.push(events);
    }
    streams
}

/// CPU time of each measure, summed over its rounds.
#[derive(Default)]
struct CpuTotals {
    a: Spent,
    b: Spent,
    c: Spent,
    d: Spent,
    dc: Spent,
}

/// CPU time over some rounds of one measure and the events they handled.
#[derive(Default)]
struct Spent {
    used: CpuUse,
    events: usize,
}

impl Spent {
    /// Adds one round's figures and passes its rate on.
    fn add(&mut self, (rate, used, events): Measured) -> f64 {
        self.used.add(&used);
        self.events += events;
        rate
    }

    fn line(&self) -> String {
        self.used.per_event(self.events)
    }
}

/// A measure's rate with the CPU time it took and how many events it handled.
type Measured = (f64, CpuUse, usize);

fn rate(n: usize, elapsed: Duration) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(u32::MAX)) / elapsed.as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// (a): each station's events published to its topic; one subscriber counts arrivals.
async fn plain_mqtt(url: &str, streams: &[Vec<Event>]) -> anyhow::Result<Measured> {
    let total: usize = streams.iter().map(Vec::len).sum();
    let (host, port) = host_port(url)?;
    let mut options =
        MqttOptions::new(format!("sub-{}", uuid::Uuid::new_v4().simple()), host, port);
    options.set_inflight(1000).set_max_packet_size(1 << 20, 1 << 20);
    let (sub, mut eventloop) = AsyncClient::new(options, 1000);
    sub.subscribe("bench-plain/+/events", QoS::AtLeastOnce).await?;
    loop {
        if let MqttEvent::Incoming(Packet::SubAck(_)) = eventloop.poll().await? {
            break;
        }
    }
    let payloads: Vec<(String, Vec<Vec<u8>>)> = streams
        .iter()
        .map(|s| {
            (format!("bench-plain/{}/events", s[0].station), s.iter().map(encode_event).collect())
        })
        .collect();
    // The publishers connect first; the clock starts when all of them are ready, as it does
    // for (b) once the benches are connected.
    let go = Arc::new(Barrier::new(payloads.len() + 1));
    let publishers = payloads.into_iter().map(|(topic, messages)| {
        let url = url.to_owned();
        let go = Some(go.clone());
        tokio::spawn(async move { publish_all(&url, &topic, messages, go).await })
    });
    let publishers: Vec<_> = publishers.collect();
    go.wait().await;
    let started = Instant::now();
    let before = CpuSample::now();
    let mut received = 0;
    while received < total {
        if let MqttEvent::Incoming(Packet::Publish(_)) = eventloop.poll().await? {
            received += 1;
        }
    }
    let elapsed = started.elapsed();
    let used = before.until(&CpuSample::now());
    for p in publishers {
        p.await??;
    }
    Ok((rate(total, elapsed), used, total))
}

/// Connects, waits for `go` when given, then publishes every message at QoS 1 and returns
/// once the broker has acknowledged them all.
async fn publish_all(
    url: &str,
    topic: &str,
    messages: Vec<Vec<u8>>,
    go: Option<Arc<Barrier>>,
) -> anyhow::Result<()> {
    let (host, port) = host_port(url)?;
    let mut options =
        MqttOptions::new(format!("pub-{}", uuid::Uuid::new_v4().simple()), host, port);
    options.set_inflight(200).set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    loop {
        if let MqttEvent::Incoming(Packet::ConnAck(_)) = eventloop.poll().await? {
            break;
        }
    }
    if let Some(go) = go {
        go.wait().await;
    }
    let n = messages.len();
    let topic = topic.to_owned();
    let sender = tokio::spawn(async move {
        for payload in messages {
            client.publish(topic.clone(), QoS::AtLeastOnce, false, payload).await?;
        }
        anyhow::Ok(client)
    });
    let mut acked = 0;
    while acked < n {
        if let MqttEvent::Incoming(Packet::PubAck(_)) = eventloop.poll().await? {
            acked += 1;
        }
    }
    let client = sender.await??;
    let _ = client.disconnect().await;
    Ok(())
}

/// (b): each stream from its own bench; timed until every acknowledgement is back.
async fn gateway_stream(url: &str, streams: &[Vec<Event>]) -> anyhow::Result<Measured> {
    let total: usize = streams.iter().map(Vec::len).sum();
    let mut benches = Vec::new();
    for stream in streams {
        benches.push((Bench::connect(url, stream[0].station.as_str()).await?, stream.clone()));
    }
    let started = Instant::now();
    let before = CpuSample::now();
    let tasks: Vec<_> = benches
        .into_iter()
        .map(|(mut bench, events)| {
            tokio::spawn(async move {
                for event in &events {
                    bench.publish(event).await?;
                }
                let ids: Vec<EventId> = events.iter().map(|e| e.id).collect();
                bench.wait_acked(&ids, Duration::from_secs(600)).await?;
                bench.disconnect().await;
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed();
    Ok((rate(total, elapsed), before.until(&CpuSample::now()), total))
}

/// Publishes the streams on their stations' event topics, with nobody consuming them now.
async fn publish_only(url: &str, streams: &[Vec<Event>]) -> anyhow::Result<()> {
    let tasks: Vec<_> = streams
        .iter()
        .map(|stream| {
            let url = url.to_owned();
            let topic = topics::events(&stream[0].station);
            let messages: Vec<Vec<u8>> = stream.iter().map(encode_event).collect();
            tokio::spawn(async move { publish_all(&url, &topic, messages, None).await })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
}

async fn wait_rows(url: &str, n: usize) -> anyhow::Result<()> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(url).await?;
    let want = i64::try_from(n)?;
    loop {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM events").fetch_one(&pool).await?;
        if sqlx::Row::try_get::<i64, _>(&row, "n")? >= want {
            return Ok(());
        }
        // Counting is not free on a two-core machine; a tenth of a second is fine resolution
        // for a drain that takes seconds.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// (c): the same rows inserted straight into the events table, 1000 per transaction.
async fn plain_insert(url: &str, streams: &[Vec<Event>]) -> anyhow::Result<Measured> {
    let store = touchstone_gateway::store::Store::open(url).await?;
    store.close().await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(url).await?;
    let all: Vec<&Event> = streams.iter().flatten().collect();
    let started = Instant::now();
    let before = CpuSample::now();
    for batch in all.chunks(1000) {
        let mut tx = pool.begin().await?;
        // The gateway's own statement size and placeholders: numbered ones, and larger
        // statements, pay SQLite's per-parameter lookup.
        let placeholders = Placeholders::of(&tx);
        for chunk in statement_chunks(batch, ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO events (event_id, station_id, seq, operator_id, job_id, fact_type, \
                 recorded_us, received_us, payload) VALUES {}",
                placeholders.value_rows(chunk.len(), 9)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for e in chunk {
                let us = e.recorded_at.timestamp_micros();
                query = query
                    .bind(e.id.to_string())
                    .bind(e.station.to_string())
                    .bind(i64::try_from(e.seq)?)
                    .bind(e.operator.as_ref().map(|o| o.to_string()))
                    .bind(e.job.as_ref().map(|j| j.to_string()))
                    .bind(e.fact.type_name())
                    .bind(us)
                    .bind(us)
                    .bind(String::from_utf8(encode_event(e))?);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    let elapsed = started.elapsed();
    Ok((rate(all.len(), elapsed), before.until(&CpuSample::now()), all.len()))
}

/// Publish-to-acknowledgement latency of one bench publishing at `per_second`.
async fn latency(url: &str, per_second: f64, secs: u64) -> anyhow::Result<(f64, f64)> {
    let mut bench = Bench::connect(url, "bench-latency").await?;
    let interval = Duration::from_secs_f64(1.0 / per_second.max(1.0));
    let mut sent = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut ticker = tokio::time::interval(interval);
    while Instant::now() < deadline {
        ticker.tick().await;
        let event = bench.event(Some("J-L"), weighing(WeightPurpose::Receipt, "1.000", None));
        sent.push((event.id, Instant::now()));
        bench.publish(&event).await?;
        bench.drain_acks(Duration::ZERO).await;
    }
    let ids: Vec<EventId> = sent.iter().map(|(id, _)| *id).collect();
    bench.wait_acked(&ids, Duration::from_secs(60)).await?;
    let mut samples: Vec<Duration> = sent
        .iter()
        .filter_map(|(id, at)| bench.acked_at.get(id).map(|t| t.saturating_duration_since(*at)))
        .collect();
    samples.sort();
    bench.disconnect().await;
    Ok((percentile(&samples, 50), percentile(&samples, 99)))
}

/// The `percent`th of sorted `samples`, in milliseconds.
fn percentile(samples: &[Duration], percent: usize) -> f64 {
    let index = samples.len().saturating_sub(1) * percent / 100;
    samples.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

//! Kiosk benchmark: the journal, the uplink's drain and the screen, each against what its
//! parts allow, side by side in one run.
//!
//! 1. Journal commit latency: one event per transaction, `synchronous = FULL` in WAL mode,
//!    beside a bare SQLite insert with the same settings (what the disk allows).
//! 2. Backlog drain: a journal holding a backlog, drained by the uplink through a real
//!    gateway (its own process, embedded broker, SQLite) until every event is confirmed,
//!    beside a plain QoS 1 publisher pushing the same payloads through the same broker to
//!    a subscriber (what MQTT allows). Alternating rounds, medians.
//! 3. Frame time: the real app's frame (egui layout and tessellation on the CPU, no GPU) on
//!    each main screen.
//! 4. Idle: the real app, its balance polled five times a second, painted only when it asks
//!    for a repaint (as eframe does): frames drawn and CPU used over a quiet period.
//!
//! Run: `cargo bench -p touchstone-kiosk --bench kiosk` (add `-- --quick` for a short run).

#![expect(clippy::unwrap_used, reason = "a benchmark stops loudly on any unexpected error")]
#![expect(clippy::cast_precision_loss, reason = "rates and percentiles are shown rounded")]

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use egui_kittest::Harness;
use rumqttc::{AsyncClient, Event as MqttEvent, MqttOptions, Packet, QoS};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::watch;
use touchstone_kiosk::app::{AppOptions, Clock, KioskApp};
use touchstone_kiosk::config::{BrokerSettings, StationConfig};
use touchstone_kiosk::journal::{Journal, Record};
use touchstone_kiosk::simulate::simulated_fact;
use touchstone_kiosk::station;
use touchstone_kiosk::uplink::{BenchStatus, Uplink, UplinkSettings};
use touchstone_kiosk::{bench::Action, demo_data};
use touchstone_model::ids::StationId;
use touchstone_scales::sim::{SimBalance, SimConfig};
use touchstone_scales::{DriverConfig, Protocol};
use touchstone_tests::{GatewayProcess, GatewaySetup, free_port};

struct Sizes {
    commits: usize,
    backlog: u64,
    rounds: usize,
    frames: usize,
    idle: Duration,
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes = if quick {
        Sizes { commits: 300, backlog: 2_000, rounds: 1, frames: 60, idle: Duration::from_secs(3) }
    } else {
        Sizes {
            commits: 2_000,
            backlog: 20_000,
            rounds: 3,
            frames: 300,
            idle: Duration::from_secs(10),
        }
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    println!("# kiosk benchmark\n");
    runtime.block_on(journal_latency(sizes.commits));
    runtime.block_on(drain(&sizes));
    screens(&runtime, &sizes);
}

/// The value at percentile `p` (0 to 100) of a sorted, non-empty list, nearest rank.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let index = (sorted.len() * p).div_ceil(100).saturating_sub(1);
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn journal_latency(commits: usize) {
    let dir = tempfile::tempdir().unwrap();
    let station: StationId = "bench-1".parse().unwrap();
    let journal = Journal::open(&dir.path().join("journal.db"), &station).await.unwrap();
    let options = SqliteConnectOptions::from_str("sqlite://")
        .unwrap()
        .filename(dir.path().join("bare.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let bare = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    sqlx::query("CREATE TABLE t (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        .execute(&bare)
        .await
        .unwrap();
    let payload = vec![b'x'; 420];
    let (mut ours, mut plain) = (Vec::new(), Vec::new());
    // Alternate the two so both see the same disk weather.
    for n in 0..commits {
        let record = Record { operator: None, job: None, fact: simulated_fact(n as u64) };
        let started = Instant::now();
        journal.append(record, Utc::now()).await.unwrap();
        ours.push(started.elapsed());
        let started = Instant::now();
        sqlx::query("INSERT INTO t (payload) VALUES (?)")
            .bind(&payload)
            .execute(&bare)
            .await
            .unwrap();
        plain.push(started.elapsed());
    }
    ours.sort();
    plain.sort();
    println!("## journal commit latency ({commits} single-event commits, fsync on each)\n");
    println!("| | p50 ms | p99 ms | max ms |\n|---|---|---|---|");
    for (name, v) in [
        ("journal append (seq, encode, insert, commit)", &ours),
        ("bare SQLite insert, same settings", &plain),
    ] {
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} |",
            ms(percentile(v, 50)),
            ms(percentile(v, 99)),
            ms(*v.last().unwrap())
        );
    }
    println!();
}

async fn drain(sizes: &Sizes) {
    let dir = tempfile::tempdir().unwrap();
    let setup = GatewaySetup::default();
    let gateway = GatewayProcess::start(dir.path().join("gateway"), setup).await.unwrap();
    let (mut ours, mut plain, mut direct) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..sizes.rounds {
        let station: StationId = format!("drain-{round}").parse().unwrap();
        let journal =
            Journal::open(&dir.path().join(format!("{station}.db")), &station).await.unwrap();
        for n in 0..sizes.backlog {
            let record = Record { operator: None, job: None, fact: simulated_fact(n) };
            journal.append(record, Utc::now()).await.unwrap();
        }
        let payloads = journal
            .unconfirmed_after(0, u32::try_from(sizes.backlog).unwrap())
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.payload)
            .collect::<Vec<_>>();

        let started = Instant::now();
        let (_status_tx, status) = watch::channel(BenchStatus::default());
        let uplink = Uplink::spawn(
            UplinkSettings {
                station: station.clone(),
                broker: BrokerSettings::parse(&gateway.mqtt_url).unwrap(),
                heartbeat: Duration::from_secs(30),
                version: "bench".into(),
            },
            journal.clone(),
            None,
            status,
        );
        let mut stats = journal.watch_stats();
        while stats.borrow_and_update().backlog > 0 {
            tokio::time::timeout(Duration::from_secs(120), stats.changed()).await.unwrap().unwrap();
        }
        ours.push(sizes.backlog as f64 / started.elapsed().as_secs_f64());
        uplink.shutdown().await;
        journal.close().await;

        plain.push(plain_mqtt(&gateway.mqtt_url, &payloads, round).await);
        direct.push(direct_to_gateway(&gateway.mqtt_url, sizes.backlog, round).await);
    }
    let (ours, plain, direct) = (median(ours), median(plain), median(direct));
    println!("## backlog drain ({} events, median of {} rounds)\n", sizes.backlog, sizes.rounds);
    println!("| | events/s | ratio |\n|---|---|---|");
    println!(
        "| plain QoS 1 publish to a subscriber, same broker and payloads | {plain:.0} | 1.00 |"
    );
    println!(
        "| a bare client publishing as many events to the gateway, all acknowledged \
         | {direct:.0} | {:.2} |",
        direct / plain
    );
    println!(
        "| kiosk uplink to gateway, confirmed in the journal \
         | {ours:.0} | {:.2} ({:.2} of the bare client) |",
        ours / plain,
        ours / direct
    );
    println!();
}

/// A client with no journal: publishes `count` events to the gateway as fast as the broker
/// takes them and waits until all are acknowledged. What the gateway allows one station.
async fn direct_to_gateway(url: &str, count: u64, round: usize) -> f64 {
    let mut bench =
        touchstone_tests::bench::Bench::connect(url, &format!("direct-{round}")).await.unwrap();
    let events: Vec<_> = (0..count).map(|n| bench.event(None, simulated_fact(n))).collect();
    let started = Instant::now();
    for event in &events {
        bench.publish(event).await.unwrap();
    }
    let ids: Vec<_> = events.iter().map(|e| e.id).collect();
    bench.wait_acked(&ids, Duration::from_secs(120)).await.unwrap();
    count as f64 / started.elapsed().as_secs_f64()
}

/// Publishes the payloads at QoS 1 on a topic the gateway ignores, with the same in-flight
/// window as the uplink, and times until a subscriber has them all.
async fn plain_mqtt(url: &str, payloads: &[Vec<u8>], round: usize) -> f64 {
    let broker = BrokerSettings::parse(url).unwrap();
    let topic = format!("bench/plain/{round}");
    let mut sub_options = MqttOptions::new(format!("plain-sub-{round}"), &broker.host, broker.port);
    sub_options.set_max_packet_size(1 << 20, 1 << 20);
    let (sub, mut sub_loop) = AsyncClient::new(sub_options, 1000);
    sub.subscribe(&topic, QoS::AtLeastOnce).await.unwrap();
    loop {
        if let Ok(MqttEvent::Incoming(Packet::SubAck(_))) = sub_loop.poll().await {
            break;
        }
    }
    let mut pub_options = MqttOptions::new(format!("plain-pub-{round}"), &broker.host, broker.port);
    pub_options.set_inflight(100).set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut pub_loop) = AsyncClient::new(pub_options, 1000);
    tokio::spawn(async move { while pub_loop.poll().await.is_ok() {} });
    let total = payloads.len();
    let started = Instant::now();
    let publisher = {
        let payloads = payloads.to_vec();
        let topic = topic.clone();
        tokio::spawn(async move {
            for payload in payloads {
                client.publish(&topic, QoS::AtLeastOnce, false, payload).await.unwrap();
            }
            client
        })
    };
    let mut received = 0;
    while received < total {
        if let Ok(MqttEvent::Incoming(Packet::Publish(_))) = sub_loop.poll().await {
            received += 1;
        }
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    drop(publisher.await);
    rate
}

fn screens(runtime: &tokio::runtime::Runtime, sizes: &Sizes) {
    let dir = tempfile::tempdir().unwrap();
    let config = StationConfig::from_toml(&format!(
        "station = \"setting-1\"\ndata_dir = \"{}\"\n[broker]\nurl = \"mqtt://127.0.0.1:{}\"\n",
        dir.path().join("bench").display(),
        free_port()
    ))
    .unwrap();
    let (sim, running) = runtime.block_on(async {
        let sim = SimBalance::start(SimConfig::new(Protocol::MtSics, dir.path().join("pty")))
            .await
            .unwrap();
        let driver = DriverConfig::new(sim.path(), Protocol::MtSics);
        (Arc::new(sim), station::start(&config, Some(driver), "bench").await.unwrap())
    });
    let clock = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
    running.station.cache.replace(demo_data::master_data(clock).unwrap());
    let station::Running { station, outcomes, stopper } = running;
    let options = AppOptions {
        idle_signout: Duration::from_secs(600),
        scan_gap: Duration::from_millis(50),
        scan_min_len: 4,
        clock: Clock::Fixed(clock),
        version: "bench".into(),
        demo: None,
    };
    let app = {
        let _guard = runtime.enter();
        KioskApp::new(station, outcomes, options)
    };
    let mut harness = Harness::builder()
        .with_size(egui::Vec2::new(1024.0, 600.0))
        .with_step_dt(0.005)
        .build_ui_state(|ui, app: &mut KioskApp| app.show(ui), app);
    let settle = |harness: &mut Harness<'_, KioskApp>| {
        for _ in 0..200 {
            harness.step();
            if !harness.state().bench().is_saving() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        harness.step();
    };
    let scan = |harness: &mut Harness<'_, KioskApp>, code: &str| {
        harness.event(egui::Event::Text(code.to_owned()));
        harness.key_press(egui::Key::Enter);
        harness.step();
        harness.step();
        settle(harness);
    };

    println!(
        "## frame time (egui layout and tessellation on the CPU, no GPU upload; {} frames each)\n",
        sizes.frames
    );
    println!("| screen | p50 ms | p99 ms |\n|---|---|---|");
    let measure = |harness: &mut Harness<'_, KioskApp>, name: &str| {
        let mut times = Vec::with_capacity(sizes.frames);
        for _ in 0..sizes.frames {
            let started = Instant::now();
            harness.step();
            let shapes = harness.output().shapes.clone();
            let primitives = harness.ctx.tessellate(shapes, 1.0);
            std::hint::black_box(primitives);
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "| {name} | {:.2} | {:.2} |",
            ms(percentile(&times, 50)),
            ms(percentile(&times, 99))
        );
    };
    measure(&mut harness, "sign in");
    scan(&mut harness, "B-10425");
    scan(&mut harness, "J-2026-0147");
    measure(&mut harness, "job card");
    harness.state_mut().tap(Action::History);
    settle(&mut harness);
    measure(&mut harness, "history");
    harness.state_mut().tap(Action::Dismiss);
    harness.state_mut().tap(Action::Weigh(touchstone_model::event::WeightPurpose::Issue));
    settle(&mut harness);
    measure(&mut harness, "weighing");
    println!();

    // Idle: paint only when the app asked for it, as eframe's loop does.
    harness.state_mut().tap(Action::Dismiss);
    settle(&mut harness);
    let woken = harness.state().station().wakes();
    let cpu_before = cpu_time();
    let started = Instant::now();
    let mut frames = 0u64;
    let mut seen = woken;
    while started.elapsed() < sizes.idle {
        let now = harness.state().station().wakes();
        if now != seen {
            seen = now;
            harness.step();
            frames += 1;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let cpu = cpu_time().saturating_sub(cpu_before);
    let polls = sizes.idle.as_secs_f64() * 5.0;
    println!(
        "## idle, static job card ({:.0} s, balance polled 5 times a second)\n",
        sizes.idle.as_secs_f64()
    );
    println!("| frames painted | balance replies (about) | process CPU |\n|---|---|---|");
    println!(
        "| {frames} | {polls:.0} | {:.1}% of one core (driver, uplink, this loop's 5 ms checks) |",
        cpu.as_secs_f64() / sizes.idle.as_secs_f64() * 100.0
    );
    drop(sim);
    runtime.block_on(stopper.shutdown());
}

/// User and system CPU time of this process so far, from /proc.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 =
        fields.get(11..13).map_or(0, |f| f.iter().filter_map(|t| t.parse::<u64>().ok()).sum());
    // Linux reports in clock ticks of 1/100 s on every common configuration.
    Duration::from_millis(ticks * 10)
}

//! The journal and the uplink against a real gateway (its own process, embedded broker,
//! SQLite store): confirmation, an offline period, a killed kiosk, a restart with no network.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use touchstone_kiosk::cache::Cache;
use touchstone_kiosk::config::BrokerSettings;
use touchstone_kiosk::journal::{Journal, Record};
use touchstone_kiosk::simulate::simulated_fact;
use touchstone_kiosk::uplink::{BenchStatus, LinkState, Uplink, UplinkSettings};
use touchstone_model::ids::StationId;
use touchstone_tests::{GatewayProcess, GatewaySetup, wait_for};

async fn gateway(dir: &Path) -> GatewayProcess {
    let setup = GatewaySetup { database: None, broker: None, extra_args: vec!["--demo".into()] };
    GatewayProcess::start(dir.join("gateway"), setup).await.unwrap()
}

fn settings(station: &StationId, url: &str) -> UplinkSettings {
    UplinkSettings {
        station: station.clone(),
        broker: BrokerSettings::parse(url).unwrap(),
        heartbeat: Duration::from_secs(1),
        version: "test".into(),
    }
}

/// Every stored event of `station` as (seq, id), in the gateway's commit order.
async fn stored(gateway: &GatewayProcess, station: &str) -> Vec<(u64, String)> {
    let mut after = 0;
    let mut found = Vec::new();
    loop {
        let page = gateway.get(&format!("/api/v1/events?after={after}&limit=1000")).await.unwrap();
        let events = page["events"].as_array().unwrap();
        if events.is_empty() {
            return found;
        }
        for item in events {
            let event = &item["event"];
            if event["station"] == station {
                found.push((event["seq"].as_u64().unwrap(), event["id"].as_str().unwrap().into()));
            }
        }
        after = page["next_after"].as_u64().unwrap();
    }
}

async fn note(journal: &Journal, n: u64) {
    let record = Record { operator: None, job: None, fact: simulated_fact(n) };
    journal.append(record, Utc::now()).await.unwrap();
}

async fn drained(journal: &Journal, timeout: Duration) {
    let mut stats = journal.watch_stats();
    tokio::time::timeout(timeout, async {
        while stats.borrow_and_update().backlog > 0 {
            stats.changed().await.unwrap();
        }
    })
    .await
    .unwrap_or_else(|_| panic!("backlog still {} after {timeout:?}", journal.stats().backlog));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_period_drains_in_order_and_the_cache_works_without_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let mut gateway = gateway(dir.path()).await;
    // A station of its own: the demo history already holds setting-1 and the other benches.
    let station: StationId = "bench-9".parse().unwrap();
    let path = dir.path().join("journal.db");
    let journal = Journal::open(&path, &station).await.unwrap();
    let cache = Cache::load(journal.clone()).await.unwrap();
    let (_status, status) = watch::channel(BenchStatus::default());
    let uplink = Uplink::spawn(
        settings(&station, &gateway.mqtt_url),
        journal.clone(),
        Some(cache.clone()),
        status,
    );

    // Online: the retained master data arrives and events are confirmed.
    wait_for("the demo jobs in the cache", Duration::from_secs(20), async || {
        cache.read().jobs.len() == 12 && !cache.read().operators.is_empty()
    })
    .await
    .unwrap();
    // The gateway's demo brings its history: the snapshots say where each job stands.
    let setting =
        cache.read().jobs.get(&"J-2026-0147".parse().unwrap()).map(|s| s.progress.clone());
    let setting = setting.unwrap();
    assert_eq!(setting.stage.as_ref().map(|s| s.as_str()), Some("setting"));
    assert!(setting.in_progress);
    for n in 0..20 {
        note(&journal, n).await;
    }
    drained(&journal, Duration::from_secs(20)).await;

    // The broker goes away with the gateway: events are journaled, not confirmed.
    gateway.kill().unwrap();
    let mut link = uplink.link();
    tokio::time::timeout(
        Duration::from_secs(20),
        link.wait_for(|l| matches!(l, LinkState::Offline { .. })),
    )
    .await
    .unwrap()
    .unwrap();
    for n in 20..50 {
        note(&journal, n).await;
    }
    assert_eq!(journal.stats().backlog, 30);

    // Back online: the backlog drains.
    gateway.restart().await.unwrap();
    drained(&journal, Duration::from_secs(30)).await;
    let seqs: Vec<u64> = stored(&gateway, "bench-9").await.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=50).collect::<Vec<_>>(), "stored once each, in seq order");
    let anomalies = gateway.get("/api/v1/anomalies?limit=1000").await.unwrap();
    let gaps = anomalies.to_string().matches("sequence_gap").count();
    assert_eq!(gaps, 0, "{anomalies}");

    // A kiosk restarted with no network still knows the workshop.
    uplink.shutdown().await;
    journal.close().await;
    drop(gateway);
    let journal = Journal::open(&path, &station).await.unwrap();
    let cache = Cache::load(journal.clone()).await.unwrap();
    assert_eq!(cache.read().jobs.len(), 12);
    assert!(cache.read().operators.iter().any(|o| o.name == "Mei Tanaka"));
    assert_eq!(journal.stats().last_seq, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_kiosk_loses_nothing_it_called_done_and_nothing_is_stored_twice() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = gateway(dir.path()).await;
    let data = dir.path().join("sim");
    let simulate = |events: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_touchstone-kiosk"));
        command
            .args([
                "simulate",
                "--stations",
                "2",
                "--events",
                events,
                "--broker",
                &gateway.mqtt_url,
            ])
            .args(["--interval-ms", "2", "--drain-secs", "30", "--prefix", "crash", "--data-dir"])
            .arg(&data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        command
    };

    // Kill the kiosk in the middle of a burst, after at least 150 events were "done".
    let mut child = simulate("1000").spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut done: BTreeMap<String, u64> = BTreeMap::new();
    let mut lines = BufReader::new(stdout).lines();
    let mut count = 0;
    while count < 150 {
        let line = lines.next().unwrap().unwrap();
        let mut words = line.split(' ');
        if let (Some("journaled"), Some(station), Some(seq)) =
            (words.next(), words.next(), words.next())
        {
            done.insert(station.into(), seq.parse().unwrap());
            count += 1;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // Restart: the journals continue and everything left unconfirmed is resent.
    let output = simulate("10").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("journaled: 20\n"), "{text}");
    assert!(text.contains("backlog: 0\n"), "{text}");

    for station in ["crash-1", "crash-2"] {
        let journal = Journal::open(&data.join(format!("{station}.db")), &station.parse().unwrap())
            .await
            .unwrap();
        let last = journal.stats().last_seq;
        journal.close().await;
        let done_before_kill = done.get(station).copied().unwrap_or(0);
        assert!(last >= done_before_kill + 10, "{station}: {last} < {done_before_kill} + 10");
        let mut seqs: Vec<u64> = stored(&gateway, station).await.iter().map(|(s, _)| *s).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=last).collect::<Vec<_>>(), "{station}: each event stored once");
    }
    let confirmed: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("confirmed: "))
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(confirmed >= 170, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_acknowledgements_and_snapshots_harm_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = gateway(dir.path()).await;
    let station: StationId = "bench-2".parse().unwrap();
    let journal = Journal::open(&dir.path().join("j.db"), &station).await.unwrap();
    let cache = Cache::load(journal.clone()).await.unwrap();
    let (_status, status) = watch::channel(BenchStatus::default());
    let uplink = Uplink::spawn(
        settings(&station, &gateway.mqtt_url),
        journal.clone(),
        Some(cache.clone()),
        status,
    );
    wait_for("the operators", Duration::from_secs(20), async || !cache.read().operators.is_empty())
        .await
        .unwrap();

    // Someone else publishes garbage on this bench's acks and a broken retained snapshot.
    let (host, port) = (
        BrokerSettings::parse(&gateway.mqtt_url).unwrap().host,
        BrokerSettings::parse(&gateway.mqtt_url).unwrap().port,
    );
    let (client, mut eventloop) =
        rumqttc::AsyncClient::new(rumqttc::MqttOptions::new("intruder", host, port), 10);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let qos = rumqttc::QoS::AtLeastOnce;
    client.publish("touchstone/v1/stations/bench-2/acks", qos, false, "not json").await.unwrap();
    client.publish("touchstone/v1/master/jobs/J-2026-0147", qos, false, "{\"v\":1}").await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert_eq!(cache.read().jobs.len(), 12, "the old snapshot stays");
    note(&journal, 1).await;
    drained(&journal, Duration::from_secs(20)).await;
    uplink.shutdown().await;
}

//! Events in, one row each, acknowledged after the commit; duplicates stored once; many
//! stations at once; bad payloads into dead letters; job snapshots that follow the floor.

use std::collections::HashSet;
use std::time::Duration;

use touchstone_model::event::{Fact, WeightPurpose};
use touchstone_model::ids::{EventId, JobId};
use touchstone_model::protocol::{AckOutcome, JobSnapshot, encode_event, topics};
use touchstone_tests::bench::{Bench, host_port, weighing};
use touchstone_tests::{GatewayProcess, GatewaySetup};

use crate::{ALL_SETUPS, Rig, Setup, count, db, stored};

const ACK_WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_stored_once_and_acknowledged_after_commit() {
    for setup in ALL_SETUPS {
        let rig = Rig::start(setup).await.unwrap();
        let pool = db(&rig.database_url).await.unwrap();
        let mut bench = Bench::connect(&rig.gateway.mqtt_url, "bench-1").await.unwrap();

        let events = [
            bench.event(None, Fact::SignedIn {}),
            bench.event(Some("J-1001"), Fact::StageStarted { stage: "polish".parse().unwrap() }),
            bench.event(Some("J-1001"), weighing(WeightPurpose::Receipt, "6.118", Some("polish"))),
        ];
        for event in &events {
            bench.publish(event).await.unwrap();
            bench.wait_acked(&[event.id], ACK_WAIT).await.unwrap();
            // The acknowledgement may only come after the commit: the row must be there now.
            assert!(
                stored(&pool, &event.id.to_string()).await.unwrap(),
                "{setup:?}: acked before stored"
            );
        }
        assert_eq!(count(&pool, "events").await.unwrap(), 3, "{setup:?}");
        for event in &events {
            assert_eq!(bench.received[&event.id][0].outcome, AckOutcome::Stored, "{setup:?}");
            assert_eq!(bench.received[&event.id][0].seq, event.seq);
        }
        bench.disconnect().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_sent_five_times_is_stored_once_and_acknowledged_each_time() {
    for setup in [Setup::SqliteEmbedded, Setup::PostgresMosquitto] {
        let rig = Rig::start(setup).await.unwrap();
        let pool = db(&rig.database_url).await.unwrap();
        let mut bench = Bench::connect(&rig.gateway.mqtt_url, "bench-2").await.unwrap();
        let event = bench.event(Some("J-1002"), weighing(WeightPurpose::Issue, "12.50", None));
        for _ in 0..5 {
            bench.publish(&event).await.unwrap();
        }
        bench.wait_acked(&[event.id], ACK_WAIT).await.unwrap();
        bench.drain_acks(Duration::from_secs(1)).await;
        let acks = &bench.received[&event.id];
        assert_eq!(acks.len(), 5, "{setup:?}: every copy is acknowledged");
        assert_eq!(acks.iter().filter(|a| a.outcome == AckOutcome::Stored).count(), 1, "{setup:?}");
        assert_eq!(count(&pool, "events").await.unwrap(), 1, "{setup:?}");
        // The derived totals count the weighing once too.
        let row = sqlx::query(
            "SELECT grams, weighings FROM metal_totals \
             WHERE job_id = 'J-1002' AND purpose = 'issue'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        let grams: String = sqlx::Row::get(&row, "grams");
        let weighings: i64 = sqlx::Row::get(&row, "weighings");
        assert_eq!((grams.parse::<f64>().unwrap(), weighings), (12.5, 1), "{setup:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_from_twenty_stations_all_arrive_once() {
    for setup in [Setup::SqliteEmbedded, Setup::PostgresMosquitto] {
        let rig = Rig::start(setup).await.unwrap();
        let pool = db(&rig.database_url).await.unwrap();
        let mut tasks = Vec::new();
        for station in 0..20 {
            let url = rig.gateway.mqtt_url.clone();
            tasks.push(tokio::spawn(async move {
                let mut bench = Bench::connect(&url, &format!("bench-{station:02}")).await.unwrap();
                let mut ids = Vec::new();
                for i in 0..500 {
                    let job = format!("J-{station:02}-{:03}", i % 25);
                    let event = bench.event(
                        Some(&job),
                        weighing(WeightPurpose::Issue, "1.005", Some("casting")),
                    );
                    bench.publish(&event).await.unwrap();
                    ids.push(event.id);
                }
                bench.wait_acked(&ids, Duration::from_secs(120)).await.unwrap();
                bench.disconnect().await;
                ids
            }));
        }
        let mut all: HashSet<EventId> = HashSet::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        assert_eq!(all.len(), 10_000);
        assert_eq!(count(&pool, "events").await.unwrap(), 10_000, "{setup:?}");
        let gaps = sqlx::query("SELECT COUNT(*) AS n FROM anomalies WHERE kind = 'sequence_gap'")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(
            sqlx::Row::try_get::<i64, _>(&gaps, "n").unwrap(),
            0,
            "{setup:?}: in-order streams have no gaps"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_payloads_land_in_dead_letters_and_the_gateway_keeps_serving() {
    for setup in [Setup::SqliteMosquitto, Setup::PostgresEmbedded] {
        let rig = Rig::start(setup).await.unwrap();
        let pool = db(&rig.database_url).await.unwrap();
        let mut bench = Bench::connect(&rig.gateway.mqtt_url, "bench-3").await.unwrap();
        let own = topics::events(&bench.station);

        let good = bench.event(Some("J-1"), Fact::Note { text: "ok".into() });
        let mut wrong_type: serde_json::Value =
            serde_json::from_slice(&encode_event(&good)).unwrap();
        wrong_type["seq"] = "three".into();
        let mut future: serde_json::Value = serde_json::from_slice(&encode_event(&good)).unwrap();
        future["v"] = 2.into();
        let mut impostor = bench.event(None, Fact::SignedIn {});
        impostor.station = "bench-4".parse().unwrap();

        let bad: Vec<(String, Vec<u8>, &str)> = vec![
            (own.clone(), b"{not json".to_vec(), "invalid payload"),
            (own.clone(), wrong_type.to_string().into_bytes(), "invalid type"),
            (own.clone(), vec![b'x'; 70 * 1024], "exceeds the limit"),
            (own.clone(), future.to_string().into_bytes(), "unsupported protocol version 2"),
            (
                "touchstone/v2/stations/bench-3/events".into(),
                encode_event(&good),
                "unsupported protocol version 2",
            ),
            (own.clone(), encode_event(&impostor), "published on the topic of station `bench-3`"),
            (own.clone(), vec![0xff, 0xfe, 0x00], "invalid payload"),
        ];
        for (topic, payload, _) in &bad {
            bench.publish_raw(topic, payload.clone()).await.unwrap();
        }
        // A good event after the garbage still gets through, in order.
        bench.publish(&good).await.unwrap();
        bench.wait_acked(&[good.id], ACK_WAIT).await.unwrap();

        let letters = rig.gateway.get("/api/v1/dead-letters?limit=100").await.unwrap().to_string();
        assert_eq!(
            count(&pool, "dead_letters").await.unwrap(),
            i64::try_from(bad.len()).unwrap(),
            "{setup:?}"
        );
        for (_, _, reason) in &bad {
            assert!(
                letters.contains(reason),
                "{setup:?}: no dead letter saying {reason:?} in {letters}"
            );
        }
        assert_eq!(count(&pool, "events").await.unwrap(), 1, "{setup:?}");
        let health = reqwest::get(format!("{}/health", rig.gateway.http)).await.unwrap();
        assert!(health.status().is_success());
    }
}

/// The retained snapshot of a job follows it along its route, and only then: a weighing
/// changes nothing a bench caches about the job, so it republishes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_snapshot_follows_its_stage_and_not_its_weighings() {
    let dir = tempfile::tempdir().unwrap();
    let setup = GatewaySetup { extra_args: vec!["--demo".into()], ..GatewaySetup::default() };
    let gateway = GatewayProcess::start(dir.path().join("gateway"), setup).await.unwrap();
    let job: JobId = "J-2026-0147".parse().unwrap();
    let mut snapshots = JobSnapshots::subscribe(&gateway.mqtt_url, &job).await.unwrap();

    // The demo's history left the job in setting; the retained copy says so.
    let retained = snapshots.next(ACK_WAIT).await.expect("a retained snapshot");
    assert_eq!(retained.progress.stage.as_ref().map(|s| s.as_str()), Some("setting"));
    assert!(retained.progress.in_progress);

    let mut bench = Bench::connect(&gateway.mqtt_url, "setting-1").await.unwrap();
    let weighed = bench.event(Some(job.as_str()), weighing(WeightPurpose::Issue, "5.210", None));
    bench.publish(&weighed).await.unwrap();
    bench.wait_acked(&[weighed.id], ACK_WAIT).await.unwrap();
    let after_weighing = snapshots.next(Duration::from_secs(2)).await;
    assert!(after_weighing.is_none(), "republished for a weighing: {after_weighing:?}");

    let finished =
        bench.event(Some(job.as_str()), Fact::StageFinished { stage: "setting".parse().unwrap() });
    bench.publish(&finished).await.unwrap();
    bench.wait_acked(&[finished.id], ACK_WAIT).await.unwrap();
    let moved = snapshots.next(ACK_WAIT).await.expect("a snapshot after the stage finished");
    assert_eq!(moved.job.id, job);
    assert!(!moved.progress.in_progress, "{moved:?}");
    assert_eq!(moved.progress.stage.as_ref().map(|s| s.as_str()), Some("setting"));
    bench.disconnect().await;
}

/// A subscriber to one job's retained snapshot topic.
struct JobSnapshots {
    _client: rumqttc::AsyncClient,
    received: tokio::sync::mpsc::UnboundedReceiver<JobSnapshot>,
}

impl JobSnapshots {
    async fn subscribe(url: &str, job: &JobId) -> anyhow::Result<JobSnapshots> {
        let (host, port) = host_port(url)?;
        let id = format!("snapshots-{}", uuid::Uuid::new_v4().simple());
        let mut options = rumqttc::MqttOptions::new(id, host, port);
        options.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 100);
        let (tx, received) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                        let Ok(snapshot) = serde_json::from_slice(&p.payload) else { continue };
                        if tx.send(snapshot).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) if tx.is_closed() => return,
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        client.subscribe(topics::job(job), rumqttc::QoS::AtLeastOnce).await?;
        Ok(JobSnapshots { _client: client, received })
    }

    /// The next snapshot within `wait`, or none.
    async fn next(&mut self, wait: Duration) -> Option<JobSnapshot> {
        tokio::time::timeout(wait, self.received.recv()).await.ok().flatten()
    }
}

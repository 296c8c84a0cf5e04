//! Faults caused on purpose: the gateway killed with SIGKILL mid-stream, PostgreSQL stopped
//! and started again under a running gateway.

use std::collections::HashSet;
use std::time::Duration;

use touchstone_model::event::{Event, WeightPurpose};
use touchstone_model::ids::EventId;
use touchstone_tests::bench::{Bench, weighing};

use crate::{Rig, Setup, count, db, stored};

/// Resends every event not yet acknowledged, as a kiosk does from its journal, until all are.
async fn resend_until_acked(
    bench: &mut Bench,
    events: &[Event],
    rounds: usize,
) -> anyhow::Result<()> {
    for _ in 0..rounds {
        let missing: Vec<&Event> =
            events.iter().filter(|e| !bench.received.contains_key(&e.id)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        for event in &missing {
            bench.publish(event).await?;
        }
        let ids: Vec<EventId> = missing.iter().map(|e| e.id).collect();
        if bench.wait_acked(&ids, Duration::from_secs(10)).await.is_ok() {
            return Ok(());
        }
    }
    anyhow::bail!("events still unacknowledged after {rounds} rounds of resending")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_killed_mid_stream_loses_nothing_it_acknowledged() {
    for setup in [Setup::SqliteEmbedded, Setup::PostgresMosquitto] {
        let mut rig = Rig::start(setup).await.unwrap();
        let pool = db(&rig.database_url).await.unwrap();
        let mut bench = Bench::connect(&rig.gateway.mqtt_url, "bench-k").await.unwrap();
        let events: Vec<Event> = (0..3000)
            .map(|i| {
                bench.event(
                    Some(&format!("J-{}", i % 10)),
                    weighing(WeightPurpose::Receipt, "2.001", None),
                )
            })
            .collect();

        // Publish the first half, then kill the gateway while acknowledgements are flowing.
        for event in &events[..1500] {
            bench.publish(event).await.unwrap();
        }
        bench.wait_acked(&[events[200].id], Duration::from_secs(30)).await.unwrap();
        rig.gateway.kill().unwrap();
        bench.drain_acks(Duration::from_millis(300)).await;
        let acked_before: HashSet<EventId> = bench.received.keys().copied().collect();
        assert!(!acked_before.is_empty());
        for id in &acked_before {
            assert!(
                stored(&pool, &id.to_string()).await.unwrap(),
                "{setup:?}: acked {id} but it is not stored"
            );
        }

        // Restart, publish the rest, and resend whatever the gateway never confirmed.
        rig.gateway.restart().await.unwrap();
        let mut bench = if matches!(setup, Setup::SqliteEmbedded) {
            // The embedded broker died with the gateway; a kiosk reconnects the same way.
            let mut fresh = Bench::connect(&rig.gateway.mqtt_url, "bench-k").await.unwrap();
            fresh.received = bench.received.clone();
            fresh
        } else {
            bench
        };
        for event in &events[1500..] {
            bench.publish(event).await.unwrap();
        }
        resend_until_acked(&mut bench, &events, 10).await.unwrap();
        assert_eq!(
            count(&pool, "events").await.unwrap(),
            3000,
            "{setup:?}: every event exactly once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_stops_acknowledgements_then_catches_up() {
    let rig = Rig::start(Setup::PostgresMosquitto).await.unwrap();
    let postgres = rig.postgres.as_ref().unwrap();
    let mut bench = Bench::connect(&rig.gateway.mqtt_url, "bench-p").await.unwrap();
    let first = bench.event(Some("J-1"), weighing(WeightPurpose::Issue, "5.000", None));
    bench.publish(&first).await.unwrap();
    bench.wait_acked(&[first.id], Duration::from_secs(30)).await.unwrap();

    postgres.stop().unwrap();
    let during: Vec<Event> = (0..200)
        .map(|_| bench.event(Some("J-1"), weighing(WeightPurpose::Issue, "1.000", None)))
        .collect();
    for event in &during {
        bench.publish(event).await.unwrap();
    }
    // Nothing can be acknowledged while the database is down.
    bench.drain_acks(Duration::from_secs(3)).await;
    let early = during.iter().filter(|e| bench.received.contains_key(&e.id)).count();
    assert_eq!(early, 0, "acknowledged {early} events while PostgreSQL was down");

    postgres.start_again().await.unwrap();
    let ids: Vec<EventId> = during.iter().map(|e| e.id).collect();
    bench.wait_acked(&ids, Duration::from_secs(60)).await.unwrap();
    let pool = db(&rig.database_url).await.unwrap();
    assert_eq!(count(&pool, "events").await.unwrap(), 201);
}

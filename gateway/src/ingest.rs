//! The ingest loop: bench events off MQTT, committed in batches, confirmed back.
//!
//! Two tasks share the work. The pump polls the MQTT connection, decodes every publish and
//! forwards it into a channel it never waits on: the writer's acknowledgements leave through
//! the event loop the pump polls, so the pump must keep polling whatever the writer is doing
//! (the broker's in-flight limit bounds what arrives unacknowledged). The writer takes
//! whatever has queued (at least one message, at most `batch_max`), commits it in one
//! transaction, then publishes the acknowledgements and only then acknowledges the MQTT
//! deliveries to the broker. A lone event is committed at once; under load the queue fills
//! while a commit runs and the next batch is larger, so batching costs a quiet system no
//! latency. Decoding in the pump overlaps it with the writer's commit, when the broker lets
//! the gateway have more messages in flight than one batch holds.
//!
//! **An event is acknowledged only after its transaction committed**, to the bench and to the
//! broker. If the database is down the writer retries the same batch and acknowledges nothing
//! until it succeeds; the broker and the benches keep everything meanwhile.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use rumqttc::{AsyncClient, Event as MqttEvent, EventLoop, Packet, Publish, QoS};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use touchstone_model::ids::{JobId, StationId};
use touchstone_model::protocol::{
    self, AckMessage, DecodeError, StationTopic, VERSION, decode_event, decode_status, topics,
};

use crate::store::ingest::{Committed, Incoming};
use crate::store::{Store, to_us};

/// How the writer is tuned.
#[derive(Debug, Clone, Copy)]
pub struct WriterSettings {
    /// Events per transaction at most.
    pub batch_max: usize,
}

/// Polls the MQTT connection until cancelled, forwarding publishes to the writer and
/// (re)subscribing on every connection. `ready` is true while subscribed.
pub async fn pump(
    mut eventloop: EventLoop,
    client: AsyncClient,
    to_writer: mpsc::UnboundedSender<Received>,
    ready: watch::Sender<bool>,
    cancel: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let event = tokio::select! {
            event = eventloop.poll() => event,
            () = cancel.cancelled() => break,
        };
        match event {
            Ok(MqttEvent::Incoming(Packet::Publish(publish))) => {
                let routed = route(&publish);
                if to_writer.send(Received { publish, routed }).is_err() {
                    break;
                }
            }
            Ok(MqttEvent::Incoming(Packet::ConnAck(ack))) => {
                tracing::info!(session_present = ack.session_present, "connected to MQTT broker");
                backoff = Duration::from_millis(100);
                // Subscribing again is harmless when the session kept the subscriptions.
                for filter in [topics::ALL_EVENTS, topics::ALL_STATUS] {
                    if let Err(err) = client.subscribe(filter, QoS::AtLeastOnce).await {
                        tracing::warn!(error = %err, filter, "subscribing failed");
                    }
                }
            }
            Ok(MqttEvent::Incoming(Packet::SubAck(_))) => {
                ready.send_replace(true);
            }
            Ok(_) => {}
            Err(err) => {
                ready.send_replace(false);
                tracing::warn!(error = %err, retry_in = ?backoff, "MQTT connection lost");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = cancel.cancelled() => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// One MQTT message as the pump decoded it; the delivery is acknowledged with `publish`.
pub struct Received {
    publish: Publish,
    routed: Routed,
}

/// What the writer does with one MQTT message.
#[expect(
    clippy::large_enum_variant,
    reason = "one short-lived value per message, moved straight into the batch; boxing the \
              event would add an allocation and save nothing"
)]
enum Routed {
    Event(Incoming),
    Status(protocol::StatusMessage),
    Dead(String),
}

fn route(publish: &Publish) -> Routed {
    let received_at = Utc::now();
    let routed = match StationTopic::parse(&publish.topic) {
        Ok(StationTopic::Events { version, station }) => check_version(version)
            .and_then(|()| decode_event(&station, &publish.payload))
            .map(|event| Routed::Event(Incoming { event, received_at })),
        Ok(StationTopic::Status { version, station }) => check_version(version)
            .and_then(|()| decode_status(&station, &publish.payload))
            .map(Routed::Status),
        Err(err) => Err(err),
    };
    routed.unwrap_or_else(|err| Routed::Dead(err.to_string()))
}

fn check_version(version: u32) -> Result<(), DecodeError> {
    if version == VERSION {
        Ok(())
    } else {
        Err(DecodeError::UnsupportedVersion { found: version.into() })
    }
}

/// Commits what the pump forwards until the channel closes, then returns after the last
/// batch is committed and acknowledged. Jobs the batch moved along their routes go to
/// `touched`; `floor` moves after every batch.
pub async fn writer(
    store: Store,
    client: AsyncClient,
    mut from_pump: mpsc::UnboundedReceiver<Received>,
    touched: mpsc::UnboundedSender<Vec<JobId>>,
    floor: std::sync::Arc<watch::Sender<u64>>,
    settings: WriterSettings,
) {
    while let Some(first) = from_pump.recv().await {
        let mut batch = vec![first];
        while batch.len() < settings.batch_max {
            match from_pump.try_recv() {
                Ok(received) => batch.push(received),
                Err(_) => break,
            }
        }
        let jobs = process(&store, &client, batch).await;
        // Open dashboard pages refresh after every commit, events or heartbeats.
        floor.send_modify(|v| *v = v.wrapping_add(1));
        if !jobs.is_empty() {
            // The snapshot publisher may have stopped during shutdown; nothing is lost then.
            let _ = touched.send(jobs);
        }
    }
    tracing::info!("ingest writer stopped");
}

/// Stores one batch (retrying until the database takes it), then confirms it.
async fn process(store: &Store, client: &AsyncClient, batch: Vec<Received>) -> Vec<JobId> {
    let mut events = Vec::new();
    let mut deliveries = Vec::with_capacity(batch.len());
    for Received { publish, routed } in batch {
        match routed {
            Routed::Event(incoming) => events.push(incoming),
            Routed::Status(status) => {
                let at = to_us(Utc::now());
                retry("recording a station status", || store.record_status(&status, at)).await;
            }
            Routed::Dead(reason) => {
                tracing::warn!(
                    topic = %publish.topic,
                    bytes = publish.payload.len(),
                    %reason,
                    "dead letter"
                );
                let at = to_us(Utc::now());
                retry("recording a dead letter", || {
                    store.record_dead_letter(&publish.topic, &publish.payload, &reason, at)
                })
                .await;
            }
        }
        deliveries.push(publish);
    }

    let started = std::time::Instant::now();
    let committed = if events.is_empty() {
        Committed::default()
    } else {
        retry("committing a batch of events", || store.commit_batch(&events)).await
    };
    tracing::debug!(
        events = events.len(),
        messages = deliveries.len(),
        took = ?started.elapsed(),
        "batch committed"
    );

    // One acknowledgement message per station, in arrival order within it.
    let mut by_station: BTreeMap<&StationId, Vec<protocol::Ack>> = BTreeMap::new();
    for (incoming, ack) in events.iter().zip(committed.acks) {
        by_station.entry(&incoming.event.station).or_default().push(ack);
    }
    for (station, acks) in by_station {
        let message = AckMessage { v: VERSION, station: station.clone(), acks };
        let payload = serde_json::to_vec(&message).unwrap_or_default();
        if let Err(err) =
            client.publish(topics::acks(station), QoS::AtLeastOnce, false, payload).await
        {
            // The bench will resend and get a duplicate acknowledgement: nothing is lost.
            tracing::warn!(%station, error = %err, "publishing acknowledgements failed");
        }
    }
    for publish in &deliveries {
        if let Err(err) = client.ack(publish).await {
            tracing::warn!(error = %err, "acknowledging a delivery to the broker failed");
        }
    }

    committed.moved
}

/// Runs `op` until it succeeds, backing off up to five seconds between tries. Used where
/// giving up would mean acknowledging something not stored, or dropping it.
async fn retry<T, F, Fut>(what: &str, mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, crate::store::StoreError>>,
{
    let mut backoff = Duration::from_millis(50);
    let mut failures = 0_u32;
    loop {
        match op().await {
            Ok(value) => {
                if failures > 0 {
                    tracing::info!(failures, "{what}: database is back");
                }
                return value;
            }
            Err(err) => {
                failures += 1;
                if failures == 1 || failures.is_multiple_of(20) {
                    let err = anyhow::Error::from(err);
                    tracing::error!(
                        error = format!("{err:#}"),
                        failures,
                        "{what} failed; retrying"
                    );
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

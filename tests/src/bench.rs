//! A bench-like MQTT client for tests: numbers events like a kiosk, publishes them at QoS 1
//! and collects the gateway's acknowledgements.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use rumqttc::{AsyncClient, Event as MqttEvent, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;
use touchstone_model::event::{BalanceIdentity, Event, Fact, Stability, Weighing, WeightPurpose};
use touchstone_model::ids::{EventId, StationId};
use touchstone_model::protocol::{Ack, AckMessage, encode_event, topics};

/// A simulated bench.
pub struct Bench {
    /// Its station id.
    pub station: StationId,
    client: AsyncClient,
    acks: mpsc::UnboundedReceiver<(Instant, AckMessage)>,
    next_seq: u64,
    /// Every acknowledgement received, by event id, in order of arrival.
    pub received: HashMap<EventId, Vec<Ack>>,
    /// When the first acknowledgement of each event came off the socket.
    pub acked_at: HashMap<EventId, Instant>,
}

impl Bench {
    /// Connects to `url` (`mqtt://host:port`) as `station` and subscribes to its acks.
    pub async fn connect(url: &str, station: &str) -> anyhow::Result<Bench> {
        let station: StationId = station.parse()?;
        let (host, port) = host_port(url)?;
        let client_id = format!("{station}-{}", uuid::Uuid::new_v4().simple());
        let mut options = MqttOptions::new(client_id, host, port);
        options
            .set_keep_alive(Duration::from_secs(30))
            .set_inflight(200)
            .set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop) = AsyncClient::new(options, 1000);
        let (ack_tx, acks) = mpsc::unbounded_channel();
        let (sub_tx, mut sub_rx) = mpsc::channel(1);
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(MqttEvent::Incoming(Packet::Publish(p))) => {
                        // Stamped here, not when the test gets round to reading the channel,
                        // so that latencies measure the gateway and not the test's own pace.
                        let arrived = Instant::now();
                        if let Ok(message) = serde_json::from_slice::<AckMessage>(&p.payload)
                            && ack_tx.send((arrived, message)).is_err()
                        {
                            return;
                        }
                    }
                    Ok(MqttEvent::Incoming(Packet::SubAck(_))) => {
                        let _ = sub_tx.try_send(());
                    }
                    Ok(_) => {}
                    Err(_) => {
                        if ack_tx.is_closed() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        client.subscribe(topics::acks(&station), QoS::AtLeastOnce).await?;
        tokio::time::timeout(Duration::from_secs(10), sub_rx.recv())
            .await
            .context("no SUBACK from the broker")?;
        Ok(Bench {
            station,
            client,
            acks,
            next_seq: 1,
            received: HashMap::new(),
            acked_at: HashMap::new(),
        })
    }

    /// Numbers the next event `last_seq + 1`, for a station that already has a history.
    pub fn continue_after(&mut self, last_seq: u64) {
        self.next_seq = last_seq + 1;
    }

    /// The next event of this bench, with its sequence number.
    pub fn event(&mut self, job: Option<&str>, fact: Fact) -> Event {
        let seq = self.next_seq;
        self.next_seq += 1;
        event_at(&self.station, seq, job, fact)
    }

    /// Publishes an event on this bench's events topic at QoS 1.
    pub async fn publish(&self, event: &Event) -> anyhow::Result<()> {
        self.publish_raw(&topics::events(&self.station), encode_event(event)).await
    }

    /// Publishes any bytes on any topic at QoS 1.
    pub async fn publish_raw(&self, topic: &str, payload: Vec<u8>) -> anyhow::Result<()> {
        self.client.publish(topic, QoS::AtLeastOnce, false, payload).await?;
        Ok(())
    }

    /// Waits until every id in `ids` has at least one acknowledgement.
    pub async fn wait_acked(&mut self, ids: &[EventId], timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        while !ids.iter().all(|id| self.received.contains_key(id)) {
            let missing = ids.iter().filter(|id| !self.received.contains_key(id)).count();
            match tokio::time::timeout_at(deadline, self.acks.recv()).await {
                Ok(Some((arrived, message))) => self.note(arrived, message),
                Ok(None) => bail!("ack channel closed"),
                Err(_) => {
                    bail!("{missing} of {} events not acknowledged within {timeout:?}", ids.len())
                }
            }
        }
        Ok(())
    }

    /// Takes every acknowledgement that arrives within `quiet` of the previous one.
    pub async fn drain_acks(&mut self, quiet: Duration) {
        while let Ok(Some((arrived, message))) = tokio::time::timeout(quiet, self.acks.recv()).await
        {
            self.note(arrived, message);
        }
    }

    fn note(&mut self, arrived: Instant, message: AckMessage) {
        for ack in message.acks {
            self.acked_at.entry(ack.id).or_insert(arrived);
            self.received.entry(ack.id).or_default().push(ack);
        }
    }

    /// Disconnects cleanly.
    pub async fn disconnect(&self) {
        let _ = self.client.disconnect().await;
    }
}

/// Event number `seq` of `station`, recorded now by operator `OP-TEST`.
pub fn event_at(station: &StationId, seq: u64, job: Option<&str>, fact: Fact) -> Event {
    Event {
        id: EventId::now_v7(),
        station: station.clone(),
        seq,
        operator: Some("OP-TEST".parse().unwrap_or_else(|_| unreachable!("a valid literal id"))),
        job: job.and_then(|j| j.parse().ok()),
        recorded_at: Utc::now(),
        fact,
    }
}

/// A plain weighing fact, as a bench would send for `grams` on an MT-SICS balance.
pub fn weighing(purpose: WeightPurpose, grams: &str, stage: Option<&str>) -> Fact {
    Fact::WeightRecorded(Weighing {
        purpose,
        grams: grams.parse().unwrap_or_default(),
        value: grams.to_owned(),
        unit: "g".into(),
        raw: format!("S S {grams:>10} g"),
        stability: Stability::Stable,
        balance: BalanceIdentity {
            protocol: "mt-sics".into(),
            model: Some("XS204".into()),
            serial: Some("B0001".into()),
        },
        stage: stage.and_then(|s| s.parse().ok()),
        alloy: None,
        tree: None,
    })
}

/// `(host, port)` of an `mqtt://host:port` URL.
pub fn host_port(url: &str) -> anyhow::Result<(String, u16)> {
    let rest = url.strip_prefix("mqtt://").context("only mqtt:// URLs in tests")?;
    let (host, port) = rest.rsplit_once(':').context("URL needs a port")?;
    Ok((host.to_owned(), port.parse()?))
}

//! The uplink: carries journaled events to the gateway and brings back acknowledgements and
//! master data.
//!
//! One task owns the MQTT client's event loop and forwards what it yields; one task (the
//! loop in [`run`]) reacts to a closed set of inputs: MQTT traffic, "the journal grew", the
//! heartbeat tick and shutdown. The rules:
//!
//! - **The journal is the outbox.** Events are published from the journal, in `seq` order,
//!   at QoS 1, at most [`WINDOW`] unconfirmed at a time. After every (re)connection the
//!   window restarts at the oldest unconfirmed event, so a restart or a lost connection
//!   resends everything the gateway has not confirmed, in order.
//! - **Confirmed means acknowledged by the gateway**, never "accepted by the broker". The
//!   broker's PUBACK only frees the client's in-flight slot.
//! - The session is persistent (`clean_session = false`) so acknowledgements the gateway
//!   sends while the bench is briefly away are queued by the broker.
//! - A retained status with a last will tells the floor when the bench vanishes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rumqttc::{
    AsyncClient, ConnectionError, Event as MqttEvent, LastWill, MqttOptions, Packet, QoS, Request,
    Transport,
};
use tokio::sync::{mpsc, watch};
use touchstone_model::ids::{OperatorId, StationId};
use touchstone_model::protocol::{AckMessage, BalanceState, StatusMessage, VERSION, topics};

use crate::cache::Cache;
use crate::config::BrokerSettings;
use crate::journal::{Journal, JournalError};

/// Most events published and not yet confirmed at once.
pub const WINDOW: u64 = 200;

/// The state of the link to the gateway, for the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Not yet connected since start.
    Connecting,
    /// Connected to the broker.
    Online {
        /// Since when.
        since: DateTime<Utc>,
    },
    /// The connection is lost or refused; retrying.
    Offline {
        /// Since when.
        since: DateTime<Utc>,
        /// The last error, in words.
        reason: String,
    },
}

/// What the bench reports in its heartbeat besides the backlog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchStatus {
    /// The balance summary.
    pub balance: BalanceState,
    /// Free words about the balance.
    pub balance_detail: Option<String>,
    /// Who is signed in.
    pub operator: Option<OperatorId>,
}

impl Default for BenchStatus {
    fn default() -> Self {
        BenchStatus { balance: BalanceState::None, balance_detail: None, operator: None }
    }
}

/// Everything the uplink needs besides the journal and the cache.
#[derive(Debug, Clone)]
pub struct UplinkSettings {
    /// The station, which is also the MQTT client id's stem.
    pub station: StationId,
    /// The broker.
    pub broker: BrokerSettings,
    /// Time between heartbeats.
    pub heartbeat: Duration,
    /// The software version reported.
    pub version: String,
}

/// A running uplink. Dropping it does not stop it; call [`Uplink::shutdown`].
#[derive(Debug)]
pub struct Uplink {
    link: watch::Receiver<LinkState>,
    stop: mpsc::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Uplink {
    /// Starts the uplink on the current runtime.
    pub fn spawn(
        settings: UplinkSettings,
        journal: Journal,
        cache: Option<Cache>,
        status: watch::Receiver<BenchStatus>,
    ) -> Uplink {
        let (link_tx, link) = watch::channel(LinkState::Connecting);
        let (stop, stop_rx) = mpsc::channel(1);
        let task = tokio::spawn(run(settings, journal, cache, status, link_tx, stop_rx));
        Uplink { link, stop, task }
    }

    /// Watches the link state.
    pub fn link(&self) -> watch::Receiver<LinkState> {
        self.link.clone()
    }

    /// Publishes a clean goodbye (offline status) and stops.
    pub async fn shutdown(self) {
        let _ = self.stop.send(()).await;
        if let Err(err) = self.task.await {
            tracing::error!(error = %err, "uplink task failed");
        }
    }
}

/// Everything the loop reacts to.
enum Input {
    Mqtt(Result<MqttEvent, ConnectionError>),
    JournalGrew,
    Heartbeat,
    Stop,
}

fn options(settings: &UplinkSettings) -> MqttOptions {
    let BrokerSettings { host, port, tls, credentials } = &settings.broker;
    let client_id = format!("touchstone-kiosk-{}", settings.station);
    let mut options = MqttOptions::new(client_id, host.clone(), *port);
    if *tls {
        options.set_transport(Transport::tls_with_default_config());
    }
    if let Some((user, password)) = credentials {
        options.set_credentials(user.clone(), password.clone());
    }
    let will = StatusMessage {
        v: VERSION,
        station: settings.station.clone(),
        online: false,
        at: None,
        backlog: 0,
        balance: BalanceState::None,
        balance_detail: None,
        version: settings.version.clone(),
        operator: None,
    };
    let will = serde_json::to_vec(&will).unwrap_or_default();
    options
        .set_clean_session(false)
        .set_keep_alive(Duration::from_secs(10))
        .set_inflight(100)
        .set_max_packet_size(1 << 20, 1 << 20)
        .set_last_will(LastWill::new(
            topics::status(&settings.station),
            will,
            QoS::AtLeastOnce,
            true,
        ));
    options
}

async fn run(
    settings: UplinkSettings,
    journal: Journal,
    cache: Option<Cache>,
    status: watch::Receiver<BenchStatus>,
    link: watch::Sender<LinkState>,
    mut stop: mpsc::Receiver<()>,
) {
    let (client, mut eventloop) = AsyncClient::new(options(&settings), 1000);
    let (input_tx, mut inputs) = mpsc::unbounded_channel();

    // The event loop must never wait for us, so it runs alone and forwards everything.
    let mqtt_tx = input_tx.clone();
    let poller = tokio::spawn(async move {
        let mut backoff = Duration::from_millis(200);
        loop {
            let polled = eventloop.poll().await;
            let failed = polled.is_err();
            if failed {
                // Drop the client's own replay queue: after the reconnection the uplink
                // resends from the journal, in order, and a replay ahead of it would put
                // newer events before older ones.
                eventloop.pending.retain(|r| !matches!(r, Request::Publish(_)));
            }
            if mqtt_tx.send(Input::Mqtt(polled)).is_err() {
                return;
            }
            if failed {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            } else {
                backoff = Duration::from_millis(200);
            }
        }
    });

    let mut stats = journal.watch_stats();
    let grew_tx = input_tx.clone();
    let watcher = tokio::spawn(async move {
        while stats.changed().await.is_ok() {
            if grew_tx.send(Input::JournalGrew).is_err() {
                return;
            }
        }
    });
    let beat_tx = input_tx.clone();
    let period = settings.heartbeat;
    let beater = tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            if beat_tx.send(Input::Heartbeat).is_err() {
                return;
            }
        }
    });
    let stop_tx = input_tx;
    let stopper = tokio::spawn(async move {
        let _ = stop.recv().await;
        let _ = stop_tx.send(Input::Stop);
    });

    let mut state = Outbox { client, journal, published_upto: 0, connected: false };
    while let Some(input) = inputs.recv().await {
        let result = match input {
            Input::Mqtt(Ok(event)) => state.on_mqtt(event, &settings, &cache, &status, &link).await,
            Input::Mqtt(Err(err)) => {
                state.on_disconnect(&err, &link);
                Ok(())
            }
            Input::JournalGrew => state.pump(&settings.station).await,
            Input::Heartbeat => state.heartbeat(&settings, &status, true).await,
            Input::Stop => {
                if let Err(err) = state.heartbeat(&settings, &status, false).await {
                    tracing::warn!(error = %err, "could not publish the offline status");
                }
                let _ =
                    tokio::time::timeout(Duration::from_secs(1), state.client.disconnect()).await;
                break;
            }
        };
        if let Err(err) = result {
            let station = &settings.station;
            tracing::warn!(%station, error = %err, "uplink step failed; will retry");
        }
    }
    // Give the event loop a moment to send the goodbye before it is stopped.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for task in [poller, watcher, beater, stopper] {
        task.abort();
    }
}

#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("mqtt client: {0}")]
    Client(#[from] rumqttc::ClientError),
}

struct Outbox {
    client: AsyncClient,
    journal: Journal,
    /// The highest `seq` published on the current connection.
    published_upto: u64,
    connected: bool,
}

impl Outbox {
    async fn on_mqtt(
        &mut self,
        event: MqttEvent,
        settings: &UplinkSettings,
        cache: &Option<Cache>,
        status: &watch::Receiver<BenchStatus>,
        link: &watch::Sender<LinkState>,
    ) -> Result<(), StepError> {
        let MqttEvent::Incoming(packet) = event else { return Ok(()) };
        match packet {
            Packet::ConnAck(ack) => {
                let (station, session_present) = (&settings.station, ack.session_present);
                tracing::info!(%station, session_present, "connected to the broker");
                link.send_replace(LinkState::Online { since: Utc::now() });
                self.connected = true;
                self.published_upto = 0;
                let station = &settings.station;
                self.client.subscribe(topics::acks(station), QoS::AtLeastOnce).await?;
                if cache.is_some() {
                    self.client.subscribe(topics::all_master(), QoS::AtLeastOnce).await?;
                }
                self.heartbeat(settings, status, true).await?;
                self.pump(station).await
            }
            Packet::Publish(publish) if publish.topic == topics::acks(&settings.station) => {
                self.on_acks(&publish.payload, &settings.station).await
            }
            Packet::Publish(publish) => {
                if let Some(cache) = cache
                    && let Err(err) = cache.take(&publish.topic, &publish.payload, Utc::now()).await
                {
                    tracing::warn!(topic = %publish.topic, error = %err, "snapshot refused");
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn on_acks(&mut self, payload: &[u8], station: &StationId) -> Result<(), StepError> {
        let message: AckMessage = match serde_json::from_slice(payload) {
            Ok(message) => message,
            Err(err) => {
                tracing::warn!(%station, error = %err, "ignoring a malformed acknowledgement");
                return Ok(());
            }
        };
        if &message.station != station || message.v != VERSION {
            tracing::warn!(%station, "ignoring an acknowledgement for another station or version");
            return Ok(());
        }
        let ids: Vec<_> = message.acks.iter().map(|a| a.id).collect();
        let confirmed = self.journal.confirm(&ids, Utc::now()).await?;
        tracing::debug!(%station, confirmed, "acknowledgements received");
        self.pump(station).await
    }

    fn on_disconnect(&mut self, err: &ConnectionError, link: &watch::Sender<LinkState>) {
        let reason = err.to_string();
        link.send_if_modified(|state| match state {
            LinkState::Offline { reason: old, .. } => {
                let changed = *old != reason;
                *old = reason.clone();
                changed
            }
            _ => {
                tracing::warn!(error = %reason, "lost the broker; events stay in the journal");
                *state = LinkState::Offline { since: Utc::now(), reason: reason.clone() };
                true
            }
        });
        self.connected = false;
    }

    /// Publishes unconfirmed events past the window's end, in order.
    async fn pump(&mut self, station: &StationId) -> Result<(), StepError> {
        if !self.connected {
            return Ok(());
        }
        let outstanding = self.journal.unconfirmed_upto(self.published_upto).await?;
        let room = WINDOW.saturating_sub(outstanding);
        if room == 0 {
            return Ok(());
        }
        let batch = self
            .journal
            .unconfirmed_after(self.published_upto, u32::try_from(room).unwrap_or(0))
            .await?;
        for pending in batch {
            self.client
                .publish(topics::events(station), QoS::AtLeastOnce, false, pending.payload)
                .await?;
            self.published_upto = pending.seq;
        }
        Ok(())
    }

    async fn heartbeat(
        &mut self,
        settings: &UplinkSettings,
        status: &watch::Receiver<BenchStatus>,
        online: bool,
    ) -> Result<(), StepError> {
        if !self.connected {
            return Ok(());
        }
        let bench = status.borrow().clone();
        let message = StatusMessage {
            v: VERSION,
            station: settings.station.clone(),
            online,
            at: Some(Utc::now()),
            backlog: self.journal.stats().backlog,
            balance: bench.balance,
            balance_detail: bench.balance_detail,
            version: settings.version.clone(),
            operator: bench.operator,
        };
        let payload = serde_json::to_vec(&message).unwrap_or_default();
        self.client
            .publish(topics::status(&settings.station), QoS::AtLeastOnce, true, payload)
            .await?;
        Ok(())
    }
}

//! The embedded MQTT broker (rumqttd), for the single-machine default: the gateway, its
//! broker and its database in one process, nothing to install.
//!
//! The broker keeps its state in memory. That is safe because benches keep every event in
//! their own journal until the gateway confirms it: if this process dies, the benches resend.
//! Sites that want the broker apart from the gateway, clustered or with per-station access
//! rules, point the gateway at an external broker instead.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

/// How many unacknowledged messages the broker sends one client before waiting. The gateway
/// acknowledges a whole batch after one commit, so this bounds the batch size it can reach;
/// twice the default batch lets the next batch arrive while one commits.
const MAX_INFLIGHT: usize = 2000;

/// Starts the broker on its own thread and waits until it accepts connections.
pub fn start_embedded(listen: SocketAddr) -> anyhow::Result<()> {
    // Probe the port first: otherwise another program already listening there would look
    // like our broker coming up.
    drop(
        std::net::TcpListener::bind(listen)
            .with_context(|| format!("embedded MQTT broker cannot listen on {listen}"))?,
    );
    let server = ServerSettings {
        name: "touchstone-v4".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections: ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: 1024 * 1024,
            max_inflight_count: MAX_INFLIGHT,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: 10_000,
            max_outgoing_packet_count: 200,
            max_segment_size: 100 * 1024 * 1024,
            max_segment_count: 10,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("touchstone-v4".to_owned(), server)])),
        ..Config::default()
    };
    let mut broker = Broker::new(config);
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            if let Err(err) = broker.start() {
                tracing::error!(error = %err, "embedded MQTT broker stopped");
            }
        })
        .context("starting the embedded broker's thread")?;

    // The broker binds on its own thread and reports nothing back, so wait for the port.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if TcpStream::connect_timeout(&listen, Duration::from_millis(200)).is_ok() {
            tracing::info!(%listen, "embedded MQTT broker listening");
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("embedded MQTT broker did not start listening on {listen} (is the port taken?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

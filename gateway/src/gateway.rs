//! Wires the gateway's parts together and runs them until shutdown.
//!
//! Start order: data directory, store (with migrations), demo data if asked, embedded broker
//! if no external one, MQTT client, ingest and snapshot tasks, then HTTP. Shutdown runs the
//! other way: stop taking MQTT messages, let the writer commit and confirm what it holds,
//! disconnect, stop HTTP, close the store. A message received but not yet committed is never
//! acknowledged, so the broker (or the bench) delivers it again after a restart.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rumqttc::{AsyncClient, MqttOptions, Transport};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::{Config, Mqtt};
use crate::http::{AppState, DashboardSettings, app};
use crate::ingest::{WriterSettings, pump, writer};
use crate::store::Store;
use crate::{broker, import, snapshots};

/// Runs the gateway until `shutdown` resolves. `on_http` receives the HTTP address once bound.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()>,
    on_http: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    tracing::info!(config = %config, "touchstone-gateway starting");
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let store = open_store(&config.database).await?;
    if config.demo {
        load_demo_if_empty(&store, &config.data_dir).await?;
        add_demo_users(&store).await?;
        add_demo_prices(&store).await?;
    }
    let api_token = match &config.api_token {
        Some(token) => token.clone(),
        None => token_file(&config.data_dir)?,
    };

    let options = mqtt_options(&config)?;
    let (client, eventloop) = AsyncClient::new(options, 10_000);
    let (ready_tx, ready_rx) = watch::channel(false);
    // Unbounded on purpose: the pump must never wait for the writer. The writer's
    // acknowledgements go out through the same MQTT event loop the pump polls, so a pump
    // blocked on a full channel while the writer waits for room in the client's request queue
    // stops both for good (seen under sustained load: the broker dropped the silent
    // connection and nothing was read again). The broker bounds what arrives unacknowledged.
    let (pump_tx, pump_rx) = mpsc::unbounded_channel();
    let (touched_tx, touched_rx) = mpsc::unbounded_channel();
    let master_changed = Arc::new(Notify::new());
    let cancel = CancellationToken::new();

    let pump_task =
        tokio::spawn(pump(eventloop, client.clone(), pump_tx, ready_tx, cancel.clone()));
    let mut state = AppState::new(store.clone(), api_token);
    state.master_changed = master_changed.clone();
    state.ready = ready_rx;
    state.dashboard = DashboardSettings { secure_cookies: config.secure_cookies };
    let writer_task = tokio::spawn(writer(
        store.clone(),
        client.clone(),
        pump_rx,
        touched_tx,
        state.floor.clone(),
        WriterSettings { batch_max: config.batch_max },
    ));
    let snapshot_task = tokio::spawn(snapshots::run(
        store.clone(),
        client.clone(),
        master_changed.clone(),
        touched_rx,
        cancel.clone(),
    ));

    let listener = TcpListener::bind(config.http_listen)
        .await
        .with_context(|| format!("listening for HTTP on {}", config.http_listen))?;
    let http_addr = listener.local_addr().context("reading the HTTP address")?;
    tracing::info!(%http_addr, "HTTP API listening");
    on_http(http_addr);
    let http_cancel = cancel.clone();
    let sessions = tokio::spawn(prune_sessions(store.clone(), cancel.clone()));
    let http_task = tokio::spawn(async move {
        let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service).with_graceful_shutdown(http_cancel.cancelled_owned()).await
    });

    shutdown.await;
    tracing::info!("shutting down");
    cancel.cancel();
    // The pump dropping its sender ends the writer after its last batch is confirmed.
    let _ = pump_task.await;
    let _ = writer_task.await;
    let _ = snapshot_task.await;
    // Give the client a moment to flush the final acknowledgements before disconnecting.
    let _ = tokio::time::timeout(Duration::from_secs(2), client.disconnect()).await;
    match http_task.await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(error = %err, "HTTP server stopped with an error"),
        Err(err) => tracing::warn!(error = %err, "HTTP task failed"),
    }
    let _ = sessions.await;
    store.close().await;
    tracing::info!("touchstone-gateway stopped");
    Ok(())
}

/// Ends expired dashboard sessions once an hour, so the table holds only live ones.
async fn prune_sessions(store: Store, cancel: CancellationToken) {
    use crate::dashboard::auth::{ABSOLUTE, IDLE};
    loop {
        let now = crate::store::to_us(chrono::Utc::now());
        let micros = |d: Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        match store.prune_sessions(now - micros(IDLE), now - micros(ABSOLUTE)).await {
            Ok(0) => {}
            Ok(ended) => tracing::debug!(ended, "expired dashboard sessions removed"),
            Err(err) => tracing::warn!(error = %err, "removing expired sessions failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            () = cancel.cancelled() => return,
        }
    }
}

/// Opens the store, retrying for a while: at boot the database may start after the gateway.
async fn open_store(url: &str) -> anyhow::Result<Store> {
    let mut tries = 0;
    loop {
        match Store::open(url).await {
            Ok(store) => return Ok(store),
            Err(err) if tries < 10 && matches!(err, crate::store::StoreError::Connect(_)) => {
                tries += 1;
                let err = anyhow::Error::from(err);
                tracing::warn!(
                    error = format!("{err:#}"),
                    tries,
                    "database not reachable yet; retrying"
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(err) => {
                return Err(err).with_context(|| {
                    format!("opening database {}", crate::store::redact_url(url))
                });
            }
        }
    }
}

/// The demo workshop's master data, built into the binary so that an installed gateway can
/// load it as well as one run from the source tree.
const DEMO_MASTER: [(&str, &str); 7] = [
    ("alloys.json", include_str!("../demo/alloys.json")),
    ("stages.json", include_str!("../demo/stages.json")),
    ("stations.json", include_str!("../demo/stations.json")),
    ("operators.json", include_str!("../demo/operators.json")),
    ("loss-bands.json", include_str!("../demo/loss-bands.json")),
    ("jobs.json", include_str!("../demo/jobs.json")),
    ("README.md", include_str!("../demo/README.md")),
];

/// A month of floor history that puts the demo jobs along their routes.
const DEMO_HISTORY: &str = include_str!("../demo/events.jsonl");

/// Loads the demo workshop and its history into an empty store. The files are written to
/// `DATA_DIR/demo-workshop` and imported from there by the same code as any import, so the
/// demo exercises the real path; the history goes in before the ingest task starts.
async fn load_demo_if_empty(store: &Store, data_dir: &Path) -> anyhow::Result<()> {
    if !store.jobs_changed_since(i64::MIN).await?.is_empty() {
        return Ok(());
    }
    let dir = data_dir.join("demo-workshop");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in DEMO_MASTER {
        std::fs::write(dir.join(name), text).with_context(|| format!("writing demo {name}"))?;
    }
    let report = import::import_dir(store, &dir).await.context("loading the demo workshop")?;
    tracing::info!(?report, "demo workshop loaded");
    let history = dir.join("events.jsonl");
    std::fs::write(&history, DEMO_HISTORY).context("writing the demo history")?;
    let report =
        import::import_events(store, &history).await.context("loading the demo history")?;
    tracing::info!(stored = report.stored, "demo history loaded");
    Ok(())
}

/// The demo's dashboard password, for both demo users.
pub const DEMO_PASSWORD: &str = "touchstone-demo";

/// Gives a demo store with no users a manager and a supervisor to sign in as.
async fn add_demo_users(store: &Store) -> anyhow::Result<()> {
    use touchstone_model::workshop::Role;
    if !store.users().await?.is_empty() {
        return Ok(());
    }
    let hash = tokio::task::spawn_blocking(|| crate::dashboard::auth::hash_password(DEMO_PASSWORD))
        .await
        .context("hashing the demo password")?
        .map_err(anyhow::Error::msg)?;
    let now = crate::store::to_us(chrono::Utc::now());
    for (username, name, role) in [
        ("manager", "Demo manager", Role::Manager),
        ("supervisor", "Demo supervisor", Role::Supervisor),
    ] {
        let user = crate::store::users::UserRow {
            username: username.into(),
            display_name: name.into(),
            role,
            password_hash: hash.clone(),
            disabled: false,
        };
        store.create_user(&user, now).await?;
    }
    tracing::info!(
        "demo dashboard users: manager and supervisor, password {DEMO_PASSWORD} (demo data only)"
    );
    Ok(())
}

/// Gives a demo store with no metal prices some, so the dashboard shows money. They are
/// examples, not market prices.
async fn add_demo_prices(store: &Store) -> anyhow::Result<()> {
    use rust_decimal::Decimal;
    use touchstone_model::metal::Metal;
    if !store.metal_prices().await?.is_empty() {
        return Ok(());
    }
    let now = crate::store::to_us(chrono::Utc::now());
    for (metal, cents) in [
        (Metal::Gold, 12_000),
        (Metal::Silver, 150),
        (Metal::Platinum, 3_800),
        (Metal::Palladium, 3_400),
    ] {
        let price = crate::store::dashboard::MetalPrice {
            metal,
            per_gram: Decimal::new(cents, 2),
            currency: "EUR".into(),
            updated_us: now,
            updated_by: "demo".into(),
        };
        store.set_metal_price(&price).await?;
    }
    Ok(())
}

/// Reads the API token from the data directory, creating a random one on first start.
fn token_file(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("api-token");
    if let Ok(token) = std::fs::read_to_string(&path) {
        let token = token.trim().to_owned();
        if !token.is_empty() {
            return Ok(token);
        }
    }
    let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    std::fs::write(&path, &token).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated an API token");
    Ok(token)
}

fn mqtt_options(config: &Config) -> anyhow::Result<MqttOptions> {
    // One fixed client id per data directory would do; a fixed name is simpler and lets the
    // broker keep the session (and its queued events) across gateway restarts.
    let client_id = "touchstone-gateway";
    let mut options = match &config.mqtt {
        Mqtt::Embedded { listen } => {
            broker::start_embedded(*listen)?;
            MqttOptions::new(client_id, listen.ip().to_string(), listen.port())
        }
        Mqtt::External { host, port, tls, credentials } => {
            let mut options = MqttOptions::new(client_id, host.clone(), *port);
            if *tls {
                options.set_transport(Transport::tls_with_default_config());
            }
            if let Some((user, password)) = credentials {
                options.set_credentials(user.clone(), password.clone());
            }
            options
        }
    };
    options
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_keep_alive(Duration::from_secs(15))
        .set_inflight(1000)
        .set_max_packet_size(1024 * 1024, 1024 * 1024);
    Ok(options)
}

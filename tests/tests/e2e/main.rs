//! End-to-end tests of the gateway's ingest: a real gateway process, real brokers (embedded
//! rumqttd and Mosquitto), real databases (a SQLite file and a PostgreSQL server), and
//! bench-like MQTT clients.

mod dashboard;
mod faults;
mod ingest;

use sqlx::Row;
use touchstone_tests::servers::{Mosquitto, Postgres};
use touchstone_tests::{GatewayProcess, GatewaySetup};

/// The database and broker behind one run of a test.
pub(crate) struct Rig {
    pub(crate) gateway: GatewayProcess,
    pub(crate) database_url: String,
    _dir: tempfile::TempDir,
    _mosquitto: Option<Mosquitto>,
    pub(crate) postgres: Option<Postgres>,
}

/// Which real components a test runs against.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Setup {
    SqliteEmbedded,
    SqliteMosquitto,
    PostgresEmbedded,
    PostgresMosquitto,
}

pub(crate) const ALL_SETUPS: [Setup; 4] = [
    Setup::SqliteEmbedded,
    Setup::SqliteMosquitto,
    Setup::PostgresEmbedded,
    Setup::PostgresMosquitto,
];

impl Rig {
    pub(crate) async fn start(setup: Setup) -> anyhow::Result<Rig> {
        let dir = tempfile::tempdir()?;
        let mosquitto = match setup {
            Setup::SqliteMosquitto | Setup::PostgresMosquitto => Some(Mosquitto::start().await?),
            _ => None,
        };
        let postgres = match setup {
            Setup::PostgresEmbedded | Setup::PostgresMosquitto => Some(Postgres::start().await?),
            _ => None,
        };
        let database_url = match &postgres {
            Some(pg) => pg.create_database("touchstone").await?,
            None => format!("sqlite://{}?mode=rwc", dir.path().join("touchstone.db").display()),
        };
        let gateway = GatewayProcess::start(
            dir.path().join("gateway"),
            GatewaySetup {
                database: Some(database_url.clone()),
                broker: mosquitto.as_ref().map(Mosquitto::url),
                extra_args: Vec::new(),
            },
        )
        .await?;
        Ok(Rig { gateway, database_url, _dir: dir, _mosquitto: mosquitto, postgres })
    }
}

/// Opens the rig's database directly, beside the gateway, to check what it stored.
pub(crate) async fn db(url: &str) -> anyhow::Result<sqlx::AnyPool> {
    sqlx::any::install_default_drivers();
    Ok(sqlx::any::AnyPoolOptions::new().max_connections(2).connect(url).await?)
}

/// Rows in a table.
pub(crate) async fn count(pool: &sqlx::AnyPool, table: &'static str) -> anyhow::Result<i64> {
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await?;
    Ok(row.try_get("n")?)
}

/// Whether an event id is stored.
pub(crate) async fn stored(pool: &sqlx::AnyPool, id: &str) -> anyhow::Result<bool> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE event_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await?;
    Ok(row.try_get::<i64, _>("n")? == 1)
}

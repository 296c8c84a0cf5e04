//! The central store: one `sqlx` Any pool over SQLite (the default, a file in the data
//! directory) or PostgreSQL (a `postgres://` URL), with the migrations of each run at start.
//!
//! Every statement is written once in SQL both backends accept (`$N` placeholders, `ON
//! CONFLICT`, `RETURNING`); the two migration folders differ only in column types. Times are
//! stored as microseconds since the epoch and grams as exact decimal text.
//!
//! **Only the ingest task writes ledger rows**, so the feed cursor (an identity column)
//! grows in commit order and an ERP resuming after a cursor never misses a row.

pub mod dashboard;
pub mod ingest;
pub mod master;
pub mod query;
pub mod stats;
pub mod users;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no backend the gateway supports.
    #[error("database URL must start with sqlite: or postgres:, not `{0}`")]
    UnsupportedUrl(String),
    /// Connecting failed.
    #[error("connecting to the database")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("migrating the database")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database query failed")]
    Query(#[from] sqlx::Error),
    /// A stored document no longer decodes (written by a newer or broken version).
    #[error("stored {what} `{id}` does not decode")]
    Corrupt {
        /// What kind of document.
        what: &'static str,
        /// Its id.
        id: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

/// The gateway's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Opens the database at `url`, creating a SQLite file if needed, and runs the
    /// migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let options = AnyConnectOptions::from_str(url).map_err(StoreError::Connect)?;
        let pool = match backend {
            Backend::Sqlite => {
                // WAL with synchronous FULL: a commit is on disk before it returns, which is
                // what lets the gateway acknowledge right after it.
                AnyPoolOptions::new()
                    .max_connections(4)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options)
                    .await
            }
        }
        .map_err(StoreError::Connect)?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.map_err(StoreError::Migrate)?;
        Ok(Store { pool, backend })
    }

    /// The SQLite URL for a file `touchstone.db` in `data_dir`, created if missing.
    pub fn sqlite_url(data_dir: &Path) -> String {
        format!("sqlite://{}?mode=rwc", data_dir.join("touchstone.db").display())
    }

    /// The connection pool, for the store's own modules.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A URL with any password replaced, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Setting a password only fails on URLs that cannot have one, which this has.
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Microseconds since the epoch, the store's representation of an instant.
pub fn to_us(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The instant stored as `us`; out-of-range values clamp to the epoch rather than panic.
pub fn from_us(us: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(us).single().unwrap_or_default()
}

/// `($1, $2, ...), (...), ...` for `rows` rows of `cols` columns, for multi-row statements.
pub(crate) fn value_rows(rows: usize, cols: usize) -> String {
    let mut sql = String::with_capacity(rows * cols * 5);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..cols {
            if col > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * cols + col + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

/// Runs `sql`, whose `{}` is replaced by a list of placeholders, once per chunk of `keys`,
/// and gathers the rows: the `WHERE key IN (...)` of a batch without a statement per key.
pub(crate) async fn fetch_in(
    conn: &mut sqlx::AnyConnection,
    sql: &str,
    keys: &[String],
) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
    let mut rows = Vec::new();
    for chunk in keys.chunks(500) {
        let text = sql.replace("{}", &placeholder_list(1, chunk.len()));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(text));
        for key in chunk {
            query = query.bind(key.as_str());
        }
        rows.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

/// `$first, $first+1, ...` with `n` placeholders, for `IN (...)` lists.
pub(crate) fn placeholder_list(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_rows_and_columns() {
        assert_eq!(value_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholder_list(3, 2), "$3, $4");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://ts:secret@db:5432/ts"), "postgres://ts:****@db:5432/ts");
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn microseconds_round_trip() {
        let at: DateTime<Utc> = "2026-12-03T10:15:02.123456Z".parse().unwrap();
        assert_eq!(from_us(to_us(at)), at);
    }
}

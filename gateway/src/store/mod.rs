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
    /// One connection of its own for the ingest's writes. Only the writer uses it, so with
    /// SQLite its page cache stays warm from one batch to the next (a connection's cache is
    /// dropped whenever another connection has written), and the writes of the ledger never
    /// wait for a connection the dashboard holds.
    ledger: AnyPool,
    backend: Backend,
}

/// Pages of SQLite cache per connection, in KiB when negative: 32 MiB, against SQLite's
/// default of 2 MiB, so that a batch finds the job and metal rows it updates in memory
/// rather than reading them from disk again.
const SQLITE_CACHE: &str = "PRAGMA cache_size = -32768;";

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
        let shared = match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 8,
        };
        let pool = Self::connect(backend, &options, shared).await?;
        let ledger = Self::connect(backend, &options, 1).await?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.map_err(StoreError::Migrate)?;
        Ok(Store { pool, ledger, backend })
    }

    async fn connect(
        backend: Backend,
        options: &AnyConnectOptions,
        connections: u32,
    ) -> Result<AnyPool, StoreError> {
        match backend {
            Backend::Sqlite => {
                // WAL with synchronous FULL: a commit is on disk before it returns, which is
                // what lets the gateway acknowledge right after it.
                AnyPoolOptions::new()
                    .max_connections(connections)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                            )
                            .await?;
                            conn.execute(SQLITE_CACHE).await?;
                            Ok(())
                        })
                    })
                    .connect_with(options.clone())
                    .await
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(connections)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options.clone())
                    .await
            }
        }
        .map_err(StoreError::Connect)
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

    /// The ingest writer's own connection.
    pub(crate) fn ledger(&self) -> &AnyPool {
        &self.ledger
    }

    /// Closes the pools, waiting for connections to be returned.
    pub async fn close(&self) {
        self.ledger.close().await;
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

/// How a generated statement writes its parameters.
///
/// SQLite looks a numbered parameter (`$N`) up by walking the list of every parameter name
/// in the statement, on each bind, so binding a multi-row statement of numbered parameters
/// costs the square of its size; anonymous parameters (`?`) are bound by position without
/// that walk. PostgreSQL takes numbered ones only. The statements built from these hold no
/// other parameters, so position and number always agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholders {
    /// `$1, $2, ...`: PostgreSQL.
    Numbered,
    /// `?, ?, ...`: SQLite.
    Anonymous,
}

impl Placeholders {
    /// What the backend behind `conn` binds cheapest.
    pub fn of(conn: &sqlx::AnyConnection) -> Placeholders {
        if conn.backend_name() == "SQLite" {
            Placeholders::Anonymous
        } else {
            Placeholders::Numbered
        }
    }

    fn push(self, sql: &mut String, number: usize) {
        match self {
            Placeholders::Numbered => {
                sql.push('$');
                sql.push_str(&number.to_string());
            }
            Placeholders::Anonymous => sql.push('?'),
        }
    }

    /// `($1, $2, ...), (...), ...` for `rows` rows of `cols` columns, for multi-row
    /// statements.
    pub fn value_rows(self, rows: usize, cols: usize) -> String {
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
                self.push(&mut sql, row * cols + col + 1);
            }
            sql.push(')');
        }
        sql
    }

    /// `$1, $2, ...` with `n` placeholders, for `IN (...)` lists.
    pub fn list(self, n: usize) -> String {
        self.value_rows(1, n).trim_start_matches('(').trim_end_matches(')').to_owned()
    }
}

/// Splits `items` into chunks of at most `max` (a power of two) for multi-row statements and
/// `IN` lists, every chunk a power of two long: `max` while that many are left, then the
/// binary digits of the rest (1,000 rows at 256: 256, 256, 256, 128, 64, 32, 8). A
/// statement's text depends on its length, and the database parses and plans each text
/// afresh unless it is among the connection's cached ones: with chunks of any length nearly
/// every batch brought new texts, with these each table has a handful.
pub fn statement_chunks<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let len = if rest.len() >= max {
            max
        } else {
            // The largest power of two not above what is left.
            1 << (usize::BITS - 1 - rest.len().leading_zeros())
        };
        let (chunk, tail) = rest.split_at(len);
        rest = tail;
        Some(chunk)
    })
}

/// Runs `sql`, whose `{}` is replaced by a list of placeholders, once per chunk of `keys`,
/// and gathers the rows: the `WHERE key IN (...)` of a batch without a statement per key.
pub(crate) async fn fetch_in(
    conn: &mut sqlx::AnyConnection,
    sql: &str,
    keys: &[String],
) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
    let placeholders = Placeholders::of(conn);
    let mut rows = Vec::new();
    for chunk in statement_chunks(keys, 512) {
        let text = sql.replace("{}", &placeholders.list(chunk.len()));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(text));
        for key in chunk {
            query = query.bind(key.as_str());
        }
        rows.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_rows_and_columns() {
        assert_eq!(Placeholders::Numbered.value_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(Placeholders::Numbered.list(2), "$1, $2");
        assert_eq!(Placeholders::Anonymous.value_rows(2, 2), "(?, ?), (?, ?)");
        assert_eq!(Placeholders::Anonymous.list(3), "?, ?, ?");
    }

    #[test]
    fn statements_come_in_a_few_lengths() {
        let rows: Vec<u32> = (0..1000).collect();
        let lengths: Vec<usize> = statement_chunks(&rows, 256).map(<[u32]>::len).collect();
        assert_eq!(lengths, [256, 256, 256, 128, 64, 32, 8]);
        let joined: Vec<u32> = statement_chunks(&rows, 256).flatten().copied().collect();
        assert_eq!(joined, rows, "every row once, in order");
        assert_eq!(statement_chunks(&rows[..1], 256).count(), 1);
        assert_eq!(statement_chunks::<u32>(&[], 256).count(), 0);
        let lengths: Vec<usize> = statement_chunks(&rows[..300], 512).map(<[u32]>::len).collect();
        assert_eq!(lengths, [256, 32, 8, 4]);
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

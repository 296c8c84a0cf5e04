//! The bench's journal: every event, durably, before anything else happens to it.
//!
//! One SQLite file in WAL mode with `synchronous = FULL`, so a committed append survives a
//! power cut. Events are numbered per station without gaps: the next `seq` is taken inside
//! the same transaction that writes the row, under a lock, so a failed write leaves no hole
//! and a restart continues where the file ends. The stored payload is the exact wire encoding
//! the uplink publishes, so a resend after a restart sends the same bytes. An event is marked
//! confirmed only when the gateway's acknowledgement names it; nothing is ever deleted.
//!
//! The same file keeps the retained master data snapshots (see [`crate::cache`]), so one
//! `fsync` discipline covers everything the bench needs offline.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteSynchronous;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use tokio::sync::{Mutex, watch};
use touchstone_model::event::{Event, Fact};
use touchstone_model::ids::{EventId, JobId, OperatorId, StationId};
use touchstone_model::protocol::{decode_event, encode_event};

/// Why the journal failed. Every variant means the event was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// SQLite failed (disk full, file unreadable, locked).
    #[error("journal database error")]
    Database(#[from] sqlx::Error),
    /// The file belongs to another station.
    #[error("this journal belongs to station `{found}`, not `{expected}`")]
    WrongStation {
        /// The station configured.
        expected: StationId,
        /// The station the file was created for.
        found: String,
    },
    /// A stored row does not decode; the file was altered by something else.
    #[error("journal row {seq} is corrupt: {reason}")]
    Corrupt {
        /// The row.
        seq: i64,
        /// What is wrong.
        reason: String,
    },
    /// The sequence number does not fit SQLite's integer.
    #[error("the sequence number overflowed")]
    Overflow,
}

/// One journaled event with what the bench knows about its confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The event.
    pub event: Event,
    /// When the gateway's acknowledgement arrived, if it has.
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// An unconfirmed event, ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Its sequence number.
    pub seq: u64,
    /// The exact bytes to publish.
    pub payload: Vec<u8>,
}

/// What the journal holds, for the header, the status heartbeat and the settings screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JournalStats {
    /// The highest sequence number written.
    pub last_seq: u64,
    /// Events written but not yet confirmed.
    pub backlog: u64,
}

/// What a caller asks to record: the envelope's operator and job and the fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Who is signed in.
    pub operator: Option<OperatorId>,
    /// The job concerned.
    pub job: Option<JobId>,
    /// What happened.
    pub fact: Fact,
}

/// The journal. Cheap to clone; every clone writes to the same file under the same lock.
#[derive(Debug, Clone)]
pub struct Journal {
    pool: SqlitePool,
    station: StationId,
    append_lock: Arc<Mutex<()>>,
    stats: Arc<watch::Sender<JournalStats>>,
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        job TEXT,
        recorded_at TEXT NOT NULL,
        payload BLOB NOT NULL,
        confirmed_at TEXT
    )",
    "CREATE INDEX IF NOT EXISTS events_unconfirmed ON events (seq) WHERE confirmed_at IS NULL",
    "CREATE INDEX IF NOT EXISTS events_job ON events (job, seq)",
    "CREATE TABLE IF NOT EXISTS snapshots (
        topic TEXT PRIMARY KEY,
        payload BLOB NOT NULL,
        stored_at TEXT NOT NULL
    )",
];

impl Journal {
    /// Opens (or creates) the journal at `path` for `station`.
    pub async fn open(path: &Path, station: &StationId) -> Result<Journal, JournalError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        for statement in SCHEMA.iter().copied() {
            sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&pool).await?;
        }
        sqlx::query("INSERT OR IGNORE INTO meta (key, value) VALUES ('station', ?)")
            .bind(station.as_str())
            .execute(&pool)
            .await?;
        let found: String = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'station'")
            .fetch_one(&pool)
            .await?;
        if found != station.as_str() {
            pool.close().await;
            return Err(JournalError::WrongStation { expected: station.clone(), found });
        }
        let stats = read_stats(&pool).await?;
        tracing::info!(
            station = %station,
            path = %path.display(),
            last_seq = stats.last_seq,
            backlog = stats.backlog,
            "journal opened"
        );
        Ok(Journal {
            pool,
            station: station.clone(),
            append_lock: Arc::new(Mutex::new(())),
            stats: Arc::new(watch::channel(stats).0),
        })
    }

    /// A write transaction that takes SQLite's write lock at once. A deferred one would take
    /// it only at its first write, after reading, and when another connection wrote in
    /// between, SQLite fails the upgrade with "database is locked" at once, without waiting
    /// for the busy timeout: an append racing a confirmation would fail.
    async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, JournalError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The station this journal belongs to.
    pub fn station(&self) -> &StationId {
        &self.station
    }

    /// Watches the journal's counters; changes on every append and confirmation.
    pub fn watch_stats(&self) -> watch::Receiver<JournalStats> {
        self.stats.subscribe()
    }

    /// The current counters.
    pub fn stats(&self) -> JournalStats {
        *self.stats.borrow()
    }

    /// Records one fact. When this returns `Ok`, the event is on disk.
    pub async fn append(&self, record: Record, now: DateTime<Utc>) -> Result<Event, JournalError> {
        let mut events = self.append_all(vec![record], now).await?;
        events.pop().ok_or(JournalError::Overflow)
    }

    /// Records several facts in one transaction: all of them or none (an override and the
    /// action it allowed, for instance).
    pub async fn append_all(
        &self,
        records: Vec<Record>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Event>, JournalError> {
        let _guard = self.append_lock.lock().await;
        let mut tx = self.write().await?;
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events")
            .fetch_one(&mut *tx)
            .await?;
        let mut seq = u64::try_from(last).map_err(|_| JournalError::Overflow)?;
        let mut events = Vec::with_capacity(records.len());
        for record in records {
            seq += 1;
            let event = Event {
                id: EventId::now_v7(),
                station: self.station.clone(),
                seq,
                operator: record.operator,
                job: record.job,
                recorded_at: now,
                fact: record.fact,
            };
            sqlx::query(
                "INSERT INTO events (seq, id, job, recorded_at, payload) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(i64::try_from(seq).map_err(|_| JournalError::Overflow)?)
            .bind(event.id.to_string())
            .bind(event.job.as_ref().map(|j| j.as_str().to_owned()))
            .bind(now.to_rfc3339())
            .bind(encode_event(&event))
            .execute(&mut *tx)
            .await?;
            events.push(event);
        }
        tx.commit().await?;
        self.stats.send_modify(|s| {
            s.last_seq = seq;
            s.backlog += u64::try_from(events.len()).unwrap_or(u64::MAX);
        });
        for event in &events {
            let fact = event.fact.type_name();
            tracing::debug!(event_id = %event.id, seq = event.seq, fact, "journaled");
        }
        Ok(events)
    }

    /// Up to `limit` unconfirmed events with a sequence number above `after`, in order.
    pub async fn unconfirmed_after(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Pending>, JournalError> {
        let rows = sqlx::query(
            "SELECT seq, payload FROM events WHERE confirmed_at IS NULL AND seq > ?
             ORDER BY seq LIMIT ?",
        )
        .bind(i64::try_from(after).map_err(|_| JournalError::Overflow)?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let seq: i64 = row.try_get("seq")?;
                Ok(Pending {
                    seq: u64::try_from(seq).map_err(|_| JournalError::Overflow)?,
                    payload: row.try_get("payload")?,
                })
            })
            .collect()
    }

    /// How many unconfirmed events have a sequence number up to `seq`.
    pub async fn unconfirmed_upto(&self, seq: u64) -> Result<u64, JournalError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM events WHERE confirmed_at IS NULL AND seq <= ?",
        )
        .bind(i64::try_from(seq).map_err(|_| JournalError::Overflow)?)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Marks the events with these ids confirmed; returns how many were newly confirmed.
    /// Ids the journal does not hold (another bench's, or invented) change nothing.
    pub async fn confirm(&self, ids: &[EventId], now: DateTime<Utc>) -> Result<u64, JournalError> {
        let mut tx = self.write().await?;
        let mut changed = 0;
        for id in ids {
            changed += sqlx::query(
                "UPDATE events SET confirmed_at = ? WHERE id = ? AND confirmed_at IS NULL",
            )
            .bind(now.to_rfc3339())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        if changed > 0 {
            self.stats.send_modify(|s| s.backlog = s.backlog.saturating_sub(changed));
        }
        Ok(changed)
    }

    /// The most recent events, newest first.
    pub async fn recent(&self, limit: u32) -> Result<Vec<Entry>, JournalError> {
        let rows =
            sqlx::query("SELECT seq, payload, confirmed_at FROM events ORDER BY seq DESC LIMIT ?")
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(|row| self.entry(&row)).collect()
    }

    /// Every event this bench recorded about `job`, oldest first.
    pub async fn for_job(&self, job: &JobId) -> Result<Vec<Entry>, JournalError> {
        let rows =
            sqlx::query("SELECT seq, payload, confirmed_at FROM events WHERE job = ? ORDER BY seq")
                .bind(job.as_str())
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(|row| self.entry(&row)).collect()
    }

    fn entry(&self, row: &sqlx::sqlite::SqliteRow) -> Result<Entry, JournalError> {
        let seq: i64 = row.try_get("seq")?;
        let payload: Vec<u8> = row.try_get("payload")?;
        let event = decode_event(&self.station, &payload)
            .map_err(|err| JournalError::Corrupt { seq, reason: err.to_string() })?;
        let confirmed: Option<String> = row.try_get("confirmed_at")?;
        let confirmed_at = confirmed
            .map(|text| DateTime::parse_from_rfc3339(&text).map(|t| t.with_timezone(&Utc)))
            .transpose()
            .map_err(|err| JournalError::Corrupt { seq, reason: err.to_string() })?;
        Ok(Entry { event, confirmed_at })
    }

    /// Stores a retained snapshot's payload under its topic, replacing the previous one.
    pub async fn put_snapshot(
        &self,
        topic: &str,
        payload: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), JournalError> {
        sqlx::query(
            "INSERT INTO snapshots (topic, payload, stored_at) VALUES (?, ?, ?)
             ON CONFLICT (topic) DO UPDATE SET payload = excluded.payload,
             stored_at = excluded.stored_at",
        )
        .bind(topic)
        .bind(payload)
        .bind(now.to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets a snapshot (the gateway cleared a retained topic).
    pub async fn remove_snapshot(&self, topic: &str) -> Result<(), JournalError> {
        sqlx::query("DELETE FROM snapshots WHERE topic = ?")
            .bind(topic)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every stored snapshot, as topic and payload.
    pub async fn snapshots(&self) -> Result<Vec<(String, Vec<u8>)>, JournalError> {
        let rows = sqlx::query("SELECT topic, payload FROM snapshots ORDER BY topic")
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(|row| Ok((row.try_get("topic")?, row.try_get("payload")?))).collect()
    }

    /// Closes the file cleanly (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

async fn read_stats(pool: &SqlitePool) -> Result<JournalStats, JournalError> {
    let row = sqlx::query(
        "SELECT COALESCE(MAX(seq), 0) AS last,
                COALESCE(SUM(CASE WHEN confirmed_at IS NULL THEN 1 ELSE 0 END), 0) AS backlog
         FROM events",
    )
    .fetch_one(pool)
    .await?;
    let last: i64 = row.try_get("last")?;
    let backlog: i64 = row.try_get("backlog")?;
    Ok(JournalStats {
        last_seq: u64::try_from(last).map_err(|_| JournalError::Overflow)?,
        backlog: u64::try_from(backlog).map_err(|_| JournalError::Overflow)?,
    })
}

#[cfg(test)]
mod tests;

//! Ledger reads, a page at a time by key: the event feed and timelines by cursor,
//! anomalies and dead letters by id, and every station's last reported state.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use touchstone_model::ids::JobId;

use super::{AnomalyRow, DeadLetterRow, EventRow, StationStateRow};
use crate::store::{Store, StoreError};

/// The feed: events after a cursor, in cursor order, by the primary key.
const FEED_SQL: &str = "SELECT cursor, event_id, station_id, operator_id, job_id, recorded_us, \
    received_us, payload FROM events WHERE cursor > $1 ORDER BY cursor LIMIT $2";

/// One job's events after a cursor, through the index on (job_id, cursor).
const JOB_EVENTS_SQL: &str = "SELECT cursor, event_id, station_id, operator_id, job_id, \
    recorded_us, received_us, payload FROM events WHERE job_id = $1 AND cursor > $2 \
    ORDER BY cursor LIMIT $3";

/// Anomalies after an id, by the primary key.
const ANOMALIES_AFTER_SQL: &str = "SELECT id, event_id, station_id, job_id, kind, detail, \
    created_us FROM anomalies WHERE id > $1 ORDER BY id LIMIT $2";

/// Dead letters after an id, by the primary key.
const DEAD_LETTERS_AFTER_SQL: &str = "SELECT id, received_us, topic, reason, payload \
    FROM dead_letters WHERE id > $1 ORDER BY id LIMIT $2";

impl Store {
    /// The events after `after` in feed order, at most `limit`; only one job's when `job`
    /// is given.
    pub async fn events_after(
        &self,
        job: Option<&JobId>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        let query = match job {
            Some(job) => sqlx::query(JOB_EVENTS_SQL).bind(job.as_str()),
            None => sqlx::query(FEED_SQL),
        };
        let rows = query.bind(after).bind(limit).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok(EventRow {
                    cursor: row.try_get("cursor")?,
                    event_id: row.try_get("event_id")?,
                    station: row.try_get("station_id")?,
                    operator: row.try_get("operator_id")?,
                    job: row.try_get("job_id")?,
                    recorded_us: row.try_get("recorded_us")?,
                    received_us: row.try_get("received_us")?,
                    payload: row.try_get("payload")?,
                })
            })
            .collect()
    }

    /// The anomalies found in the events `event_ids`, oldest first.
    pub async fn anomalies_of_events(
        &self,
        event_ids: &[String],
    ) -> Result<Vec<AnomalyRow>, StoreError> {
        let sql =
            format!("SELECT {ANOMALY_COLUMNS} FROM anomalies WHERE event_id IN ({{}}) ORDER BY id");
        let mut conn = self.pool().acquire().await?;
        let rows = crate::store::fetch_in(&mut conn, &sql, event_ids).await?;
        rows.iter().map(anomaly).collect()
    }

    /// Anomalies with an id above `after`, oldest first, at most `limit`.
    pub async fn anomalies_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<AnomalyRow>, StoreError> {
        let rows =
            sqlx::query(ANOMALIES_AFTER_SQL).bind(after).bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(anomaly).collect()
    }

    /// Dead letters with an id above `after`, oldest first, at most `limit`.
    pub async fn dead_letters_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<DeadLetterRow>, StoreError> {
        let rows = sqlx::query(DEAD_LETTERS_AFTER_SQL)
            .bind(after)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(dead_letter).collect()
    }

    /// Dead letters with an id below `before`, newest first, at most `limit`.
    pub async fn dead_letters_before(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<Vec<DeadLetterRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, received_us, topic, reason, payload FROM dead_letters WHERE id < $1 \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(dead_letter).collect()
    }

    /// The latest `limit` anomalies, newest first.
    pub async fn anomalies_latest(&self, limit: i64) -> Result<Vec<AnomalyRow>, StoreError> {
        let sql = format!("SELECT {ANOMALY_COLUMNS} FROM anomalies ORDER BY id DESC LIMIT $1");
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(anomaly).collect()
    }

    /// Every station's last reported state, in station order.
    pub async fn station_states(&self) -> Result<Vec<StationStateRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT station_id, last_seq, last_event_us, last_status_us, \
             online, online_since_us, backlog, balance, balance_detail, \
             version, operator_id FROM station_state ORDER BY station_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StationStateRow {
                    station: row.try_get("station_id")?,
                    last_seq: row.try_get("last_seq")?,
                    last_event_us: row.try_get("last_event_us")?,
                    last_status_us: row.try_get("last_status_us")?,
                    online: row.try_get::<i64, _>("online")? != 0,
                    online_since_us: row.try_get("online_since_us")?,
                    backlog: row.try_get("backlog")?,
                    balance: row.try_get("balance")?,
                    balance_detail: row.try_get("balance_detail")?,
                    version: row.try_get("version")?,
                    operator: row.try_get("operator_id")?,
                })
            })
            .collect()
    }
}

const ANOMALY_COLUMNS: &str = "id, event_id, station_id, job_id, kind, detail, created_us";

fn dead_letter(row: &AnyRow) -> Result<DeadLetterRow, StoreError> {
    Ok(DeadLetterRow {
        id: row.try_get("id")?,
        received_us: row.try_get("received_us")?,
        topic: row.try_get("topic")?,
        reason: row.try_get("reason")?,
        payload: row.try_get("payload")?,
    })
}

fn anomaly(row: &AnyRow) -> Result<AnomalyRow, StoreError> {
    Ok(AnomalyRow {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        station: row.try_get("station_id")?,
        job: row.try_get("job_id")?,
        kind: row.try_get("kind")?,
        detail: row.try_get("detail")?,
        created_us: row.try_get("created_us")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's plan for `sql`, one step per line.
    async fn plan(store: &Store, sql: &str, binds: usize) -> String {
        let mut query = sqlx::query(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
        for _ in 0..binds {
            query = query.bind(1_i64);
        }
        let rows = query.fetch_all(store.pool()).await.unwrap();
        rows.iter()
            .map(|r| r.try_get::<String, _>("detail").unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[tokio::test]
    async fn ledger_pages_are_read_by_key_without_a_scan_or_a_sort() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&Store::sqlite_url(dir.path())).await.unwrap();
        let pages = [
            (FEED_SQL, 2),
            (JOB_EVENTS_SQL, 3),
            (ANOMALIES_AFTER_SQL, 2),
            (DEAD_LETTERS_AFTER_SQL, 2),
        ];
        for (sql, binds) in pages {
            let plan = plan(&store, sql, binds).await;
            assert!(plan.starts_with("SEARCH"), "{sql}\n{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{sql}\n{plan}");
        }
        assert!(plan(&store, JOB_EVENTS_SQL, 3).await.contains("events_by_job"));
    }
}

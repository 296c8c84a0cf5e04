//! Master data in the store: jobs (with their stone reservations) and the lists benches cache
//! (operators, stations, stages, loss bands, alloys).
//!
//! Each item is kept whole as its JSON document, with the few columns searched on beside it.
//! Writing an item replaces it; nothing here publishes to benches: whoever writes notifies the
//! snapshot publisher.

use std::collections::HashMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{AnyConnection, Row};
use touchstone_model::ids::JobId;
use touchstone_model::metal::Alloy;
use touchstone_model::protocol::MasterList;
use touchstone_model::workshop::{Component, Job, LossBand, Operator, StageDef, Station};

use super::{Store, StoreError};

/// An item of one of the cached lists.
pub trait MasterItem: Serialize + DeserializeOwned + Send + Sync {
    /// The list it belongs to.
    const LIST: MasterList;

    /// Its key within the list.
    fn item_id(&self) -> String;
}

impl MasterItem for Operator {
    const LIST: MasterList = MasterList::Operators;

    fn item_id(&self) -> String {
        self.id.to_string()
    }
}

impl MasterItem for Station {
    const LIST: MasterList = MasterList::Stations;

    fn item_id(&self) -> String {
        self.id.to_string()
    }
}

impl MasterItem for StageDef {
    const LIST: MasterList = MasterList::Stages;

    fn item_id(&self) -> String {
        self.id.to_string()
    }
}

impl MasterItem for LossBand {
    const LIST: MasterList = MasterList::LossBands;

    fn item_id(&self) -> String {
        match &self.alloy {
            Some(alloy) => format!("{}/{alloy}", self.stage),
            None => format!("{}/*", self.stage),
        }
    }
}

impl MasterItem for Alloy {
    const LIST: MasterList = MasterList::Alloys;

    fn item_id(&self) -> String {
        self.code.to_string()
    }
}

fn to_doc<T: Serialize>(item: &T) -> String {
    // Master types serialize to plain JSON objects; this cannot fail.
    serde_json::to_string(item).unwrap_or_default()
}

impl Store {
    /// Inserts or replaces jobs and their stone reservations, in one transaction.
    pub async fn upsert_jobs(&self, jobs: &[Job], now_us: i64) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for job in jobs {
            sqlx::query(
                "INSERT INTO master_jobs (job_id, customer_ref, alloy, due_date, doc, updated_us) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (job_id) DO UPDATE SET customer_ref = excluded.customer_ref, \
                 alloy = excluded.alloy, due_date = excluded.due_date, doc = excluded.doc, \
                 updated_us = excluded.updated_us",
            )
            .bind(job.id.as_str())
            .bind(&job.customer_ref)
            .bind(job.alloy.as_str())
            .bind(job.due.to_string())
            .bind(to_doc(job))
            .bind(now_us)
            .execute(&mut *tx)
            .await?;
            // A job on the floor's books from its import: it waits for its first stage.
            sqlx::query(
                "INSERT INTO job_state (job_id, stage, in_progress, held, last_event_us, since_us, \
                 done) VALUES ($1, NULL, 0, 0, 0, $2, 0) ON CONFLICT (job_id) DO NOTHING",
            )
            .bind(job.id.as_str())
            .bind(now_us)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM stone_reservations WHERE job_id = $1")
                .bind(job.id.as_str())
                .execute(&mut *tx)
                .await?;
            for component in &job.components {
                let (item, certificate) = match component {
                    Component::Stone { id, certificate, .. } => (id.as_str(), certificate.clone()),
                    Component::Packet { id, .. } => (id.as_str(), None),
                    Component::Part { .. } => continue,
                };
                // A stone moved to another job is re-reserved for it: the newest import wins.
                sqlx::query(
                    "INSERT INTO stone_reservations (item_id, job_id, certificate) \
                     VALUES ($1, $2, $3) ON CONFLICT (item_id) DO UPDATE SET \
                     job_id = excluded.job_id, certificate = excluded.certificate",
                )
                .bind(item)
                .bind(job.id.as_str())
                .bind(certificate)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Inserts or replaces items of one list, in one transaction.
    pub async fn upsert_list<T: MasterItem>(
        &self,
        items: &[T],
        now_us: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for item in items {
            sqlx::query(
                "INSERT INTO master_docs (list, item_id, doc, updated_us) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (list, item_id) DO UPDATE SET doc = excluded.doc, \
                 updated_us = excluded.updated_us",
            )
            .bind(T::LIST.topic_level())
            .bind(item.item_id())
            .bind(to_doc(item))
            .bind(now_us)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every item of one list, in key order.
    pub async fn list<T: MasterItem>(&self) -> Result<Vec<T>, StoreError> {
        let rows =
            sqlx::query("SELECT item_id, doc FROM master_docs WHERE list = $1 ORDER BY item_id")
                .bind(T::LIST.topic_level())
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|row| {
                let doc: String = row.try_get("doc")?;
                serde_json::from_str(&doc).map_err(|source| StoreError::Corrupt {
                    what: "master item",
                    id: row.try_get::<String, _>("item_id").unwrap_or_default(),
                    source,
                })
            })
            .collect()
    }

    /// One job's master data.
    pub async fn job(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        Ok(self.jobs(std::slice::from_ref(id)).await?.remove(id))
    }

    /// The master data of those of `ids` that exist, looked up together.
    pub async fn jobs(&self, ids: &[JobId]) -> Result<HashMap<JobId, Job>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        jobs_by_id(&mut conn, ids).await
    }

    /// Jobs changed after `since_us`, oldest change first, with their change times.
    pub async fn jobs_changed_since(&self, since_us: i64) -> Result<Vec<(Job, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT job_id, doc, updated_us FROM master_jobs WHERE updated_us > $1 \
             ORDER BY updated_us",
        )
        .bind(since_us)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|row| Ok((decode_job(row)?, row.try_get("updated_us")?))).collect()
    }
}

fn decode_job(row: &sqlx::any::AnyRow) -> Result<Job, StoreError> {
    let doc: String = row.try_get("doc")?;
    serde_json::from_str(&doc).map_err(|source| StoreError::Corrupt {
        what: "job",
        id: row.try_get::<String, _>("job_id").unwrap_or_default(),
        source,
    })
}

/// The master data of the jobs in `ids` that exist, on an open connection or transaction.
pub(crate) async fn jobs_by_id(
    conn: &mut AnyConnection,
    ids: &[JobId],
) -> Result<HashMap<JobId, Job>, StoreError> {
    let keys: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    let sql = "SELECT job_id, doc FROM master_jobs WHERE job_id IN ({})";
    let mut found = HashMap::with_capacity(ids.len());
    for row in super::fetch_in(conn, sql, &keys).await? {
        let job = decode_job(&row)?;
        found.insert(job.id.clone(), job);
    }
    Ok(found)
}

/// The job each of `items` (stone or packet ids) is reserved for, where one is.
pub(crate) async fn reservation_owners(
    conn: &mut AnyConnection,
    items: &[String],
) -> Result<HashMap<String, JobId>, StoreError> {
    let sql = "SELECT item_id, job_id FROM stone_reservations WHERE item_id IN ({})";
    let mut owners = HashMap::new();
    for row in super::fetch_in(conn, sql, items).await? {
        let job: String = row.try_get("job_id")?;
        if let Ok(job) = JobId::new(job) {
            owners.insert(row.try_get("item_id")?, job);
        }
    }
    Ok(owners)
}

impl Store {
    /// Where each of `ids` stands, for the jobs that have any events.
    pub async fn job_progress(
        &self,
        ids: &[JobId],
    ) -> Result<HashMap<JobId, touchstone_model::rules::JobProgress>, StoreError> {
        let keys: Vec<String> = ids.iter().map(|j| j.to_string()).collect();
        let mut conn = self.pool().acquire().await?;
        let sql = "SELECT job_id, stage, in_progress, held FROM job_state WHERE job_id IN ({})";
        let mut found = HashMap::new();
        for row in super::fetch_in(&mut conn, sql, &keys).await? {
            let Ok(job) = JobId::new(row.try_get::<String, _>("job_id")?) else { continue };
            let progress = touchstone_model::rules::JobProgress {
                stage: row.try_get::<Option<String>, _>("stage")?.and_then(|s| s.parse().ok()),
                in_progress: row.try_get::<i64, _>("in_progress")? != 0,
                held: row.try_get::<i64, _>("held")? != 0,
            };
            found.insert(job, progress);
        }
        Ok(found)
    }

    /// The latest change time of each cached list that has items.
    pub async fn list_versions(&self) -> Result<HashMap<String, i64>, StoreError> {
        let rows =
            sqlx::query("SELECT list, MAX(updated_us) AS latest FROM master_docs GROUP BY list")
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(|row| Ok((row.try_get("list")?, row.try_get("latest")?))).collect()
    }
}

//! The bench's copy of the master data: jobs, operators, stages, stations, loss bands and
//! alloys, from the gateway's retained snapshots.
//!
//! Every snapshot is decoded strictly before it replaces anything; a malformed one is refused
//! with a reason and the previous copy stays. Accepted payloads are written to the journal's
//! file, and [`Cache::load`] reads them back at start, so a kiosk restarted while offline
//! still knows its jobs and operators.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use touchstone_model::ids::JobId;
use touchstone_model::metal::Alloy;
use touchstone_model::protocol::{JobSnapshot, ListSnapshot, MasterList, ROOT, VERSION};
use touchstone_model::workshop::{LossBand, Operator, StageDef, Station};

use crate::journal::{Journal, JournalError};

/// Why a snapshot was not taken.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The topic is not a master data topic of this protocol version.
    #[error("`{0}` is not a master data topic")]
    Topic(String),
    /// The payload does not decode.
    #[error("malformed snapshot on {topic}: {reason}")]
    Malformed {
        /// The topic.
        topic: String,
        /// What serde said.
        reason: String,
    },
    /// Writing it to disk failed.
    #[error("storing the snapshot")]
    Journal(#[from] JournalError),
}

/// Everything the bench knows about the workshop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MasterData {
    /// Jobs by id, with where each stands.
    pub jobs: BTreeMap<JobId, JobSnapshot>,
    /// Operators.
    pub operators: Vec<Operator>,
    /// Stage definitions.
    pub stages: Vec<StageDef>,
    /// Stations.
    pub stations: Vec<Station>,
    /// Loss bands.
    pub loss_bands: Vec<LossBand>,
    /// Alloys.
    pub alloys: Vec<Alloy>,
    /// When the newest snapshot arrived.
    pub updated_at: Option<DateTime<Utc>>,
}

/// What one topic holds.
enum Target {
    Job(JobId),
    List(MasterList),
}

fn target(topic: &str) -> Result<Target, CacheError> {
    let bad = || CacheError::Topic(topic.to_owned());
    let rest = topic.strip_prefix(&format!("{ROOT}/v{VERSION}/master/")).ok_or_else(bad)?;
    if let Some(job) = rest.strip_prefix("jobs/") {
        return job.parse().map(Target::Job).map_err(|_| bad());
    }
    let list = [
        MasterList::Operators,
        MasterList::Stages,
        MasterList::Stations,
        MasterList::LossBands,
        MasterList::Alloys,
    ]
    .into_iter()
    .find(|l| l.topic_level() == rest)
    .ok_or_else(bad)?;
    Ok(Target::List(list))
}

fn decode<T: DeserializeOwned>(topic: &str, payload: &[u8]) -> Result<T, CacheError> {
    serde_json::from_slice(payload)
        .map_err(|err| CacheError::Malformed { topic: topic.to_owned(), reason: err.to_string() })
}

fn items<T: DeserializeOwned>(topic: &str, payload: &[u8]) -> Result<Vec<T>, CacheError> {
    let list: ListSnapshot<T> = decode(topic, payload)?;
    check_version(topic, list.v)?;
    Ok(list.items)
}

fn check_version(topic: &str, v: u32) -> Result<(), CacheError> {
    if v == VERSION {
        return Ok(());
    }
    Err(CacheError::Malformed {
        topic: topic.to_owned(),
        reason: format!("protocol version {v}; this kiosk speaks {VERSION}"),
    })
}

impl MasterData {
    /// Applies one retained message. An empty payload clears a job (the gateway removed it).
    pub fn apply(&mut self, topic: &str, payload: &[u8]) -> Result<(), CacheError> {
        match target(topic)? {
            Target::Job(id) if payload.is_empty() => {
                self.jobs.remove(&id);
            }
            Target::Job(id) => {
                let snapshot: JobSnapshot = decode(topic, payload)?;
                check_version(topic, snapshot.v)?;
                if snapshot.job.id != id {
                    return Err(CacheError::Malformed {
                        topic: topic.to_owned(),
                        reason: format!("the snapshot is of job {}", snapshot.job.id),
                    });
                }
                self.jobs.insert(id, snapshot);
            }
            Target::List(MasterList::Operators) => self.operators = items(topic, payload)?,
            Target::List(MasterList::Stages) => self.stages = items(topic, payload)?,
            Target::List(MasterList::Stations) => self.stations = items(topic, payload)?,
            Target::List(MasterList::LossBands) => self.loss_bands = items(topic, payload)?,
            Target::List(MasterList::Alloys) => self.alloys = items(topic, payload)?,
        }
        Ok(())
    }
}

/// The shared cache: the UI reads it, the uplink writes it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Cache {
    data: Arc<RwLock<MasterData>>,
    journal: Journal,
    changed: Arc<watch::Sender<u64>>,
}

impl Cache {
    /// Loads what was stored on disk. Stored payloads that no longer decode are skipped with
    /// a warning; they were valid when stored, so this means a newer gateway changed them.
    pub async fn load(journal: Journal) -> Result<Cache, JournalError> {
        let mut data = MasterData::default();
        for (topic, payload) in journal.snapshots().await? {
            if let Err(err) = data.apply(&topic, &payload) {
                tracing::warn!(%topic, error = %err, "skipping a stored snapshot");
            }
        }
        tracing::info!(
            jobs = data.jobs.len(),
            operators = data.operators.len(),
            "master data cache loaded"
        );
        Ok(Cache {
            data: Arc::new(RwLock::new(data)),
            journal,
            changed: Arc::new(watch::channel(0).0),
        })
    }

    /// Takes a retained snapshot: checks it, stores it on disk, then makes it visible.
    pub async fn take(
        &self,
        topic: &str,
        payload: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), CacheError> {
        // Decode into a scratch copy first, so a bad payload is refused before it is stored.
        MasterData::default().apply(topic, payload)?;
        if payload.is_empty() {
            self.journal.remove_snapshot(topic).await?;
        } else {
            self.journal.put_snapshot(topic, payload, now).await?;
        }
        {
            let mut data = self.data.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            data.apply(topic, payload)?;
            data.updated_at = Some(now);
        }
        self.changed.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Reads the current data. Hold the guard briefly: writers wait for it.
    pub fn read(&self) -> RwLockReadGuard<'_, MasterData> {
        // A panic while holding the lock leaves whole values behind (each apply replaces a
        // field at once), so a poisoned lock is still safe to read.
        self.data.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Changes whenever a snapshot is taken.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Replaces everything at once; for tests and the demo's first start.
    pub fn replace(&self, data: MasterData) {
        *self.data.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = data;
        self.changed.send_modify(|n| *n += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPERATORS: &str = r#"{"v":1,"updated_at":"2026-12-03T08:00:00Z","items":[
        {"id":"op-mei","name":"Mei Tanaka","badge":"B-10425","role":"worker"}]}"#;

    #[tokio::test]
    async fn snapshots_survive_a_restart_and_bad_ones_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        let station = "bench-1".parse().unwrap();
        let journal = Journal::open(&path, &station).await.unwrap();
        let cache = Cache::load(journal.clone()).await.unwrap();
        let topic = "touchstone/v1/master/operators";
        cache.take(topic, OPERATORS.as_bytes(), Utc::now()).await.unwrap();

        let err = cache.take(topic, b"{\"v\":1,\"items\":7}", Utc::now()).await.unwrap_err();
        assert!(err.to_string().starts_with("malformed snapshot on"), "{err}");
        let err = cache.take("touchstone/v1/master/cats", b"{}", Utc::now()).await.unwrap_err();
        assert!(err.to_string().contains("not a master data topic"), "{err}");
        let v2 = OPERATORS.replace("\"v\":1", "\"v\":2");
        assert!(cache.take(topic, v2.as_bytes(), Utc::now()).await.is_err());
        assert_eq!(cache.read().operators.len(), 1);
        journal.close().await;

        let journal = Journal::open(&path, &station).await.unwrap();
        let cache = Cache::load(journal).await.unwrap();
        assert_eq!(cache.read().operators[0].name, "Mei Tanaka");
    }

    #[test]
    fn a_job_snapshot_must_be_of_the_job_its_topic_names() {
        let job = include_str!("../tests/data/job-0147.json");
        let mut data = MasterData::default();
        data.apply("touchstone/v1/master/jobs/J-2026-0147", job.as_bytes()).unwrap();
        assert_eq!(data.jobs.len(), 1);
        let err = data.apply("touchstone/v1/master/jobs/J-1", job.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("the snapshot is of job J-2026-0147"), "{err}");
        data.apply("touchstone/v1/master/jobs/J-2026-0147", b"").unwrap();
        assert!(data.jobs.is_empty());
    }
}

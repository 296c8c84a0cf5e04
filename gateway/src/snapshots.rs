//! Publishes master data and job progress as retained MQTT messages, the cache benches work
//! from when the network is down.
//!
//! A list (operators, stages, stations, loss bands, alloys) is republished whole when any item
//! in it changes; a job is republished when its master data changes or an event moves it.
//! Changes are found by watermark on the store's change times, so an import made by another
//! process (the `import` command) reaches the benches too, within the polling interval.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rumqttc::{AsyncClient, QoS};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use touchstone_model::ids::JobId;
use touchstone_model::metal::Alloy;
use touchstone_model::protocol::{JobSnapshot, ListSnapshot, VERSION, topics};
use touchstone_model::workshop::{Job, LossBand, Operator, StageDef, Station};

use crate::store::master::MasterItem;
use crate::store::{Store, StoreError};

/// How often the store is checked for changes nobody announced.
const POLL: Duration = Duration::from_secs(2);

/// The publisher's memory of what it has sent.
struct Publisher {
    store: Store,
    client: AsyncClient,
    jobs_seen_us: i64,
    lists_seen: HashMap<String, i64>,
}

/// Runs until cancelled: publishes everything once, then whatever changes.
pub async fn run(
    store: Store,
    client: AsyncClient,
    master_changed: Arc<Notify>,
    mut touched: mpsc::UnboundedReceiver<Vec<JobId>>,
    cancel: CancellationToken,
) {
    let mut publisher =
        Publisher { store, client, jobs_seen_us: i64::MIN, lists_seen: HashMap::new() };
    let mut poll = tokio::time::interval(POLL);
    loop {
        let result = tokio::select! {
            _ = poll.tick() => publisher.publish_changes().await,
            () = master_changed.notified() => publisher.publish_changes().await,
            Some(mut jobs) = touched.recv() => {
                while let Ok(more) = touched.try_recv() {
                    jobs.extend(more);
                }
                jobs.sort();
                jobs.dedup();
                publisher.publish_jobs(&jobs).await
            }
            () = cancel.cancelled() => break,
        };
        if let Err(err) = result {
            let err = anyhow::Error::from(err);
            tracing::warn!(error = format!("{err:#}"), "publishing snapshots failed; will retry");
        }
    }
}

impl Publisher {
    async fn publish_changes(&mut self) -> Result<(), StoreError> {
        let versions = self.store.list_versions().await?;
        for (list, latest) in versions {
            if self.lists_seen.get(&list) == Some(&latest) {
                continue;
            }
            match list.as_str() {
                "operators" => self.publish_list::<Operator>().await?,
                "stages" => self.publish_list::<StageDef>().await?,
                "stations" => self.publish_list::<Station>().await?,
                "loss-bands" => self.publish_list::<LossBand>().await?,
                "alloys" => self.publish_list::<Alloy>().await?,
                _ => {}
            }
            self.lists_seen.insert(list, latest);
        }

        let changed = self.store.jobs_changed_since(self.jobs_seen_us).await?;
        if let Some((_, latest)) = changed.last() {
            let latest = *latest;
            let jobs: Vec<Job> = changed.into_iter().map(|(job, _)| job).collect();
            self.send_jobs(jobs).await?;
            self.jobs_seen_us = latest;
        }
        Ok(())
    }

    async fn publish_list<T: MasterItem>(&self) -> Result<(), StoreError> {
        let items = self.store.list::<T>().await?;
        let snapshot = ListSnapshot { v: VERSION, items, updated_at: Utc::now() };
        self.send(topics::master(T::LIST), &snapshot).await;
        tracing::debug!(list = %T::LIST, "published list snapshot");
        Ok(())
    }

    async fn publish_jobs(&self, ids: &[JobId]) -> Result<(), StoreError> {
        let mut found = self.store.jobs(ids).await?;
        let jobs = ids.iter().filter_map(|id| found.remove(id)).collect();
        self.send_jobs(jobs).await
    }

    async fn send_jobs(&self, jobs: Vec<Job>) -> Result<(), StoreError> {
        let ids: Vec<JobId> = jobs.iter().map(|j| j.id.clone()).collect();
        let mut progress = self.store.job_progress(&ids).await?;
        for job in jobs {
            let topic = topics::job(&job.id);
            let progress = progress.remove(&job.id).unwrap_or_default();
            let snapshot = JobSnapshot { v: VERSION, job, progress, updated_at: Utc::now() };
            self.send(topic, &snapshot).await;
        }
        Ok(())
    }

    async fn send<T: serde::Serialize>(&self, topic: String, payload: &T) {
        let payload = serde_json::to_vec(payload).unwrap_or_default();
        if let Err(err) = self.client.publish(topic.clone(), QoS::AtLeastOnce, true, payload).await
        {
            tracing::warn!(%topic, error = %err, "publishing a snapshot failed");
        }
    }
}

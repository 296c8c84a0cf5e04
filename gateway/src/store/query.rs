//! Read queries for the HTTP API: jobs with their state, a job's metal and visits, the
//! event feed and timelines, stations, dead letters and anomalies.
//!
//! Every list is read a page at a time by key (`cursor`, `id`, `job_id`) through an index,
//! so no request ever scans or loads the whole ledger. Rows come back as plain values; the
//! HTTP layer shapes them into JSON. Nothing here writes.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use touchstone_model::ids::JobId;
use touchstone_model::workshop::Job;

mod ledger;

use super::master::jobs_by_id;
use super::{Store, StoreError};

/// Which jobs to list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only jobs whose current or last stage is this one.
    pub stage: Option<String>,
    /// Only jobs last seen at this station.
    pub station: Option<String>,
    /// Text searched in the job id and customer reference (case-insensitive, anywhere) and
    /// matched exactly against stone, packet and certificate numbers.
    pub q: Option<String>,
    /// Only jobs whose id sorts after this one (the previous page's last id).
    pub after: Option<String>,
    /// At most this many jobs.
    pub limit: i64,
}

/// Where a job stands, as derived from its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStateRow {
    /// The stage in progress, or the last finished.
    pub stage: Option<String>,
    /// Whether `stage` is in progress.
    pub in_progress: bool,
    /// Whether the job is on hold.
    pub held: bool,
    /// The station of the last stage event.
    pub station: Option<String>,
    /// Who holds the job.
    pub holder: Option<String>,
    /// The bench time of its last event, microseconds.
    pub last_event_us: i64,
}

/// One summed metal movement of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetalTotalRow {
    /// The stage, empty when the weighing named none.
    pub stage: String,
    /// The operator, empty when nobody was signed in.
    pub operator: String,
    /// The weighing purpose, as on the wire.
    pub purpose: String,
    /// The summed gross grams, exact decimal text.
    pub grams: String,
    /// How many weighings.
    pub weighings: i64,
}

/// One visit of a job to a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageVisitRow {
    /// The stage.
    pub stage: String,
    /// The station.
    pub station: String,
    /// Who started it.
    pub operator: Option<String>,
    /// Started, microseconds.
    pub started_us: i64,
    /// Finished, microseconds, when it has.
    pub finished_us: Option<i64>,
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Its place in the feed.
    pub cursor: i64,
    /// Its id.
    pub event_id: String,
    /// The station that recorded it.
    pub station: String,
    /// Who was signed in.
    pub operator: Option<String>,
    /// The job.
    pub job: Option<String>,
    /// The bench's clock, microseconds.
    pub recorded_us: i64,
    /// The gateway's clock on arrival, microseconds.
    pub received_us: i64,
    /// The event's wire JSON.
    pub payload: String,
}

/// One anomaly found in an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnomalyRow {
    /// Its id, the key of the anomaly list.
    pub id: i64,
    /// The event it was found in.
    pub event_id: String,
    /// The station.
    pub station: String,
    /// The job.
    pub job: Option<String>,
    /// What kind of anomaly.
    pub kind: String,
    /// What exactly.
    pub detail: String,
    /// When it was recorded, microseconds.
    pub created_us: i64,
}

/// One payload the gateway could not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterRow {
    /// Its id.
    pub id: i64,
    /// When it arrived, microseconds.
    pub received_us: i64,
    /// The topic it came on.
    pub topic: String,
    /// Why it was refused.
    pub reason: String,
    /// The bytes as received.
    pub payload: Vec<u8>,
}

/// A station's last reported state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationStateRow {
    /// The station.
    pub station: String,
    /// The last sequence number stored.
    pub last_seq: i64,
    /// The bench time of its last event.
    pub last_event_us: Option<i64>,
    /// When its last heartbeat arrived.
    pub last_status_us: Option<i64>,
    /// Whether it said it was online.
    pub online: bool,
    /// When it last went online or offline.
    pub online_since_us: Option<i64>,
    /// Events journaled there but not confirmed.
    pub backlog: i64,
    /// The balance's state.
    pub balance: Option<String>,
    /// Words about the balance.
    pub balance_detail: Option<String>,
    /// The kiosk version.
    pub version: Option<String>,
    /// Who is signed in.
    pub operator: Option<String>,
}

const JOB_STATE_COLUMNS: &str =
    "s.stage, s.in_progress, s.held, s.station_id, s.holder_id, s.last_event_us";

fn job_state(row: &AnyRow) -> Result<Option<JobStateRow>, StoreError> {
    // No row, or the row an import made for a job no event has concerned yet.
    let Some(last_event_us) = row.try_get::<Option<i64>, _>("last_event_us")?.filter(|us| *us != 0)
    else {
        return Ok(None);
    };
    Ok(Some(JobStateRow {
        stage: row.try_get("stage")?,
        in_progress: row.try_get::<i64, _>("in_progress")? != 0,
        held: row.try_get::<i64, _>("held")? != 0,
        station: row.try_get("station_id")?,
        holder: row.try_get("holder_id")?,
        last_event_us,
    }))
}

fn decode_job(row: &AnyRow) -> Result<Job, StoreError> {
    let doc: String = row.try_get("doc")?;
    serde_json::from_str(&doc).map_err(|source| StoreError::Corrupt {
        what: "job",
        id: row.try_get::<String, _>("job_id").unwrap_or_default(),
        source,
    })
}

/// `%text%` for LIKE, with the wildcards in `text` escaped.
fn like_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{}%", escaped.to_lowercase())
}

impl Store {
    /// Jobs with their state, in job id order, one page.
    pub async fn job_overview(
        &self,
        filter: &JobFilter,
    ) -> Result<Vec<(Job, Option<JobStateRow>)>, StoreError> {
        let mut conditions = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        let next = |binds: &mut Vec<String>, value: String| {
            binds.push(value);
            format!("${}", binds.len())
        };
        if let Some(after) = &filter.after {
            let p = next(&mut binds, after.clone());
            conditions.push(format!("j.job_id > {p}"));
        }
        if let Some(stage) = &filter.stage {
            let p = next(&mut binds, stage.clone());
            conditions.push(format!("s.stage = {p}"));
        }
        if let Some(station) = &filter.station {
            let p = next(&mut binds, station.clone());
            conditions.push(format!("s.station_id = {p}"));
        }
        if let Some(q) = &filter.q {
            let like = next(&mut binds, like_pattern(q));
            let exact = next(&mut binds, q.clone());
            conditions.push(format!(
                "(LOWER(j.job_id) LIKE {like} ESCAPE '\\' OR LOWER(j.customer_ref) LIKE {like} \
                 ESCAPE '\\' OR j.job_id IN (SELECT r.job_id FROM stone_reservations r \
                 WHERE r.certificate = {exact} OR r.item_id = {exact}))"
            ));
        }
        let limit = format!("${}", binds.len() + 1);
        let filter_sql = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT j.job_id, j.doc, {JOB_STATE_COLUMNS} FROM master_jobs j \
             LEFT JOIN job_state s ON s.job_id = j.job_id {filter_sql} \
             ORDER BY j.job_id LIMIT {limit}"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for bind in binds {
            query = query.bind(bind);
        }
        let rows = query.bind(filter.limit).fetch_all(self.pool()).await?;
        rows.iter().map(|row| Ok((decode_job(row)?, job_state(row)?))).collect()
    }

    /// One job's derived state, if any event concerned it.
    pub async fn job_state(&self, id: &JobId) -> Result<Option<JobStateRow>, StoreError> {
        let sql = format!("SELECT {JOB_STATE_COLUMNS} FROM job_state s WHERE s.job_id = $1");
        let row =
            sqlx::query(AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(self.pool()).await?;
        match row {
            Some(row) => job_state(&row),
            None => Ok(None),
        }
    }

    /// One job's metal totals, by stage, operator and purpose.
    pub async fn metal_totals(&self, id: &JobId) -> Result<Vec<MetalTotalRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT stage, operator_id, purpose, grams, weighings FROM metal_totals \
             WHERE job_id = $1 ORDER BY stage, operator_id, purpose",
        )
        .bind(id.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MetalTotalRow {
                    stage: row.try_get("stage")?,
                    operator: row.try_get("operator_id")?,
                    purpose: row.try_get("purpose")?,
                    grams: row.try_get("grams")?,
                    weighings: row.try_get("weighings")?,
                })
            })
            .collect()
    }

    /// One job's stage visits, oldest first.
    pub async fn stage_visits(&self, id: &JobId) -> Result<Vec<StageVisitRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT stage, station_id, operator_id, started_us, finished_us FROM stage_visits \
             WHERE job_id = $1 ORDER BY started_us, id",
        )
        .bind(id.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StageVisitRow {
                    stage: row.try_get("stage")?,
                    station: row.try_get("station_id")?,
                    operator: row.try_get("operator_id")?,
                    started_us: row.try_get("started_us")?,
                    finished_us: row.try_get("finished_us")?,
                })
            })
            .collect()
    }

    /// Whether a job with this id is in the master data.
    pub async fn job_exists(&self, id: &JobId) -> Result<bool, StoreError> {
        let mut conn = self.pool().acquire().await?;
        Ok(!jobs_by_id(&mut conn, std::slice::from_ref(id)).await?.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("SO_8%"), "%so\\_8\\%%");
    }
}

//! Reads for the manager dashboard: every open job with where it stands, the stage-time
//! histograms and booked metal of a period, metal prices, and a few searches.
//!
//! A year of a busy workshop is millions of events, so nothing here reads the ledger: open
//! jobs come from `job_state` through its `(done, ...)` indexes, and periods are read from
//! the per-day and per-month rows the ingest keeps (`stage_time_*`, `loss_*`): days for
//! periods up to 90 days, months for a year, a few thousand rows whatever the size of the
//! ledger.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use touchstone_model::ids::StageId;
use touchstone_model::metal::{Grams, Metal};

use super::stats::Period;
use super::{Store, StoreError};

/// A job that has not finished its route, with what the dashboard shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenJob {
    /// The job.
    pub job_id: String,
    /// Its customer reference.
    pub customer_ref: String,
    /// What it is.
    pub description: String,
    /// Its alloy code.
    pub alloy: String,
    /// The promised date.
    pub due: NaiveDate,
    /// The stages it must pass.
    pub route: Vec<StageId>,
    /// The stage in progress or last finished; `None` before the first.
    pub stage: Option<StageId>,
    /// Whether `stage` is in progress.
    pub in_progress: bool,
    /// Whether it is on hold.
    pub held: bool,
    /// The station of its last stage event.
    pub station: Option<String>,
    /// Who holds it (the operator who started the stage in progress).
    pub holder: Option<String>,
    /// The bench time of its last event, or `None` when no event concerned it yet.
    pub last_event_us: Option<i64>,
    /// Since when it is where it is: its last stage start or finish, or its import.
    pub since_us: i64,
    /// The gross metal it was last weighed with.
    pub metal: Option<Grams>,
}

impl OpenJob {
    /// The stage it waits for or works in next: the one in progress, or the route's next.
    pub fn current_or_next(&self) -> Option<&StageId> {
        if self.in_progress {
            return self.stage.as_ref();
        }
        match &self.stage {
            None => self.route.first(),
            Some(stage) => {
                let at = self.route.iter().position(|s| s == stage)?;
                self.route.get(at + 1)
            }
        }
    }

    /// The stages still to pass, the one in progress or waited for included.
    pub fn remaining(&self) -> &[StageId] {
        let Some(next) = self.current_or_next() else { return &[] };
        match self.route.iter().position(|s| s == next) {
            Some(at) => &self.route[at..],
            None => &[],
        }
    }
}

/// The part of a job's document the open-job list needs.
#[derive(Deserialize)]
struct JobSketch {
    description: String,
    route: Vec<StageId>,
}

/// Metal booked by the stage visits finished in a period, for one stage, operator and alloy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossGroup {
    /// The stage.
    pub stage: String,
    /// The operator who held the visits; empty when nobody was signed in.
    pub operator: String,
    /// The alloy; empty for jobs unknown to the master data.
    pub alloy: String,
    /// Gross grams issued.
    pub issued: Grams,
    /// Gross grams received back.
    pub received: Grams,
    /// Gross grams returned as scrap.
    pub scrap: Grams,
    /// How many visits.
    pub visits: i64,
}

/// Metal booked in one slot of a period (a day or a week) for one alloy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossSlot {
    /// The slot's number: days since the period's start divided by the slot's length.
    pub slot: i64,
    /// The alloy.
    pub alloy: String,
    /// Gross grams issued.
    pub issued: Grams,
    /// Gross grams lost: issued - received - scrap.
    pub lost: Grams,
}

/// The price of a gram of fine metal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetalPrice {
    /// The metal.
    pub metal: Metal,
    /// Price per gram of fine metal.
    pub per_gram: Decimal,
    /// The currency code, e.g. `EUR`.
    pub currency: String,
    /// When it was set, microseconds.
    pub updated_us: i64,
    /// Who set it: a user name, or `api` for a price feed.
    pub updated_by: String,
}

/// A column of whole nanograms as grams.
fn nanograms(row: &AnyRow, column: &str) -> Result<Grams, StoreError> {
    Ok(Grams::new(Decimal::new(row.try_get::<i64, _>(column)?, 9)))
}

fn corrupt(what: &'static str, id: &str, message: &str) -> StoreError {
    StoreError::Corrupt { what, id: id.to_owned(), source: serde::de::Error::custom(message) }
}

impl Store {
    /// Every job that has not finished its route, started or not, in job order.
    pub async fn open_jobs(&self) -> Result<Vec<OpenJob>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.job_id, s.stage, s.in_progress, s.held, s.station_id, s.holder_id, \
             s.last_event_us, s.since_us, s.metal_grams, j.customer_ref, j.alloy, j.due_date, \
             j.doc FROM job_state s JOIN master_jobs j ON j.job_id = s.job_id \
             WHERE s.done = 0 ORDER BY s.job_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(open_job).collect()
    }

    /// The stage-time histograms of a period: per stage, (bucket, visits).
    pub async fn stage_histograms(
        &self,
        period: Period,
    ) -> Result<HashMap<String, Vec<(i64, i64)>>, StoreError> {
        let (span, key, from, to) = period.table();
        let sql = format!(
            "SELECT stage, bucket, CAST(SUM(visits) AS BIGINT) AS visits FROM stage_time_{span} \
             WHERE {key} >= $1 AND {key} <= $2 GROUP BY stage, bucket"
        );
        let rows =
            sqlx::query(AssertSqlSafe(sql)).bind(from).bind(to).fetch_all(self.pool()).await?;
        let mut histograms: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        for row in rows {
            histograms
                .entry(row.try_get("stage")?)
                .or_default()
                .push((row.try_get("bucket")?, row.try_get("visits")?));
        }
        Ok(histograms)
    }

    /// The metal booked in a period, summed per stage, operator and alloy by the database.
    pub async fn loss_groups(&self, period: Period) -> Result<Vec<LossGroup>, StoreError> {
        let (span, key, from, to) = period.table();
        let sql = format!(
            "SELECT stage, operator_id, alloy, CAST(SUM(issued_ng) AS BIGINT) AS issued, \
             CAST(SUM(received_ng) AS BIGINT) AS received, \
             CAST(SUM(scrap_ng) AS BIGINT) AS scrap, CAST(SUM(visits) AS BIGINT) AS visits \
             FROM loss_{span} WHERE {key} >= $1 AND {key} <= $2 \
             GROUP BY stage, operator_id, alloy"
        );
        let rows =
            sqlx::query(AssertSqlSafe(sql)).bind(from).bind(to).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok(LossGroup {
                    stage: row.try_get("stage")?,
                    operator: row.try_get("operator_id")?,
                    alloy: row.try_get("alloy")?,
                    issued: nanograms(row, "issued")?,
                    received: nanograms(row, "received")?,
                    scrap: nanograms(row, "scrap")?,
                    visits: row.try_get("visits")?,
                })
            })
            .collect()
    }

    /// The metal booked in a period per alloy, in slots of `step` of the period's units (days
    /// or months) from its start.
    pub async fn loss_slots(&self, period: Period, step: i64) -> Result<Vec<LossSlot>, StoreError> {
        let (span, key, from, to) = period.table();
        let sql = format!(
            "SELECT ({key} - $1) / $3 AS slot, alloy, CAST(SUM(issued_ng) AS BIGINT) AS issued, \
             CAST(SUM(issued_ng - received_ng - scrap_ng) AS BIGINT) AS lost \
             FROM loss_{span} WHERE {key} >= $1 AND {key} <= $2 \
             GROUP BY ({key} - $1) / $3, alloy"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(from)
            .bind(to)
            .bind(step.max(1))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(LossSlot {
                    slot: row.try_get("slot")?,
                    alloy: row.try_get("alloy")?,
                    issued: nanograms(row, "issued")?,
                    lost: nanograms(row, "lost")?,
                })
            })
            .collect()
    }

    /// The current price of each metal that has one.
    pub async fn metal_prices(&self) -> Result<Vec<MetalPrice>, StoreError> {
        let rows = sqlx::query(
            "SELECT metal, per_gram, currency, updated_us, updated_by FROM metal_prices \
             ORDER BY metal",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let metal: String = row.try_get("metal")?;
                let per_gram: String = row.try_get("per_gram")?;
                Ok(MetalPrice {
                    metal: metal
                        .parse()
                        .map_err(|_| corrupt("metal price", &metal, "unknown metal"))?,
                    per_gram: per_gram
                        .parse()
                        .map_err(|_| corrupt("metal price", &metal, "not a decimal"))?,
                    currency: row.try_get("currency")?,
                    updated_us: row.try_get("updated_us")?,
                    updated_by: row.try_get("updated_by")?,
                })
            })
            .collect()
    }

    /// Sets the price of a gram of fine `metal`.
    pub async fn set_metal_price(&self, price: &MetalPrice) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO metal_prices (metal, per_gram, currency, updated_us, updated_by) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (metal) DO UPDATE SET \
             per_gram = excluded.per_gram, currency = excluded.currency, \
             updated_us = excluded.updated_us, updated_by = excluded.updated_by",
        )
        .bind(price.metal.as_str())
        .bind(price.per_gram.to_string())
        .bind(&price.currency)
        .bind(price.updated_us)
        .bind(&price.updated_by)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

fn open_job(row: &AnyRow) -> Result<OpenJob, StoreError> {
    let job_id: String = row.try_get("job_id")?;
    let doc: String = row.try_get("doc")?;
    let sketch: JobSketch = serde_json::from_str(&doc).map_err(|source| StoreError::Corrupt {
        what: "job",
        id: job_id.clone(),
        source,
    })?;
    let due: String = row.try_get("due_date")?;
    let due = due.parse().map_err(|_| corrupt("job due date", &job_id, "not a date"))?;
    let metal = match row.try_get::<Option<String>, _>("metal_grams")? {
        Some(text) => {
            Some(text.parse().map_err(|_| corrupt("job metal", &job_id, "not a decimal"))?)
        }
        None => None,
    };
    Ok(OpenJob {
        customer_ref: row.try_get("customer_ref")?,
        description: sketch.description,
        alloy: row.try_get("alloy")?,
        due,
        route: sketch.route,
        stage: row.try_get::<Option<String>, _>("stage")?.and_then(|s| s.parse().ok()),
        in_progress: row.try_get::<i64, _>("in_progress")? != 0,
        held: row.try_get::<i64, _>("held")? != 0,
        station: row.try_get("station_id")?,
        holder: row.try_get("holder_id")?,
        last_event_us: Some(row.try_get::<i64, _>("last_event_us")?).filter(|us| *us != 0),
        since_us: row.try_get("since_us")?,
        metal,
        job_id,
    })
}

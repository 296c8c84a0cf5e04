//! Ledger writes: events committed in batches, exactly once, with the derived state kept
//! current in the same transaction, plus dead letters and station heartbeats.
//!
//! A batch is one transaction: the events (deduplicated by id), then the state they imply
//! (each job's stage and holder, stage visits, metal totals, each station's last sequence
//! number) and the anomalies the workshop rules find in them. The caller acknowledges the
//! batch only after this returns, so an acknowledged event is always on disk.
//!
//! The gateway never refuses a decodable event for a business rule: the bench may have worked
//! from an old cache, or a supervisor overrode a check. It stores the fact and records an
//! anomaly for managers instead.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use touchstone_model::event::{Event, Fact, Stability, WeightPurpose};
use touchstone_model::ids::{EventId, JobId, StationId};
use touchstone_model::metal::{Alloy, Grams};
use touchstone_model::protocol::{Ack, AckOutcome, StatusMessage, encode_event};
use touchstone_model::rules::{self, JobProgress, LossVerdict};
use touchstone_model::workshop::{Job, LossBand, StageDef, Station};

use super::master::{MasterItem, jobs_by_id, reservation_owners};
use super::{Placeholders, Store, StoreError, statement_chunks, stats, to_us};

/// An event as it reached the gateway.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The decoded event.
    pub event: Event,
    /// The gateway's clock when it arrived.
    pub received_at: DateTime<Utc>,
}

/// Rows per multi-row statement at the most: fewer statements mean fewer round trips to the
/// database, and 256 rows of at most ten columns stay far inside both databases' parameter
/// limits (32,766 for SQLite, 65,535 for PostgreSQL). Statements for SQLite use anonymous
/// placeholders ([`Placeholders`]); with numbered ones SQLite's bind cost grows with the
/// square of a statement's parameters, which had held statements to 40 rows. Shorter
/// statements come in powers of two ([`statement_chunks`]).
pub const ROWS_PER_STATEMENT: usize = 256;

/// What committing a batch did.
#[derive(Debug, Clone, Default)]
pub struct Committed {
    /// One acknowledgement per event given, in the order given.
    pub acks: Vec<Ack>,
    /// The jobs whose place on their route (stage, in progress, on hold) the batch moved:
    /// those whose snapshots the benches need again. A weighing or a note moves nothing.
    pub moved: Vec<JobId>,
}

impl Store {
    /// Commits `batch` in one transaction, storing each event not stored before and updating
    /// the derived state.
    pub async fn commit_batch(&self, batch: &[Incoming]) -> Result<Committed, StoreError> {
        let mut tx = self.ledger().begin().await?;

        // Copies of one event inside the batch count as duplicates of the first.
        let mut seen = HashSet::with_capacity(batch.len());
        let firsts: Vec<&Incoming> = batch.iter().filter(|i| seen.insert(i.event.id)).collect();
        let inserted = insert_events(&mut tx, &firsts).await?;
        let new: Vec<&Incoming> =
            firsts.into_iter().filter(|i| inserted.contains(&i.event.id)).collect();
        let moved = if new.is_empty() { Vec::new() } else { derive(&mut tx, &new).await? };
        tx.commit().await?;

        let mut acked = HashSet::with_capacity(batch.len());
        let acks = batch
            .iter()
            .map(|i| {
                let first_copy = acked.insert(i.event.id);
                let outcome = if first_copy && inserted.contains(&i.event.id) {
                    AckOutcome::Stored
                } else {
                    AckOutcome::Duplicate
                };
                Ack { id: i.event.id, seq: i.event.seq, outcome }
            })
            .collect();
        Ok(Committed { acks, moved })
    }

    /// Keeps a payload that could not be accepted, with why.
    pub async fn record_dead_letter(
        &self,
        topic: &str,
        payload: &[u8],
        reason: &str,
        received_us: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO dead_letters (received_us, topic, payload, reason) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(received_us)
        .bind(topic)
        .bind(payload.to_vec())
        .bind(reason)
        .execute(self.ledger())
        .await?;
        Ok(())
    }

    /// Records a station's heartbeat or last will.
    pub async fn record_status(
        &self,
        status: &StatusMessage,
        received_us: i64,
    ) -> Result<(), StoreError> {
        let balance =
            serde_json::to_value(status.balance).ok().and_then(|v| v.as_str().map(str::to_owned));
        sqlx::query(
            "INSERT INTO station_state (station_id, last_seq, last_status_us, online, backlog, \
             balance, balance_detail, version, operator_id, online_since_us) \
             VALUES ($1, 0, $2, $3, $4, $5, $6, $7, $8, $2) \
             ON CONFLICT (station_id) DO UPDATE SET last_status_us = excluded.last_status_us, \
             online_since_us = CASE WHEN station_state.online = excluded.online \
             AND station_state.online_since_us IS NOT NULL THEN station_state.online_since_us \
             ELSE excluded.last_status_us END, \
             online = excluded.online, backlog = excluded.backlog, balance = excluded.balance, \
             balance_detail = excluded.balance_detail, version = excluded.version, \
             operator_id = excluded.operator_id",
        )
        .bind(status.station.as_str())
        .bind(received_us)
        .bind(i64::from(status.online))
        .bind(i64::try_from(status.backlog).unwrap_or(i64::MAX))
        .bind(balance)
        .bind(status.balance_detail.clone())
        .bind(&status.version)
        .bind(status.operator.as_ref().map(|o| o.to_string()))
        .execute(self.ledger())
        .await?;
        Ok(())
    }
}

/// Inserts the events, skipping ids already stored; returns the ids actually inserted.
///
/// The stored ids are looked up first (a bench resends what it sent before an outage, so
/// a few usually are), and the rest inserted without a conflict clause: an insert that
/// returned the ids it stored would cost a result row per event. Should another
/// transaction store one of the ids in between, the insert fails on the unique key and the
/// batch is tried again, never counted twice.
async fn insert_events(
    conn: &mut AnyConnection,
    events: &[&Incoming],
) -> Result<HashSet<EventId>, StoreError> {
    let ids: Vec<String> = events.iter().map(|i| i.event.id.to_string()).collect();
    let sql = "SELECT event_id FROM events WHERE event_id IN ({})";
    let mut stored = HashSet::new();
    for row in super::fetch_in(conn, sql, &ids).await? {
        stored.insert(row.try_get::<String, _>("event_id")?);
    }
    let fresh: Vec<(&Incoming, String)> =
        events.iter().copied().zip(ids).filter(|(_, id)| !stored.contains(id)).collect();

    let placeholders = Placeholders::of(conn);
    for chunk in statement_chunks(&fresh, ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO events (event_id, station_id, seq, operator_id, job_id, fact_type, \
             recorded_us, received_us, payload) VALUES {}",
            placeholders.value_rows(chunk.len(), 9)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (incoming, id) in chunk {
            let e = &incoming.event;
            query = query
                .bind(id.clone())
                .bind(e.station.to_string())
                .bind(i64::try_from(e.seq).unwrap_or(i64::MAX))
                .bind(e.operator.as_ref().map(|o| o.to_string()))
                .bind(e.job.as_ref().map(|j| j.to_string()))
                .bind(e.fact.type_name())
                .bind(to_us(e.recorded_at))
                .bind(to_us(incoming.received_at))
                .bind(String::from_utf8_lossy(&encode_event(e)).into_owned());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(fresh.into_iter().map(|(incoming, _)| incoming.event.id).collect())
}

/// The master data the rules need, loaded once per batch.
struct Context {
    jobs: HashMap<JobId, Job>,
    stations: HashMap<StationId, Station>,
    stages: Vec<StageDef>,
    bands: Vec<LossBand>,
    alloys: Vec<Alloy>,
    owners: HashMap<String, JobId>,
}

/// A job's derived row.
#[derive(Debug, Clone, Default)]
struct JobRow {
    progress: JobProgress,
    station: Option<String>,
    holder: Option<String>,
    last_event_us: i64,
    /// Since when the job is where it is: its last stage start or finish.
    since_us: i64,
    /// The gross metal it was last weighed with, on issue or receipt.
    metal: Option<Grams>,
    /// It has finished the last stage of its route.
    done: bool,
}

/// Metal weighed for a job at a stage, or booked as one stage visit's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct StageMetal {
    issued: Grams,
    received: Grams,
    scrap: Grams,
}

impl StageMetal {
    fn minus(self, other: StageMetal) -> StageMetal {
        StageMetal {
            issued: self.issued - other.issued,
            received: self.received - other.received,
            scrap: self.scrap - other.scrap,
        }
    }

    fn plus(self, other: StageMetal) -> StageMetal {
        StageMetal {
            issued: self.issued + other.issued,
            received: self.received + other.received,
            scrap: self.scrap + other.scrap,
        }
    }
}

/// The key of a day's loss row: day, stage, operator ('' for none), alloy ('' when unknown).
type LossKey = (i64, String, String, String);

/// The key of a metal total: job, stage, operator, purpose ('' where none applies).
type MetalKey = (String, String, String, String);

/// What a batch changes, gathered in memory and written with few statements.
#[derive(Default)]
struct Derived {
    jobs: HashMap<String, JobRow>,
    stations: HashMap<String, (i64, i64)>,
    totals: HashMap<MetalKey, (Grams, i64)>,
    anomalies: Vec<AnomalyRow>,
    /// What each (job, stage) has booked as losses so far; `rebooked` are the keys changed.
    booked: HashMap<(String, String), StageMetal>,
    rebooked: HashSet<(String, String)>,
    /// Metal of finished visits to add to the day's loss rows, with the visit count.
    losses: HashMap<LossKey, (StageMetal, i64)>,
    /// Jobs whose progress an event of the batch changed.
    moved: HashSet<JobId>,
}

/// One row of the anomalies table, as the batch inserts it.
struct AnomalyRow {
    event_id: String,
    station_id: String,
    job_id: Option<String>,
    kind: &'static str,
    detail: String,
    created_us: i64,
}

impl Derived {
    fn flag(&mut self, incoming: &Incoming, kind: &'static str, detail: String) {
        let e = &incoming.event;
        let job = e.job.as_ref().map(|j| j.to_string());
        self.anomalies.push(AnomalyRow {
            event_id: e.id.to_string(),
            station_id: e.station.to_string(),
            job_id: job,
            kind,
            detail,
            created_us: to_us(incoming.received_at),
        });
    }

    /// Sums a purpose's grams for one job and stage over all operators.
    fn stage_sum(&self, job: &str, stage: &str, purpose: WeightPurpose) -> Grams {
        let purpose = purpose.as_str();
        self.totals
            .iter()
            .filter(|((j, s, _, p), _)| j == job && s == stage && p == purpose)
            .map(|(_, (g, _))| *g)
            .sum()
    }

    /// What a job has been issued, returned and sent back as scrap at a stage, in all.
    fn stage_metal(&self, job: &str, stage: &str) -> StageMetal {
        StageMetal {
            issued: self.stage_sum(job, stage, WeightPurpose::Issue),
            received: self.stage_sum(job, stage, WeightPurpose::Receipt),
            scrap: self.stage_sum(job, stage, WeightPurpose::ScrapReturn),
        }
    }
}

/// A change to the stage visits, applied in event order.
enum VisitChange {
    Start { job: String, stage: String, station: String, operator: Option<String>, at: i64 },
    Finish { job: String, stage: String, at: i64 },
}

/// Derives and writes the state implied by newly stored events; returns the jobs it moved.
async fn derive(conn: &mut AnyConnection, new: &[&Incoming]) -> Result<Vec<JobId>, StoreError> {
    let job_ids: Vec<JobId> = distinct(new.iter().filter_map(|i| i.event.job.clone()));
    let ctx = load_context(conn, new, &job_ids).await?;
    let mut d = Derived::default();
    load_state(conn, &mut d, new, &job_ids).await?;

    let mut visits = Vec::new();
    for incoming in new {
        apply(&ctx, &mut d, &mut visits, incoming);
    }
    let mut moved: Vec<JobId> = d.moved.iter().cloned().collect();
    moved.sort();
    write_state(conn, d, visits).await?;
    Ok(moved)
}

fn distinct<T: Eq + std::hash::Hash + Clone>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items.filter(|item| seen.insert(item.clone())).collect()
}

async fn load_context(
    conn: &mut AnyConnection,
    new: &[&Incoming],
    job_ids: &[JobId],
) -> Result<Context, StoreError> {
    let jobs = jobs_by_id(conn, job_ids).await?;
    let items: Vec<String> = distinct(new.iter().filter_map(|i| match &i.event.fact {
        Fact::StoneIssued(m) => Some(m.item_id().to_owned()),
        _ => None,
    }));
    let owners = reservation_owners(conn, &items).await?;

    let rows =
        sqlx::query("SELECT list, item_id, doc FROM master_docs WHERE list IN ($1, $2, $3, $4)")
            .bind(Station::LIST.topic_level())
            .bind(StageDef::LIST.topic_level())
            .bind(LossBand::LIST.topic_level())
            .bind(Alloy::LIST.topic_level())
            .fetch_all(&mut *conn)
            .await?;
    let mut ctx = Context {
        jobs,
        stations: HashMap::new(),
        stages: vec![],
        bands: vec![],
        alloys: vec![],
        owners,
    };
    for row in rows {
        let list: String = row.try_get("list")?;
        let doc: String = row.try_get("doc")?;
        let corrupt = |source| StoreError::Corrupt {
            what: "master item",
            id: row.try_get::<String, _>("item_id").unwrap_or_default(),
            source,
        };
        match list.as_str() {
            "stations" => {
                let station: Station = serde_json::from_str(&doc).map_err(corrupt)?;
                ctx.stations.insert(station.id.clone(), station);
            }
            "stages" => ctx.stages.push(serde_json::from_str(&doc).map_err(corrupt)?),
            "loss-bands" => ctx.bands.push(serde_json::from_str(&doc).map_err(corrupt)?),
            _ => ctx.alloys.push(serde_json::from_str(&doc).map_err(corrupt)?),
        }
    }
    Ok(ctx)
}

/// Loads the current derived rows the batch will change.
async fn load_state(
    conn: &mut AnyConnection,
    d: &mut Derived,
    new: &[&Incoming],
    job_ids: &[JobId],
) -> Result<(), StoreError> {
    let jobs: Vec<String> = job_ids.iter().map(|j| j.to_string()).collect();
    let sql = "SELECT job_id, stage, in_progress, held, station_id, holder_id, last_event_us, \
               since_us, metal_grams, done FROM job_state WHERE job_id IN ({})";
    for row in super::fetch_in(conn, sql, &jobs).await? {
        let progress = JobProgress {
            stage: row.try_get::<Option<String>, _>("stage")?.and_then(|s| s.parse().ok()),
            in_progress: row.try_get::<i64, _>("in_progress")? != 0,
            held: row.try_get::<i64, _>("held")? != 0,
        };
        let job_row = JobRow {
            progress,
            station: row.try_get("station_id")?,
            holder: row.try_get("holder_id")?,
            last_event_us: row.try_get("last_event_us")?,
            since_us: row.try_get("since_us")?,
            metal: row
                .try_get::<Option<String>, _>("metal_grams")?
                .map(|g| parse_grams(&g, "job metal"))
                .transpose()?,
            done: row.try_get::<i64, _>("done")? != 0,
        };
        d.jobs.insert(row.try_get("job_id")?, job_row);
    }

    let sql = "SELECT job_id, stage, issued, received, scrap FROM stage_booked \
               WHERE job_id IN ({})";
    for row in super::fetch_in(conn, sql, &jobs).await? {
        let booked = StageMetal {
            issued: parse_grams(&row.try_get::<String, _>("issued")?, "booked metal")?,
            received: parse_grams(&row.try_get::<String, _>("received")?, "booked metal")?,
            scrap: parse_grams(&row.try_get::<String, _>("scrap")?, "booked metal")?,
        };
        d.booked.insert((row.try_get("job_id")?, row.try_get("stage")?), booked);
    }

    let stations: Vec<String> = distinct(new.iter().map(|i| i.event.station.to_string()));
    let sql =
        "SELECT station_id, last_seq, last_event_us FROM station_state WHERE station_id IN ({})";
    for row in super::fetch_in(conn, sql, &stations).await? {
        let last_event: Option<i64> = row.try_get("last_event_us")?;
        d.stations.insert(
            row.try_get("station_id")?,
            (row.try_get("last_seq")?, last_event.unwrap_or(0)),
        );
    }

    // Weighings without a job (sweeps, check weights) are totalled under the empty job id.
    let mut weighed: Vec<String> = distinct(new.iter().filter_map(|i| match &i.event.fact {
        Fact::WeightRecorded(_) => {
            Some(i.event.job.as_ref().map(|j| j.to_string()).unwrap_or_default())
        }
        _ => None,
    }));
    weighed = distinct(weighed.into_iter().chain(jobs.iter().cloned()));
    let sql = "SELECT job_id, stage, operator_id, purpose, grams, weighings FROM metal_totals \
               WHERE job_id IN ({})";
    for row in super::fetch_in(conn, sql, &weighed).await? {
        let grams: String = row.try_get("grams")?;
        let key = (
            row.try_get("job_id")?,
            row.try_get("stage")?,
            row.try_get("operator_id")?,
            row.try_get("purpose")?,
        );
        let grams = parse_grams(&grams, "metal total")?;
        d.totals.insert(key, (grams, row.try_get("weighings")?));
    }
    Ok(())
}

/// Grams stored as decimal text; anything else is a corrupt row.
fn parse_grams(text: &str, what: &'static str) -> Result<Grams, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt {
        what,
        id: text.to_owned(),
        source: serde::de::Error::custom("grams is not a decimal"),
    })
}

/// Folds one new event into the derived state, flagging what breaks a rule.
fn apply(ctx: &Context, d: &mut Derived, visits: &mut Vec<VisitChange>, incoming: &Incoming) {
    let e = &incoming.event;
    let at = to_us(e.recorded_at);
    let seq = i64::try_from(e.seq).unwrap_or(i64::MAX);

    // Benches publish in sequence order, so a jump means events were lost on the bench.
    let station = d.stations.entry(e.station.to_string()).or_insert((0, 0));
    if seq > station.0 + 1 {
        let expected = station.0 + 1;
        d.flag(incoming, "sequence_gap", format!("expected seq {expected}, got {seq}"));
    }
    let station = d.stations.entry(e.station.to_string()).or_insert((0, 0));
    station.0 = station.0.max(seq);
    station.1 = station.1.max(at);

    if let Fact::Override { supervisor, refusal } = &e.fact {
        d.flag(incoming, "override", format!("{supervisor} allowed: {refusal}"));
    }
    if let Fact::WeightRecorded(w) = &e.fact
        && w.stability == Stability::Unstable
    {
        d.flag(
            incoming,
            "unstable_weight",
            format!("{} {} recorded while moving", w.value, w.unit),
        );
    }
    let Some(job_id) = &e.job else {
        if let Fact::WeightRecorded(w) = &e.fact {
            add_weight(
                d,
                incoming,
                "",
                w.stage.as_ref().map(|s| s.to_string()).unwrap_or_default(),
                w,
            );
        }
        return;
    };
    let job = ctx.jobs.get(job_id);
    if job.is_none() {
        d.flag(incoming, "unknown_job", format!("job {job_id} is not in the master data"));
    }
    let key = job_id.to_string();
    let row = d.jobs.entry(key.clone()).or_default().clone();

    match &e.fact {
        Fact::StageStarted { stage } => {
            match (job, ctx.stations.get(&e.station)) {
                (Some(job), Some(station)) => {
                    if let Err(refusal) =
                        rules::check_stage_start(job, &row.progress, station, stage, &ctx.stages)
                    {
                        d.flag(incoming, "rule_broken", refusal.to_string());
                    }
                }
                (_, None) => d.flag(
                    incoming,
                    "unknown_station",
                    format!("station {} is not in the master data", e.station),
                ),
                (None, _) => {}
            }
            visits.push(VisitChange::Start {
                job: key.clone(),
                stage: stage.to_string(),
                station: e.station.to_string(),
                operator: e.operator.as_ref().map(|o| o.to_string()),
                at,
            });
        }
        Fact::StageFinished { stage } => {
            let receipt = d.totals.iter().any(|((j, s, _, p), (_, n))| {
                j == &key && s == stage.as_str() && p == WeightPurpose::Receipt.as_str() && *n > 0
            });
            if let Err(refusal) =
                rules::check_stage_finish(&row.progress, stage, &ctx.stages, receipt)
            {
                d.flag(incoming, "rule_broken", refusal.to_string());
            }
            visits.push(VisitChange::Finish { job: key.clone(), stage: stage.to_string(), at });
            // The visit's holder when the job's row is at this visit; a finish that arrives
            // out of order is booked to whoever recorded it.
            let at_visit = row.progress.in_progress && row.progress.stage.as_ref() == Some(stage);
            let holder = row.holder.clone().filter(|_| at_visit);
            let operator = holder.or_else(|| e.operator.as_ref().map(|o| o.to_string()));
            let alloy = job.map(|j| j.alloy.to_string()).unwrap_or_default();
            book_visit(d, &key, stage.as_str(), operator.unwrap_or_default(), alloy, at);
        }
        Fact::StoneIssued(movement) => match ctx.owners.get(movement.item_id()) {
            Some(owner) if owner != job_id => d.flag(
                incoming,
                "stone_of_another_job",
                format!("{} is reserved for job {owner}", movement.item_id()),
            ),
            Some(_) => {}
            None => d.flag(
                incoming,
                "stone_not_reserved",
                format!("{} is not reserved for any job", movement.item_id()),
            ),
        },
        Fact::WeightRecorded(w) => {
            let stage = w
                .stage
                .as_ref()
                .or(row.progress.stage.as_ref().filter(|_| row.progress.in_progress))
                .map(|s| s.to_string())
                .unwrap_or_default();
            add_weight(d, incoming, &key, stage.clone(), w);
            if w.purpose == WeightPurpose::Receipt
                && let Some(job) = job
            {
                assess_receipt(ctx, d, incoming, job, &stage, w);
            }
        }
        _ => {}
    }

    // An event recorded before the job's latest known one (a bench that was offline) is kept
    // in the ledger but must not move the job backwards.
    if at >= row.last_event_us {
        let row = d.jobs.entry(key).or_default();
        let before = row.progress.clone();
        row.progress.apply(&e.fact);
        if row.progress != before {
            d.moved.insert(job_id.clone());
        }
        row.last_event_us = at;
        match &e.fact {
            Fact::StageStarted { .. } => {
                row.station = Some(e.station.to_string());
                row.holder = e.operator.as_ref().map(|o| o.to_string());
                row.since_us = at;
            }
            Fact::StageFinished { .. } => {
                row.station = Some(e.station.to_string());
                row.holder = None;
                row.since_us = at;
            }
            Fact::WeightRecorded(w)
                if matches!(w.purpose, WeightPurpose::Issue | WeightPurpose::Receipt) =>
            {
                row.metal = Some(w.grams);
            }
            _ => {}
        }
        row.done = job.is_some_and(|j| row.progress.is_complete(j));
    }
}

/// Books the metal of a finished stage visit into its day's loss row: what the job was
/// issued, returned and scrapped at the stage since the stage was last booked, so a stage
/// worked twice counts each piece of metal once.
fn book_visit(d: &mut Derived, job: &str, stage: &str, operator: String, alloy: String, at: i64) {
    let key = (job.to_owned(), stage.to_owned());
    let total = d.stage_metal(job, stage);
    let delta = total.minus(d.booked.get(&key).copied().unwrap_or_default());
    if delta == StageMetal::default() {
        return;
    }
    d.booked.insert(key.clone(), total);
    d.rebooked.insert(key);
    let day = (stats::day_of(at), stage.to_owned(), operator, alloy);
    let entry = d.losses.entry(day).or_default();
    entry.0 = entry.0.plus(delta);
    entry.1 += 1;
}

fn add_weight(
    d: &mut Derived,
    incoming: &Incoming,
    job: &str,
    stage: String,
    w: &touchstone_model::event::Weighing,
) {
    let operator = incoming.event.operator.as_ref().map(|o| o.to_string()).unwrap_or_default();
    let key = (job.to_owned(), stage, operator, w.purpose.as_str().to_owned());
    let total = d.totals.entry(key).or_insert((Grams::ZERO, 0));
    total.0 = total.0 + w.grams;
    total.1 += 1;
}

/// Compares a stage's receipts with its issues and flags a loss outside the band.
fn assess_receipt(
    ctx: &Context,
    d: &mut Derived,
    incoming: &Incoming,
    job: &Job,
    stage: &str,
    w: &touchstone_model::event::Weighing,
) {
    let key = job.id.to_string();
    let issued = d.stage_sum(&key, stage, WeightPurpose::Issue);
    if issued == Grams::ZERO {
        return;
    }
    let received = d.stage_sum(&key, stage, WeightPurpose::Receipt);
    let scrap = d.stage_sum(&key, stage, WeightPurpose::ScrapReturn);
    let alloy_code = w.alloy.as_ref().unwrap_or(&job.alloy);
    let Some(alloy) = ctx.alloys.iter().find(|a| &a.code == alloy_code) else {
        d.flag(incoming, "unknown_alloy", format!("alloy {alloy_code} is not in the master data"));
        return;
    };
    let band = stage.parse().ok().and_then(|s| LossBand::find(&ctx.bands, &s, alloy_code));
    // The balance's readability is its last digit: 6.118 g reads to 0.001 g.
    let tolerance = Grams::new(Decimal::new(1, w.grams.value().scale()));
    let a = rules::assess_loss(issued, received, scrap, alloy.fineness, band, tolerance);
    let kind = match a.verdict {
        LossVerdict::OverWarning => "loss_over_warning",
        LossVerdict::OverHard => "loss_over_hard",
        LossVerdict::Gain => "weight_gain",
        LossVerdict::Within | LossVerdict::NoBand => return,
    };
    let detail = format!(
        "{stage}: issued {issued}, received {received}, scrap {scrap}: loss {} ({} fine), {}%",
        a.loss, a.fine_loss, a.percent
    );
    d.flag(incoming, kind, detail);
}

/// Writes the derived rows and anomalies of a batch.
async fn write_state(
    conn: &mut AnyConnection,
    d: Derived,
    visits: Vec<VisitChange>,
) -> Result<(), StoreError> {
    let placeholders = Placeholders::of(conn);
    let mut stage_times: HashMap<(i64, String, i64), i64> = HashMap::new();
    for change in visits {
        match change {
            VisitChange::Start { job, stage, station, operator, at } => {
                sqlx::query(
                    "INSERT INTO stage_visits (job_id, stage, station_id, operator_id, started_us) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(job)
                .bind(stage)
                .bind(station)
                .bind(operator)
                .bind(at)
                .execute(&mut *conn)
                .await?;
            }
            VisitChange::Finish { job, stage, at } => {
                let started = sqlx::query(
                    "UPDATE stage_visits SET finished_us = $1 WHERE job_id = $2 AND stage = $3 \
                     AND finished_us IS NULL RETURNING started_us",
                )
                .bind(at)
                .bind(job)
                .bind(&stage)
                .fetch_all(&mut *conn)
                .await?;
                for row in started {
                    let started_us: i64 = row.try_get("started_us")?;
                    let bucket = stats::bucket_of(at - started_us);
                    *stage_times.entry((stats::day_of(at), stage.clone(), bucket)).or_default() +=
                        1;
                }
            }
        }
    }
    write_stage_times(conn, stage_times).await?;

    let jobs: Vec<_> = d.jobs.into_iter().collect();
    for chunk in statement_chunks(&jobs, ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO job_state (job_id, stage, in_progress, held, station_id, holder_id, \
             last_event_us, since_us, metal_grams, done) \
             VALUES {} ON CONFLICT (job_id) DO UPDATE SET stage = excluded.stage, \
             in_progress = excluded.in_progress, held = excluded.held, \
             station_id = excluded.station_id, holder_id = excluded.holder_id, \
             last_event_us = excluded.last_event_us, since_us = excluded.since_us, \
             metal_grams = excluded.metal_grams, done = excluded.done",
            placeholders.value_rows(chunk.len(), 10)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (job, row) in chunk {
            query = query
                .bind(job.clone())
                .bind(row.progress.stage.as_ref().map(|s| s.to_string()))
                .bind(i64::from(row.progress.in_progress))
                .bind(i64::from(row.progress.held))
                .bind(row.station.clone())
                .bind(row.holder.clone())
                .bind(row.last_event_us)
                .bind(row.since_us)
                .bind(row.metal.map(|g| g.value().to_string()))
                .bind(i64::from(row.done));
        }
        query.execute(&mut *conn).await?;
    }

    let stations: Vec<_> = d.stations.into_iter().collect();
    for chunk in statement_chunks(&stations, ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO station_state (station_id, last_seq, last_event_us, online, backlog) \
             VALUES {} ON CONFLICT (station_id) DO UPDATE SET last_seq = excluded.last_seq, \
             last_event_us = excluded.last_event_us",
            placeholders.value_rows(chunk.len(), 5)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (station, (last_seq, last_event_us)) in chunk {
            query = query
                .bind(station.clone())
                .bind(*last_seq)
                .bind(*last_event_us)
                .bind(0_i64)
                .bind(0_i64);
        }
        query.execute(&mut *conn).await?;
    }

    let totals: Vec<_> = d.totals.into_iter().collect();
    for chunk in statement_chunks(&totals, ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO metal_totals (job_id, stage, operator_id, purpose, grams, weighings) \
             VALUES {} ON CONFLICT (job_id, stage, operator_id, purpose) DO UPDATE SET \
             grams = excluded.grams, weighings = excluded.weighings",
            placeholders.value_rows(chunk.len(), 6)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for ((job, stage, operator, purpose), (grams, count)) in chunk {
            query = query
                .bind(job.clone())
                .bind(stage.clone())
                .bind(operator.clone())
                .bind(purpose.clone())
                .bind(grams.value().to_string())
                .bind(*count);
        }
        query.execute(&mut *conn).await?;
    }

    for chunk in statement_chunks(&d.anomalies, ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO anomalies (event_id, station_id, job_id, kind, detail, created_us) \
             VALUES {}",
            placeholders.value_rows(chunk.len(), 6)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in chunk {
            query = query
                .bind(row.event_id.clone())
                .bind(row.station_id.clone())
                .bind(row.job_id.clone())
                .bind(row.kind)
                .bind(row.detail.clone())
                .bind(row.created_us);
        }
        query.execute(&mut *conn).await?;
    }

    let booked: Vec<_> =
        d.rebooked.into_iter().filter_map(|k| d.booked.get(&k).map(|m| (k, *m))).collect();
    for chunk in statement_chunks(&booked, ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO stage_booked (job_id, stage, issued, received, scrap) VALUES {} \
             ON CONFLICT (job_id, stage) DO UPDATE SET issued = excluded.issued, \
             received = excluded.received, scrap = excluded.scrap",
            placeholders.value_rows(chunk.len(), 5)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for ((job, stage), metal) in chunk {
            query = query
                .bind(job.clone())
                .bind(stage.clone())
                .bind(metal.issued.value().to_string())
                .bind(metal.received.value().to_string())
                .bind(metal.scrap.value().to_string());
        }
        query.execute(&mut *conn).await?;
    }
    write_losses(conn, d.losses).await
}

/// An aggregate table's suffix, its key column, and the key of a day in it.
type Span = (&'static str, &'static str, fn(i64) -> i64);

/// The tables a day's aggregate is added to: by day, and by calendar month.
const SPANS: [Span; 2] = [("daily", "day", |day| day), ("monthly", "month", stats::month_of_day)];

/// Adds finished visits to the day's and the month's stage-time histograms.
async fn write_stage_times(
    conn: &mut AnyConnection,
    counts: HashMap<(i64, String, i64), i64>,
) -> Result<(), StoreError> {
    let placeholders = Placeholders::of(conn);
    for (span, key, of_day) in SPANS {
        let mut summed: HashMap<(i64, &str, i64), i64> = HashMap::new();
        for ((day, stage, bucket), visits) in &counts {
            *summed.entry((of_day(*day), stage, *bucket)).or_default() += visits;
        }
        let rows: Vec<_> = summed.into_iter().collect();
        for chunk in statement_chunks(&rows, ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO stage_time_{span} ({key}, stage, bucket, visits) VALUES {} \
                 ON CONFLICT ({key}, stage, bucket) DO UPDATE \
                 SET visits = stage_time_{span}.visits + excluded.visits",
                placeholders.value_rows(chunk.len(), 4)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for ((at, stage, bucket), visits) in chunk {
                query = query.bind(*at).bind(*stage).bind(*bucket).bind(*visits);
            }
            query.execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Nanograms issued, received and returned as scrap, and visits.
type LossSums = (i64, i64, i64, i64);

/// Adds booked visits to the day's and the month's loss rows, in nanograms so that the
/// database can add. Each visit's grams are rounded once, so the months are the sums of
/// their days.
async fn write_losses(
    conn: &mut AnyConnection,
    losses: HashMap<LossKey, (StageMetal, i64)>,
) -> Result<(), StoreError> {
    let placeholders = Placeholders::of(conn);
    let losses: Vec<(LossKey, LossSums)> = losses
        .into_iter()
        .map(|(key, (metal, visits))| {
            let sums = (
                nanograms(metal.issued),
                nanograms(metal.received),
                nanograms(metal.scrap),
                visits,
            );
            (key, sums)
        })
        .collect();
    for (span, key, of_day) in SPANS {
        let mut summed: HashMap<(i64, &str, &str, &str), LossSums> = HashMap::new();
        for ((day, stage, operator, alloy), sums) in &losses {
            let entry = summed.entry((of_day(*day), stage, operator, alloy)).or_default();
            entry.0 = entry.0.saturating_add(sums.0);
            entry.1 = entry.1.saturating_add(sums.1);
            entry.2 = entry.2.saturating_add(sums.2);
            entry.3 += sums.3;
        }
        let rows: Vec<_> = summed.into_iter().collect();
        for chunk in statement_chunks(&rows, ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO loss_{span} ({key}, stage, operator_id, alloy, issued_ng, \
                 received_ng, scrap_ng, visits) VALUES {} \
                 ON CONFLICT ({key}, stage, operator_id, alloy) DO UPDATE \
                 SET issued_ng = loss_{span}.issued_ng + excluded.issued_ng, \
                 received_ng = loss_{span}.received_ng + excluded.received_ng, \
                 scrap_ng = loss_{span}.scrap_ng + excluded.scrap_ng, \
                 visits = loss_{span}.visits + excluded.visits",
                placeholders.value_rows(chunk.len(), 8)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for ((at, stage, operator, alloy), (issued, received, scrap, visits)) in chunk {
                query = query
                    .bind(*at)
                    .bind(*stage)
                    .bind(*operator)
                    .bind(*alloy)
                    .bind(*issued)
                    .bind(*received)
                    .bind(*scrap)
                    .bind(*visits);
            }
            query.execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Grams as whole nanograms, rounded half to even. Beyond nine tonnes (no bench weighs that)
/// the value saturates rather than fail the batch that carries it.
pub fn nanograms(grams: Grams) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    let scaled = grams.value().checked_mul(Decimal::from(1_000_000_000_i64));
    let rounded = scaled.map(|v| v.round());
    match rounded.and_then(|v| v.to_i64()) {
        Some(ng) => ng,
        None if grams.value().is_sign_negative() => i64::MIN,
        None => i64::MAX,
    }
}

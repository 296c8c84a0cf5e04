//! Headless stations: N benches that each journal M events through the kiosk's own journal
//! and uplink, for load and fault tests and for ERP developers who want realistic traffic.
//!
//! Each station keeps its journal in `DIR/{station}.db`, so running the command again with
//! the same folder continues the same stations: their sequence numbers go on and whatever
//! was left unconfirmed is resent first. That is how the crash tests restart a killed run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use rust_decimal::Decimal;
use tokio::sync::watch;
use touchstone_model::event::{
    BalanceIdentity, Fact, SignOutReason, Stability, Weighing, WeightPurpose,
};
use touchstone_model::ids::{OperatorId, StationId};
use touchstone_model::metal::Grams;

use crate::config::BrokerSettings;
use crate::journal::{Journal, JournalError, Record};
use crate::uplink::{BenchStatus, Uplink, UplinkSettings};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    /// How many stations.
    pub stations: usize,
    /// How many events each station records in this run.
    pub events: u64,
    /// The broker.
    pub broker: BrokerSettings,
    /// Where the journals live.
    pub data_dir: PathBuf,
    /// Station ids are this prefix and a number: `sim-1`, `sim-2`, ...
    pub prefix: String,
    /// Pause between two events of one station.
    pub interval: Duration,
    /// How long to wait at the end for the backlog to drain.
    pub drain_timeout: Duration,
}

/// What happened, per station and in total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimulateReport {
    /// Events journaled in this run.
    pub journaled: u64,
    /// Events in the journals (any run) confirmed by the gateway at the end.
    pub confirmed: u64,
    /// Events still unconfirmed at the end.
    pub backlog: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// The fact a simulated bench records as its `n`th event: a realistic rhythm of sign-ins,
/// check weighings and notes, none of which depends on the master data.
pub fn simulated_fact(n: u64) -> Fact {
    match n % 5 {
        0 => Fact::SignedIn {},
        1 | 3 => {
            let grams = Decimal::new(i64::try_from(5000 + n % 997).unwrap_or(5000), 3);
            Fact::WeightRecorded(Weighing {
                purpose: WeightPurpose::CheckWeight,
                grams: Grams::new(grams),
                value: grams.to_string(),
                unit: "g".into(),
                raw: format!("S S {grams:>10} g"),
                stability: Stability::Stable,
                balance: BalanceIdentity {
                    protocol: "mt-sics".into(),
                    model: Some("SIM320".into()),
                    serial: Some("SIM0001".into()),
                },
                stage: None,
                alloy: None,
                tree: None,
            })
        }
        2 => Fact::Note { text: format!("simulated note {n}") },
        _ => Fact::SignedOut { reason: SignOutReason::Manual },
    }
}

/// Runs the stations to the end and reports.
pub async fn run(options: SimulateOptions) -> anyhow::Result<SimulateReport> {
    std::fs::create_dir_all(&options.data_dir)?;
    let started = Instant::now();
    let mut benches = Vec::new();
    for i in 1..=options.stations {
        let station: StationId = format!("{}-{i}", options.prefix).parse()?;
        let journal =
            Journal::open(&options.data_dir.join(format!("{station}.db")), &station).await?;
        let (_status_tx, status) = watch::channel(BenchStatus::default());
        let uplink = Uplink::spawn(
            UplinkSettings {
                station: station.clone(),
                broker: options.broker.clone(),
                heartbeat: Duration::from_secs(5),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            journal.clone(),
            None,
            status,
        );
        benches.push((station, journal, uplink, _status_tx));
    }

    let mut writers = Vec::new();
    for (station, journal, _, _) in &benches {
        let journal = journal.clone();
        let operator: OperatorId = format!("op-{station}").parse()?;
        let (events, interval) = (options.events, options.interval);
        writers.push(tokio::spawn(async move {
            let start = journal.stats().last_seq;
            for n in 0..events {
                let record = Record {
                    operator: Some(operator.clone()),
                    job: None,
                    fact: simulated_fact(start + n),
                };
                let event = journal.append(record, Utc::now()).await?;
                // One line per event, so a harness that kills this process knows which
                // events were on disk ("done") when it died.
                println!("journaled {} {}", event.station, event.seq);
                if !interval.is_zero() {
                    tokio::time::sleep(interval).await;
                }
            }
            Ok::<u64, JournalError>(events)
        }));
    }
    let mut report = SimulateReport::default();
    for writer in writers {
        report.journaled += writer.await??;
    }

    let deadline = tokio::time::Instant::now() + options.drain_timeout;
    for (_, journal, _, _) in &benches {
        let mut stats = journal.watch_stats();
        while stats.borrow_and_update().backlog > 0 {
            if tokio::time::timeout_at(deadline, stats.changed()).await.is_err() {
                break;
            }
        }
    }
    for (_, journal, uplink, _) in benches {
        let stats = journal.stats();
        report.backlog += stats.backlog;
        report.confirmed += stats.last_seq - stats.backlog;
        uplink.shutdown().await;
        journal.close().await;
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

//! Where the metal is and where it went: metal held per stage and per worker in gross and
//! fine grams (and money, for managers), and the loss of finished stage visits per stage,
//! alloy and worker against the allowed bands, outliers first, with its trend.
//!
//! A job's metal is the gross weight it was last weighed with (its last issue or receipt);
//! it is held at the stage the job works in or waits for, and by the worker who started the
//! stage in progress. Loss is booked when a stage visit finishes: issued - received - scrap
//! at that stage (see the ingest). Money is fine grams at the price a manager or a price feed
//! set for a gram of the fine metal.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, Utc};
use maud::html;
use rust_decimal::Decimal;
use serde::Deserialize;
use touchstone_model::metal::{Grams, Metal};
use touchstone_model::rules::{self, LossVerdict};
use touchstone_model::workshop::LossBand;

use super::auth::{self, Viewer};
use super::bottlenecks::{PeriodQuery, period_picker};
use super::chart::{self, Series};
use super::floor::fine_of;
use super::view::{Cell, Column, Nav, Page, Table, format_money, format_percent};
use super::{PageRequest, PageResult, Params, Workshop, period_days};
use crate::http::{AppError, AppState};
use crate::store::dashboard::{LossGroup, LossSlot, MetalPrice, OpenJob};
use crate::store::stats::{self, Period};
use crate::store::to_us;

/// Metal held by one holder (a stage or a worker) in one metal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    /// Jobs.
    pub jobs: usize,
    /// Gross grams.
    pub gross: Grams,
    /// Fine grams.
    pub fine: Grams,
}

/// Metal held per holder (a stage or a worker) and metal.
pub type HeldBy = BTreeMap<(String, Metal), Held>;

/// Fine loss in percent per point of time, one series per metal.
pub type Trend = (Vec<String>, Vec<(Metal, Vec<Option<f64>>)>);

/// Metal held per (stage, metal) and per (worker, metal).
pub fn held(jobs: &[OpenJob], workshop: &Workshop) -> (HeldBy, HeldBy) {
    let mut by_stage = HeldBy::new();
    let mut by_worker = HeldBy::new();
    for job in jobs {
        let (Some((metal, fine)), Some(gross)) = (fine_of(job, workshop), job.metal) else {
            continue;
        };
        let add = |held: &mut Held| {
            held.jobs += 1;
            held.gross = held.gross + gross;
            held.fine = held.fine + fine;
        };
        if let Some(stage) = job.current_or_next() {
            add(by_stage.entry((stage.to_string(), metal)).or_default());
        }
        if job.in_progress
            && let Some(holder) = &job.holder
        {
            add(by_worker.entry((holder.clone(), metal)).or_default());
        }
    }
    (by_stage, by_worker)
}

/// The loss of a group of finished visits against its band.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossLine {
    /// The stage.
    pub stage: String,
    /// The alloy; empty for jobs unknown to the master data.
    pub alloy: String,
    /// The worker, when grouped by worker.
    pub operator: Option<String>,
    /// Visits.
    pub visits: i64,
    /// Gross grams issued.
    pub issued: Grams,
    /// Gross grams received.
    pub received: Grams,
    /// Gross grams of scrap returned.
    pub scrap: Grams,
    /// Gross loss.
    pub loss: Grams,
    /// Fine loss.
    pub fine_loss: Option<Grams>,
    /// Loss in percent of the metal issued.
    pub percent: Decimal,
    /// The band's warning and hard lines.
    pub band: Option<(Decimal, Decimal)>,
    /// How it compares.
    pub verdict: LossVerdict,
}

impl LossLine {
    /// How far over its warning line, for sorting outliers first.
    fn excess(&self) -> Decimal {
        match self.band {
            Some((warn, _)) => self.percent - warn,
            None => self.percent - Decimal::ONE_HUNDRED,
        }
    }
}

fn verdict_rank(verdict: LossVerdict) -> u8 {
    match verdict {
        LossVerdict::OverHard => 0,
        LossVerdict::OverWarning => 1,
        LossVerdict::Gain => 2,
        LossVerdict::Within => 3,
        LossVerdict::NoBand => 4,
    }
}

/// Sums the period's groups per (stage, alloy) or, with `by_worker`, per (worker, stage,
/// alloy), and assesses each sum against its band; outliers first.
pub fn losses(days: &[LossGroup], workshop: &Workshop, by_worker: bool) -> Vec<LossLine> {
    type Sums = (i64, Grams, Grams, Grams);
    let mut groups: BTreeMap<(String, String, String), Sums> = BTreeMap::new();
    for day in days {
        let operator = if by_worker { day.operator.clone() } else { String::new() };
        let sums = groups.entry((day.stage.clone(), day.alloy.clone(), operator)).or_default();
        sums.0 += day.visits;
        sums.1 = sums.1 + day.issued;
        sums.2 = sums.2 + day.received;
        sums.3 = sums.3 + day.scrap;
    }
    let mut lines: Vec<LossLine> = groups
        .into_iter()
        .map(|((stage, alloy, operator), (visits, issued, received, scrap))| {
            let known = workshop.alloys.get(&alloy);
            let band = match (stage.parse(), alloy.parse()) {
                (Ok(stage), Ok(code)) => LossBand::find(&workshop.bands, &stage, &code),
                _ => None,
            };
            let fineness = known.map_or(touchstone_model::metal::Fineness::PURE, |a| a.fineness);
            let assessed = rules::assess_loss(issued, received, scrap, fineness, band, Grams::ZERO);
            LossLine {
                operator: by_worker.then_some(operator),
                visits,
                issued,
                received,
                scrap,
                loss: assessed.loss,
                fine_loss: known.map(|_| assessed.fine_loss),
                percent: assessed.percent,
                band: band.map(|b| (b.warn_percent, b.hard_percent)),
                verdict: assessed.verdict,
                stage,
                alloy,
            }
        })
        .collect();
    lines.sort_by(|a, b| {
        verdict_rank(a.verdict)
            .cmp(&verdict_rank(b.verdict))
            .then(b.excess().cmp(&a.excess()))
            .then(a.stage.cmp(&b.stage))
    });
    lines
}

/// The length of the trend's slots in the period's units: a day in a week, a week in up to a
/// quarter, a month in a year.
pub fn trend_step(period: Period) -> i64 {
    match period {
        Period::Days { from, to } if to - from < 13 => 1,
        Period::Days { .. } => 7,
        Period::Months { .. } => 1,
    }
}

/// Fine loss in percent of the fine metal issued per slot and metal, for the trend chart:
/// the labels and one series per metal.
pub fn trend(slots: &[LossSlot], workshop: &Workshop, period: Period) -> Trend {
    let step = trend_step(period);
    let (_, _, from, to) = period.table();
    let buckets = usize::try_from((to - from) / step + 1).unwrap_or(1);
    let mut sums: BTreeMap<Metal, Vec<(Grams, Grams)>> = BTreeMap::new();
    for slot in slots {
        let Some(alloy) = workshop.alloys.get(&slot.alloy) else { continue };
        let Ok(index) = usize::try_from(slot.slot) else { continue };
        let series =
            sums.entry(alloy.metal).or_insert_with(|| vec![(Grams::ZERO, Grams::ZERO); buckets]);
        if let Some(sum) = series.get_mut(index) {
            sum.0 = sum.0 + alloy.fine_weight(slot.issued);
            sum.1 = sum.1 + alloy.fine_weight(slot.lost);
        }
    }
    let labels = (0..buckets)
        .map(|i| {
            let at = from + step * i64::try_from(i).unwrap_or(0);
            let day = match period {
                Period::Days { .. } => at,
                Period::Months { .. } => stats::first_day_of_month(at),
            };
            let date = crate::store::from_us(day * stats::DAY_US).date_naive();
            match period {
                Period::Days { .. } => format!("{} {}", date.day(), month(date.month())),
                Period::Months { .. } => format!("{} {}", month(date.month()), date.year()),
            }
        })
        .collect();
    let series = sums
        .into_iter()
        .map(|(metal, slots)| {
            let points = slots
                .into_iter()
                .map(|(issued, lost)| {
                    if issued.value().is_zero() {
                        return None;
                    }
                    let percent = lost.value() * Decimal::ONE_HUNDRED / issued.value();
                    percent.round_dp(3).to_string().parse().ok()
                })
                .collect();
            (metal, points)
        })
        .collect();
    (labels, series)
}

fn month(m: u32) -> &'static str {
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .get(usize::try_from(m.saturating_sub(1)).unwrap_or(0))
        .copied()
        .unwrap_or("")
}

fn price_of(prices: &[MetalPrice], metal: Metal) -> Option<&MetalPrice> {
    prices.iter().find(|p| p.metal == metal)
}

fn money_cell(prices: &[MetalPrice], metal: Option<Metal>, fine: Grams) -> Cell {
    match metal.and_then(|m| price_of(prices, m)) {
        Some(price) => {
            let amount = fine.value() * price.per_gram;
            Cell::pair(format_money(amount, &price.currency), amount.round_dp(2).to_string())
        }
        None => Cell::text("no price"),
    }
}

fn held_table(
    id: &'static str,
    first: &str,
    held: &HeldBy,
    name: impl Fn(&str) -> String,
    rank: impl Fn(&str) -> usize,
    prices: Option<&[MetalPrice]>,
) -> Table {
    let mut columns = vec![
        Column::text(first),
        Column::text("Metal"),
        Column::number("Jobs"),
        Column::number("Gross"),
        Column::number("Fine"),
    ];
    if prices.is_some() {
        columns.push(Column::number("Value"));
    }
    let mut held: Vec<_> =
        held.iter().map(|((who, metal), h)| (rank(who), name(who), *metal, h)).collect();
    held.sort_by(|a, b| (a.0, &a.1, a.2).cmp(&(b.0, &b.1, b.2)));
    let rows = held
        .into_iter()
        .map(|(_, who, metal, h)| {
            let mut row = vec![
                Cell::text(who),
                Cell::text(metal.as_str()),
                Cell::count(i64::try_from(h.jobs).unwrap_or(i64::MAX)),
                Cell::grams(h.gross),
                Cell::grams(h.fine),
            ];
            if let Some(prices) = prices {
                row.push(money_cell(prices, Some(metal), h.fine));
            }
            row
        })
        .collect();
    Table { id, columns, rows, empty: "No weighed metal is on the floor." }
}

fn loss_table(
    id: &'static str,
    lines: &[LossLine],
    workshop: &Workshop,
    prices: Option<&[MetalPrice]>,
) -> Table {
    let by_worker = lines.first().is_some_and(|l| l.operator.is_some());
    let mut columns = Vec::new();
    if by_worker {
        columns.push(Column::text("Worker"));
    }
    columns.extend([
        Column::text("Stage"),
        Column::text("Alloy"),
        Column::number("Visits"),
        Column::number("Issued"),
        Column::number("Received"),
        Column::number("Scrap"),
        Column::number("Loss"),
        Column::number("Fine loss"),
        Column::number("Loss %"),
        Column::number("Band warn / hard %"),
    ]);
    if prices.is_some() {
        columns.push(Column::number("Value lost"));
    }
    let rows = lines
        .iter()
        .map(|l| {
            let class = match l.verdict {
                LossVerdict::OverHard => "bad",
                LossVerdict::OverWarning | LossVerdict::Gain => "warn",
                LossVerdict::Within => "good",
                LossVerdict::NoBand => "muted",
            };
            let mut row = Vec::new();
            if let Some(operator) = &l.operator {
                row.push(Cell::text(if operator.is_empty() {
                    "(nobody signed in)".into()
                } else {
                    workshop.operator_name(operator)
                }));
            }
            row.extend([
                Cell::text(workshop.stage_name(&l.stage)),
                Cell::text(if l.alloy.is_empty() {
                    "(unknown job)".into()
                } else {
                    l.alloy.clone()
                }),
                Cell::count(l.visits),
                Cell::grams(l.issued),
                Cell::grams(l.received),
                Cell::grams(l.scrap),
                Cell::grams(l.loss),
                l.fine_loss.map_or_else(|| Cell::text(""), Cell::grams),
                Cell::pair(format_percent(l.percent), l.percent.to_string()).class(class),
                match l.band {
                    Some((warn, hard)) => Cell::text(format!("{warn} / {hard}")),
                    None => Cell::text("none"),
                },
            ]);
            if let Some(prices) = prices {
                let metal = workshop.alloys.get(&l.alloy).map(|a| a.metal);
                row.push(money_cell(prices, metal, l.fine_loss.unwrap_or_default()));
            }
            row
        })
        .collect();
    Table { id, columns, rows, empty: "No stage visit with weighings finished in this period." }
}

fn prices_table(prices: &[MetalPrice]) -> Table {
    let rows = prices
        .iter()
        .map(|p| {
            vec![
                Cell::text(p.metal.as_str()),
                Cell::pair(format!("{} {}", p.currency, p.per_gram), p.per_gram.to_string()),
                Cell::text(p.currency.clone()),
                Cell::time(p.updated_us),
                Cell::text(p.updated_by.clone()),
            ]
        })
        .collect();
    Table {
        id: "prices",
        columns: vec![
            Column::text("Metal"),
            Column::number("Per fine gram"),
            Column::text("Currency"),
            Column::text("Set"),
            Column::text("By"),
        ],
        rows,
        empty: "No metal price is set yet: values are shown once one is.",
    }
}

/// `GET /metal`
pub async fn page(
    State(state): State<AppState>,
    request: PageRequest,
    Params(params): Params<PeriodQuery>,
) -> Response {
    let viewer = &request.viewer;
    request.answer(async { build(&state, viewer, &params?, request.query()).await }.await)
}

async fn build(state: &AppState, viewer: &Viewer, params: &PeriodQuery, query: &str) -> PageResult {
    let days = period_days(params.days.as_deref())?;
    let (period, _) = super::period_until_now(days);
    let (workshop, jobs) = Workshop::load_with_open_jobs(state).await?;
    let loss_groups = state.store.loss_groups(period).await?;
    let loss_slots = state.store.loss_slots(period, trend_step(period)).await?;
    let prices = state.store.metal_prices().await?;
    let money = viewer.sees_money().then_some(prices.as_slice());

    let (by_stage, by_worker) = held(&jobs, &workshop);
    let stage_losses = losses(&loss_groups, &workshop, false);
    let worker_losses = losses(&loss_groups, &workshop, true);
    let over = stage_losses
        .iter()
        .filter(|l| matches!(l.verdict, LossVerdict::OverWarning | LossVerdict::OverHard))
        .count();
    let mut tables = vec![
        held_table(
            "held-by-stage",
            "Stage",
            &by_stage,
            |s| workshop.stage_name(s),
            |s| workshop.stage_order(s),
            money,
        ),
        held_table(
            "held-by-worker",
            "Worker",
            &by_worker,
            |w| workshop.operator_name(w),
            |_| 0,
            money,
        ),
        loss_table("loss-by-stage", &stage_losses, &workshop, money),
        loss_table("loss-by-worker", &worker_losses, &workshop, money),
    ];
    if viewer.sees_money() {
        tables.push(prices_table(&prices));
    }
    let (labels, trend) = trend(&loss_slots, &workshop, period);
    let classes = ["a", "b", "c", "d"];
    let series: Vec<(Series, Vec<Option<f64>>)> = trend
        .into_iter()
        .enumerate()
        .map(|(i, (metal, points))| {
            (Series { name: metal.as_str(), class: classes[i % 4] }, points)
        })
        .collect();
    let body = html! {
        (period_picker("/metal", days))
        @if over > 0 {
            p.alert {
                (over) " stage and alloy " (if over == 1 { "group is" } else { "groups are" })
                " over the warning line in this period."
            }
        }
        h2 { "Held on the floor, by stage" }
        (tables[0].html(query))
        h2 { "Held by workers, stages in progress" }
        (tables[1].html(query))
        h2 { "Loss by stage and alloy" }
        @if !series.is_empty() {
            figure {
                (chart::lines(TREND_TITLE, &labels, &series, None, |v| format!("{v:.1}%")))
                figcaption {
                    "Fine loss in percent of the fine metal issued, per "
                    (match (period, trend_step(period)) {
                        (Period::Months { .. }, _) => "month",
                        (_, 1) => "day",
                        _ => "week",
                    })
                    " in " (super::period_words(days)) "."
                }
            }
        }
        (tables[2].html(query))
        h2 { "Loss by worker" }
        (tables[3].html(query))
        @if viewer.sees_money() {
            h2 { "Metal prices" }
            (tables[4].html(query))
            form.price method="post" action="/metal/prices" {
                label { "Metal"
                    select name="metal" {
                        @for m in Metal::ALL {
                            option value=(m.as_str()) { (m.as_str()) }
                        }
                    }
                }
                label { "Price of a fine gram"
                    input type="text" name="per_gram" inputmode="decimal" required
                        placeholder="e.g. 123.45";
                }
                label { "Currency"
                    input type="text" name="currency" required maxlength="3" size="4"
                        value=(prices.first().map_or("EUR", |p| p.currency.as_str()));
                }
                button.primary type="submit" { "Set price" }
            }
        }
    };
    Ok(Page::new("Metal", Nav::Metal, body, tables))
}

/// The trend chart's title.
const TREND_TITLE: &str = "Fine loss in percent of fine metal issued";

/// The price form's fields.
#[derive(Debug, Deserialize)]
pub struct PriceForm {
    metal: String,
    per_gram: String,
    currency: String,
}

/// Checks a price as a form or the API sends it.
pub fn parse_price(
    metal: &str,
    per_gram: &str,
    currency: &str,
    by: &str,
) -> Result<MetalPrice, AppError> {
    let metal: Metal = metal.trim().to_lowercase().parse().map_err(|_| {
        AppError::BadRequest(format!(
            "metal must be gold, silver, platinum or palladium, not `{metal}`"
        ))
    })?;
    let per_gram: Decimal = per_gram
        .trim()
        .parse()
        .ok()
        .filter(|p: &Decimal| !p.is_sign_negative() && *p < Decimal::from(1_000_000))
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "the price must be a decimal number from 0 to 999999, not `{per_gram}`"
            ))
        })?;
    let currency = currency.trim().to_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(AppError::BadRequest(format!(
            "the currency must be a three-letter code such as EUR, not `{currency}`"
        )));
    }
    Ok(MetalPrice {
        metal,
        per_gram,
        currency,
        updated_us: to_us(Utc::now()),
        updated_by: by.to_owned(),
    })
}

/// `POST /metal/prices`: managers only.
pub async fn set_price(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<PriceForm>,
) -> Response {
    if !auth::same_origin(&headers) {
        return super::view::error_page(
            StatusCode::FORBIDDEN,
            "Set prices from the dashboard's own page.",
            Some(&viewer),
        );
    }
    if !viewer.sees_money() {
        return super::view::error_page(
            StatusCode::FORBIDDEN,
            "Only managers set metal prices.",
            Some(&viewer),
        );
    }
    let price = match parse_price(&form.metal, &form.per_gram, &form.currency, &viewer.username) {
        Ok(price) => price,
        Err(err) => return super::error_response(err, Some(&viewer)),
    };
    if let Err(err) = state.store.set_metal_price(&price).await {
        return super::error_response(err.into(), Some(&viewer));
    }
    tracing::info!(
        user = %viewer.username,
        metal = price.metal.as_str(),
        per_gram = %price.per_gram,
        currency = %price.currency,
        "metal price set"
    );
    state.floor_moved();
    Redirect::to("/metal").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::tests::{open_job, workshop};

    fn g(text: &str) -> Grams {
        text.parse().unwrap()
    }

    fn day(stage: &str, operator: &str, issued: &str, received: &str, scrap: &str) -> LossGroup {
        LossGroup {
            stage: stage.into(),
            operator: operator.into(),
            alloy: "18KY".into(),
            issued: g(issued),
            received: g(received),
            scrap: g(scrap),
            visits: 1,
        }
    }

    #[test]
    fn losses_sum_per_group_and_put_outliers_first() {
        let workshop = workshop();
        let days = [
            // Casting band 3% warn, 5% hard. Mei loses 6%, Ravi 1%: together 3.5%.
            day("casting", "op-mei", "50", "46", "1"),
            day("casting", "op-ravi", "50", "49.5", "0"),
            // Polishing has no band.
            day("polishing", "op-mei", "10", "9.9", "0"),
        ];
        let stages = losses(&days, &workshop, false);
        assert_eq!(stages[0].stage, "casting");
        assert_eq!(stages[0].loss, g("3.5"));
        assert_eq!(stages[0].fine_loss, Some(g("2.625")), "3.5 g of 18K at 750");
        assert_eq!(stages[0].percent, Decimal::new(35, 1));
        assert_eq!(stages[0].verdict, LossVerdict::OverWarning);
        assert_eq!(stages[1].verdict, LossVerdict::NoBand);

        let workers = losses(&days, &workshop, true);
        assert_eq!(workers[0].operator.as_deref(), Some("op-mei"));
        assert_eq!(workers[0].verdict, LossVerdict::OverHard);
        assert_eq!(workers[1].operator.as_deref(), Some("op-ravi"));
        assert_eq!(workers[1].verdict, LossVerdict::Within);
    }

    #[test]
    fn metal_is_held_where_the_job_is_and_by_who_works_it() {
        let workshop = workshop();
        let mut working = open_job("A", Some("casting"), true);
        working.holder = Some("op-mei".into());
        working.metal = Some(g("20"));
        let mut waiting = open_job("B", Some("casting"), false);
        waiting.metal = Some(g("8"));
        let unweighed = open_job("C", Some("cad"), true);
        let (by_stage, by_worker) = held(&[working, waiting, unweighed], &workshop);
        assert_eq!(by_stage[&("casting".into(), Metal::Gold)].fine, g("15"));
        assert_eq!(by_stage[&("polishing".into(), Metal::Gold)].gross, g("8"));
        assert_eq!(by_worker.len(), 1);
        assert_eq!(by_worker[&("op-mei".into(), Metal::Gold)].jobs, 1);
    }

    #[test]
    fn the_trend_is_fine_loss_over_fine_issued_per_week() {
        let workshop = workshop();
        let slot = |slot: i64, issued: &str, lost: &str| LossSlot {
            slot,
            alloy: "18KY".into(),
            issued: g(issued),
            lost: g(lost),
        };
        // 21 days in weeks: slots 0, 1 and 2; nothing booked in the second week.
        let period = Period::Days { from: 100, to: 120 };
        let (labels, series) =
            trend(&[slot(0, "100", "3"), slot(2, "100", "1")], &workshop, period);
        assert_eq!(labels.len(), 3);
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].1, vec![Some(3.0), None, Some(1.0)]);
        let year = Period::Months { from: 0, to: 11 };
        let (labels, _) = trend(&[], &workshop, year);
        assert_eq!((labels.len(), labels[0].as_str()), (12, "Jan 1970"));
    }

    #[test]
    fn prices_are_checked() {
        assert!(parse_price("Gold", "61.5", "eur", "x").is_ok());
        assert!(parse_price("tin", "1", "EUR", "x").is_err());
        assert!(parse_price("gold", "-1", "EUR", "x").is_err());
        assert!(parse_price("gold", "1", "EURO", "x").is_err());
    }
}

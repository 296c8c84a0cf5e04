//! What every page is made of: the page shell with its navigation, tables that render both
//! as HTML and as CSV, and the words for grams, money, durations and times.
//!
//! A page is built as a [`Page`] of plain values and markup; [`Page::respond`] then answers
//! with the whole document, only its `<main>` (for the live refresh), or one of its tables as
//! CSV, so every table on every page can be exported without code of its own.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use rust_decimal::Decimal;
use touchstone_model::metal::Grams;

use super::auth::Viewer;

/// The header the live refresh sends to get only the page's `<main>`.
pub const PARTIAL_HEADER: &str = "x-touchstone-partial";

/// The pages in the navigation, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Work in progress.
    Floor,
    /// Late, at risk and silent jobs.
    Late,
    /// Stage times and queues.
    Bottlenecks,
    /// Benches.
    Stations,
    /// Metal held and lost.
    Metal,
    /// Refused messages.
    DeadLetters,
    /// Not in the navigation (a job, search results).
    Other,
}

impl Nav {
    const ALL: [(Nav, &'static str, &'static str); 6] = [
        (Nav::Floor, "/", "Floor"),
        (Nav::Late, "/late", "Late"),
        (Nav::Bottlenecks, "/bottlenecks", "Bottlenecks"),
        (Nav::Stations, "/stations", "Stations"),
        (Nav::Metal, "/metal", "Metal"),
        (Nav::DeadLetters, "/dead-letters", "Dead letters"),
    ];
}

/// A table that renders as HTML and exports as CSV.
#[derive(Debug, Clone)]
pub struct Table {
    /// Its id on the page, used in the CSV link and the file name.
    pub id: &'static str,
    /// Column headings.
    pub columns: Vec<Column>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
    /// Shown instead of an empty table.
    pub empty: &'static str,
}

/// A column heading.
#[derive(Debug, Clone)]
pub struct Column {
    /// The heading.
    pub name: String,
    /// The heading in the CSV, when its values differ in kind from the page's ("Median
    /// hours" for a column the page shows as "2 h 20 min").
    pub csv_name: Option<String>,
    /// Numbers align right.
    pub numeric: bool,
}

impl Column {
    /// A text column.
    pub fn text(name: impl Into<String>) -> Column {
        Column { name: name.into(), csv_name: None, numeric: false }
    }

    /// A numeric column.
    pub fn number(name: impl Into<String>) -> Column {
        Column { name: name.into(), csv_name: None, numeric: true }
    }

    /// Names the column differently in the CSV.
    pub fn csv(mut self, name: impl Into<String>) -> Column {
        self.csv_name = Some(name.into());
        self
    }
}

/// One cell: what the page shows and what the CSV holds, which may be more exact.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    /// Shown on the page.
    pub shown: String,
    /// Written to the CSV.
    pub value: String,
    /// A link the cell leads to.
    pub link: Option<String>,
    /// A CSS class: `bad`, `warn`, `good`, `muted`, `hot`.
    pub class: Option<&'static str>,
    /// A `<time>` to show in the reader's time zone, microseconds.
    pub time_us: Option<i64>,
}

impl Cell {
    /// A cell of text, shown and exported alike.
    pub fn text(text: impl Into<String>) -> Cell {
        let text = text.into();
        Cell { shown: text.clone(), value: text, ..Cell::default() }
    }

    /// A cell shown one way and exported another.
    pub fn pair(shown: impl Into<String>, value: impl Into<String>) -> Cell {
        Cell { shown: shown.into(), value: value.into(), ..Cell::default() }
    }

    /// Grams: three decimals on the page, exact in the CSV.
    pub fn grams(grams: Grams) -> Cell {
        Cell::pair(format_grams(grams), grams.value().normalize().to_string())
    }

    /// Grams, left blank on the page when there are none (the CSV says 0).
    pub fn grams_or_blank(grams: Grams) -> Cell {
        if grams.value().is_zero() { Cell::pair("", "0") } else { Cell::grams(grams) }
    }

    /// A whole number.
    pub fn count(n: i64) -> Cell {
        Cell::text(n.to_string())
    }

    /// An instant, shown in the reader's time zone, exported as RFC 3339 UTC.
    pub fn time(us: i64) -> Cell {
        Cell { time_us: Some(us), ..Cell::pair(format_time(us), rfc3339(us)) }
    }

    /// Links the cell.
    pub fn link(mut self, href: impl Into<String>) -> Cell {
        self.link = Some(href.into());
        self
    }

    /// Gives the cell a CSS class.
    pub fn class(mut self, class: &'static str) -> Cell {
        self.class = Some(class);
        self
    }
}

impl Table {
    /// Renders the table with its CSV link; `query` is the page's query string.
    pub fn html(&self, query: &str) -> Markup {
        let csv = csv_link(query, self.id);
        html! {
            @if self.rows.is_empty() {
                p.empty { (self.empty) }
            } @else {
                (self.rows_html())
                p.export { a href=(csv) download { "Export CSV" } }
            }
        }
    }

    fn rows_html(&self) -> Markup {
        html! {
            div.scroll {
                table id=(self.id) {
                    thead { tr {
                        @for column in &self.columns {
                            th.num[column.numeric] { (column.name) }
                        }
                    } }
                    tbody {
                        @for row in &self.rows {
                            tr {
                                @for (cell, column) in row.iter().zip(&self.columns) {
                                    td.num[column.numeric] class=[cell.class] { (cell_html(cell)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The table as CSV: a heading row, then one line per row, exact values.
    pub fn csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let heading: Vec<&str> =
            self.columns.iter().map(|c| c.csv_name.as_deref().unwrap_or(&c.name)).collect();
        // Writing to a Vec cannot fail.
        let _ = writer.write_record(&heading);
        for row in &self.rows {
            let values: Vec<String> = row
                .iter()
                .zip(&self.columns)
                .map(|(cell, column)| csv_safe(&cell.value, column.numeric))
                .collect();
            let _ = writer.write_record(&values);
        }
        let bytes = writer.into_inner().unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }
}

fn cell_html(cell: &Cell) -> Markup {
    let inner = match cell.time_us {
        Some(us) => html! { time datetime=(rfc3339(us)) { (cell.shown) } },
        None => html! { (cell.shown) },
    };
    match &cell.link {
        Some(href) => html! { a href=(href) { (inner) } },
        None => inner,
    }
}

/// A text cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a
/// leading apostrophe; numbers are left alone.
fn csv_safe(value: &str, numeric: bool) -> String {
    let risky = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !(numeric && value.parse::<Decimal>().is_ok()) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// The page's own query string with `csv=ID` set.
fn csv_link(query: &str, id: &str) -> String {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "csv")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.push(("csv".into(), id.into()));
    let encoded: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish();
    format!("?{encoded}")
}

/// A built page.
#[derive(Debug)]
pub struct Page {
    /// The document title and heading.
    pub title: String,
    /// Where it sits in the navigation.
    pub nav: Nav,
    /// The content of `<main>`.
    pub body: Markup,
    /// Its tables, for CSV export.
    pub tables: Vec<Table>,
    /// The status to answer with.
    pub status: StatusCode,
}

/// How a request wants its page: whole, only `<main>`, or one table as CSV.
#[derive(Debug, Clone, Default)]
pub struct Render {
    /// The table asked for as CSV.
    pub csv: Option<String>,
    /// Only the content of `<main>`.
    pub partial: bool,
    /// The request's query string, for links.
    pub query: String,
}

impl Render {
    /// Reads what the request wants from its headers and query string.
    pub fn from_request(headers: &HeaderMap, query: Option<&str>) -> Render {
        let query = query.unwrap_or_default().to_owned();
        let csv = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "csv")
            .map(|(_, v)| v.into_owned());
        Render { csv, partial: headers.contains_key(PARTIAL_HEADER), query }
    }
}

impl Page {
    /// A page answering 200.
    pub fn new(title: impl Into<String>, nav: Nav, body: Markup, tables: Vec<Table>) -> Page {
        Page { title: title.into(), nav, body, tables, status: StatusCode::OK }
    }

    /// Answers as `render` asks.
    pub fn respond(self, viewer: Option<&Viewer>, render: &Render) -> Response {
        if let Some(id) = &render.csv {
            return match self.tables.iter().find(|t| t.id == id) {
                Some(table) => csv_response(table),
                None => {
                    let body = html! { p { "This page has no table " code { (id) } "." } };
                    let page = Page {
                        status: StatusCode::NOT_FOUND,
                        ..Page::new("No such table", self.nav, body, vec![])
                    };
                    page.respond(viewer, &Render::default())
                }
            };
        }
        let main = html! {
            h1 { (self.title) }
            (self.body)
        };
        let mut response = if render.partial {
            (self.status, main).into_response()
        } else {
            (self.status, document(&self.title, self.nav, viewer, &main)).into_response()
        };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::VARY, HeaderValue::from_static(PARTIAL_HEADER));
        response
    }
}

fn csv_response(table: &Table) -> Response {
    let disposition = format!("attachment; filename=\"touchstone-{}.csv\"", table.id);
    let mut response = table.csv().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The whole HTML document around `main`.
pub fn document(title: &str, nav: Nav, viewer: Option<&Viewer>, main: &Markup) -> Markup {
    let version = env!("CARGO_PKG_VERSION");
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light";
                title { (title) " · Touchstone" }
                link rel="stylesheet" href={ "/assets/app.css?v=" (version) };
                @if viewer.is_some() {
                    script src={ "/assets/live.js?v=" (version) } defer {}
                }
            }
            body {
                @if let Some(viewer) = viewer {
                    header.top {
                        a.brand href="/" { "Touchstone" }
                        nav {
                            @for (item, href, name) in Nav::ALL {
                                @let current = (item == nav).then_some("page");
                                a href=(href) aria-current=[current] { (name) }
                            }
                        }
                        form.search method="get" action="/search" role="search" {
                            input type="search" name="q" aria-label="Search"
                                placeholder="Job, customer, certificate, person";
                        }
                        div.who {
                            span #live.live title="Live updates" { "Live" }
                            span.user { (viewer.name) " · " (viewer.role.as_str()) }
                            form method="post" action="/logout" {
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main { (main) }
            }
        }
    }
}

/// The page for an error, with the navigation when someone is signed in.
pub fn error_page(status: StatusCode, message: &str, viewer: Option<&Viewer>) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let main = html! {
        h1 { (title) }
        p { (message) }
        p { a href="/" { "Back to the floor" } }
    };
    (status, document(title, Nav::Other, viewer, &main)).into_response()
}

/// Grams to three decimals (a milligram), as every page shows them.
pub fn format_grams(grams: Grams) -> String {
    format!("{:.3} g", grams.value().round_dp(3))
}

/// An amount of money to two decimals with its currency.
pub fn format_money(amount: Decimal, currency: &str) -> String {
    let rounded = amount.round_dp(2);
    let text = format!("{rounded:.2}");
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (whole, cents) = digits.split_once('.').unwrap_or((digits, "00"));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{currency} {sign}{grouped}.{cents}")
}

/// A duration in the largest two units that matter: "45 min", "3 h 20 min", "2 d 4 h".
pub fn format_duration(duration: Duration) -> String {
    let minutes = duration.as_secs() / 60;
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{mins} min"),
        (0, _) => format!("{hours} h {mins} min"),
        _ => format!("{days} d {hours} h"),
    }
}

/// How long ago `us` was at `now_us`.
pub fn format_age(now_us: i64, us: i64) -> String {
    let micros = u64::try_from(now_us.saturating_sub(us)).unwrap_or(0);
    format_duration(Duration::from_micros(micros))
}

/// An instant as the page first shows it (UTC); the page's script rewrites it in the reader's
/// own time zone.
pub fn format_time(us: i64) -> String {
    crate::store::from_us(us).format("%d %b %H:%M UTC").to_string()
}

/// An instant as RFC 3339 UTC.
pub fn rfc3339(us: i64) -> String {
    let at: DateTime<Utc> = crate::store::from_us(us);
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A percentage to two decimals.
pub fn format_percent(percent: Decimal) -> String {
    format!("{}%", percent.round_dp(2))
}

/// HTML that is already safe, for the few places that build it by hand (inline SVG).
pub fn raw(text: String) -> Markup {
    PreEscaped(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grams(text: &str) -> Grams {
        text.parse().unwrap()
    }

    #[test]
    fn csv_keeps_exact_values_and_defuses_formulas() {
        let table = Table {
            id: "t",
            columns: vec![Column::text("who"), Column::number("loss")],
            rows: vec![
                vec![Cell::text("=HYPERLINK(\"x\")"), Cell::grams(grams("-0.0155517384"))],
                vec![Cell::text("Mei, \"the setter\""), Cell::grams(grams("1.5"))],
            ],
            empty: "",
        };
        assert_eq!(
            table.csv(),
            "who,loss\n\"'=HYPERLINK(\"\"x\"\")\",-0.0155517384\n\"Mei, \"\"the setter\"\"\",1.5\n"
        );
    }

    #[test]
    fn html_escapes_every_value() {
        let table = Table {
            id: "t",
            columns: vec![Column::text("x")],
            rows: vec![vec![Cell::text("<script>alert(1)</script>")]],
            empty: "",
        };
        let html = table.html("").into_string();
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
    }

    #[test]
    fn csv_links_keep_the_page_query() {
        assert_eq!(csv_link("days=30&csv=old", "loss"), "?days=30&csv=loss");
        assert_eq!(csv_link("", "floor"), "?csv=floor");
    }

    #[test]
    fn numbers_read_the_way_a_workshop_writes_them() {
        assert_eq!(format_grams(grams("12.34567")), "12.346 g");
        assert_eq!(format_grams(grams("3.27")), "3.270 g");
        assert_eq!(format_money(Decimal::new(123_456_789, 3), "EUR"), "EUR 123,456.79");
        assert_eq!(format_money(Decimal::new(-99_990, 2), "USD"), "USD -999.90");
        assert_eq!(format_money(Decimal::ZERO, "CHF"), "CHF 0.00");
        assert_eq!(format_duration(Duration::from_secs(45 * 60)), "45 min");
        assert_eq!(format_duration(Duration::from_secs(3 * 3600 + 20 * 60)), "3 h 20 min");
        assert_eq!(format_duration(Duration::from_secs(52 * 3600)), "2 d 4 h");
        assert_eq!(format_percent(Decimal::new(12_345, 4)), "1.23%");
    }
}

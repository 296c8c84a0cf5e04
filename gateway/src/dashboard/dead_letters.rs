//! What the gateway could not accept and why, newest first, a page at a time.

use axum::extract::State;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::view::{Cell, Column, Nav, Page, Table};
use super::{PageRequest, PageResult, Params};
use crate::http::{AppError, AppState};
use crate::store::query::DeadLetterRow;

/// Dead letters per page.
const PAGE: i64 = 100;

/// How much of a payload the page shows.
const PREVIEW: usize = 160;

/// The page's query: `before`, the id to page back from.
#[derive(Debug, Default, Deserialize)]
pub struct DeadLetterQuery {
    before: Option<String>,
}

/// The start of a payload as text, control characters shown escaped.
pub fn preview(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    let mut shown = String::new();
    for c in text.chars().take(PREVIEW) {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    if text.chars().count() > PREVIEW {
        shown.push_str(" ...");
    }
    shown
}

fn table(rows: &[DeadLetterRow]) -> Table {
    let rows = rows
        .iter()
        .map(|d| {
            vec![
                Cell::count(d.id),
                Cell::time(d.received_us),
                Cell::text(d.topic.clone()),
                Cell::text(d.reason.clone()).class("bad"),
                Cell::count(i64::try_from(d.payload.len()).unwrap_or(i64::MAX)),
                Cell::pair(preview(&d.payload), String::from_utf8_lossy(&d.payload).into_owned()),
            ]
        })
        .collect();
    Table {
        id: "dead-letters",
        columns: vec![
            Column::number("#"),
            Column::text("Arrived"),
            Column::text("Topic"),
            Column::text("Why refused"),
            Column::number("Bytes"),
            Column::text("Payload"),
        ],
        rows,
        empty: "Nothing has been refused.",
    }
}

/// `GET /dead-letters`
pub async fn page(
    State(state): State<AppState>,
    request: PageRequest,
    Params(params): Params<DeadLetterQuery>,
) -> Response {
    request.answer(async { build(&state, &params?, request.query()).await }.await)
}

async fn build(state: &AppState, params: &DeadLetterQuery, query: &str) -> PageResult {
    let before = match params.before.as_deref() {
        None | Some("") => i64::MAX,
        Some(text) => text.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            AppError::BadRequest(format!("before must be a whole number above 0, not `{text}`"))
        })?,
    };
    let rows = state.store.dead_letters_before(before, PAGE).await?;
    let older =
        rows.last().map(|r| r.id).filter(|_| i64::try_from(rows.len()).unwrap_or(0) == PAGE);
    let table = table(&rows);
    let body = html! {
        p.muted {
            "Messages the gateway received but could not store as events: malformed, too "
            "large, of an unknown protocol version, or claiming another station. Each is kept "
            "with its bytes; the bench that sent it is not blocked."
        }
        (table.html(query))
        @if let Some(id) = older {
            p { a href={ "/dead-letters?before=" (id) } { "Older" } }
        }
    };
    Ok(Page::new("Dead letters", Nav::DeadLetters, body, vec![table]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_short_and_show_control_bytes() {
        assert_eq!(preview(b"{\"v\":1}\n\x00"), "{\"v\":1}\\n\\u{0}");
        let long = vec![b'a'; 500];
        assert!(preview(&long).ends_with(" ..."));
        assert_eq!(preview(&[0xff, b'x']), "\u{fffd}x");
    }
}

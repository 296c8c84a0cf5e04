//! `GET /live`: a server-sent event stream that says "the floor moved" each time the ingest
//! commits a batch or a station reports, so open pages refresh themselves.
//!
//! The event carries only a counter; the page fetches its own `<main>` again, through the
//! same code as a reload. The first change is sent at once and later ones at most every
//! [`MIN_GAP`], so a busy floor costs a page a few refreshes a second at most.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::watch;

use super::auth::Viewer;
use crate::http::AppState;

/// The shortest time between two events on one stream.
pub const MIN_GAP: Duration = Duration::from_millis(250);

/// `GET /live`
pub async fn stream(
    State(state): State<AppState>,
    _viewer: Viewer,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // A new subscriber has seen the current value: only later changes are sent.
    Sse::new(changes(state.floor.subscribe()))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// One event per change of `floor`, at most one per [`MIN_GAP`]; ends when the gateway stops.
fn changes(floor: watch::Receiver<u64>) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold((floor, false), |(mut floor, sent_before)| async move {
        if sent_before {
            tokio::time::sleep(MIN_GAP).await;
        }
        floor.changed().await.ok()?;
        let version = *floor.borrow_and_update();
        let event = Event::default().event("floor").data(version.to_string());
        Some((Ok(event), (floor, true)))
    })
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn changes_are_sent_at_once_then_coalesced() {
        let (tx, rx) = watch::channel(0_u64);
        let mut events = Box::pin(changes(rx));
        tx.send_replace(1);
        assert!(events.next().await.is_some());
        // Three changes inside the gap arrive as one event after it.
        let started = tokio::time::Instant::now();
        tx.send_replace(2);
        tx.send_replace(3);
        tx.send_replace(4);
        assert!(events.next().await.is_some());
        assert!(started.elapsed() >= MIN_GAP);
        drop(tx);
        assert!(events.next().await.is_none(), "the stream ends with the gateway");
    }
}

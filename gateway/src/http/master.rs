//! Master data uploads: `PUT /api/v1/master/{kind}` with a JSON array of items in the
//! model's shape, checked exactly as an imported JSON file is.
//!
//! An upload inserts or replaces the items it holds and leaves other stored items alone; a
//! single wrong item refuses the whole upload with a 422 listing every wrong item by array
//! index and field. After a stored upload the snapshot publisher is woken so benches get the
//! new data.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;

use super::AppState;
use super::error::AppError;
use crate::import::{self, Format, Kind, Rejection};

/// The largest upload accepted.
pub(super) const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;

/// What an upload stored.
#[derive(Debug, Serialize)]
pub(super) struct Stored {
    kind: &'static str,
    stored: usize,
}

/// `PUT /api/v1/master/{kind}`
pub(super) async fn put(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Stored>, AppError> {
    let Path(name) = path.map_err(|err| AppError::BadRequest(err.body_text()))?;
    let kind = match name.parse::<Kind>() {
        Ok(Kind::Components) | Err(_) => {
            return Err(AppError::NotFound(format!(
                "no master data list `{name}`; expected jobs, operators, stations, stages, \
                 loss-bands or alloys"
            )));
        }
        Ok(kind) => kind,
    };
    let body = body.map_err(|err| {
        if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge(format!("the body exceeds the limit of {MAX_UPLOAD_BYTES} bytes"))
        } else {
            AppError::BadRequest(err.body_text())
        }
    })?;
    let stored = match import::import_bytes(&state.store, kind, Format::Json, &body).await {
        Ok(stored) => stored,
        Err(Rejection::Malformed(message)) => return Err(AppError::BadRequest(message)),
        Err(Rejection::Invalid { problems, total }) => {
            return Err(AppError::Unprocessable {
                message: format!("{total} problem(s) in the {kind} upload; nothing was stored"),
                problems,
                total,
            });
        }
        Err(Rejection::Store(err)) => return Err(err.into()),
    };
    tracing::info!(kind = %kind, count = stored, "master data uploaded");
    state.master_changed.notify_one();
    Ok(Json(Stored { kind: kind.name(), stored }))
}

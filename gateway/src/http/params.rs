//! Query parameters and path segments, read with errors that say what was wrong.
//!
//! axum's own extractor rejections are plain text; these turn every bad parameter into a
//! 400 with a JSON body naming the parameter and what it accepts.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use touchstone_model::ids::JobId;

use super::error::AppError;
use crate::store::from_us;

/// Paging parameters of the lists read by key: `after` (exclusive) and `limit`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PageParams {
    after: Option<String>,
    limit: Option<String>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Page {
    pub after: i64,
    pub limit: i64,
}

/// The default page size of keyed lists.
pub(super) const DEFAULT_LIMIT: i64 = 100;
/// The largest page size of keyed lists.
pub(super) const MAX_LIMIT: i64 = 1000;

impl PageParams {
    /// Checks the parameters; `after` defaults to 0 (from the start).
    pub(super) fn page(&self, what: &str) -> Result<Page, AppError> {
        let after = match self.after.as_deref() {
            None | Some("") => 0,
            Some(text) => text.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "after must be {what} (a whole number from 0), not `{}`",
                    shorten(text)
                ))
            })?,
        };
        Ok(Page { after, limit: limit(self.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)? })
    }
}

/// A `limit` parameter: `default` when absent, else from 1 to `max`.
pub(super) fn limit(text: Option<&str>, default: i64, max: i64) -> Result<i64, AppError> {
    match text {
        None | Some("") => Ok(default),
        Some(text) => text.parse::<i64>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
            AppError::BadRequest(format!(
                "limit must be a whole number from 1 to {max}, not `{}`",
                shorten(text)
            ))
        }),
    }
}

/// The query string decoded into `T`, or a 400 that says why not.
pub(super) fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, AppError> {
    query.map(|Query(q)| q).map_err(|err| AppError::BadRequest(err.body_text()))
}

/// A job id from the path, or a 400 that says why it is not one.
pub(super) fn job_id(path: Result<Path<String>, PathRejection>) -> Result<JobId, AppError> {
    let Path(text) = path.map_err(|err| AppError::BadRequest(err.body_text()))?;
    JobId::new(text).map_err(|err| AppError::BadRequest(err.to_string()))
}

/// An instant as RFC 3339 UTC with microseconds, as every response writes times.
pub(super) fn time(us: i64) -> String {
    rfc3339(from_us(us))
}

/// `at` as RFC 3339 UTC with microseconds.
pub(super) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn shorten(text: &str) -> String {
    if text.chars().count() > 40 {
        text.chars().take(40).collect::<String>() + "…"
    } else {
        text.to_owned()
    }
}

//! Errors as HTTP responses: a status and a JSON body `{"error": "..."}`.
//!
//! A 4xx says what the client got wrong. A 5xx says nothing about the inside (no SQL, no
//! paths, no driver text): its cause is logged here, once, and the client gets a plain
//! sentence.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::import::{Location, Problem};
use crate::store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is malformed: a bad parameter, id, or body.
    #[error("{0}")]
    BadRequest(String),
    /// No or the wrong bearer token.
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// The thing named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The method is not served at this path.
    #[error("method not allowed here")]
    MethodNotAllowed,
    /// The body is larger than the route accepts.
    #[error("{0}")]
    TooLarge(String),
    /// The body is well formed but its items are wrong.
    #[error("{message}")]
    Unprocessable {
        /// A summary.
        message: String,
        /// Each wrong item and field.
        problems: Vec<Problem>,
        /// How many problems there were in all (the list may be capped).
        total: usize,
    },
    /// The service cannot answer yet or any more.
    #[error("{0}")]
    Unavailable(String),
    /// Something failed inside; logged when turned into a response.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        AppError::Internal(Box::new(err))
    }
}

/// The body of every error response.
#[derive(Debug, Serialize)]
struct ErrorBody {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    problems: Option<Vec<ProblemBody>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<usize>,
}

/// One wrong item of an upload.
#[derive(Debug, Serialize)]
struct ProblemBody {
    index: usize,
    field: String,
    message: String,
}

impl AppError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The whole chain of an error, for the log.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let AppError::Internal(cause) = &self {
            tracing::error!(error = %chain(cause.as_ref()), "request failed");
        }
        let (problems, total) = match &self {
            AppError::Unprocessable { problems, total, .. } => {
                let list = problems
                    .iter()
                    .map(|p| ProblemBody {
                        index: match p.at {
                            Location::Index(i) => i,
                            Location::Line(line) => usize::try_from(line).unwrap_or(usize::MAX),
                        },
                        field: p.field.clone(),
                        message: p.message.clone(),
                    })
                    .collect();
                (Some(list), Some(*total))
            }
            _ => (None, None),
        };
        let body = ErrorBody { error: self.to_string(), problems, total };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

//! Bearer-token access to `/api/v1`: every API request must carry
//! `Authorization: Bearer <token>`.
//!
//! The comparison takes the same time whatever the bytes, so the token cannot be guessed
//! byte by byte from response times. Only its length could leak, which is fixed by the
//! deployment and says nothing about its content.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use super::error::AppError;

/// Lets a request through when it carries the gateway's token.
pub(super) async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let offered = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match offered {
        Some(token) if same_bytes(token.as_bytes(), state.api_token.as_bytes()) => {
            Ok(next.run(request).await)
        }
        _ => Err(AppError::Unauthorized),
    }
}

/// Whether `a` equals `b`, looking at every byte whatever the first difference.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_by_every_byte() {
        assert!(same_bytes(b"s3cret", b"s3cret"));
        assert!(!same_bytes(b"s3cret", b"s3cres"));
        assert!(!same_bytes(b"s3cret", b"s3cre"));
        assert!(same_bytes(b"", b""));
    }
}

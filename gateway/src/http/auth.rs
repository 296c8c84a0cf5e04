//! Bearer-token access to `/api/v1`: when the gateway has a token, every API request must
//! carry `Authorization: Bearer <token>`.
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

/// Lets a request through when the gateway has no token or the request carries it.
pub(super) async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    if let Some(expected) = &state.api_token {
        let offered = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        match offered {
            Some(token) if same_bytes(token.as_bytes(), expected.as_bytes()) => {}
            _ => return Err(AppError::Unauthorized),
        }
    }
    Ok(next.run(request).await)
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

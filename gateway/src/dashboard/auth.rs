//! Signing in to the dashboard: argon2id password hashes, session cookies, a limit on
//! failed attempts, and the [`Viewer`] every page handler takes.
//!
//! A session's token lives only in the browser's cookie (`HttpOnly`, `SameSite=Strict`,
//! `Secure` when the gateway is told it is served over HTTPS); the store keeps its SHA-256.
//! A session ends after 12 hours unused or 7 days in all, when its user is disabled or their
//! password changes, and on sign-out. Five failed attempts within 15 minutes for one user
//! name, or from one address, refuse further attempts for the rest of those 15 minutes.
//! Every state-changing form refuses requests from other sites.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use sha2::{Digest, Sha256};
use touchstone_model::workshop::Role;
use uuid::Uuid;

use crate::http::AppState;
use crate::store::to_us;

/// The session cookie's name.
pub const COOKIE: &str = "touchstone_session";

/// A session unused for this long ends.
pub const IDLE: Duration = Duration::from_secs(12 * 3600);

/// A session ends this long after sign-in, used or not.
pub const ABSOLUTE: Duration = Duration::from_secs(7 * 24 * 3600);

/// How often a session's last use is written back.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Failed attempts allowed per user name or address within [`LOCKOUT`].
const MAX_FAILURES: usize = 5;

/// The window failed attempts are counted in, and how long a lockout lasts.
const LOCKOUT: Duration = Duration::from_secs(15 * 60);

/// Who is looking at a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// Their user name.
    pub username: String,
    /// Their name as shown.
    pub name: String,
    /// Manager or supervisor.
    pub role: Role,
    /// The hash of their session's token.
    pub token_hash: String,
}

impl Viewer {
    /// Managers see money; supervisors see the floor without it.
    pub fn sees_money(&self) -> bool {
        self.role == Role::Manager
    }
}

/// Why a request has no viewer: it is sent to the sign-in page.
#[derive(Debug)]
pub struct SignInFirst {
    next: String,
}

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        let encoded: String = url::form_urlencoded::byte_serialize(self.next.as_bytes()).collect();
        Redirect::to(&format!("/login?next={encoded}")).into_response()
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Response> {
        let next = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let sign_in = || SignInFirst { next: next.clone() }.into_response();
        let Some(token) = session_token(&parts.headers) else { return Err(sign_in()) };
        let token_hash = hash_token(&token);
        let session = match state.store.session(&token_hash).await {
            Ok(Some(session)) => session,
            Ok(None) => return Err(sign_in()),
            Err(err) => return Err(crate::http::AppError::from(err).into_response()),
        };
        let now = to_us(Utc::now());
        let idle = now - session.last_seen_us > micros(IDLE);
        let expired = now - session.created_us > micros(ABSOLUTE);
        let allowed = matches!(session.user.role, Role::Manager | Role::Supervisor);
        if idle || expired || session.user.disabled || !allowed {
            // Best effort: an expired row left behind is refused the same way next time.
            let _ = state.store.delete_session(&token_hash).await;
            return Err(sign_in());
        }
        if now - session.last_seen_us > micros(TOUCH_EVERY)
            && let Err(err) = state.store.touch_session(&token_hash, now).await
        {
            tracing::warn!(error = %err, "could not record a session's use");
        }
        Ok(Viewer {
            username: session.user.username,
            name: session.user.display_name,
            role: session.user.role,
            token_hash,
        })
    }
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// The session token in the request's cookies, if any.
fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

/// The SHA-256 of a token, in hex: what the store keeps.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random session token: two version 4 UUIDs, 244 random bits.
pub fn new_token() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// The `Set-Cookie` value that stores `token`, or clears the cookie when `None`.
pub fn cookie(token: Option<&str>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = match token {
        Some(token) => format!(
            "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            ABSOLUTE.as_secs()
        ),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    // Tokens are hex and the rest is ASCII, so the value is always a valid header.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Hashes a password with argon2id and a random salt, in PHC form. Slow on purpose: call it
/// off the async threads.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|err| format!("hashing the password: {err}"))
}

/// Whether `password` matches `hash`. A malformed hash matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

/// A hash no password is known for, checked when the user name does not exist so that a
/// wrong name takes as long as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password(&new_token()).unwrap_or_default())
}

/// Checks a password on the blocking pool.
pub async fn check_password(password: String, hash: Option<String>) -> bool {
    let checked = tokio::task::spawn_blocking(move || match hash {
        Some(hash) => verify_password(&password, &hash),
        None => {
            verify_password(&password, decoy_hash());
            false
        }
    })
    .await;
    checked.unwrap_or(false)
}

/// Whether a state-changing request comes from the dashboard's own pages: browsers send
/// `Sec-Fetch-Site` and `Origin` with form posts, and another site's are refused.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let header_text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(site) = header_text("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match (header_text("origin"), header_text("host")) {
        (Some(origin), Some(host)) => {
            origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host)
        }
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// The address a request came from, when the server recorded it.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ClientIp, Self::Rejection> {
        Ok(ClientIp(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())))
    }
}

/// Failed sign-in attempts per user name and per address.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    /// When attempts for these keys are refused, how long until they are allowed again.
    pub fn blocked(&self, keys: &[String], now: Instant) -> Option<Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.retain(|_, times| {
            while times.front().is_some_and(|t| now.duration_since(*t) >= LOCKOUT) {
                times.pop_front();
            }
            !times.is_empty()
        });
        keys.iter()
            .filter_map(|key| failures.get(key))
            .filter(|times| times.len() >= MAX_FAILURES)
            .filter_map(|times| times.front())
            .map(|first| LOCKOUT.saturating_sub(now.duration_since(*first)))
            .max()
    }

    /// Counts a failed attempt against each key.
    pub fn failed(&self, keys: &[String], now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            failures.entry(key.clone()).or_default().push_back(now);
        }
    }

    /// Forgets the failures of a user name after a successful sign-in.
    pub fn succeeded(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(key);
    }
}

/// The limiter's keys for an attempt.
pub fn limiter_keys(username: &str, ip: Option<IpAddr>) -> Vec<String> {
    let mut keys = vec![format!("user:{}", username.to_lowercase())];
    if let Some(ip) = ip {
        keys.push(format!("ip:{ip}"));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct hors", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn the_sixth_failure_in_fifteen_minutes_is_refused_until_the_window_passes() {
        let limiter = LoginLimiter::default();
        let start = Instant::now();
        let keys = limiter_keys("Mei", Some("10.0.0.5".parse().unwrap()));
        for i in 0..5 {
            assert_eq!(limiter.blocked(&keys, start), None, "attempt {i}");
            limiter.failed(&keys, start);
        }
        let wait = limiter.blocked(&keys, start + Duration::from_secs(60)).unwrap();
        assert_eq!(wait, Duration::from_secs(14 * 60));
        // Another name from the same address is refused too; the same name elsewhere also.
        let other_name = limiter_keys("hannah", Some("10.0.0.5".parse().unwrap()));
        assert!(limiter.blocked(&other_name, start).is_some());
        let other_place = limiter_keys("mei", Some("10.0.0.9".parse().unwrap()));
        assert!(limiter.blocked(&other_place, start).is_some());
        assert_eq!(limiter.blocked(&keys, start + LOCKOUT), None);
    }

    #[test]
    fn a_success_clears_the_name_but_not_the_address() {
        let limiter = LoginLimiter::default();
        let now = Instant::now();
        let keys = limiter_keys("mei", Some("10.0.0.5".parse().unwrap()));
        for _ in 0..5 {
            limiter.failed(&keys, now);
        }
        limiter.succeeded(&keys[0]);
        assert!(limiter.blocked(&keys[..1], now).is_none());
        assert!(limiter.blocked(&keys[1..], now).is_some());
    }

    #[test]
    fn cookies_are_http_only_and_strict() {
        let set = cookie(Some("abc"), true);
        let text = set.to_str().unwrap();
        assert!(text.starts_with("touchstone_session=abc; Path=/; HttpOnly; SameSite=Strict"));
        assert!(text.ends_with("; Secure"));
        assert!(cookie(None, false).to_str().unwrap().contains("Max-Age=0"));
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; touchstone_session=tok"));
        assert_eq!(session_token(&headers).as_deref(), Some("tok"));
    }

    #[test]
    fn forms_from_other_sites_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("gw:8080"));
        assert!(same_origin(&headers));
        headers.insert("origin", HeaderValue::from_static("http://gw:8080"));
        assert!(same_origin(&headers));
        headers.insert("origin", HeaderValue::from_static("http://evil.example"));
        assert!(!same_origin(&headers));
        headers.remove("origin");
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&headers));
    }
}

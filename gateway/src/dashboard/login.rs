//! The sign-in form, signing in, and signing out.

use std::time::Instant;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use super::auth::{self, ClientIp, Viewer};
use super::view::{Nav, document, error_page};
use crate::http::AppState;
use crate::store::to_us;

/// The sign-in page's query.
#[derive(Debug, Default, Deserialize)]
pub(super) struct LoginQuery {
    next: Option<String>,
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub(super) struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// Where to go after signing in: only a path on this site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn login_page(status: StatusCode, next: &str, username: &str, message: Option<&str>) -> Response {
    let main = html! {
        section.login {
            h1 { "Touchstone" }
            p.muted { "Sign in to see the floor." }
            @if let Some(message) = message {
                p.alert role="alert" { (message) }
            }
            form method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                label { "User name"
                    input type="text" name="username" value=(username) autocomplete="username"
                        autocapitalize="none" required autofocus[username.is_empty()];
                }
                label { "Password"
                    input type="password" name="password" autocomplete="current-password" required
                        autofocus[!username.is_empty()];
                }
                button.primary type="submit" { "Sign in" }
            }
        }
    };
    (status, document("Sign in", Nav::Other, None, &main)).into_response()
}

/// `GET /login`
pub(super) async fn form(query: Query<LoginQuery>) -> Response {
    login_page(StatusCode::OK, &safe_next(query.next.as_deref()), "", None)
}

/// `POST /login`: checks the password, starts a session and sets its cookie.
pub(super) async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(Some(&form.next));
    if !auth::same_origin(&headers) {
        return error_page(StatusCode::FORBIDDEN, "Sign in from the dashboard's own page.", None);
    }
    let username = form.username.trim().to_owned();
    let keys = auth::limiter_keys(&username, ip);
    if let Some(wait) = state.login_limiter.blocked(&keys, Instant::now()) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        tracing::warn!(user = %username, ?ip, "sign-in refused: too many failed attempts");
        let message = format!(
            "Too many failed attempts. Try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        );
        let mut response =
            login_page(StatusCode::TOO_MANY_REQUESTS, &next, &username, Some(&message));
        if let Ok(value) = (minutes * 60).to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }

    let user = match state.store.user(&username).await {
        Ok(user) => user,
        Err(err) => return super::error_response(err.into(), None),
    };
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let matches = auth::check_password(form.password, hash).await;
    let user = user.filter(|u| matches && !u.disabled);
    let Some(user) = user else {
        state.login_limiter.failed(&keys, Instant::now());
        tracing::info!(user = %username, ?ip, "sign-in failed");
        let message = "That user name and password do not match.";
        return login_page(StatusCode::UNAUTHORIZED, &next, &username, Some(message));
    };
    state.login_limiter.succeeded(&keys[0]);

    let token = auth::new_token();
    if let Err(err) = state
        .store
        .create_session(&auth::hash_token(&token), &user.username, to_us(Utc::now()))
        .await
    {
        return super::error_response(err.into(), None);
    }
    tracing::info!(user = %user.username, ?ip, "signed in");
    let mut response = Redirect::to(&next).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, auth::cookie(Some(&token), state.dashboard.secure_cookies));
    response
}

/// `POST /logout`: ends the session and clears the cookie.
pub(super) async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
) -> Response {
    if !auth::same_origin(&headers) {
        return error_page(StatusCode::FORBIDDEN, "Sign out from the dashboard's own page.", None);
    }
    if let Err(err) = state.store.delete_session(&viewer.token_hash).await {
        return super::error_response(err.into(), Some(&viewer));
    }
    tracing::info!(user = %viewer.username, "signed out");
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, auth::cookie(None, state.dashboard.secure_cookies));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/late?days=7")), "/late?days=7");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}

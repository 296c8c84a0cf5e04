//! The dashboard through the app, without a socket: what the ingest keeps for it, signing in
//! and out, roles, refused guessers and cross-site forms, CSV and partial answers, and the
//! price feed.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{DateTime, Utc};
use common::{Bench, Fixture, floor_day};
use http_body_util::BodyExt;
use serde_json::json;
use touchstone_gateway::dashboard::auth::hash_password;
use touchstone_gateway::store::stats::Period;
use touchstone_gateway::store::users::UserRow;
use touchstone_gateway::store::{stats, to_us};
use touchstone_model::event::WeightPurpose;
use touchstone_model::metal::Grams;
use touchstone_model::workshop::Role;
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery";

/// A response's status, headers and body as text.
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

async fn send(fx: &Fixture, request: Request<Body>) -> Answer {
    let response = fx.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

async fn page(fx: &Fixture, uri: &str, cookie: Option<&str>) -> Answer {
    let mut request = Request::get(uri);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    send(fx, request.body(Body::empty()).unwrap()).await
}

async fn post_form(
    fx: &Fixture,
    uri: &str,
    form: &str,
    cookie: Option<&str>,
    origin: &str,
) -> Answer {
    let mut request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "gateway.local")
        .header(header::ORIGIN, origin);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    send(fx, request.body(Body::from(form.to_owned())).unwrap()).await
}

async fn add_user(fx: &Fixture, username: &str, role: Role) {
    let user = UserRow {
        username: username.into(),
        display_name: format!("{username} (test)"),
        role,
        password_hash: hash_password(PASSWORD).unwrap(),
        disabled: false,
    };
    assert!(fx.store.create_user(&user, to_us(Utc::now())).await.unwrap());
}

/// Signs in and returns the cookie to send back.
async fn sign_in(fx: &Fixture, username: &str) -> String {
    let form = format!("username={username}&password={}&next=%2Fmetal", PASSWORD.replace(' ', "+"));
    let answer = post_form(fx, "/login", &form, None, "http://gateway.local").await;
    assert_eq!(
        (answer.status, answer.location()),
        (StatusCode::SEE_OTHER, "/metal"),
        "{}",
        answer.body
    );
    let set = answer.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_ingest_keeps_stage_times_losses_and_where_each_job_stands() {
    let fx = Fixture::new().await;
    floor_day(&fx).await;
    let day = stats::day_of(to_us("2026-12-01T12:00:00Z".parse::<DateTime<Utc>>().unwrap()));

    // Casting of J-2026-0141 ran from 08:07 to 08:28: one visit of 21 minutes.
    let histograms = fx.store.stage_histograms(Period::Days { from: day, to: day }).await.unwrap();
    let casting = &histograms["casting"];
    assert_eq!(casting.iter().map(|(_, n)| n).sum::<i64>(), 1);
    let median = stats::percentile(casting, 50).unwrap();
    assert!((median.as_secs_f64() / (21.0 * 60.0) - 1.0).abs() < 0.03, "{median:?}");
    assert!(!histograms.contains_key("cleanup"), "cleanup has not finished");

    // Its metal was booked when casting finished, to the worker who held it.
    let losses = fx.store.loss_groups(Period::Days { from: day, to: day }).await.unwrap();
    assert_eq!(losses.len(), 1, "{losses:?}");
    let grams = |s: &str| s.parse::<Grams>().unwrap();
    assert_eq!(
        (losses[0].stage.as_str(), losses[0].operator.as_str(), losses[0].alloy.as_str()),
        ("casting", "op-tomas", "PT950")
    );
    assert_eq!(
        (losses[0].issued, losses[0].received, losses[0].visits),
        (grams("6.20"), grams("6.17"), 1)
    );

    // Casting worked again: only the new metal is booked, as a second visit.
    let mut again = Bench::new("casting-1", "op-tomas");
    again.seq = 2;
    again.clock += chrono::Duration::hours(1);
    let job = "J-2026-0141";
    let batch = vec![
        again.start(job, "casting"),
        again.weigh(job, "casting", WeightPurpose::Issue, "1.00"),
        again.weigh(job, "casting", WeightPurpose::Receipt, "0.99"),
        again.finish(job, "casting"),
    ];
    fx.commit(batch, Utc::now()).await;
    let losses = fx.store.loss_groups(Period::Days { from: day, to: day }).await.unwrap();
    assert_eq!(losses.len(), 1);
    assert_eq!(
        (losses[0].issued, losses[0].received, losses[0].visits),
        (grams("7.20"), grams("7.16"), 2)
    );
    // The month's rows are the sums of its days.
    let month = stats::month_of_day(day);
    let monthly = fx.store.loss_groups(Period::Months { from: month, to: month }).await.unwrap();
    assert_eq!(monthly, losses);
    let histograms = fx.store.stage_histograms(Period::Months { from: month, to: month });
    assert_eq!(histograms.await.unwrap()["casting"].iter().map(|(_, n)| n).sum::<i64>(), 2);

    // Every imported job is open. J-2026-0141's second casting is older than its cleanup
    // on the bench clocks, so it stays in cleanup, with the metal last weighed there.
    let open = fx.store.open_jobs().await.unwrap();
    assert_eq!(open.len(), 12);
    let j = open.iter().find(|j| j.job_id == job).unwrap();
    assert_eq!((j.stage.as_ref().map(|s| s.as_str()), j.in_progress), (Some("cleanup"), true));
    assert_eq!(j.metal, Some(grams("6.050")));
    assert_eq!(j.holder.as_deref(), Some("op-amara"));
    let fresh = open.iter().find(|j| j.job_id == "J-2026-0150").unwrap();
    assert_eq!(
        (fresh.last_event_us, fresh.current_or_next().map(|s| s.as_str())),
        (None, Some("cad"))
    );
}

#[tokio::test]
async fn a_job_that_finishes_its_route_leaves_the_floor() {
    let fx = Fixture::new().await;
    let job = fx.store.job(&"J-2026-0150".parse().unwrap()).await.unwrap().unwrap();
    let mut bench = Bench::new("qc-1", "op-hannah");
    let mut events = Vec::new();
    for stage in &job.route {
        events.push(bench.start(job.id.as_str(), stage.as_str()));
        events.push(bench.finish(job.id.as_str(), stage.as_str()));
    }
    fx.commit(events, Utc::now()).await;
    let open = fx.store.open_jobs().await.unwrap();
    assert!(open.iter().all(|j| j.job_id != "J-2026-0150"));
    assert_eq!(open.len(), 11);
}

#[tokio::test]
async fn pages_need_a_session_and_the_sign_in_page_leads_back() {
    let fx = Fixture::new().await;
    add_user(&fx, "ana", Role::Manager).await;
    for uri in [
        "/",
        "/late",
        "/bottlenecks",
        "/stations",
        "/metal",
        "/jobs/J-2026-0141",
        "/search?q=x",
        "/dead-letters",
        "/live",
    ] {
        let answer = page(&fx, uri, None).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{uri}");
        assert!(answer.location().starts_with("/login?next=%2F"), "{uri}: {}", answer.location());
    }
    let bogus = page(&fx, "/", Some("touchstone_session=forged")).await;
    assert_eq!(bogus.status, StatusCode::SEE_OTHER);
    assert_eq!(page(&fx, "/login", None).await.status, StatusCode::OK);
    assert_eq!(page(&fx, "/assets/app.css", None).await.status, StatusCode::OK);

    let cookie = sign_in(&fx, "ana").await;
    let floor = page(&fx, "/", Some(&cookie)).await;
    assert_eq!(floor.status, StatusCode::OK);
    assert!(floor.body.starts_with("<!DOCTYPE html>") && floor.body.contains("<h1>Floor</h1>"));
    assert!(floor.body.contains("ana (test)"), "the viewer's name is shown");
}

#[tokio::test]
async fn pages_answer_whole_partial_or_as_csv() {
    let fx = Fixture::new().await;
    floor_day(&fx).await;
    add_user(&fx, "ana", Role::Manager).await;
    let cookie = sign_in(&fx, "ana").await;

    let request = Request::get("/stations")
        .header(header::COOKIE, &cookie)
        .header("x-touchstone-partial", "1")
        .body(Body::empty())
        .unwrap();
    let partial = send(&fx, request).await;
    assert!(partial.body.starts_with("<h1>Stations</h1>"), "{}", partial.body);
    assert!(!partial.body.contains("<html"));

    let csv = page(&fx, "/?csv=stages", Some(&cookie)).await;
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(
        csv.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("touchstone-stages.csv")
    );
    let mut lines = csv.body.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("Stage,Working,Waiting,On hold,Oldest there since,Gross metal")
    );
    // J-2026-0147 is being set; its row says one job working.
    let setting = lines.find(|l| l.starts_with("Stone setting,")).unwrap();
    assert!(setting.starts_with("Stone setting,1,"), "{setting}");

    let timeline = page(&fx, "/jobs/J-2026-0141?csv=timeline", Some(&cookie)).await;
    assert!(timeline.body.contains("Weighed: scrap returned"), "{}", timeline.body);
    assert!(timeline.body.contains("porosity on the left shoulder"));

    let missing = page(&fx, "/?csv=nothing", Some(&cookie)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let bad = page(&fx, "/metal?days=13", Some(&cookie)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("days must be one of 7, 30, 90 or 365"), "{}", bad.body);
    let unknown = page(&fx, "/jobs/J-0000-0000", Some(&cookie)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad_id = page(&fx, "/jobs/%20", Some(&cookie)).await;
    assert_eq!(bad_id.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn supervisors_see_the_floor_but_no_money() {
    let fx = Fixture::new().await;
    floor_day(&fx).await;
    add_user(&fx, "ana", Role::Manager).await;
    add_user(&fx, "sam", Role::Supervisor).await;
    let manager = sign_in(&fx, "ana").await;
    let supervisor = sign_in(&fx, "sam").await;

    let form = "metal=gold&per_gram=120.50&currency=eur";
    let refused =
        post_form(&fx, "/metal/prices", form, Some(&supervisor), "http://gateway.local").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(fx.store.metal_prices().await.unwrap().is_empty());
    let set = post_form(&fx, "/metal/prices", form, Some(&manager), "http://gateway.local").await;
    assert_eq!((set.status, set.location()), (StatusCode::SEE_OTHER, "/metal"));
    let prices = fx.store.metal_prices().await.unwrap();
    assert_eq!(
        (prices[0].per_gram.to_string(), prices[0].currency.as_str()),
        ("120.50".into(), "EUR")
    );

    let seen_by_manager = page(&fx, "/metal", Some(&manager)).await.body;
    assert!(seen_by_manager.contains("Metal prices") && seen_by_manager.contains("EUR 120.50"));
    let seen_by_supervisor = page(&fx, "/metal", Some(&supervisor)).await.body;
    assert!(seen_by_supervisor.contains("Held on the floor"));
    assert!(!seen_by_supervisor.contains("EUR"), "no money for supervisors");
    assert!(!seen_by_supervisor.contains("Metal prices"));
    let csv = page(&fx, "/metal?csv=prices", Some(&supervisor)).await;
    assert_eq!(csv.status, StatusCode::NOT_FOUND, "nor through the CSV");
}

#[tokio::test]
async fn guessing_is_refused_after_five_failures() {
    let fx = Fixture::new().await;
    add_user(&fx, "ana", Role::Manager).await;
    for _ in 0..5 {
        let wrong =
            post_form(&fx, "/login", "username=ana&password=guess", None, "http://gateway.local")
                .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.body.contains("do not match"));
    }
    let form = format!("username=ana&password={}", PASSWORD.replace(' ', "+"));
    let locked = post_form(&fx, "/login", &form, None, "http://gateway.local").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.headers[header::RETRY_AFTER], "900");
    assert!(locked.body.contains("Too many failed attempts"));
    // An unknown name fails the same way as a wrong password.
    let nobody =
        post_form(&fx, "/login", "username=nobody&password=guess", None, "http://gateway.local")
            .await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forms_from_other_sites_are_refused_and_sign_out_ends_the_session() {
    let fx = Fixture::new().await;
    add_user(&fx, "ana", Role::Manager).await;
    let form = format!("username=ana&password={}", PASSWORD.replace(' ', "+"));
    let forged = post_form(&fx, "/login", &form, None, "http://evil.example").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let cookie = sign_in(&fx, "ana").await;
    let forged = post_form(&fx, "/logout", "", Some(&cookie), "http://evil.example").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(page(&fx, "/", Some(&cookie)).await.status, StatusCode::OK);

    let out = post_form(&fx, "/logout", "", Some(&cookie), "http://gateway.local").await;
    assert_eq!((out.status, out.location()), (StatusCode::SEE_OTHER, "/login"));
    assert!(out.headers[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(page(&fx, "/", Some(&cookie)).await.status, StatusCode::SEE_OTHER);

    // Disabling a user ends their sessions too.
    let cookie = sign_in(&fx, "ana").await;
    fx.store.set_user_disabled("ana", true).await.unwrap();
    assert_eq!(page(&fx, "/", Some(&cookie)).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn idle_sessions_end() {
    let fx = Fixture::new().await;
    add_user(&fx, "ana", Role::Manager).await;
    let cookie = sign_in(&fx, "ana").await;
    let token = cookie.split_once('=').unwrap().1;
    let hash = touchstone_gateway::dashboard::auth::hash_token(token);
    let long_ago = to_us(Utc::now()) - 13 * 3_600_000_000;
    fx.store.touch_session(&hash, long_ago).await.unwrap();
    assert_eq!(page(&fx, "/", Some(&cookie)).await.status, StatusCode::SEE_OTHER);
    assert!(fx.store.session(&hash).await.unwrap().is_none(), "the idle session is removed");
}

#[tokio::test]
async fn a_price_feed_sets_prices_with_the_api_token() {
    let fx = Fixture::new().await;
    let body = serde_json::to_vec(&json!({"per_gram": "61.25", "currency": "CHF"})).unwrap();
    let (status, _) =
        fx.call_as(Method::PUT, "/api/v1/metal-prices/gold", Some(body.clone()), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, answer) = fx.call(Method::PUT, "/api/v1/metal-prices/gold", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        (answer["metal"].clone(), answer["per_gram"].clone()),
        (json!("gold"), json!("61.25"))
    );
    assert_eq!(answer["updated_by"], "api");

    let tin = serde_json::to_vec(&json!({"per_gram": "1", "currency": "CHF"})).unwrap();
    let (status, answer) = fx.call(Method::PUT, "/api/v1/metal-prices/tin", Some(tin)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["error"].as_str().unwrap().contains("gold, silver, platinum or palladium"));
    let negative = serde_json::to_vec(&json!({"per_gram": "-3", "currency": "CHF"})).unwrap();
    let (status, _) = fx.call(Method::PUT, "/api/v1/metal-prices/gold", Some(negative)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = fx.call(Method::PUT, "/api/v1/metal-prices/gold", Some(b"{".to_vec())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_live_stream_says_when_the_floor_moves() {
    let fx = Fixture::new().await;
    add_user(&fx, "ana", Role::Manager).await;
    let cookie = sign_in(&fx, "ana").await;
    let request =
        Request::get("/live").header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
    let response = fx.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = response.into_body();
    fx.floor.send_modify(|v| *v += 1);
    let frame =
        tokio::time::timeout(Duration::from_secs(5), body.frame()).await.unwrap().unwrap().unwrap();
    let text = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
    assert!(text.starts_with("event: floor\n"), "{text}");
}

//! The HTTP API over a real SQLite store, called without a socket: access, errors, the
//! feed's resume contract, timelines, job state and master data uploads.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

mod common;

use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use common::{Bench, Fixture, TOKEN, floor_day};
use serde_json::{Value, json};

#[tokio::test]
async fn api_refuses_requests_without_the_token() {
    let fx = Fixture::new().await;

    let (status, body) = fx.call_as(Method::GET, "/api/v1/jobs", None, None).await;

    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "missing or wrong bearer token");
}

#[tokio::test]
async fn api_refuses_a_wrong_token() {
    let fx = Fixture::new().await;
    let wrong = format!("{TOKEN}x");

    for token in [wrong.as_str(), "", &TOKEN[..TOKEN.len() - 1]] {
        let (status, _) = fx.call_as(Method::GET, "/api/v1/events", None, Some(token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "token {token:?}");
    }
    let (status, _) = fx.call_as(Method::GET, "/api/v1/events", None, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn health_needs_no_token_and_follows_readiness() {
    let fx = Fixture::new().await;

    let (status, body) = fx.call_as(Method::GET, "/health", None, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));

    fx.ready.send(false).unwrap();
    let (status, body) = fx.call_as(Method::GET, "/health", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["reason"].as_str().unwrap().contains("starting"), "{body}");
}

#[tokio::test]
async fn unknown_job_is_404_and_a_malformed_id_is_400() {
    let fx = Fixture::new().await;

    let (status, body) = fx.get("/api/v1/jobs/J-1999-0001").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "no job `J-1999-0001`");

    let (status, _) = fx.get("/api/v1/jobs/J-1999-0001/timeline").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = fx.get("/api/v1/jobs/J%201").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("job id `J 1` contains ` `"), "{body}");
}

#[tokio::test]
async fn bad_cursor_and_limit_are_400_naming_the_parameter() {
    let fx = Fixture::new().await;

    for uri in
        ["/api/v1/events?after=abc", "/api/v1/events?after=-5", "/api/v1/anomalies?after=1.5"]
    {
        let (status, body) = fx.get(uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(body["error"].as_str().unwrap().starts_with("after must be"), "{uri}: {body}");
    }
    for uri in ["/api/v1/events?limit=0", "/api/v1/dead-letters?limit=1001", "/api/v1/jobs?limit=x"]
    {
        let (status, body) = fx.get(uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(body["error"].as_str().unwrap().starts_with("limit must be"), "{uri}: {body}");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_json() {
    let fx = Fixture::new().await;

    let (status, body) = fx.get("/api/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "no route GET /api/v1/nothing-here");

    let (status, body) = fx.call(Method::DELETE, "/api/v1/jobs", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(body["error"].is_string());

    let (status, _) = fx.call(Method::PUT, "/api/v1/master/customers", Some(b"[]".to_vec())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_master_upload_is_422_naming_index_and_field() {
    let fx = Fixture::new().await;
    let upload = json!([
        {"id": "op-new", "name": "New Hire", "badge": "B-10990", "role": "worker"},
        {"id": "op-bad", "name": "Bad Role", "badge": "B-10991", "role": "apprentice"},
        {"id": "op-dup", "name": "Badge Taken", "badge": "B-10421", "role": "worker"}
    ]);

    let (status, body) = fx
        .call(Method::PUT, "/api/v1/master/operators", Some(upload.to_string().into_bytes()))
        .await;

    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let problems = body["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{body}");
    assert_eq!(
        (problems[0]["index"].as_u64(), problems[0]["field"].as_str()),
        (Some(1), Some("role"))
    );
    assert_eq!(
        (problems[1]["index"].as_u64(), problems[1]["field"].as_str()),
        (Some(2), Some("badge"))
    );
    let (_, operators) = fx.get("/api/v1/jobs").await;
    assert!(operators["jobs"].is_array());
    let stored = fx.store.list::<touchstone_model::workshop::Operator>().await.unwrap();
    assert!(stored.iter().all(|o| o.id.as_str() != "op-new"), "a refused upload stored an item");
}

#[tokio::test]
async fn good_master_upload_is_stored_and_wakes_the_publisher() {
    let fx = Fixture::new().await;
    let notified = fx.master_changed.notified();
    let upload = json!([{"id": "polish-2", "name": "Polishing 2", "stages": ["polish"]}]);

    let (status, body) = fx
        .call(Method::PUT, "/api/v1/master/stations", Some(upload.to_string().into_bytes()))
        .await;

    assert_eq!((status, body), (StatusCode::OK, json!({"kind": "stations", "stored": 1})));
    tokio::time::timeout(std::time::Duration::from_secs(1), notified).await.unwrap();
    let (_, stations) = fx.get("/api/v1/stations").await;
    assert!(stations["stations"].as_array().unwrap().iter().any(|s| s["id"] == "polish-2"));
}

#[tokio::test]
async fn upload_that_is_not_json_is_400_and_an_oversized_one_413() {
    let fx = Fixture::new().await;

    let (status, body) = fx.call(Method::PUT, "/api/v1/master/jobs", Some(b"[{".to_vec())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().starts_with("not valid JSON"), "{body}");

    let big = vec![b' '; 9 * 1024 * 1024];
    let (status, body) = fx.call(Method::PUT, "/api/v1/master/jobs", Some(big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}

#[tokio::test]
async fn feed_resumes_after_a_cursor_without_gaps_or_repeats() {
    let fx = Fixture::new().await;
    let mut bench = Bench::new("bench-2", "op-luca");
    let at = Utc::now();
    for batch in 0..5 {
        let events =
            (0..7).map(|i| bench.note("J-2026-0150", &format!("note {batch}.{i}"))).collect();
        fx.commit(events, at + Duration::seconds(batch)).await;
    }

    let mut after = 0;
    let mut seen: Vec<(i64, u64)> = Vec::new();
    loop {
        let (status, page) = fx.get(&format!("/api/v1/events?after={after}&limit=4")).await;
        assert_eq!(status, StatusCode::OK);
        let events = page["events"].as_array().unwrap();
        if events.is_empty() {
            assert_eq!(page["next_after"].as_i64(), Some(after), "an empty page keeps the cursor");
            break;
        }
        for item in events {
            let cursor = item["cursor"].as_i64().unwrap();
            assert!(cursor > after, "cursor {cursor} is not after {after}");
            seen.push((cursor, item["event"]["seq"].as_u64().unwrap()));
        }
        after = page["next_after"].as_i64().unwrap();
    }

    let seqs: Vec<u64> = seen.iter().map(|(_, seq)| *seq).collect();
    assert_eq!(seqs, (1..=35).collect::<Vec<u64>>(), "each event once, in commit order");
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
}

#[tokio::test]
async fn feed_items_carry_the_wire_event() {
    let fx = Fixture::new().await;
    floor_day(&fx).await;

    let (_, page) = fx.get("/api/v1/events?limit=2").await;

    let first = &page["events"][0];
    assert_eq!(first["event"]["v"], 1);
    assert_eq!(first["event"]["station"], "casting-1");
    assert_eq!(first["event"]["fact"], json!({"type": "stage_started", "stage": "casting"}));
    assert!(first["received_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(page["next_after"], page["events"][1]["cursor"]);
}

#[tokio::test]
async fn timeline_lists_a_jobs_events_in_order_with_anomalies() {
    let fx = Fixture::new().await;
    floor_day(&fx).await;

    let (status, body) = fx.get("/api/v1/jobs/J-2026-0141/timeline").await;

    assert_eq!(status, StatusCode::OK);
    let events = body["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["fact"]["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "stage_started",
            "weight_recorded",
            "weight_recorded",
            "stage_finished",
            "stage_started",
            "weight_recorded",
            "weight_recorded",
            "weight_recorded",
            "note"
        ]
    );
    let cursors: Vec<i64> = events.iter().map(|e| e["cursor"].as_i64().unwrap()).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");

    let (_, other) = fx.get("/api/v1/jobs/J-2026-0147/timeline").await;
    let issue = &other["events"][1];
    assert_eq!(issue["fact"]["type"], "stone_issued");
    let kinds: Vec<&Value> =
        issue["anomalies"].as_array().unwrap().iter().map(|a| &a["kind"]).collect();
    assert!(!kinds.is_empty(), "a stone of another job must carry an anomaly: {issue}");
}

#[tokio::test]
async fn job_detail_sums_metal_with_fine_grams() {
    let fx = Fixture::new().await;
    floor_day(&fx).await;

    let (status, body) = fx.get("/api/v1/jobs/J-2026-0141").await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["job"]["alloy"], "PT950");
    assert_eq!(body["fineness"], 950);
    assert_eq!(body["state"]["stage"], "cleanup");
    assert_eq!(body["state"]["in_progress"], true);
    let metal = body["metal"].as_array().unwrap();
    let issue = metal
        .iter()
        .find(|m| m["stage"] == "casting" && m["purpose"] == "issue")
        .unwrap_or_else(|| panic!("no casting issue in {metal:?}"));
    assert_eq!(issue["grams"], "6.20");
    assert_eq!(issue["fine_grams"].as_str().unwrap().parse::<f64>().unwrap(), 5.89);
    assert_eq!(issue["operator"], "op-tomas");
    let visits = body["visits"].as_array().unwrap();
    assert_eq!(visits.len(), 2);
    assert!(visits[0]["finished_at"].is_string() && visits[1]["finished_at"].is_null());
}

#[tokio::test]
async fn job_list_filters_by_stage_station_and_search() {
    let fx = Fixture::new().await;
    floor_day(&fx).await;

    let ids = |body: &Value| -> Vec<String> {
        body["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, all) = fx.get("/api/v1/jobs").await;
    assert_eq!(ids(&all).len(), 12);
    let (_, at_cleanup) = fx.get("/api/v1/jobs?stage=cleanup").await;
    assert_eq!(ids(&at_cleanup), ["J-2026-0141"]);
    let (_, at_setting) = fx.get("/api/v1/jobs?station=setting-1").await;
    assert_eq!(ids(&at_setting), ["J-2026-0147"]);
    let (_, by_certificate) = fx.get("/api/v1/jobs?q=5212947703").await;
    assert_eq!(ids(&by_certificate), ["J-2026-0153"]);
    let (_, by_customer) = fx.get("/api/v1/jobs?q=nakamura").await;
    assert_eq!(ids(&by_customer), ["J-2026-0147"]);
    let (_, paged) = fx.get("/api/v1/jobs?limit=5&after=J-2026-0150").await;
    assert_eq!(ids(&paged)[0], "J-2026-0153");
    assert_eq!(paged["next_after"], "J-2026-0162");
}

#[tokio::test]
async fn stations_merge_master_data_with_heartbeats() {
    let fx = Fixture::new().await;
    floor_day(&fx).await;
    fx.heartbeat("setting-1", 3).await;

    let (_, body) = fx.get("/api/v1/stations").await;

    let stations = body["stations"].as_array().unwrap();
    assert_eq!(stations.len(), 8);
    let setting = stations.iter().find(|s| s["id"] == "setting-1").unwrap();
    assert_eq!(setting["online"], true);
    assert_eq!(setting["backlog"], 3);
    assert_eq!(setting["balance"], "connected");
    assert_eq!(setting["last_seq"], 2);
    let cad = stations.iter().find(|s| s["id"] == "cad-1").unwrap();
    assert_eq!(
        (cad["online"].clone(), cad["last_heartbeat_at"].clone()),
        (json!(false), Value::Null)
    );
}

#[tokio::test]
async fn dead_letters_show_text_as_text_and_bytes_as_base64() {
    let fx = Fixture::new().await;
    let topic = "touchstone/v1/stations/bench-1/events";
    fx.store.record_dead_letter(topic, b"{\"v\": 9}", "unsupported version", 1).await.unwrap();
    fx.store.record_dead_letter(topic, &[0xff, 0x00, 0x41], "invalid payload", 2).await.unwrap();

    let (_, body) = fx.get("/api/v1/dead-letters").await;

    let letters = body["dead_letters"].as_array().unwrap();
    assert_eq!(
        (letters[0]["encoding"].as_str(), letters[0]["payload"].as_str()),
        (Some("utf8"), Some("{\"v\": 9}"))
    );
    assert_eq!(
        (letters[1]["encoding"].as_str(), letters[1]["payload"].as_str()),
        (Some("base64"), Some("/wBB"))
    );
    let (_, rest) = fx.get(&format!("/api/v1/dead-letters?after={}", letters[0]["id"])).await;
    assert_eq!(rest["dead_letters"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn internal_errors_say_nothing_about_the_inside() {
    let fx = Fixture::new().await;
    fx.store.close().await;

    let (status, body) = fx.get("/api/v1/jobs").await;
    assert_eq!(
        (status, body),
        (StatusCode::INTERNAL_SERVER_ERROR, json!({"error": "internal error"}))
    );

    let (status, body) = fx.call_as(Method::GET, "/health", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["reason"], "the database does not answer");
}

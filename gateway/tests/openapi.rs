//! `docs/openapi.json` against the app itself: every route the router serves is documented
//! and every documented operation is served; every response a documented operation gives
//! here has a documented status and a body that validates against the documented schema.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use axum::http::{Method, StatusCode};
use common::{Fixture, floor_day};
use serde_json::{Value, json};
use touchstone_gateway::http::route_table;

fn document() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                found.insert((method.to_owned(), path.clone()));
            }
        }
    }
    found
}

/// Follows a `$ref` within the document, once.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(pointer) => doc.pointer(pointer.trim_start_matches('#')).unwrap(),
        None => value,
    }
}

/// Validates `instance` against `schema`, with the document's components in reach of
/// `#/components/...` references; returns every violation.
fn violations(doc: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    let mut root = schema.clone();
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    root["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&root).unwrap();
    validator.iter_errors(instance).map(|e| format!("at {}: {e}", e.instance_path())).collect()
}

#[test]
fn every_served_route_is_documented_and_every_documented_one_served() {
    let doc = document();
    let served: BTreeSet<(String, String)> = route_table()
        .into_iter()
        .map(|(method, path)| (method.as_str().to_lowercase(), path.to_owned()))
        .collect();

    assert_eq!(served, documented_operations(&doc));
}

#[test]
fn the_document_is_openapi_3_1_with_resolvable_references() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let pointer = reference.split('"').next().unwrap();
        assert!(doc.pointer(pointer.trim_start_matches('#')).is_some(), "dangling {pointer}");
    }
}

#[test]
fn demo_files_validate_as_master_data_uploads() {
    let doc = document();
    let op = &doc["paths"]["/api/v1/master/{kind}"]["put"];
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo");
    for name in ["alloys", "stages", "stations", "operators", "loss-bands", "jobs"] {
        let text = std::fs::read_to_string(demo.join(format!("{name}.json"))).unwrap();
        let items: Value = serde_json::from_str(&text).unwrap();
        let problems = violations(&doc, schema, &items);
        assert!(problems.is_empty(), "{name}.json: {problems:?}");
    }
}

/// One request that exercises one documented operation.
struct Case {
    method: Method,
    template: &'static str,
    uri: String,
    body: Option<Value>,
    token: bool,
}

fn case(method: Method, template: &'static str, uri: &str) -> Case {
    Case { method, template, uri: uri.to_owned(), body: None, token: true }
}

fn cases() -> Vec<Case> {
    let mut all = vec![
        case(Method::GET, "/health", "/health"),
        case(Method::GET, "/api/v1/jobs", "/api/v1/jobs"),
        case(Method::GET, "/api/v1/jobs", "/api/v1/jobs?stage=cleanup&q=0141"),
        case(Method::GET, "/api/v1/jobs", "/api/v1/jobs?limit=3"),
        case(Method::GET, "/api/v1/jobs", "/api/v1/jobs?limit=0"),
        case(Method::GET, "/api/v1/jobs/{id}", "/api/v1/jobs/J-2026-0141"),
        case(Method::GET, "/api/v1/jobs/{id}", "/api/v1/jobs/J-2026-0167"),
        case(Method::GET, "/api/v1/jobs/{id}", "/api/v1/jobs/J-2026-0171"),
        case(Method::GET, "/api/v1/jobs/{id}", "/api/v1/jobs/J-2026-0153"),
        case(Method::GET, "/api/v1/jobs/{id}", "/api/v1/jobs/J-0000"),
        case(Method::GET, "/api/v1/jobs/{id}", "/api/v1/jobs/J%2B1"),
        case(Method::GET, "/api/v1/jobs/{id}/timeline", "/api/v1/jobs/J-2026-0147/timeline"),
        case(Method::GET, "/api/v1/jobs/{id}/timeline", "/api/v1/jobs/J-2026-0158/timeline"),
        case(
            Method::GET,
            "/api/v1/jobs/{id}/timeline",
            "/api/v1/jobs/J-2026-0141/timeline?limit=2",
        ),
        case(Method::GET, "/api/v1/jobs/{id}/timeline", "/api/v1/jobs/J-0000/timeline"),
        case(
            Method::GET,
            "/api/v1/jobs/{id}/timeline",
            "/api/v1/jobs/J-2026-0141/timeline?after=x",
        ),
        case(Method::GET, "/api/v1/stations", "/api/v1/stations"),
        case(Method::GET, "/api/v1/events", "/api/v1/events?limit=1000"),
        case(Method::GET, "/api/v1/events", "/api/v1/events?after=3&limit=2"),
        case(Method::GET, "/api/v1/events", "/api/v1/events?after=999999"),
        case(Method::GET, "/api/v1/events", "/api/v1/events?limit=5000"),
        case(Method::GET, "/api/v1/dead-letters", "/api/v1/dead-letters"),
        case(Method::GET, "/api/v1/dead-letters", "/api/v1/dead-letters?after=-1"),
        case(Method::GET, "/api/v1/anomalies", "/api/v1/anomalies"),
        case(Method::GET, "/api/v1/anomalies", "/api/v1/anomalies?limit=nope"),
    ];
    let put = |kind: &str, body: Value| Case {
        method: Method::PUT,
        template: "/api/v1/master/{kind}",
        uri: format!("/api/v1/master/{kind}"),
        body: Some(body),
        token: true,
    };
    all.push(put("stages", json!([{"id": "enamel", "name": "Enamelling"}])));
    all.push(put(
        "alloys",
        json!([{"code": "PD950", "name": "Palladium 950", "metal": "palladium", "fineness": 950}]),
    ));
    all.push(put(
        "loss-bands",
        json!([{"stage": "casting", "warn_percent": "2", "hard_percent": "1"}]),
    ));
    all.push(put("jobs", json!({"not": "an array"})));
    let price = |metal: &str, body: Value| Case {
        method: Method::PUT,
        template: "/api/v1/metal-prices/{metal}",
        uri: format!("/api/v1/metal-prices/{metal}"),
        body: Some(body),
        token: true,
    };
    all.push(price("gold", json!({"per_gram": "121.40", "currency": "EUR"})));
    all.push(price("tin", json!({"per_gram": "1", "currency": "EUR"})));
    all.push(price("gold", json!({"per_gram": "1", "currency": "EUR", "extra": 1})));
    all.push(put("customers", json!([])));
    let mut no_token = case(Method::GET, "/api/v1/events", "/api/v1/events");
    no_token.token = false;
    all.push(no_token);
    all
}

#[tokio::test]
async fn every_response_matches_its_documented_status_and_schema() {
    let doc = document();
    let fx = Fixture::new().await;
    let history = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/events.jsonl");
    touchstone_gateway::import::import_events(&fx.store, &history).await.unwrap();
    floor_day(&fx).await;
    fx.heartbeat("setting-1", 2).await;
    let topic = "touchstone/v1/stations/bench-1/events";
    fx.store.record_dead_letter(topic, b"not json", "invalid payload", 5).await.unwrap();
    fx.store.record_dead_letter(topic, &[0xc3, 0x28], "invalid payload", 6).await.unwrap();

    let mut exercised = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    for case in cases() {
        let body = case.body.as_ref().map(|b| b.to_string().into_bytes());
        let token = case.token.then_some(common::TOKEN);
        let (status, value) = fx.call_as(case.method.clone(), &case.uri, body, token).await;
        let label = format!("{} {} -> {status}", case.method, case.uri);

        let method = case.method.as_str().to_lowercase();
        let op = &doc["paths"][case.template][method.as_str()];
        assert!(op.is_object(), "{label}: {} {} is not documented", case.method, case.template);
        let response = op["responses"]
            .get(status.as_str())
            .unwrap_or_else(|| panic!("{label}: status {status} is not documented: {value}"));
        let response = resolve(&doc, response);
        let schema = &response["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{label}: no JSON schema documented");
        let problems = violations(&doc, schema, &value);
        assert!(problems.is_empty(), "{label}: {value}\n{problems:#?}");

        exercised.insert((method, case.template.to_owned()));
        statuses.insert(status);
    }

    assert_eq!(exercised, documented_operations(&doc), "an operation was never called");
    for expected in [200, 400, 401, 404, 422] {
        assert!(statuses.contains(&StatusCode::from_u16(expected).unwrap()), "no {expected} seen");
    }
}

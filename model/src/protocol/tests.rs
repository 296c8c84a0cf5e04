use super::*;
use crate::event::{BalanceIdentity, Stability, Weighing, WeightPurpose};

fn station(text: &str) -> StationId {
    text.parse().unwrap()
}

fn sample_event() -> Event {
    Event {
        id: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".parse().unwrap(),
        station: station("bench-3"),
        seq: 42,
        operator: Some("OP-7".parse().unwrap()),
        job: Some("J-1".parse().unwrap()),
        recorded_at: "2026-12-03T10:15:02.123Z".parse().unwrap(),
        fact: Fact::WeightRecorded(Weighing {
            purpose: WeightPurpose::Receipt,
            grams: "6.118".parse().unwrap(),
            value: "6.118".into(),
            unit: "g".into(),
            raw: "S S      6.118 g".into(),
            stability: Stability::Stable,
            balance: BalanceIdentity {
                protocol: "mt-sics".into(),
                model: Some("XS204".into()),
                serial: Some("B123456789".into()),
            },
            stage: Some("polish".parse().unwrap()),
            alloy: None,
            tree: None,
        }),
    }
}

#[test]
fn event_round_trips() {
    let event = sample_event();
    let bytes = encode_event(&event);
    assert_eq!(decode_event(&station("bench-3"), &bytes), Ok(event));
}

#[test]
fn event_wire_form_is_readable() {
    let json: serde_json::Value = serde_json::from_slice(&encode_event(&sample_event())).unwrap();
    assert_eq!(json["v"], 1);
    assert_eq!(json["fact"]["type"], "weight_recorded");
    assert_eq!(json["fact"]["grams"], "6.118");
    assert_eq!(json["recorded_at"], "2026-12-03T10:15:02.123Z");
}

#[test]
fn station_may_only_publish_as_itself() {
    let bytes = encode_event(&sample_event());
    let err = decode_event(&station("bench-4"), &bytes).unwrap_err();
    assert_eq!(err.to_string(), "station `bench-3` published on the topic of station `bench-4`");
}

#[test]
fn malformed_json_is_refused_with_a_reason() {
    let err = decode_event(&station("bench-3"), b"{not json").unwrap_err();
    assert!(matches!(err, DecodeError::Json(_)), "{err}");
    assert!(err.to_string().starts_with("invalid payload: key must be a string"), "{err}");
}

#[test]
fn wrong_types_and_unknown_fields_are_refused() {
    let mut json: serde_json::Value =
        serde_json::from_slice(&encode_event(&sample_event())).unwrap();
    json["seq"] = "forty-two".into();
    let err = decode_event(&station("bench-3"), json.to_string().as_bytes()).unwrap_err();
    assert!(err.to_string().contains("invalid type: string \"forty-two\", expected u64"), "{err}");

    let mut json: serde_json::Value =
        serde_json::from_slice(&encode_event(&sample_event())).unwrap();
    json["colour"] = "red".into();
    let err = decode_event(&station("bench-3"), json.to_string().as_bytes()).unwrap_err();
    assert!(err.to_string().contains("unknown field `colour`"), "{err}");

    let mut json: serde_json::Value =
        serde_json::from_slice(&encode_event(&sample_event())).unwrap();
    json["fact"]["grams"] = 6.118.into();
    assert!(decode_event(&station("bench-3"), json.to_string().as_bytes()).is_err());

    // Facts without fields refuse stray ones too; the wire form stays `{"type": ...}`.
    for fact in [Fact::SignedIn {}, Fact::JobReleased {}] {
        let mut event = sample_event();
        event.fact = fact;
        let mut json: serde_json::Value = serde_json::from_slice(&encode_event(&event)).unwrap();
        assert_eq!(json["fact"].as_object().map(|o| o.len()), Some(1), "{json}");
        json["fact"]["by"] = "OP-9".into();
        let err = decode_event(&station("bench-3"), json.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("unknown field `by`"), "{err}");
    }
}

#[test]
fn unknown_version_is_refused_clearly() {
    let mut json: serde_json::Value =
        serde_json::from_slice(&encode_event(&sample_event())).unwrap();
    json["v"] = 2.into();
    json["new_field"] = true.into();
    let err = decode_event(&station("bench-3"), json.to_string().as_bytes()).unwrap_err();
    assert_eq!(err, DecodeError::UnsupportedVersion { found: 2 });
    assert_eq!(err.to_string(), "unsupported protocol version 2; this gateway speaks version 1");
}

#[test]
fn oversized_payload_is_refused_before_parsing() {
    let big = vec![b' '; MAX_EVENT_BYTES + 1];
    let err = decode_event(&station("bench-3"), &big).unwrap_err();
    assert_eq!(err, DecodeError::TooLarge { len: MAX_EVENT_BYTES + 1, max: MAX_EVENT_BYTES });
}

#[test]
fn job_facts_must_name_a_job() {
    let mut event = sample_event();
    event.job = None;
    event.fact = Fact::StageStarted { stage: "polish".parse().unwrap() };
    let err = decode_event(&station("bench-3"), &encode_event(&event)).unwrap_err();
    assert_eq!(err, DecodeError::Invalid("this kind of fact must name a job"));
    event.seq = 0;
    event.job = Some("J-1".parse().unwrap());
    let err = decode_event(&station("bench-3"), &encode_event(&event)).unwrap_err();
    assert_eq!(err, DecodeError::Invalid("seq starts at 1"));
}

#[test]
fn topics_parse_and_refuse() {
    let s = station("bench-3");
    assert_eq!(
        StationTopic::parse(&topics::events(&s)),
        Ok(StationTopic::Events { version: 1, station: s.clone() })
    );
    assert_eq!(
        StationTopic::parse("touchstone/v2/stations/bench-3/status"),
        Ok(StationTopic::Status { version: 2, station: s })
    );
    for bad in [
        "touchstone/v1/stations/bench-3",
        "touchstone/vx/stations/bench-3/events",
        "other/v1/stations/bench-3/events",
        "touchstone/v1/stations/bench-3/events/extra",
        "touchstone/v1/stations/bench-3/acks",
    ] {
        assert!(StationTopic::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn status_decodes_and_checks_station() {
    let status = StatusMessage {
        v: VERSION,
        station: station("bench-3"),
        online: true,
        at: None,
        backlog: 3,
        balance: BalanceState::Connected,
        balance_detail: None,
        version: "0.1.0".into(),
        operator: None,
    };
    let bytes = serde_json::to_vec(&status).unwrap();
    assert_eq!(decode_status(&station("bench-3"), &bytes), Ok(status));
    assert!(matches!(
        decode_status(&station("bench-9"), &bytes),
        Err(DecodeError::StationMismatch { .. })
    ));
}

#[test]
fn every_fact_round_trips() {
    use crate::event::{HoldReason, SignOutReason, StoneMovement};
    let facts = vec![
        Fact::SignedIn {},
        Fact::SignedOut { reason: SignOutReason::Idle },
        Fact::StageStarted { stage: "cad".parse().unwrap() },
        Fact::StageFinished { stage: "cad".parse().unwrap() },
        Fact::JobHeld { reason: HoldReason::MissingParts, note: "no clasp".into() },
        Fact::JobReleased {},
        Fact::StoneIssued(StoneMovement::Stone { id: "ST-1".parse().unwrap(), broken: false }),
        Fact::StoneReturned(StoneMovement::Packet {
            id: "PK-1".parse().unwrap(),
            count: 2,
            carat: Some("0.06".parse().unwrap()),
            broken: true,
        }),
        Fact::Note { text: "prong re-tipped".into() },
        Fact::Override {
            supervisor: "OP-1".parse().unwrap(),
            refusal: "this job is on hold".into(),
        },
    ];
    for fact in facts {
        let mut event = sample_event();
        event.fact = fact;
        let back = decode_event(&station("bench-3"), &encode_event(&event)).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn weight_purposes_are_named_as_on_the_wire() {
    use crate::event::WeightPurpose::*;
    for purpose in [
        Issue,
        Receipt,
        ScrapReturn,
        TreeWax,
        TreeCharged,
        TreeCast,
        TreePiece,
        SprueReturn,
        CheckWeight,
        Sweeps,
    ] {
        assert_eq!(serde_json::to_value(purpose).unwrap(), purpose.as_str());
    }
}

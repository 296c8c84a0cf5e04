//! The `touchstone-scale decode` contract, end to end: raw balance output from the fixtures
//! (lines from the manuals and captures the reference cites, with a partial first line, noise,
//! echoes and mixed terminators) goes in on standard input, one JSON object per decoded line
//! comes out. The expected files were reviewed line by line against the reference.

#![allow(clippy::unwrap_used, reason = "a failed spawn or read fails the test")]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const FAMILIES: [&str; 10] = [
    "mt-sics",
    "and",
    "ohaus",
    "sartorius-sbi",
    "kern",
    "radwag",
    "shimadzu",
    "vibra",
    "adam",
    "generic",
];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn decode(protocol: &str, input: &[u8]) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_touchstone-scale"))
        .args(["decode", "--protocol", protocol])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A refused command line exits before reading its input; the pipe closed then is not the
    // failure under test, the exit status and message are.
    let _ = child.stdin.take().unwrap().write_all(input);
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn every_family_fixture_decodes_to_its_expected_json_lines() {
    for family in FAMILIES {
        let raw = std::fs::read(fixture(&format!("{family}.raw"))).unwrap();
        let expected =
            std::fs::read_to_string(fixture(&format!("{family}.expected.jsonl"))).unwrap();
        let (ok, stdout, stderr) = decode(family, &raw);
        assert!(ok, "{family}: {stderr}");
        assert_eq!(stdout, expected, "{family}");
    }
}

#[test]
fn every_line_has_the_contract_fields_with_their_types() {
    for family in FAMILIES {
        let raw = std::fs::read(fixture(&format!("{family}.raw"))).unwrap();
        let (_, stdout, _) = decode(family, &raw);
        let mut statuses = std::collections::BTreeSet::new();
        for line in stdout.lines() {
            let object: serde_json::Value = serde_json::from_str(line).unwrap();
            for field in ["value", "unit", "grams"] {
                assert!(
                    object[field].is_string() || object[field].is_null(),
                    "{family} {field}: {line}"
                );
            }
            assert!(object["stable"].is_boolean() || object["stable"].is_null(), "{line}");
            assert!(object["raw"].is_string(), "{line}");
            let status = object["status"].as_str().unwrap().to_owned();
            assert!(
                ["ok", "overload", "underload", "error", "ack"].contains(&status.as_str()),
                "{line}"
            );
            statuses.insert(status);
        }
        // Each fixture covers weights and at least one fault; ViBRA documents nothing else.
        assert!(statuses.contains("ok") && statuses.len() >= 2, "{family}: {statuses:?}");
    }
}

#[test]
fn an_unknown_protocol_is_a_clear_error() {
    let (ok, stdout, stderr) = decode("mettler", b"S S 1 g\r\n");
    assert!(!ok);
    assert!(stdout.is_empty());
    assert!(stderr.contains("mt-sics"), "{stderr}");
}

#[test]
fn arbitrary_bytes_on_stdin_never_crash_the_tool() {
    let noise: Vec<u8> = (0..20_000u32).map(|i| u8::try_from((i * 7919) % 251).unwrap()).collect();
    for family in FAMILIES {
        let (ok, _, stderr) = decode(family, &noise);
        assert!(ok, "{family}: {stderr}");
    }
}

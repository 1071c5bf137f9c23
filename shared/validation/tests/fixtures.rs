//! The Caliper 1.2 conformance fixtures: every valid one is accepted, every invalid one rejected
//! with a problem at the field its name says is wrong; and every published Caliper 1.1 example is
//! accepted in a 1.1 envelope (and refused in a 1.2 one).
//!
//! The fixtures are the spec's, read at test time from the team's shared folder beside the
//! repository (`../shared/caliper/fixtures`, `../shared/caliper/v1p1/fixtures`), or from
//! `$CALIPER_SPEC_DIR`.

mod support;

use caliper_validation::{validate_envelope, Limits, Problem, CALIPER_V1P1, CALIPER_V1P2};
use serde_json::{json, Value};

/// The fixtures in `folder` of the spec directory (`fixtures/valid`, `v1p1/fixtures`).
fn fixtures(folder: &str) -> Vec<(String, Value)> {
    let dir = support::spec_dir().join(folder);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!("cannot read the Caliper fixtures at {} ({e}); set CALIPER_SPEC_DIR to the folder holding fixtures/", dir.display())
    });
    let mut found: Vec<(String, Value)> = entries
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let name = path
                .file_stem()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).expect("a readable fixture");
            (
                name,
                serde_json::from_str(&text).expect("fixtures are JSON"),
            )
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// Envelopes as they are; events and entities wrapped in one of `version`.
fn as_envelope(fixture: &Value, version: &str) -> Value {
    if fixture.get("data").is_some() {
        return fixture.clone();
    }
    json!({
        "sensor": "https://example.edu/sensors/1",
        "sendTime": "2024-05-01T12:00:00.000Z",
        "dataVersion": version,
        "data": [fixture],
    })
}

fn problems_in(fixture: &Value, version: &str) -> Vec<Problem> {
    validate_envelope(&as_envelope(fixture, version), &Limits::default())
        .err()
        .map(|p| p.list)
        .unwrap_or_default()
}

fn problems(fixture: &Value) -> Vec<Problem> {
    problems_in(fixture, CALIPER_V1P2)
}

#[test]
fn every_caliper_1p1_example_is_accepted_as_1p1_and_refused_as_1p2() {
    let examples = fixtures("v1p1/fixtures");
    assert!(
        examples.len() >= 80,
        "expected the 1.1 examples, found {}",
        examples.len()
    );
    let rejected: Vec<String> = examples
        .iter()
        .filter_map(|(name, doc)| {
            let found = problems_in(doc, CALIPER_V1P1);
            (!found.is_empty()).then(|| format!("{name}: {found:#?}"))
        })
        .collect();
    assert!(
        rejected.is_empty(),
        "{} 1.1 examples rejected:\n{}",
        rejected.len(),
        rejected.join("\n")
    );
    // Their contexts are 1.1's: in a 1.2 envelope each is told it is of the other version.
    for (name, doc) in examples.iter().filter(|(_, d)| d.get("data").is_none()) {
        let found = problems_in(doc, CALIPER_V1P2);
        assert!(
            found
                .iter()
                .any(|p| p.path == "/data/0/@context" && p.message.contains("Caliper 1.1")),
            "{name} in a 1.2 envelope: {found:#?}"
        );
    }
}

#[test]
fn every_valid_fixture_is_accepted() {
    let valid = fixtures("fixtures/valid");
    assert!(
        valid.len() >= 90,
        "expected the spec's valid fixtures, found {}",
        valid.len()
    );
    let rejected: Vec<String> = valid
        .iter()
        .filter_map(|(name, doc)| {
            let found = problems(doc);
            (!found.is_empty()).then(|| format!("{name}: {found:#?}"))
        })
        .collect();
    assert!(
        rejected.is_empty(),
        "{} valid fixtures rejected:\n{}",
        rejected.len(),
        rejected.join("\n")
    );
}

/// The JSON pointer of the field a fixture's name says is wrong, e.g.
/// `caliperEntityAttempt-MalformedCountNotAnInt` -> `/data/0/count`.
fn blamed_path(name: &str) -> String {
    let (_, flaw) = name
        .split_once('-')
        .expect("invalid fixture names say what is wrong after a dash");
    let flaw = ["Malformed", "Malfromed", "Null", "No", "Unknown", "Wrong"]
        .iter()
        .find_map(|prefix| flaw.strip_prefix(prefix))
        .expect("a known flaw prefix");
    let end = [
        "NotA",
        "NotValid",
        "Invalid",
        "Unknown",
        "Wrong",
        "Contain",
        "ListElement",
        "NoValue",
        "NotPresent",
    ]
    .iter()
    .filter_map(|marker| flaw.find(marker).filter(|&at| at > 0))
    .min()
    .unwrap_or(flaw.len());
    let field = &flaw[..end];
    let field = match field {
        "Context" => "@context".to_owned(),
        "EventType" => "type".to_owned(),
        _ => field[..1].to_lowercase() + &field[1..],
    };
    format!("/data/0/{field}")
}

#[test]
fn blamed_paths_read_the_fixture_names() {
    assert_eq!(
        blamed_path("caliperEntityAttempt-MalformedCountNotAnInt"),
        "/data/0/count"
    );
    assert_eq!(
        blamed_path("caliperEntityAggregateMeasure-MalformedMetricValueNotPresent"),
        "/data/0/metricValue"
    );
    assert_eq!(
        blamed_path("caliperEntity-UnknownContext"),
        "/data/0/@context"
    );
    assert_eq!(blamed_path("caliperEvent-NoId"), "/data/0/id");
    assert_eq!(
        blamed_path("caliperEventGrade-WrongAction"),
        "/data/0/action"
    );
    assert_eq!(blamed_path("caliperEvent-UnknownEventType"), "/data/0/type");
}

/// Common-error fixtures that a decision of ours accepts, each with its reason (this crate's README, the decisions).
const ACCEPTED_BY_DECISION: &[(&str, &str)] = &[
    (
        "caliperEntityAssignableDigitalResource-MalformedMaxScoreNotAFloat",
        "`maxScore: 50` is an xsd:decimal: JSON has one number type, the official schema says \"number\", \
         and xsd:integer is derived from xsd:decimal (JavaScript producers cannot write 50.0)",
    ),
    (
        "caliperEntityResult-MalformedAttemptNoValue",
        "an optional property given as null is absent: the IMS Python sensor writes null for every unset property",
    ),
];

#[test]
fn common_errors_accepted_by_a_decision_are_accepted() {
    let invalid = fixtures("fixtures/invalid");
    for (name, reason) in ACCEPTED_BY_DECISION {
        let (_, doc) = invalid
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("the fixture {name} is gone; drop it from the list"));
        assert_eq!(problems(doc), vec![], "{name} is accepted because {reason}");
    }
}

#[test]
fn every_invalid_fixture_is_rejected_at_the_field_it_names() {
    let invalid: Vec<_> = fixtures("fixtures/invalid")
        .into_iter()
        .filter(|(name, _)| ACCEPTED_BY_DECISION.iter().all(|(n, _)| n != name))
        .collect();
    assert!(
        invalid.len() >= 138,
        "expected the spec's invalid fixtures, found {}",
        invalid.len()
    );
    let mut failures = Vec::new();
    for (name, doc) in &invalid {
        let expected = blamed_path(name);
        let found = problems(doc);
        let points =
            |p: &Problem| p.path == expected || p.path.starts_with(&format!("{expected}/"));
        if !found.iter().any(points) {
            failures.push(format!(
                "{name}: expected a problem at {expected}, found {found:#?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} invalid fixtures not rejected as named:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

//! Property tests: random mutations of valid envelopes never panic the validator, and every
//! problem it reports points inside the submitted document (or, for a missing property, at the
//! place where it belongs).

use caliper_validation::{compact_size, parse_json, validate_envelope, Limits, CALIPER_V1P2};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// A valid envelope touching much of the model: a Timeback event, a Caliper event with embedded
/// entities at several depths, and a standalone entity.
fn valid_envelope() -> Value {
    json!({
        "sensor": "https://example.edu/sensors/1",
        "sendTime": "2024-05-01T12:00:00.000Z",
        "dataVersion": CALIPER_V1P2,
        "data": [
            {
                "id": "urn:uuid:1e335f5d-88a4-4ea2-96c9-28faef825354", "type": "ActivityEvent",
                "action": "Completed", "profile": "TimebackProfile",
                "actor": {"id": "https://example.edu/users/1", "type": "TimebackUser", "email": "s@example.edu"},
                "object": {"id": "https://example.edu/activities/1", "type": "TimebackActivityContext",
                           "subject": "Math", "app": {"name": "App"}},
                "eventTime": "2024-05-01T12:00:00Z",
                "generated": {"id": "urn:uuid:2e4fac1b-f8a1-467b-b09e-356aefc73d33",
                              "type": "TimebackActivityMetricsCollection",
                              "items": [{"type": "xpEarned", "value": 10}]}
            },
            {
                "@context": CALIPER_V1P2,
                "id": "urn:uuid:a438f8ac-1da3-4d48-8c86-94a1b387e0f6", "type": "AssessmentEvent",
                "profile": "AssessmentProfile", "action": "Submitted",
                "actor": {"id": "https://example.edu/users/554433", "type": "Person"},
                "object": {"id": "https://example.edu/assess/1", "type": "Assessment", "maxScore": 15.0,
                           "items": [{"id": "https://example.edu/assess/1/items/1", "type": "AssessmentItem"}]},
                "generated": {"id": "https://example.edu/attempts/1", "type": "Attempt", "count": 1,
                              "duration": "PT1H", "assignee": "https://example.edu/users/554433"},
                "eventTime": "2024-05-01T12:00:00.000Z",
                "group": {"id": "https://example.edu/sections/1", "type": "CourseSection",
                          "subOrganizationOf": {"id": "https://example.edu/courses/7", "type": "CourseOffering"}},
                "membership": {"id": "https://example.edu/rosters/1", "type": "Membership",
                               "roles": ["Learner"], "status": "Active"},
                "extensions": {"anything": [1, {"goes": true}]}
            },
            {
                "id": "https://example.edu/users/554433", "type": "Person",
                "otherIdentifiers": [{"type": "SystemIdentifier", "identifier": "x", "identifierType": "LtiUserId"}]
            }
        ]
    })
}

/// Every JSON pointer in a document, the root included.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                pointers(
                    item,
                    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                pointers(item, format!("{at}/{index}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        prop_oneof![
            ".*",
            Just("https://example.edu/x".to_owned()),
            Just("2024-05-01T12:00:00Z".to_owned()),
            Just("Person".to_owned()),
            Just("SoftwareApplication".to_owned()),
            Just("Viewed".to_owned()),
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z@~/]{0,8}|type|id|items", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(Value),
    Remove,
    Add(String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any_json().prop_map(Mutation::Replace),
        Just(Mutation::Remove),
        ("[a-zA-Z@]{1,10}", any_json()).prop_map(|(k, v)| Mutation::Add(k, v)),
    ]
}

/// Applies `mutation` at the `choice`-th pointer of `doc`.
fn mutate(doc: &mut Value, choice: usize, mutation: &Mutation) {
    let mut all = Vec::new();
    pointers(doc, String::new(), &mut all);
    let pointer = &all[choice % all.len()];
    match mutation {
        Mutation::Replace(value) => {
            if let Some(target) = doc.pointer_mut(pointer) {
                *target = value.clone();
            }
        }
        Mutation::Remove => {
            if let Some((parent, last)) = pointer.rsplit_once('/') {
                let key = last.replace("~1", "/").replace("~0", "~");
                match doc.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.remove(&key);
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(i) = key.parse::<usize>() {
                            if i < items.len() {
                                items.remove(i);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Mutation::Add(key, value) => {
            if let Some(Value::Object(map)) = doc.pointer_mut(pointer) {
                map.insert(key.clone(), value.clone());
            }
        }
    }
}

fn parent(pointer: &str) -> &str {
    pointer.rsplit_once('/').map_or("", |(parent, _)| parent)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_envelopes_get_problems_that_point_inside_them(
        steps in prop::collection::vec((any::<usize>(), mutation()), 1..4)
    ) {
        let mut doc = valid_envelope();
        for (choice, mutation) in &steps {
            mutate(&mut doc, *choice, mutation);
        }
        if let Err(problems) = validate_envelope(&doc, &Limits::default()) {
            prop_assert!(!problems.list.is_empty());
            for problem in &problems.list {
                prop_assert!(!problem.message.is_empty());
                let resolves = doc.pointer(&problem.path).is_some();
                let missing_here = problem.message.contains("required")
                    && doc.pointer(parent(&problem.path)).is_some_and(Value::is_object);
                prop_assert!(resolves || missing_here, "{} does not point into the document: {}", problem.path, problem.message);
            }
        }
    }

    #[test]
    fn compact_size_is_the_length_serde_json_writes(doc in any_json()) {
        let written = serde_json::to_string(&doc).map(|s| s.len()).unwrap_or_default();
        prop_assert_eq!(compact_size(&doc), written);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_json(&bytes, &Limits::default());
    }

    #[test]
    fn arbitrary_json_never_panics_the_validator(doc in any_json()) {
        let _ = validate_envelope(&doc, &Limits::default());
        let wrapped = json!({"sensor": "https://example.edu/s", "sendTime": "2024-05-01T12:00:00Z",
                             "dataVersion": CALIPER_V1P2, "data": [doc]});
        let _ = validate_envelope(&wrapped, &Limits::default());
    }
}

#[test]
fn the_unmutated_envelope_is_valid() {
    assert_eq!(
        validate_envelope(&valid_envelope(), &Limits::default()),
        Ok(())
    );
}

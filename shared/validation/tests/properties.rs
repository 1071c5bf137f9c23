//! Property tests: random mutations of valid envelopes never panic the validator, and every
//! problem it reports points inside the submitted document (or, for a missing property, at the
//! place where it belongs).

use caliper_validation::{
    compact_size, parse_json, validate_envelope, Limits, CALIPER_V1P1, CALIPER_V1P2,
};
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

/// A valid Caliper 1.1 envelope as an LMS streams it: a login, a navigation to a deprecated
/// Reading with its Frame, an assignment submission with the course, roster and session embedded,
/// and a media event with no `@context`.
fn valid_v1p1_envelope() -> Value {
    let person = json!({"id": "https://lms.example.edu/users/42", "type": "Person", "name": "Ann"});
    let section = json!({"id": "https://lms.example.edu/courses/7/sections/1", "type": "CourseSection",
                         "courseNumber": "CPS 435-01", "academicSession": "Fall 2018",
                         "subOrganizationOf": {"id": "https://lms.example.edu/courses/7", "type": "CourseOffering"}});
    json!({
        "sensor": "https://lms.example.edu/sensors/1",
        "sendTime": "2018-11-15T10:15:00.000Z",
        "dataVersion": CALIPER_V1P1,
        "data": [
            {
                "@context": CALIPER_V1P1,
                "id": "urn:uuid:fcd495d0-3740-4298-9bec-1154571dc211", "type": "SessionEvent",
                "actor": person, "action": "LoggedIn",
                "object": {"id": "https://lms.example.edu", "type": "SoftwareApplication", "version": "v2"},
                "eventTime": "2018-11-15T10:15:00.000Z", "edApp": "https://lms.example.edu",
                "session": {"id": "https://lms.example.edu/sessions/1", "type": "Session",
                            "user": "https://lms.example.edu/users/42", "startedAtTime": "2018-11-15T10:00:00.000Z"}
            },
            {
                "@context": CALIPER_V1P1,
                "id": "urn:uuid:ff9ec22a-fc59-4ae1-ae8d-2c9463ee2f8f", "type": "NavigationEvent",
                "actor": "https://lms.example.edu/users/42", "action": "NavigatedTo",
                "object": {"id": "https://lms.example.edu/readings/1", "type": "Reading", "name": "Chapter 1",
                           "isPartOf": "https://lms.example.edu/courses/7"},
                "target": {"id": "https://lms.example.edu/readings/1#page=2", "type": "Frame", "index": 2},
                "referrer": {"id": "https://lms.example.edu/courses/7/pages/1", "type": "WebPage"},
                "eventTime": "2018-11-15T10:16:00.000Z", "group": section
            },
            {
                "@context": CALIPER_V1P1,
                "id": "urn:uuid:7e10e4f3-a0d8-4430-95bd-783ffae4d916", "type": "AssignableEvent",
                "actor": person, "action": "Submitted",
                "object": {"id": "https://lms.example.edu/assignments/3", "type": "AssignableDigitalResource",
                           "maxScore": 10, "maxAttempts": 2, "dateToSubmit": "2018-11-20T11:59:59.000Z"},
                "generated": {"id": "https://lms.example.edu/assignments/3/attempts/1", "type": "Attempt",
                              "assignee": "https://lms.example.edu/users/42", "count": 1},
                "eventTime": "2018-11-15T10:20:00.000+0000",
                "membership": {"id": "https://lms.example.edu/rosters/1", "type": "Membership",
                               "member": "https://lms.example.edu/users/42", "organization": section["id"],
                               "roles": ["Learner"], "status": "Active"},
                "federatedSession": null, "extensions": {"lms": {"request_id": "abc"}}
            },
            {
                "id": "urn:uuid:956b4a02-8de0-4991-b8c5-b6eebb6b4cab", "type": "MediaEvent",
                "actor": person, "action": "Paused",
                "object": {"id": "https://lms.example.edu/videos/1", "type": "VideoObject", "duration": "PT20M"},
                "target": {"id": "https://lms.example.edu/videos/1#t=30", "type": "MediaLocation", "currentTime": "PT30S"},
                "eventTime": "2018-11-15T10:25:00.000Z"
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

/// `doc` mutated by `steps`: every problem found has a message and points into it (or, for a
/// missing property, at the object it belongs in).
fn problems_point_inside(mut doc: Value, steps: &[(usize, Mutation)]) -> Result<(), TestCaseError> {
    for (choice, mutation) in steps {
        mutate(&mut doc, *choice, mutation);
    }
    if let Err(problems) = validate_envelope(&doc, &Limits::default()) {
        prop_assert!(!problems.list.is_empty());
        for problem in &problems.list {
            prop_assert!(!problem.message.is_empty());
            let resolves = doc.pointer(&problem.path).is_some();
            let missing_here = problem.message.contains("required")
                && doc
                    .pointer(parent(&problem.path))
                    .is_some_and(Value::is_object);
            prop_assert!(
                resolves || missing_here,
                "{} does not point into the document: {}",
                problem.path,
                problem.message
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_envelopes_get_problems_that_point_inside_them(
        steps in prop::collection::vec((any::<usize>(), mutation()), 1..4)
    ) {
        problems_point_inside(valid_envelope(), &steps)?;
    }

    #[test]
    fn mutated_v1p1_envelopes_get_problems_that_point_inside_them(
        steps in prop::collection::vec((any::<usize>(), mutation()), 1..4)
    ) {
        problems_point_inside(valid_v1p1_envelope(), &steps)?;
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
        for version in [CALIPER_V1P2, CALIPER_V1P1] {
            let wrapped = json!({"sensor": "https://example.edu/s", "sendTime": "2024-05-01T12:00:00Z",
                                 "dataVersion": version, "data": [doc.clone()]});
            let _ = validate_envelope(&wrapped, &Limits::default());
        }
    }
}

#[test]
fn the_unmutated_envelopes_are_valid() {
    assert_eq!(
        validate_envelope(&valid_envelope(), &Limits::default()),
        Ok(())
    );
    assert_eq!(
        validate_envelope(&valid_v1p1_envelope(), &Limits::default()),
        Ok(())
    );
}

#[test]
fn the_v1p1_envelope_is_not_a_v1p2_one() {
    let mut doc = valid_v1p1_envelope();
    doc["dataVersion"] = json!(CALIPER_V1P2);
    let problems = validate_envelope(&doc, &Limits::default())
        .err()
        .unwrap_or_default();
    let paths: Vec<&str> = problems.list.iter().map(|p| p.path.as_str()).collect();
    // Three items say they are 1.1; the deprecated Reading is gone from 1.2.
    for path in [
        "/data/0/@context",
        "/data/1/@context",
        "/data/1/object/type",
        "/data/2/@context",
    ] {
        assert!(paths.contains(&path), "{path} in {paths:?}");
    }
}

use serde_json::{json, Value};

use super::*;

fn envelope(data: Value) -> Value {
    json!({
        "sensor": "https://example.edu/sensors/1",
        "sendTime": "2024-05-01T12:00:00.000Z",
        "dataVersion": CALIPER_V1P2,
        "data": data,
    })
}

fn tool_use_event() -> Value {
    json!({
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "id": "urn:uuid:7e10e4f3-a0d8-4430-95bd-783ffae4d916",
        "type": "ToolUseEvent",
        "profile": "ToolUseProfile",
        "actor": {"id": "https://example.edu/users/554433", "type": "Person"},
        "action": "Used",
        "object": {"id": "https://example.edu", "type": "SoftwareApplication"},
        "eventTime": "2016-11-15T10:15:00.000Z",
        "edApp": "https://example.edu",
        "group": {"id": "https://example.edu/terms/201601/courses/7/sections/1", "type": "CourseSection",
                  "extensions": {"courseNumber": "CPS 435-01"}}
    })
}

fn problems_of(doc: &Value) -> Vec<Problem> {
    validate_envelope(doc, &Limits::default())
        .err()
        .map(|p| p.list)
        .unwrap_or_default()
}

fn paths_of(doc: &Value) -> Vec<String> {
    problems_of(doc).into_iter().map(|p| p.path).collect()
}

#[test]
fn accepts_a_tool_use_event() {
    assert_eq!(problems_of(&envelope(json!([tool_use_event()]))), vec![]);
}

#[test]
fn accepts_a_base_event_without_profile_and_a_plain_entity() {
    let doc = envelope(json!([
        {"id": "urn:uuid:c51570e4-f8ed-4c18-bb3a-dfe51b2cc594", "type": "Event",
         "actor": "https://example.edu/users/554433", "action": "Created",
         "object": "https://example.edu/terms/201801/courses/7/sections/1/assignments/1",
         "eventTime": "2023-08-15T14:12:00.000Z"},
        {"id": "https://example.edu/users/554433", "type": "Person", "name": "Ann"}
    ]));
    assert_eq!(problems_of(&doc), vec![]);
}

#[test]
fn profile_is_required_beyond_the_base_event() {
    let mut event = tool_use_event();
    event.as_object_mut().map(|o| o.remove("profile"));
    let problems = problems_of(&envelope(json!([event])));
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "/data/0/profile");
    assert!(
        problems[0].message.contains("required"),
        "{}",
        problems[0].message
    );
}

#[test]
fn reports_every_problem_with_a_pointer() {
    let mut event = tool_use_event();
    event["eventTime"] = json!("yesterday");
    event["id"] = json!("not-a-uuid");
    event["profile"] = json!("MadeUpProfile");
    event["colour"] = json!("blue");
    event["actor"] = json!(42);
    let doc = json!({"sensor": "not an iri", "dataVersion": "1.1", "data": [event]});
    let problems = problems_of(&doc);
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "/data/0/actor",
            "/data/0/colour",
            "/data/0/eventTime",
            "/data/0/id",
            "/data/0/profile",
            "/dataVersion",
            "/sendTime",
            "/sensor"
        ]
    );
    let message_at = |path: &str| {
        problems
            .iter()
            .find(|p| p.path == path)
            .map(|p| p.message.clone())
            .unwrap_or_default()
    };
    assert!(message_at("/data/0/eventTime").contains("\"yesterday\""));
    assert!(message_at("/data/0/eventTime").contains("ISO 8601"));
    assert!(message_at("/data/0/profile").contains("\"ToolUseProfile\""));
    assert!(message_at("/data/0/colour").contains("extensions"));
    assert!(message_at("/data/0/actor").contains("found 42"));
    assert!(message_at("/sendTime").contains("required"));
    assert!(message_at("/dataVersion").contains("http://purl.imsglobal.org/ctx/caliper/v1p2"));
}

#[test]
fn envelope_shape_errors() {
    assert_eq!(paths_of(&json!([])), vec![""]);
    assert_eq!(paths_of(&envelope(json!([]))), vec!["/data"]);
    assert_eq!(paths_of(&envelope(json!("events"))), vec!["/data"]);
    assert_eq!(paths_of(&envelope(json!([7]))), vec!["/data/0"]);
    let mut doc = envelope(json!([tool_use_event()]));
    doc["extra"] = json!(1);
    assert_eq!(paths_of(&doc), vec!["/extra"]);
}

#[test]
fn embedded_entities_need_an_iri_id_and_a_type() {
    let mut event = tool_use_event();
    event["object"] = json!({"id": "relative/path", "name": "x"});
    event["target"] = json!("not an iri");
    assert_eq!(
        paths_of(&envelope(json!([event]))),
        vec!["/data/0/object/id", "/data/0/object/type", "/data/0/target"]
    );
}

#[test]
fn pointers_escape_slashes_and_tildes() {
    let mut event = tool_use_event();
    event["a/b~c"] = json!(1);
    assert_eq!(paths_of(&envelope(json!([event]))), vec!["/data/0/a~1b~0c"]);
}

#[test]
fn too_many_items_and_too_large_items() {
    let limits = Limits {
        max_items: 2,
        max_item_bytes: 600,
        ..Limits::default()
    };
    let mut big = tool_use_event();
    big["extensions"] = json!({"blob": "x".repeat(1000)});
    let doc = envelope(json!([tool_use_event(), big, tool_use_event()]));
    let paths: Vec<String> = validate_envelope(&doc, &limits)
        .err()
        .map(|p| p.list)
        .unwrap_or_default()
        .into_iter()
        .map(|p| p.path)
        .collect();
    assert_eq!(paths, vec!["/data", "/data/1"]);
}

#[test]
fn the_list_is_capped_and_says_so() {
    let bad: Vec<Value> = (0..150).map(|_| json!({"type": "ToolUseEvent"})).collect();
    let problems = validate_envelope(&envelope(json!(bad)), &Limits::default())
        .err()
        .unwrap_or_default();
    assert_eq!(problems.list.len(), Problems::CAP);
    assert!(problems.capped);
    assert!(problems.summary().contains("left out"));
}

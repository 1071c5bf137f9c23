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
fn profile_is_optional_and_checked_when_given() {
    let mut event = tool_use_event();
    event.as_object_mut().map(|o| o.remove("profile"));
    assert_eq!(
        problems_of_event(event.clone()),
        vec![],
        "1.2 made it optional"
    );
    event["profile"] = json!(null);
    assert_eq!(problems_of_event(event.clone()), vec![], "null is absent");
    event["profile"] = json!("MediaProfile");
    let problems = problems_of_event(event);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].0, "/data/0/profile");
    assert!(
        problems[0].1.contains("does not define a ToolUseEvent"),
        "{}",
        problems[0].1
    );
}

#[test]
fn optional_properties_given_as_null_are_absent_and_required_ones_missing() {
    let mut event = tool_use_event();
    for key in [
        "target",
        "generated",
        "referrer",
        "group",
        "membership",
        "session",
        "federatedSession",
        "extensions",
        "@context",
    ] {
        event[key] = json!(null);
    }
    event["object"]["name"] = json!(null);
    event["object"]["version"] = json!(null);
    assert_eq!(problems_of_event(event.clone()), vec![]);

    event["eventTime"] = json!(null);
    event["actor"]["id"] = json!(null);
    event["colour"] = json!(null);
    let problems = problems_of_event(event);
    let paths: Vec<&str> = problems.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        paths,
        ["/data/0/actor/id", "/data/0/colour", "/data/0/eventTime"]
    );
    assert!(problems[0].1.contains("required"), "{}", problems[0].1);
    assert!(
        problems[1].1.contains("not a property"),
        "unknown stays unknown: {}",
        problems[1].1
    );
    assert!(problems[2].1.contains("required"), "{}", problems[2].1);
}

#[test]
fn offsets_without_a_colon_are_zones() {
    let mut event = tool_use_event();
    event["eventTime"] = json!("2016-11-15T10:15:00.000+0000");
    assert_eq!(problems_of_event(event.clone()), vec![]);
    event["eventTime"] = json!("2016-11-15T10:15:00.000");
    assert_eq!(only_path(event), "/data/0/eventTime");
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

/// What the official Timeback client's `create_activity_event` builds.
fn timeback_activity_event() -> Value {
    json!({
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "id": "urn:uuid:1e335f5d-88a4-4ea2-96c9-28faef825354",
        "type": "ActivityEvent",
        "action": "Completed",
        "profile": "TimebackProfile",
        "actor": {"id": "https://example.edu/users/1", "type": "TimebackUser",
                  "email": "s@example.edu", "name": "S", "role": "student"},
        "object": {"id": "https://example.edu/activities/1", "type": "TimebackActivityContext",
                   "subject": "Math", "app": {"id": "https://example.edu/app", "name": "App"},
                   "course": {"name": "Alg"}, "activity": {"name": "Quiz"}, "process": true},
        "eventTime": "2026-11-22T22:14:18.218640Z",
        "generated": {"id": "urn:uuid:2e4fac1b-f8a1-467b-b09e-356aefc73d33",
                      "type": "TimebackActivityMetricsCollection",
                      "items": [{"type": "xpEarned", "value": 10}], "attempt": 2,
                      "extensions": {"b": 2}},
        "extensions": {"a": 1}
    })
}

fn problems_of_event(event: Value) -> Vec<(String, String)> {
    problems_of(&envelope(json!([event])))
        .into_iter()
        .map(|p| (p.path, p.message))
        .collect()
}

fn only_path(event: Value) -> String {
    let problems = problems_of_event(event);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    problems[0].0.clone()
}

#[test]
fn timeback_events_as_the_official_client_builds_them() {
    assert_eq!(problems_of_event(timeback_activity_event()), vec![]);
    let mut alias = timeback_activity_event();
    alias["type"] = json!("TimebackActivityEvent");
    assert_eq!(problems_of_event(alias), vec![]);

    let mut extra = timeback_activity_event();
    extra["actor"]["grade"] = json!(7);
    extra["object"]["app"]["version"] = json!("2.1");
    assert_eq!(problems_of_event(extra), vec![], "Timeback types are open");

    let time_spent = json!({
        "id": "urn:uuid:f9c4ad46-94a0-40c5-8d31-e627f5d77dd8", "type": "TimeSpentEvent",
        "action": "SpentTime", "profile": "TimebackProfile",
        "actor": {"id": "https://example.edu/users/1", "type": "TimebackUser", "email": "s@example.edu"},
        "object": {"id": "https://example.edu/activities/1", "type": "TimebackActivityContext",
                   "subject": "Reading", "app": {"name": "App"}},
        "eventTime": "2026-11-22T22:14:18Z",
        "generated": {"id": "urn:uuid:b45059ed-9521-4fa2-8547-a0dcbedf9c1d",
                      "type": "TimebackTimeSpentMetricsCollection",
                      "items": [{"type": "active", "value": 30.5, "subType": "x",
                                 "startDate": "2024-01-01T00:00:00Z"}]}
    });
    assert_eq!(problems_of_event(time_spent.clone()), vec![]);
    let mut negative = time_spent;
    negative["generated"]["items"][0]["value"] = json!(-1);
    assert_eq!(only_path(negative), "/data/0/generated/items/0/value");
}

#[test]
fn timeback_mistakes_are_pointed_at() {
    let with = |edit: fn(&mut Value)| {
        let mut event = timeback_activity_event();
        edit(&mut event);
        problems_of_event(event)
    };
    let subject = with(|e| e["object"]["subject"] = json!("Maths"));
    assert_eq!(subject.len(), 1);
    assert_eq!(subject[0].0, "/data/0/object/subject");
    assert!(
        subject[0].1.contains("\"Math\"") && subject[0].1.contains("found \"Maths\""),
        "{}",
        subject[0].1
    );

    let metric = with(|e| e["generated"]["items"][0]["type"] = json!("xp"));
    assert_eq!(metric[0].0, "/data/0/generated/items/0/type");
    assert!(metric[0].1.contains("\"xpEarned\""));

    let action = with(|e| e["action"] = json!("SpentTime"));
    assert_eq!(action[0].0, "/data/0/action");
    assert!(
        action[0].1.contains("expected \"Completed\""),
        "{}",
        action[0].1
    );

    let email = with(|e| {
        e["actor"].as_object_mut().map(|a| a.remove("email"));
    });
    assert_eq!(email[0].0, "/data/0/actor/email");

    let generated = with(|e| {
        e.as_object_mut().map(|a| a.remove("generated"));
    });
    assert_eq!(generated[0].0, "/data/0/generated");

    let attempt = with(|e| e["generated"]["attempt"] = json!(0));
    assert_eq!(attempt[0].0, "/data/0/generated/attempt");

    let actor = with(|e| e["actor"]["type"] = json!("Person"));
    let at_type = actor
        .iter()
        .find(|p| p.0 == "/data/0/actor/type")
        .expect("the actor's type is blamed");
    assert!(at_type.1.contains("TimebackUser"), "{}", at_type.1);
}

#[test]
fn profiles_must_define_the_event_type() {
    let mut event = tool_use_event();
    event["profile"] = json!("AnnotationProfile");
    let problems = problems_of_event(event);
    assert_eq!(problems[0].0, "/data/0/profile");
    assert!(
        problems[0].1.contains("\"ToolUseProfile\""),
        "{}",
        problems[0].1
    );

    let mut general = tool_use_event();
    general["profile"] = json!("GeneralProfile");
    assert_eq!(
        problems_of_event(general),
        vec![],
        "the General profile admits every type"
    );
}

#[test]
fn actions_and_roles_follow_the_event_type() {
    let mut event = tool_use_event();
    event["action"] = json!("Viewed");
    let problems = problems_of_event(event);
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .1
            .contains("not allowed for a ToolUseEvent; expected \"Used\""),
        "{}",
        problems[0].1
    );

    let mut object = tool_use_event();
    object["object"] = json!({"id": "https://example.edu/users/1", "type": "Person"});
    assert_eq!(only_path(object), "/data/0/object/type");

    let mut subtype = tool_use_event();
    subtype["actor"] =
        json!({"id": "https://example.edu/users/1", "type": "TimebackUser", "email": "a@b.c"});
    assert_eq!(
        problems_of_event(subtype),
        vec![],
        "a subtype stands in for its supertype"
    );
}

#[test]
fn any_json_number_is_a_decimal_and_nothing_else_is() {
    let mut quiz =
        json!({"id": "https://example.edu/quiz/1", "type": "Assessment", "maxScore": 50});
    assert_eq!(
        problems_of(&envelope(json!([quiz.clone()]))),
        vec![],
        "a JavaScript 50.0"
    );
    quiz["maxScore"] = json!(50.5);
    assert_eq!(problems_of(&envelope(json!([quiz.clone()]))), vec![]);
    quiz["maxScore"] = json!("50");
    let problems = problems_of(&envelope(json!([quiz])));
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "/data/0/maxScore");
    assert!(
        problems[0].message.contains("a number, found \"50\""),
        "{}",
        problems[0].message
    );
}

#[test]
fn tool_use_measures_may_name_their_own_metrics_as_the_api_documents() {
    let measure = json!({"id": "https://example.edu/m/1", "type": "AggregateMeasure",
                         "metric": "Facts Learnt", "metricValue": 2});
    let mut event = tool_use_event();
    event["generated"] = json!({"id": "https://example.edu/m", "type": "AggregateMeasureCollection",
                                "items": [measure.clone()]});
    assert_eq!(problems_of_event(event.clone()), vec![]);

    event["generated"]["items"][0]["metric"] = json!("");
    assert_eq!(only_path(event), "/data/0/generated/items/0/metric");

    let problems = problems_of(&envelope(json!([measure])));
    assert_eq!(problems.len(), 1, "elsewhere metrics are Caliper's terms");
    assert_eq!(problems[0].path, "/data/0/metric");
    assert!(problems[0].message.contains("\"UnitsCompleted\""));
}

#[test]
fn contexts_put_caliper_last() {
    let mut event = tool_use_event();
    event["@context"] =
        json!(["http://purl.imsglobal.org/ctx/caliper/v1p2", {"q": "http://schema.org/query"}]);
    assert_eq!(only_path(event.clone()), "/data/0/@context");
    event["@context"] =
        json!([{"q": "http://schema.org/query"}, "http://purl.imsglobal.org/ctx/caliper/v1p2"]);
    assert_eq!(problems_of_event(event.clone()), vec![]);
    event["@context"] = json!("http://purl.imsglobal.org/ctx/caliper/v1p1");
    let problems = problems_of_event(event);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].0, "/data/0/@context");
    assert!(
        problems[0].1.contains("Caliper 1.1")
            && problems[0].1.contains("dataVersion is Caliper 1.2"),
        "the other version's context is told apart: {}",
        problems[0].1
    );

    // Nested contexts are local and additive: any context IRI or inline object, not free text.
    let mut nested = tool_use_event();
    nested["object"]["@context"] = json!(["http://schema.org/", {"q": "http://schema.org/query"}]);
    assert_eq!(problems_of_event(nested.clone()), vec![]);
    nested["object"]["@context"] = json!(["not a context"]);
    assert_eq!(only_path(nested), "/data/0/object/@context/0");
}

#[test]
fn a_type_of_another_named_context_stands_where_any_entity_may() {
    let mut event = tool_use_event();
    event["type"] = json!("Event");
    event["action"] = json!("Submitted");
    event.as_object_mut().map(|e| e.remove("profile"));
    event["object"] = json!({"id": "https://example.edu/theses/1", "type": "Thesis",
                             "inSupportOf": "Doctor of Philosophy"});
    assert_eq!(
        only_path(event.clone()),
        "/data/0/object/type",
        "Caliper's context alone"
    );
    event["@context"] = json!([
        "https://schema.org/docs/jsonldcontext.json",
        "http://purl.imsglobal.org/ctx/caliper/v1p2"
    ]);
    assert_eq!(
        problems_of_event(event.clone()),
        vec![],
        "schema.org defines Thesis"
    );
    event["object"]["id"] = json!("not an iri");
    assert_eq!(
        only_path(event.clone()),
        "/data/0/object/id",
        "an entity still needs an IRI"
    );
    event["object"]["id"] = json!("https://example.edu/theses/1");
    event["actor"] = json!({"id": "https://example.edu/users/1", "type": "Student"});
    assert_eq!(
        only_path(event.clone()),
        "/data/0/actor/type",
        "where Caliper fixes the range"
    );
    event["actor"] =
        json!({"id": "https://example.edu/users/1", "type": "Person", "colour": "red"});
    assert_eq!(
        only_path(event),
        "/data/0/actor/colour",
        "Caliper's own types stay strict"
    );
}

#[test]
fn unknown_types_and_properties_are_named() {
    let mut event = tool_use_event();
    event["group"] = json!({"id": "https://example.edu/g/1", "type": "Clique"});
    let problems = problems_of_event(event);
    assert_eq!(problems[0].0, "/data/0/group/type");
    assert!(problems[0].1.contains("unknown entity type \"Clique\""));

    let mut nested = tool_use_event();
    nested["group"]["colour"] = json!("red");
    let problems = problems_of_event(nested);
    assert_eq!(problems[0].0, "/data/0/group/colour");
    assert!(problems[0].1.contains(
        "not a property of a CourseSection in Caliper 1.2; put custom data in `extensions`"
    ));

    let mut as_entity = tool_use_event();
    as_entity["object"] = json!({"id": "https://example.edu/e/1", "type": "ViewEvent"});
    assert!(problems_of_event(as_entity)[0]
        .1
        .contains("found the event type \"ViewEvent\""));

    let mut unknown = tool_use_event();
    unknown["type"] = json!("LikedEvent");
    assert_eq!(only_path(unknown), "/data/0/type");
}

#[test]
fn long_strings_are_refused_where_they_are() {
    let limits = Limits {
        max_string_bytes: 100,
        ..Limits::default()
    };
    let mut event = tool_use_event();
    event["extensions"] = json!({"note": "x".repeat(101), "ok": "y".repeat(100)});
    let problems = validate_envelope(&envelope(json!([event])), &limits)
        .err()
        .unwrap_or_default()
        .list;
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, vec!["/data/0/extensions/note"]);
    assert!(problems[0].message.contains("101 bytes"));
}

#[test]
fn an_unsupported_data_version_is_told_apart() {
    let mut doc = envelope(json!([tool_use_event()]));
    assert_eq!(unsupported_version(&doc), None);
    doc["dataVersion"] = json!(CALIPER_V1P1);
    assert_eq!(unsupported_version(&doc), None);
    doc["dataVersion"] = json!("http://purl.imsglobal.org/ctx/caliper/v1p0");
    let problem = unsupported_version(&doc).expect("v1p0 is not supported");
    assert_eq!(problem.path, "/dataVersion");
    assert!(problem.message.contains("v1p0"));
    assert!(problem.message.contains("(1.2)") && problem.message.contains("(1.1)"));
    doc["dataVersion"] = json!(2);
    assert_eq!(
        unsupported_version(&doc),
        None,
        "a wrong type is an ordinary problem"
    );
}

#[test]
fn entities_may_be_named_by_blank_nodes_and_events_may_not() {
    let mut event = tool_use_event();
    event["actor"]["id"] = json!("_:learner");
    event["object"] = json!("_:tool");
    event["group"]["id"] = json!("_:MediaLocation");
    assert_eq!(problems_of_event(event.clone()), vec![]);

    event["id"] = json!("_:event");
    event["actor"]["id"] = json!("_:");
    let problems = problems_of_event(event);
    let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["/data/0/actor/id", "/data/0/id"], "{problems:?}");
    assert!(
        problems[0].1.contains("blank node identifier"),
        "{}",
        problems[0].1
    );
}

fn v1p2_event(event_type: &str, action: &str, object: Value) -> Value {
    json!({
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "id": "urn:uuid:7e10e4f3-a0d8-4430-95bd-783ffae4d916",
        "type": event_type,
        "actor": {"id": "https://example.edu/users/554433", "type": "Person"},
        "action": action,
        "object": object,
        "eventTime": "2024-05-01T12:00:00.000Z"
    })
}

#[test]
fn feedback_is_given_on_a_frame() {
    let reading = json!({"id": "https://example.edu/reading/1", "type": "Document"});
    let mut event = v1p2_event("FeedbackEvent", "Commented", reading);
    event["target"] =
        json!({"id": "https://example.edu/reading/1#p2", "type": "Frame", "index": 2});
    assert_eq!(problems_of_event(event.clone()), vec![]);
    event["target"] = json!({"id": "https://example.edu/reading/1", "type": "Document"});
    assert_eq!(only_path(event), "/data/0/target/type");
}

#[test]
fn a_tool_launch_generates_a_resource_and_a_launch_names_its_lti_session() {
    let tool = json!({"id": "https://tool.example.com", "type": "SoftwareApplication"});
    let session = json!({"id": "https://lms.example.edu/lti/sessions/1", "type": "LtiSession"});
    let mut launched = v1p2_event("ToolLaunchEvent", "Launched", tool.clone());
    launched["federatedSession"] = session;
    launched["generated"] = json!({"id": "https://tool.example.com/page/1", "type": "WebPage"});
    assert_eq!(problems_of_event(launched.clone()), vec![]);

    launched["generated"] = json!({"id": "https://example.edu/users/1", "type": "Person"});
    assert_eq!(only_path(launched.clone()), "/data/0/generated/type");

    launched.as_object_mut().map(|o| o.remove("generated"));
    launched["federatedSession"] = Value::Null;
    let problems = problems_of_event(launched);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, "/data/0/federatedSession");
    assert!(
        problems[0].1.contains("its action Launched requires it"),
        "{}",
        problems[0].1
    );

    let returned = v1p2_event("ToolLaunchEvent", "Returned", tool);
    assert_eq!(
        problems_of_event(returned),
        vec![],
        "only a launch names its session"
    );
}

#[test]
fn an_array_of_envelopes_is_checked_envelope_by_envelope() {
    let good = envelope(json!([tool_use_event()]));
    let mut bad = envelope(json!([tool_use_event()]));
    bad["data"][0]["actor"] = json!(7);
    let body = json!([good.clone(), bad, good.clone()]);
    let problems = validate_body(&body, &Limits::default()).expect_err("the second is invalid");
    let paths: Vec<&str> = problems.list.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["/1/data/0/actor"]);
    assert_eq!(
        validate_body(&json!([good.clone(), good.clone()]), &Limits::default()),
        Ok(())
    );
    assert_eq!(
        validate_body(&good, &Limits::default()),
        Ok(()),
        "one envelope as before"
    );

    let empty = validate_body(&json!([]), &Limits::default()).expect_err("an empty array");
    assert_eq!(empty.list[0].path, "");

    let limits = Limits {
        max_items: 1,
        ..Limits::default()
    };
    let together =
        validate_body(&json!([good.clone(), good.clone()]), &limits).expect_err("two items");
    assert!(
        together.list[0]
            .message
            .contains("at most 1 items in all the envelopes"),
        "{:?}",
        together.list
    );

    let mut other = good.clone();
    other["dataVersion"] = json!("http://purl.imsglobal.org/ctx/caliper/v1p0");
    let unsupported = unsupported_version_in(&json!([good, other])).expect("the second's version");
    assert_eq!(unsupported.path, "/1/dataVersion");
}

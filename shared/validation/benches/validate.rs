//! Validation throughput against the baseline of parsing the same bytes with serde_json alone.
//! Run: `cargo bench -p caliper-validation --bench validate`. The figure that matters is the ratio
//! `parse + validate` / `parse only`, measured in the same run (shared/load/README.md, "Performance").

use caliper_validation::{parse_json, validate_envelope, Limits};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};

fn urn(n: usize) -> String {
    format!("urn:uuid:00000000-0000-4000-8000-{n:012}")
}

/// What the official client's `send_activity` produces, 100 times.
fn timeback_envelope() -> Value {
    let events: Vec<Value> = (0..100)
        .map(|n| {
            json!({
                "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
                "id": urn(n),
                "type": "ActivityEvent",
                "profile": "TimebackProfile",
                "eventTime": "2025-01-15T10:30:00.000Z",
                "actor": {"id": format!("https://api.example.com/users/{n}"), "type": "TimebackUser",
                          "email": "student@example.edu", "role": "student"},
                "action": "Completed",
                "object": {"id": "https://myapp.example.com/activities/lesson-1", "type": "TimebackActivityContext",
                           "subject": "Math", "app": {"name": "My Learning App"}, "course": {"name": "Algebra 101"}},
                "generated": {"id": format!("https://myapp.example.com/metrics/{n}"), "type": "TimebackActivityMetricsCollection",
                              "attempt": 1,
                              "items": [{"type": "totalQuestions", "value": 10}, {"type": "correctQuestions", "value": 8},
                                        {"type": "xpEarned", "value": 150}]},
                "edApp": {"id": "https://myapp.example.com", "type": "SoftwareApplication"}
            })
        })
        .collect();
    envelope(events)
}

/// A mix of spec events: tool use, annotation, media, navigation, assessment.
fn mixed_envelope() -> Value {
    let events: Vec<Value> = (0..100)
        .map(|n| match n % 5 {
            0 => json!({"id": urn(n), "type": "ToolUseEvent", "profile": "ToolUseProfile", "action": "Used",
                        "actor": {"id": "https://example.edu/users/554433", "type": "Person"},
                        "object": {"id": "https://example.edu", "type": "SoftwareApplication"},
                        "eventTime": "2016-11-15T10:15:00.000Z", "edApp": "https://example.edu"}),
            1 => json!({"id": urn(n), "type": "AnnotationEvent", "profile": "AnnotationProfile", "action": "Highlighted",
                        "actor": {"id": "https://example.edu/users/554433", "type": "Person"},
                        "object": {"id": "https://example.edu/resources/1", "type": "DigitalResource"},
                        "generated": {"id": "https://example.edu/annotations/1", "type": "HighlightAnnotation",
                                      "selection": {"type": "TextPositionSelector", "start": 412, "end": 795}},
                        "eventTime": "2023-08-01T06:00:00.000Z"}),
            3 => json!({"id": urn(n), "type": "MediaEvent", "profile": "MediaProfile", "action": "Paused",
                        "actor": "https://example.edu/users/554433",
                        "object": {"id": "https://example.edu/videos/1225", "type": "VideoObject", "duration": "PT1H12M27S"},
                        "target": {"id": "https://example.edu/videos/1225#t=1200", "type": "MediaLocation", "currentTime": "PT20M"},
                        "eventTime": "2016-11-15T10:15:00.000Z",
                        "membership": {"id": "https://example.edu/rosters/1", "type": "Membership",
                                       "member": "https://example.edu/users/554433", "roles": ["Learner"], "status": "Active"}}),
            4 => json!({"id": urn(n), "type": "NavigationEvent", "profile": "ReadingProfile", "action": "NavigatedTo",
                        "actor": {"id": "https://example.edu/users/554433", "type": "Person"},
                        "object": {"id": "https://example.edu/etexts/201", "type": "Document", "name": "Caliper", "version": "1.2"},
                        "referrer": {"id": "https://example.edu/pages/1", "type": "WebPage"},
                        "eventTime": "2016-11-15T10:15:00.000Z",
                        "group": {"id": "https://example.edu/sections/1", "type": "CourseSection", "courseNumber": "CPS 435-01"}}),
            _ => json!({"id": urn(n), "type": "AssessmentEvent", "profile": "AssessmentProfile", "action": "Started",
                        "actor": {"id": "https://example.edu/users/554433", "type": "Person"},
                        "object": {"id": "https://example.edu/assess/1", "type": "Assessment", "name": "Quiz"},
                        "generated": {"id": "https://example.edu/assess/1/attempts/1", "type": "Attempt", "count": 1},
                        "eventTime": "2016-11-15T10:15:00.000Z",
                        "session": {"id": "https://example.edu/sessions/1", "type": "Session"}}),
        })
        .collect();
    envelope(events)
}

/// What an LMS streams in Caliper 1.1: navigation, submissions, posts, grades and logins, each
/// with the course section, roster entry, session and application embedded.
fn lms_v1p1_envelope() -> Value {
    const V1P1: &str = "http://purl.imsglobal.org/ctx/caliper/v1p1";
    let events: Vec<Value> = (0..100)
        .map(|n| {
            let user = format!("https://lms.example.edu/users/{}", n % 17);
            let context = json!({
                "edApp": {"id": "https://lms.example.edu", "type": "SoftwareApplication", "version": "2018.11"},
                "group": {"id": "https://lms.example.edu/courses/7/sections/1", "type": "CourseSection",
                          "courseNumber": "CPS 435-01", "academicSession": "Fall 2018",
                          "subOrganizationOf": {"id": "https://lms.example.edu/courses/7", "type": "CourseOffering"}},
                "membership": {"id": format!("https://lms.example.edu/rosters/1/{n}"), "type": "Membership",
                               "member": user, "organization": "https://lms.example.edu/courses/7/sections/1",
                               "roles": ["Learner"], "status": "Active"},
                "session": {"id": format!("https://lms.example.edu/sessions/{}", n % 17), "type": "Session",
                            "startedAtTime": "2018-11-15T10:00:00.000Z"},
            });
            let mut event = match n % 5 {
                0 => json!({"type": "NavigationEvent", "action": "NavigatedTo",
                            "object": {"id": format!("https://lms.example.edu/courses/7/pages/{n}"), "type": "WebPage",
                                       "name": "Syllabus", "isPartOf": "https://lms.example.edu/courses/7"},
                            "referrer": {"id": "https://lms.example.edu/courses/7", "type": "WebPage"}}),
                1 => json!({"type": "AssignableEvent", "action": "Submitted",
                            "object": {"id": "https://lms.example.edu/assignments/3", "type": "AssignableDigitalResource",
                                       "name": "Essay", "maxScore": 10, "maxAttempts": 2, "dateToSubmit": "2018-11-20T23:59:59.000Z"},
                            "generated": {"id": format!("https://lms.example.edu/assignments/3/attempts/{n}"), "type": "Attempt",
                                          "assignee": user, "count": 1, "startedAtTime": "2018-11-15T10:05:00.000Z"}}),
                2 => json!({"type": "MessageEvent", "action": "Posted",
                            "object": {"id": format!("https://lms.example.edu/forums/1/topics/1/messages/{n}"), "type": "Message",
                                       "body": "I agree.", "creators": [user],
                                       "isPartOf": {"id": "https://lms.example.edu/forums/1/topics/1", "type": "Thread",
                                                    "isPartOf": {"id": "https://lms.example.edu/forums/1", "type": "Forum"}}}}),
                3 => json!({"type": "GradeEvent", "action": "Graded",
                            "object": {"id": format!("https://lms.example.edu/assignments/3/attempts/{n}"), "type": "Attempt",
                                       "assignee": user, "count": 1},
                            "generated": {"id": format!("https://lms.example.edu/assignments/3/attempts/{n}/score"), "type": "Score",
                                          "maxScore": 10, "scoreGiven": 8.5, "comment": "Good"}}),
                _ => json!({"type": "SessionEvent", "action": "LoggedIn",
                            "object": {"id": "https://lms.example.edu", "type": "SoftwareApplication"}}),
            };
            if let (Some(event), Some(context)) = (event.as_object_mut(), context.as_object()) {
                event.insert("@context".into(), json!(V1P1));
                event.insert("id".into(), json!(urn(n)));
                event.insert("actor".into(), json!({"id": user, "type": "Person"}));
                event.insert("eventTime".into(), json!("2018-11-15T10:15:00.000Z"));
                event.extend(context.clone());
            }
            event
        })
        .collect();
    json!({"sensor": "https://lms.example.edu/sensors/1", "sendTime": "2018-11-15T10:15:01.000Z",
           "dataVersion": V1P1, "data": events})
}

fn envelope(events: Vec<Value>) -> Value {
    json!({"sensor": "https://example.edu/sensors/1", "sendTime": "2025-01-15T10:30:00.000Z",
           "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2", "data": events})
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    for (name, doc) in [
        ("timeback_100", timeback_envelope()),
        ("mixed_100", mixed_envelope()),
        ("lms_v1p1_100", lms_v1p1_envelope()),
    ] {
        let bytes = serde_json::to_vec(&doc).unwrap_or_default();
        // A benchmark of a rejected envelope would measure the error path, not validation.
        if let Err(problems) = validate_envelope(&doc, &limits) {
            panic!("{name} must be valid: {problems:?}");
        }
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("parse_only", |b| {
            b.iter(|| serde_json::from_slice::<Value>(&bytes).ok())
        });
        group.bench_function("parse_and_validate", |b| {
            b.iter(|| {
                let value = parse_json(&bytes, &limits).ok();
                value.map(|v| validate_envelope(&v, &limits).is_ok())
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The envelopes a run sends: ToolUseEvents with the context a learning app gives them (the
//! app, the course section, the learner's membership and session), about 1.1 KB each as compact
//! JSON, from a thousand learners in twenty sections. All are made before the run starts, so
//! that making them is not measured, and the same bytes feed the in-process ceiling.

use hyper::body::Bytes;
use serde_json::{json, Value};

/// One envelope: its body, the Caliper ids it carries in order, and the compact JSON size of
/// its events (what bytes on disk are compared with).
pub struct Envelope {
    pub body: Bytes,
    pub ids: Vec<String>,
    pub event_bytes: usize,
}

pub fn envelopes(count: usize, per_envelope: usize) -> Vec<Envelope> {
    (0..count)
        .map(|n| envelope(n * per_envelope, per_envelope))
        .collect()
}

fn envelope(first: usize, count: usize) -> Envelope {
    let events: Vec<Value> = (first..first + count).map(event).collect();
    let ids = events
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect();
    let event_bytes = events.iter().map(|e| e.to_string().len()).sum();
    let envelope = json!({
        "sensor": "https://example.edu/sensors/reader",
        "sendTime": "2024-05-01T12:00:00.000Z",
        "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "data": events,
    });
    Envelope {
        body: Bytes::from(envelope.to_string()),
        ids,
        event_bytes,
    }
}

fn event(n: usize) -> Value {
    let learner = n % 1000;
    let section = learner % 20;
    let app = "https://example.edu/apps/reader";
    let course = format!("https://example.edu/terms/2024/courses/{section}/sections/1");
    let actor = format!("https://example.edu/users/{learner}");
    // A second apart, and spread over the day: listings see many distinct times.
    let time = event_time(n);
    json!({
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "id": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "type": "ToolUseEvent",
        "profile": "ToolUseProfile",
        "action": "Used",
        "actor": {"id": actor, "type": "Person", "name": format!("Learner {learner}")},
        "object": {"id": app, "type": "SoftwareApplication", "name": "Reader", "version": "2.4.1"},
        "eventTime": time,
        "edApp": {"id": app, "type": "SoftwareApplication"},
        "group": {
            "id": course, "type": "CourseSection",
            "courseNumber": format!("CPS 435-{section:02}"), "academicSession": "Fall 2024"
        },
        "membership": {
            "id": format!("{course}/rosters/1/members/{learner}"), "type": "Membership",
            "organization": course, "member": actor,
            "roles": ["Learner"], "status": "Active", "dateCreated": "2024-08-01T06:00:00.000Z"
        },
        "session": {
            "id": format!("https://example.edu/sessions/{}", learner * 7 + n / 5000),
            "type": "Session", "startedAtTime": "2024-05-01T08:00:00.000Z"
        },
        "extensions": {"chapter": n % 40, "secondsActive": 30 + n % 600}
    })
}

/// `2024-05-01T00:00:00Z` plus `n` seconds, as an ISO 8601 UTC time with milliseconds.
fn event_time(n: usize) -> String {
    let seconds = n % 86_400;
    let day = 1 + (n / 86_400) % 28;
    format!(
        "2024-05-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        n % 1000
    )
}

//! What each zstd level keeps of stored Caliper events, and what it costs per event: the
//! measurement behind the store's level (`src/codec.rs`). The baseline is level 1, in the same
//! run. `cargo bench -p caliper-embedded --bench compression`

use std::time::Instant;

use serde_json::json;

fn event(n: u32) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "id": format!("urn:uuid:c51570e4-f8ed-4c18-bb3a-dfe51b2cc{n:03}"),
        "type": "AssessmentItemEvent", "profile": "AssessmentProfile", "action": "Completed",
        "actor": {"id": format!("https://example.edu/users/{n}"), "type": "Person"},
        "object": {"id": "https://example.edu/terms/201801/courses/7/sections/1/assess/1/items/3",
          "type": "AssessmentItem", "name": "Assessment Item 3",
          "isPartOf": {"id": "https://example.edu/terms/201801/courses/7/sections/1/assess/1", "type": "Assessment"}},
        "generated": {"id": format!("https://example.edu/terms/201801/courses/7/sections/1/assess/1/items/3/users/{n}/responses/1"),
          "type": "FillinBlankResponse", "values": ["2 July 1776"]},
        "eventTime": "2018-11-15T10:15:12.000Z", "edApp": "https://example.edu",
        "group": {"id": "https://example.edu/terms/201801/courses/7/sections/1", "type": "CourseSection",
          "courseNumber": "CPS 435-01", "academicSession": "Fall 2018"},
        "membership": {"id": "https://example.edu/terms/201801/courses/7/sections/1/rosters/1",
          "type": "Membership", "roles": ["Learner"], "status": "Active"},
        "session": {"id": format!("https://example.edu/sessions/{n}"), "type": "Session"}
    }))
    .unwrap_or_default()
}

/// A TimebackProfile activity event as the official client builds it.
fn timeback(n: u32) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "id": format!("urn:uuid:7d2c1a4e-1f0b-4c5e-9a3d-6b8e2f{n:06}"),
        "type": "ActivityEvent", "profile": "TimebackProfile", "action": "Completed",
        "actor": {"id": format!("https://example.edu/users/{n}"), "type": "TimebackUser",
          "email": format!("student{n}@example.edu"), "name": "A Student", "role": "student"},
        "object": {"id": format!("https://example.edu/activities/{}", n % 50), "type": "TimebackActivityContext",
          "subject": "Math", "app": {"name": "Example Math", "id": "https://example.edu/apps/math"},
          "course": {"name": "Algebra I"}, "activity": {"name": format!("Lesson {}", n % 50)}},
        "generated": {"id": format!("https://example.edu/metrics/{n}"), "type": "TimebackActivityMetricsCollection",
          "attempt": 1, "items": [{"type": "xpEarned", "value": 12}, {"type": "totalQuestions", "value": 10},
            {"type": "correctQuestions", "value": 8}]},
        "eventTime": "2026-12-07T10:00:00.000Z",
        "edApp": {"id": "https://example.edu/apps/math", "type": "SoftwareApplication"},
        "extensions": {"course": "algebra-1", "grade": 9}
    }))
    .unwrap_or_default()
}

/// `event` as the store keeps it (a `StoredEvent`'s JSON).
fn stored(event: &[u8], n: u32) -> Vec<u8> {
    let event: serde_json::Value = serde_json::from_slice(event).unwrap_or_default();
    let stored = caliper_core::StoredEvent::from_event(
        &event,
        u64::from(n) + 1,
        "https://example.edu/sensors/1",
        "2018-11-15T10:15:14.000Z",
        caliper_validation::CALIPER_V1P2,
        "client-1",
        chrono::Utc::now(),
    );
    serde_json::to_vec(&stored).unwrap_or_default()
}

fn main() {
    for (name, make) in [
        ("AssessmentItemEvents", event as fn(u32) -> Vec<u8>),
        ("TimebackProfile ActivityEvents", timeback),
    ] {
        println!("# {name}");
        measure(&(0..5000).map(|n| stored(&make(n), n)).collect::<Vec<_>>());
    }
}

fn measure(events: &[Vec<u8>]) {
    let raw: usize = events.iter().map(Vec::len).sum();
    println!(
        "{} stored events of {} bytes on average",
        events.len(),
        raw / events.len()
    );
    let mut baseline = None;
    for level in [1, 3, 6, 9, 19] {
        let Ok(mut compressor) = zstd::bulk::Compressor::new(level) else {
            eprintln!("no compressor at level {level}");
            return;
        };
        let started = Instant::now();
        let packed: usize = events
            .iter()
            .map(|e| compressor.compress(e).map_or(0, |c| c.len()))
            .sum();
        let per = started.elapsed().as_secs_f64() * 1e6 / events.len() as f64;
        let base = *baseline.get_or_insert(per);
        println!(
            "level {level:2}: keeps {:.3} of the JSON, {per:.1} µs an event ({:.2}x level 1)",
            packed as f64 / raw as f64,
            per / base
        );
    }
    // What the stores write: level 3 with the dictionary of Caliper's vocabulary.
    let started = Instant::now();
    let packed: usize = events
        .iter()
        .map(|e| caliper_core::packed::pack(e).map_or(0, |c| c.len()))
        .sum();
    let per = started.elapsed().as_secs_f64() * 1e6 / events.len() as f64;
    println!(
        "level  3 with the dictionary: keeps {:.3} of the JSON, {per:.1} µs an event ({:.2}x level 1)",
        packed as f64 / raw as f64,
        per / baseline.unwrap_or(per)
    );
}

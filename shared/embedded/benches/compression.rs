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

fn main() {
    let events: Vec<Vec<u8>> = (0..5000).map(event).collect();
    let raw: usize = events.iter().map(Vec::len).sum();
    println!(
        "{} events of {} bytes on average",
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
}

//! Writing export files against the baseline of what any export must do anyway: turning each
//! stored event into the JSON `GET` returns. Run: `cargo bench -p caliper-export --bench encode`.
//! The figures that matter are ratios in the same run: each format's time over `to JSON`, and its
//! bytes over the compact JSON's (printed before the timings; shared/export/README.md).

use caliper_core::exports::Format;
use caliper_core::StoredEvent;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;

/// One file's worth: a day of a course's ToolUseEvents and AssessmentEvents from 1,000 learners.
const EVENTS: usize = 20_000;

fn stored_events() -> Vec<StoredEvent> {
    (0..EVENTS)
        .map(|n| {
            let learner = n % 1000;
            let course = format!("https://example.edu/terms/2024/courses/{}/sections/1", learner % 20);
            let (event_type, action, profile, object) = if n % 4 == 0 {
                ("AssessmentEvent", "Submitted", "AssessmentProfile",
                 json!({"id": format!("https://example.edu/assessments/{}", n % 50), "type": "Assessment", "name": "Quiz"}))
            } else {
                ("ToolUseEvent", "Used", "ToolUseProfile",
                 json!({"id": "https://example.edu/apps/reader", "type": "SoftwareApplication", "version": "2.4.1"}))
            };
            let seconds = n * 86_400 / EVENTS;
            let event = json!({
                "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
                "id": format!("urn:uuid:{:08x}-0000-4000-8000-{:012x}", n, n * 7919),
                "type": event_type, "profile": profile, "action": action,
                "actor": {"id": format!("https://example.edu/users/{learner}"), "type": "Person"},
                "object": object,
                "eventTime": format!("2024-05-01T{:02}:{:02}:{:02}.{:03}Z", seconds / 3600, seconds / 60 % 60, seconds % 60, n % 1000),
                "edApp": {"id": "https://example.edu/apps/reader", "type": "SoftwareApplication"},
                "group": {"id": course, "type": "CourseSection", "academicSession": "Fall 2024"},
                "session": {"id": format!("https://example.edu/sessions/{}", learner * 7 + n / 5000), "type": "Session"},
                "extensions": {"secondsActive": 30 + n % 600}
            });
            StoredEvent::from_event(&event, n as u64 + 1, "https://example.edu/sensors/reader",
                                    "2024-05-01T12:00:00.000Z", caliper_validation::CALIPER_V1P2, "app", Utc::now())
        })
        .collect()
}

fn encode(c: &mut Criterion) {
    let events = stored_events();
    let json: usize = events
        .iter()
        .map(|e| serde_json::to_vec(e).map_or(0, |v| v.len()))
        .sum();
    for format in Format::ALL {
        let bytes = caliper_export::encode(format, &events).map_or(0, |file| file.len());
        eprintln!(
            "{}: {} bytes for {EVENTS} events, {:.1} a event, {:.3}x the compact JSON's {json} bytes",
            format.name(), bytes, bytes as f64 / EVENTS as f64, bytes as f64 / json as f64
        );
    }
    let mut group = c.benchmark_group("export");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(10);
    group.bench_function("to JSON", |b| {
        b.iter(|| {
            events
                .iter()
                .map(|e| serde_json::to_vec(e).map_or(0, |v| v.len()))
                .sum::<usize>()
        })
    });
    for format in Format::ALL {
        group.bench_function(format.name(), |b| {
            b.iter(|| caliper_export::encode(format, &events).map_or(0, |f| f.len()))
        });
    }
    group.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);

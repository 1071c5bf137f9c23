//! Webhook matching against the baseline of what fan-out must do anyway: turning each stored event
//! into JSON. Run: `cargo bench -p caliper-core --bench matching`. The figure that matters is the
//! ratio `match` / `to JSON`, measured in the same run (shared/load/README.md, "Performance").

use caliper_core::webhooks::{CompiledFilter, FilterOperator, FilterType};
use caliper_core::StoredEvent;
use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};

const EVENTS: usize = 100;
const WEBHOOKS: usize = 100;

/// 100 TimebackProfile activity events as the official client builds them, as stored.
fn stored_events() -> Vec<StoredEvent> {
    (0..EVENTS)
        .map(|n| {
            let subject = ["Math", "Reading", "Science"][n % 3];
            let event = json!({
                "id": format!("urn:uuid:00000000-0000-4000-8000-{n:012}"),
                "type": "ActivityEvent", "profile": "TimebackProfile", "action": "Completed",
                "eventTime": "2025-01-15T10:30:00.000Z",
                "actor": {"id": format!("https://api.example.com/users/{}", n % 20), "type": "TimebackUser",
                          "email": format!("student{}@example.edu", n % 20), "role": "student"},
                "object": {"id": format!("https://myapp.example.com/activities/lesson-{}", n % 7),
                           "type": "TimebackActivityContext", "subject": subject,
                           "app": {"name": "My Learning App"}, "course": {"name": "Algebra 101"}},
                "generated": {"id": format!("https://myapp.example.com/metrics/{n}"), "type": "TimebackActivityMetricsCollection",
                              "items": [{"type": "totalQuestions", "value": 10}, {"type": "correctQuestions", "value": n % 11},
                                        {"type": "xpEarned", "value": 150}]},
                "extensions": {"score": (n % 100) as f64 / 10.0}
            });
            StoredEvent::from_event(&event, n as u64, "https://myapp.example.com/sensor", "2025-01-15T10:30:01.000Z", caliper_validation::CALIPER_V1P2, "app", Utc::now())
        })
        .collect()
}

/// 100 webhooks of three filters each, every operator family among them.
fn webhooks() -> Vec<Vec<CompiledFilter>> {
    use FilterOperator::*;
    use FilterType::{Number, String as Text};
    let compile = |key: &str, value: &str, t, op| {
        CompiledFilter::compile(key, value, t, op).unwrap_or_else(|e| panic!("{key}: {e:?}"))
    };
    (0..WEBHOOKS)
        .map(|n| {
            vec![
                compile("type", "ActivityEvent", Text, Eq),
                match n % 4 {
                    0 => compile("object.subject", "Math, Science", Text, In),
                    1 => compile("actor.email", "@example.edu", Text, EndsWith),
                    2 => compile("object.id", r"lesson-[0-3]$", Text, Regexp),
                    _ => compile("extensions.score", &format!("{}", n % 10), Number, Gte),
                },
                compile("generated.items.1.value", "5", Number, Gt),
            ]
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let events = stored_events();
    let webhooks = webhooks();
    let values: Vec<Value> = events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap_or_default())
        .collect();
    let mut group = c.benchmark_group("100 events × 100 webhooks of 3 filters");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("to JSON (baseline)", |b| {
        b.iter(|| {
            events
                .iter()
                .map(|e| serde_json::to_value(e).unwrap_or_default())
                .collect::<Vec<Value>>()
        })
    });
    group.bench_function("match", |b| {
        b.iter(|| {
            values
                .iter()
                .map(|event| {
                    webhooks
                        .iter()
                        .filter(|filters| filters.iter().all(|f| f.matches(event)))
                        .count()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Export and erasure over a store of 1,000,000 events (the embedded one, on this machine's
//! disk), against baselines measured in the same run. Run:
//! `cargo bench -p caliper-export --bench store` (or `-- 200000` for fewer events).
//!
//! - an export of every event, Parquet and NDJSON, through the same steps the service runs
//!   (files of at most 50,000 events of one date), against reading the same events through the
//!   listing, page by page, which any export must do: events/s and the ratio; the files' bytes
//!   per event against the stored events' compact JSON;
//! - the erasure of a learner with 10,000 of those events, against listing that learner's events.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use caliper_core::erasures::{ErasureRequest, Erasures, Subject};
use caliper_core::exports::{ExportRequest, Exports};
use caliper_core::query::{EventFilter, EventQuery, Order, Start, Visibility};
use caliper_core::steps::StepMessage;
use caliper_core::work::Work;
use caliper_core::{Caller, Queue, Scope, StoreError, StoredEvent};
use chrono::Utc;
use serde_json::json;

/// Steps as queued, run here one after another.
#[derive(Default)]
struct Steps(Mutex<Vec<StepMessage>>);

#[async_trait]
impl Queue<StepMessage> for Steps {
    async fn send(&self, messages: &[StepMessage]) -> Result<(), StoreError> {
        if let Ok(mut queued) = self.0.lock() {
            queued.extend_from_slice(messages);
        }
        Ok(())
    }
}

impl Steps {
    async fn drain(&self, worker: &impl Work<Message = StepMessage>) -> usize {
        let mut ran = 0;
        loop {
            let next = self.0.lock().ok().and_then(|mut q| q.pop());
            let Some(message) = next else { return ran };
            if let Err(error) = worker.run(&message, 1).await {
                panic!("step {}: {error}", message.step);
            }
            ran += 1;
        }
    }
}

const ERASED: &str = "https://example.edu/users/erased";
const DAYS: u64 = 30;

/// The `n`-th event: a month of a school's ToolUseEvents and AssessmentEvents from 5,000
/// learners in 100 sections; every 100th is the learner to erase's.
fn event(n: u64, total: u64) -> StoredEvent {
    let learner = n % 5000;
    let actor = if n % 100 == 7 {
        ERASED.to_owned()
    } else {
        format!("https://example.edu/users/{learner}")
    };
    let course = format!(
        "https://example.edu/terms/2024/courses/{}/sections/1",
        learner % 100
    );
    let (event_type, action, profile, object) = if n.is_multiple_of(4) {
        (
            "AssessmentEvent",
            "Submitted",
            "AssessmentProfile",
            json!({"id": format!("https://example.edu/assessments/{}", n % 500), "type": "Assessment", "name": "Quiz"}),
        )
    } else {
        (
            "ToolUseEvent",
            "Used",
            "ToolUseProfile",
            json!({"id": "https://example.edu/apps/reader", "type": "SoftwareApplication", "version": "2.4.1"}),
        )
    };
    let seconds = n * DAYS * 86_400 / total;
    let (day, rest) = (seconds / 86_400, seconds % 86_400);
    let body = json!({
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "id": format!("urn:uuid:{:08x}-0000-4000-8000-{:012x}", n, n * 7919),
        "type": event_type, "profile": profile, "action": action,
        "actor": {"id": actor, "type": "Person"},
        "object": object,
        "eventTime": format!("2024-05-{:02}T{:02}:{:02}:{:02}.{:03}Z", day + 1, rest / 3600, rest / 60 % 60, rest % 60, n % 1000),
        "edApp": {"id": "https://example.edu/apps/reader", "type": "SoftwareApplication"},
        "group": {"id": course, "type": "CourseSection", "academicSession": "Fall 2024"},
        "session": {"id": format!("https://example.edu/sessions/{}", learner * 7 + n / 5000), "type": "Session"},
        "extensions": {"secondsActive": 30 + n % 600}
    });
    StoredEvent::from_event(
        &body,
        n + 1,
        "https://example.edu/sensors/reader",
        "2024-05-01T12:00:00.000Z",
        caliper_validation::CALIPER_V1P2,
        "app",
        Utc::now(),
    )
}

fn rate(events: u64, seconds: f64) -> String {
    format!("{:>9.0} events/s", events as f64 / seconds)
}

#[tokio::main]
async fn main() {
    let total: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (ports, _queue) =
        caliper_embedded::ports(dir.path(), Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let ports = ports.retained(None);

    // The store: inserted in batches as the processor stores parts, their compact JSON counted.
    let started = Instant::now();
    let mut json_bytes = 0u64;
    let batch = 2_000;
    let mut first = 0;
    while first < total {
        let events: Vec<StoredEvent> = (first..(first + batch).min(total))
            .map(|n| event(n, total))
            .collect();
        json_bytes += events
            .iter()
            .map(|e| serde_json::to_vec(e).map_or(0, |j| j.len() as u64))
            .sum::<u64>();
        if let Err(error) = ports.events.insert_new(&events).await {
            panic!("{error}");
        }
        first += batch;
    }
    println!(
        "stored {total} events in {:.1} s ({} compact JSON bytes each)",
        started.elapsed().as_secs_f64(),
        json_bytes / total
    );

    // Baseline: every event through the listing, oldest first, a page at a time.
    let all = EventQuery {
        visibility: Visibility::Own("app".into()),
        filter: EventFilter::default(),
        order: Order::OldestFirst,
    };
    let started = Instant::now();
    let mut start = Start::Offset(0);
    let mut read = 0u64;
    loop {
        let page = ports
            .reader
            .list(&all, &start, 1_000)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        read += page.events.len() as u64;
        let Some(last) = page.events.last() else {
            break;
        };
        start = Start::After(caliper_core::Position::of(last));
        if !page.more {
            break;
        }
    }
    let listing = started.elapsed().as_secs_f64();
    assert_eq!(read, total);
    println!(
        "{:<28} {}  (baseline)",
        "listing, every page",
        rate(total, listing)
    );

    let caller = Caller::new("app", vec![Scope::EventCreate]);
    for format in ["parquet", "ndjson"] {
        let steps = Arc::new(Steps::default());
        let exports = Exports::new(ports.jobs.clone(), steps.clone(), ports.files.clone());
        let exporter = caliper_core::steps::Steps::new(
            caliper_core::exports::Exporter::new(
                ports.reader.clone(),
                ports.files.clone(),
                Arc::new(caliper_export::Files),
            ),
            ports.jobs.clone(),
            steps.clone(),
        );
        let request = ExportRequest::parse(&json!({ "format": format }), &caller)
            .unwrap_or_else(|p| panic!("{p:?}"));
        let started = Instant::now();
        let export = exports
            .start(&caller, request)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let ran = steps.drain(&exporter).await;
        let seconds = started.elapsed().as_secs_f64();
        let done = exports
            .get(&caller, &export.id)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("the export"));
        assert_eq!(done.events, total);
        let bytes: u64 = done.files.iter().map(|f| f.bytes).sum();
        println!(
            "{:<28} {}  {:.2}x the listing's time, {} files in {ran} steps, {:.1} bytes per event ({:.3}x the JSON)",
            format!("export, {format}"), rate(total, seconds), seconds / listing, done.files.len(),
            bytes as f64 / total as f64, bytes as f64 / json_bytes as f64
        );
    }

    // The learner's events: listed (the baseline), then erased.
    let theirs = EventQuery {
        visibility: Visibility::All,
        filter: EventFilter {
            actor_id: Some(ERASED.into()),
            ..EventFilter::default()
        },
        order: Order::OldestFirst,
    };
    let count = ports
        .reader
        .count(&theirs)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let mut start = Start::Offset(0);
    loop {
        let page = ports
            .reader
            .list(&theirs, &start, 500)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let Some(last) = page.events.last() else {
            break;
        };
        start = Start::After(caliper_core::Position::of(last));
        if !page.more {
            break;
        }
    }
    let listed = started.elapsed().as_secs_f64();
    let admin = Caller::new("ops", vec![Scope::Admin]);
    let steps = Arc::new(Steps::default());
    let erasures = Erasures::new(ports.jobs.clone(), steps.clone(), ports.signer.clone());
    let eraser = caliper_core::steps::Steps::new(
        caliper_core::erasures::Eraser::new(
            ports.stored.clone(),
            ports.events.clone(),
            ports.quarantine.clone(),
        ),
        ports.jobs.clone(),
        steps.clone(),
    );
    let started = Instant::now();
    let request = ErasureRequest {
        subject: Subject::ActorId(ERASED.into()),
        client_app_id: None,
    };
    let erasure = erasures
        .start(&admin, request)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ran = steps.drain(&eraser).await;
    let seconds = started.elapsed().as_secs_f64();
    let done = erasures
        .get(&admin, &erasure.id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("the erasure"));
    assert_eq!(done.receipt.events, count);
    println!(
        "{:<28} {}  (baseline: {count} events)",
        "listing the learner's",
        rate(count, listed)
    );
    println!(
        "{:<28} {}  {:.2}x the listing's time, {ran} steps, {:.2} s in all",
        "erasure of the learner",
        rate(count, seconds),
        seconds / listed,
        seconds
    );
}

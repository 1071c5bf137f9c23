//! The bad-input corpus: requests that must be refused with the documented 4xx and error JSON,
//! leaving nothing stored and nothing queued. Each goes through the submission handler as API
//! Gateway would hand it over (raw bytes, any content type), on the embedded backend.

use caliper_embedded::EmbeddedQueue;
use caliper_http::{App, Limits};
use caliper_tests::{embedded_world, envelope, event_id, tool_use_event, Api};
use serde_json::{json, Value};

struct World {
    app: App,
    queue: EmbeddedQueue,
    _dir: tempfile::TempDir,
}

fn world(limits: Limits) -> World {
    let (ports, queue, dir) = embedded_world();
    World {
        app: App::new(ports, limits),
        queue,
        _dir: dir,
    }
}

/// A submission with these exact bytes and content type (None: no Content-Type header).
fn raw_request(bytes: &[u8], content_type: Option<&str>) -> Api {
    Api::payload("submit-events")
        .bytes(bytes)
        .header("content-type", content_type)
}

/// Submits, checks the status and the error shape, and that nothing reached the queue.
async fn refused(world: &World, request: Api, status: u16) -> Value {
    let (code, body) = request.send(&world.app).await;
    assert_eq!(code, status, "{body}");
    assert_eq!(body["status"], "error", "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    for error in body["errors"].as_array().into_iter().flatten() {
        assert!(
            error["path"].is_string() && error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    assert!(body.get("jobId").is_none(), "{body}");
    let depth = world.queue.depth().await.expect("queue depth");
    assert_eq!(depth, (0, 0), "a refused request queued something: {body}");
    body
}

/// Submits `bytes` as JSON and expects them refused with `status`.
async fn refused_json(world: &World, bytes: &[u8], status: u16) -> Value {
    refused(world, raw_request(bytes, Some("application/json")), status).await
}

fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}

/// The JSON pointers of an error body's problems.
fn paths(body: &Value) -> Vec<&str> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["path"].as_str())
        .collect()
}

fn json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

#[tokio::test]
async fn bodies_that_are_not_json() {
    let world = world(Limits::default());
    let valid = json_bytes(&envelope(vec![tool_use_event(&event_id())]));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"<envelope/>".to_vec()),
        ("truncated", valid[..valid.len() / 2].to_vec()),
        (
            "invalid UTF-8",
            [&valid[..20], &[0xff, 0xfe], &valid[20..]].concat(),
        ),
        ("empty", Vec::new()),
        ("whitespace", b"  \n\t ".to_vec()),
        ("trailing data", [valid.as_slice(), b"{}"].concat()),
        ("number out of range", br#"{"sensor": 1e400}"#.to_vec()),
        ("lone surrogate", br#"{"sensor": "\ud800"}"#.to_vec()),
    ];
    for (name, bytes) in cases {
        let body = refused(&world, raw_request(&bytes, Some("application/json")), 400).await;
        assert!(message(&body).contains("JSON"), "{name}: {body}");
    }
}

#[tokio::test]
async fn duplicate_keys_deep_nesting_and_size() {
    let world = world(Limits {
        max_body_bytes: 64 * 1024,
        ..Limits::default()
    });
    let id = event_id();
    let duplicated = format!(
        r#"{{"sensor": "https://example.edu/s", "sendTime": "2024-05-01T12:00:00Z",
            "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2",
            "data": [{{"id": "{id}", "id": "{id}"}}]}}"#
    );
    let body = refused_json(&world, duplicated.as_bytes(), 400).await;
    assert!(message(&body).contains("\"id\" appears twice"), "{body}");

    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let body = refused_json(&world, deep.as_bytes(), 400).await;
    assert!(message(&body).contains("levels deep"), "{body}");

    let mut big = tool_use_event(&event_id());
    big["extensions"] = json!({"blob": "x".repeat(70 * 1024)});
    let body = refused_json(&world, &json_bytes(&envelope(vec![big])), 413).await;
    assert!(message(&body).contains("bytes"), "{body}");
}

#[tokio::test]
async fn a_huge_string_is_refused_where_it_is() {
    let world = world(Limits::default());
    let mut event = tool_use_event(&event_id());
    event["extensions"] = json!({"note": "é".repeat(40 * 1024)});
    let body = refused_json(&world, &json_bytes(&envelope(vec![event])), 400).await;
    assert_eq!(paths(&body), ["/data/0/extensions/note"], "{body}");
}

#[tokio::test]
async fn wrong_or_missing_content_types() {
    let world = world(Limits::default());
    let valid = json_bytes(&envelope(vec![tool_use_event(&event_id())]));
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some(""),
    ] {
        refused(&world, raw_request(&valid, content_type), 415).await;
    }
    // Parameters and case do not matter; the +json suffix is JSON.
    for content_type in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/ld+json",
    ] {
        let request = raw_request(&valid, Some(content_type));
        let (code, body) = request.send(&world.app).await;
        assert_eq!(code, 200, "{content_type}: {body}");
    }
}

#[tokio::test]
async fn every_required_field_missing_in_turn_and_wrong_types() {
    let world = world(Limits::default());
    let event_fields = ["id", "type", "actor", "action", "object", "eventTime"];
    for field in event_fields {
        let mut event = tool_use_event(&event_id());
        event.as_object_mut().map(|e| e.remove(field));
        let body = refused_json(&world, &json_bytes(&envelope(vec![event])), 400).await;
        assert!(
            paths(&body).contains(&format!("/data/0/{field}").as_str()),
            "{field}: {body}"
        );
    }
    for field in ["sensor", "sendTime", "dataVersion", "data"] {
        let mut doc = envelope(vec![tool_use_event(&event_id())]);
        doc.as_object_mut().map(|e| e.remove(field));
        let body = refused_json(&world, &json_bytes(&doc), 400).await;
        assert_eq!(paths(&body), [format!("/{field}")], "{body}");
    }
    let wrong_types = [
        json!(null),
        json!(7),
        json!(true),
        json!([]),
        json!({}),
        json!("text"),
    ];
    // `profile` is optional (null is absent), but never of another type.
    for field in event_fields.iter().chain(&["profile"]) {
        for value in wrong_types
            .iter()
            .filter(|v| !(*field == "profile" && v.is_null()))
        {
            let mut event = tool_use_event(&event_id());
            event[field] = value.clone();
            let body = refused_json(&world, &json_bytes(&envelope(vec![event])), 400).await;
            let pointed = paths(&body)
                .iter()
                .any(|p| p.starts_with(&format!("/data/0/{field}")));
            assert!(pointed, "{field} = {value}: {body}");
        }
    }
    for top in [json!(null), json!([]), json!("envelope"), json!(42)] {
        refused_json(&world, &json_bytes(&top), 400).await;
    }
}

#[tokio::test]
async fn odd_job_ids_are_simply_not_found() {
    let world = world(Limits::default());
    for job_id in [
        "..%2F..%2Fetc",
        "%00",
        "not-a-uuid",
        "5f0c7a52-3c1e-4d7b-9a57-3f1d2b6c8e9",
        "💥",
        " ",
    ] {
        let (code, body) = Api::new("GET", &format!("/jobs/{job_id}/status"))
            .send(&world.app)
            .await;
        assert_eq!(code, 404, "{job_id}: {body}");
        assert_eq!(
            body,
            json!({"status": "error", "message": "Job not found", "errors": []})
        );
    }
}

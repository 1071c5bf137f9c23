//! The storage-free routes, through the payloads in `events/`: validate, and the endpoint
//! configuration; and the 422 that submission answers for another Caliper version.

use caliper_http::{App, Limits};
use caliper_tests::{embedded_world, envelope, event_id, tool_use_event, Api};
use serde_json::json;

#[tokio::test]
async fn the_validate_payload_is_valid_and_its_answer_is_the_contracts() {
    let limits = Limits::default();
    let (code, body) = Api::payload("validate-events").send_pure(&limits);
    assert_eq!(
        (code, body["status"].as_str()),
        (200, Some("success")),
        "{body}"
    );

    let mut event = tool_use_event(&event_id());
    event["action"] = json!("Viewed");
    let (code, body) = Api::payload("validate-events")
        .body(&envelope(vec![event]))
        .send_pure(&limits);
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "error");
    assert_eq!(body["errors"][0]["path"], "/data/0/action");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("1 problem")),
        "{body}"
    );
}

#[tokio::test]
async fn the_endpoint_configuration_follows_the_limits() {
    let limits = Limits {
        max_body_bytes: 512 * 1024,
        max_items: 50,
        ..Limits::default()
    };
    let (code, body) = Api::payload("endpoint-config").send_pure(&limits);
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body["caliper_supported_versions"],
        json!([
            "http://purl.imsglobal.org/ctx/caliper/v1p2",
            "http://purl.imsglobal.org/ctx/caliper/v1p1"
        ])
    );
    assert_eq!(body["caliper_maximum_payload_size"], 512);
    assert_eq!(
        body["caliper_supported_extensions"]["max_events_per_envelope"],
        50
    );
}

#[tokio::test]
async fn another_caliper_version_is_422_on_submission() {
    let (ports, _queue, _dir) = embedded_world();
    let app = App::new(ports, Limits::default());
    let mut body = envelope(vec![tool_use_event(&event_id())]);
    body["dataVersion"] = json!("http://purl.imsglobal.org/ctx/caliper/v1p0");
    let (code, reply) = Api::payload("submit-events").body(&body).send(&app).await;
    assert_eq!(code, 422, "{reply}");
    assert_eq!(reply["errors"][0]["path"], "/dataVersion");
    assert!(reply.get("jobId").is_none());
}

#[tokio::test]
async fn an_item_of_the_other_version_is_400_with_a_pointed_error() {
    let (ports, _queue, _dir) = embedded_world();
    let app = App::new(ports, Limits::default());
    // A 1.2 event (its context, its profile) in a 1.1 envelope.
    let mut body = envelope(vec![tool_use_event(&event_id())]);
    body["dataVersion"] = json!("http://purl.imsglobal.org/ctx/caliper/v1p1");
    let (code, reply) = Api::payload("submit-events").body(&body).send(&app).await;
    assert_eq!(code, 400, "{reply}");
    let context = reply["errors"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["path"] == "/data/0/@context"))
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    assert!(
        context.contains("Caliper 1.2") && context.contains("dataVersion is Caliper 1.1"),
        "{reply}"
    );
    assert!(reply.get("jobId").is_none());
}

#[tokio::test]
async fn the_description_is_served_without_a_token_and_describes_every_route() {
    let (ports, _queue, _dir) = embedded_world();
    let app = App::new(ports, Limits::default());
    let (code, body) = Api::payload("api-description").send(&app).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["openapi"], "3.1.0");
    for route in caliper_http::ROUTES {
        let operation = &body["paths"][route.documented_path()][route.method.to_lowercase()];
        assert!(
            operation.is_object(),
            "{} {} is not described",
            route.method,
            route.path
        );
    }
}

//! Fuzzing the HTTP face: arbitrary API Gateway requests (methods, paths and path parameters,
//! query strings, headers, claims and bodies) through every handler, on the embedded backend. No panic, no 5xx,
//! and every answer is JSON, errors in the contract's shape.
//!
//! A bounded run is part of `cargo test`; run longer with, for example,
//! `PROPTEST_CASES=100000 cargo test -p caliper-tests --test fuzz_http`.

use base64::Engine;
use caliper_http::{handlers, App, Limits, ROUTES};
use caliper_tests::{embedded_world, envelope, event_id, read_response, tool_use_event};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

const SCOPE: &str = "https://purl.imsglobal.org/spec/caliper/v1p1/scope/";

fn body() -> impl Strategy<Value = Vec<u8>> {
    let valid =
        serde_json::to_vec(&envelope(vec![tool_use_event(&event_id())])).unwrap_or_default();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        "[ -~]{0,200}".prop_map(String::into_bytes),
        // Valid envelopes with one byte changed, and cut short.
        (any::<usize>(), any::<u8>()).prop_map({
            let valid = valid.clone();
            move |(at, byte)| {
                let mut bytes = valid.clone();
                let at = at % bytes.len().max(1);
                if let Some(b) = bytes.get_mut(at) {
                    *b = byte;
                }
                bytes
            }
        }),
        any::<usize>().prop_map(move |cut| valid[..cut % valid.len().max(1)].to_vec()),
    ]
}

fn claims() -> impl Strategy<Value = Value> {
    let scope = prop_oneof![
        Just(format!("{SCOPE}event.create")),
        Just(format!("{SCOPE}admin")),
        Just(format!("{SCOPE}webhook.readonly")),
        ".{0,40}",
    ];
    (
        prop::option::of("[a-zA-Z0-9-]{0,20}|.{0,10}"),
        prop::collection::vec(scope, 0..3),
    )
        .prop_map(|(client, scopes)| {
            let mut claims = json!({"scope": scopes.join(" ")});
            if let Some(client) = client {
                claims["client_id"] = json!(client);
            }
            claims
        })
}

/// Query strings: the listing's parameters with odd values, repeated, unknown, or plain noise.
fn query_string() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("limit"),
        Just("offset"),
        Just("cursor"),
        Just("order"),
        Just("sensor"),
        Just("actorId"),
        Just("actorEmail"),
        Just("startDate"),
        Just("endDate"),
        Just("x"),
    ];
    let value = prop_oneof![
        "-?[0-9]{0,25}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}:[0-9]{2})?)?",
        "[A-Za-z0-9_=-]{0,80}",
        "(%[0-9A-Fa-f]{0,2}|[A-Za-z0-9._~!$'()*+,;:@/?-]){0,30}",
    ];
    prop_oneof![
        prop::collection::vec((name, value), 0..5).prop_map(|pairs| {
            pairs
                .into_iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        }),
        // Noise, within what a URI's query may hold (API Gateway passes nothing else).
        "[A-Za-z0-9._~!$&'()*+,;=:@/?%-]{0,60}",
    ]
}

/// A route of the table, with its path parameters filled by arbitrary strings.
fn request() -> impl Strategy<Value = (&'static str, Value)> {
    (
        0..ROUTES.len(),
        prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE")],
        ".{0,60}",
        prop::option::of(prop_oneof![
            Just("application/json".to_owned()),
            "[a-z]{1,12}/[a-z+.-]{1,20}(; ?[a-z]+=[a-z0-9-]+)?",
            ".{0,30}"
        ]),
        claims(),
        body(),
        query_string(),
    )
        .prop_map(
            |(route, method, parameter, content_type, claims, body, query)| {
                let route = ROUTES[route];
                let name = route
                    .path
                    .split_once('{')
                    .and_then(|(_, rest)| rest.split_once('}'))
                    .map(|(n, _)| n);
                let path = match name {
                    Some(name) => route.path.replace(&format!("{{{name}}}"), &parameter),
                    None => route.path.to_owned(),
                };
                let parameters = name.map_or(json!({}), |name| json!({ name: parameter }));
                let mut headers = json!({"host": "api.example.com"});
                if let Some(content_type) = content_type {
                    headers["content-type"] = json!(content_type);
                }
                let event = json!({
                    "version": "2.0",
                    "routeKey": format!("{} {}", route.method, route.path),
                    "rawPath": path,
                    "rawQueryString": query,
                    "headers": headers,
                    "pathParameters": parameters,
                    "requestContext": {
                        "accountId": "fuzz", "apiId": "fuzz", "domainName": "api.example.com",
                        "domainPrefix": "api", "requestId": "fuzz", "routeKey": route.path,
                        "stage": "$default", "time": "", "timeEpoch": 0,
                        "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                 "sourceIp": "192.0.2.1", "userAgent": "fuzz"},
                        "authorizer": {"jwt": {"claims": claims, "scopes": null}}
                    },
                    "body": base64::engine::general_purpose::STANDARD.encode(&body),
                    "isBase64Encoded": true,
                });
                (route.function, event)
            },
        )
}

#[test]
fn arbitrary_requests_get_json_answers_and_never_a_5xx() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (ports, _queue, _dir) = embedded_world();
    // A few stored events, so that listings have pages to cut.
    let stored: Vec<_> = (1..=30)
        .map(|id| {
            caliper_core::StoredEvent::from_event(
                &tool_use_event(&event_id()),
                id,
                "https://example.edu/sensors/1",
                "2024-05-01T12:00:00.000Z",
                caliper_validation::CALIPER_V1P2,
                "fuzz-client",
                chrono::Utc::now(),
            )
        })
        .collect();
    runtime
        .block_on(ports.events.insert_new(&stored))
        .expect("insert");
    let app = App::new(ports, Limits::default());
    let mut runner = TestRunner::new(Config::default());
    let outcome = runner.run(&request(), |(function, event)| {
        // An event API Gateway would not send may fail to parse; the Lambda runtime answers those.
        let Ok(request) = lambda_http::request::from_str(&event.to_string()) else {
            return Ok(());
        };
        let response = runtime.block_on(handlers::dispatch(&app, function, request));
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let (status, body) = read_response(response);
        prop_assert!(status < 500, "{function} answered {status}: {body}");
        // Every answer is JSON but the docs page and its script, which say what they are.
        let a_document = status == 200 && content_type.starts_with("text/");
        prop_assert!(
            a_document || (!body.is_null() && content_type == "application/json"),
            "{function} answered {status} ({content_type}) with a body that is not JSON"
        );
        if status >= 400 {
            prop_assert_eq!(&body["status"], "error", "{}", body);
            prop_assert!(
                body["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{}",
                body
            );
            for error in body["errors"].as_array().into_iter().flatten() {
                prop_assert!(
                    error["path"].is_string() && error["message"].is_string(),
                    "{}",
                    body
                );
            }
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

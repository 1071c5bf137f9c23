//! Fuzzing the HTTP face: arbitrary API Gateway requests (every route, with arbitrary path
//! parameters, query strings, headers, authorizer contexts and bodies) through every handler, on the embedded backend. No panic, no 5xx,
//! and every answer is JSON, errors in the contract's shape.
//!
//! A bounded run is part of `cargo test`; run longer with, for example,
//! `PROPTEST_CASES=100000 cargo test -p caliper-tests --test fuzz_http`.

use caliper_http::{handlers, App, Limits, Scope, ROUTES};
use caliper_tests::{embedded_world, envelope, event_id, read_response, tool_use_event, Api};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

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

/// What an authorizer might hand over: any client id or none, scopes real and not.
fn authorizer_context() -> impl Strategy<Value = Value> {
    let scope = prop_oneof![
        Just(Scope::EventCreate.uri()),
        Just(Scope::Admin.uri()),
        Just(Scope::WebhookReadonly.uri()),
        ".{0,40}",
    ];
    (
        prop::option::of("[a-zA-Z0-9-]{0,20}|.{0,10}"),
        prop::collection::vec(scope, 0..3),
    )
        .prop_map(|(client, scopes)| {
            let mut context = json!({"scope": scopes.join(" ")});
            if let Some(client) = client {
                context["clientId"] = json!(client);
            }
            context
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
fn request() -> impl Strategy<Value = Api> {
    (
        0..ROUTES.len(),
        ".{0,60}",
        prop::option::of(prop_oneof![
            Just("application/json".to_owned()),
            "[a-z]{1,12}/[a-z+.-]{1,20}(; ?[a-z]+=[a-z0-9-]+)?",
            ".{0,30}"
        ]),
        authorizer_context(),
        body(),
        query_string(),
    )
        .prop_map(|(route, parameter, content_type, context, body, query)| {
            let route = &ROUTES[route];
            let name = route
                .path
                .split_once('{')
                .and_then(|(_, rest)| rest.split_once('}'))
                .map(|(n, _)| n);
            let mut request = Api::on(route)
                .query(&query)
                .header("content-type", content_type.as_deref())
                .authorizer(Some(context))
                .bytes(&body);
            if let Some(name) = name {
                request = request.param(name, &parameter);
            }
            request
        })
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
    let outcome = runner.run(&request(), |api| {
        // An event API Gateway would not send may fail to parse; the Lambda runtime answers those.
        let Ok(request) = api.try_request() else {
            return Ok(());
        };
        let function = api.function().name();
        let response = runtime.block_on(handlers::serve(
            &app,
            handlers::service(api.function()),
            request,
        ));
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

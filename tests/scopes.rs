//! Defense in depth: every route's scopes are checked again before its handler runs, exactly as
//! the route table (and so API Gateway's authorizer) says, and answers 401 and 403 with the contract's error JSON;
//! a public route (no scopes) answers without any token, and so does a connector's, whose body is
//! its credential.

use caliper_http::routes::Access;
use caliper_http::{App, Limits, Scope, ROUTES};
use caliper_tests::{caller, embedded_world, envelope, event_id, tool_use_event, Api};
use serde_json::{json, Value};

/// A request to `route`, with this authorizer context (none: no authorizer).
async fn answer(app: &App, route: &caliper_http::Route, context: Option<Value>) -> (u16, Value) {
    answer_at(app, route, context, "webhook-1").await
}

/// The same, with `id` for the route's `{id}`.
async fn answer_at(
    app: &App,
    route: &caliper_http::Route,
    context: Option<Value>,
    id: &str,
) -> (u16, Value) {
    let path = route
        .path
        .replace("{jobId}", "job-1")
        .replace(
            "{externalId}",
            "urn:uuid:00000000-0000-4000-8000-000000000000",
        )
        .replace("{id}", id)
        .replace("{webhookId}", "webhook-1");
    let mut request = Api::new(route.method, &path).authorizer(context);
    if route.method == "POST" {
        request = request.body(&envelope(vec![tool_use_event(&event_id())]));
    }
    request.send(app).await
}

fn scoped(scopes: &[Scope]) -> Value {
    caller("scoped-client", scopes)
}

#[tokio::test]
async fn every_route_admits_exactly_its_scopes() {
    let (ports, _queue, _dir) = embedded_world();
    let app = App::new(ports, Limits::default());
    for route in ROUTES {
        let name = format!("{} {}", route.method, route.path);
        if route.access == Access::Signature {
            // An unsigned connector's path takes the envelope with no token at all.
            let admin = caliper_http::Caller {
                client_id: "ops".into(),
                scopes: vec![Scope::Admin],
            };
            let made = app
                .connectors
                .create(
                    &admin,
                    &json!({"kind": "canvas", "clientAppId": "scoped-client", "signed": false}),
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            for context in [None, Some(scoped(&[]))] {
                let (code, body) = answer_at(&app, route, context, &made.id).await;
                assert_eq!(code, 200, "{name} is the body's: {body}");
            }
            continue;
        }
        if route.scopes().is_empty() {
            for context in [None, Some(scoped(&[]))] {
                let (code, body) = answer(&app, route, context).await;
                assert_eq!(code, 200, "{name} is public: {body}");
            }
            continue;
        }
        assert!(
            route.scopes().contains(&Scope::Admin),
            "{name}: admin opens every route"
        );

        let (code, body) = answer(&app, route, None).await;
        assert_eq!(code, 401, "{name} without a token: {body}");
        assert_eq!(body["status"], "error", "{name}: {body}");
        let (code, _) = answer(&app, route, Some(json!({"scope": Scope::Admin.uri()}))).await;
        assert_eq!(
            code, 401,
            "{name}: a context without clientId is not a caller"
        );

        for scope in Scope::ALL {
            let (code, body) = answer(&app, route, Some(scoped(&[scope]))).await;
            if route.scopes().contains(&scope) {
                assert!(
                    code != 401 && code != 403,
                    "{name} refused {}: {code} {body}",
                    scope.name()
                );
            } else {
                assert_eq!(code, 403, "{name} let {} through: {body}", scope.name());
                assert_eq!(body["status"], "error");
                let message = body["message"].as_str().unwrap_or_default();
                assert!(
                    route.scopes().iter().all(|s| message.contains(&s.uri())),
                    "{name}: the 403 names the scopes that would do: {message}"
                );
            }
        }
        let (code, _) = answer(&app, route, Some(scoped(&[]))).await;
        assert_eq!(code, 403, "{name} with no scope at all");
    }
}

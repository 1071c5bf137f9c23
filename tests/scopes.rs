//! Defense in depth: every handler checks the token's scopes itself, exactly as the route table
//! (and so API Gateway's authorizer) says, and answers 401 and 403 with the contract's error JSON;
//! a public route (no scopes) answers without any token.

use caliper_http::{handlers, App, Limits, Scope, ROUTES};
use caliper_tests::{embedded_world, envelope, event_id, read_response, tool_use_event};
use serde_json::{json, Value};

/// A request to `route` as API Gateway hands it over, with these claims (none: no authorizer).
fn request(route: &caliper_http::Route, claims: Option<Value>) -> lambda_http::Request {
    let path = route.path.replace("{jobId}", "job-1").replace(
        "{externalId}",
        "urn:uuid:00000000-0000-4000-8000-000000000000",
    );
    let mut context = json!({
        "accountId": "test", "apiId": "test", "domainName": "api.example.com", "domainPrefix": "api",
        "requestId": "scopes", "routeKey": format!("{} {}", route.method, route.path),
        "stage": "$default", "time": "", "timeEpoch": 0,
        "http": {"method": route.method, "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": "192.0.2.1", "userAgent": "test"},
    });
    if let Some(claims) = claims {
        context["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    }
    let parameters: serde_json::Map<String, Value> = [
        ("jobId", "job-1"),
        (
            "externalId",
            "urn:uuid:00000000-0000-4000-8000-000000000000",
        ),
    ]
    .into_iter()
    .filter(|(name, _)| route.path.contains(&format!("{{{name}}}")))
    .map(|(name, value)| (name.to_owned(), json!(value)))
    .collect();
    let body =
        (route.method == "POST").then(|| envelope(vec![tool_use_event(&event_id())]).to_string());
    let event = json!({
        "version": "2.0", "routeKey": format!("{} {}", route.method, route.path),
        "rawPath": path, "rawQueryString": "",
        "headers": {"host": "api.example.com", "content-type": "application/json"},
        "pathParameters": parameters, "requestContext": context,
        "body": body, "isBase64Encoded": false,
    });
    lambda_http::request::from_str(&event.to_string())
        .unwrap_or_else(|e| panic!("{} {}: {e}", route.method, route.path))
}

fn claims(scopes: &[Scope]) -> Value {
    let scope: Vec<String> = scopes.iter().map(|s| s.uri()).collect();
    json!({"client_id": "scoped-client", "scope": scope.join(" ")})
}

async fn answer(app: &App, route: &caliper_http::Route, claims: Option<Value>) -> (u16, Value) {
    read_response(handlers::dispatch(app, route.function, request(route, claims)).await)
}

#[tokio::test]
async fn every_route_admits_exactly_its_scopes() {
    let (ports, _queue, _dir) = embedded_world();
    let app = App::new(ports, Limits::default());
    for route in ROUTES {
        let name = format!("{} {}", route.method, route.path);
        if route.scopes.is_empty() {
            for claims in [None, Some(claims(&[]))] {
                let (code, body) = answer(&app, route, claims).await;
                assert_eq!(code, 200, "{name} is public: {body}");
            }
            continue;
        }
        assert!(
            route.scopes.contains(&Scope::Admin),
            "{name}: admin opens every route"
        );

        let (code, body) = answer(&app, route, None).await;
        assert_eq!(code, 401, "{name} without a token: {body}");
        assert_eq!(body["status"], "error", "{name}: {body}");
        let (code, _) = answer(&app, route, Some(json!({"scope": Scope::Admin.uri()}))).await;
        assert_eq!(
            code, 401,
            "{name}: a token without client_id is not a caller"
        );

        for scope in Scope::ALL {
            let (code, body) = answer(&app, route, Some(claims(&[scope]))).await;
            if route.scopes.contains(&scope) {
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
                    route.scopes.iter().all(|s| message.contains(&s.uri())),
                    "{name}: the 403 names the scopes that would do: {message}"
                );
            }
        }
        let (code, _) = answer(&app, route, Some(claims(&[]))).await;
        assert_eq!(code, 403, "{name} with no scope at all");
    }
}

//! The one way the tests call the API: a request as API Gateway hands it to a Lambda, after our
//! Lambda authorizer admitted its caller, served as the function serving its route serves it.

use base64::Engine;
use caliper_http::routes::{route_for, SLASH_ROUTE};
use caliper_http::{authorizer, handlers, App, Limits, Route, Scope, ROUTES};
use serde_json::{json, Value};

/// The client of the payloads in `events/`.
pub const CLIENT: &str = "example-client";

/// The authorizer's context for `client` holding `scopes`, as handlers read it back.
pub fn caller(client: &str, scopes: &[Scope]) -> Value {
    let caller = caliper_http::Caller {
        client_id: client.to_owned(),
        scopes: scopes.to_vec(),
    };
    authorizer::context(&caller, None)
}

/// A request being built. Starts as [`CLIENT`] holding `event.create` and `webhook.create`.
#[derive(Debug, Clone)]
pub struct Api {
    event: Value,
}

impl Api {
    /// `METHOD path` (a concrete path: `/webhooks/abc`, `/webhooks/`), matched to its route in the
    /// table as API Gateway matches it, path parameters and all. Panics on a path of no route.
    pub fn new(method: &str, path: &str) -> Self {
        let (route, parameters, slashed) = matched(method, path)
            .unwrap_or_else(|| panic!("{method} {path} is no route of the table"));
        let mut api = Self::on(route);
        for (name, value) in parameters {
            api = api.param(name, value);
        }
        if slashed {
            let key = format!("{}{SLASH_ROUTE}", route.key());
            api.event["routeKey"] = json!(key);
            api.event["requestContext"]["routeKey"] = json!(key);
            api.event["rawPath"] = json!(path);
            api.event["requestContext"]["http"]["path"] = json!(path);
        }
        api
    }

    /// A request on `route`, its path parameters still to be given with [`Self::param`].
    pub fn on(route: &Route) -> Self {
        let event = json!({
            "version": "2.0",
            "routeKey": route.key(),
            "rawPath": route.path,
            "rawQueryString": "",
            "headers": {"content-type": "application/json"},
            "pathParameters": {},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "tests",
                "http": {"method": route.method, "path": route.path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "tests"},
                "requestId": "tests",
                "routeKey": route.key(),
                "stage": "$default",
                "timeEpoch": 0,
            },
            "isBase64Encoded": false,
        });
        Self { event }.by(CLIENT, &[Scope::EventCreate, Scope::WebhookCreate])
    }

    /// The payload `events/{name}.json`, exactly as `cargo lambda invoke --data-file` sends it.
    pub fn payload(name: &str) -> Self {
        Self {
            event: crate::payload_json(name),
        }
    }

    pub fn body(mut self, body: &Value) -> Self {
        self.event["body"] = json!(body.to_string());
        self.event["isBase64Encoded"] = json!(false);
        self
    }

    /// These exact bytes as the body, as API Gateway passes a body it does not read as text.
    pub fn bytes(mut self, bytes: &[u8]) -> Self {
        self.event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(bytes));
        self.event["isBase64Encoded"] = json!(true);
        self
    }

    pub fn no_body(mut self) -> Self {
        self.event.as_object_mut().map(|e| e.remove("body"));
        self
    }

    /// A path parameter of the request's route, its path rewritten to match.
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.event["pathParameters"][name] = json!(value);
        let route_key = self.event["routeKey"].as_str().unwrap_or_default();
        let mut path = route_key.split_once(' ').map_or("", |(_, p)| p).to_owned();
        if let Some(parameters) = self.event["pathParameters"].as_object() {
            for (name, value) in parameters {
                path = path.replace(&format!("{{{name}}}"), value.as_str().unwrap_or_default());
            }
        }
        self.event["rawPath"] = json!(path);
        self.event["requestContext"]["http"]["path"] = json!(path);
        self
    }

    /// The raw query string (`a=1&b=2`), replacing any the payload had.
    pub fn query(mut self, raw: &str) -> Self {
        self.event["rawQueryString"] = json!(raw);
        self.event
            .as_object_mut()
            .map(|e| e.remove("queryStringParameters"));
        self
    }

    /// A header; `None` removes it.
    pub fn header(mut self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.event["headers"][name] = json!(value),
            None => {
                self.event["headers"]
                    .as_object_mut()
                    .map(|h| h.remove(name));
            }
        }
        self
    }

    /// Called by `client` holding `scopes`.
    pub fn by(self, client: &str, scopes: &[Scope]) -> Self {
        self.authorizer(Some(caller(client, scopes)))
    }

    /// The authorizer's context as given (`None`: the request has none, as on a public route).
    pub fn authorizer(mut self, context: Option<Value>) -> Self {
        let request_context = &mut self.event["requestContext"];
        match context {
            Some(context) => request_context["authorizer"] = json!({ "lambda": context }),
            None => {
                request_context
                    .as_object_mut()
                    .map(|c| c.remove("authorizer"));
            }
        }
        self
    }

    pub fn request(&self) -> lambda_http::Request {
        self.try_request()
            .unwrap_or_else(|e| panic!("not an API Gateway event: {e}\n{}", self.event))
    }

    /// The request, or why lambda_http cannot read the event (as the Lambda runtime would not).
    pub fn try_request(&self) -> Result<lambda_http::Request, String> {
        lambda_http::request::from_str(&self.event.to_string()).map_err(|e| e.to_string())
    }

    /// Served by the function of its route, on `app`; the status and the JSON answer.
    pub async fn send(self, app: &App) -> (u16, Value) {
        let request = self.request();
        let function = self.function();
        crate::read_response(handlers::serve(app, handlers::service(function), request).await)
    }

    /// The same for a route that needs no storage, with these limits.
    pub fn send_pure(self, limits: &Limits) -> (u16, Value) {
        let request = self.request();
        crate::read_response(handlers::serve_pure(
            limits,
            handlers::service(self.function()),
            request,
        ))
    }

    /// The function serving the request's route.
    pub fn function(&self) -> caliper_http::routes::Function {
        let route_key = self.event["requestContext"]["routeKey"]
            .as_str()
            .or_else(|| self.event["routeKey"].as_str())
            .unwrap_or_default();
        let path = self.event["rawPath"].as_str().unwrap_or_default();
        route_for(route_key, path)
            .map(|route| route.function)
            .unwrap_or_else(|| panic!("{route_key} {path} is no route of the table"))
    }
}

/// A matched route, its path parameters, and whether it came in its slash form.
type Matched<'a> = (&'static Route, Vec<(&'static str, &'a str)>, bool);

/// The route of `method path`.
fn matched<'a>(method: &str, path: &'a str) -> Option<Matched<'a>> {
    let given: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let slashed = path.len() > 1 && path.ends_with('/');
    ROUTES.iter().find_map(|route| {
        let template: Vec<&str> = route.path.split('/').collect();
        if route.method != method
            || template.len() != given.len()
            || (slashed && !route.trailing_slash)
        {
            return None;
        }
        let mut parameters = Vec::new();
        for (want, got) in template.iter().zip(&given) {
            match want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                Some(name) if !got.is_empty() => parameters.push((name, *got)),
                _ if want == got => {}
                _ => return None,
            }
        }
        Some((route, parameters, slashed))
    })
}

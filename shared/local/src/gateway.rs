//! Plays API Gateway: matches the route, authorizes the bearer token as the stack's Lambda
//! authorizer does (401 without a good token, 403 without one of the route's scopes), builds the
//! HTTP API (v2) event a Lambda would receive, with the authorizer's context, and hands it to the
//! route's handler.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body as AxumBody;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use base64::Engine;
use caliper_http::routes::{Access, Body};
use caliper_http::{authorizer, handlers, ApiError, App, Problem, ROUTES};
use serde_json::{json, Map, Value};

use futures::StreamExt;

use caliper_auth::{Admitted, Authenticator, Refusal};

use crate::budget::{BodyBudget, Held, Waiting};
use crate::throttle::{retry_after, Throttle};

/// What the gateway allows a request's body, and its callers' failures.
pub struct GatewayLimits {
    /// The whole body must arrive within this (408 otherwise).
    pub body_timeout: Duration,
    /// Body bytes buffered at once across all requests; a request waits its turn for its share,
    /// at most `body_timeout` (503 otherwise).
    pub body_budget: usize,
    /// Of those, bytes buffered at once for one address (429 when its turn does not come).
    pub body_budget_per_address: usize,
}

struct Gateway {
    app: Arc<App>,
    routes: matchit::Router<Vec<&'static caliper_http::Route>>,
    authenticator: Authenticator,
    /// Failed authentications, shared with the IdP's token endpoint: a wrong API key counts
    /// against its address as a wrong client secret does.
    failures: Arc<Throttle>,
    requests: AtomicU64,
    limits: GatewayLimits,
    budget: Arc<BodyBudget>,
}

pub fn router(
    app: Arc<App>,
    authenticator: Authenticator,
    failures: Arc<Throttle>,
    limits: GatewayLimits,
) -> Router {
    let mut routes: matchit::Router<Vec<&'static caliper_http::Route>> = matchit::Router::new();
    // One entry per path with every method on it, however the table orders its routes.
    let mut by_path: BTreeMap<&str, Vec<&'static caliper_http::Route>> = BTreeMap::new();
    for route in ROUTES {
        by_path.entry(route.path).or_default().push(route);
    }
    for (path, same_path) in by_path {
        // The table is ours and fixed; a conflict would be a bug caught by the first test run.
        routes
            .insert(path, same_path)
            .expect("the route table has no conflicting paths");
    }
    let budget = BodyBudget::new(limits.body_budget, limits.body_budget_per_address);
    let gateway = Arc::new(Gateway {
        app,
        routes,
        authenticator,
        failures,
        requests: AtomicU64::new(0),
        limits,
        budget,
    });
    Router::new().fallback(serve).with_state(gateway)
}

async fn serve(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // Hyper refuses a head only once its read buffer (~400 KiB) is full and unparsed: whether a
    // larger one arrived whole first is timing. Ours is the bound, well under that.
    // The URI's parts as received, measured without formatting it again on every request.
    let uri = [
        parts.uri.scheme_str(),
        parts.uri.authority().map(|a| a.as_str()),
        parts.uri.path_and_query().map(|p| p.as_str()),
    ];
    let head: usize = uri.iter().flatten().map(|part| part.len()).sum::<usize>()
        + parts
            .headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 4)
            .sum::<usize>();
    if head > MAX_HEAD_BYTES {
        let message = format!(
            "The request's headers are larger than this server reads ({} KiB in all, 100 headers at most)",
            MAX_HEAD_BYTES >> 10
        );
        let problem = Problem::new("/headers", message.clone());
        let error = ApiError::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, message);
        return closing(to_axum(error.with_errors(vec![problem]).into_response()));
    }
    let path = parts.uri.path().to_owned();
    let method = parts.method.as_str().to_owned();

    // A collection's trailing-slash form reaches it as API Gateway's greedy route beside it does.
    let slashed = path.len() > 1 && path.ends_with('/');
    let matched = match gateway.routes.at(&path) {
        Ok(matched) => matched,
        Err(_) => match gateway.routes.at(path.trim_end_matches('/')) {
            Ok(matched) if slashed && matched.value.iter().all(|r| r.trailing_slash) => matched,
            _ => {
                return error(
                    StatusCode::NOT_FOUND,
                    format!("No route for {method} {path}"),
                )
            }
        },
    };
    let Some(route) = matched.value.iter().find(|r| r.method == method) else {
        let allowed: Vec<&str> = matched.value.iter().map(|r| r.method).collect();
        let mut response = error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "{method} is not allowed on {path}; use {}",
                allowed.join(" or ")
            ),
        );
        // RFC 9110: a 405 lists the methods the resource has.
        if let Ok(allow) = HeaderValue::from_str(&allowed.join(", ")) {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        return response;
    };
    let ip = crate::server::peer(&parts.extensions)
        .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |a| a.ip());
    let source = ip.to_string();
    // A public route (no scopes) has no authorizer, as in the template; nor has a route whose
    // body is its credential, but its failures count as failed authentications do.
    let signers =
        (route.access == Access::Signature).then(|| signature_keys(&matched.params, &source));
    // A signature cannot be guessed, so it is checked however many failures its address has
    // (others' forgeries never refuse it); while throttled, a failure is answered 429.
    let throttled = signers
        .as_ref()
        .and_then(|[address, connector]| gateway.failures.wait(&[address, connector]));
    let authorizer = match route.access {
        Access::Public | Access::Signature => None,
        Access::Caller(_) => {
            let authorization = parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            match authorize(&gateway, authorization, route, &source).await {
                Ok(authorizer) => Some(authorizer),
                Err(refusal) => return refusal,
            }
        }
    };

    let path_parameters: Map<String, Value> = matched
        .params
        .iter()
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();

    let (bytes, _budget) = match read_body(&gateway, route, &parts.headers, body, ip).await {
        Ok(read) => read,
        Err(refusal) => return refusal,
    };

    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        // API Gateway joins repeated headers with commas.
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), json!(value));
            }
        }
    }
    let route_key = if slashed && route.trailing_slash {
        format!("{}{}", route.key(), caliper_http::routes::SLASH_ROUTE)
    } else {
        route.key()
    };
    let request_id = gateway.requests.fetch_add(1, Ordering::Relaxed);
    let event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": parts.uri.query().unwrap_or(""),
        "headers": headers,
        "pathParameters": path_parameters,
        "requestContext": {
            "accountId": "local",
            "apiId": "caliper-local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source, "userAgent": ""},
            "requestId": format!("local-{request_id}"),
            "routeKey": route_key,
            "stage": "$default",
            "time": "",
            "timeEpoch": 0,
            "authorizer": authorizer,
        },
        "body": base64::engine::general_purpose::STANDARD.encode(&bytes),
        "isBase64Encoded": true,
    });
    let lambda_request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(request) => request,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("The request could not be read: {e}"),
            )
        }
    };
    let response = handlers::serve_route(&gateway.app, route, lambda_request).await;
    // A bad signature counts against its address too; a path with no connector only against
    // itself (a producer still posting to a deleted connector must not slow its others).
    if let Some([address, connector]) = &signers {
        let status = response.status();
        match status {
            StatusCode::UNAUTHORIZED => gateway.failures.failed(&[address, connector]),
            StatusCode::NOT_FOUND => gateway.failures.failed(&[connector]),
            _ => {}
        }
        if let (Some(wait), StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND) = (throttled, status)
        {
            return too_many(wait);
        }
        if status.is_client_error() {
            tracing::warn!(source, %status, "a body refused at a connector's path");
        }
    }
    to_axum(response)
}

/// What a connector's failures count against: the sender's address, and the connector from that
/// address (per address, so that no one can lock a producer out). The connector is named by its
/// id only when shaped as one, so that made-up paths cannot grow the table's keys.
fn signature_keys(params: &matchit::Params, source: &str) -> [String; 2] {
    let id = params
        .get("id")
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or("malformed");
    [
        format!("address:{source}"),
        format!("connector:{id}@{source}"),
    ]
}

/// 429 for a failure from an address with too many failed authentications (counted in the
/// throttle's minute report, not a line each).
fn too_many(wait: Duration) -> Response {
    let seconds = retry_after(wait);
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        format!("Too many failed authentications from this address; try again in {seconds} s"),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

fn to_axum(response: lambda_http::Response<lambda_http::Body>) -> Response {
    let (parts, body) = response.into_parts();
    let bytes: Vec<u8> = match body {
        lambda_http::Body::Empty => Vec::new(),
        lambda_http::Body::Text(text) => text.into_bytes(),
        lambda_http::Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    // axum and lambda_http share the `http` crate, so the parts carry over as they are.
    Response::from_parts(parts, AxumBody::from(bytes))
}

/// The Lambda authorizer's part of the request context, or the refusal: 401 without good
/// credentials, 403 without one of the route's scopes, 429 for a wrong API key from an address
/// with too many failed authentications, 503 when the keys cannot be read. A key is 256 random
/// bits, beyond guessing, so it is always checked: others' failures never refuse the right one.
async fn authorize(
    gateway: &Gateway,
    authorization: Option<&str>,
    route: &caliper_http::Route,
    source: &str,
) -> Result<Value, Response> {
    let Admitted { caller, expires_at } =
        match gateway.authenticator.authenticate(authorization).await {
            Ok(admitted) => admitted,
            Err(Refusal::Unavailable(why)) => {
                return Err(error(StatusCode::SERVICE_UNAVAILABLE, why))
            }
            Err(Refusal::Key(why)) => {
                let address = format!("address:{source}");
                let throttled = gateway.failures.wait(&[&address]);
                gateway.failures.failed(&[&address]);
                if let Some(wait) = throttled {
                    return Err(too_many(wait));
                }
                tracing::warn!(source, "a wrong or revoked API key");
                return Err(unauthorized(why));
            }
            Err(Refusal::Token(why)) => return Err(unauthorized(why)),
        };
    if let Err(forbidden) = caller.require(route.scopes()) {
        return Err(to_axum(ApiError::from(forbidden).into_response()));
    }
    let context = authorizer::context(&caller, expires_at);
    Ok(json!({ "lambda": context }))
}

fn unauthorized(why: String) -> Response {
    let error = ApiError::new(StatusCode::UNAUTHORIZED, why.clone())
        .with_errors(vec![Problem::new("/headers/authorization", why)]);
    let mut response = to_axum(error.into_response());
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn error(status: StatusCode, message: String) -> Response {
    to_axum(ApiError::new(status, message).into_response())
}

/// A refusal of the request's body as a whole: its problem is at the body's root (`""`).
fn refusal(status: StatusCode, message: String) -> Response {
    let problem = Problem::new("", message.clone());
    to_axum(
        ApiError::new(status, message)
            .with_errors(vec![problem])
            .into_response(),
    )
}

/// The route's body, read within the limits: its size (413 before reading when the declared
/// length is over it), its time (408), its framing (400), and the body budget: the buffer takes
/// its share as it grows with what arrives, so that a slow sender holds little more than it sent (429 when its address's
/// share stays spent for the whole body timeout, 503 when the whole budget does). What is held is
/// given back when the request is answered.
async fn read_body(
    gateway: &Gateway,
    route: &caliper_http::Route,
    headers: &HeaderMap,
    body: AxumBody,
    ip: std::net::IpAddr,
) -> Result<(axum::body::Bytes, Held), Response> {
    let max = route.body.max_bytes(&gateway.app.limits);
    let too_large = || {
        let message = match route.body {
            Body::None => format!("{} {} takes no request body", route.method, route.path),
            _ => format!(
                "The request body is larger than {max} bytes, the most {} {} takes",
                route.method, route.path
            ),
        };
        closing(refusal(StatusCode::PAYLOAD_TOO_LARGE, message))
    };
    // An envelope one byte over its limit reaches its handler, which answers 413 itself.
    let slack = usize::from(route.body == Body::Envelopes);
    if declared_over(headers, max) {
        return Err(too_large());
    }
    // A route that takes no body refuses one before reading a byte of it (chunked, it has no
    // declared length to be over).
    if max == 0 && headers.contains_key(header::TRANSFER_ENCODING) {
        return Err(too_large());
    }
    let timeout = gateway.limits.body_timeout;
    let mut held = gateway.budget.hold(ip);
    // The buffer is what the budget is charged: it grows as bytes arrive (doubling from 64 KiB,
    // never past the declared length or the limit), so that a body declared large and never sent
    // holds 64 KiB, and the budget bounds the memory bodies take.
    let most = declared_length(headers)
        .map_or(max + slack, |n| usize::try_from(n).unwrap_or(usize::MAX))
        .min(max + slack);
    let mut bytes: Vec<u8> = Vec::new();
    enum Failed {
        TooLarge,
        Framing(String),
        Budget,
    }
    let read = tokio::time::timeout(timeout, async {
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| Failed::Framing(e.to_string()))?;
            if bytes.len() + chunk.len() > max + slack {
                return Err(Failed::TooLarge);
            }
            let needed = bytes.len() + chunk.len();
            if needed > bytes.capacity() {
                let grown = (bytes.capacity() * 2)
                    .max(MIN_BODY_BUFFER)
                    .min(most)
                    .max(needed);
                held.take(grown - bytes.capacity())
                    .await
                    .map_err(|_| Failed::Budget)?;
                bytes.reserve_exact(grown - bytes.len());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(())
    })
    .await;
    let waiting = held.waiting;
    match read {
        Ok(Ok(())) => Ok((bytes.into(), held)),
        Ok(Err(Failed::TooLarge)) => Err(too_large()),
        Ok(Err(Failed::Framing(why))) => Err(closing(refusal(
            StatusCode::BAD_REQUEST,
            format!("The request body could not be read ({why}); send it with a correct Content-Length or chunked encoding"),
        ))),
        Ok(Err(Failed::Budget)) | Err(_) => Err(match waiting {
            Some(waiting) => busy(gateway, waiting),
            None => closing(refusal(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "The request body did not arrive within {} s",
                    timeout.as_secs()
                ),
            )),
        }),
    }
}

/// A body whose share of the budget did not come within the body timeout: 429 when its address
/// held its whole share, 503 when the server held the whole budget.
fn busy(gateway: &Gateway, waiting: Waiting) -> Response {
    let (status, message) = match waiting {
        Waiting::Address => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "This address is sending as many request bodies at once as it may ({} MiB); try again in a moment",
                gateway.budget.share_bytes() >> 20
            ),
        ),
        Waiting::Total => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is reading as many request bodies as it may; try again in a moment"
                .to_owned(),
        ),
    };
    let mut busy = closing(error(status, message));
    busy.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    busy
}

/// A body's first buffer: most bodies fit in it at once.
const MIN_BODY_BUFFER: usize = 64 << 10;
/// A request's URI and headers at most (API Gateway's own bound is far lower, 10 KiB).
const MAX_HEAD_BYTES: usize = 256 << 10;

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// Whether the declared length is over `max`: refused before a byte of the body is read.
pub(crate) fn declared_over(headers: &HeaderMap, max: usize) -> bool {
    declared_length(headers).is_some_and(|n| n > max as u64)
}

/// A refusal after which the connection closes (its body unread): the listener drains what the
/// client still sends for a moment, so that it reads the answer.
pub(crate) fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

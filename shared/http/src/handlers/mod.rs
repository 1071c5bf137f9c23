//! One handler per route, named in the route table (`routes::ROUTES`). [`serve`] finds the route
//! a request reached, checks the caller's scopes against the table and runs the route's handler,
//! which reads the request, calls the domain and maps the outcome to HTTP. None fails: every
//! error becomes the contract's error JSON.

mod api_description;
mod endpoint_config;
mod job_status;
mod query_events;
mod submit_events;
mod validate_events;
pub mod webhooks;

pub use api_description::{docs_page, docs_script, openapi, OPENAPI};
pub use endpoint_config::endpoint_config;
pub use job_status::job_status;
pub use query_events::{get_event, list_events};
pub use submit_events::submit_events;
pub use validate_events::validate_events;

use std::future::Future;
use std::pin::Pin;

use caliper_core::StoreError;
use caliper_validation::Limits;
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::app::App;
use crate::caller::Caller;
use crate::response::ApiError;
use crate::routes::{route_for, Function, Route};

/// What a handler answers: a response, or an error that becomes one.
pub type Answer = Result<Response<Body>, ApiError>;

/// What a storage handler's call gives: its answer, in time.
pub type Pending<'a> = Pin<Box<dyn Future<Output = Answer> + Send + 'a>>;

/// A route's handler.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Needs the request limits only (no storage): its function runs without AWS clients.
    Pure(fn(&Limits, &Call) -> Answer),
    /// Needs the stored jobs, events or webhooks.
    Stored(for<'a> fn(&'a App, &'a Call) -> Pending<'a>),
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pure(_) => "Handler::Pure",
            Self::Stored(_) => "Handler::Stored",
        })
    }
}

/// A request on its route, with the caller the route's scopes admitted.
pub struct Call {
    pub request: Request,
    pub route: &'static Route,
    caller: Option<Caller>,
}

impl Call {
    /// The authenticated caller; only a public route has none.
    pub fn caller(&self) -> Result<&Caller, ApiError> {
        self.caller.as_ref().ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "This route needs an access token")
        })
    }

    /// A path parameter of the route (empty when absent).
    pub fn param(&self, name: &str) -> &str {
        self.request
            .path_parameters_ref()
            .and_then(|p| p.first(name))
            .unwrap_or_default()
    }
}

/// Serves a request that reached `function`: by the route API Gateway matched (its
/// `routeKey`), which must be one of that function's.
pub async fn serve(app: &App, function: Function, request: Request) -> Response<Body> {
    match route_of(&request, function) {
        Ok(route) => serve_route(app, route, request).await,
        Err(error) => error.into_response(),
    }
}

/// The same for a function whose routes need no storage ([`Handler::Pure`]).
pub fn serve_pure(limits: &Limits, function: Function, request: Request) -> Response<Body> {
    let call = route_of(&request, function).and_then(|route| admit(route, request));
    respond(call.and_then(|call| match call.route.handler {
        Handler::Pure(handler) => handler(limits, &call),
        Handler::Stored(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "{} needs storage and is served by another function",
                call.route.key()
            ),
        )),
    }))
}

/// Serves a request on a route already matched (caliper-local matches it itself).
pub async fn serve_route(app: &App, route: &'static Route, request: Request) -> Response<Body> {
    let call = match admit(route, request) {
        Ok(call) => call,
        Err(error) => return error.into_response(),
    };
    respond(match route.handler {
        Handler::Pure(handler) => handler(&app.limits, &call),
        Handler::Stored(handler) => handler(app, &call).await,
    })
}

fn route_of(request: &Request, function: Function) -> Result<&'static Route, ApiError> {
    let route_key = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.route_key.as_deref(),
        _ => None,
    };
    route_for(route_key.unwrap_or_default(), request.raw_http_path())
        .filter(|route| route.function == function)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!(
                    "No route of {} for {} {}",
                    function.name(),
                    request.method(),
                    request.raw_http_path()
                ),
            )
        })
}

/// The call, once the caller holds one of the route's scopes (a public route admits anyone).
fn admit(route: &'static Route, request: Request) -> Result<Call, ApiError> {
    let caller = if route.scopes.is_empty() {
        None
    } else {
        let caller = Caller::from_request(&request)?;
        caller.require(route.scopes)?;
        Some(caller)
    };
    Ok(Call {
        request,
        route,
        caller,
    })
}

/// A storage failure as an answer: the caller may retry; the details stay in the logs.
pub(crate) fn unavailable(error: &StoreError) -> ApiError {
    tracing::error!(%error, "storage call failed");
    let status = if error.retryable {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    ApiError::new(
        status,
        "The service could not complete the request; try again shortly",
    )
}

fn respond(result: Answer) -> Response<Body> {
    result.unwrap_or_else(ApiError::into_response)
}

//! One handler per route's operation (`routes::ROUTES`), bound to it by the [`Service`] of the
//! function that serves it. [`serve`] finds the route a request reached, checks the caller's
//! scopes against the table and runs the operation's handler, which reads the request, calls the
//! domain and maps the outcome to HTTP. None fails: every error becomes the contract's error JSON.
//!
//! Each Lambda serves through its own `Service`, so that its binary holds its own handlers only
//! (and not, say, the validator in job-status).

mod api_description;
pub mod clients;
mod connector_events;
mod endpoint_config;
mod erasures;
mod exports;
mod job_status;
mod quarantine;
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
use caliper_validation::{Limits, Problem};
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::app::App;
use crate::caller::{self, Caller};
use crate::response::ApiError;
use crate::routes::{route_for, Access, Function, Operation, Route};

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

/// One function's handlers: the one that runs each operation of its routes.
pub struct Service {
    pub function: Function,
    pub handler: fn(Operation) -> Option<Handler>,
}

/// Wraps an `async fn(&App, &Call) -> Answer` as a [`Handler`].
macro_rules! stored {
    ($handler:path) => {
        Some(Handler::Stored(|app, call| Box::pin($handler(app, call))))
    };
}

pub const SUBMIT_EVENTS: Service = Service {
    function: Function::SubmitEvents,
    handler: |operation| match operation {
        Operation::SubmitEvents => stored!(submit_events),
        _ => None,
    },
};

pub const VALIDATE_EVENTS: Service = Service {
    function: Function::ValidateEvents,
    handler: |operation| match operation {
        Operation::ValidateEvents => Some(Handler::Pure(validate_events)),
        _ => None,
    },
};

pub const ENDPOINT_CONFIG: Service = Service {
    function: Function::EndpointConfig,
    handler: |operation| match operation {
        Operation::EndpointConfig => Some(Handler::Pure(endpoint_config)),
        _ => None,
    },
};

pub const QUERY_EVENTS: Service = Service {
    function: Function::QueryEvents,
    handler: |operation| match operation {
        Operation::ListEvents => stored!(list_events),
        Operation::GetEvent => stored!(get_event),
        _ => None,
    },
};

pub const JOB_STATUS: Service = Service {
    function: Function::JobStatus,
    handler: |operation| match operation {
        Operation::JobStatus => stored!(job_status),
        _ => None,
    },
};

pub const API_DESCRIPTION: Service = Service {
    function: Function::ApiDescription,
    handler: |operation| match operation {
        Operation::OpenApi => Some(Handler::Pure(openapi)),
        Operation::DocsPage => Some(Handler::Pure(docs_page)),
        Operation::DocsScript => Some(Handler::Pure(docs_script)),
        _ => None,
    },
};

pub const WEBHOOKS: Service = Service {
    function: Function::Webhooks,
    handler: |operation| match operation {
        Operation::ListWebhooks => stored!(webhooks::list),
        Operation::CreateWebhook => stored!(webhooks::create),
        Operation::GetWebhook => stored!(webhooks::get),
        Operation::ReplaceWebhook => stored!(webhooks::replace),
        Operation::DeleteWebhook => stored!(webhooks::delete),
        Operation::ActivateWebhook => stored!(webhooks::activate),
        Operation::DeactivateWebhook => stored!(webhooks::deactivate),
        Operation::ListFilters => stored!(webhooks::list_filters),
        Operation::CreateFilter => stored!(webhooks::create_filter),
        Operation::GetFilter => stored!(webhooks::get_filter),
        Operation::ReplaceFilter => stored!(webhooks::replace_filter),
        Operation::DeleteFilter => stored!(webhooks::delete_filter),
        Operation::FiltersOfWebhook => stored!(webhooks::filters_of),
        _ => None,
    },
};

pub const CLIENTS: Service = Service {
    function: Function::Clients,
    handler: |operation| match operation {
        Operation::GetClient => stored!(clients::get),
        Operation::SetClient => stored!(clients::set),
        Operation::CreateKey => stored!(clients::create_key),
        Operation::ListKeys => stored!(clients::list_keys),
        Operation::RevokeKey => stored!(clients::revoke_key),
        Operation::CreateConnector => stored!(clients::create_connector),
        Operation::ListConnectors => stored!(clients::list_connectors),
        Operation::DeleteConnector => stored!(clients::delete_connector),
        _ => None,
    },
};

pub const CONNECTOR_EVENTS: Service = Service {
    function: Function::ConnectorEvents,
    handler: |operation| match operation {
        Operation::ReceiveCanvas => stored!(connector_events::receive),
        _ => None,
    },
};

pub const QUARANTINE: Service = Service {
    function: Function::Quarantine,
    handler: |operation| match operation {
        Operation::ListQuarantine => stored!(quarantine::list),
        Operation::ReplayQuarantined => stored!(quarantine::replay),
        Operation::DeleteQuarantined => stored!(quarantine::delete),
        _ => None,
    },
};

pub const EXPORTS: Service = Service {
    function: Function::Exports,
    handler: |operation| match operation {
        Operation::CreateExport => stored!(exports::create),
        Operation::GetExport => stored!(exports::get),
        Operation::GetExportFile => stored!(exports::file),
        _ => None,
    },
};

pub const ERASURES: Service = Service {
    function: Function::Erasures,
    handler: |operation| match operation {
        Operation::CreateErasure => stored!(erasures::create),
        Operation::GetErasure => stored!(erasures::get),
        _ => None,
    },
};

/// The service of `function` (caliper-local serves them all).
pub fn service(function: Function) -> &'static Service {
    match function {
        Function::SubmitEvents => &SUBMIT_EVENTS,
        Function::ValidateEvents => &VALIDATE_EVENTS,
        Function::EndpointConfig => &ENDPOINT_CONFIG,
        Function::QueryEvents => &QUERY_EVENTS,
        Function::JobStatus => &JOB_STATUS,
        Function::ApiDescription => &API_DESCRIPTION,
        Function::Webhooks => &WEBHOOKS,
        Function::Clients => &CLIENTS,
        Function::Quarantine => &QUARANTINE,
        Function::ConnectorEvents => &CONNECTOR_EVENTS,
        Function::Exports => &EXPORTS,
        Function::Erasures => &ERASURES,
    }
}

/// Serves a request that reached `service`'s function: by the route API Gateway matched (its
/// `routeKey`), which must be one of that function's.
pub async fn serve(app: &App, service: &Service, request: Request) -> Response<Body> {
    match route_of(&request, service.function) {
        Ok(route) => run(app, service, route, request).await,
        Err(error) => error.into_response(),
    }
}

/// The same for a function whose routes need no storage ([`Handler::Pure`]).
pub fn serve_pure(limits: &Limits, service: &Service, request: Request) -> Response<Body> {
    let call = route_of(&request, service.function).and_then(|route| admit(route, request));
    respond(call.and_then(|call| match handler(service, call.route)? {
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
    run(app, service(route.function), route, request).await
}

async fn run(
    app: &App,
    service: &Service,
    route: &'static Route,
    request: Request,
) -> Response<Body> {
    let call = match admit(route, request) {
        Ok(call) => call,
        Err(error) => return error.into_response(),
    };
    respond(match handler(service, route) {
        Ok(Handler::Pure(handler)) => handler(&app.limits, &call),
        Ok(Handler::Stored(handler)) => handler(app, &call).await,
        Err(error) => Err(error),
    })
}

/// The handler of `route`'s operation in `service`.
fn handler(service: &Service, route: &Route) -> Result<Handler, ApiError> {
    (service.handler)(route.operation).ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "{} has no handler in {}",
                route.key(),
                service.function.name()
            ),
        )
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
    let caller = match route.access {
        Access::Public | Access::Signature => None,
        Access::Caller(scopes) => {
            let caller = caller::from_request(&request)?;
            caller.require(scopes)?;
            Some(caller)
        }
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
    let status = if error.is_retryable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    ApiError::new(
        status,
        "The service could not complete the request; try again shortly",
    )
}

/// The one query parameter a listing takes, given at most once; anything else is a 400.
pub(crate) fn only_parameter(request: &Request, name: &str) -> Result<Option<String>, ApiError> {
    let mut problems = Vec::new();
    let mut value = None;
    for (given, text) in request
        .query_string_parameters_ref()
        .into_iter()
        .flat_map(|q| q.iter())
    {
        let path = format!("/query/{given}");
        if given != name {
            problems.push(Problem::new(
                path,
                format!("{given} is not a parameter of this listing; it takes only {name}"),
            ));
        } else if text.trim().is_empty() {
            problems.push(Problem::new(
                path,
                format!("{name} is empty; give a value, or leave it out"),
            ));
        } else if value.replace(text.to_owned()).is_some() {
            problems.push(Problem::new(
                path,
                format!("{name} is given more than once; give it once"),
            ));
        }
    }
    if problems.is_empty() {
        Ok(value)
    } else {
        problems.dedup();
        Err(
            ApiError::new(StatusCode::BAD_REQUEST, "Invalid query parameters")
                .with_errors(problems),
        )
    }
}

/// A request body's problems as an answer.
pub(crate) fn invalid(problems: Vec<Problem>) -> ApiError {
    let n = problems.len();
    let noun = if n == 1 { "problem" } else { "problems" };
    ApiError::new(
        StatusCode::BAD_REQUEST,
        format!("The request body is invalid: {n} {noun} found"),
    )
    .with_errors(problems)
}

fn respond(result: Answer) -> Response<Body> {
    result.unwrap_or_else(ApiError::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::ROUTES;

    #[test]
    fn every_route_has_a_handler_in_its_functions_service_and_in_no_other() {
        for route in ROUTES {
            for function in Function::ALL {
                let handled = (service(function).handler)(route.operation).is_some();
                assert_eq!(
                    handled,
                    function == route.function,
                    "{} in {function:?}",
                    route.key()
                );
            }
        }
    }

    #[test]
    fn the_storage_free_functions_have_only_pure_handlers() {
        for service in [&VALIDATE_EVENTS, &ENDPOINT_CONFIG, &API_DESCRIPTION] {
            for route in ROUTES.iter().filter(|r| r.function == service.function) {
                let handler = (service.handler)(route.operation);
                assert!(matches!(handler, Some(Handler::Pure(_))), "{}", route.key());
            }
        }
    }
}

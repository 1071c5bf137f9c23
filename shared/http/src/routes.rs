//! Every route of the API, the function that serves it and the scopes it admits: the one table
//! that caliper-local routes and authorizes by, and that the SAM template must agree with.

use crate::caller::Scope;
use crate::handlers::{self, Handler};

/// The Lambda functions that serve routes: each a crate in `functions/` of this name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    SubmitEvents,
    ValidateEvents,
    EndpointConfig,
    QueryEvents,
    JobStatus,
    ApiDescription,
    Webhooks,
}

impl Function {
    pub const ALL: [Function; 7] = [
        Self::SubmitEvents,
        Self::ValidateEvents,
        Self::EndpointConfig,
        Self::QueryEvents,
        Self::JobStatus,
        Self::ApiDescription,
        Self::Webhooks,
    ];

    /// Its crate's name in `functions/` and its resource's stem in the template.
    pub fn name(self) -> &'static str {
        match self {
            Self::SubmitEvents => "submit-events",
            Self::ValidateEvents => "validate-events",
            Self::EndpointConfig => "endpoint-config",
            Self::QueryEvents => "query-events",
            Self::JobStatus => "job-status",
            Self::ApiDescription => "api-description",
            Self::Webhooks => "webhooks",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    /// In API Gateway's syntax: `{name}` for a path parameter.
    pub path: &'static str,
    /// The function whose binary serves it.
    pub function: Function,
    /// Any one of these lets a token through (the authorizer allows the route;
    /// [`handlers::serve`] checks them again before the handler runs). None: a public route,
    /// served without a token.
    pub scopes: &'static [Scope],
    /// What answers it, once the caller's scopes are checked.
    pub handler: Handler,
    /// Also answered with a trailing slash, the form the official clients send (`/webhooks/`).
    /// API Gateway's route keys cannot end in `/`, so the template adds a greedy route
    /// (`{path}/{proxy+}`, [`SLASH_ROUTE`]) beside this one.
    pub trailing_slash: bool,
}

impl PartialEq for Route {
    /// A route is its key: the table has one route per key (tested below).
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method && self.path == other.path
    }
}

/// What the template appends to a [`Route::trailing_slash`] route's path for its slash form.
pub const SLASH_ROUTE: &str = "/{proxy+}";

impl Route {
    /// `METHOD /path`, API Gateway's route key.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The path as clients are told to call it: with its trailing slash where it has one.
    pub fn documented_path(&self) -> String {
        if self.trailing_slash {
            format!("{}/", self.path)
        } else {
            self.path.to_owned()
        }
    }

    /// Whether its body is a Caliper envelope (up to `Limits::max_body_bytes`) rather than a
    /// small JSON document or nothing.
    pub fn takes_envelopes(&self) -> bool {
        matches!(
            self.function,
            Function::SubmitEvents | Function::ValidateEvents
        )
    }
}

/// Sending and reading back one's own events.
const EVENTS: &[Scope] = &[Scope::EventCreate, Scope::Admin];
/// Reading webhooks and filters.
const WEBHOOK_READ: &[Scope] = &[Scope::WebhookReadonly, Scope::WebhookCreate, Scope::Admin];
/// Creating, changing and deleting them.
const WEBHOOK_WRITE: &[Scope] = &[Scope::WebhookCreate, Scope::Admin];
/// Anyone, without a token.
const PUBLIC: &[Scope] = &[];

const fn route(
    method: &'static str,
    path: &'static str,
    function: Function,
    scopes: &'static [Scope],
    handler: Handler,
) -> Route {
    Route {
        method,
        path,
        function,
        scopes,
        handler,
        trailing_slash: false,
    }
}

/// A collection of webhooks or filters, which the official client calls with a trailing slash.
const fn collection(
    method: &'static str,
    path: &'static str,
    scopes: &'static [Scope],
    handler: Handler,
) -> Route {
    Route {
        trailing_slash: true,
        ..route(method, path, Function::Webhooks, scopes, handler)
    }
}

const fn webhook(
    method: &'static str,
    path: &'static str,
    scopes: &'static [Scope],
    handler: Handler,
) -> Route {
    route(method, path, Function::Webhooks, scopes, handler)
}

/// Wraps an `async fn(&App, &Call) -> Answer` as a [`Handler`].
macro_rules! stored {
    ($handler:path) => {
        Handler::Stored(|app, call| Box::pin($handler(app, call)))
    };
}

use Function::*;

/// Every route: to change a route's scopes or handler, change its line here. The authorizer's
/// policy, caliper-local's routing, the template test and the OpenAPI test all read this table.
pub const ROUTES: &[Route] = &[
    route(
        "POST",
        "/caliper/event",
        SubmitEvents,
        EVENTS,
        stored!(handlers::submit_events),
    ),
    route(
        "POST",
        "/caliper/v1p2",
        SubmitEvents,
        EVENTS,
        stored!(handlers::submit_events),
    ),
    route(
        "GET",
        "/caliper/event",
        EndpointConfig,
        EVENTS,
        Handler::Pure(handlers::endpoint_config),
    ),
    route(
        "POST",
        "/caliper/event/validate",
        ValidateEvents,
        EVENTS,
        Handler::Pure(handlers::validate_events),
    ),
    route(
        "GET",
        "/caliper/events",
        QueryEvents,
        EVENTS,
        stored!(handlers::list_events),
    ),
    route(
        "GET",
        "/caliper/events/{externalId}",
        QueryEvents,
        EVENTS,
        stored!(handlers::get_event),
    ),
    route(
        "GET",
        "/jobs/{jobId}/status",
        JobStatus,
        EVENTS,
        stored!(handlers::job_status),
    ),
    route(
        "GET",
        "/openapi.json",
        ApiDescription,
        PUBLIC,
        Handler::Pure(handlers::openapi),
    ),
    route(
        "GET",
        "/docs",
        ApiDescription,
        PUBLIC,
        Handler::Pure(handlers::docs_page),
    ),
    route(
        "GET",
        "/docs/redoc.standalone.js",
        ApiDescription,
        PUBLIC,
        Handler::Pure(handlers::docs_script),
    ),
    collection(
        "GET",
        "/webhooks",
        WEBHOOK_READ,
        stored!(handlers::webhooks::list),
    ),
    collection(
        "POST",
        "/webhooks",
        WEBHOOK_WRITE,
        stored!(handlers::webhooks::create),
    ),
    webhook(
        "GET",
        "/webhooks/{id}",
        WEBHOOK_READ,
        stored!(handlers::webhooks::get),
    ),
    webhook(
        "PUT",
        "/webhooks/{id}",
        WEBHOOK_WRITE,
        stored!(handlers::webhooks::replace),
    ),
    webhook(
        "DELETE",
        "/webhooks/{id}",
        WEBHOOK_WRITE,
        stored!(handlers::webhooks::delete),
    ),
    webhook(
        "PUT",
        "/webhooks/{id}/activate",
        WEBHOOK_WRITE,
        stored!(handlers::webhooks::activate),
    ),
    webhook(
        "PUT",
        "/webhooks/{id}/deactivate",
        WEBHOOK_WRITE,
        stored!(handlers::webhooks::deactivate),
    ),
    collection(
        "GET",
        "/webhook-filters",
        WEBHOOK_READ,
        stored!(handlers::webhooks::list_filters),
    ),
    collection(
        "POST",
        "/webhook-filters",
        WEBHOOK_WRITE,
        stored!(handlers::webhooks::create_filter),
    ),
    webhook(
        "GET",
        "/webhook-filters/{id}",
        WEBHOOK_READ,
        stored!(handlers::webhooks::get_filter),
    ),
    webhook(
        "PUT",
        "/webhook-filters/{id}",
        WEBHOOK_WRITE,
        stored!(handlers::webhooks::replace_filter),
    ),
    webhook(
        "DELETE",
        "/webhook-filters/{id}",
        WEBHOOK_WRITE,
        stored!(handlers::webhooks::delete_filter),
    ),
    webhook(
        "GET",
        "/webhook-filters/webhook/{webhookId}",
        WEBHOOK_READ,
        stored!(handlers::webhooks::filters_of),
    ),
];

/// The route a request reached, from API Gateway's route key and the path asked for. The greedy
/// route beside a collection (`GET /webhooks/{proxy+}`) is that collection only for the bare
/// trailing slash: anything deeper under it is no route.
pub fn route_for(route_key: &str, raw_path: &str) -> Option<&'static Route> {
    if let Some(base) = route_key.strip_suffix(SLASH_ROUTE) {
        let (method, path) = base.split_once(' ')?;
        return ROUTES.iter().find(|r| {
            r.trailing_slash
                && r.method == method
                && r.path == path
                && raw_path.strip_suffix('/') == Some(path)
        });
    }
    let (method, path) = route_key.split_once(' ')?;
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_route_key_ends_in_a_slash_and_every_key_is_one_route() {
        for route in ROUTES {
            assert!(!route.path.ends_with('/'), "{}", route.key());
            assert_eq!(route_for(&route.key(), route.path), Some(route));
        }
    }

    #[test]
    fn the_slash_form_reaches_its_collection_and_nothing_deeper_does() {
        let list = route_for("GET /webhooks/{proxy+}", "/webhooks/").map(Route::key);
        assert_eq!(list.as_deref(), Some("GET /webhooks"));
        assert_eq!(route_for("GET /webhooks/{proxy+}", "/webhooks/a/b"), None);
        assert_eq!(
            route_for("GET /caliper/events/{proxy+}", "/caliper/events/"),
            None
        );
        assert_eq!(route_for("GET /nowhere", "/nowhere"), None);
    }

    #[test]
    fn every_function_serves_a_route() {
        for function in Function::ALL {
            assert!(
                ROUTES.iter().any(|r| r.function == function),
                "{function:?}"
            );
        }
    }
}

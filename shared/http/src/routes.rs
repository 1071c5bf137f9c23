//! Every route of the API, the function that serves it and the scopes it admits: the one table
//! that caliper-local routes and authorizes by, and that the SAM template must agree with.

use crate::caller::Scope;

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

/// What a route does: each has one handler, in the module of the function that serves it
/// (`handlers::Service`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    SubmitEvents,
    ValidateEvents,
    EndpointConfig,
    ListEvents,
    GetEvent,
    JobStatus,
    OpenApi,
    DocsPage,
    DocsScript,
    ListWebhooks,
    CreateWebhook,
    GetWebhook,
    ReplaceWebhook,
    DeleteWebhook,
    ActivateWebhook,
    DeactivateWebhook,
    ListFilters,
    CreateFilter,
    GetFilter,
    ReplaceFilter,
    DeleteFilter,
    FiltersOfWebhook,
}

impl Operation {
    /// The function that serves it.
    pub const fn function(self) -> Function {
        match self {
            Self::SubmitEvents => Function::SubmitEvents,
            Self::ValidateEvents => Function::ValidateEvents,
            Self::EndpointConfig => Function::EndpointConfig,
            Self::ListEvents | Self::GetEvent => Function::QueryEvents,
            Self::JobStatus => Function::JobStatus,
            Self::OpenApi | Self::DocsPage | Self::DocsScript => Function::ApiDescription,
            Self::ListWebhooks
            | Self::CreateWebhook
            | Self::GetWebhook
            | Self::ReplaceWebhook
            | Self::DeleteWebhook
            | Self::ActivateWebhook
            | Self::DeactivateWebhook
            | Self::ListFilters
            | Self::CreateFilter
            | Self::GetFilter
            | Self::ReplaceFilter
            | Self::DeleteFilter
            | Self::FiltersOfWebhook => Function::Webhooks,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// In API Gateway's syntax: `{name}` for a path parameter.
    pub path: &'static str,
    /// What it does; its handler is the operation's.
    pub operation: Operation,
    /// The function whose binary serves it (the operation's).
    pub function: Function,
    /// Any one of these lets a token through (the authorizer allows the route;
    /// `handlers::serve` checks them again before the handler runs). None: a public route,
    /// served without a token.
    pub scopes: &'static [Scope],
    /// Also answered with a trailing slash, the form the official clients send (`/webhooks/`).
    /// API Gateway's route keys cannot end in `/`, so the template adds a greedy route
    /// (`{path}/{proxy+}`, [`SLASH_ROUTE`]) beside this one.
    pub trailing_slash: bool,
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
    operation: Operation,
    scopes: &'static [Scope],
) -> Route {
    Route {
        method,
        path,
        operation,
        function: operation.function(),
        scopes,
        trailing_slash: false,
    }
}

/// A collection of webhooks or filters, which the official client calls with a trailing slash.
const fn collection(
    method: &'static str,
    path: &'static str,
    operation: Operation,
    scopes: &'static [Scope],
) -> Route {
    Route {
        trailing_slash: true,
        ..route(method, path, operation, scopes)
    }
}

use Operation::*;

/// Every route: to change a route's scopes or what it does, change its line here. The
/// authorizer's policy, the check before every handler, caliper-local's routing, the template
/// test and the OpenAPI test all read this table. (Handlers are bound to operations in each
/// function's module, so that a function's binary holds its own handlers only.)
#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    route("POST", "/caliper/event", SubmitEvents, EVENTS),
    route("POST", "/caliper/v1p2", SubmitEvents, EVENTS),
    route("GET", "/caliper/event", EndpointConfig, EVENTS),
    route("POST", "/caliper/event/validate", ValidateEvents, EVENTS),
    route("GET", "/caliper/events", ListEvents, EVENTS),
    route("GET", "/caliper/events/{externalId}", GetEvent, EVENTS),
    route("GET", "/jobs/{jobId}/status", JobStatus, EVENTS),
    route("GET", "/openapi.json", OpenApi, PUBLIC),
    route("GET", "/docs", DocsPage, PUBLIC),
    route("GET", "/docs/redoc.standalone.js", DocsScript, PUBLIC),
    collection("GET", "/webhooks", ListWebhooks, WEBHOOK_READ),
    collection("POST", "/webhooks", CreateWebhook, WEBHOOK_WRITE),
    route("GET", "/webhooks/{id}", GetWebhook, WEBHOOK_READ),
    route("PUT", "/webhooks/{id}", ReplaceWebhook, WEBHOOK_WRITE),
    route("DELETE", "/webhooks/{id}", DeleteWebhook, WEBHOOK_WRITE),
    route("PUT", "/webhooks/{id}/activate", ActivateWebhook, WEBHOOK_WRITE),
    route("PUT", "/webhooks/{id}/deactivate", DeactivateWebhook, WEBHOOK_WRITE),
    collection("GET", "/webhook-filters", ListFilters, WEBHOOK_READ),
    collection("POST", "/webhook-filters", CreateFilter, WEBHOOK_WRITE),
    route("GET", "/webhook-filters/{id}", GetFilter, WEBHOOK_READ),
    route("PUT", "/webhook-filters/{id}", ReplaceFilter, WEBHOOK_WRITE),
    route("DELETE", "/webhook-filters/{id}", DeleteFilter, WEBHOOK_WRITE),
    route("GET", "/webhook-filters/webhook/{webhookId}", FiltersOfWebhook, WEBHOOK_READ),
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

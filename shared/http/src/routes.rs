//! Every route of the API: the function that serves it, who may call it and what its body is. The
//! one table that the handlers, the Lambda authorizer and caliper-local route, authorize and read
//! bodies by, and that the SAM template, the OpenAPI description and `shared/http/README.md` are
//! held to by tests.

use caliper_validation::Limits;

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
    Clients,
    Quarantine,
    ConnectorEvents,
    Exports,
    Erasures,
}

impl Function {
    pub const ALL: [Function; 12] = [
        Self::SubmitEvents,
        Self::ValidateEvents,
        Self::EndpointConfig,
        Self::QueryEvents,
        Self::JobStatus,
        Self::ApiDescription,
        Self::Webhooks,
        Self::Clients,
        Self::Quarantine,
        Self::ConnectorEvents,
        Self::Exports,
        Self::Erasures,
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
            Self::Clients => "clients",
            Self::Quarantine => "quarantine",
            Self::ConnectorEvents => "connector-events",
            Self::Exports => "exports",
            Self::Erasures => "erasures",
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
    GetClient,
    SetClient,
    CreateKey,
    ListKeys,
    RevokeKey,
    ListQuarantine,
    ReplayQuarantined,
    DeleteQuarantined,
    CreateConnector,
    ListConnectors,
    DeleteConnector,
    ReceiveCanvas,
    CreateExport,
    GetExport,
    GetExportFile,
    CreateErasure,
    GetErasure,
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
            Self::GetClient
            | Self::SetClient
            | Self::CreateKey
            | Self::ListKeys
            | Self::RevokeKey
            | Self::CreateConnector
            | Self::ListConnectors
            | Self::DeleteConnector => Function::Clients,
            Self::ListQuarantine | Self::ReplayQuarantined | Self::DeleteQuarantined => {
                Function::Quarantine
            }
            Self::ReceiveCanvas => Function::ConnectorEvents,
            Self::CreateExport | Self::GetExport | Self::GetExportFile => Function::Exports,
            Self::CreateErasure | Self::GetErasure => Function::Erasures,
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
    /// Who may call it.
    pub access: Access,
    /// What its request carries.
    pub body: Body,
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

    /// The scopes that let a caller in; none for a route that needs no caller.
    pub fn scopes(&self) -> &'static [Scope] {
        match self.access {
            Access::Caller(scopes) => scopes,
            Access::Public | Access::Signature => &[],
        }
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials: no authorizer runs.
    Public,
    /// A producer whose body is its credential (a connector's): no authorizer runs, the handler
    /// checks the body's signature, and failures are throttled as failed authentications.
    Signature,
    /// An authenticated caller holding any one of these scopes (admin always): the authorizer
    /// lets the route through, and `handlers::serve` checks them again before the handler runs.
    Caller(&'static [Scope]),
}

/// What a route's request carries, and so how much of it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// Nothing: a body sent is refused unread.
    None,
    /// A Caliper envelope, or a JSON array of them: up to `Limits::max_body_bytes`.
    Envelopes,
    /// A small JSON document (a webhook, a filter): up to [`Body::DOCUMENT_BYTES`].
    Document,
}

impl Body {
    /// The most a JSON document (not an envelope) may take.
    pub const DOCUMENT_BYTES: usize = 64 * 1024;

    /// The most a body of this kind may take.
    pub fn max_bytes(self, limits: &Limits) -> usize {
        match self {
            Self::None => 0,
            Self::Envelopes => limits.max_body_bytes,
            Self::Document => Self::DOCUMENT_BYTES,
        }
    }

    /// Its name in the route listings.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Envelopes => "envelopes",
            Self::Document => "document",
        }
    }
}

/// Sending and reading back one's own events.
const EVENTS: Access = Access::Caller(&[Scope::EventCreate, Scope::Admin]);
/// Reading webhooks and filters.
const WEBHOOK_READ: Access =
    Access::Caller(&[Scope::WebhookReadonly, Scope::WebhookCreate, Scope::Admin]);
/// Creating, changing and deleting them.
const WEBHOOK_WRITE: Access = Access::Caller(&[Scope::WebhookCreate, Scope::Admin]);
/// Managing clients: their settings and keys.
const ADMIN: Access = Access::Caller(&[Scope::Admin]);
/// Anyone, without a token.
const PUBLIC: Access = Access::Public;
/// A connector's producer, by its body's signature.
const SIGNED: Access = Access::Signature;

const fn route(
    method: &'static str,
    path: &'static str,
    operation: Operation,
    access: Access,
    body: Body,
) -> Route {
    Route {
        method,
        path,
        operation,
        function: operation.function(),
        access,
        body,
        trailing_slash: false,
    }
}

/// A collection of webhooks or filters, which the official client calls with a trailing slash.
const fn collection(
    method: &'static str,
    path: &'static str,
    operation: Operation,
    access: Access,
    body: Body,
) -> Route {
    Route {
        trailing_slash: true,
        ..route(method, path, operation, access, body)
    }
}

use Body::{Document, Envelopes, None as Empty};
use Operation::*;

/// Every route: to add one or change who may call it, what it does or what it takes, change its
/// line here (and bind a new operation to its handler in its function's `handlers::Service`).
/// The authorizer's policy, the check before every handler, caliper-local's routing and body
/// limits, and the template, OpenAPI and README tests all read this table.
#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    route("POST", "/caliper/event", SubmitEvents, EVENTS, Envelopes),
    route("POST", "/caliper/v1p2", SubmitEvents, EVENTS, Envelopes),
    route("GET", "/caliper/event", EndpointConfig, EVENTS, Empty),
    route("POST", "/caliper/event/validate", ValidateEvents, EVENTS, Envelopes),
    route("GET", "/caliper/events", ListEvents, EVENTS, Empty),
    route("GET", "/caliper/events/{externalId}", GetEvent, EVENTS, Empty),
    route("GET", "/jobs/{jobId}/status", JobStatus, EVENTS, Empty),
    route("GET", "/openapi.json", OpenApi, PUBLIC, Empty),
    route("GET", "/docs", DocsPage, PUBLIC, Empty),
    route("GET", "/docs/redoc.standalone.js", DocsScript, PUBLIC, Empty),
    collection("GET", "/webhooks", ListWebhooks, WEBHOOK_READ, Empty),
    collection("POST", "/webhooks", CreateWebhook, WEBHOOK_WRITE, Document),
    route("GET", "/webhooks/{id}", GetWebhook, WEBHOOK_READ, Empty),
    route("PUT", "/webhooks/{id}", ReplaceWebhook, WEBHOOK_WRITE, Document),
    route("DELETE", "/webhooks/{id}", DeleteWebhook, WEBHOOK_WRITE, Empty),
    route("PUT", "/webhooks/{id}/activate", ActivateWebhook, WEBHOOK_WRITE, Document),
    route("PUT", "/webhooks/{id}/deactivate", DeactivateWebhook, WEBHOOK_WRITE, Document),
    collection("GET", "/webhook-filters", ListFilters, WEBHOOK_READ, Empty),
    collection("POST", "/webhook-filters", CreateFilter, WEBHOOK_WRITE, Document),
    route("GET", "/webhook-filters/{id}", GetFilter, WEBHOOK_READ, Empty),
    route("PUT", "/webhook-filters/{id}", ReplaceFilter, WEBHOOK_WRITE, Document),
    route("DELETE", "/webhook-filters/{id}", DeleteFilter, WEBHOOK_WRITE, Empty),
    route("GET", "/webhook-filters/webhook/{webhookId}", FiltersOfWebhook, WEBHOOK_READ, Empty),
    route("GET", "/clients/{clientAppId}", GetClient, ADMIN, Empty),
    route("PUT", "/clients/{clientAppId}", SetClient, ADMIN, Document),
    route("POST", "/keys", CreateKey, ADMIN, Document),
    route("GET", "/keys", ListKeys, ADMIN, Empty),
    route("DELETE", "/keys/{id}", RevokeKey, ADMIN, Empty),
    route("GET", "/quarantine", ListQuarantine, EVENTS, Empty),
    route("POST", "/quarantine/{id}/replay", ReplayQuarantined, EVENTS, Empty),
    route("DELETE", "/quarantine/{id}", DeleteQuarantined, EVENTS, Empty),
    route("POST", "/connectors", CreateConnector, ADMIN, Document),
    route("GET", "/connectors", ListConnectors, ADMIN, Empty),
    route("DELETE", "/connectors/{id}", DeleteConnector, ADMIN, Empty),
    route("POST", "/connectors/canvas/{id}", ReceiveCanvas, SIGNED, Envelopes),
    route("POST", "/exports", CreateExport, EVENTS, Document),
    route("GET", "/exports/{id}", GetExport, EVENTS, Empty),
    route("GET", "/exports/{id}/{partition}/{file}", GetExportFile, EVENTS, Empty),
    route("POST", "/erasures", CreateErasure, ADMIN, Document),
    route("GET", "/erasures/{id}", GetErasure, ADMIN, Empty),
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

    /// The routes table of this crate's README is this table, row for row: method, path, function,
    /// who may call and body (the last column, what the route does, is the README's own).
    #[test]
    fn the_readme_lists_every_route_as_the_table_says() {
        let readme = include_str!("../README.md");
        let rows: Vec<Vec<&str>> = readme
            .lines()
            .skip_while(|line| !line.starts_with("| method | path | function |"))
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .map(|line| {
                line.split(" | ")
                    .map(|c| c.trim_matches(['|', ' ', '`']))
                    .collect()
            })
            .collect();
        let expected: Vec<Vec<String>> = ROUTES
            .iter()
            .map(|route| {
                let access = match route.access {
                    Access::Public => "public".to_owned(),
                    Access::Signature => "signature".to_owned(),
                    Access::Caller(scopes) => {
                        let names: Vec<&str> = scopes.iter().map(|s| s.name()).collect();
                        names.join(", ")
                    }
                };
                vec![
                    route.method.to_owned(),
                    route.documented_path(),
                    route.function.name().to_owned(),
                    access,
                    route.body.name().to_owned(),
                ]
            })
            .collect();
        let listed: Vec<Vec<String>> = rows
            .iter()
            .map(|row| row.iter().take(5).map(|c| (*c).to_owned()).collect())
            .collect();
        assert_eq!(listed, expected, "shared/http/README.md, Routes");
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

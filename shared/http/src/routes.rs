//! Every route of the API, the function that serves it and the scopes it admits: the one table
//! that caliper-local routes and authorizes by, and that the SAM template must agree with.

use crate::caller::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// In API Gateway's syntax: `{name}` for a path parameter.
    pub path: &'static str,
    /// The crate in `functions/` whose binary serves it.
    pub function: &'static str,
    /// Any one of these lets a token through (API Gateway's `AuthorizationScopes`); the handler
    /// checks them again. None: a public route, served without a token.
    pub scopes: &'static [Scope],
}

impl Route {
    /// Whether its body is a Caliper envelope (up to `Limits::max_body_bytes`) rather than a
    /// small JSON document or nothing.
    pub fn takes_envelopes(&self) -> bool {
        matches!(self.function, "submit-events" | "validate-events")
    }
}

/// Sending and reading back one's own events.
const EVENT_SCOPES: &[Scope] = &[Scope::EventCreate, Scope::Admin];

/// Reading webhooks and filters.
const WEBHOOK_READ_SCOPES: &[Scope] = &[Scope::WebhookReadonly, Scope::WebhookCreate, Scope::Admin];
/// Creating, changing and deleting them.
const WEBHOOK_WRITE_SCOPES: &[Scope] = &[Scope::WebhookCreate, Scope::Admin];

const fn webhook_route(
    method: &'static str,
    path: &'static str,
    scopes: &'static [Scope],
) -> Route {
    Route {
        method,
        path,
        function: "webhooks",
        scopes,
    }
}

pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/caliper/event",
        function: "submit-events",
        scopes: EVENT_SCOPES,
    },
    Route {
        method: "POST",
        path: "/caliper/v1p2",
        function: "submit-events",
        scopes: EVENT_SCOPES,
    },
    Route {
        method: "GET",
        path: "/caliper/event",
        function: "endpoint-config",
        scopes: EVENT_SCOPES,
    },
    Route {
        method: "POST",
        path: "/caliper/event/validate",
        function: "validate-events",
        scopes: EVENT_SCOPES,
    },
    Route {
        method: "GET",
        path: "/caliper/events",
        function: "query-events",
        scopes: EVENT_SCOPES,
    },
    Route {
        method: "GET",
        path: "/caliper/events/{externalId}",
        function: "query-events",
        scopes: EVENT_SCOPES,
    },
    Route {
        method: "GET",
        path: "/jobs/{jobId}/status",
        function: "job-status",
        scopes: EVENT_SCOPES,
    },
    Route {
        method: "GET",
        path: "/openapi.json",
        function: "api-description",
        scopes: &[],
    },
    Route {
        method: "GET",
        path: "/docs",
        function: "api-description",
        scopes: &[],
    },
    Route {
        method: "GET",
        path: "/docs/redoc.standalone.js",
        function: "api-description",
        scopes: &[],
    },
    webhook_route("GET", "/webhooks/", WEBHOOK_READ_SCOPES),
    webhook_route("POST", "/webhooks/", WEBHOOK_WRITE_SCOPES),
    webhook_route("GET", "/webhooks/{id}", WEBHOOK_READ_SCOPES),
    webhook_route("PUT", "/webhooks/{id}", WEBHOOK_WRITE_SCOPES),
    webhook_route("DELETE", "/webhooks/{id}", WEBHOOK_WRITE_SCOPES),
    webhook_route("PUT", "/webhooks/{id}/activate", WEBHOOK_WRITE_SCOPES),
    webhook_route("PUT", "/webhooks/{id}/deactivate", WEBHOOK_WRITE_SCOPES),
    webhook_route("GET", "/webhook-filters/", WEBHOOK_READ_SCOPES),
    webhook_route("POST", "/webhook-filters/", WEBHOOK_WRITE_SCOPES),
    webhook_route("GET", "/webhook-filters/{id}", WEBHOOK_READ_SCOPES),
    webhook_route("PUT", "/webhook-filters/{id}", WEBHOOK_WRITE_SCOPES),
    webhook_route("DELETE", "/webhook-filters/{id}", WEBHOOK_WRITE_SCOPES),
    webhook_route(
        "GET",
        "/webhook-filters/webhook/{webhookId}",
        WEBHOOK_READ_SCOPES,
    ),
];

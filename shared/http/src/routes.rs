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

/// Sending and reading back one's own events.
const EVENT_SCOPES: &[Scope] = &[Scope::EventCreate, Scope::Admin];

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
];

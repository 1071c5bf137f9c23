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
    /// Any one of these lets a token through (the authorizer allows the route; the handler
    /// checks them again). None: a public route, served without a token.
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
        trailing_slash: false,
    }
}

/// A collection of webhooks or filters, which the official client calls with a trailing slash.
const fn webhook_collection(
    method: &'static str,
    path: &'static str,
    scopes: &'static [Scope],
) -> Route {
    Route {
        trailing_slash: true,
        ..webhook_route(method, path, scopes)
    }
}

pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/caliper/event",
        function: "submit-events",
        scopes: EVENT_SCOPES,
        trailing_slash: false,
    },
    Route {
        method: "POST",
        path: "/caliper/v1p2",
        function: "submit-events",
        scopes: EVENT_SCOPES,
        trailing_slash: false,
    },
    Route {
        method: "GET",
        path: "/caliper/event",
        function: "endpoint-config",
        scopes: EVENT_SCOPES,
        trailing_slash: false,
    },
    Route {
        method: "POST",
        path: "/caliper/event/validate",
        function: "validate-events",
        scopes: EVENT_SCOPES,
        trailing_slash: false,
    },
    Route {
        method: "GET",
        path: "/caliper/events",
        function: "query-events",
        scopes: EVENT_SCOPES,
        trailing_slash: false,
    },
    Route {
        method: "GET",
        path: "/caliper/events/{externalId}",
        function: "query-events",
        scopes: EVENT_SCOPES,
        trailing_slash: false,
    },
    Route {
        method: "GET",
        path: "/jobs/{jobId}/status",
        function: "job-status",
        scopes: EVENT_SCOPES,
        trailing_slash: false,
    },
    Route {
        method: "GET",
        path: "/openapi.json",
        function: "api-description",
        scopes: &[],
        trailing_slash: false,
    },
    Route {
        method: "GET",
        path: "/docs",
        function: "api-description",
        scopes: &[],
        trailing_slash: false,
    },
    Route {
        method: "GET",
        path: "/docs/redoc.standalone.js",
        function: "api-description",
        scopes: &[],
        trailing_slash: false,
    },
    webhook_collection("GET", "/webhooks", WEBHOOK_READ_SCOPES),
    webhook_collection("POST", "/webhooks", WEBHOOK_WRITE_SCOPES),
    webhook_route("GET", "/webhooks/{id}", WEBHOOK_READ_SCOPES),
    webhook_route("PUT", "/webhooks/{id}", WEBHOOK_WRITE_SCOPES),
    webhook_route("DELETE", "/webhooks/{id}", WEBHOOK_WRITE_SCOPES),
    webhook_route("PUT", "/webhooks/{id}/activate", WEBHOOK_WRITE_SCOPES),
    webhook_route("PUT", "/webhooks/{id}/deactivate", WEBHOOK_WRITE_SCOPES),
    webhook_collection("GET", "/webhook-filters", WEBHOOK_READ_SCOPES),
    webhook_collection("POST", "/webhook-filters", WEBHOOK_WRITE_SCOPES),
    webhook_route("GET", "/webhook-filters/{id}", WEBHOOK_READ_SCOPES),
    webhook_route("PUT", "/webhook-filters/{id}", WEBHOOK_WRITE_SCOPES),
    webhook_route("DELETE", "/webhook-filters/{id}", WEBHOOK_WRITE_SCOPES),
    webhook_route(
        "GET",
        "/webhook-filters/webhook/{webhookId}",
        WEBHOOK_READ_SCOPES,
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
    ROUTES.iter().find(|r| r.key() == route_key)
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
}

//! Every route of the API and the function that serves it: the one table that caliper-local
//! routes by, and that the SAM template must agree with.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// In API Gateway's syntax: `{name}` for a path parameter.
    pub path: &'static str,
    /// The crate in `functions/` whose binary serves it.
    pub function: &'static str,
}

pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/caliper/event",
        function: "submit-events",
    },
    Route {
        method: "POST",
        path: "/caliper/v1p2",
        function: "submit-events",
    },
    Route {
        method: "GET",
        path: "/caliper/event",
        function: "endpoint-config",
    },
    Route {
        method: "POST",
        path: "/caliper/event/validate",
        function: "validate-events",
    },
    Route {
        method: "GET",
        path: "/caliper/events",
        function: "query-events",
    },
    Route {
        method: "GET",
        path: "/caliper/events/{externalId}",
        function: "query-events",
    },
    Route {
        method: "GET",
        path: "/jobs/{jobId}/status",
        function: "job-status",
    },
];

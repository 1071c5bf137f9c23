//! One handler per route. Each reads the request, calls the domain and maps the outcome to HTTP;
//! none fails: every error becomes the contract's error JSON.

mod api_description;
mod endpoint_config;
mod job_status;
mod query_events;
mod submit_events;
mod validate_events;
mod webhooks;

pub use api_description::{api_description, OPENAPI};
pub use endpoint_config::endpoint_config;
pub use job_status::job_status;
pub use query_events::query_events;
pub use submit_events::submit_events;
pub use validate_events::validate_events;
pub use webhooks::webhooks;

use caliper_core::StoreError;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use crate::app::App;
use crate::response::ApiError;

/// Serves `request` with the handler of `function` (a crate name in `functions/`).
pub async fn dispatch(app: &App, function: &str, request: Request) -> Response<Body> {
    match function {
        "submit-events" => submit_events(app, request).await,
        "job-status" => job_status(app, request).await,
        "query-events" => query_events(app, request).await,
        "validate-events" => validate_events(&app.limits, request).await,
        "endpoint-config" => endpoint_config(&app.limits, request).await,
        "api-description" => api_description(&request),
        "webhooks" => webhooks(app, request).await,
        other => ApiError::new(StatusCode::NOT_FOUND, format!("No function named {other}"))
            .into_response(),
    }
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

pub(crate) fn respond(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    result.unwrap_or_else(ApiError::into_response)
}

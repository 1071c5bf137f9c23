use caliper_validation::{validate_envelope, Limits};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::respond;
use crate::body::json_body;
use crate::caller::{authorize, Scope};
use crate::response::{ok, ApiError};

/// POST `/caliper/event/validate`: the submission's checks, nothing stored. A body that is JSON
/// but not a valid envelope still answers 200, with `"status": "error"` and every problem.
pub async fn validate_events(limits: &Limits, request: Request) -> Response<Body> {
    respond(validate(limits, &request))
}

fn validate(limits: &Limits, request: &Request) -> Result<Response<Body>, ApiError> {
    authorize(request, &[Scope::EventCreate])?;
    let envelope = json_body(request, limits)?;
    let body = match validate_envelope(&envelope, limits) {
        Ok(()) => json!({"status": "success", "message": "The envelope is valid"}),
        Err(problems) => json!({
            "status": "error",
            "message": problems.summary(),
            "errors": problems.list,
        }),
    };
    Ok(ok(&body))
}

use caliper_core::SubmitError;
use caliper_validation::{into_envelopes, unsupported_version_in, validate_body};
use lambda_http::http::StatusCode;
use serde_json::json;

use super::{unavailable, Answer, Call};
use crate::app::App;
use crate::body::json_body;
use crate::response::{ok, ApiError};

/// POST `/caliper/event` (and `/caliper/v1p2`): validate the envelope (or array of envelopes),
/// record one job, queue it. An unsupported `dataVersion` answers 422 (Caliper 1.2 section 6.1),
/// any other problem 400.
pub async fn submit_events(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let body = json_body(&call.request, &app.limits)?;
    if let Some(problem) = unsupported_version_in(&body) {
        return Err(
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, problem.message.clone())
                .with_errors(vec![problem]),
        );
    }
    validate_body(&body, &app.limits).map_err(|problems| {
        ApiError::new(StatusCode::BAD_REQUEST, problems.summary()).with_errors(problems.list)
    })?;
    let job_id = app
        .submitter
        .submit(&caller.client_id, into_envelopes(body))
        .await
        .map_err(|error| match error {
            SubmitError::Record(e) | SubmitError::Enqueue(e) => unavailable(&e),
        })?;
    Ok(ok(&json!({
        "status": "success",
        "message": "Events accepted for processing",
        "jobId": job_id,
    })))
}

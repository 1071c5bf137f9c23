use caliper_core::intake::{judge, Refusal};
use caliper_core::SubmitError;
use lambda_http::http::StatusCode;
use serde_json::{json, Value};

use super::{unavailable, Answer, Call};
use crate::app::App;
use crate::body::json_body;
use crate::response::{ok, ApiError};

/// POST `/caliper/event` (and `/caliper/v1p2`): validate the envelope (or array of envelopes) as
/// the caller's client's policy says, record one job, queue it. An unsupported `dataVersion`
/// answers 422 (Caliper 1.2 section 6.1). Under `strict` (the default) any other problem answers
/// 400; under `flag` only the limits do, and each event is stored with its problems.
pub async fn submit_events(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let body = json_body(&call.request, &app.limits)?;
    let job_id = accept(app, &caller.client_id, body).await?;
    Ok(ok(&json!({
        "status": "success",
        "message": "Events accepted for processing",
        "jobId": job_id,
    })))
}

/// Holds `body` to `client`'s validation policy and records one job for it: its id, or the
/// answer that refuses it.
pub(crate) async fn accept(app: &App, client: &str, body: Value) -> Result<String, ApiError> {
    let settings = app.settings.of(client).await.map_err(|e| unavailable(&e))?;
    let envelopes = judge(body, settings.validation, &app.limits).map_err(refused)?;
    app.submitter
        .submit(client, envelopes)
        .await
        .map_err(|error| match error {
            SubmitError::Record(e) | SubmitError::Enqueue(e) => unavailable(&e),
        })
}

/// 422 for a `dataVersion` we do not speak (Caliper 1.2 section 6.1), else 400.
fn refused(refusal: Refusal) -> ApiError {
    let status = match refusal {
        Refusal::UnsupportedVersion(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Refusal::Invalid(_) => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, refusal.summary()).with_errors(refusal.problems())
}

use caliper_core::clients::ValidationPolicy;
use caliper_core::{Envelope, SubmitError};
use caliper_validation::{
    check_limits, findings, into_envelopes, unsupported_version_in, validate_body,
};
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
    if let Some(problem) = unsupported_version_in(&body) {
        return Err(
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, problem.message.clone())
                .with_errors(vec![problem]),
        );
    }
    let settings = app.settings.of(client).await.map_err(|e| unavailable(&e))?;
    let envelopes = match settings.validation {
        ValidationPolicy::Strict => {
            validate_body(&body, &app.limits).map_err(invalid)?;
            into_envelopes(body)
                .into_iter()
                .map(Envelope::valid)
                .collect()
        }
        ValidationPolicy::Flag => {
            check_limits(&body, &app.limits).map_err(invalid)?;
            let envelopes: Vec<Envelope> = into_envelopes(body).into_iter().map(flagged).collect();
            refuse_without_data(&envelopes)?;
            envelopes
        }
    };
    app.submitter
        .submit(client, envelopes)
        .await
        .map_err(|error| match error {
            SubmitError::Record(e) | SubmitError::Enqueue(e) => unavailable(&e),
        })
}

fn invalid(problems: caliper_validation::Problems) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, problems.summary()).with_errors(problems.list)
}

/// Under `flag`, an envelope without a list of items holds nothing to store, or to say that it was
/// not: it is refused (400) with its problems, as under `strict`, rather than accepted as an
/// empty job.
fn refuse_without_data(envelopes: &[Envelope]) -> Result<(), ApiError> {
    let several = envelopes.len() > 1;
    let mut problems = caliper_validation::Problems::default();
    for (index, envelope) in envelopes.iter().enumerate() {
        let has_items = envelope
            .body
            .get("data")
            .and_then(Value::as_array)
            .is_some_and(|items| !items.is_empty());
        if has_items {
            continue;
        }
        let prefix = if several {
            format!("/{index}")
        } else {
            String::new()
        };
        for problem in envelope.findings.iter().flat_map(|f| &f.envelope) {
            problems.push(caliper_validation::Problem::new(
                format!("{prefix}{}", problem.path),
                problem.message.clone(),
            ));
        }
    }
    problems.into_result().map_err(invalid)
}

/// An envelope with what Caliper's model finds wrong with it, for its events to be stored with.
fn flagged(body: Value) -> Envelope {
    let findings = findings(&body);
    Envelope {
        body,
        findings: Some(findings),
    }
}

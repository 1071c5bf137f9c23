//! `/erasures`: a learner's stored events and quarantined items removed, with a receipt
//! (`caliper_core::erasures`). Admins only (the route table).

use caliper_core::erasures::{Erasure, ErasureRequest};
use caliper_core::model::timestamp;
use lambda_http::http::StatusCode;
use serde_json::{json, Value};

use super::{invalid, unavailable, Answer, Call};
use crate::app::App;
use crate::body::json_body;
use crate::response::{json_response, ok, ApiError};

/// POST `/erasures`: 202 with the erasure, whose steps run in the background.
pub async fn create(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let body = json_body(&call.request, &app.limits)?;
    let request = ErasureRequest::parse(&body).map_err(invalid)?;
    let erasure = app
        .erasures
        .start(caller, request)
        .await
        .map_err(|e| unavailable(&e))?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json!({ "erasure": erasure_json(&erasure) }),
    ))
}

/// GET `/erasures/{id}`: where it stands, and its receipt.
pub async fn get(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "Erasure not found");
    let id = call.param("id");
    if uuid::Uuid::try_parse(id).is_err() {
        return Err(not_found());
    }
    let erasure = app
        .erasures
        .get(caller, id)
        .await
        .map_err(|e| unavailable(&e))?
        .ok_or_else(not_found)?;
    Ok(ok(&json!({ "erasure": erasure_json(&erasure) })))
}

/// The contract's receipt: counts and a keyed hash, never the learner's identifier.
fn erasure_json(erasure: &Erasure) -> Value {
    let receipt = &erasure.receipt;
    let mut body = json!({
        "id": erasure.id,
        "state": erasure.state.as_str(),
        "subject": receipt.subject,
        "clientAppId": receipt.client_app_id,
        "events": receipt.events,
        "quarantined": receipt.quarantined,
        // Not counted: a pending delivery of an erased event is dropped when its turn comes.
        "deliveries": Value::Null,
        "requested_at": timestamp(erasure.requested_at),
        "completed_at": erasure.completed_at.map(timestamp),
    });
    if let Some(reason) = &erasure.failed_reason {
        body["failedReason"] = json!(reason);
    }
    body
}

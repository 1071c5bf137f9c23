//! `/quarantine`: what a `flag` client's submissions held that could not be stored, for the client
//! (or an admin) to read, submit again under today's rules, or delete.

use caliper_core::quarantine::{QuarantineError, Quarantined};
use lambda_http::http::StatusCode;
use lambda_http::RequestExt;
use serde_json::{json, Value};

use super::submit_events::accept;
use super::{unavailable, Answer, Call};
use crate::app::App;
use crate::response::{ok, ApiError};
use caliper_validation::Problem;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// GET `/quarantine` (`?clientAppId=` for admins, `limit`, `cursor`): newest first.
pub async fn list(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let (mut client, mut cursor, mut limit) = (None, None, DEFAULT_LIMIT);
    let mut problems = Vec::new();
    for (name, value) in call
        .request
        .query_string_parameters_ref()
        .into_iter()
        .flat_map(|q| q.iter())
    {
        let path = format!("/query/{name}");
        match name {
            "clientAppId" if !value.is_empty() => client = Some(value.to_owned()),
            "cursor" if !value.is_empty() => cursor = Some(value.to_owned()),
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = n,
                _ => problems.push(Problem::new(
                    path,
                    format!("limit must be a whole number from 1 to {MAX_LIMIT}, found {value:?}"),
                )),
            },
            _ => problems.push(Problem::new(
                path,
                format!("{name} is not a parameter of this listing (or is empty); it takes clientAppId, limit and cursor"),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(
            ApiError::new(StatusCode::BAD_REQUEST, "Invalid query parameters")
                .with_errors(problems),
        );
    }
    let items = app
        .quarantine
        .page(caller, client.as_deref(), cursor.as_deref(), limit)
        .await
        .map_err(failure)?;
    let next = (items.len() == limit)
        .then(|| items.last().map(|i| i.id.clone()))
        .flatten();
    let items: Vec<Value> = items.iter().map(item_json).collect();
    Ok(ok(&json!({"items": items, "nextCursor": next})))
}

/// POST `/quarantine/{id}/replay`: the item submitted again, as its client, under its client's
/// policy today; once its job is recorded the item leaves the quarantine (should it still not be
/// storable, its job keeps it again).
pub async fn replay(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let item = app
        .quarantine
        .find(caller, call.param("id"))
        .await
        .map_err(failure)?;
    let job_id = accept(app, &item.client_app_id, item.as_envelope()).await?;
    app.quarantine
        .delete(caller, &item.id)
        .await
        .or_else(|e| match e {
            // Deleted meanwhile (another replay): the job stands.
            QuarantineError::NotFound => Ok(()),
            other => Err(other),
        })
        .map_err(failure)?;
    Ok(ok(&json!({
        "status": "success",
        "message": "The item was submitted again",
        "jobId": job_id,
    })))
}

/// DELETE `/quarantine/{id}`.
pub async fn delete(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    app.quarantine
        .delete(caller, call.param("id"))
        .await
        .map_err(failure)?;
    Ok(ok(&json!({"message": "Quarantined item deleted"})))
}

/// The contract's item: `{id, clientAppId, source, received_at, reasons, body}`.
fn item_json(item: &Quarantined) -> Value {
    json!({
        "id": item.id,
        "clientAppId": item.client_app_id,
        "source": item.source,
        "received_at": item.received_at,
        "reasons": item.reasons,
        "body": item.body,
    })
}

fn failure(error: QuarantineError) -> ApiError {
    match error {
        QuarantineError::NotFound => {
            ApiError::new(StatusCode::NOT_FOUND, "Quarantined item not found")
        }
        QuarantineError::Invalid(message) => {
            ApiError::new(StatusCode::BAD_REQUEST, message.clone())
                .with_errors(vec![Problem::new("/query/clientAppId", message)])
        }
        QuarantineError::Store(error) => unavailable(&error),
    }
}

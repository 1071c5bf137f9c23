//! Managing clients: `/clients/{clientAppId}` (settings), `/keys` (API keys) and `/connectors`,
//! admins only.

use caliper_core::clients::ClientError;
use lambda_http::http::StatusCode;
use serde_json::json;

use super::{invalid, only_parameter, unavailable, Answer, Call};
use crate::app::App;
use crate::body::json_body;
use crate::response::{json_response, ok, ApiError};

/// GET `/clients/{clientAppId}`: the client's settings (the defaults if never set).
pub async fn get(app: &App, call: &Call) -> Answer {
    let settings = app
        .settings
        .get(call.caller()?, call.param("clientAppId"))
        .await
        .map_err(failure)?;
    Ok(ok(&json!({ "client": settings })))
}

/// PUT `/clients/{clientAppId}`: replaces the client's settings.
pub async fn set(app: &App, call: &Call) -> Answer {
    let body = json_body(&call.request, &app.limits)?;
    let caller = call.caller()?;
    let settings = app
        .settings
        .put(caller, call.param("clientAppId"), &body)
        .await
        .map_err(failure)?;
    // What was stored before the retention goes by a sweep (what is stored from now on carries
    // its expiry). Should it not start, the admin is told, and setting it again starts one.
    if let Some(days) = settings.retention_days {
        let ports = &app.ports;
        caliper_core::retention::Sweeper::start(
            &*ports.jobs,
            &*ports.erasure_steps,
            caller,
            &settings.client_app_id,
            days,
        )
        .await
        .map_err(|e| unavailable(&e))?;
    }
    Ok(ok(&json!({ "client": settings })))
}

/// POST `/keys`: a new key, its secret shown this once.
pub async fn create_key(app: &App, call: &Call) -> Answer {
    let body = json_body(&call.request, &app.limits)?;
    let made = app
        .keys
        .create(call.caller()?, &body)
        .await
        .map_err(failure)?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"key": made.key, "secret": made.secret}),
    ))
}

/// GET `/keys`, optionally `?clientAppId=`: the keys not revoked, without secrets.
pub async fn list_keys(app: &App, call: &Call) -> Answer {
    let client = only_parameter(&call.request, "clientAppId")?;
    let keys = app
        .keys
        .list(call.caller()?, client.as_deref())
        .await
        .map_err(failure)?;
    Ok(ok(&json!({ "keys": keys })))
}

/// DELETE `/keys/{id}`: the key lets no one in from now on.
pub async fn revoke_key(app: &App, call: &Call) -> Answer {
    app.keys
        .revoke(call.caller()?, call.param("id"))
        .await
        .map_err(failure)?;
    Ok(ok(&json!({"message": "Key revoked"})))
}

/// POST `/connectors`: a new connector, with the path its producer posts to.
pub async fn create_connector(app: &App, call: &Call) -> Answer {
    let body = json_body(&call.request, &app.limits)?;
    let made = app
        .connectors
        .create(call.caller()?, &body)
        .await
        .map_err(failure)?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({ "connector": made }),
    ))
}

/// GET `/connectors`, optionally `?clientAppId=`: the connectors not deleted.
pub async fn list_connectors(app: &App, call: &Call) -> Answer {
    let client = only_parameter(&call.request, "clientAppId")?;
    let connectors = app
        .connectors
        .list(call.caller()?, client.as_deref())
        .await
        .map_err(failure)?;
    Ok(ok(&json!({ "connectors": connectors })))
}

/// DELETE `/connectors/{id}`: its path takes nothing from now on.
pub async fn delete_connector(app: &App, call: &Call) -> Answer {
    app.connectors
        .delete(call.caller()?, call.param("id"))
        .await
        .map_err(failure)?;
    Ok(ok(&json!({"message": "Connector deleted"})))
}

fn failure(error: ClientError) -> ApiError {
    match error {
        ClientError::NotFound(what) => {
            ApiError::new(StatusCode::NOT_FOUND, format!("{what} not found"))
        }
        ClientError::Invalid(problems) => invalid(problems),
        ClientError::Forbidden(forbidden) => forbidden.into(),
        ClientError::Store(error) => unavailable(&error),
    }
}

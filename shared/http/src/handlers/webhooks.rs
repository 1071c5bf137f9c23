//! The webhook management API: `/webhooks` and `/webhook-filters`, a handler per route.

use caliper_core::webhooks::{Webhook, WebhookError, WebhookFilter};
use lambda_http::http::StatusCode;
use serde_json::{json, Value};

use super::{invalid, only_parameter, unavailable, Answer, Call};
use crate::app::App;
use crate::body::json_body;
use crate::caller::{Caller, Scope};
use crate::response::{json_response, ok, ApiError};

/// Shown instead of a secret to callers that may only read webhooks.
const HIDDEN_SECRET: &str = "********";

/// GET `/webhooks/`, optionally `?sensor=`.
pub async fn list(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let sensor = only_parameter(&call.request, "sensor")?;
    let list = app
        .webhooks
        .list(caller, sensor.as_deref())
        .await
        .map_err(failure)?;
    let list: Vec<Value> = list.iter().map(|w| webhook_json(w, caller)).collect();
    Ok(ok(&json!({ "webhooks": list })))
}

/// POST `/webhooks/`.
pub async fn create(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let body = json_body(&call.request, &app.limits)?;
    let webhook = app.webhooks.create(caller, &body).await.map_err(failure)?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"webhook": webhook_json(&webhook, caller)}),
    ))
}

/// GET `/webhooks/{id}`.
pub async fn get(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let webhook = app.webhooks.get(caller, call.param("id")).await;
    Ok(ok(
        &json!({"webhook": webhook_json(&webhook.map_err(failure)?, caller)}),
    ))
}

/// PUT `/webhooks/{id}`.
pub async fn replace(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let body = json_body(&call.request, &app.limits)?;
    let webhook = app.webhooks.replace(caller, call.param("id"), &body).await;
    Ok(ok(
        &json!({"webhook": webhook_json(&webhook.map_err(failure)?, caller)}),
    ))
}

/// DELETE `/webhooks/{id}` (soft: it stays, with `deleted_at`).
pub async fn delete(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    app.webhooks
        .delete(caller, call.param("id"))
        .await
        .map_err(failure)?;
    Ok(ok(&json!({"message": "Webhook deleted"})))
}

/// PUT `/webhooks/{id}/activate`.
pub async fn activate(app: &App, call: &Call) -> Answer {
    set_active(app, call, true).await
}

/// PUT `/webhooks/{id}/deactivate`.
pub async fn deactivate(app: &App, call: &Call) -> Answer {
    set_active(app, call, false).await
}

async fn set_active(app: &App, call: &Call, active: bool) -> Answer {
    let caller = call.caller()?;
    let webhook = app
        .webhooks
        .set_active(caller, call.param("id"), active)
        .await;
    Ok(ok(
        &json!({"webhook": webhook_json(&webhook.map_err(failure)?, caller)}),
    ))
}

/// GET `/webhook-filters/`.
pub async fn list_filters(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let filters = app.webhooks.filters(caller).await.map_err(failure)?;
    Ok(ok(&json!({"filters": filters_json(&filters)})))
}

/// GET `/webhook-filters/webhook/{webhookId}`.
pub async fn filters_of(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let filters = app
        .webhooks
        .filters_of(caller, call.param("webhookId"))
        .await
        .map_err(failure)?;
    Ok(ok(&json!({"filters": filters_json(&filters)})))
}

/// POST `/webhook-filters/`.
pub async fn create_filter(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let body = json_body(&call.request, &app.limits)?;
    let filter = app
        .webhooks
        .create_filter(caller, &body)
        .await
        .map_err(failure)?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"filter": filter}),
    ))
}

/// GET `/webhook-filters/{id}`.
pub async fn get_filter(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let filter = app.webhooks.get_filter(caller, call.param("id")).await;
    Ok(ok(&json!({"filter": filter.map_err(failure)?})))
}

/// PUT `/webhook-filters/{id}`.
pub async fn replace_filter(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let body = json_body(&call.request, &app.limits)?;
    let filter = app
        .webhooks
        .replace_filter(caller, call.param("id"), &body)
        .await
        .map_err(failure)?;
    Ok(ok(&json!({"filter": filter})))
}

/// DELETE `/webhook-filters/{id}`.
pub async fn delete_filter(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    app.webhooks
        .delete_filter(caller, call.param("id"))
        .await
        .map_err(failure)?;
    Ok(ok(&json!({"message": "Webhook filter deleted"})))
}

/// The contract's webhook shape, with `clientAppId` (the owner); the secret only for callers
/// that may change the webhook.
fn webhook_json(webhook: &Webhook, caller: &Caller) -> Value {
    let may_write = caller.require(&[Scope::WebhookCreate]).is_ok();
    json!({
        "id": webhook.id,
        "sensor": webhook.sensor,
        "name": webhook.name,
        "description": webhook.description,
        "targetUrl": webhook.target_url,
        "secret": if may_write { webhook.secret.as_str() } else { HIDDEN_SECRET },
        "active": webhook.active,
        "created_at": webhook.created_at,
        "updated_at": webhook.updated_at,
        "deleted_at": webhook.deleted_at,
        "clientAppId": webhook.client_app_id,
    })
}

fn filters_json(filters: &[WebhookFilter]) -> Vec<Value> {
    filters.iter().map(|f| json!(f)).collect()
}

fn failure(error: WebhookError) -> ApiError {
    match error {
        WebhookError::NotFound(what) => {
            ApiError::new(StatusCode::NOT_FOUND, format!("{what} not found"))
        }
        WebhookError::Invalid(problems) => invalid(problems),
        WebhookError::Store(error) => unavailable(&error),
    }
}

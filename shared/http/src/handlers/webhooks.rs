//! The webhook management API: `/webhooks/` and `/webhook-filters/`. Each request is served by its
//! route (API Gateway's `routeKey`), whose scopes are checked again here.

use caliper_core::webhooks::{Principal, Webhook, WebhookError, WebhookFilter};
use caliper_validation::Problem;
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{json, Value};

use super::{respond, unavailable};
use crate::app::App;
use crate::body::json_body;
use crate::caller::{authorize, Caller, Scope};
use crate::response::{json_response, ok, ApiError};
use crate::routes::route_for;

/// Shown instead of a secret to callers that may only read webhooks.
const HIDDEN_SECRET: &str = "********";

/// Every route of the `webhooks` function.
pub async fn webhooks(app: &App, request: Request) -> Response<Body> {
    respond(serve(app, &request).await)
}

async fn serve(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let route_key = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context.route_key.clone().unwrap_or_default()
        }
        _ => String::new(),
    };
    let route = route_for(&route_key, request.raw_http_path())
        .filter(|r| r.function == "webhooks")
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!(
                    "No webhook route for {} {}",
                    request.method(),
                    request.raw_http_path()
                ),
            )
        })?;
    let caller = authorize(request, route.scopes)?;
    let who = Principal {
        client_id: caller.client_id.clone(),
        admin: caller.is_admin(),
    };
    let service = &app.webhooks;
    let param = |name: &str| {
        request
            .path_parameters_ref()
            .and_then(|p| p.first(name))
            .unwrap_or_default()
            .to_owned()
    };
    let body = || json_body(request, &app.limits);
    let show = |webhook: &Webhook| webhook_json(webhook, &caller);
    let answer = match route.key().as_str() {
        "GET /webhooks" => {
            let sensor = only_parameter(request, "sensor")?;
            let list = service
                .list(&who, sensor.as_deref())
                .await
                .map_err(failure)?;
            ok(&json!({"webhooks": list.iter().map(show).collect::<Vec<_>>()}))
        }
        "POST /webhooks" => {
            let webhook = service.create(&who, &body()?).await.map_err(failure)?;
            json_response(StatusCode::CREATED, &json!({"webhook": show(&webhook)}))
        }
        "GET /webhooks/{id}" => {
            ok(&json!({"webhook": show(&service.get(&who, &param("id")).await.map_err(failure)?)}))
        }
        "PUT /webhooks/{id}" => {
            let webhook = service
                .replace(&who, &param("id"), &body()?)
                .await
                .map_err(failure)?;
            ok(&json!({"webhook": show(&webhook)}))
        }
        "DELETE /webhooks/{id}" => {
            service.delete(&who, &param("id")).await.map_err(failure)?;
            ok(&json!({"message": "Webhook deleted"}))
        }
        "PUT /webhooks/{id}/activate" | "PUT /webhooks/{id}/deactivate" => {
            let active = route.path.ends_with("/activate");
            let webhook = service
                .set_active(&who, &param("id"), active)
                .await
                .map_err(failure)?;
            ok(&json!({"webhook": show(&webhook)}))
        }
        "GET /webhook-filters" => {
            ok(&json!({"filters": filters_json(&service.filters(&who).await.map_err(failure)?)}))
        }
        "GET /webhook-filters/webhook/{webhookId}" => {
            let filters = service
                .filters_of(&who, &param("webhookId"))
                .await
                .map_err(failure)?;
            ok(&json!({"filters": filters_json(&filters)}))
        }
        "POST /webhook-filters" => {
            let filter = service
                .create_filter(&who, &body()?)
                .await
                .map_err(failure)?;
            json_response(StatusCode::CREATED, &json!({"filter": filter}))
        }
        "GET /webhook-filters/{id}" => {
            ok(&json!({"filter": service.get_filter(&who, &param("id")).await.map_err(failure)?}))
        }
        "PUT /webhook-filters/{id}" => {
            let filter = service
                .replace_filter(&who, &param("id"), &body()?)
                .await
                .map_err(failure)?;
            ok(&json!({"filter": filter}))
        }
        "DELETE /webhook-filters/{id}" => {
            service
                .delete_filter(&who, &param("id"))
                .await
                .map_err(failure)?;
            ok(&json!({"message": "Webhook filter deleted"}))
        }
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("No webhook route {other:?}"),
            ))
        }
    };
    Ok(answer)
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
        WebhookError::Invalid(problems) => {
            let n = problems.len();
            let noun = if n == 1 { "problem" } else { "problems" };
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("The request body is invalid: {n} {noun} found"),
            )
            .with_errors(problems)
        }
        WebhookError::Store(error) => unavailable(&error),
    }
}

/// The one query parameter a listing takes, given at most once; anything else is a 400.
fn only_parameter(request: &Request, name: &str) -> Result<Option<String>, ApiError> {
    let mut problems = Vec::new();
    let mut value = None;
    for (given, text) in request
        .query_string_parameters_ref()
        .into_iter()
        .flat_map(|q| q.iter())
    {
        let path = format!("/query/{given}");
        if given != name {
            problems.push(Problem::new(
                path,
                format!("{given} is not a parameter of this listing; it takes only {name}"),
            ));
        } else if text.trim().is_empty() {
            problems.push(Problem::new(
                path,
                format!("{name} is empty; give a value, or leave it out"),
            ));
        } else if value.replace(text.to_owned()).is_some() {
            problems.push(Problem::new(
                path,
                format!("{name} is given more than once; give it once"),
            ));
        }
    }
    if problems.is_empty() {
        Ok(value)
    } else {
        problems.dedup();
        Err(
            ApiError::new(StatusCode::BAD_REQUEST, "Invalid query parameters")
                .with_errors(problems),
        )
    }
}

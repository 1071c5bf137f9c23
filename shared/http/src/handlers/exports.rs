//! `/exports`: bulk export of the caller's events to files (`caliper_core::exports`).

use caliper_core::exports::{Export, ExportRequest, Format};
use caliper_core::model::timestamp;
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde_json::{json, Value};

use super::{invalid, unavailable, Answer, Call};
use crate::app::App;
use crate::body::json_body;
use crate::response::{json_response, ok, ApiError};

/// POST `/exports`: 202 with the export, whose steps run in the background.
pub async fn create(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let body = json_body(&call.request, &app.limits)?;
    let request = ExportRequest::parse(&body, caller).map_err(invalid)?;
    let export = app
        .exports
        .start(caller, request)
        .await
        .map_err(|e| unavailable(&e))?;
    let body = export_json(app, call, &export).await?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json!({ "export": body }),
    ))
}

/// GET `/exports/{id}`: the export, its files with where to fetch each.
pub async fn get(app: &App, call: &Call) -> Answer {
    let export = find(app, call).await?;
    Ok(ok(
        &json!({ "export": export_json(app, call, &export).await? }),
    ))
}

/// GET `/exports/{id}/{partition}/{file}`: one file, served through the API (locally), or a
/// redirect to its time-limited URL (S3).
pub async fn file(app: &App, call: &Call) -> Answer {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "Export file not found");
    let export = find(app, call).await?;
    let name = format!("{}/{}", call.param("partition"), call.param("file"));
    let Some(file) = export.files.iter().find(|f| f.name == name) else {
        return Err(not_found());
    };
    if let Some(url) = app
        .exports
        .link(&export, file)
        .await
        .map_err(|e| unavailable(&e))?
    {
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::FOUND;
        let location = HeaderValue::try_from(url).map_err(|_| not_found())?;
        response.headers_mut().insert(header::LOCATION, location);
        return Ok(response);
    }
    let caller = call.caller()?;
    let bytes = app
        .exports
        .file(caller, &export.id, &name)
        .await
        .map_err(|e| unavailable(&e))?
        .ok_or_else(not_found)?;
    let media_type = Format::of_file(&name).map_or("application/octet-stream", Format::media_type);
    let mut response = Response::new(Body::Binary(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    // Learners' data: never kept by a shared cache.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// The caller's export of the path's id; another client's answers 404, exactly like a missing one.
async fn find(app: &App, call: &Call) -> Result<Export, ApiError> {
    let caller = call.caller()?;
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "Export not found");
    let id = call.param("id");
    // Our ids are UUIDs; anything else cannot name an export, and is not worth a storage call.
    if uuid::Uuid::try_parse(id).is_err() {
        return Err(not_found());
    }
    app.exports
        .get(caller, id)
        .await
        .map_err(|e| unavailable(&e))?
        .ok_or_else(not_found)
}

/// The contract's export shape; each file's `url` is where to fetch it.
async fn export_json(app: &App, call: &Call, export: &Export) -> Result<Value, ApiError> {
    let mut files = Vec::with_capacity(export.files.len());
    for file in &export.files {
        let url = match app
            .exports
            .link(export, file)
            .await
            .map_err(|e| unavailable(&e))?
        {
            Some(url) => url,
            None => format!("{}/exports/{}/{}", base_url(call), export.id, file.name),
        };
        files.push(
            json!({"name": file.name, "events": file.events, "bytes": file.bytes, "url": url}),
        );
    }
    let request = &export.request;
    let mut body = json!({
        "id": export.id,
        "state": export.state.as_str(),
        "format": request.format.name(),
        "clientAppId": request.client_app_id,
        "events": export.events,
        "files": files,
        "created_at": timestamp(export.created_at),
        "completed_at": export.completed_at.map(timestamp),
    });
    if let Some(reason) = &export.failed_reason {
        body["failedReason"] = json!(reason);
    }
    Ok(body)
}

/// The API's own address as the caller reached it (`Host`, and the scheme a proxy in front says
/// it was reached by), for links the API serves itself.
fn base_url(call: &Call) -> String {
    let headers = call.request.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scheme = match text("x-forwarded-proto") {
        Some("https") => "https",
        _ => "http",
    };
    match text("host") {
        Some(host) if !host.is_empty() && !host.contains(['/', ' ', '@']) => {
            format!("{scheme}://{host}")
        }
        _ => String::new(),
    }
}

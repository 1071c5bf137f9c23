//! Reading a JSON request body: content type, size, depth, syntax, each with its own answer.

use caliper_validation::{parse_json, Limits, ParseRejection, Problem};
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request};
use serde_json::Value;

use crate::response::ApiError;

/// Parses the body as JSON within `limits`: 415 for another content type, 413 when too large,
/// 400 when too deep, not JSON, or holding a number storage would change.
pub fn json_body(request: &Request, limits: &Limits) -> Result<Value, ApiError> {
    parsed_body(request, limits)?.map_err(rejected)
}

/// The body parsed within `limits`, or the parser's rejection as it is (for a handler that
/// answers some of them itself); another content type is refused (415).
pub fn parsed_body(
    request: &Request,
    limits: &Limits,
) -> Result<Result<Value, ParseRejection>, ApiError> {
    check_content_type(request)?;
    let bytes: &[u8] = match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    Ok(parse_json(bytes, limits))
}

/// The answer to a rejected body.
pub fn rejected(rejection: ParseRejection) -> ApiError {
    let status = match rejection {
        ParseRejection::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    let message = rejection.message();
    ApiError::new(status, message).with_errors(vec![rejection.problem()])
}

fn check_content_type(request: &Request) -> Result<(), ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let is_json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if is_json {
        return Ok(());
    }
    let found = if content_type.is_empty() {
        "none".to_owned()
    } else {
        format!("{content_type:?}")
    };
    let message = format!("The request body must be JSON sent with `Content-Type: application/json`; the content type was {found}");
    Err(
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message.clone())
            .with_errors(vec![Problem::new("/headers/content-type", message)]),
    )
}

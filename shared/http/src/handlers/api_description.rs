//! The API's description for tools (`/openapi.json`) and for people (`/docs`, rendered in the
//! browser by the bundled Redoc): public, so that anyone can learn the API before having a token.

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};

use crate::response::ApiError;

/// The OpenAPI 3.1 description of the API, kept beside this crate and built into it.
pub const OPENAPI: &str = include_str!("../../openapi.json");
const DOCS_PAGE: &str = include_str!("../../docs/index.html");
/// Redoc's standalone bundle (`docs/package.json` names its version): no CDN at run time.
const RENDERER: &str = include_str!("../../docs/redoc.standalone.js");

/// Serves `/openapi.json`, `/docs` and the page's script, by the request's path.
pub fn api_description(request: &Request) -> Response<Body> {
    let (content_type, body) = match request.uri().path() {
        "/openapi.json" => ("application/json", OPENAPI),
        "/docs" => ("text/html; charset=utf-8", DOCS_PAGE),
        "/docs/redoc.standalone.js" => ("text/javascript; charset=utf-8", RENDERER),
        other => {
            return ApiError::new(StatusCode::NOT_FOUND, format!("No document at {other}"))
                .into_response()
        }
    };
    let mut response = Response::new(Body::Text(body.to_owned()));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The documents change only with a deployment.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

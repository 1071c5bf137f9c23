//! The API's description for tools (`/openapi.json`) and for people (`/docs`, rendered in the
//! browser by the bundled Redoc): public, so that anyone can learn the API before having a token.

use caliper_validation::Limits;
use lambda_http::http::{header, HeaderValue};
use lambda_http::{Body, Response};

use super::{Answer, Call};

/// The OpenAPI 3.1 description of the API, kept beside this crate and built into it.
pub const OPENAPI: &str = include_str!("../../openapi.json");
const DOCS_PAGE: &str = include_str!("../../docs/index.html");
/// Redoc's standalone bundle (`docs/package.json` names its version): no CDN at run time.
const RENDERER: &str = include_str!("../../docs/redoc.standalone.js");

/// GET `/openapi.json`.
pub fn openapi(_: &Limits, _: &Call) -> Answer {
    Ok(document("application/json", OPENAPI))
}

/// GET `/docs`: the page that renders it.
pub fn docs_page(_: &Limits, _: &Call) -> Answer {
    Ok(document("text/html; charset=utf-8", DOCS_PAGE))
}

/// GET `/docs/redoc.standalone.js`: the page's script.
pub fn docs_script(_: &Limits, _: &Call) -> Answer {
    Ok(document("text/javascript; charset=utf-8", RENDERER))
}

fn document(content_type: &'static str, body: &str) -> Response<Body> {
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

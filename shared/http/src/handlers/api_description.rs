use lambda_http::http::{header, HeaderValue};
use lambda_http::{Body, Response};

/// The OpenAPI 3.1 description of the API, kept beside this crate and built into it.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// GET `/openapi.json`: public, so that tools and people can learn the API before they have a token.
pub fn api_description() -> Response<Body> {
    let mut response = Response::new(Body::Text(OPENAPI.to_owned()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

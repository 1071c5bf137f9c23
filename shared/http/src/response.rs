//! Every response is JSON; every error has the shape `{"status":"error","message":...,"errors":[...]}`.

use caliper_validation::Problem;
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Response};
use serde_json::{json, Value};

/// An error answer: its status, a message for people, and a path per problem where there are any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub errors: Vec<Problem>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            errors: Vec::new(),
        }
    }

    pub fn with_errors(mut self, errors: Vec<Problem>) -> Self {
        self.errors = errors;
        self
    }

    /// `errors` is always there, empty when the refusal is about no one part of the request (an
    /// unknown route), so that a client reads every error the same way.
    pub fn body(&self) -> Value {
        json!({"status": "error", "message": self.message, "errors": self.errors})
    }

    pub fn into_response(self) -> Response<Body> {
        json_response(self.status, &self.body())
    }
}

pub fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

pub fn ok(body: &Value) -> Response<Body> {
    json_response(StatusCode::OK, body)
}

//! GET /openapi.json: the OpenAPI 3.1 description of every route (no token needed).

use caliper_http::handlers;
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_http::telemetry::init_lambda();
    run(service_fn(|_request: Request| async {
        Ok::<_, Error>(handlers::api_description())
    }))
    .await
}

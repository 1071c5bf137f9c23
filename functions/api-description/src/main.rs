//! GET /openapi.json and /docs: the API's description, for tools and for people (no token needed).

use caliper_http::handlers;
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_http::telemetry::init_lambda();
    run(service_fn(|request: Request| async move {
        Ok::<_, Error>(handlers::api_description(&request))
    }))
    .await
}

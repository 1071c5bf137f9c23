//! GET /openapi.json and /docs: the API's description, for tools and for people (no token needed).

use caliper_http::{handlers, Limits};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    run(service_fn(|request: Request| async {
        Ok::<_, Error>(handlers::serve_pure(
            &Limits::default(),
            &handlers::API_DESCRIPTION,
            request,
        ))
    }))
    .await
}

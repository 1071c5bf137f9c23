//! GET /caliper/event: the endpoint configuration (versions, payload size, profiles, limits).

use caliper_http::handlers;
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    let limits = caliper_runtime::settings::limits()?;
    run(service_fn(|request: Request| async {
        Ok::<_, Error>(handlers::serve_pure(
            &limits,
            &handlers::ENDPOINT_CONFIG,
            request,
        ))
    }))
    .await
}

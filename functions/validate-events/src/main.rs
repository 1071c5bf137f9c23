//! POST /caliper/event/validate: the submission's checks, nothing stored. Needs no AWS service.

use caliper_http::handlers;
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    let limits = caliper_runtime::settings::limits()?;
    run(service_fn(|request: Request| async {
        Ok::<_, Error>(handlers::serve_pure(
            &limits,
            &handlers::VALIDATE_EVENTS,
            request,
        ))
    }))
    .await
}

//! /quarantine: what a `flag` client's submissions held that could not be stored, read, replayed
//! (submitted again as a job) or deleted by its client or an admin.

use caliper_http::{handlers, App};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    // A replay submits again: the job queue is needed.
    let aws = caliper_aws::from_env(&[caliper_aws::Needs::Queue]).await?;
    let app = App::new(aws.ports, caliper_runtime::settings::limits()?);
    run(service_fn(|request: Request| async {
        Ok::<_, Error>(handlers::serve(&app, &handlers::QUARANTINE, request).await)
    }))
    .await
}

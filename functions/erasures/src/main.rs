//! POST /erasures and GET /erasures/{id}: starts erasures (their steps queued for erase-events)
//! and reads their receipts.

use caliper_aws::Needs;
use caliper_http::{handlers, App};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    // The receipt's keyed hash is made with the cursor key.
    let aws = caliper_aws::from_env(&[Needs::ErasureQueue, Needs::CursorKeys]).await?;
    let app = App::new(aws.ports, caliper_runtime::settings::limits()?);
    run(service_fn(|request: Request| async {
        Ok::<_, Error>(handlers::serve(&app, &handlers::ERASURES, request).await)
    }))
    .await
}

//! POST /caliper/event and /caliper/v1p2: validate an envelope, record its job, queue it.

use caliper_http::{handlers, App};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    let aws = caliper_aws::from_env(&[caliper_aws::Needs::Queue]).await?;
    let app = App::new(aws.ports, caliper_runtime::settings::limits()?);
    run(service_fn(|request: Request| async {
        Ok::<_, Error>(handlers::serve(&app, &handlers::SUBMIT_EVENTS, request).await)
    }))
    .await
}

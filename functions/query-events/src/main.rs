//! GET /caliper/events and GET /caliper/events/{externalId}: stored events, listed and fetched.

use caliper_http::{handlers, App};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    let aws = caliper_aws::from_env(&[caliper_aws::Needs::CursorKeys]).await?;
    let app = App::new(aws.ports, caliper_runtime::settings::limits()?);
    run(service_fn(|request: Request| async {
        Ok::<_, Error>(handlers::serve(&app, &handlers::QUERY_EVENTS, request).await)
    }))
    .await
}

//! GET /jobs/{jobId}/status: where a submission job stands.

use caliper_http::{handlers, App};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_http::telemetry::init_lambda();
    let sdk = caliper_aws::load_sdk_config().await;
    let app = App::new(caliper_aws::ports(&sdk, &caliper_aws::AwsSettings::from_env(), None), caliper_http::Limits::from_env());
    run(service_fn(|request: Request| async { Ok::<_, Error>(handlers::job_status(&app, request).await) })).await
}

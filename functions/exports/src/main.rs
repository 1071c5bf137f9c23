//! POST /exports, GET /exports/{id} and its files: starts exports (their steps queued for
//! export-events) and reads them back, each file with a time-limited S3 URL.

use caliper_aws::Needs;
use caliper_http::{handlers, App};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    let aws = caliper_aws::from_env(&[Needs::ExportQueue, Needs::ExportBucket])
        .await?
        .with_export_files();
    let app = App::new(aws.ports, caliper_runtime::settings::limits()?);
    run(service_fn(|request: Request| async {
        Ok::<_, Error>(handlers::serve(&app, &handlers::EXPORTS, request).await)
    }))
    .await
}

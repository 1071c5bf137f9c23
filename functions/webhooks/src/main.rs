//! /webhooks/ and /webhook-filters/: managing the webhooks that receive stored events.

use caliper_http::{handlers, App};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_http::telemetry::init_lambda();
    let (ports, settings) = caliper_aws::from_env().await;
    if settings.secrets_key_id.is_none() {
        return Err(
            "CALIPER_SECRETS_KEY_ID is not set: webhook secrets are sealed by a KMS key".into(),
        );
    }
    // Public https targets only (the App's default): never widened in AWS.
    let app = App::new(ports, caliper_http::Limits::from_env());
    run(service_fn(|request: Request| async {
        Ok::<_, Error>(handlers::webhooks(&app, request).await)
    }))
    .await
}

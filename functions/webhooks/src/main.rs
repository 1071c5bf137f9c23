//! /webhooks/ and /webhook-filters/: managing the webhooks that receive stored events.

use caliper_http::{handlers, App};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    let aws = caliper_aws::from_env(&[caliper_aws::Needs::SecretsKey]).await?;
    let policy = caliper_core::webhooks::TargetPolicy {
        allow_private: aws.settings.allow_private_webhooks,
    };
    let app = App::new(aws.ports, caliper_runtime::settings::limits()?).with_target_policy(policy);
    run(service_fn(|request: Request| async {
        Ok::<_, Error>(handlers::serve(&app, &handlers::WEBHOOKS, request).await)
    }))
    .await
}

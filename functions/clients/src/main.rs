//! /clients/{clientAppId}, /keys and /connectors: each client's settings, its API keys and the
//! connectors that submit as it (admins only). Setting a client's retention queues a sweep of
//! what it stored before.

use caliper_aws::Needs;
use caliper_http::{handlers, App};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    let aws = caliper_aws::from_env(&[Needs::ErasureQueue]).await?;
    // Connectors' key URLs obey the webhook targets' rules.
    let policy = caliper_core::webhooks::TargetPolicy {
        allow_private: aws.settings.allow_private_webhooks,
    };
    let app = App::new(aws.ports, caliper_runtime::settings::limits()?).with_target_policy(policy);
    run(service_fn(|request: Request| async {
        Ok::<_, Error>(handlers::serve(&app, &handlers::CLIENTS, request).await)
    }))
    .await
}

//! /connectors/canvas/{id}: producers' events posted through a connector, authenticated by the
//! body's signature (no authorizer runs). The keys each connector's producer publishes are kept
//! for the life of the process, so across invocations.

use std::sync::Arc;

use caliper_auth::SignedBodies;
use caliper_core::webhooks::TargetPolicy;
use caliper_http::{handlers, App};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    let aws = caliper_aws::from_env(&[caliper_aws::Needs::Queue]).await?;
    let policy = TargetPolicy {
        allow_private: aws.settings.allow_private_webhooks,
    };
    let signatures = Arc::new(SignedBodies::new(policy)?);
    let app = App::new(aws.ports, caliper_runtime::settings::limits()?)
        .with_target_policy(policy)
        .with_signatures(signatures);
    run(service_fn(|request: Request| async {
        Ok::<_, Error>(handlers::serve(&app, &handlers::CONNECTOR_EVENTS, request).await)
    }))
    .await
}

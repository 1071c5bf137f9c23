//! The delivery queue's SQS trigger: fans stored events out to the webhooks that want them, and
//! sends each delivery signed. A failed delivery is hidden for its backoff delay and reported in
//! `batchItemFailures`; after the last attempt SQS moves it to the dead-letter queue.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use caliper_aws::Needs;
use caliper_core::webhooks::{DeliverySettings, Dispatcher, TargetPolicy, WebhookService};
use caliper_sender::GuardedSender;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_http::telemetry::init_lambda();
    let sdk = caliper_aws::load_sdk_config().await;
    let settings = caliper_aws::AwsSettings::from_env()?;
    settings.require(&[Needs::SecretsKey, Needs::DeliveryQueue])?;
    let delivery = DeliverySettings::from_env();
    let policy = TargetPolicy {
        allow_private: settings.allow_private_webhooks,
    };
    let ports = caliper_aws::ports(&sdk, &settings, None);
    let queue = caliper_aws::delivery_queue(&sdk, &settings, None);
    let dispatcher = Arc::new(Dispatcher::new(
        delivery.backoff,
        WebhookService::new(ports.webhooks.clone(), ports.secrets.clone(), policy),
        ports.events.clone(),
        Arc::new(queue),
        Arc::new(GuardedSender::new(policy, delivery.timeout)?),
    ));
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue_url = settings.delivery_queue_url.clone().unwrap_or_default();
    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let (dispatcher, sqs, queue_url) = (dispatcher.clone(), &sqs, &queue_url);
        async move {
            let redelivery = caliper_aws::Redelivery {
                client: sqs,
                queue_url,
            };
            Ok::<_, Error>(
                caliper_aws::process_sqs_event(
                    &*dispatcher,
                    event.payload,
                    settings.delivery_attempts,
                    Some(redelivery),
                )
                .await,
            )
        }
    }))
    .await
}

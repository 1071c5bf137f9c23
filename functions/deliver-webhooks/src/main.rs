//! The delivery queue's SQS trigger: fans stored events out to the webhooks that want them, and
//! sends each delivery signed. A failed delivery is hidden for its backoff delay and reported in
//! `batchItemFailures`; after the last attempt SQS moves it to the dead-letter queue.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use caliper_aws::Needs;
use caliper_core::webhooks::TargetPolicy;
use caliper_sender::GuardedSender;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    let delivery = caliper_runtime::settings::delivery()?;
    let aws = caliper_aws::from_env(&[Needs::SecretsKey, Needs::DeliveryQueue]).await?;
    let policy = TargetPolicy {
        allow_private: aws.settings.allow_private_webhooks,
    };
    let sender = Arc::new(GuardedSender::new(policy, delivery.timeout)?);
    let dispatcher = caliper_core::workers::dispatcher(&aws.ports, &delivery, policy, sender);
    let redelivery = aws.redelivery(Needs::DeliveryQueue)?;
    let attempts = aws.settings.delivery_attempts;
    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let (dispatcher, redelivery) = (&dispatcher, &redelivery);
        async move {
            let answer =
                caliper_aws::process_sqs_event(dispatcher, event.payload, attempts, redelivery);
            Ok::<_, Error>(answer.await)
        }
    }))
    .await
}

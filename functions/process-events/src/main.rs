//! The SQS trigger: stores each message's events once and records the job's progress, then
//! announces the stored events to webhook delivery. Failed messages are reported in
//! `batchItemFailures`, so only they return to the queue.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use caliper_core::Processor;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_http::telemetry::init_lambda();
    let sdk = caliper_aws::load_sdk_config().await;
    let settings = caliper_aws::AwsSettings::from_env()?;
    settings.require(&[caliper_aws::Needs::DeliveryQueue])?;
    let ports = caliper_aws::ports(&sdk, &settings, None);
    let deliveries = Arc::new(caliper_aws::delivery_queue(&sdk, &settings, None));
    let processor = Arc::new(Processor::new(ports.jobs, ports.events).notifying(deliveries));
    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let processor = processor.clone();
        async move {
            Ok::<_, Error>(
                caliper_aws::process_sqs_event(
                    &*processor,
                    event.payload,
                    settings.max_receives,
                    None,
                )
                .await,
            )
        }
    }))
    .await
}

//! The SQS trigger: stores each message's events once and records the job's progress, then
//! announces the stored events to webhook delivery. Failed messages are reported in
//! `batchItemFailures`, so only they return to the queue, after the processor's retry delay.

use aws_lambda_events::event::sqs::SqsEvent;
use caliper_aws::Needs;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    let aws = caliper_aws::from_env(&[Needs::Queue, Needs::DeliveryQueue]).await?;
    let processor = caliper_core::workers::processor(&aws.ports);
    let redelivery = aws.redelivery(Needs::Queue)?;
    let max_receives = aws.settings.max_receives;
    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let (processor, redelivery) = (&processor, &redelivery);
        async move {
            let answer =
                caliper_aws::process_sqs_event(processor, event.payload, max_receives, redelivery);
            Ok::<_, Error>(answer.await)
        }
    }))
    .await
}

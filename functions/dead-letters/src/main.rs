//! The job queue's dead-letter trigger. SQS moves a message here by itself when every allowed
//! delivery ended without a verdict (the processor crashed, timed out or ran out of memory): its
//! job is marked `failed` with the reason, so that no job waits forever, and the message is kept
//! on the replay queue for an operator to send again.

use aws_lambda_events::event::sqs::SqsEvent;
use caliper_aws::Needs;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    let aws = caliper_aws::from_env(&[Needs::ReplayQueue]).await?;
    let processor = caliper_core::workers::processor(&aws.ports);
    let replay = aws.replay_queue()?;
    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let (processor, replay) = (&processor, &replay);
        async move {
            Ok::<_, Error>(
                caliper_aws::dead_letters_sqs_event(processor, event.payload, replay).await,
            )
        }
    }))
    .await
}

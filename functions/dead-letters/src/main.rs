//! The job queue's dead-letter trigger. SQS moves a message here by itself when every allowed
//! delivery ended without a verdict (the processor crashed, timed out or ran out of memory): its
//! job is marked `failed` with the reason, so that no job waits forever, and the message is kept
//! on the replay queue for an operator to send again.

use aws_lambda_events::event::sqs::SqsEvent;
use caliper_core::Processor;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_http::telemetry::init_lambda();
    let sdk = caliper_aws::load_sdk_config().await;
    let settings = caliper_aws::AwsSettings::from_env()?;
    settings.require(&[caliper_aws::Needs::ReplayQueue])?;
    let replay_url = settings.replay_queue_url.clone().unwrap_or_default();
    let ports = caliper_aws::ports(&sdk, &settings, None);
    let processor = Processor::new(ports.jobs, ports.events);
    let replay = caliper_aws::SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), replay_url);
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

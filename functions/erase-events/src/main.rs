//! The erasure queue's SQS trigger: runs each step of an erasure (a page of the learner's events
//! or of the quarantine) and queues the next. A failed step is hidden for its backoff delay and
//! reported in `batchItemFailures`; after the last attempt the erasure is failed (forgetting whom
//! it was about) and SQS moves the step to the dead-letter queue.

use aws_lambda_events::event::sqs::SqsEvent;
use caliper_aws::Needs;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    let aws = caliper_aws::from_env(&[Needs::ErasureQueue]).await?;
    let eraser = caliper_core::workers::eraser(&aws.ports);
    let redelivery = aws.redelivery(Needs::ErasureQueue)?;
    let attempts = aws.settings.max_receives;
    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let (eraser, redelivery) = (&eraser, &redelivery);
        async move {
            let answer =
                caliper_aws::process_sqs_event(eraser, event.payload, attempts, redelivery);
            Ok::<_, Error>(answer.await)
        }
    }))
    .await
}

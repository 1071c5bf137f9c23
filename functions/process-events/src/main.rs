//! The SQS trigger: stores each message's events once and records the job's progress. Failed
//! messages are reported in `batchItemFailures`, so only they return to the queue.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use caliper_core::Processor;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_http::telemetry::init_lambda();
    let (ports, settings) = caliper_aws::from_env().await;
    let processor = Arc::new(Processor::new(ports.jobs, ports.events));
    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let processor = processor.clone();
        async move {
            Ok::<_, Error>(
                caliper_aws::process_sqs_event(&processor, event.payload, settings.max_receives)
                    .await,
            )
        }
    }))
    .await
}

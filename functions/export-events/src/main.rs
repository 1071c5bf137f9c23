//! The export queue's SQS trigger: runs each step of an export (one file of one date) and queues
//! the next. A failed step is hidden for its backoff delay and reported in `batchItemFailures`;
//! after the last attempt the export is failed and SQS moves the step to the dead-letter queue.
//! The only function that links the Parquet writer.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use caliper_aws::Needs;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    let aws = caliper_aws::from_env(&[Needs::ExportQueue, Needs::ExportBucket])
        .await?
        .with_export_files();
    let exporter = caliper_core::workers::exporter(&aws.ports, Arc::new(caliper_export::Files));
    let redelivery = aws.redelivery(Needs::ExportQueue)?;
    let attempts = aws.settings.max_receives;
    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let (exporter, redelivery) = (&exporter, &redelivery);
        async move {
            let answer =
                caliper_aws::process_sqs_event(exporter, event.payload, attempts, redelivery);
            Ok::<_, Error>(answer.await)
        }
    }))
    .await
}

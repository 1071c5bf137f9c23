//! The SQS trigger: stores each message's events once and records the job's progress. Failed
//! messages are reported in `batchItemFailures`, so only they return to the queue.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use caliper_core::{Delivery, Processor};
use futures::future::join_all;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_http::telemetry::init_lambda();
    let (ports, settings) = caliper_aws::from_env().await;
    let processor = Arc::new(Processor::new(ports.jobs, ports.events));
    let max_receives = settings.max_receives;
    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let processor = processor.clone();
        async move { Ok::<_, Error>(handle(&processor, event.payload, max_receives).await) }
    }))
    .await
}

async fn handle(processor: &Processor, event: SqsEvent, max_receives: u32) -> SqsBatchResponse {
    let deliveries = event.records.iter().map(|record| async move {
        let receives = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let delivery = processor
            .deliver(
                record.body.as_deref().unwrap_or_default(),
                receives,
                max_receives,
            )
            .await;
        (record.message_id.clone().unwrap_or_default(), delivery)
    });
    let mut response = SqsBatchResponse::default();
    for (message_id, delivery) in join_all(deliveries).await {
        // Retry and DeadLetter alike go back to SQS, whose redrive policy moves the latter to the DLQ.
        if delivery != Delivery::Done {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

//! The SQS trigger's batch: each record handled by the processor, failures reported one by one
//! (`ReportBatchItemFailures`), so that only they return to the queue.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use caliper_core::{Delivery, Processor};
use futures::future::join_all;

pub async fn process_sqs_event(
    processor: &Processor,
    event: SqsEvent,
    max_receives: u32,
) -> SqsBatchResponse {
    let deliveries = event.records.iter().map(|record| async move {
        let receives = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let body = record.body.as_deref().unwrap_or_default();
        (
            record.message_id.clone().unwrap_or_default(),
            processor.deliver(body, receives, max_receives).await,
        )
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

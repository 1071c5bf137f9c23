//! The SQS trigger's batch: each record handled by a consumer, failures reported one by one
//! (`ReportBatchItemFailures`), so that only they return to the queue.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use caliper_core::{Consumer, Verdict};
use futures::future::join_all;

use crate::sqs::{delay_redelivery, SqsQueue};

/// The queue the records came from, on which a failed message is hidden for its consumer's
/// retry delay.
pub struct Redelivery {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
}

pub async fn process_sqs_event(
    processor: &dyn Consumer,
    event: SqsEvent,
    max_receives: u32,
    redelivery: &Redelivery,
) -> SqsBatchResponse {
    let deliveries = event.records.iter().map(|record| async move {
        let receives = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let body = record.body.as_deref().unwrap_or_default();
        let delivery = processor.consume(body, receives, max_receives).await;
        if let (Verdict::Retry, Some(handle)) = (delivery, record.receipt_handle.as_deref()) {
            let delay = processor.retry_delay(receives);
            // Failing, the message returns after the queue's visibility timeout.
            let (client, url) = (&redelivery.client, &redelivery.queue_url);
            if let Err(error) = delay_redelivery(client, url, handle, delay).await {
                tracing::warn!(%error, "could not delay a redelivery");
            }
        }
        (record.message_id.clone().unwrap_or_default(), delivery)
    });
    let mut response = SqsBatchResponse::default();
    for (message_id, delivery) in join_all(deliveries).await {
        // Retry and DeadLetter alike go back to SQS, whose redrive policy moves the latter to the DLQ.
        if delivery != Verdict::Done {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// The dead-letter queue's trigger: each message's consumer records that it was dead-lettered
/// (the processor fails its job), and the message is kept on `replay` for an operator to send
/// again; only then is it taken off the dead-letter queue. A message whose record or copy failed
/// stays there for another try.
pub async fn dead_letters_sqs_event(
    consumer: &dyn Consumer,
    event: SqsEvent,
    replay: &SqsQueue,
) -> SqsBatchResponse {
    let records = event.records.iter().map(|record| async move {
        let body = record.body.as_deref().unwrap_or_default();
        let kept = match consumer.dead_lettered(body).await {
            Ok(()) => replay.send_body(body).await,
            Err(error) => Err(error),
        };
        if let Err(error) = &kept {
            tracing::error!(%error, "could not record a dead letter; it stays on the dead-letter queue");
        }
        (record.message_id.clone().unwrap_or_default(), kept.is_ok())
    });
    let mut response = SqsBatchResponse::default();
    for (message_id, kept) in join_all(records).await {
        if !kept {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

//! The queues on SQS: sending job parts and webhook deliveries, and a poller that feeds a consumer
//! outside Lambda (caliper-local with `--backend aws`). In AWS the Lambda event source mappings poll.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::types::{MessageSystemAttributeName, SendMessageBatchRequestEntry};
use aws_sdk_sqs::Client;
use caliper_core::webhooks::DeliveryMessage;
use caliper_core::{Consumer, DeliveryQueue, JobMessage, Queue, StoreError, Verdict};
use futures::future::join_all;
use futures::{stream, StreamExt};

use crate::errors::store_error;

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    url: Option<String>,
    /// The setting that names `url`, for the error when it is not given.
    setting: &'static str,
}

impl SqsQueue {
    /// The queue at `url`, which `setting` names; none: every send fails, naming the setting.
    pub fn new(client: Client, url: Option<String>, setting: &'static str) -> Self {
        Self {
            client,
            url,
            setting,
        }
    }

    fn url(&self) -> Result<&str, StoreError> {
        self.url.as_deref().ok_or_else(|| {
            StoreError::new(format!(
                "{} is not set: this function cannot send to that queue",
                self.setting
            ))
        })
    }

    /// Sends one message body as it is (a dead letter kept for replay).
    pub async fn send_body(&self, body: &str) -> Result<(), StoreError> {
        self.client
            .send_message()
            .queue_url(self.url()?)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error("SendMessage", e))
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, messages: &[JobMessage]) -> Result<(), StoreError> {
        // One SendMessage each: a part may be close to 1 MiB, the limit of a whole batch request.
        let url = self.url()?;
        let sends = messages.iter().map(|message| {
            self.client
                .send_message()
                .queue_url(url)
                .message_body(message.to_json())
                .send()
        });
        for sent in join_all(sends).await {
            sent.map_err(|e| store_error("SendMessage", e))?;
        }
        Ok(())
    }
}

#[async_trait]
impl DeliveryQueue for SqsQueue {
    async fn send(&self, messages: &[DeliveryMessage]) -> Result<(), StoreError> {
        // Delivery messages are small: ten to a SendMessageBatch.
        for chunk in messages.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, message)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(message.to_json())
                        .build()
                        .map_err(|e| StoreError::new(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .client
                .send_message_batch()
                .queue_url(self.url()?)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| store_error("SendMessageBatch", e))?;
            if let Some(failed) = output.failed().first() {
                return Err(StoreError::retryable(format!(
                    "SendMessageBatch failed for {} of {} messages: {}",
                    output.failed().len(),
                    chunk.len(),
                    failed.message().unwrap_or(failed.code())
                )));
            }
        }
        Ok(())
    }
}

/// Hides a message for `delay` before SQS delivers it again: a consumer's own backoff.
pub async fn delay_redelivery(
    client: &Client,
    queue_url: &str,
    receipt_handle: &str,
    delay: Duration,
) -> Result<(), StoreError> {
    // SQS takes whole seconds, at most 12 hours.
    let seconds = delay.as_secs_f64().ceil().min(43_200.0) as i32;
    client
        .change_message_visibility()
        .queue_url(queue_url)
        .receipt_handle(receipt_handle)
        .visibility_timeout(seconds)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| store_error("ChangeMessageVisibility", e))
}

/// Long-polls an SQS queue and hands each message to a consumer, as the Lambda trigger would.
pub struct SqsPoller {
    client: Client,
    url: String,
    max_receives: u32,
}

impl SqsPoller {
    pub fn new(sdk: &aws_config::SdkConfig, url: impl Into<String>, max_receives: u32) -> Self {
        Self {
            client: Client::new(sdk),
            url: url.into(),
            max_receives,
        }
    }

    pub async fn run(&self, consumer: Arc<dyn Consumer>) {
        loop {
            let received = self
                .client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
                .await;
            let messages = match received {
                Ok(output) => output.messages.unwrap_or_default(),
                Err(e) => {
                    tracing::error!(error = %store_error("ReceiveMessage", e), "cannot read the queue");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            stream::iter(messages)
                .for_each_concurrent(10, |message| {
                    let consumer = consumer.clone();
                    async move {
                        let receives = message
                            .attributes()
                            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(1);
                        let delivery = consumer.consume(message.body().unwrap_or_default(), receives, self.max_receives).await;
                        let Some(handle) = message.receipt_handle() else { return };
                        let settled = match delivery {
                            Verdict::Done => self.client.delete_message().queue_url(&self.url).receipt_handle(handle).send().await.map(|_| ()).map_err(|e| store_error("DeleteMessage", e)),
                            // Visible again soon; SQS counts the receive and redrives to the DLQ after the last one.
                            Verdict::Retry | Verdict::DeadLetter => {
                                let delay = match delivery {
                                    Verdict::DeadLetter => Duration::ZERO,
                                    _ => consumer.retry_delay(receives),
                                };
                                delay_redelivery(&self.client, &self.url, handle, delay).await
                            }
                        };
                        if let Err(error) = settled {
                            tracing::warn!(%error, "could not settle a message; SQS will deliver it again");
                        }
                    }
                })
                .await;
        }
    }
}

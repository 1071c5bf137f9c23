//! The queues on SQS: sending job parts and webhook deliveries, and a poller that feeds a consumer
//! outside Lambda (caliper-local with `--backend aws`). In AWS the Lambda event source mappings poll.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::types::{MessageSystemAttributeName, SendMessageBatchRequestEntry};
use aws_sdk_sqs::Client;
use caliper_core::{Consumer, Message, Queue, QueueRunner, StoreError, Verdict};
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

/// SQS takes at most ten messages and 1 MiB in one SendMessageBatch; larger messages (a job's
/// part may be close to 1 MiB) go alone, by SendMessage.
const BATCH_COUNT: usize = 10;
const BATCH_BYTES: usize = 256 * 1024;

#[async_trait]
impl<M: Message> Queue<M> for SqsQueue {
    async fn send(&self, messages: &[M]) -> Result<(), StoreError> {
        let bodies: Vec<String> = messages.iter().map(M::to_json).collect::<Result<_, _>>()?;
        let mut batches: Vec<Vec<String>> = Vec::new();
        let mut size = 0;
        for body in bodies {
            match batches.last_mut() {
                Some(batch) if batch.len() < BATCH_COUNT && size + body.len() <= BATCH_BYTES => {
                    size += body.len();
                    batch.push(body);
                }
                _ => {
                    size = body.len();
                    batches.push(vec![body]);
                }
            }
        }
        let sends = batches.into_iter().map(|batch| self.send_batch(batch));
        join_all(sends).await.into_iter().collect()
    }
}

impl SqsQueue {
    async fn send_batch(&self, bodies: Vec<String>) -> Result<(), StoreError> {
        if let [body] = bodies.as_slice() {
            return self.send_body(body).await;
        }
        let url = self.url()?;
        let count = bodies.len();
        let entries = bodies
            .into_iter()
            .enumerate()
            .map(|(i, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| StoreError::new("a SendMessageBatch entry").caused_by(e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = self
            .client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| store_error("SendMessageBatch", e))?;
        if let Some(failed) = output.failed().first() {
            return Err(StoreError::retryable(format!(
                "SendMessageBatch failed for {} of {count} messages: {}",
                output.failed().len(),
                failed.message().unwrap_or(failed.code())
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl QueueRunner for SqsPoller {
    async fn run(&self, consumer: Arc<dyn Consumer>) {
        SqsPoller::run(self, consumer).await;
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

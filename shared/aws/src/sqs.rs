//! The queue on SQS: sending job parts, and a poller that feeds the processor outside Lambda
//! (caliper-local with `--backend aws`). In AWS the Lambda event source mapping does the polling.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use aws_sdk_sqs::Client;
use caliper_core::{Delivery, JobMessage, Processor, Queue, StoreError};
use futures::future::join_all;
use futures::{stream, StreamExt};

use crate::errors::store_error;

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, messages: &[JobMessage]) -> Result<(), StoreError> {
        // One SendMessage each: a part may be close to 1 MiB, the limit of a whole batch request.
        let sends = messages.iter().map(|message| {
            self.client
                .send_message()
                .queue_url(&self.url)
                .message_body(message.to_json())
                .send()
        });
        for sent in join_all(sends).await {
            sent.map_err(|e| store_error("SendMessage", e))?;
        }
        Ok(())
    }
}

/// Long-polls an SQS queue and hands each message to the processor, as the Lambda trigger would.
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

    pub async fn run(&self, processor: Arc<Processor>) {
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
                    let processor = processor.clone();
                    async move {
                        let receives = message
                            .attributes()
                            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(1);
                        let delivery = processor.deliver(message.body().unwrap_or_default(), receives, self.max_receives).await;
                        let Some(handle) = message.receipt_handle() else { return };
                        let settled = match delivery {
                            Delivery::Done => self.client.delete_message().queue_url(&self.url).receipt_handle(handle).send().await.map(|_| ()).map_err(|e| store_error("DeleteMessage", e)),
                            // Visible again soon; SQS counts the receive and redrives to the DLQ after the last one.
                            Delivery::Retry | Delivery::DeadLetter => {
                                let delay = 2i32.saturating_pow(receives.min(5)).min(30);
                                self.client
                                    .change_message_visibility()
                                    .queue_url(&self.url)
                                    .receipt_handle(handle)
                                    .visibility_timeout(if delivery == Delivery::DeadLetter { 0 } else { delay })
                                    .send()
                                    .await
                                    .map(|_| ())
                                    .map_err(|e| store_error("ChangeMessageVisibility", e))
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

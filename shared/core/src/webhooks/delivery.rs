//! Delivery: stored events fan out to the webhooks that want them, one queue message per event and
//! webhook, and each message is one signed POST. A failed POST leaves its message to the queue,
//! which tries again after a growing, jittered delay and, after the last allowed attempt, moves it
//! to the dead letters: a slow or dead receiver holds up only its own deliveries.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::future::join_all;
use serde::{Deserialize, Serialize};

use super::service::WebhookService;
use super::signature::{sign, DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WEBHOOK_HEADER};
use crate::ports::{DeliveryQueue, EventStore, StoreError, WebhookSender};
use crate::process::Delivery;

/// A message on the delivery queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum DeliveryMessage {
    /// These events (Caliper ids) were stored: find the webhooks that want them.
    Stored { events: Vec<String> },
    /// Send one stored event to one webhook.
    Deliver {
        webhook_id: String,
        event_id: String,
    },
}

impl DeliveryMessage {
    /// Ids per `Stored` message: far below any queue's size limit.
    pub const IDS_PER_MESSAGE: usize = 500;

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// `Stored` messages for these ids, at most [`Self::IDS_PER_MESSAGE`] each.
    pub fn stored(ids: &[String]) -> Vec<Self> {
        ids.chunks(Self::IDS_PER_MESSAGE)
            .map(|chunk| Self::Stored {
                events: chunk.to_vec(),
            })
            .collect()
    }
}

/// When to try a failed delivery again: exponential from `base`, capped at `max`, with full
/// jitter (a random delay between half and all of it) so that retries of one outage spread out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The delay after the `attempt`-th failed attempt (from 1).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let full = self.base.saturating_mul(1 << exponent).min(self.max);
        full.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

pub struct Dispatcher {
    webhooks: WebhookService,
    events: Arc<dyn EventStore>,
    queue: Arc<dyn DeliveryQueue>,
    sender: Arc<dyn WebhookSender>,
}

impl Dispatcher {
    pub fn new(
        webhooks: WebhookService,
        events: Arc<dyn EventStore>,
        queue: Arc<dyn DeliveryQueue>,
        sender: Arc<dyn WebhookSender>,
    ) -> Self {
        Self {
            webhooks,
            events,
            queue,
            sender,
        }
    }

    /// Handles one delivery of a queue message and says what the queue should do with it.
    /// `receives` counts this delivery; after `max_receives` the message goes to the dead letters.
    pub async fn handle(&self, body: &str, receives: u32, max_receives: u32) -> Delivery {
        let last = receives >= max_receives;
        let message: DeliveryMessage = match serde_json::from_str(body) {
            Ok(message) => message,
            Err(error) => {
                tracing::error!(%error, "unreadable delivery message");
                return if last {
                    Delivery::DeadLetter
                } else {
                    Delivery::Retry
                };
            }
        };
        let outcome = match &message {
            DeliveryMessage::Stored { events } => self.fan_out(events).await,
            DeliveryMessage::Deliver {
                webhook_id,
                event_id,
            } => self.deliver(webhook_id, event_id, receives).await,
        };
        match outcome {
            Ok(()) => Delivery::Done,
            Err(reason) if last => {
                match &message {
                    DeliveryMessage::Deliver {
                        webhook_id,
                        event_id,
                    } => tracing::error!(
                        webhook_id,
                        event_id,
                        attempts = receives,
                        reason,
                        "webhook delivery abandoned"
                    ),
                    DeliveryMessage::Stored { events } => {
                        tracing::error!(events = events.len(), reason, "webhook fan-out abandoned")
                    }
                }
                Delivery::DeadLetter
            }
            Err(reason) => {
                tracing::warn!(
                    receives,
                    reason,
                    "webhook delivery failed; it will be tried again"
                );
                Delivery::Retry
            }
        }
    }

    /// Queues one `Deliver` per stored event and webhook that wants it.
    async fn fan_out(&self, ids: &[String]) -> Result<(), String> {
        let subscriptions = self.webhooks.subscriptions().await.map_err(failed)?;
        if subscriptions.is_empty() {
            return Ok(());
        }
        let events = join_all(ids.iter().map(|id| self.events.get(id))).await;
        let mut messages = Vec::new();
        for (id, event) in ids.iter().zip(events) {
            let Some(event) = event.map_err(failed)? else {
                tracing::warn!(
                    event_id = id,
                    "a stored event to deliver is not in the store"
                );
                continue;
            };
            let json = serde_json::to_value(&event).map_err(|e| e.to_string())?;
            for subscription in subscriptions.iter().filter(|s| s.wants(&event, &json)) {
                messages.push(DeliveryMessage::Deliver {
                    webhook_id: subscription.webhook.id.clone(),
                    event_id: id.clone(),
                });
            }
        }
        if !messages.is_empty() {
            self.queue.send(&messages).await.map_err(failed)?;
            tracing::info!(
                events = ids.len(),
                deliveries = messages.len(),
                "deliveries queued"
            );
        }
        Ok(())
    }

    /// One signed POST of the stored event to the webhook, unless it was deactivated or deleted.
    async fn deliver(&self, webhook_id: &str, event_id: &str, attempt: u32) -> Result<(), String> {
        let Some(webhook) = self
            .webhooks
            .live_webhook(webhook_id)
            .await
            .map_err(failed)?
        else {
            tracing::info!(webhook_id, event_id, "webhook deleted; delivery dropped");
            return Ok(());
        };
        if !webhook.active {
            tracing::info!(webhook_id, event_id, "webhook inactive; delivery dropped");
            return Ok(());
        }
        let Some(event) = self.events.get(event_id).await.map_err(failed)? else {
            tracing::warn!(
                webhook_id,
                event_id,
                "the event is no longer stored; delivery dropped"
            );
            return Ok(());
        };
        let body = serde_json::to_string(&event).map_err(|e| e.to_string())?;
        let timestamp = Utc::now().timestamp();
        let headers = [
            (SIGNATURE_HEADER, sign(&webhook.secret, timestamp, &body)),
            (TIMESTAMP_HEADER, timestamp.to_string()),
            (WEBHOOK_HEADER, webhook.id.clone()),
            (DELIVERY_HEADER, delivery_id(webhook_id, event_id)),
            ("X-Caliper-Attempt", attempt.to_string()),
        ];
        match self.sender.post(&webhook.target_url, &headers, &body).await {
            Ok(status) if (200..300).contains(&status) => {
                tracing::info!(webhook_id, event_id, attempt, status, "webhook delivered");
                Ok(())
            }
            Ok(status) => Err(format!("the receiver answered {status}")),
            Err(reason) => Err(reason),
        }
    }
}

/// Stable across attempts of one event to one webhook, so that receivers can drop repeats.
pub fn delivery_id(webhook_id: &str, event_id: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("{webhook_id}\n{event_id}").as_bytes(),
    )
    .to_string()
}

fn failed(error: StoreError) -> String {
    error.to_string()
}

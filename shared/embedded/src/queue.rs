//! An in-process queue that keeps its messages in the embedded database, with the semantics of
//! the SQS setup in AWS: at-least-once delivery, a receive count, retries after a delay, and a
//! dead-letter table after the last allowed receive.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use caliper_core::{Delivery, JobMessage, Processor, Queue, StoreError};
use futures::future::join_all;
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::db::{fail, Embedded, COUNTERS, DEAD_LETTERS, QUEUE};

const QUEUE_SEQUENCE: &str = "queue_seq";

#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// Deliveries before a message goes to the dead letters (SQS `maxReceiveCount`).
    pub max_receives: u32,
    /// Delay before the first retry; doubled on each further one.
    pub retry_delay: Duration,
    /// Messages processed at once.
    pub batch_size: usize,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            max_receives: 5,
            retry_delay: Duration::from_millis(500),
            batch_size: 10,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Queued {
    receives: u32,
    visible_at_ms: i64,
    body: String,
}

#[derive(Clone)]
pub struct EmbeddedQueue {
    store: Embedded,
    wake: Arc<Notify>,
    settings: QueueSettings,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl EmbeddedQueue {
    pub fn new(store: Embedded, settings: QueueSettings) -> Self {
        Self {
            store,
            wake: Arc::new(Notify::new()),
            settings,
        }
    }

    /// Processes messages until the task is dropped. Messages left in flight by an earlier run
    /// (a crash, a kill) are delivered again at once.
    pub async fn run(&self, processor: Arc<Processor>) {
        if let Err(error) = self.release_in_flight().await {
            tracing::error!(%error, "could not release messages left in flight");
        }
        loop {
            let batch = match self.receive().await {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::error!(%error, "could not read the queue");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if batch.is_empty() {
                // Woken by a send, or by the clock for messages waiting out a retry delay.
                let _ =
                    tokio::time::timeout(Duration::from_millis(250), self.wake.notified()).await;
                continue;
            }
            join_all(
                batch
                    .into_iter()
                    .map(|(seq, receives, body)| self.handle(&processor, seq, receives, body)),
            )
            .await;
        }
    }

    async fn handle(&self, processor: &Processor, seq: u64, receives: u32, body: String) {
        let settle = match processor
            .deliver(&body, receives, self.settings.max_receives)
            .await
        {
            Delivery::Done => Settle::Done,
            Delivery::DeadLetter => Settle::DeadLetter,
            Delivery::Retry => Settle::RetryAfter(
                self.settings.retry_delay * 2u32.saturating_pow(receives.saturating_sub(1)),
            ),
        };
        self.settle(seq, settle).await;
    }

    /// Takes up to a batch of visible messages, counting a receive and hiding each until settled.
    async fn receive(&self) -> Result<Vec<(u64, u32, String)>, StoreError> {
        let limit = self.settings.batch_size;
        self.store
            .blocking(move |db| {
                let now = now_ms();
                let txn = db.begin_write().map_err(fail)?;
                let mut taken = Vec::new();
                {
                    let mut table = txn.open_table(QUEUE).map_err(fail)?;
                    let mut ready = Vec::new();
                    for entry in table.iter().map_err(fail)? {
                        let (key, value) = entry.map_err(fail)?;
                        let queued: Queued = serde_json::from_slice(value.value()).map_err(fail)?;
                        if queued.visible_at_ms <= now {
                            ready.push((key.value(), queued));
                            if ready.len() == limit {
                                break;
                            }
                        }
                    }
                    for (seq, mut queued) in ready {
                        queued.receives += 1;
                        queued.visible_at_ms = i64::MAX; // in flight until settled
                        table
                            .insert(seq, serde_json::to_vec(&queued).map_err(fail)?.as_slice())
                            .map_err(fail)?;
                        taken.push((seq, queued.receives, queued.body));
                    }
                }
                txn.commit().map_err(fail)?;
                Ok(taken)
            })
            .await
    }

    async fn settle(&self, seq: u64, how: Settle) {
        let result = self
            .store
            .blocking(move |db| {
                let txn = db.begin_write().map_err(fail)?;
                {
                    let mut table = txn.open_table(QUEUE).map_err(fail)?;
                    let record = table.remove(seq).map_err(fail)?.map(|g| g.value().to_vec());
                    match (how, record) {
                        (Settle::Done, _) | (_, None) => {}
                        (Settle::DeadLetter, Some(bytes)) => {
                            txn.open_table(DEAD_LETTERS)
                                .map_err(fail)?
                                .insert(seq, bytes.as_slice())
                                .map_err(fail)?;
                        }
                        (Settle::RetryAfter(delay), Some(bytes)) => {
                            let mut queued: Queued =
                                serde_json::from_slice(&bytes).map_err(fail)?;
                            queued.visible_at_ms = now_ms() + delay.as_millis() as i64;
                            table
                                .insert(seq, serde_json::to_vec(&queued).map_err(fail)?.as_slice())
                                .map_err(fail)?;
                        }
                    }
                }
                txn.commit().map_err(fail)
            })
            .await;
        if let Err(error) = result {
            tracing::error!(seq, %error, "could not settle a queue message; it will be delivered again");
        }
    }

    async fn release_in_flight(&self) -> Result<(), StoreError> {
        self.store
            .blocking(|db| {
                let txn = db.begin_write().map_err(fail)?;
                {
                    let mut table = txn.open_table(QUEUE).map_err(fail)?;
                    let mut stuck = Vec::new();
                    for entry in table.iter().map_err(fail)? {
                        let (key, value) = entry.map_err(fail)?;
                        let queued: Queued = serde_json::from_slice(value.value()).map_err(fail)?;
                        if queued.visible_at_ms == i64::MAX {
                            stuck.push((key.value(), queued));
                        }
                    }
                    for (seq, mut queued) in stuck {
                        queued.visible_at_ms = 0;
                        table
                            .insert(seq, serde_json::to_vec(&queued).map_err(fail)?.as_slice())
                            .map_err(fail)?;
                    }
                }
                txn.commit().map_err(fail)
            })
            .await
    }

    /// How many messages wait (or are in flight), and how many went to the dead letters.
    pub async fn depth(&self) -> Result<(u64, u64), StoreError> {
        self.store
            .blocking(|db| {
                let txn = db.begin_read().map_err(fail)?;
                let waiting = txn.open_table(QUEUE).map_err(fail)?.len().map_err(fail)?;
                let dead = txn
                    .open_table(DEAD_LETTERS)
                    .map_err(fail)?
                    .len()
                    .map_err(fail)?;
                Ok((waiting, dead))
            })
            .await
    }
}

#[derive(Debug, Clone, Copy)]
enum Settle {
    Done,
    DeadLetter,
    RetryAfter(Duration),
}

#[async_trait]
impl Queue for EmbeddedQueue {
    async fn send(&self, messages: &[JobMessage]) -> Result<(), StoreError> {
        let bodies: Vec<String> = messages.iter().map(JobMessage::to_json).collect();
        self.store
            .blocking(move |db| {
                let txn = db.begin_write().map_err(fail)?;
                {
                    let mut counters = txn.open_table(COUNTERS).map_err(fail)?;
                    let mut seq = counters
                        .get(QUEUE_SEQUENCE)
                        .map_err(fail)?
                        .map(|g| g.value())
                        .unwrap_or(0);
                    let mut table = txn.open_table(QUEUE).map_err(fail)?;
                    for body in bodies {
                        seq += 1;
                        let queued = Queued {
                            receives: 0,
                            visible_at_ms: 0,
                            body,
                        };
                        table
                            .insert(seq, serde_json::to_vec(&queued).map_err(fail)?.as_slice())
                            .map_err(fail)?;
                    }
                    counters.insert(QUEUE_SEQUENCE, seq).map_err(fail)?;
                }
                txn.commit().map_err(fail)
            })
            .await?;
        self.wake.notify_one();
        Ok(())
    }
}

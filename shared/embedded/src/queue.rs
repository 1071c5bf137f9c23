//! An in-process queue that keeps its messages in the embedded database, with the semantics of
//! the SQS setup in AWS: at-least-once delivery, a receive count, retries after a delay, and a
//! dead-letter table after the last allowed receive. Two live in one database: the job parts
//! (for the processor) and the webhook deliveries (for the dispatcher).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use caliper_core::webhooks::{Backoff, DeliveryMessage};
use caliper_core::{Consumer, Delivery, DeliveryQueue, JobMessage, Queue, StoreError};
use futures::future::join_all;
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::db::{
    fail, Embedded, COUNTERS, DEAD_LETTERS, DELIVERY_DEAD_LETTERS, DELIVERY_QUEUE, QUEUE,
};

type Table = TableDefinition<'static, u64, &'static [u8]>;

/// Where one queue keeps its messages, its dead letters and its sequence counter.
#[derive(Clone, Copy)]
struct Tables {
    queue: Table,
    dead_letters: Table,
    sequence: &'static str,
}

const JOB_TABLES: Tables = Tables {
    queue: QUEUE,
    dead_letters: DEAD_LETTERS,
    sequence: "queue_seq",
};
const DELIVERY_TABLES: Tables = Tables {
    queue: DELIVERY_QUEUE,
    dead_letters: DELIVERY_DEAD_LETTERS,
    sequence: "delivery_queue_seq",
};

#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// Deliveries before a message goes to the dead letters (SQS `maxReceiveCount`).
    pub max_receives: u32,
    /// Delay before the first retry; doubled on each further one (with jitter), up to
    /// `max_retry_delay`, unless the consumer sets its own.
    pub retry_delay: Duration,
    pub max_retry_delay: Duration,
    /// Messages processed at once.
    pub batch_size: usize,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            max_receives: 5,
            retry_delay: Duration::from_millis(500),
            max_retry_delay: Duration::from_secs(30),
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
    tables: Tables,
    wake: Arc<Notify>,
    settings: QueueSettings,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl EmbeddedQueue {
    /// The queue of job parts.
    pub fn new(store: Embedded, settings: QueueSettings) -> Self {
        Self::with_tables(store, settings, JOB_TABLES)
    }

    /// The webhook delivery queue in this queue's database.
    pub fn delivery_queue(&self, settings: QueueSettings) -> Self {
        Self::with_tables(self.store.clone(), settings, DELIVERY_TABLES)
    }

    fn with_tables(store: Embedded, settings: QueueSettings, tables: Tables) -> Self {
        Self {
            store,
            tables,
            wake: Arc::new(Notify::new()),
            settings,
        }
    }

    /// Hands messages to `consumer` until the task is dropped. Messages left in flight by an
    /// earlier run (a crash, a kill) are delivered again at once.
    pub async fn run(&self, consumer: Arc<dyn Consumer>) {
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
                    .map(|(seq, receives, body)| self.handle(&*consumer, seq, receives, body)),
            )
            .await;
        }
    }

    async fn handle(&self, consumer: &dyn Consumer, seq: u64, receives: u32, body: String) {
        if receives > self.settings.max_receives {
            // Every allowed delivery ended without a verdict (the process stopped each time): as
            // SQS would, the message goes to the dead letters, and its consumer records why.
            let settle = match consumer.dead_lettered(&body).await {
                Ok(()) => Settle::DeadLetter,
                Err(error) => {
                    tracing::warn!(seq, %error, "could not record a dead letter; trying again");
                    Settle::RetryAfter(self.settings.retry_delay)
                }
            };
            self.settle(seq, settle).await;
            return;
        }
        let settle = match consumer
            .consume(&body, receives, self.settings.max_receives)
            .await
        {
            Delivery::Done => Settle::Done,
            Delivery::DeadLetter => Settle::DeadLetter,
            Delivery::Retry => {
                Settle::RetryAfter(consumer.retry_delay(receives).unwrap_or_else(|| {
                    let backoff = Backoff {
                        base: self.settings.retry_delay,
                        max: self.settings.max_retry_delay,
                    };
                    backoff.delay(receives)
                }))
            }
        };
        self.settle(seq, settle).await;
    }

    /// Takes up to a batch of visible messages, counting a receive and hiding each until settled.
    async fn receive(&self) -> Result<Vec<(u64, u32, String)>, StoreError> {
        let limit = self.settings.batch_size;
        let tables = self.tables;
        self.store
            .blocking(move |db| {
                let now = now_ms();
                let txn = db.begin_write().map_err(fail)?;
                let mut taken = Vec::new();
                {
                    let mut table = txn.open_table(tables.queue).map_err(fail)?;
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
        let tables = self.tables;
        let result = self
            .store
            .blocking(move |db| {
                let txn = db.begin_write().map_err(fail)?;
                {
                    let mut table = txn.open_table(tables.queue).map_err(fail)?;
                    let record = table.remove(seq).map_err(fail)?.map(|g| g.value().to_vec());
                    match (how, record) {
                        (Settle::Done, _) | (_, None) => {}
                        (Settle::DeadLetter, Some(bytes)) => {
                            txn.open_table(tables.dead_letters)
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
        let tables = self.tables;
        self.store
            .blocking(move |db| {
                let txn = db.begin_write().map_err(fail)?;
                {
                    let mut table = txn.open_table(tables.queue).map_err(fail)?;
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
        let tables = self.tables;
        self.store
            .blocking(move |db| {
                let txn = db.begin_read().map_err(fail)?;
                let waiting = txn
                    .open_table(tables.queue)
                    .map_err(fail)?
                    .len()
                    .map_err(fail)?;
                let dead = txn
                    .open_table(tables.dead_letters)
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
        self.send_bodies(messages.iter().map(JobMessage::to_json).collect())
            .await
    }
}

#[async_trait]
impl DeliveryQueue for EmbeddedQueue {
    async fn send(&self, messages: &[DeliveryMessage]) -> Result<(), StoreError> {
        self.send_bodies(messages.iter().map(DeliveryMessage::to_json).collect())
            .await
    }
}

impl EmbeddedQueue {
    async fn send_bodies(&self, bodies: Vec<String>) -> Result<(), StoreError> {
        let tables = self.tables;
        self.store
            .blocking(move |db| {
                let txn = db.begin_write().map_err(fail)?;
                {
                    let mut counters = txn.open_table(COUNTERS).map_err(fail)?;
                    let mut seq = counters
                        .get(tables.sequence)
                        .map_err(fail)?
                        .map(|g| g.value())
                        .unwrap_or(0);
                    let mut table = txn.open_table(tables.queue).map_err(fail)?;
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
                    counters.insert(tables.sequence, seq).map_err(fail)?;
                }
                txn.commit().map_err(fail)
            })
            .await?;
        self.wake.notify_one();
        Ok(())
    }
}

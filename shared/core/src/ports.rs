//! The ports: what the domain needs from storage and from the queue.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::message::JobMessage;
use crate::model::{EventKey, EventResult, Job, JobState, NewJob, StoredEvent};
use crate::query::{EventPage, EventQuery, Start};
use crate::webhooks::DeliveryMessage;

/// A storage or queue call that did not succeed. `retryable` errors (throttling, timeouts) are worth
/// another try; the message's redelivery gives it one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    pub message: String,
    pub retryable: bool,
}

impl StoreError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
        }
    }

    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
        }
    }
}

/// Jobs: one record per accepted envelope.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Records a new job in the `waiting` state.
    async fn create(&self, job: &NewJob) -> Result<(), StoreError>;

    async fn get(&self, id: &str) -> Result<Option<Job>, StoreError>;

    /// `waiting` → `active`; any other state is left as it is.
    async fn mark_active(&self, id: &str) -> Result<(), StoreError>;

    /// Records one part's results, once: a part recorded before keeps its first results. When every
    /// part is recorded the job becomes `completed` with `processed_on = now` (a `failed` job stays
    /// failed). Returns the state after the call.
    async fn complete_part(
        &self,
        id: &str,
        part: u32,
        results: &[EventResult],
        now: DateTime<Utc>,
    ) -> Result<JobState, StoreError>;

    /// Ends the job as `failed` with a reason, unless it already finished: the first reason stays.
    async fn mark_failed(
        &self,
        id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

/// What happened to one conditional insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted,
    /// The client stored this Caliper id before, under this allocated id.
    Exists(u64),
}

/// Stored events, keyed by [`EventKey`] (client and Caliper id), and the counter that numbers them.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Reserves `count` consecutive ids atomically; returns the first.
    async fn allocate_ids(&self, count: u64) -> Result<u64, StoreError>;

    /// The allocated ids of those of `external_ids` that `client_app_id` stored already.
    async fn find_ids(
        &self,
        client_app_id: &str,
        external_ids: &[String],
    ) -> Result<HashMap<String, u64>, StoreError>;

    /// Stores each event unless its client stored its Caliper id already; outcomes in input order.
    async fn insert_new(&self, events: &[StoredEvent]) -> Result<Vec<InsertOutcome>, StoreError>;

    async fn get(&self, key: &EventKey) -> Result<Option<StoredEvent>, StoreError>;

    /// The clients that stored an event of this Caliper id, in order (for admins).
    async fn holders(&self, external_id: &str) -> Result<Vec<String>, StoreError>;

    /// The stored events of those of `keys` that exist, read together.
    async fn get_many(
        &self,
        keys: &[EventKey],
    ) -> Result<HashMap<EventKey, StoredEvent>, StoreError>;
}

/// Listings of stored events, in [`EventQuery`]'s order; every adapter follows [`EventQuery::plan`].
#[async_trait]
pub trait EventReader: Send + Sync {
    /// Up to `limit` events matching `query`, from `start` on.
    async fn list(
        &self,
        query: &EventQuery,
        start: &Start,
        limit: usize,
    ) -> Result<EventPage, StoreError>;

    /// How many events match `query`.
    async fn count(&self, query: &EventQuery) -> Result<u64, StoreError>;
}

/// The queue between submission and processing.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends every message, or fails.
    async fn send(&self, messages: &[JobMessage]) -> Result<(), StoreError>;
}

/// The two kinds of webhook records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Webhook,
    Filter,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Filter => "filter",
        }
    }
}

/// Webhooks and their filters, each a JSON document under its kind and id. Subscriptions are few
/// (readers, not events): listing a kind reads all of it, and the domain filters.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Creates or replaces a record.
    async fn put(&self, kind: RecordKind, id: &str, document: &str) -> Result<(), StoreError>;

    async fn get(&self, kind: RecordKind, id: &str) -> Result<Option<String>, StoreError>;

    /// Every record of `kind`, in no particular order.
    async fn list(&self, kind: RecordKind) -> Result<Vec<String>, StoreError>;
}

/// The queue between storing events and delivering them to webhooks.
#[async_trait]
pub trait DeliveryQueue: Send + Sync {
    /// Sends every message, or fails.
    async fn send(&self, messages: &[DeliveryMessage]) -> Result<(), StoreError>;
}

/// Sends one signed delivery; the adapter guards against unsafe targets and bounds the time taken.
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// POSTs `body` (JSON) with `headers`; the receiver's status, or why nothing was received.
    async fn post(
        &self,
        target_url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<u16, String>;
}

/// A consumer's verdict on one delivery of a message: what the queue does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Handled: delete it.
    Done,
    /// Failed: deliver it again after the consumer's retry delay.
    Retry,
    /// Failed on its last allowed delivery (the consumer recorded why): move it to the dead
    /// letters.
    DeadLetter,
}

/// What a queue's worker hands each message to (the processor, the webhook dispatcher), as the
/// Lambda SQS trigger, the SQS poller or the embedded queue delivers it.
#[async_trait]
pub trait Consumer: Send + Sync {
    /// Handles one delivery of a message body; `receives` counts this one.
    async fn consume(&self, body: &str, receives: u32, max_receives: u32) -> Verdict;

    /// How long a message that failed its `receives`-th delivery waits before the next (the
    /// consumer's [`crate::retry::Backoff`]).
    fn retry_delay(&self, receives: u32) -> std::time::Duration;

    /// The queue dead-lettered this message without a verdict of ours: every allowed delivery
    /// ended without one (the process crashed, timed out or ran out of memory). An error: the
    /// record of it should be tried again.
    async fn dead_lettered(&self, _body: &str) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Signs what the API hands out and must get back unchanged (listing cursors).
#[async_trait]
pub trait Signer: Send + Sync {
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, StoreError>;

    /// Whether `signature` is one of `message` by the current key or a previous one.
    async fn verify(&self, message: &[u8], signature: &[u8]) -> Result<bool, StoreError>;
}

/// Keeps secrets at rest (webhook secrets): stores hold what `seal` gives, and only the code that
/// needs a secret opens it.
#[async_trait]
pub trait SecretBox: Send + Sync {
    async fn seal(&self, secret: &str) -> Result<String, StoreError>;

    async fn open(&self, sealed: &str) -> Result<String, StoreError>;
}

/// Secrets kept as they are, for a store only its owner can read (the embedded file is 0600).
pub struct PlainSecrets;

#[async_trait]
impl SecretBox for PlainSecrets {
    async fn seal(&self, secret: &str) -> Result<String, StoreError> {
        Ok(secret.to_owned())
    }

    async fn open(&self, sealed: &str) -> Result<String, StoreError> {
        Ok(sealed.to_owned())
    }
}

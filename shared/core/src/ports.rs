//! The ports: what the domain needs from storage and from the queue.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::model::{EventKey, EventResult, Job, JobState, NewJob, StoredEvent};
use crate::quarantine::Quarantined;
use crate::query::{EventPage, EventQuery, Start};

/// What kind of failure a [`StoreError`] is: what a caller can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Throttling, a timeout, a connection lost: another try may succeed (a message's
    /// redelivery gives it one; the API answers 503).
    Unavailable,
    /// What was asked to be stored cannot be, as it is (too large, not writable as JSON): no
    /// retry changes that.
    Invalid,
    /// What the store holds cannot be read back (a record or message that no longer parses).
    Corrupt,
    /// Anything else: a missing table, a store that is closing, a setting left unset.
    Failed,
}

/// A storage or queue call that did not succeed: its kind, what failed in words, and the
/// underlying error when there is one.
#[derive(Debug, Clone)]
pub struct StoreError {
    pub kind: ErrorKind,
    pub message: String,
    pub cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.cause {
            Some(cause) => write!(f, "{}: {cause}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl StoreError {
    pub fn of(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            cause: None,
        }
    }

    /// [`ErrorKind::Failed`].
    pub fn new(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Failed, message)
    }

    /// [`ErrorKind::Unavailable`]: worth another try.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Unavailable, message)
    }

    /// [`ErrorKind::Invalid`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Invalid, message)
    }

    /// [`ErrorKind::Corrupt`].
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Corrupt, message)
    }

    /// The same error, with the error beneath it (shown after the message).
    pub fn caused_by(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(Arc::new(cause));
        self
    }

    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Unavailable
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
    /// failed). Returns the state after the call. `parts` is the job's part count as the part's
    /// message says: a store may finish a one-part job in a single write.
    async fn complete_part(
        &self,
        id: &str,
        part: u32,
        parts: u32,
        results: &[EventResult],
        now: DateTime<Utc>,
    ) -> Result<JobState, StoreError>;

    /// Keeps how far a job of long work got (its kind's document), while the job is not finished;
    /// the last one kept is the job's `checkpoint`.
    async fn save_checkpoint(&self, id: &str, checkpoint: &Value) -> Result<(), StoreError>;

    /// Ends a job of long work as `completed` with its outcome, unless it already finished (the
    /// first end stays), and drops its checkpoint. Returns the state after the call.
    async fn complete(
        &self,
        id: &str,
        outcome: &Value,
        now: DateTime<Utc>,
    ) -> Result<JobState, StoreError>;

    /// Ends the job as `failed` with a reason, unless it already finished: the first reason stays.
    /// The checkpoint stays, to show how far it got.
    async fn mark_failed(
        &self,
        id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

/// What happened to one conditional insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted,
    /// The client stored this Caliper id before, under this allocated id.
    Exists(u64),
    /// The store cannot keep this event as it is (too large for an item, say), in words: no
    /// retry changes that, and the other events of the batch are stored all the same.
    Refused(String),
    /// The client's event of this Caliper id was deleted: its tombstone keeps a retried or
    /// replayed message from storing it again.
    Erased,
}

/// Stored events, keyed by [`EventKey`] (client and Caliper id), and the counter that numbers them.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Reserves `count` consecutive ids atomically; returns the first.
    async fn allocate_ids(&self, count: u64) -> Result<u64, StoreError>;

    /// The allocated ids of those of `external_ids` that `client_app_id` stored already (not
    /// those deleted since).
    async fn find_ids(
        &self,
        client_app_id: &str,
        external_ids: &[String],
    ) -> Result<HashMap<String, u64>, StoreError>;

    /// Stores each event unless its client stored its Caliper id already; outcomes in input order.
    /// An event the store cannot keep is [`InsertOutcome::Refused`], not an error: an error means
    /// the whole call is worth another try.
    async fn insert_new(&self, events: &[StoredEvent]) -> Result<Vec<InsertOutcome>, StoreError>;

    async fn get(&self, key: &EventKey) -> Result<Option<StoredEvent>, StoreError>;

    /// Deletes the events of `keys` that are stored, with every index entry, and leaves a
    /// tombstone under each key: an insert of one answers [`InsertOutcome::Erased`], so that a
    /// message delivered again after the delete (a retry, a replay) cannot bring it back, and no
    /// read finds it. Returns how many events were deleted; deleting again deletes nothing.
    async fn delete(&self, keys: &[EventKey]) -> Result<u64, StoreError>;

    /// Removes the events of `keys` that are stored, with every index entry, leaving nothing
    /// behind (no tombstone: sent again, such an event is new): what retention no longer keeps.
    /// Returns how many events were removed; a tombstone under a key stays.
    async fn purge(&self, keys: &[EventKey]) -> Result<u64, StoreError>;

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

/// What a queue carries, as JSON on the wire: a job's part ([`JobMessage`]), a webhook
/// delivery ([`DeliveryMessage`]).
pub trait Message: Serialize + DeserializeOwned + Send + Sync {
    /// Its kind in words, for errors.
    const NAME: &'static str;

    fn to_json(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|e| {
            StoreError::invalid(format!("a {} could not be written as JSON", Self::NAME))
                .caused_by(e)
        })
    }

    fn from_json(body: &str) -> Result<Self, StoreError> {
        serde_json::from_str(body)
            .map_err(|e| StoreError::corrupt(format!("an unreadable {}", Self::NAME)).caused_by(e))
    }
}

/// A queue of messages of one kind: the job parts between submission and processing, the
/// webhook deliveries between storing and sending.
#[async_trait]
pub trait Queue<M: Message>: Send + Sync {
    /// Sends every message, or fails.
    async fn send(&self, messages: &[M]) -> Result<(), StoreError>;
}

/// The kinds of small records a [`RecordStore`] keeps. A new kind is an arm here and a type that
/// implements [`crate::records::Record`]; both backends store every kind in one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Webhook,
    Filter,
    ClientSettings,
    ApiKey,
    KeyUse,
    Connector,
}

impl RecordKind {
    pub const ALL: [RecordKind; 6] = [
        Self::Webhook,
        Self::Filter,
        Self::ClientSettings,
        Self::ApiKey,
        Self::KeyUse,
        Self::Connector,
    ];

    /// Its name in storage (the table's partition key): never change one that has been stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Filter => "filter",
            Self::ClientSettings => "client",
            Self::ApiKey => "key",
            Self::KeyUse => "key-use",
            Self::Connector => "connector",
        }
    }
}

/// Small JSON documents by kind and id: webhooks, filters, and whatever kind comes next. Records
/// are few beside events (readers, settings): listing a kind reads all of it, and the domain
/// filters. The typed face is [`crate::records::Records`].
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Creates or replaces a record.
    async fn put(&self, kind: RecordKind, id: &str, document: &str) -> Result<(), StoreError>;

    async fn get(&self, kind: RecordKind, id: &str) -> Result<Option<String>, StoreError>;

    /// Every record of `kind`, in no particular order.
    async fn list(&self, kind: RecordKind) -> Result<Vec<String>, StoreError>;
}

/// Where the items the `flag` policy cannot store are kept ([`crate::quarantine`]): newest first,
/// per client, each client's at most a bound.
#[async_trait]
pub trait QuarantineStore: Send + Sync {
    /// Keeps `item` unless its client keeps `most` items already: whether it is kept. Counting
    /// and keeping are one atomic step, and keeping an id kept already keeps it once (a part
    /// delivered again).
    async fn keep(&self, item: &Quarantined, most: u64) -> Result<bool, StoreError>;

    async fn get(&self, id: &str) -> Result<Option<Quarantined>, StoreError>;

    /// At most `limit` items, newest first, after the item `after` (exclusive): one client's, or
    /// every client's.
    async fn page(
        &self,
        client_app_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Quarantined>, StoreError>;

    /// Removes an item (its client's count with it): whether it was kept.
    async fn remove(&self, id: &str) -> Result<bool, StoreError>;
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

/// A queue's receiving end: hands each message to `consumer` until the task is dropped (the
/// embedded queue, the SQS poller; in AWS, Lambda's event source mapping plays it).
#[async_trait]
pub trait QueueRunner: Send + Sync {
    async fn run(&self, consumer: Arc<dyn Consumer>);
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

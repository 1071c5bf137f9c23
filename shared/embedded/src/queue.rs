//! An in-process queue that keeps its messages in the embedded database, with the semantics of
//! the SQS setup in AWS: at-least-once delivery, a receive count, retries after a delay, and a
//! dead-letter table after the last allowed receive. Two live in one database: the job parts
//! (for the processor) and the webhook deliveries (for the dispatcher).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use caliper_core::{Consumer, Message, Queue, QueueRunner, StoreError, Verdict};
use redb::{
    ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction,
};
use serde::Deserialize;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::db::{
    fail, Embedded, COUNTERS, DEAD_LETTERS, DELIVERY_DEAD_LETTERS, DELIVERY_QUEUE,
    DELIVERY_QUEUE_VISIBLE, QUEUE, QUEUE_VISIBLE,
};

type Table = TableDefinition<'static, u64, &'static [u8]>;
type Visible = TableDefinition<'static, (i64, u64), ()>;

/// Where one queue keeps its messages, their visibility order, its dead letters and its
/// sequence counter.
#[derive(Clone, Copy)]
struct Tables {
    queue: Table,
    visible: Visible,
    dead_letters: Table,
    sequence: &'static str,
}

/// The job parts' queue, and the webhook deliveries': their tables keep the names they had before
/// queues were named.
pub const JOB_PARTS: &str = "jobs";
pub const WEBHOOK_DELIVERIES: &str = "deliveries";
/// The steps of exports and of erasures (`caliper_core::steps`).
pub const EXPORT_STEPS: &str = "exports";
pub const ERASURE_STEPS: &str = "erasures";

/// Makes the tables of the queue `name` when they are not there yet (at open, so that a
/// queue's readers never meet a missing one).
pub(crate) fn create_tables(txn: &WriteTransaction, name: &str) -> Result<(), StoreError> {
    let tables = Tables::named(name);
    txn.open_table(tables.queue).map_err(fail)?;
    txn.open_table(tables.visible).map_err(fail)?;
    txn.open_table(tables.dead_letters).map_err(fail)?;
    Ok(())
}

const JOB_TABLES: Tables = Tables {
    queue: QUEUE,
    visible: QUEUE_VISIBLE,
    dead_letters: DEAD_LETTERS,
    sequence: "queue_seq",
};
const DELIVERY_TABLES: Tables = Tables {
    queue: DELIVERY_QUEUE,
    visible: DELIVERY_QUEUE_VISIBLE,
    dead_letters: DELIVERY_DEAD_LETTERS,
    sequence: "delivery_queue_seq",
};

impl Tables {
    /// The tables of the queue `name`: `queue:{name}`, `queue:{name}:visible`,
    /// `queue:{name}:dead_letters`, and its counter `queue:{name}:seq`.
    fn named(name: &str) -> Self {
        match name {
            JOB_PARTS => JOB_TABLES,
            WEBHOOK_DELIVERIES => DELIVERY_TABLES,
            _ => Self {
                queue: TableDefinition::new(interned(format!("queue:{name}"))),
                visible: TableDefinition::new(interned(format!("queue:{name}:visible"))),
                dead_letters: TableDefinition::new(interned(format!("queue:{name}:dead_letters"))),
                sequence: interned(format!("queue:{name}:seq")),
            },
        }
    }
}

/// A table name that lives as long as the process (redb's definitions borrow theirs); each name
/// is kept once, however many queues of it are opened.
fn interned(name: String) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let Ok(mut names) = NAMES.lock() else {
        return Box::leak(name.into_boxed_str());
    };
    if let Some(kept) = names.get(name.as_str()) {
        return kept;
    }
    let kept: &'static str = Box::leak(name.into_boxed_str());
    names.insert(kept);
    kept
}

/// The visibility of a message in flight: after every time, so never taken until settled.
const IN_FLIGHT: i64 = i64::MAX;

#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// Deliveries before a message goes to the dead letters (SQS `maxReceiveCount`).
    pub max_receives: u32,
    /// Messages handled at once. Their writes share the store's commits, so a backlog is worked
    /// off in large groups; the default fits the machine's cores.
    pub concurrency: usize,
    /// Messages sent and not yet settled above which a send waits (up to [`Self::MOST_WAIT`])
    /// for the worker to settle some: a sender faster than the worker is slowed to its pace,
    /// so that what was accepted is processed soon after, instead of a queue that grows for as
    /// long as the burst lasts. `None`: sends never wait (always so for the delivery queue).
    pub backlog_limit: Option<usize>,
}

impl QueueSettings {
    /// Messages in flight per core: enough for their writes to fill a commit while others
    /// validate and encode.
    const PER_CORE: usize = 32;
    /// The longest a send waits for room: past it, the message is queued all the same (a send
    /// is never refused for a slow worker, only slowed).
    pub const MOST_WAIT: Duration = Duration::from_secs(10);
}

impl Default for QueueSettings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            max_receives: 5,
            concurrency: cores * Self::PER_CORE,
            // Two rounds of the worker: about a second of work at the measured pace.
            backlog_limit: Some(2 * cores * Self::PER_CORE),
        }
    }
}

/// A message as kept: a format byte, then its receive count, its visibility (ms) and its body.
/// A data directory of an earlier version holds the same fields as JSON (`{` first).
#[derive(Deserialize)]
struct Queued {
    receives: u32,
    visible_at_ms: i64,
    body: String,
}

const FORMAT: u8 = 1;

impl Queued {
    fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(13 + self.body.len());
        bytes.push(FORMAT);
        bytes.extend_from_slice(&self.receives.to_le_bytes());
        bytes.extend_from_slice(&self.visible_at_ms.to_le_bytes());
        bytes.extend_from_slice(self.body.as_bytes());
        bytes
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, StoreError> {
        let unreadable = || StoreError::new("embedded store holds an unreadable queue message");
        if bytes.first() == Some(&b'{') {
            return serde_json::from_slice(bytes).map_err(|_| unreadable());
        }
        match bytes {
            [FORMAT, rest @ ..] if rest.len() >= 12 => {
                let (receives, rest) = rest.split_at(4);
                let (visible, body) = rest.split_at(8);
                Ok(Self {
                    receives: u32::from_le_bytes(receives.try_into().map_err(|_| unreadable())?),
                    visible_at_ms: i64::from_le_bytes(
                        visible.try_into().map_err(|_| unreadable())?,
                    ),
                    body: String::from_utf8(body.to_vec()).map_err(|_| unreadable())?,
                })
            }
            _ => Err(unreadable()),
        }
    }
}

/// Builds the visibility order of queues that lack it (a data directory of an earlier version),
/// inside the opening transaction; answers whether it changed anything.
pub(crate) fn index_visibility(txn: &WriteTransaction) -> Result<bool, StoreError> {
    let mut changed = false;
    for tables in [JOB_TABLES, DELIVERY_TABLES] {
        let queue = txn.open_table(tables.queue).map_err(fail)?;
        let mut visible = txn.open_table(tables.visible).map_err(fail)?;
        if queue.len().map_err(fail)? == visible.len().map_err(fail)? {
            continue;
        }
        visible.retain(|_, _| false).map_err(fail)?;
        for entry in queue.iter().map_err(fail)? {
            let (seq, record) = entry.map_err(fail)?;
            let queued = Queued::from_bytes(record.value())?;
            visible
                .insert((queued.visible_at_ms, seq.value()), ())
                .map_err(fail)?;
        }
        changed = true;
    }
    Ok(changed)
}

/// What a receive found: messages, or none before a time (ms), or none at all.
enum Taken {
    Messages(Vec<(u64, u32, String)>),
    NoneUntil(Option<i64>),
}

#[derive(Clone)]
pub struct EmbeddedQueue {
    store: Embedded,
    tables: Tables,
    wake: Arc<Notify>,
    backlog: Arc<Backlog>,
    settings: QueueSettings,
}

/// Messages sent and not yet settled (known to the handles of one queue in one process), and
/// the senders waiting for room.
#[derive(Default)]
struct Backlog {
    unsettled: AtomicUsize,
    room: Notify,
}

impl Backlog {
    fn settled(&self) {
        let _ = self
            .unsettled
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(1))
            });
        self.room.notify_waiters();
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl EmbeddedQueue {
    /// The queue of job parts.
    pub fn new(store: Embedded, settings: QueueSettings) -> Self {
        Self::with_tables(store, settings, JOB_TABLES)
    }

    /// The queue `name` in `store`, its tables made if they are not there yet: each kind of work
    /// has a queue of its own.
    pub async fn named(
        store: Embedded,
        name: &str,
        settings: QueueSettings,
    ) -> Result<Self, StoreError> {
        let tables = Tables::named(name);
        store
            .write(move |txn| {
                txn.open_table(tables.queue).map_err(fail)?;
                txn.open_table(tables.visible).map_err(fail)?;
                txn.open_table(tables.dead_letters).map_err(fail)?;
                Ok(())
            })
            .await?;
        Ok(Self::with_tables(store, settings, tables))
    }

    /// The webhook delivery queue in this queue's database. Its sends never wait: the sender is
    /// the job queue's worker, which must not stall on slow webhook receivers.
    pub fn delivery_queue(&self, settings: QueueSettings) -> Self {
        let settings = QueueSettings {
            backlog_limit: None,
            ..settings
        };
        Self::with_tables(self.store.clone(), settings, DELIVERY_TABLES)
    }

    /// The queue `name` of this queue's database, whose tables the store made when it opened
    /// ([`EXPORT_STEPS`], [`ERASURE_STEPS`]).
    pub fn sibling(&self, name: &str, settings: QueueSettings) -> Self {
        Self::with_tables(self.store.clone(), settings, Tables::named(name))
    }

    fn with_tables(store: Embedded, settings: QueueSettings, tables: Tables) -> Self {
        Self {
            store,
            tables,
            wake: Arc::new(Notify::new()),
            backlog: Arc::default(),
            settings,
        }
    }

    /// Hands messages to `consumer`, up to the set concurrency at once, until the task is dropped
    /// (which drops the messages in hand: they come back, as a crash would leave them). Messages
    /// left in flight by an earlier run (a crash, a kill) are delivered again at once.
    pub async fn run(&self, consumer: Arc<dyn Consumer>) {
        if let Err(error) = self.release_in_flight().await {
            tracing::error!(%error, "could not release messages left in flight");
        }
        if let Ok((waiting, _)) = self.depth().await {
            let waiting = usize::try_from(waiting).unwrap_or(usize::MAX);
            self.backlog.unsettled.store(waiting, Ordering::Release);
        }
        let slots = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let mut handling = JoinSet::new();
        loop {
            while handling.try_join_next().is_some() {}
            // A free slot before taking anything: never more in hand than the slots.
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let free = 1 + slots.available_permits();
            match self.receive(free).await {
                Ok(Taken::Messages(batch)) => {
                    let mut slot = Some(slot);
                    for (seq, receives, body) in batch {
                        let Some(held) = slot
                            .take()
                            .or_else(|| slots.clone().try_acquire_owned().ok())
                        else {
                            break; // cannot happen: the batch is at most the free slots
                        };
                        let (queue, consumer) = (self.clone(), consumer.clone());
                        handling.spawn(async move {
                            queue.handle(&*consumer, seq, receives, body).await;
                            drop(held);
                        });
                    }
                }
                Ok(Taken::NoneUntil(next)) => {
                    drop(slot);
                    // Woken by a send, or by the clock when the next message becomes visible.
                    let wait = next.map_or(Duration::from_secs(60), |at| {
                        Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0))
                    });
                    let _ = tokio::time::timeout(wait, self.wake.notified()).await;
                }
                Err(error) => {
                    drop(slot);
                    tracing::error!(%error, "could not read the queue");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
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
                    Settle::RetryAfter(consumer.retry_delay(receives))
                }
            };
            self.settle(seq, settle).await;
            return;
        }
        let settle = match consumer
            .consume(&body, receives, self.settings.max_receives)
            .await
        {
            Verdict::Done => Settle::Done,
            Verdict::DeadLetter => Settle::DeadLetter,
            Verdict::Retry => Settle::RetryAfter(consumer.retry_delay(receives)),
        };
        self.settle(seq, settle).await;
    }

    /// Takes up to `limit` visible messages, oldest visible first, counting a receive and hiding
    /// each until settled. Looks first in a read transaction: an idle queue writes nothing.
    async fn receive(&self, limit: usize) -> Result<Taken, StoreError> {
        let tables = self.tables;
        let now = now_ms();
        let next = self
            .store
            .blocking(move |db| {
                let txn = db.begin_read().map_err(fail)?;
                let visible = txn.open_table(tables.visible).map_err(fail)?;
                let first = visible
                    .range(..(IN_FLIGHT, 0))
                    .map_err(fail)?
                    .next()
                    .transpose()
                    .map_err(fail)?;
                Ok(first.map(|(key, _)| key.value().0))
            })
            .await?;
        match next {
            Some(at) if at <= now => {}
            other => return Ok(Taken::NoneUntil(other)),
        }
        let taken = self
            .store
            .write(move |txn| {
                let mut visible = txn.open_table(tables.visible).map_err(fail)?;
                let mut queue = txn.open_table(tables.queue).map_err(fail)?;
                let ready: Vec<(i64, u64)> = visible
                    .range(..=(now, u64::MAX))
                    .map_err(fail)?
                    .take(limit)
                    .map(|entry| entry.map(|(key, _)| key.value()).map_err(fail))
                    .collect::<Result<_, _>>()?;
                let mut taken = Vec::with_capacity(ready.len());
                for (at, seq) in ready {
                    visible.remove((at, seq)).map_err(fail)?;
                    let Some(record) = queue.get(seq).map_err(fail)?.map(|g| g.value().to_vec())
                    else {
                        continue;
                    };
                    let mut queued = Queued::from_bytes(&record)?;
                    queued.receives += 1;
                    queued.visible_at_ms = IN_FLIGHT;
                    queue
                        .insert(seq, queued.to_bytes().as_slice())
                        .map_err(fail)?;
                    visible.insert((IN_FLIGHT, seq), ()).map_err(fail)?;
                    taken.push((seq, queued.receives, queued.body));
                }
                Ok(taken)
            })
            .await?;
        Ok(Taken::Messages(taken))
    }

    async fn settle(&self, seq: u64, how: Settle) {
        let tables = self.tables;
        let result = self
            .store
            .write(move |txn| {
                let mut queue = txn.open_table(tables.queue).map_err(fail)?;
                let mut visible = txn.open_table(tables.visible).map_err(fail)?;
                let record = queue.remove(seq).map_err(fail)?.map(|g| g.value().to_vec());
                let Some(record) = record else {
                    return Ok(());
                };
                let mut queued = Queued::from_bytes(&record)?;
                visible.remove((queued.visible_at_ms, seq)).map_err(fail)?;
                match how {
                    Settle::Done => {}
                    Settle::DeadLetter => {
                        txn.open_table(tables.dead_letters)
                            .map_err(fail)?
                            .insert(seq, record.as_slice())
                            .map_err(fail)?;
                    }
                    Settle::RetryAfter(delay) => {
                        queued.visible_at_ms = now_ms().saturating_add(
                            i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2),
                        );
                        queue
                            .insert(seq, queued.to_bytes().as_slice())
                            .map_err(fail)?;
                        visible
                            .insert((queued.visible_at_ms, seq), ())
                            .map_err(fail)?;
                    }
                }
                Ok(())
            })
            .await;
        match result {
            // A retry's time may come before anything the loop waits for.
            Ok(()) if matches!(how, Settle::RetryAfter(_)) => self.wake.notify_one(),
            Ok(()) => self.backlog.settled(),
            Err(error) => {
                tracing::error!(seq, %error, "could not settle a queue message; it will be delivered again");
            }
        }
    }

    async fn release_in_flight(&self) -> Result<(), StoreError> {
        let tables = self.tables;
        let now = now_ms();
        self.store
            .write(move |txn| {
                let mut queue = txn.open_table(tables.queue).map_err(fail)?;
                let mut visible = txn.open_table(tables.visible).map_err(fail)?;
                let stuck: Vec<u64> = visible
                    .range((IN_FLIGHT, 0)..)
                    .map_err(fail)?
                    .map(|entry| entry.map(|(key, _)| key.value().1).map_err(fail))
                    .collect::<Result<_, _>>()?;
                for seq in stuck {
                    visible.remove((IN_FLIGHT, seq)).map_err(fail)?;
                    let Some(record) = queue.get(seq).map_err(fail)?.map(|g| g.value().to_vec())
                    else {
                        continue;
                    };
                    let mut queued = Queued::from_bytes(&record)?;
                    queued.visible_at_ms = now;
                    queue
                        .insert(seq, queued.to_bytes().as_slice())
                        .map_err(fail)?;
                    visible.insert((now, seq), ()).map_err(fail)?;
                }
                Ok(())
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

#[async_trait]
impl QueueRunner for EmbeddedQueue {
    async fn run(&self, consumer: Arc<dyn Consumer>) {
        EmbeddedQueue::run(self, consumer).await;
    }
}

#[derive(Debug, Clone, Copy)]
enum Settle {
    Done,
    DeadLetter,
    RetryAfter(Duration),
}

#[async_trait]
impl<M: Message> Queue<M> for EmbeddedQueue {
    async fn send(&self, messages: &[M]) -> Result<(), StoreError> {
        let bodies = messages.iter().map(M::to_json).collect::<Result<_, _>>()?;
        self.send_bodies(bodies).await
    }
}

impl EmbeddedQueue {
    /// Waits, up to [`QueueSettings::MOST_WAIT`], while the backlog is over its limit.
    async fn room(&self) {
        let Some(limit) = self.settings.backlog_limit else {
            return;
        };
        let deadline = tokio::time::Instant::now() + QueueSettings::MOST_WAIT;
        loop {
            let room = self.backlog.room.notified();
            tokio::pin!(room);
            // Registered before the look: a settle in between still wakes this sender.
            room.as_mut().enable();
            if self.backlog.unsettled.load(Ordering::Acquire) < limit {
                return;
            }
            if tokio::time::timeout_at(deadline, room).await.is_err() {
                tracing::warn!(
                    limit,
                    "the queue's backlog stayed over its limit; sending anyway"
                );
                return;
            }
        }
    }

    async fn send_bodies(&self, bodies: Vec<String>) -> Result<(), StoreError> {
        self.room().await;
        let count = bodies.len();
        let tables = self.tables;
        let now = now_ms();
        let records: Vec<Vec<u8>> = bodies
            .into_iter()
            .map(|body| {
                let queued = Queued {
                    receives: 0,
                    visible_at_ms: now,
                    body,
                };
                queued.to_bytes()
            })
            .collect();
        self.store
            .write(move |txn| {
                let mut counters = txn.open_table(COUNTERS).map_err(fail)?;
                let mut seq = counters
                    .get(tables.sequence)
                    .map_err(fail)?
                    .map(|g| g.value())
                    .unwrap_or(0);
                let mut queue = txn.open_table(tables.queue).map_err(fail)?;
                let mut visible = txn.open_table(tables.visible).map_err(fail)?;
                for record in &records {
                    seq += 1;
                    queue.insert(seq, record.as_slice()).map_err(fail)?;
                    visible.insert((now, seq), ()).map_err(fail)?;
                }
                counters.insert(tables.sequence, seq).map_err(fail)?;
                Ok(())
            })
            .await?;
        self.backlog.unsettled.fetch_add(count, Ordering::AcqRel);
        self.wake.notify_one();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;

    struct Accepts(AtomicU32);

    #[async_trait]
    impl Consumer for Accepts {
        async fn consume(&self, _: &str, _: u32, _: u32) -> Verdict {
            self.0.fetch_add(1, Ordering::SeqCst);
            Verdict::Done
        }

        fn retry_delay(&self, _: u32) -> Duration {
            Duration::from_millis(10)
        }
    }

    #[test]
    fn messages_round_trip_and_an_earlier_versions_json_still_reads() {
        let queued = Queued {
            receives: 3,
            visible_at_ms: -5,
            body: "{\"jobId\":\"j\"}".into(),
        };
        let back = Queued::from_bytes(&queued.to_bytes()).expect("read back");
        assert_eq!(
            (back.receives, back.visible_at_ms, back.body),
            (3, -5, queued.body)
        );
        let legacy = br#"{"receives":2,"visible_at_ms":7,"body":"b"}"#;
        let old = Queued::from_bytes(legacy).expect("legacy");
        assert_eq!(
            (old.receives, old.visible_at_ms, old.body.as_str()),
            (2, 7, "b")
        );
        assert!(Queued::from_bytes(&[FORMAT, 1, 2]).is_err());
    }

    async fn send(queue: &EmbeddedQueue, body: &str) -> Result<(), StoreError> {
        queue.send_bodies(vec![body.to_owned()]).await
    }

    /// A sender over the backlog limit waits until the worker settles a message, then sends;
    /// the delivery queue never makes its sender wait.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sender_over_the_backlog_limit_waits_for_the_worker() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Embedded::open(dir.path()).expect("open");
        let settings = QueueSettings {
            backlog_limit: Some(2),
            ..QueueSettings::default()
        };
        let queue = EmbeddedQueue::new(store, settings.clone());
        send(&queue, "1").await.expect("first");
        send(&queue, "2").await.expect("second");
        let deliveries = queue.delivery_queue(settings);
        for n in 0..5 {
            send(&deliveries, &n.to_string())
                .await
                .expect("a delivery send never waits");
        }

        let third = tokio::spawn({
            let queue = queue.clone();
            async move { send(&queue, "3").await }
        });
        // Still waiting a moment later (a bounded look, not a condition of passing).
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!third.is_finished(), "the third send did not wait for room");
        assert_eq!(queue.depth().await.expect("depth").0, 2);

        let consumer = Arc::new(Accepts(AtomicU32::new(0)));
        let worker = tokio::spawn({
            let (queue, consumer) = (queue.clone(), consumer.clone());
            async move { queue.run(consumer).await }
        });
        third.await.expect("the send task").expect("the third send");
        worker.abort();
        let _ = worker.await;
        assert!(consumer.0.load(Ordering::SeqCst) >= 1);
    }

    /// Each queue counts its own messages and dead letters: the job queue's dead letters are
    /// not the delivery queue's.
    #[tokio::test]
    async fn each_queue_counts_its_own_dead_letters() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Embedded::open(dir.path()).expect("open");
        let jobs = EmbeddedQueue::new(store, QueueSettings::default());
        let deliveries = jobs.delivery_queue(QueueSettings::default());
        send(&jobs, "part").await.expect("job send");
        send(&deliveries, "a").await.expect("delivery send");
        send(&deliveries, "b").await.expect("delivery send");
        assert_eq!(jobs.depth().await.expect("depth"), (1, 0));
        assert_eq!(deliveries.depth().await.expect("depth"), (2, 0));

        // The job queue's first (and only) message, dead-lettered.
        jobs.settle(1, Settle::DeadLetter).await;
        assert_eq!(jobs.depth().await.expect("depth"), (0, 1));
        assert_eq!(deliveries.depth().await.expect("depth"), (2, 0));

        deliveries.settle(2, Settle::DeadLetter).await;
        assert_eq!(deliveries.depth().await.expect("depth"), (1, 1));
        assert_eq!(jobs.depth().await.expect("depth"), (0, 1));
    }
}

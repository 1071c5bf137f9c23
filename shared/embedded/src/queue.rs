//! An in-process queue that keeps its messages in the embedded database, with the semantics of
//! the SQS setup in AWS: at-least-once delivery, a receive count, retries after a delay, and a
//! dead-letter table after the last allowed receive. Each kind of work has one: the job parts
//! (for the processor), the webhook deliveries (for the dispatcher), the steps of exports and of
//! erasures. The order in which waiting messages become visible is kept in memory ([`Shared`]).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use caliper_core::{Consumer, Message, Queue, QueueRunner, StoreError, Verdict};
use fjall::{Readable, SingleWriterTxDatabase};
use serde::Deserialize;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::db::{fail, Embedded, Space, Txn};

/// Where one queue keeps its messages (sequence number → message, which says when it becomes
/// visible), its dead letters, and its sequence counter: `queue:{name}`,
/// `queue:{name}:dead_letters`, and the counter `queue:{name}:seq`.
#[derive(Clone)]
pub(crate) struct Tables {
    queue: Space,
    dead_letters: Space,
    sequence: Arc<str>,
}

/// The job parts' queue, and the webhook deliveries'.
pub const JOB_PARTS: &str = "jobs";
pub const WEBHOOK_DELIVERIES: &str = "deliveries";
/// The steps of exports and of erasures (`caliper_core::steps`).
pub const EXPORT_STEPS: &str = "exports";
pub const ERASURE_STEPS: &str = "erasures";

impl Tables {
    /// The tables of the queue `name`, made when they are not there yet.
    pub(crate) fn open(db: &SingleWriterTxDatabase, name: &str) -> Result<Self, StoreError> {
        let open = |name: String| db.keyspace(&name, crate::db::space_options).map_err(fail);
        Ok(Self {
            queue: open(format!("queue:{name}"))?,
            dead_letters: open(format!("queue:{name}:dead_letters"))?,
            sequence: format!("queue:{name}:seq").into(),
        })
    }

    pub(crate) fn dead_letters(&self) -> &Space {
        &self.dead_letters
    }

    pub(crate) fn sequence(&self) -> &str {
        &self.sequence
    }

    /// Puts a message under `seq`.
    pub(crate) fn put(&self, txn: &mut Txn, seq: u64, queued: &Queued) {
        txn.insert(&self.queue, seq.to_be_bytes(), queued.to_bytes());
    }

    fn get(&self, txn: &Txn, seq: u64) -> Result<Option<Queued>, StoreError> {
        txn.get(&self.queue, seq.to_be_bytes())?
            .map(|record| Queued::from_bytes(&record))
            .transpose()
    }
}

/// One queue as every handle of it in this process shares it: its tables, and the order in which
/// its waiting messages become visible, kept in memory.
///
/// The order is made from the messages when the queue is first opened, and this process is the
/// database's only user, so it stays whole: a worker takes the first visible messages without
/// reading past the ones it took before (in a log-structured store, what was removed is still
/// read over until compacted). An entry is added once its message's write is committed, and an
/// entry that no longer matches its message (settled meanwhile) is dropped when met. It holds
/// 16 bytes for each waiting message.
pub(crate) struct Shared {
    tables: Tables,
    /// (visible from, in ms; sequence number) of each waiting message.
    visible: Mutex<BTreeSet<(i64, u64)>>,
    /// Messages in flight: taken and not yet settled (or left so by an earlier process). A worker
    /// that starts releases them, as the worker that took them has gone (see
    /// [`EmbeddedQueue::run`]).
    in_flight: Mutex<BTreeSet<u64>>,
    wake: Notify,
    backlog: Backlog,
}

impl Shared {
    /// Opens the queue `name` of `db` and reads its messages' order.
    pub(crate) fn open(db: &SingleWriterTxDatabase, name: &str) -> Result<Self, StoreError> {
        let tables = Tables::open(db, name)?;
        let (mut visible, mut in_flight) = (BTreeSet::new(), BTreeSet::new());
        for entry in db.read_tx().iter(&tables.queue) {
            let (seq, record) = entry.into_inner().map_err(fail)?;
            let seq = crate::tuple::u64_value(&seq)?;
            match Queued::from_bytes(&record)?.visible_at_ms {
                IN_FLIGHT => {
                    in_flight.insert(seq);
                }
                at => {
                    visible.insert((at, seq));
                }
            }
        }
        Ok(Self {
            tables,
            visible: Mutex::new(visible),
            in_flight: Mutex::new(in_flight),
            wake: Notify::new(),
            backlog: Backlog::default(),
        })
    }

    /// Adds committed messages to the order, and wakes a worker.
    fn visible(&self, entries: impl IntoIterator<Item = (i64, u64)>) {
        if let Ok(mut visible) = self.visible.lock() {
            visible.extend(entries);
        }
        self.wake.notify_one();
    }
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
pub(crate) struct Queued {
    receives: u32,
    pub(crate) visible_at_ms: i64,
    body: String,
}

const FORMAT: u8 = 1;

impl Queued {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(13 + self.body.len());
        bytes.push(FORMAT);
        bytes.extend_from_slice(&self.receives.to_le_bytes());
        bytes.extend_from_slice(&self.visible_at_ms.to_le_bytes());
        bytes.extend_from_slice(self.body.as_bytes());
        bytes
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, StoreError> {
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

/// What a receive found: messages, or none before a time (ms), or none at all.
enum Taken {
    Messages(Vec<(u64, u32, String)>),
    NoneUntil(Option<i64>),
}

#[derive(Clone)]
pub struct EmbeddedQueue {
    store: Embedded,
    shared: Arc<Shared>,
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
    pub fn new(store: Embedded, settings: QueueSettings) -> Result<Self, StoreError> {
        Self::of(store, JOB_PARTS, settings)
    }

    /// The queue `name` in `store`, its tables made if they are not there yet: each kind of work
    /// has a queue of its own.
    pub async fn named(
        store: Embedded,
        name: &str,
        settings: QueueSettings,
    ) -> Result<Self, StoreError> {
        Self::of(store, name, settings)
    }

    /// The webhook delivery queue in this queue's database. Its sends never wait: the sender is
    /// the job queue's worker, which must not stall on slow webhook receivers.
    pub fn delivery_queue(&self, settings: QueueSettings) -> Result<Self, StoreError> {
        let settings = QueueSettings {
            backlog_limit: None,
            ..settings
        };
        Self::of(self.store.clone(), WEBHOOK_DELIVERIES, settings)
    }

    /// The queue `name` of this queue's database ([`EXPORT_STEPS`], [`ERASURE_STEPS`]).
    pub fn sibling(&self, name: &str, settings: QueueSettings) -> Result<Self, StoreError> {
        Self::of(self.store.clone(), name, settings)
    }

    fn of(store: Embedded, name: &str, settings: QueueSettings) -> Result<Self, StoreError> {
        let shared = store.queue(name)?;
        Ok(Self {
            store,
            shared,
            settings,
        })
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
            self.shared
                .backlog
                .unsettled
                .store(waiting, Ordering::Release);
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
                    let _ = tokio::time::timeout(wait, self.shared.wake.notified()).await;
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
    /// each until settled. An idle queue writes nothing.
    async fn receive(&self, limit: usize) -> Result<Taken, StoreError> {
        let now = now_ms();
        let ready: Vec<(i64, u64)> = {
            let Ok(mut visible) = self.shared.visible.lock() else {
                return Err(StoreError::new("a queue's order was poisoned by a panic"));
            };
            match visible.first() {
                Some(&(at, _)) if at <= now => {}
                other => return Ok(Taken::NoneUntil(other.map(|&(at, _)| at))),
            }
            let mut ready = Vec::new();
            while ready.len() < limit {
                match visible.first() {
                    Some(&(at, _)) if at <= now => ready.extend(visible.pop_first()),
                    _ => break,
                }
            }
            ready
        };
        let shared = self.shared.clone();
        let taken = self
            .store
            .write({
                let ready = ready.clone();
                move |txn: &mut Txn| {
                    let mut taken = Vec::with_capacity(ready.len());
                    for &(at, seq) in &ready {
                        // Settled, or moved, since its entry was made: the entry goes.
                        let Some(mut queued) = shared.tables.get(txn, seq)? else {
                            continue;
                        };
                        if queued.visible_at_ms != at {
                            continue;
                        }
                        queued.receives += 1;
                        queued.visible_at_ms = IN_FLIGHT;
                        shared.tables.put(txn, seq, &queued);
                        taken.push((seq, queued.receives, queued.body));
                    }
                    Ok(taken)
                }
            })
            .await;
        match taken {
            Ok(taken) => {
                if let Ok(mut in_flight) = self.shared.in_flight.lock() {
                    in_flight.extend(taken.iter().map(|(seq, _, _)| *seq));
                }
                Ok(Taken::Messages(taken))
            }
            Err(error) => {
                // Nothing was taken: the messages wait in their places again.
                self.shared.visible(ready);
                Err(error)
            }
        }
    }

    async fn settle(&self, seq: u64, how: Settle) {
        let shared = self.shared.clone();
        let retry_at = match how {
            Settle::RetryAfter(delay) => Some(
                now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2)),
            ),
            Settle::Done | Settle::DeadLetter => None,
        };
        let result = self
            .store
            .write(move |txn: &mut Txn| {
                let tables = &shared.tables;
                let Some(record) = txn.get(&tables.queue, seq.to_be_bytes())? else {
                    return Ok(());
                };
                txn.remove(&tables.queue, seq.to_be_bytes());
                match (how, retry_at) {
                    (Settle::DeadLetter, _) => {
                        txn.insert(&tables.dead_letters, seq.to_be_bytes(), record);
                    }
                    (_, Some(at)) => {
                        let mut queued = Queued::from_bytes(&record)?;
                        queued.visible_at_ms = at;
                        tables.put(txn, seq, &queued);
                    }
                    _ => {}
                }
                Ok(())
            })
            .await;
        if result.is_ok() {
            if let Ok(mut in_flight) = self.shared.in_flight.lock() {
                in_flight.remove(&seq);
            }
        }
        match (result, retry_at) {
            // A retry's time may come before anything the worker waits for.
            (Ok(()), Some(at)) => self.shared.visible([(at, seq)]),
            (Ok(()), None) => self.shared.backlog.settled(),
            (Err(error), _) => {
                tracing::error!(seq, %error, "could not settle a queue message; it will be delivered again");
            }
        }
    }

    async fn release_in_flight(&self) -> Result<(), StoreError> {
        let stuck = self
            .shared
            .in_flight
            .lock()
            .map(|mut in_flight| std::mem::take(&mut *in_flight))
            .unwrap_or_default();
        if stuck.is_empty() {
            return Ok(());
        }
        let (shared, kept) = (self.shared.clone(), stuck.clone());
        let now = now_ms();
        let released = self
            .store
            .write(move |txn: &mut Txn| {
                let mut released = Vec::with_capacity(kept.len());
                for &seq in &kept {
                    let Some(mut queued) = shared.tables.get(txn, seq)? else {
                        continue;
                    };
                    queued.visible_at_ms = now;
                    shared.tables.put(txn, seq, &queued);
                    released.push((now, seq));
                }
                Ok(released)
            })
            .await;
        match released {
            Ok(released) => {
                self.shared.visible(released);
                Ok(())
            }
            Err(error) => {
                // Still in flight: the next worker to start tries again.
                if let Ok(mut in_flight) = self.shared.in_flight.lock() {
                    in_flight.extend(stuck);
                }
                Err(error)
            }
        }
    }

    /// How many messages wait (or are in flight), and how many went to the dead letters.
    pub async fn depth(&self) -> Result<(u64, u64), StoreError> {
        let tables = self.shared.tables.clone();
        self.store
            .blocking(move |view| {
                let count = |space: &Space| -> Result<u64, StoreError> {
                    let n = view.snapshot.len(space).map_err(fail)?;
                    Ok(u64::try_from(n).unwrap_or(u64::MAX))
                };
                Ok((count(&tables.queue)?, count(&tables.dead_letters)?))
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
            let room = self.shared.backlog.room.notified();
            tokio::pin!(room);
            // Registered before the look: a settle in between still wakes this sender.
            room.as_mut().enable();
            if self.shared.backlog.unsettled.load(Ordering::Acquire) < limit {
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

    pub(crate) async fn send_bodies(&self, bodies: Vec<String>) -> Result<(), StoreError> {
        self.room().await;
        let count = bodies.len();
        let shared = self.shared.clone();
        let now = now_ms();
        let messages: Vec<Queued> = bodies
            .into_iter()
            .map(|body| Queued {
                receives: 0,
                visible_at_ms: now,
                body,
            })
            .collect();
        let sent = self
            .store
            .write(move |txn: &mut Txn| {
                let tables = &shared.tables;
                let first = txn.counter(&tables.sequence)? + 1;
                let mut seq = first - 1;
                for queued in &messages {
                    seq += 1;
                    tables.put(txn, seq, queued);
                }
                txn.set_counter(&tables.sequence, seq);
                Ok(first..=seq)
            })
            .await?;
        self.shared
            .backlog
            .unsettled
            .fetch_add(count, Ordering::AcqRel);
        self.shared.visible(sent.map(|seq| (now, seq)));
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
        let queue = EmbeddedQueue::new(store, settings.clone()).expect("the queue");
        send(&queue, "1").await.expect("first");
        send(&queue, "2").await.expect("second");
        let deliveries = queue.delivery_queue(settings).expect("the delivery queue");
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

    /// Takes every message, and says so.
    #[derive(Default)]
    struct Signals(Notify);

    #[async_trait]
    impl Consumer for Signals {
        async fn consume(&self, _: &str, _: u32, _: u32) -> Verdict {
            self.0.notify_one();
            Verdict::Done
        }

        fn retry_delay(&self, _: u32) -> Duration {
            Duration::from_millis(10)
        }
    }

    /// Every handle of one queue shares its order: a message sent through one handle is taken by
    /// a worker running on another, woken by the send.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn handles_of_one_queue_share_its_order() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Embedded::open(dir.path()).expect("open");
        let worker_side = EmbeddedQueue::named(store.clone(), "shared", QueueSettings::default())
            .await
            .expect("a handle");
        let sender_side = EmbeddedQueue::named(store, "shared", QueueSettings::default())
            .await
            .expect("another handle");
        let consumer = Arc::new(Signals::default());
        let worker = tokio::spawn({
            let (queue, consumer) = (worker_side.clone(), consumer.clone());
            async move { queue.run(consumer).await }
        });
        let taken = consumer.0.notified();
        send(&sender_side, "x").await.expect("send");
        // A bound only so that a worker that never wakes fails instead of hanging the suite.
        let woke = tokio::time::timeout(Duration::from_secs(120), taken).await;
        worker.abort();
        assert!(woke.is_ok(), "the worker never took the message");
    }

    /// Each queue counts its own messages and dead letters: the job queue's dead letters are
    /// not the delivery queue's.
    #[tokio::test]
    async fn each_queue_counts_its_own_dead_letters() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Embedded::open(dir.path()).expect("open");
        let jobs = EmbeddedQueue::new(store, QueueSettings::default()).expect("the queue");
        let deliveries = jobs
            .delivery_queue(QueueSettings::default())
            .expect("the delivery queue");
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

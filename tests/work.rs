//! A kind of background work made for this test only, run on both backends: a new kind is one
//! type with its `Message` and its `Work` (below), and a registration (a queue of its own, made
//! from a name, and a runner started with it). The delivery policy is every kind's: a failed run
//! is delivered again after the kind's backoff, and one that fails on its last allowed delivery is
//! given up (the kind records why) and dead-lettered.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use caliper_core::{Backoff, Message, Queue, Work};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

/// How many deliveries a queue allows in this test.
const MAX_RECEIVES: u32 = 3;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Count {
    id: String,
    /// Fails every delivery: given up after the last.
    hopeless: bool,
}

impl Message for Count {
    const NAME: &'static str = "count message";
}

/// Counts each message's runs; the first run of every message fails, so that each is retried.
#[derive(Default)]
struct Counter {
    runs: Mutex<HashMap<String, u32>>,
    done: Mutex<Vec<String>>,
    given_up: Mutex<Vec<String>>,
    changed: Notify,
}

#[async_trait]
impl Work for Counter {
    type Message = Count;
    type Error = String;

    async fn run(&self, message: &Count, _receives: u32) -> Result<(), String> {
        let runs = {
            let mut runs = self.runs.lock().map_err(|_| "poisoned")?;
            let count = runs.entry(message.id.clone()).or_default();
            *count += 1;
            *count
        };
        let result = if message.hopeless || runs == 1 {
            Err(format!("run {runs} of {} failed", message.id))
        } else {
            self.done
                .lock()
                .map_err(|_| "poisoned")?
                .push(message.id.clone());
            Ok(())
        };
        self.changed.notify_waiters();
        result
    }

    fn backoff(&self) -> Backoff {
        Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(20),
        }
    }

    /// Records the id, if the error it is given is the last run's.
    async fn give_up(&self, message: &Count, error: &String) {
        let last = format!("run {MAX_RECEIVES} of {} failed", message.id);
        if let Ok(mut given_up) = self.given_up.lock() {
            given_up.push(if *error == last {
                message.id.clone()
            } else {
                format!("{}: {error}", message.id)
            });
        }
        self.changed.notify_waiters();
    }
}

impl Counter {
    /// Waits until `done` and `given_up` hold exactly these ids.
    async fn until(&self, done: &[&str], given_up: &[&str]) {
        self.until_reached(|done_now, given_up_now| done_now == done && given_up_now == given_up)
            .await
    }

    /// Waits until `reached` holds of the ids done and given up, each sorted (a generous ceiling
    /// only catches a runner that stopped).
    async fn until_reached(&self, reached: impl Fn(&[String], &[String]) -> bool) {
        let reached = || {
            let sorted = |m: &Mutex<Vec<String>>| {
                let mut ids = m.lock().map(|v| v.clone()).unwrap_or_default();
                ids.sort();
                ids
            };
            reached(&sorted(&self.done), &sorted(&self.given_up))
        };
        let wait = async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if reached() {
                    return;
                }
                changed.await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(120), wait)
            .await
            .is_err()
        {
            panic!(
                "done {:?}, given up {:?}, runs {:?}",
                self.done.lock().map(|v| v.clone()),
                self.given_up.lock().map(|v| v.clone()),
                self.runs.lock().map(|v| v.clone())
            );
        }
    }
}

/// Sends three messages on `queue`, which a runner feeds to `counter`: two retried once and done,
/// one given up after every allowed delivery.
async fn a_new_kind_is_retried_and_given_up_as_every_kind(
    queue: &dyn Queue<Count>,
    counter: &Counter,
) {
    let count = |id: &str, hopeless| Count {
        id: id.to_owned(),
        hopeless,
    };
    queue
        .send(&[count("a", false), count("b", false), count("x", true)])
        .await
        .expect("send");
    counter.until(&["a", "b"], &["x"]).await;
    let runs = counter.runs.lock().map(|r| r.clone()).unwrap_or_default();
    assert_eq!(
        (runs.get("a"), runs.get("b"), runs.get("x")),
        (Some(&2), Some(&2), Some(&MAX_RECEIVES))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = caliper_embedded::Embedded::open(dir.path()).expect("open");
    let settings = caliper_embedded::QueueSettings {
        max_receives: MAX_RECEIVES,
        ..Default::default()
    };
    let queue = caliper_embedded::EmbeddedQueue::named(store, "count", settings)
        .await
        .expect("a named queue");
    let counter = Arc::new(Counter::default());
    let runner = tokio::spawn({
        let (queue, counter) = (queue.clone(), counter.clone());
        async move { queue.run(counter).await }
    });
    a_new_kind_is_retried_and_given_up_as_every_kind(&queue, &counter).await;
    // The hopeless one waits in the queue's own dead letters, apart from the job parts' (it moves
    // there once its last delivery is settled, just after it was given up).
    let settled = async {
        while queue.depth().await.expect("depth") != (0, 1) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(120), settled)
        .await
        .expect("the given-up message in the dead letters");
    runner.abort();
}

/// A kind the clock starts is the same kind with a timer that only enqueues: each tick's message
/// is run, retried as any, on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scheduled_kind_runs_on_every_tick() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = caliper_embedded::Embedded::open(dir.path()).expect("open");
    let queue = caliper_embedded::EmbeddedQueue::named(store, "tick", Default::default())
        .await
        .expect("a named queue");
    let counter = Arc::new(Counter::default());
    let runner = tokio::spawn({
        let (queue, counter) = (queue.clone(), counter.clone());
        async move { queue.run(counter).await }
    });
    let ticks = AtomicU32::new(0);
    let timer = tokio::spawn(caliper_core::schedule::every(
        Arc::new(queue) as Arc<dyn Queue<Count>>,
        Duration::from_millis(20),
        move || Count {
            id: format!("tick-{}", ticks.fetch_add(1, Ordering::Relaxed)),
            hopeless: false,
        },
    ));
    counter
        .until_reached(|done, _| {
            ["tick-0", "tick-1"]
                .iter()
                .all(|id| done.iter().any(|d| d == id))
        })
        .await;
    timer.abort();
    runner.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqs() {
    let sdk = caliper_tests::moto_sdk().await;
    let name = format!("count-{}", uuid::Uuid::new_v4().simple());
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let url = caliper_aws::create_queue(&sqs, &name, MAX_RECEIVES)
        .await
        .expect("a queue on moto");
    let queue = caliper_aws::SqsQueue::new(sqs, Some(url.clone()), "COUNT_QUEUE_URL");
    let counter = Arc::new(Counter::default());
    let runner = tokio::spawn({
        let counter = counter.clone();
        async move {
            caliper_aws::SqsPoller::new(&sdk, url, MAX_RECEIVES)
                .run(counter)
                .await
        }
    });
    a_new_kind_is_retried_and_given_up_as_every_kind(&queue, &counter).await;
    runner.abort();
}

//! Faults injected into the real adapters (the embedded store and DynamoDB + SQS on moto): a
//! processor that dies halfway through a batch, throttling, a queue that refuses a send after the
//! job was recorded, and deliveries racing each other. Nothing accepted is lost or stored twice,
//! and no job claims a success it did not have.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use caliper_core::{
    Consumer, EventKey, EventStore, InsertOutcome, JobMessage, JobState, JobStore, Message, NewJob,
    Ports, Processor, Queue, StoreError, StoredEvent, Verdict,
};
use caliper_http::{App, Limits};
use caliper_tests::{envelope, event_id, tool_use_event, Api};
use chrono::Utc;

/// An event store that fails or delays chosen calls: `allocate_ids` with a throttling error the
/// first `throttles` times; `insert_new` by writing only the first half of the batch and then
/// failing, the first `crashes` times (a processor dying mid-batch); `find_ids` after a delay.
struct FaultyEvents {
    inner: Arc<dyn EventStore>,
    throttles: AtomicUsize,
    crashes: AtomicUsize,
    find_delay: std::time::Duration,
}

fn take(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

#[async_trait]
impl EventStore for FaultyEvents {
    async fn allocate_ids(&self, count: u64) -> Result<u64, StoreError> {
        if take(&self.throttles) {
            return Err(StoreError::retryable(
                "ProvisionedThroughputExceededException (injected)",
            ));
        }
        self.inner.allocate_ids(count).await
    }

    async fn find_ids(
        &self,
        client_app_id: &str,
        external_ids: &[String],
    ) -> Result<HashMap<String, u64>, StoreError> {
        let found = self.inner.find_ids(client_app_id, external_ids).await;
        tokio::time::sleep(self.find_delay).await;
        found
    }

    async fn insert_new(&self, events: &[StoredEvent]) -> Result<Vec<InsertOutcome>, StoreError> {
        if take(&self.crashes) {
            self.inner.insert_new(&events[..events.len() / 2]).await?;
            return Err(StoreError::new(
                "the processor died halfway through the batch (injected)",
            ));
        }
        self.inner.insert_new(events).await
    }

    async fn get(&self, key: &EventKey) -> Result<Option<StoredEvent>, StoreError> {
        self.inner.get(key).await
    }

    async fn delete(&self, keys: &[EventKey]) -> Result<u64, StoreError> {
        self.inner.delete(keys).await
    }

    async fn purge(&self, keys: &[EventKey]) -> Result<u64, StoreError> {
        self.inner.purge(keys).await
    }

    async fn holders(&self, external_id: &str) -> Result<Vec<String>, StoreError> {
        self.inner.holders(external_id).await
    }

    async fn get_many(
        &self,
        keys: &[EventKey],
    ) -> Result<HashMap<EventKey, StoredEvent>, StoreError> {
        self.inner.get_many(keys).await
    }
}

/// A queue that refuses every send.
struct RefusingQueue;

#[async_trait]
impl Queue<JobMessage> for RefusingQueue {
    async fn send(&self, _messages: &[JobMessage]) -> Result<(), StoreError> {
        Err(StoreError::retryable("the queue is unavailable (injected)"))
    }
}

/// A job store that remembers the ids of the jobs it created.
struct RecordingJobs {
    inner: Arc<dyn JobStore>,
    created: Mutex<Vec<String>>,
}

#[async_trait]
impl JobStore for RecordingJobs {
    async fn create(&self, job: &NewJob) -> Result<(), StoreError> {
        self.created
            .lock()
            .expect("not poisoned")
            .push(job.id.clone());
        self.inner.create(job).await
    }
    async fn get(&self, id: &str) -> Result<Option<caliper_core::Job>, StoreError> {
        self.inner.get(id).await
    }
    async fn mark_active(&self, id: &str) -> Result<(), StoreError> {
        self.inner.mark_active(id).await
    }
    async fn complete_part(
        &self,
        id: &str,
        part: u32,
        parts: u32,
        results: &[caliper_core::EventResult],
        at: chrono::DateTime<Utc>,
    ) -> Result<JobState, StoreError> {
        self.inner.complete_part(id, part, parts, results, at).await
    }
    async fn mark_failed(
        &self,
        id: &str,
        reason: &str,
        at: chrono::DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.mark_failed(id, reason, at).await
    }

    async fn save_checkpoint(
        &self,
        id: &str,
        checkpoint: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.inner.save_checkpoint(id, checkpoint).await
    }

    async fn complete(
        &self,
        id: &str,
        outcome: &serde_json::Value,
        at: chrono::DateTime<Utc>,
    ) -> Result<JobState, StoreError> {
        self.inner.complete(id, outcome, at).await
    }
}

fn faulty(ports: &Ports, throttles: usize, crashes: usize) -> Arc<FaultyEvents> {
    Arc::new(FaultyEvents {
        inner: ports.events.clone(),
        throttles: AtomicUsize::new(throttles),
        crashes: AtomicUsize::new(crashes),
        find_delay: std::time::Duration::ZERO,
    })
}

/// A recorded job of one part and its message of `n` fresh events.
/// The key of an event of the client of [`job_with_events`].
fn key(external_id: &str) -> EventKey {
    EventKey::new("client-a", external_id)
}

async fn job_with_events(ports: &Ports, n: usize) -> JobMessage {
    let job = NewJob {
        id: uuid::Uuid::new_v4().to_string(),
        kind: caliper_core::JobKind::Submission,
        client_app_id: "client-a".into(),
        parts: 1,
        created_at: Utc::now(),
    };
    ports.jobs.create(&job).await.expect("create the job");
    JobMessage {
        job_id: job.id,
        client_app_id: "client-a".into(),
        part: 0,
        parts: 1,
        sensor: "https://example.edu/sensors/1".into(),
        send_time: "2024-05-01T12:00:00.000Z".into(),
        data_version: caliper_validation::CALIPER_V1P2.into(),
        events: (0..n).map(|_| tool_use_event(&event_id())).collect(),
        problems: Vec::new(),
        accepted_at: None,
        source: None,
    }
}

/// The job's results as (externalId, allocatedId), after checking it completed.
async fn completed_results(ports: &Ports, job_id: &str) -> Vec<(String, u64)> {
    let job = ports
        .jobs
        .get(job_id)
        .await
        .expect("get")
        .expect("the job exists");
    assert_eq!(job.state, JobState::Completed, "{job:?}");
    job.results
        .into_iter()
        .map(|r| (r.external_id, r.allocated_id))
        .collect()
}

fn ids_of(message: &JobMessage) -> Vec<String> {
    message
        .events
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect()
}

pub async fn a_crash_halfway_through_a_batch_is_redelivered_without_duplicates(ports: Ports) {
    let message = job_with_events(&ports, 10).await;
    let crashing = Processor::new(ports.jobs.clone(), faulty(&ports, 0, 1));
    assert!(
        crashing.process(&message).await.is_err(),
        "the injected crash surfaces"
    );
    let half_stored: Vec<(String, u64)> = {
        let mut found = Vec::new();
        for id in ids_of(&message) {
            if let Some(event) = ports.events.get(&key(&id)).await.expect("get") {
                found.push((id, event.id));
            }
        }
        found
    };
    assert_eq!(
        half_stored.len(),
        5,
        "the first half was written before the crash"
    );
    let job = ports
        .jobs
        .get(&message.job_id)
        .await
        .expect("get")
        .expect("job");
    assert_ne!(
        job.state,
        JobState::Completed,
        "no success before the part is recorded"
    );

    let processor = Processor::new(ports.jobs.clone(), ports.events.clone());
    assert_eq!(
        processor.process(&message).await.expect("redelivery"),
        JobState::Completed
    );
    let results = completed_results(&ports, &message.job_id).await;
    assert_eq!(
        results.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        ids_of(&message)
    );
    for (id, allocated) in &half_stored {
        assert!(
            results.contains(&(id.clone(), *allocated)),
            "{id} keeps its first allocated id"
        );
    }
    let distinct: std::collections::HashSet<u64> = results.iter().map(|r| r.1).collect();
    assert_eq!(distinct.len(), 10, "no id allocated twice: {results:?}");

    // A third delivery changes nothing.
    assert_eq!(
        processor.process(&message).await.expect("again"),
        JobState::Completed
    );
    assert_eq!(completed_results(&ports, &message.job_id).await, results);
}

pub async fn throttling_fails_the_delivery_and_the_retry_stores_everything(ports: Ports) {
    let message = job_with_events(&ports, 3).await;
    let processor = Processor::new(ports.jobs.clone(), faulty(&ports, 1, 0));
    let body = message.to_json().expect("json");
    assert_eq!(processor.consume(&body, 1, 5).await, Verdict::Retry);
    assert_eq!(processor.consume(&body, 2, 5).await, Verdict::Done);
    let results = completed_results(&ports, &message.job_id).await;
    assert_eq!(results.len(), 3);
    for id in ids_of(&message) {
        assert!(
            ports.events.get(&key(&id)).await.expect("get").is_some(),
            "{id} stored"
        );
    }
}

pub async fn a_refused_send_after_the_job_is_recorded_is_a_5xx_and_the_job_failed(ports: Ports) {
    let jobs = Arc::new(RecordingJobs {
        inner: ports.jobs.clone(),
        created: Mutex::new(Vec::new()),
    });
    let app = App::new(
        Ports {
            jobs: jobs.clone(),
            queue: Arc::new(RefusingQueue),
            ..ports.clone()
        },
        Limits::default(),
    );
    let body = envelope(vec![tool_use_event(&event_id())]);
    let (code, reply) = Api::payload("submit-events").body(&body).send(&app).await;
    assert_eq!(code, 503, "{reply}");
    assert!(reply.get("jobId").is_none(), "{reply}");
    let created = jobs.created.lock().expect("not poisoned").clone();
    assert_eq!(created.len(), 1, "the job was recorded before the send");
    let job = ports
        .jobs
        .get(&created[0])
        .await
        .expect("get")
        .expect("job");
    assert_eq!(job.state, JobState::Failed, "{job:?}");
    assert!(job.failed_reason.is_some_and(|r| !r.is_empty()));
}

pub async fn deliveries_racing_at_once_store_each_event_once(ports: Ports) {
    // One message delivered twice at once, and a second job resending the same events meanwhile.
    let first = job_with_events(&ports, 20).await;
    let mut resent = job_with_events(&ports, 0).await;
    resent.events = first.events.clone();
    // Every delivery looks the ids up before any writes, so all allocate and race to insert.
    let racing = Arc::new(FaultyEvents {
        find_delay: std::time::Duration::from_millis(300),
        ..Arc::into_inner(faulty(&ports, 0, 0)).expect("not shared yet")
    });
    let processor = Arc::new(Processor::new(ports.jobs.clone(), racing));
    let deliveries = [first.clone(), first.clone(), resent.clone()].map(|message| {
        let processor = processor.clone();
        tokio::spawn(async move { processor.process(&message).await })
    });
    for delivery in futures::future::join_all(deliveries).await {
        assert!(delivery.expect("joined").is_ok());
    }
    for job_id in [&first.job_id, &resent.job_id] {
        let results = completed_results(&ports, job_id).await;
        assert_eq!(results.len(), 20);
        for (id, allocated) in &results {
            let stored = ports
                .events
                .get(&key(id))
                .await
                .expect("get")
                .expect("stored");
            assert_eq!(
                stored.id, *allocated,
                "job {job_id} reports the id stored for {id}"
            );
        }
        let distinct: std::collections::HashSet<u64> = results.iter().map(|r| r.1).collect();
        assert_eq!(distinct.len(), 20);
    }
}

caliper_tests::on_every_backend!(
    a_crash_halfway_through_a_batch_is_redelivered_without_duplicates,
    throttling_fails_the_delivery_and_the_retry_stores_everything,
    a_refused_send_after_the_job_is_recorded_is_a_5xx_and_the_job_failed,
    deliveries_racing_at_once_store_each_event_once,
);

/// A processor that dies on every delivery: it takes the message and never gives a verdict, as
/// one that crashes, times out or runs out of memory. `taken` says it has the message.
struct Dying {
    taken: tokio::sync::Notify,
}

#[async_trait]
impl Consumer for Dying {
    async fn consume(&self, _body: &str, _receives: u32, _max_receives: u32) -> Verdict {
        self.taken.notify_one();
        std::future::pending().await
    }

    fn retry_delay(&self, _receives: u32) -> std::time::Duration {
        caliper_tests::QUICK_RETRY.base
    }
}

/// The job's state and reason once it leaves `waiting`/`active`; a bounded wait.
async fn settled(ports: &Ports, job_id: &str) -> caliper_core::Job {
    for _ in 0..600 {
        let job = ports.jobs.get(job_id).await.expect("get").expect("the job");
        if job.state.is_finished() {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("job {job_id} never finished");
}

fn assert_failed_as_dead_lettered(job: &caliper_core::Job) {
    assert_eq!(job.state, JobState::Failed);
    let reason = job.failed_reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("part 1 of 1") && reason.contains("kept for replay"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_a_job_whose_processor_dies_on_every_delivery_fails() {
    let (ports, queue, _dir) = caliper_tests::embedded_world();
    let message = job_with_events(&ports, 2).await;
    ports
        .queue
        .send(std::slice::from_ref(&message))
        .await
        .expect("send");
    let max_receives = caliper_embedded::QueueSettings::default().max_receives;
    for _ in 0..max_receives {
        // The process dies holding the message; the next start delivers it again.
        let dying = Arc::new(Dying {
            taken: tokio::sync::Notify::new(),
        });
        let run = {
            let (queue, dying) = (queue.clone(), dying.clone());
            tokio::spawn(async move { queue.run(dying).await })
        };
        dying.taken.notified().await;
        run.abort();
        let _ = run.await;
    }
    let processor = Arc::new(caliper_tests::processor(&ports));
    let run = {
        let queue = queue.clone();
        tokio::spawn(async move { queue.run(processor).await })
    };
    assert_failed_as_dead_lettered(&settled(&ports, &message.job_id).await);
    for _ in 0..600 {
        if queue.depth().await.expect("depth") == (0, 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        queue.depth().await.expect("depth"),
        (0, 1),
        "(waiting, dead letters)"
    );
    run.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn aws_a_job_whose_processor_dies_on_every_delivery_fails() {
    let world = caliper_tests::aws_world(2).await;
    let ports = &world.ports;
    let message = job_with_events(ports, 2).await;
    ports
        .queue
        .send(std::slice::from_ref(&message))
        .await
        .expect("send");
    let sqs = aws_sdk_sqs::Client::new(&world.sdk);
    let dlq_url = sqs
        .get_queue_url()
        .queue_name(format!("{}-dlq", world.settings.queue_name))
        .send()
        .await
        .expect("dlq url")
        .queue_url
        .unwrap_or_default();
    let replay_url = sqs
        .create_queue()
        .queue_name(format!("{}-replay", world.settings.queue_name))
        .send()
        .await
        .expect("replay queue")
        .queue_url
        .unwrap_or_default();

    // Each delivery dies: received, never deleted, visible again at once (SQS counts them all);
    // past the last allowed one, SQS itself moves the message to the dead-letter queue.
    let mut dead = Vec::new();
    for _ in 0..50 {
        sqs.receive_message()
            .queue_url(&world.queue_url)
            .visibility_timeout(0)
            .send()
            .await
            .expect("receive");
        dead = sqs
            .receive_message()
            .queue_url(&dlq_url)
            .visibility_timeout(30)
            .send()
            .await
            .expect("receive the dead letters")
            .messages
            .unwrap_or_default();
        if !dead.is_empty() {
            break;
        }
    }
    assert_eq!(dead.len(), 1, "SQS dead-letters the message");
    assert_eq!(
        ports
            .jobs
            .get(&message.job_id)
            .await
            .expect("get")
            .map(|j| j.state),
        Some(JobState::Waiting),
        "nothing of ours saw the deaths"
    );

    // The dead-letters function, as its trigger hands it the message: its payload in `events/`
    // with the dead letter's body.
    let mut payload = caliper_tests::payload_json("dead-letters");
    payload["Records"][0]["body"] = serde_json::json!(dead[0].body().unwrap_or_default());
    let event: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_value(payload).expect("an SQS event");
    let processor = Processor::new(ports.jobs.clone(), ports.events.clone());
    let replay = caliper_aws::SqsQueue::new(sqs.clone(), Some(replay_url.clone()), "replay");
    let response = caliper_aws::dead_letters_sqs_event(&processor, event, &replay).await;
    assert!(response.batch_item_failures.is_empty());
    assert_failed_as_dead_lettered(&settled(ports, &message.job_id).await);
    let kept = sqs
        .receive_message()
        .queue_url(&replay_url)
        .send()
        .await
        .expect("receive the replay queue")
        .messages
        .unwrap_or_default();
    assert_eq!(
        kept.iter()
            .map(|m| m.body().unwrap_or_default())
            .collect::<Vec<_>>(),
        [message.to_json().expect("json")],
        "kept for replay as it was"
    );
}

//! Processing one queue message: store its events exactly once and record the job's progress.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;

use crate::message::JobMessage;
use crate::model::{EventKey, EventResult, JobState, ResultStatus, StoredEvent};
use crate::ports::{EventStore, InsertOutcome, JobStore, QuarantineStore, Queue, StoreError};
use crate::quarantine::Quarantined;
use crate::query::event_time_key;
use crate::retention::Retention;
use crate::retry::Backoff;
use crate::webhooks::DeliveryMessage;
use crate::work::Work;

pub struct Processor {
    jobs: Arc<dyn JobStore>,
    events: Arc<dyn EventStore>,
    deliveries: Option<Arc<dyn Queue<DeliveryMessage>>>,
    /// Where the items the `flag` policy cannot store are kept, and how many per client.
    quarantine: Option<(Arc<dyn QuarantineStore>, u64)>,
    /// How long each client's events are kept (without: for ever).
    retention: Option<Retention>,
    retry: Backoff,
}

impl Processor {
    pub fn new(jobs: Arc<dyn JobStore>, events: Arc<dyn EventStore>) -> Self {
        Self {
            jobs,
            events,
            deliveries: None,
            quarantine: None,
            retention: None,
            retry: Backoff::JOB_PARTS,
        }
    }

    /// Keeps what the `flag` policy cannot store in `store`, at most `most` items per client
    /// (without: such items are only named in their job).
    pub fn quarantining(mut self, store: Arc<dyn QuarantineStore>, most: u64) -> Self {
        self.quarantine = Some((store, most));
        self
    }

    /// Stores no event already past its client's retention, and marks each it stores with when it
    /// expires.
    pub fn retaining(mut self, retention: Retention) -> Self {
        self.retention = Some(retention);
        self
    }

    /// Retries failed parts after `retry` instead of [`Backoff::JOB_PARTS`] (tests that must not
    /// wait).
    pub fn retrying(mut self, retry: Backoff) -> Self {
        self.retry = retry;
        self
    }

    /// Tells the webhook deliveries about every event this processor stores.
    pub fn notifying(mut self, deliveries: Arc<dyn Queue<DeliveryMessage>>) -> Self {
        self.deliveries = Some(deliveries);
        self
    }

    /// Stores the message's events and records the part. Safe to run any number of times for the same
    /// message, also concurrently: each Caliper id is stored once and keeps its first allocated id.
    /// An error means the message should be delivered again.
    pub async fn process(&self, message: &JobMessage) -> Result<JobState, StoreError> {
        self.process_part(message, false).await
    }

    /// [`Self::process`]; on a `redelivered` message, the events found stored already are announced
    /// to the webhooks again, since the delivery that stored them may have failed before it could
    /// (receivers drop the repeats by their delivery id).
    async fn process_part(
        &self,
        message: &JobMessage,
        redelivered: bool,
    ) -> Result<JobState, StoreError> {
        // A one-part job goes from waiting to completed in the write that records its part; one
        // of several parts, or a part delivered again, shows the job at work meanwhile.
        if message.parts > 1 || redelivered {
            self.jobs.mark_active(&message.job_id).await?;
        }

        let external_ids: Vec<String> = message.events.iter().map(external_id).collect();
        // Under the `flag` policy (a part with problems), items that cannot be stored at all.
        let unusable: HashMap<usize, String> = if message.problems.is_empty() {
            HashMap::new()
        } else {
            message
                .events
                .iter()
                .enumerate()
                .filter_map(|(position, event)| Some((position, crate::flag::unusable(event)?)))
                .collect()
        };
        // Events already past their client's retention: not stored, whether or not they were.
        let days = match &self.retention {
            Some(retention) => retention.days_of(&message.client_app_id).await?,
            None => None,
        };
        let cutoff = days.map(|days| Retention::cutoff(days, Utc::now()));
        let expired: std::collections::HashSet<usize> = match &cutoff {
            None => Default::default(),
            Some(cutoff) => message
                .events
                .iter()
                .enumerate()
                .filter(|(position, event)| {
                    !unusable.contains_key(position)
                        && event
                            .get("eventTime")
                            .and_then(Value::as_str)
                            .is_some_and(|time| event_time_key(time) < *cutoff)
                })
                .map(|(position, _)| position)
                .collect(),
        };
        let usable_ids: Vec<String> = external_ids
            .iter()
            .enumerate()
            .filter(|(position, _)| !unusable.contains_key(position) && !expired.contains(position))
            .map(|(_, id)| id.clone())
            .collect();
        let mut allocated: HashMap<String, u64> = self
            .events
            .find_ids(&message.client_app_id, &usable_ids)
            .await?;
        // Events not stored, and why (refused by the store, or erased before): reported in the
        // job, never retried.
        let mut not_stored: HashMap<String, ResultStatus> = HashMap::new();

        // New events, each Caliper id once (an envelope may repeat one), numbered by one allocation.
        let mut fresh: Vec<&Value> = Vec::new();
        let mut fresh_at: Vec<usize> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (position, (event, id)) in message.events.iter().zip(&external_ids).enumerate() {
            if unusable.contains_key(&position) || expired.contains(&position) {
                continue;
            }
            if !allocated.contains_key(id) && seen.insert(id.as_str()) {
                fresh.push(event);
                fresh_at.push(position);
            }
        }
        // The events this run stored, by position and by Caliper id: every other occurrence of an
        // id is compared with what is stored under it.
        let mut stored_at = std::collections::HashSet::new();
        let (mut inserted, mut inserted_ids) = (Vec::new(), std::collections::HashSet::new());
        let mut announce: Vec<String> = if redelivered {
            allocated.keys().cloned().collect()
        } else {
            Vec::new()
        };
        if !fresh.is_empty() {
            let first = self.events.allocate_ids(fresh.len() as u64).await?;
            let now = Utc::now();
            let stored: Vec<StoredEvent> = fresh
                .iter()
                .zip(&fresh_at)
                .enumerate()
                .map(|(i, (event, position))| StoredEvent {
                    problems: problems_at(message, *position),
                    expires_at: days.and_then(|days| {
                        let time = event.get("eventTime").and_then(Value::as_str)?;
                        Retention::expires_at(time, days)
                    }),
                    ..StoredEvent::from_event(
                        event,
                        first + i as u64,
                        &message.sensor,
                        &message.send_time,
                        &message.data_version,
                        &message.client_app_id,
                        now,
                    )
                })
                .collect();
            let outcomes = self.events.insert_new(&stored).await?;
            for ((event, outcome), position) in stored.iter().zip(outcomes).zip(&fresh_at) {
                // Another delivery may have stored it in between: its id wins, ours is left unused.
                let id = match outcome {
                    InsertOutcome::Inserted => {
                        announce.push(event.external_id.clone());
                        stored_at.insert(*position);
                        inserted_ids.insert(event.external_id.clone());
                        event.id
                    }
                    InsertOutcome::Exists(id) => id,
                    InsertOutcome::Refused(reason) => {
                        tracing::warn!(
                            job_id = message.job_id,
                            external_id = event.external_id,
                            reason,
                            "the store refused an event"
                        );
                        not_stored
                            .insert(event.external_id.clone(), ResultStatus::Refused { reason });
                        continue;
                    }
                    InsertOutcome::Erased => {
                        not_stored.insert(event.external_id.clone(), ResultStatus::Erased);
                        continue;
                    }
                };
                allocated.insert(event.external_id.clone(), id);
            }
            inserted = stored;
        }

        if let (Some(deliveries), false) = (&self.deliveries, announce.is_empty()) {
            // Before the part is recorded: should this fail, the message comes back and tries again.
            deliveries
                .send(&DeliveryMessage::stored(&message.client_app_id, &announce))
                .await?;
        }

        // The events found stored before, read together, to tell a resend from a conflict.
        let earlier: Vec<EventKey> = external_ids
            .iter()
            .enumerate()
            .filter(|(position, id)| {
                !unusable.contains_key(position)
                    && !expired.contains(position)
                    && !stored_at.contains(position)
                    && !not_stored.contains_key(*id)
                    && !inserted_ids.contains(*id)
            })
            .map(|(_, id)| EventKey::new(&message.client_app_id, id))
            .collect::<std::collections::HashSet<_>>()
            .into_iter()
            .collect();
        let earlier = if earlier.is_empty() {
            HashMap::new()
        } else {
            self.events.get_many(&earlier).await?
        };
        // What each Caliper id is stored as: by this run, or before it.
        let originals: HashMap<&str, &StoredEvent> = inserted
            .iter()
            .filter(|event| inserted_ids.contains(&event.external_id))
            .map(|event| (event.external_id.as_str(), event))
            .chain(
                earlier
                    .iter()
                    .map(|(key, event)| (key.external_id.as_str(), event)),
            )
            .collect();
        let mut results = Vec::with_capacity(external_ids.len());
        for (position, external_id) in external_ids.into_iter().enumerate() {
            let found = problems_at(message, position);
            // An item the `flag` policy cannot store says why, with what was found in it.
            if let Some(reason) = unusable.get(&position) {
                let status = self.set_aside(message, position, reason, &found).await?;
                results.push(EventResult::new(0, external_id, status, found));
                continue;
            }
            if expired.contains(&position) {
                results.push(EventResult::new(
                    0,
                    external_id,
                    ResultStatus::Expired,
                    Vec::new(),
                ));
                continue;
            }
            let allocated_id = allocated.get(&external_id).copied().unwrap_or_default();
            let status = match not_stored.get(&external_id) {
                Some(status) => status.clone(),
                None if stored_at.contains(&position) => ResultStatus::Stored,
                None => compare(
                    message,
                    position,
                    originals.get(external_id.as_str()).copied(),
                ),
            };
            let found = if status.is_stored() {
                found
            } else {
                Vec::new()
            };
            results.push(EventResult::new(allocated_id, external_id, status, found));
        }
        let state = self
            .jobs
            .complete_part(
                &message.job_id,
                message.part,
                message.parts,
                &results,
                Utc::now(),
            )
            .await?;
        // The job's latency so far: from its acceptance to this part's record (the dashboard's).
        let latency_ms = message
            .accepted_at
            .map(|at| (Utc::now().timestamp_millis() - at).max(0));
        tracing::info!(
            job_id = message.job_id,
            part = message.part,
            events = results.len(),
            latency_ms,
            state = state.as_str(),
            "part processed"
        );
        Ok(state)
    }
}

impl Processor {
    /// An item the `flag` policy cannot store: kept in quarantine (once, however often the part
    /// is delivered) and so reported, or refused when there is none or its client's is full.
    async fn set_aside(
        &self,
        message: &JobMessage,
        position: usize,
        reason: &str,
        found: &[caliper_validation::Problem],
    ) -> Result<ResultStatus, StoreError> {
        let Some((store, most)) = &self.quarantine else {
            return Ok(ResultStatus::Refused {
                reason: reason.to_owned(),
            });
        };
        let now = Utc::now();
        let accepted = message
            .accepted_at
            .unwrap_or_else(|| now.timestamp_millis());
        let mut reasons = vec![caliper_validation::Problem::new("", reason)];
        reasons.extend(found.iter().cloned());
        let item = Quarantined {
            id: Quarantined::id_for(accepted, &message.job_id, message.part, position),
            client_app_id: message.client_app_id.clone(),
            source: message
                .source
                .clone()
                .unwrap_or_else(|| "submission".to_owned()),
            received_at: crate::model::timestamp(now),
            reasons,
            body: message.events[position].clone(),
            envelope: serde_json::json!({
                "sensor": message.sensor,
                "sendTime": message.send_time,
                "dataVersion": message.data_version,
            }),
        };
        Ok(if store.keep(&item, *most).await? {
            ResultStatus::Quarantined {
                id: item.id,
                reason: reason.to_owned(),
            }
        } else {
            ResultStatus::Refused {
                reason: format!(
                    "{reason}; it was not kept either: the client's quarantine holds its most, {most} items (replay or delete some)"
                ),
            }
        })
    }
}

/// The event at `position` was stored before (by another job, another delivery of this message,
/// or earlier in it) as `original`: the same event again is a plain success; other content is a
/// conflict, and the first stays. None: deleted since it was found, nothing to differ from.
fn compare(message: &JobMessage, position: usize, original: Option<&StoredEvent>) -> ResultStatus {
    let Some(original) = original else {
        return ResultStatus::Stored;
    };
    let again = StoredEvent::from_event(
        &message.events[position],
        original.id,
        &message.sensor,
        &message.send_time,
        &message.data_version,
        &message.client_app_id,
        Utc::now(),
    );
    match original.first_difference(&again) {
        None => ResultStatus::Stored,
        Some(pointer) => ResultStatus::Conflict {
            message: format!(
                "an event with this id was stored before with other content (they first differ at {pointer}); the first is kept: send a changed event with a new id"
            ),
        },
    }
}

/// A job's part, as a kind of background work ([`crate::work`]): stored once however often it is
/// delivered; a part that fails on its last delivery, or dies with the processor on every one,
/// fails its job, saying which part and why, so that no job waits forever.
#[async_trait::async_trait]
impl Work for Processor {
    type Message = JobMessage;
    type Error = StoreError;

    /// On a redelivery, the events found stored already are announced again (see
    /// [`Processor::process`]).
    async fn run(&self, message: &JobMessage, receives: u32) -> Result<(), StoreError> {
        self.process_part(message, receives > 1).await.map(|_| ())
    }

    fn backoff(&self) -> Backoff {
        self.retry
    }

    async fn retrying(&self, message: &JobMessage, error: &StoreError, receives: u32) {
        tracing::warn!(job_id = message.job_id, receives, %error, "processing failed; the message will be delivered again");
    }

    async fn give_up(&self, message: &JobMessage, error: &StoreError) {
        let reason = format!(
            "part {} of {} could not be stored after repeated attempts: {error}",
            message.part + 1,
            message.parts
        );
        if let Err(mark) = self
            .jobs
            .mark_failed(&message.job_id, &reason, Utc::now())
            .await
        {
            tracing::error!(job_id = message.job_id, %mark, "could not mark the job failed");
        }
    }

    async fn dead_lettered(&self, message: &JobMessage) -> Result<(), StoreError> {
        let reason = format!(
            "part {} of {} was never processed to its end: the processor stopped (a crash, a \
             timeout or running out of memory) on each of its deliveries; the message is kept \
             for replay",
            message.part + 1,
            message.parts
        );
        tracing::error!(
            job_id = message.job_id,
            part = message.part,
            "a job message was dead-lettered"
        );
        self.jobs
            .mark_failed(&message.job_id, &reason, Utc::now())
            .await
    }
}

/// The problems the `flag` policy found in the event at `position` of a part (none under
/// `strict`).
fn problems_at(message: &JobMessage, position: usize) -> Vec<caliper_validation::Problem> {
    message.problems.get(position).cloned().unwrap_or_default()
}

fn external_id(event: &Value) -> String {
    event
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemoryEvents, MemoryJobs, MemoryQueue};
    use crate::message::JobMessage;
    use crate::model::NewJob;
    use crate::ports::{Consumer, Message, Verdict};
    use crate::submit::{Envelope, SubmitError, Submitter};
    use serde_json::json;

    fn event(n: u32) -> Value {
        json!({"id": format!("urn:uuid:00000000-0000-4000-8000-{n:012}"), "type": "Event", "action": "Created",
               "actor": "https://example.edu/u/1", "object": "https://example.edu/o/1", "eventTime": "2024-01-01T00:00:00Z"})
    }

    fn envelope(events: Vec<Value>) -> Value {
        json!({"sensor": "https://example.edu/s", "sendTime": "2024-01-01T00:00:00Z", "dataVersion": "x", "data": events})
    }

    struct World {
        jobs: Arc<MemoryJobs>,
        events: Arc<MemoryEvents>,
        queue: Arc<MemoryQueue>,
    }

    impl World {
        fn new() -> Self {
            Self {
                jobs: Arc::default(),
                events: Arc::default(),
                queue: Arc::default(),
            }
        }
        fn submitter(&self) -> Submitter {
            Submitter::new(self.jobs.clone(), self.queue.clone())
        }
        fn processor(&self) -> Processor {
            Processor::new(self.jobs.clone(), self.events.clone())
        }
        async fn submit(&self, events: Vec<Value>) -> String {
            self.submit_as("client", events).await
        }
        async fn submit_as(&self, client: &str, events: Vec<Value>) -> String {
            self.submitter()
                .submit(client, vec![Envelope::valid(envelope(events))])
                .await
                .expect("submit")
        }
        async fn job(&self, job_id: &str) -> crate::Job {
            self.jobs
                .get(job_id)
                .await
                .expect("get")
                .expect("the job exists")
        }
        async fn drain(&self) {
            for message in self.queue.take() {
                self.processor().process(&message).await.ok();
            }
        }
    }

    #[tokio::test]
    async fn a_job_completes_with_results_in_input_order() {
        let world = World::new();
        let job_id = world.submit(vec![event(2), event(1), event(3)]).await;
        assert_eq!(
            world
                .jobs
                .get(&job_id)
                .await
                .ok()
                .flatten()
                .map(|j| j.state),
            Some(JobState::Waiting)
        );
        world.drain().await;
        let job = world
            .jobs
            .get(&job_id)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("job {job_id} is gone"));
        assert_eq!(job.state, JobState::Completed);
        assert!(job.processed_on.is_some());
        let ids: Vec<&str> = job.results.iter().map(|r| r.external_id.as_str()).collect();
        assert_eq!(
            ids,
            vec![
                event(2)["id"].as_str().unwrap_or(""),
                event(1)["id"].as_str().unwrap_or(""),
                event(3)["id"].as_str().unwrap_or("")
            ]
        );
        let allocated: Vec<u64> = job.results.iter().map(|r| r.allocated_id).collect();
        assert_eq!(
            allocated,
            vec![1, 2, 3],
            "one allocation, numbered in input order"
        );
    }

    #[tokio::test]
    async fn a_resend_with_other_content_is_a_conflict_and_the_first_stays() {
        let world = World::new();
        world.submit(vec![event(1), event(2)]).await;
        world.drain().await;
        let mut changed = event(1);
        changed["actor"] = json!({"id": "https://example.edu/u/2", "type": "Person"});
        let mut renumbered = event(2);
        // The same event, its numbers written otherwise, and its nulls left out or given.
        renumbered["extensions"] = json!({"score": 1.0});
        let mut first_of_two = event(2);
        first_of_two["extensions"] = json!({"score": 1});
        let mut fresh = event(3);
        fresh["generated"] = Value::Null;
        let mut fresh_changed = event(3);
        fresh_changed["eventTime"] = json!("2025-01-01T00:00:00Z");
        let job_id = world
            .submit(vec![changed, event(2), fresh, fresh_changed])
            .await;
        world.drain().await;
        let job = world.job(&job_id).await;
        let statuses: Vec<(&str, u64)> = job
            .results
            .iter()
            .map(|r| (r.status.as_str(), r.allocated_id))
            .collect();
        assert_eq!(
            statuses,
            [
                ("conflict", 1),
                ("stored", 2),
                ("stored", 3),
                ("conflict", 3)
            ],
            "{:?}",
            job.results
        );
        match &job.results[0].status {
            ResultStatus::Conflict { message } => {
                assert!(message.contains("/actor"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        match &job.results[3].status {
            ResultStatus::Conflict { message } => {
                assert!(message.contains("/eventTime"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            world.events.len(),
            3,
            "nothing replaced, nothing added twice"
        );

        // Numbers of one value and null-or-absent are the same event.
        let world = World::new();
        world.submit(vec![first_of_two]).await;
        world.drain().await;
        let again = world.submit(vec![renumbered]).await;
        world.drain().await;
        assert_eq!(
            world.job(&again).await.results[0].status,
            ResultStatus::Stored
        );
    }

    #[tokio::test]
    async fn under_flag_events_keep_their_problems_and_what_cannot_be_stored_says_why() {
        let world = World::new();
        let mut odd = event(2);
        odd["actor"] = json!({"id": "https://example.edu/u/1", "type": "Entity"});
        let mut timeless = event(3);
        timeless["eventTime"] = json!("soon");
        let mut body = envelope(vec![event(1), odd, timeless, json!(7)]);
        body["dataVersion"] = json!(caliper_validation::CALIPER_V1P2);
        let findings = caliper_validation::findings(&body);
        let job_id = world
            .submitter()
            .submit(
                "client",
                vec![Envelope {
                    body,
                    findings: Some(findings),
                }],
            )
            .await
            .expect("submit");
        world.drain().await;
        let job = world.job(&job_id).await;
        let described: Vec<(&str, Vec<&str>)> = job
            .results
            .iter()
            .map(|r| {
                let paths = r.problems.iter().map(|p| p.path.as_str()).collect();
                (r.status.as_str(), paths)
            })
            .collect();
        assert_eq!(
            described,
            [
                ("stored", vec![]),
                ("stored", vec!["/actor/type"]),
                ("refused", vec!["/eventTime"]),
                ("refused", vec![""]),
            ],
            "{:?}",
            job.results
        );
        assert_eq!(world.events.len(), 2);
        let kept = world
            .events
            .get(&EventKey::new(
                "client",
                event(2)["id"].as_str().unwrap_or_default(),
            ))
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(
            kept.problems, job.results[1].problems,
            "stored with its problems"
        );
    }

    #[tokio::test]
    async fn an_array_of_envelopes_is_one_job_in_their_order() {
        let world = World::new();
        let from = |sensor: &str, events: Vec<Value>| {
            let mut envelope = envelope(events);
            envelope["sensor"] = json!(sensor);
            envelope
        };
        let entities_only = from(
            "https://example.edu/e",
            vec![json!({"id": "https://example.edu/u/1", "type": "Person"})],
        );
        let job_id = world
            .submitter()
            .submit(
                "client",
                vec![
                    from("https://example.edu/a", vec![event(3), event(1)]),
                    entities_only,
                    from("https://example.edu/b", vec![event(2)]),
                ]
                .into_iter()
                .map(Envelope::valid)
                .collect(),
            )
            .await
            .expect("submit");
        let parts = world.queue.take();
        let described: Vec<(u32, u32, &str, usize)> = parts
            .iter()
            .map(|m| (m.part, m.parts, m.sensor.as_str(), m.events.len()))
            .collect();
        assert_eq!(
            described,
            [
                (0, 2, "https://example.edu/a", 2),
                (1, 2, "https://example.edu/b", 1)
            ],
            "a part per envelope with events, each with its envelope's sensor"
        );
        for message in &parts {
            world.processor().process(message).await.expect("process");
        }
        let job = world.job(&job_id).await;
        assert_eq!(job.state, JobState::Completed);
        let ids: Vec<String> = job.results.iter().map(|r| r.external_id.clone()).collect();
        let expected: Vec<String> = [event(3), event(1), event(2)]
            .iter()
            .map(|e| e["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(ids, expected);
    }

    #[tokio::test]
    async fn resending_keeps_the_first_allocated_ids_and_stores_once() {
        let world = World::new();
        let first = world.submit(vec![event(1), event(2)]).await;
        world.drain().await;
        let second = world.submit(vec![event(2), event(9), event(1)]).await;
        world.drain().await;
        let a = world.job(&first).await.results;
        let b = world.job(&second).await.results;
        assert_eq!(b[0].allocated_id, a[1].allocated_id);
        assert_eq!(b[2].allocated_id, a[0].allocated_id);
        assert!(b[1].allocated_id > a[1].allocated_id);
        assert_eq!(world.events.len(), 3);
    }

    #[tokio::test]
    async fn another_clients_event_of_the_same_caliper_id_is_an_event_of_its_own() {
        let world = World::new();
        let theirs = world.submit_as("b", vec![event(1)]).await;
        world.drain().await;
        let mine = world.submit_as("a", vec![event(1), event(2)]).await;
        world.drain().await;
        let again = world.submit_as("b", vec![event(2)]).await;
        world.drain().await;
        let (theirs, mine, again) = (
            world.job(&theirs).await.results,
            world.job(&mine).await.results,
            world.job(&again).await.results,
        );
        assert_ne!(mine[0].allocated_id, theirs[0].allocated_id);
        assert_ne!(
            again[0].allocated_id, mine[1].allocated_id,
            "b learns nothing of a's event 2"
        );
        assert_eq!(world.events.len(), 4);
        let key = EventKey::new("a", event(1)["id"].as_str().unwrap_or_default());
        let stored = world
            .events
            .get(&key)
            .await
            .expect("get")
            .expect("a's event");
        assert_eq!(
            (stored.id, stored.client_app_id.as_str()),
            (mine[0].allocated_id, "a")
        );
    }

    #[tokio::test]
    async fn a_redelivered_message_changes_nothing() {
        let world = World::new();
        let job_id = world.submit(vec![event(1), event(1), event(2)]).await;
        let messages = world.queue.take();
        for message in messages.iter().chain(messages.iter()) {
            world.processor().process(message).await.ok();
        }
        let job = world.job(&job_id).await.results;
        let allocated: Vec<u64> = job.iter().map(|r| r.allocated_id).collect();
        assert_eq!(
            allocated,
            vec![1, 1, 2],
            "a repeated id within an envelope shares its allocation"
        );
        assert_eq!(world.events.len(), 2);
    }

    #[tokio::test]
    async fn an_event_the_store_refuses_is_reported_and_the_others_are_stored_and_announced() {
        let world = World::new();
        let deliveries = Arc::new(crate::memory::MemoryDeliveries::default());
        let mut refused = event(2);
        refused["action"] = json!(crate::memory::REFUSED_ACTION);
        let job_id = world.submit(vec![event(1), refused, event(3)]).await;
        let message = world.queue.take().pop().expect("one message");
        let processor = world.processor().notifying(deliveries.clone());
        assert_eq!(
            processor
                .consume(&message.to_json().expect("json"), 1, 3)
                .await,
            Verdict::Done,
            "a refusal is not a failure of the part"
        );
        let job = world.job(&job_id).await;
        assert_eq!(job.state, JobState::Completed);
        let statuses: Vec<&str> = job.results.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(statuses, ["stored", "refused", "stored"]);
        assert_eq!(
            job.results[1].status,
            ResultStatus::Refused {
                reason: "too large for an item".into()
            }
        );
        assert_eq!(
            (job.results[0].allocated_id, job.results[1].allocated_id),
            (1, 0)
        );
        assert_eq!(world.events.len(), 2);
        let announced: usize = deliveries
            .take()
            .iter()
            .map(|m| match m {
                DeliveryMessage::Stored { events, .. } => events.len(),
                other => panic!("{other:?}"),
            })
            .sum();
        assert_eq!(announced, 2, "only stored events are announced");
    }

    #[tokio::test]
    async fn a_message_delivered_again_after_an_erasure_brings_nothing_back() {
        let world = World::new();
        world.submit(vec![event(1), event(2)]).await;
        let message = world.queue.take().pop().expect("one message");
        let processor = world.processor();
        processor.process(&message).await.expect("stored");
        let erased = EventKey::new("client", event(1)["id"].as_str().unwrap_or_default());
        assert_eq!(
            world
                .events
                .delete(std::slice::from_ref(&erased))
                .await
                .ok(),
            Some(1)
        );

        // The same message again, as a retry or a replay would hand it over.
        assert_eq!(
            processor
                .consume(&message.to_json().expect("json"), 2, 3)
                .await,
            Verdict::Done
        );
        assert_eq!(world.events.get(&erased).await.ok(), Some(None));
        assert_eq!(world.events.len(), 1);
        let replay = world.submit(vec![event(1)]).await;
        world.drain().await;
        let result = &world.job(&replay).await.results[0];
        assert_eq!(
            (result.status.clone(), result.allocated_id),
            (ResultStatus::Erased, 0)
        );
    }

    #[tokio::test]
    async fn a_split_job_completes_when_every_part_is_done() {
        let world = World::new();
        let events: Vec<Value> = (0..20).map(event).collect();
        let job_id = world
            .submitter()
            .with_max_message_bytes(1200)
            .submit("client", vec![Envelope::valid(envelope(events))])
            .await
            .ok()
            .unwrap_or_default();
        let mut messages = world.queue.take();
        assert!(messages.len() > 2, "{} messages", messages.len());
        messages.reverse(); // parts may finish in any order
        let last = messages.pop();
        for message in &messages {
            assert_eq!(
                world.processor().process(message).await.ok(),
                Some(JobState::Active)
            );
        }
        if let Some(message) = last {
            assert_eq!(
                world.processor().process(&message).await.ok(),
                Some(JobState::Completed)
            );
        }
        let job = world.job(&job_id).await.results;
        let expected: Vec<String> = (0..20)
            .map(|n| event(n)["id"].as_str().unwrap_or("").to_owned())
            .collect();
        assert_eq!(
            job.iter()
                .map(|r| r.external_id.clone())
                .collect::<Vec<_>>(),
            expected
        );
    }

    #[tokio::test]
    async fn a_queue_failure_fails_the_job_and_the_submission() {
        let world = World::new();
        world.queue.fail_next();
        let result = world
            .submitter()
            .submit("client", vec![Envelope::valid(envelope(vec![event(1)]))])
            .await;
        assert!(matches!(result, Err(SubmitError::Enqueue(_))));
        let jobs = world.jobs.all();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].state, JobState::Failed);
        assert!(jobs[0]
            .failed_reason
            .as_deref()
            .unwrap_or("")
            .contains("queued"));
    }

    #[tokio::test]
    async fn giving_up_fails_the_job_with_a_reason() {
        let world = World::new();
        world
            .jobs
            .create(&NewJob {
                id: "j".into(),
                kind: crate::model::JobKind::Submission,
                client_app_id: "c".into(),
                parts: 1,
                created_at: Utc::now(),
            })
            .await
            .ok();
        let message = JobMessage {
            job_id: "j".into(),
            client_app_id: "c".into(),
            part: 0,
            parts: 1,
            sensor: "s".into(),
            send_time: "t".into(),
            data_version: "v".into(),
            events: vec![],
            problems: vec![],
            accepted_at: None,
            source: None,
        };
        world
            .processor()
            .give_up(&message, &StoreError::new("disk on fire"))
            .await;
        let job = world.jobs.get("j").await.ok().flatten();
        assert_eq!(job.as_ref().map(|j| j.state), Some(JobState::Failed));
        assert!(job
            .and_then(|j| j.failed_reason)
            .unwrap_or_default()
            .contains("disk on fire"));
    }

    #[tokio::test]
    async fn a_delivery_says_what_the_queue_should_do() {
        let world = World::new();
        let processor = world.processor();
        assert_eq!(processor.consume("not json", 1, 3).await, Verdict::Retry);
        assert_eq!(
            processor.consume("not json", 3, 3).await,
            Verdict::DeadLetter
        );

        world.submit(vec![event(1)]).await;
        let message = world.queue.take().pop().expect("one message");
        assert_eq!(
            processor
                .consume(&message.to_json().expect("json"), 1, 3)
                .await,
            Verdict::Done
        );

        let orphan = JobMessage {
            job_id: "never-recorded".into(),
            ..message
        };
        assert_eq!(
            processor
                .consume(&orphan.to_json().expect("json"), 2, 3)
                .await,
            Verdict::Retry
        );
        assert_eq!(
            processor
                .consume(&orphan.to_json().expect("json"), 3, 3)
                .await,
            Verdict::DeadLetter
        );
    }

    #[tokio::test]
    async fn stored_events_are_announced_to_the_webhooks_once_and_again_after_a_redelivery() {
        let world = World::new();
        let deliveries = Arc::new(crate::memory::MemoryDeliveries::default());
        let processor = world.processor().notifying(deliveries.clone());
        let announced = || -> Vec<String> {
            deliveries
                .take()
                .into_iter()
                .flat_map(|m| match m {
                    DeliveryMessage::Stored { events, .. } => events,
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        let ids = |ns: &[u32]| -> Vec<String> {
            ns.iter()
                .map(|n| event(*n)["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        };

        world.submit(vec![event(1), event(2)]).await;
        let first = world.queue.take().pop().expect("one message");
        assert_eq!(
            processor
                .consume(&first.to_json().expect("json"), 1, 3)
                .await,
            Verdict::Done
        );
        assert_eq!(announced(), ids(&[1, 2]));

        // Another job resends event 2 with a new one: only the new one is news.
        world.submit(vec![event(2), event(3)]).await;
        let second = world.queue.take().pop().expect("one message");
        assert_eq!(
            processor
                .consume(&second.to_json().expect("json"), 1, 3)
                .await,
            Verdict::Done
        );
        assert_eq!(announced(), ids(&[3]));

        // A redelivery may follow a crash between storing and announcing: everything is announced.
        assert_eq!(
            processor
                .consume(&second.to_json().expect("json"), 2, 3)
                .await,
            Verdict::Done
        );
        let mut again = announced();
        again.sort();
        assert_eq!(again, ids(&[2, 3]));
    }
}

//! Accepting a validated body (an envelope, or an array of them): record one job, then enqueue its parts.

use std::sync::Arc;

use caliper_validation::Findings;
use chrono::Utc;
use serde_json::Value;

use crate::message::{split_into_parts, JobMessage, MAX_MESSAGE_BYTES};
use crate::model::{JobKind, NewJob};
use crate::ports::{JobStore, Queue, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("could not record the job: {0}")]
    Record(StoreError),
    #[error("could not enqueue the job: {0}")]
    Enqueue(StoreError),
}

/// An envelope to accept: one without problems, or (under the `flag` policy) one with what
/// Caliper's model found wrong with it, which its events are stored with.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub body: Value,
    pub findings: Option<Findings>,
}

impl Envelope {
    /// One that passed validation (the `strict` policy).
    pub fn valid(body: Value) -> Self {
        Self {
            body,
            findings: None,
        }
    }
}

#[derive(Clone)]
pub struct Submitter {
    jobs: Arc<dyn JobStore>,
    queue: Arc<dyn Queue<JobMessage>>,
    max_message_bytes: usize,
}

impl Submitter {
    pub fn new(jobs: Arc<dyn JobStore>, queue: Arc<dyn Queue<JobMessage>>) -> Self {
        Self {
            jobs,
            queue,
            max_message_bytes: MAX_MESSAGE_BYTES,
        }
    }

    /// Smaller messages, for tests that exercise splitting without megabytes of data.
    pub fn with_max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// Takes the envelopes of a body that passed validation and returns its job id once the job
    /// is recorded and every part is on the queue: from then on the events are durable. The job's
    /// parts follow the envelopes' order (a part never mixes two envelopes, which may name other
    /// sensors and versions), so its results are in the order of the events across them.
    /// Entities in `data` give context only and are not stored as events.
    pub async fn submit(
        &self,
        client_app_id: &str,
        envelopes: Vec<Envelope>,
    ) -> Result<String, SubmitError> {
        self.submit_from(client_app_id, None, envelopes).await
    }

    /// The same for events that came another way than a submission to the API (`source`, as
    /// `connector:<id>`, is what their items set aside in quarantine say).
    pub async fn submit_from(
        &self,
        client_app_id: &str,
        source: Option<&str>,
        envelopes: Vec<Envelope>,
    ) -> Result<String, SubmitError> {
        let job_id = uuid::Uuid::new_v4().to_string();
        let mut messages: Vec<JobMessage> = envelopes
            .into_iter()
            .flat_map(|envelope| self.parts_of(&job_id, client_app_id, envelope))
            .collect();
        // Envelopes of entities alone make no parts of their own, but a job has at least one.
        let any_events = messages.iter().any(|m| !m.events.is_empty());
        if any_events {
            messages.retain(|m| !m.events.is_empty());
        } else {
            messages.truncate(1);
        }
        let accepted_at = Utc::now();
        let parts = messages.len() as u32;
        for (part, message) in messages.iter_mut().enumerate() {
            message.part = part as u32;
            message.parts = parts;
            message.accepted_at = Some(accepted_at.timestamp_millis());
            message.source = source.map(str::to_owned);
        }

        let events_count: usize = messages.iter().map(|m| m.events.len()).sum();
        let job = NewJob {
            id: job_id.clone(),
            kind: JobKind::Submission,
            client_app_id: client_app_id.to_owned(),
            parts,
            created_at: accepted_at,
        };
        self.jobs.create(&job).await.map_err(SubmitError::Record)?;
        if let Err(error) = self.queue.send(&messages).await {
            // The client is told the submission failed; the job must never look like a success.
            let reason = format!("the job could not be queued for processing: {error}");
            if let Err(mark) = self.jobs.mark_failed(&job_id, &reason, Utc::now()).await {
                tracing::error!(job_id, %mark, "could not mark an unqueued job as failed");
            }
            return Err(SubmitError::Enqueue(error));
        }
        tracing::info!(
            job_id,
            parts = job.parts,
            events = events_count,
            "job accepted"
        );
        Ok(job_id)
    }

    /// One envelope's events in parts of at most the message size, numbered within it. Under the
    /// `flag` policy, an item that is no object is kept as an event too, so that its job says it
    /// could not be stored; every event carries its problems and its envelope's.
    fn parts_of(&self, job_id: &str, client_app_id: &str, envelope: Envelope) -> Vec<JobMessage> {
        let Envelope { body, findings } = envelope;
        let text = |key: &str| {
            body.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (sensor, send_time, data_version) =
            (text("sensor"), text("sendTime"), text("dataVersion"));
        let items: Vec<Value> = match body {
            Value::Object(mut fields) => match fields.remove("data") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        let (mut events, mut problems) = (Vec::new(), Vec::new());
        for (index, item) in items.into_iter().enumerate() {
            let flagged = findings.as_ref();
            if !caliper_validation::is_event(&item) && (flagged.is_none() || item.is_object()) {
                continue;
            }
            if let Some(findings) = flagged {
                let mut found = findings.envelope.clone();
                found.extend(findings.items.get(index).cloned().unwrap_or_default());
                problems.push(found);
            }
            events.push(item);
        }
        split_into_parts(
            job_id,
            client_app_id,
            &sensor,
            &send_time,
            &data_version,
            events,
            problems,
            self.max_message_bytes,
        )
    }
}

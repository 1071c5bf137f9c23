//! In-memory fakes of the ports, for the domain's unit tests only.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::message::JobMessage;
use crate::model::{EventResult, Job, JobState, NewJob, StoredEvent};
use crate::ports::{EventStore, InsertOutcome, JobStore, Queue, StoreError};

/// A job and the results of its finished parts, by part number.
type JobEntry = (Job, BTreeMap<u32, Vec<EventResult>>);

#[derive(Default)]
pub struct MemoryJobs(Mutex<HashMap<String, JobEntry>>);

impl MemoryJobs {
    pub fn all(&self) -> Vec<Job> {
        self.0
            .lock()
            .map(|m| m.values().map(|(j, _)| j.clone()).collect())
            .unwrap_or_default()
    }
}

#[async_trait]
impl JobStore for MemoryJobs {
    async fn create(&self, job: &NewJob) -> Result<(), StoreError> {
        let record = Job {
            id: job.id.clone(),
            client_app_id: job.client_app_id.clone(),
            state: JobState::Waiting,
            parts: job.parts,
            results: vec![],
            created_at: job.created_at,
            processed_on: None,
            failed_reason: None,
        };
        self.0
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?
            .insert(job.id.clone(), (record, BTreeMap::new()));
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let map = self.0.lock().map_err(|_| StoreError::new("poisoned"))?;
        Ok(map.get(id).map(|(job, parts)| Job {
            results: parts.values().flatten().cloned().collect(),
            ..job.clone()
        }))
    }

    async fn mark_active(&self, id: &str) -> Result<(), StoreError> {
        let mut map = self.0.lock().map_err(|_| StoreError::new("poisoned"))?;
        if let Some((job, _)) = map.get_mut(id) {
            if job.state == JobState::Waiting {
                job.state = JobState::Active;
            }
        }
        Ok(())
    }

    async fn complete_part(
        &self,
        id: &str,
        part: u32,
        results: &[EventResult],
        now: DateTime<Utc>,
    ) -> Result<JobState, StoreError> {
        let mut map = self.0.lock().map_err(|_| StoreError::new("poisoned"))?;
        let (job, parts) = map
            .get_mut(id)
            .ok_or_else(|| StoreError::new("no such job"))?;
        parts.entry(part).or_insert_with(|| results.to_vec());
        if parts.len() as u32 == job.parts && !job.state.is_finished() {
            job.state = JobState::Completed;
            job.processed_on = Some(now);
        }
        Ok(job.state)
    }

    async fn mark_failed(
        &self,
        id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut map = self.0.lock().map_err(|_| StoreError::new("poisoned"))?;
        if let Some((job, _)) = map.get_mut(id) {
            if job.state != JobState::Completed {
                job.state = JobState::Failed;
                job.failed_reason = Some(reason.to_owned());
                job.processed_on = Some(now);
            }
        }
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryEvents {
    events: Mutex<HashMap<String, StoredEvent>>,
    counter: Mutex<u64>,
}

impl MemoryEvents {
    pub fn len(&self) -> usize {
        self.events.lock().map(|m| m.len()).unwrap_or_default()
    }
}

#[async_trait]
impl EventStore for MemoryEvents {
    async fn allocate_ids(&self, count: u64) -> Result<u64, StoreError> {
        let mut counter = self
            .counter
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?;
        let first = *counter + 1;
        *counter += count;
        Ok(first)
    }

    async fn find_ids(&self, external_ids: &[String]) -> Result<HashMap<String, u64>, StoreError> {
        let map = self
            .events
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?;
        Ok(external_ids
            .iter()
            .filter_map(|id| map.get(id).map(|e| (id.clone(), e.id)))
            .collect())
    }

    async fn insert_new(&self, events: &[StoredEvent]) -> Result<Vec<InsertOutcome>, StoreError> {
        let mut map = self
            .events
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?;
        Ok(events
            .iter()
            .map(|event| match map.get(&event.external_id) {
                Some(existing) => InsertOutcome::Exists(existing.id),
                None => {
                    map.insert(event.external_id.clone(), event.clone());
                    InsertOutcome::Inserted
                }
            })
            .collect())
    }

    async fn get(&self, external_id: &str) -> Result<Option<StoredEvent>, StoreError> {
        Ok(self
            .events
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?
            .get(external_id)
            .cloned())
    }
}

#[derive(Default)]
pub struct MemoryQueue {
    messages: Mutex<Vec<JobMessage>>,
    fail_next: Mutex<bool>,
}

impl MemoryQueue {
    pub fn take(&self) -> Vec<JobMessage> {
        self.messages
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }

    pub fn fail_next(&self) {
        if let Ok(mut f) = self.fail_next.lock() {
            *f = true;
        }
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn send(&self, messages: &[JobMessage]) -> Result<(), StoreError> {
        let mut fail = self
            .fail_next
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?;
        if std::mem::take(&mut *fail) {
            return Err(StoreError::retryable("the queue is unavailable"));
        }
        self.messages
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?
            .extend_from_slice(messages);
        Ok(())
    }
}

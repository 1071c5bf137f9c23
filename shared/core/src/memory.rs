//! In-memory fakes of the ports, for the domain's unit tests only.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::message::JobMessage;
use crate::model::{EventKey, EventResult, Job, JobState, NewJob, StoredEvent};
use crate::ports::{
    EventStore, InsertOutcome, JobStore, Queue, RecordKind, RecordStore, StoreError, WebhookSender,
};
use crate::record::JobRecord;
use crate::webhooks::DeliveryMessage;

#[derive(Default)]
pub struct MemoryJobs(Mutex<HashMap<String, JobRecord>>);

impl MemoryJobs {
    pub fn all(&self) -> Vec<Job> {
        self.0
            .lock()
            .map(|m| m.values().map(JobRecord::to_job).collect())
            .unwrap_or_default()
    }

    fn update<T>(
        &self,
        id: &str,
        change: impl FnOnce(&mut JobRecord) -> T,
    ) -> Result<Option<T>, StoreError> {
        let mut map = self.0.lock().map_err(|_| StoreError::new("poisoned"))?;
        Ok(map.get_mut(id).map(change))
    }
}

#[async_trait]
impl JobStore for MemoryJobs {
    async fn create(&self, job: &NewJob) -> Result<(), StoreError> {
        self.0
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?
            .insert(job.id.clone(), JobRecord::new(job));
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        Ok(self
            .0
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?
            .get(id)
            .map(JobRecord::to_job))
    }

    async fn mark_active(&self, id: &str) -> Result<(), StoreError> {
        self.update(id, JobRecord::activate).map(|_| ())
    }

    async fn complete_part(
        &self,
        id: &str,
        part: u32,
        _parts: u32,
        results: &[EventResult],
        now: DateTime<Utc>,
    ) -> Result<JobState, StoreError> {
        self.update(id, |job| job.record_part(part, results, now))?
            .ok_or_else(|| StoreError::new("no such job"))
    }

    async fn save_checkpoint(
        &self,
        id: &str,
        checkpoint: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.update(id, |job| job.save_checkpoint(checkpoint))
            .map(|_| ())
    }

    async fn complete(
        &self,
        id: &str,
        outcome: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<JobState, StoreError> {
        self.update(id, |job| job.complete(outcome, now))?
            .ok_or_else(|| StoreError::new("no such job"))
    }

    async fn mark_failed(
        &self,
        id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update(id, |job| job.fail(reason, now)).map(|_| ())
    }
}

#[derive(Default)]
pub struct MemoryEvents {
    events: Mutex<BTreeMap<EventKey, StoredEvent>>,
    counter: Mutex<u64>,
    erased: Mutex<std::collections::BTreeSet<EventKey>>,
}

/// The fake store refuses an event of this action, as a store refuses one it cannot keep.
pub const REFUSED_ACTION: &str = "Refused";

impl MemoryEvents {
    pub fn len(&self) -> usize {
        self.events.lock().map(|m| m.len()).unwrap_or_default()
    }

    fn events(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, BTreeMap<EventKey, StoredEvent>>, StoreError> {
        self.events.lock().map_err(|_| StoreError::new("poisoned"))
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

    async fn find_ids(
        &self,
        client_app_id: &str,
        external_ids: &[String],
    ) -> Result<HashMap<String, u64>, StoreError> {
        let map = self.events()?;
        Ok(external_ids
            .iter()
            .filter_map(|id| {
                let event = map.get(&EventKey::new(client_app_id, id))?;
                Some((id.clone(), event.id))
            })
            .collect())
    }

    async fn insert_new(&self, events: &[StoredEvent]) -> Result<Vec<InsertOutcome>, StoreError> {
        let mut map = self.events()?;
        let erased = self
            .erased
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?;
        Ok(events
            .iter()
            .map(|event| match map.get(&event.key()) {
                Some(existing) => InsertOutcome::Exists(existing.id),
                None if erased.contains(&event.key()) => InsertOutcome::Erased,
                None if event.action == REFUSED_ACTION => {
                    InsertOutcome::Refused("too large for an item".into())
                }
                None => {
                    map.insert(event.key(), event.clone());
                    InsertOutcome::Inserted
                }
            })
            .collect())
    }

    async fn purge(&self, keys: &[EventKey]) -> Result<u64, StoreError> {
        let mut map = self.events()?;
        Ok(keys.iter().filter(|key| map.remove(key).is_some()).count() as u64)
    }

    async fn delete(&self, keys: &[EventKey]) -> Result<u64, StoreError> {
        let mut map = self.events()?;
        let mut erased = self
            .erased
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?;
        let mut deleted = 0;
        for key in keys {
            deleted += u64::from(map.remove(key).is_some());
            erased.insert(key.clone());
        }
        Ok(deleted)
    }

    async fn get(&self, key: &EventKey) -> Result<Option<StoredEvent>, StoreError> {
        Ok(self.events()?.get(key).cloned())
    }

    async fn holders(&self, external_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .events()?
            .keys()
            .filter(|k| k.external_id == external_id)
            .map(|k| k.client_app_id.clone())
            .collect())
    }

    async fn get_many(
        &self,
        keys: &[EventKey],
    ) -> Result<HashMap<EventKey, StoredEvent>, StoreError> {
        let events = self.events()?;
        Ok(keys
            .iter()
            .filter_map(|key| Some((key.clone(), events.get(key)?.clone())))
            .collect())
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
impl Queue<JobMessage> for MemoryQueue {
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

#[derive(Default)]
pub struct MemoryRecords(Mutex<HashMap<(&'static str, String), String>>);

#[async_trait]
impl RecordStore for MemoryRecords {
    async fn put(&self, kind: RecordKind, id: &str, document: &str) -> Result<(), StoreError> {
        self.0
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?
            .insert((kind.as_str(), id.to_owned()), document.to_owned());
        Ok(())
    }

    async fn get(&self, kind: RecordKind, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .0
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?
            .get(&(kind.as_str(), id.to_owned()))
            .cloned())
    }

    async fn list(&self, kind: RecordKind) -> Result<Vec<String>, StoreError> {
        Ok(self
            .0
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?
            .iter()
            .filter(|((k, _), _)| *k == kind.as_str())
            .map(|(_, document)| document.clone())
            .collect())
    }
}

#[derive(Default)]
pub struct MemoryDeliveries(Mutex<Vec<DeliveryMessage>>);

impl MemoryDeliveries {
    pub fn take(&self) -> Vec<DeliveryMessage> {
        self.0
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }
}

#[async_trait]
impl Queue<DeliveryMessage> for MemoryDeliveries {
    async fn send(&self, messages: &[DeliveryMessage]) -> Result<(), StoreError> {
        self.0
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?
            .extend_from_slice(messages);
        Ok(())
    }
}

/// One recorded POST: target, headers, body.
pub type Post = (String, Vec<(&'static str, String)>, String);

/// Records every POST and answers with the next of `answers` (then 200).
#[derive(Default)]
pub struct RecordingSender {
    pub answers: Mutex<Vec<Result<u16, String>>>,
    pub posts: Mutex<Vec<Post>>,
}

#[async_trait]
impl WebhookSender for RecordingSender {
    async fn post(
        &self,
        target_url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<u16, String> {
        if let Ok(mut posts) = self.posts.lock() {
            posts.push((target_url.to_owned(), headers.to_vec(), body.to_owned()));
        }
        let mut answers = self.answers.lock().map_err(|_| "poisoned".to_owned())?;
        if answers.is_empty() {
            Ok(200)
        } else {
            answers.remove(0)
        }
    }
}

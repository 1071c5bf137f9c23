//! The job and event stores on the embedded database. Each write is one piece of work of the
//! writer ([`crate::writer`]), whose transactions are serialised: that alone makes allocation
//! atomic and inserts conditional.

use std::collections::HashMap;

use async_trait::async_trait;
use caliper_core::{
    EventKey, EventResult, EventStore, InsertOutcome, Job, JobRecord, JobState, JobStore, NewJob,
    StoreError, StoredEvent,
};
use chrono::{DateTime, Utc};
use fjall::Readable;

pub(crate) use crate::codec::{decode, encode};
use crate::db::{fail, Embedded, Spaces, Txn, View};
use crate::listing::Entries;
use crate::tuple::{u64_value, Key, Parts};

const EVENT_COUNTER: &str = "event_id";

/// What `event_keys` holds under a deleted event's key: its tombstone. No event is allocated this
/// id (ids start at 1 and stop short of it).
const ERASED: u64 = u64::MAX;

/// The key of an event in `event_keys`.
pub(crate) fn event_key(external_id: &str, client: &str) -> Key {
    Key::new().str(external_id).str(client)
}

fn key_of(key: &EventKey) -> Key {
    event_key(&key.external_id, &key.client_app_id)
}

/// The key of an event in `stored_events`.
pub(crate) fn event_id(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

/// The allocated id under an event's key (or its tombstone), if any.
fn allocated(read: &impl Readable, spaces: &Spaces, key: &Key) -> Result<Option<u64>, StoreError> {
    read.get(&spaces.event_keys, key)
        .map_err(fail)?
        .map(|bytes| u64_value(&bytes))
        .transpose()
}

/// The stored event of `key`, if any.
fn read_event(view: &View, key: &EventKey) -> Result<Option<StoredEvent>, StoreError> {
    let Some(id) = allocated(&view.snapshot, view.spaces, &key_of(key))?.filter(|id| *id != ERASED)
    else {
        return Ok(None);
    };
    let event = view
        .get(&view.spaces.events, event_id(id))?
        .ok_or_else(|| StoreError::new(format!("event {id} is keyed but not stored")))?;
    decode(&event).map(Some)
}

impl Embedded {
    /// Reads, changes and writes back one job in a single transaction; a change that changes
    /// nothing (a part delivered again, a job already active) writes nothing.
    async fn update_job<T: Send + 'static>(
        &self,
        id: &str,
        change: impl FnMut(&mut JobRecord) -> T + Send + 'static,
    ) -> Result<Option<T>, StoreError> {
        let id = id.to_owned();
        let mut change = change;
        self.write(move |txn: &mut Txn| {
            let jobs = &txn.spaces.jobs;
            let record = txn
                .get(jobs, &id)?
                .map(|bytes| decode::<JobRecord>(&bytes))
                .transpose()?;
            let Some(mut record) = record else {
                return Ok(None);
            };
            let before = record.clone();
            let outcome = change(&mut record);
            if record != before {
                txn.insert(jobs, id.as_str(), encode(&record)?);
            }
            Ok(Some(outcome))
        })
        .await
    }
}

#[async_trait]
impl JobStore for Embedded {
    async fn create(&self, job: &NewJob) -> Result<(), StoreError> {
        let bytes = encode(&JobRecord::new(job))?;
        let id = job.id.clone();
        self.write(move |txn: &mut Txn| {
            let jobs = &txn.spaces.jobs;
            txn.insert(jobs, id.as_str(), bytes.as_slice());
            Ok(())
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let id = id.to_owned();
        self.blocking(move |view| {
            let record = view
                .get(&view.spaces.jobs, &id)?
                .map(|bytes| decode::<JobRecord>(&bytes))
                .transpose()?;
            Ok(record.as_ref().map(JobRecord::to_job))
        })
        .await
    }

    async fn mark_active(&self, id: &str) -> Result<(), StoreError> {
        self.update_job(id, JobRecord::activate).await?;
        Ok(())
    }

    async fn complete_part(
        &self,
        id: &str,
        part: u32,
        _parts: u32,
        results: &[EventResult],
        now: DateTime<Utc>,
    ) -> Result<JobState, StoreError> {
        let results = results.to_vec();
        let state = self
            .update_job(id, move |job| job.record_part(part, &results, now))
            .await?;
        state.ok_or_else(|| StoreError::new(format!("job {id} does not exist")))
    }

    async fn save_checkpoint(
        &self,
        id: &str,
        checkpoint: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let checkpoint = checkpoint.clone();
        self.update_job(id, move |job| job.save_checkpoint(&checkpoint))
            .await?;
        Ok(())
    }

    async fn complete(
        &self,
        id: &str,
        outcome: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<JobState, StoreError> {
        let outcome = outcome.clone();
        let state = self
            .update_job(id, move |job| job.complete(&outcome, now))
            .await?;
        state.ok_or_else(|| StoreError::new(format!("job {id} does not exist")))
    }

    async fn mark_failed(
        &self,
        id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let reason = reason.to_owned();
        self.update_job(id, move |job| job.fail(&reason, now))
            .await?;
        Ok(())
    }
}

#[async_trait]
impl EventStore for Embedded {
    async fn allocate_ids(&self, count: u64) -> Result<u64, StoreError> {
        self.write(move |txn: &mut Txn| {
            let last = txn.counter(EVENT_COUNTER)?;
            txn.set_counter(EVENT_COUNTER, last + count);
            Ok(last + 1)
        })
        .await
    }

    async fn find_ids(
        &self,
        client_app_id: &str,
        external_ids: &[String],
    ) -> Result<HashMap<String, u64>, StoreError> {
        let (client, ids) = (client_app_id.to_owned(), external_ids.to_vec());
        self.blocking(move |view| {
            let mut found = HashMap::new();
            for id in ids {
                let key = event_key(&id, &client);
                if let Some(number) = allocated(&view.snapshot, view.spaces, &key)? {
                    if number != ERASED {
                        found.insert(id, number);
                    }
                }
            }
            Ok(found)
        })
        .await
    }

    async fn insert_new(&self, events: &[StoredEvent]) -> Result<Vec<InsertOutcome>, StoreError> {
        // Compressed and keyed here, on the caller's thread, so that the writer only writes. An
        // event that cannot be encoded is refused alone.
        let rows: Vec<Result<_, String>> = events
            .iter()
            .map(|event| {
                let key = event_key(&event.external_id, &event.client_app_id);
                encode(event)
                    .map(|bytes| (key, bytes, Entries::of(event), event.expires_at))
                    .map_err(|e| format!("the event cannot be stored as it is: {e}"))
            })
            .collect();
        self.write(move |txn: &mut Txn| {
            let spaces = txn.spaces;
            let mut outcomes = Vec::with_capacity(rows.len());
            for row in &rows {
                let (key, bytes, entries, expires_at) = match row {
                    Ok(row) => row,
                    Err(why) => {
                        outcomes.push(InsertOutcome::Refused(why.clone()));
                        continue;
                    }
                };
                match allocated(&txn.tx, spaces, key)? {
                    Some(ERASED) => outcomes.push(InsertOutcome::Erased),
                    Some(id) => outcomes.push(InsertOutcome::Exists(id)),
                    None => {
                        let id = entries.id();
                        txn.insert(&spaces.event_keys, key.clone(), id.to_be_bytes());
                        txn.insert(&spaces.events, event_id(id), bytes.as_slice());
                        entries.insert(txn);
                        if let Some(at) = expires_at {
                            txn.insert(&spaces.expiry, crate::sweep::expiry_key(*at, id), []);
                        }
                        outcomes.push(InsertOutcome::Inserted);
                    }
                }
            }
            Ok(outcomes)
        })
        .await
    }

    async fn delete(&self, keys: &[EventKey]) -> Result<u64, StoreError> {
        let keys: Vec<Key> = keys.iter().map(key_of).collect();
        self.write(move |txn: &mut Txn| {
            let spaces = txn.spaces;
            let mut deleted = 0;
            for key in &keys {
                let id = allocated(&txn.tx, spaces, key)?;
                if let Some(id) = id.filter(|id| *id != ERASED) {
                    if let Some(bytes) = txn.get(&spaces.events, event_id(id))? {
                        txn.remove(&spaces.events, event_id(id));
                        let event: StoredEvent = decode(&bytes)?;
                        Entries::of(&event).remove(txn);
                        deleted += 1;
                    }
                }
                txn.insert(&spaces.event_keys, key.clone(), ERASED.to_be_bytes());
            }
            Ok(deleted)
        })
        .await
    }

    async fn purge(&self, keys: &[EventKey]) -> Result<u64, StoreError> {
        let keys: Vec<Key> = keys.iter().map(key_of).collect();
        self.write(move |txn: &mut Txn| {
            let mut purged = 0;
            for key in &keys {
                let id = allocated(&txn.tx, txn.spaces, key)?;
                if let Some(id) = id.filter(|id| *id != ERASED) {
                    purged += u64::from(crate::sweep::remove_event(txn, id)?);
                }
            }
            Ok(purged)
        })
        .await
    }

    async fn get(&self, key: &EventKey) -> Result<Option<StoredEvent>, StoreError> {
        let key = key.clone();
        self.blocking(move |view| read_event(view, &key)).await
    }

    async fn holders(&self, external_id: &str) -> Result<Vec<String>, StoreError> {
        let id = external_id.to_owned();
        self.blocking(move |view| {
            // Every key of the id begins with it: one prefix holds every client's.
            let prefix = Key::new().str(&id);
            let mut clients = Vec::new();
            for entry in view.snapshot.prefix(&view.spaces.event_keys, &prefix) {
                let (key, number) = entry.into_inner().map_err(fail)?;
                if u64_value(&number)? == ERASED {
                    continue;
                }
                let mut parts = Parts::of(&key);
                parts.str()?;
                clients.push(parts.str()?);
            }
            Ok(clients)
        })
        .await
    }

    async fn get_many(
        &self,
        keys: &[EventKey],
    ) -> Result<HashMap<EventKey, StoredEvent>, StoreError> {
        let keys = keys.to_vec();
        self.blocking(move |view| {
            let mut found = HashMap::with_capacity(keys.len());
            for key in keys {
                if let Some(event) = read_event(view, &key)? {
                    found.insert(key, event);
                }
            }
            Ok(found)
        })
        .await
    }
}

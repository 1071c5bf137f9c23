//! The job and event stores on redb. Each write is one piece of work of the writer
//! ([`crate::writer`]), whose transactions redb serialises: that alone makes allocation atomic and
//! inserts conditional.

use std::collections::HashMap;

use async_trait::async_trait;
use caliper_core::{
    EventKey, EventResult, EventStore, InsertOutcome, Job, JobRecord, JobState, JobStore, NewJob,
    StoreError, StoredEvent,
};
use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableDatabase, ReadableTable};

pub(crate) use crate::codec::{decode, encode};
use crate::db::{fail, Embedded, COUNTERS, EVENTS, EVENT_KEYS, EXPIRY, JOBS, LISTING};
use crate::listing::Entries;

const EVENT_COUNTER: &str = "event_id";

/// What `EVENT_KEYS` holds under a deleted event's key: its tombstone. No event is allocated this
/// id (ids start at 1 and stop short of it).
const ERASED: u64 = u64::MAX;

/// The table key of an event.
fn key_of(key: &EventKey) -> (&str, &str) {
    (key.external_id.as_str(), key.client_app_id.as_str())
}

/// The stored event of `key`, if any.
fn read_event(txn: &ReadTransaction, key: &EventKey) -> Result<Option<StoredEvent>, StoreError> {
    let keys = txn.open_table(EVENT_KEYS).map_err(fail)?;
    let Some(id) = keys
        .get(key_of(key))
        .map_err(fail)?
        .map(|g| g.value())
        .filter(|id| *id != ERASED)
    else {
        return Ok(None);
    };
    let events = txn.open_table(EVENTS).map_err(fail)?;
    let event = events
        .get(id)
        .map_err(fail)?
        .ok_or_else(|| StoreError::new(format!("event {id} is keyed but not stored")))?;
    decode(event.value()).map(Some)
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
        self.write(move |txn| {
            let mut table = txn.open_table(JOBS).map_err(fail)?;
            let record = table
                .get(id.as_str())
                .map_err(fail)?
                .map(|g| decode::<JobRecord>(g.value()))
                .transpose()?;
            let Some(mut record) = record else {
                return Ok(None);
            };
            let before = record.clone();
            let outcome = change(&mut record);
            if record != before {
                table
                    .insert(id.as_str(), encode(&record)?.as_slice())
                    .map_err(fail)?;
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
        self.write(move |txn| {
            txn.open_table(JOBS)
                .map_err(fail)?
                .insert(id.as_str(), bytes.as_slice())
                .map_err(fail)?;
            Ok(())
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let id = id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let table = txn.open_table(JOBS).map_err(fail)?;
            let record = table
                .get(id.as_str())
                .map_err(fail)?
                .map(|g| decode::<JobRecord>(g.value()))
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
        self.write(move |txn| {
            let mut table = txn.open_table(COUNTERS).map_err(fail)?;
            let last = table
                .get(EVENT_COUNTER)
                .map_err(fail)?
                .map(|g| g.value())
                .unwrap_or(0);
            table.insert(EVENT_COUNTER, last + count).map_err(fail)?;
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
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let keys = txn.open_table(EVENT_KEYS).map_err(fail)?;
            let mut found = HashMap::new();
            for id in ids {
                if let Some(number) = keys.get((id.as_str(), client.as_str())).map_err(fail)? {
                    if number.value() != ERASED {
                        found.insert(id, number.value());
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
                let key = (event.external_id.clone(), event.client_app_id.clone());
                encode(event)
                    .map(|bytes| (key, bytes, Entries::of(event), event.expires_at))
                    .map_err(|e| format!("the event cannot be stored as it is: {e}"))
            })
            .collect();
        self.write(move |txn| {
            let mut keys = txn.open_table(EVENT_KEYS).map_err(fail)?;
            let mut stored = txn.open_table(EVENTS).map_err(fail)?;
            let mut listing = txn.open_table(LISTING).map_err(fail)?;
            let mut expiry = txn.open_table(EXPIRY).map_err(fail)?;
            let mut outcomes = Vec::with_capacity(rows.len());
            for row in &rows {
                let ((external_id, client), bytes, entries, expires_at) = match row {
                    Ok(row) => row,
                    Err(why) => {
                        outcomes.push(InsertOutcome::Refused(why.clone()));
                        continue;
                    }
                };
                let key = (external_id.as_str(), client.as_str());
                let existing = keys.get(key).map_err(fail)?.map(|g| g.value());
                match existing {
                    Some(ERASED) => outcomes.push(InsertOutcome::Erased),
                    Some(id) => outcomes.push(InsertOutcome::Exists(id)),
                    None => {
                        keys.insert(key, entries.id()).map_err(fail)?;
                        stored
                            .insert(entries.id(), bytes.as_slice())
                            .map_err(fail)?;
                        entries.insert(&mut listing)?;
                        if let Some(at) = expires_at {
                            expiry.insert((*at, entries.id()), ()).map_err(fail)?;
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
        let keys = keys.to_vec();
        self.write(move |txn| {
            let mut ids = txn.open_table(EVENT_KEYS).map_err(fail)?;
            let mut stored = txn.open_table(EVENTS).map_err(fail)?;
            let mut listing = txn.open_table(LISTING).map_err(fail)?;
            let mut deleted = 0;
            for key in &keys {
                let id = ids.get(key_of(key)).map_err(fail)?.map(|g| g.value());
                if let Some(id) = id.filter(|id| *id != ERASED) {
                    let bytes = stored.remove(id).map_err(fail)?;
                    if let Some(bytes) = bytes {
                        let event: StoredEvent = decode(bytes.value())?;
                        Entries::of(&event).remove(&mut listing)?;
                        deleted += 1;
                    }
                }
                ids.insert(key_of(key), ERASED).map_err(fail)?;
            }
            Ok(deleted)
        })
        .await
    }

    async fn purge(&self, keys: &[EventKey]) -> Result<u64, StoreError> {
        let keys = keys.to_vec();
        self.write(move |txn| {
            let mut stored = crate::sweep::Stored {
                events: txn.open_table(EVENTS).map_err(fail)?,
                keys: txn.open_table(EVENT_KEYS).map_err(fail)?,
                listing: txn.open_table(LISTING).map_err(fail)?,
            };
            let mut purged = 0;
            for key in &keys {
                let id = stored
                    .keys
                    .get(key_of(key))
                    .map_err(fail)?
                    .map(|g| g.value());
                if let Some(id) = id.filter(|id| *id != ERASED) {
                    purged += u64::from(stored.remove(id)?);
                }
            }
            Ok(purged)
        })
        .await
    }

    async fn get(&self, key: &EventKey) -> Result<Option<StoredEvent>, StoreError> {
        let key = key.clone();
        self.blocking(move |db| read_event(&db.begin_read().map_err(fail)?, &key))
            .await
    }

    async fn holders(&self, external_id: &str) -> Result<Vec<String>, StoreError> {
        let id = external_id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let table = txn.open_table(EVENT_KEYS).map_err(fail)?;
            let mut clients = Vec::new();
            for entry in table.range((id.as_str(), "")..).map_err(fail)? {
                let (key, number) = entry.map_err(fail)?;
                let (entry_id, client) = key.value();
                if entry_id != id {
                    break;
                }
                if number.value() != ERASED {
                    clients.push(client.to_owned());
                }
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
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let mut found = HashMap::with_capacity(keys.len());
            for key in keys {
                if let Some(event) = read_event(&txn, &key)? {
                    found.insert(key, event);
                }
            }
            Ok(found)
        })
        .await
    }
}

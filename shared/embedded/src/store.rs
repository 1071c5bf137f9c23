//! The job and event stores on redb. Each call is one write transaction, which redb serialises:
//! that alone makes allocation atomic and inserts conditional.

use std::collections::HashMap;

use async_trait::async_trait;
use caliper_core::{
    EventResult, EventStore, InsertOutcome, Job, JobRecord, JobState, JobStore, NewJob, StoreError,
    StoredEvent,
};
use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};

use crate::db::{fail, Embedded, COUNTERS, EVENTS, EVENT_INDEX, JOBS};
use crate::listing::index_event;

const EVENT_COUNTER: &str = "event_id";

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::new(format!("embedded store holds an unreadable record: {e}")))
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(fail)
}

impl Embedded {
    /// Reads, changes and writes back one job in a single transaction.
    async fn update_job<T: Send + 'static>(
        &self,
        id: &str,
        change: impl FnOnce(&mut JobRecord) -> T + Send + 'static,
    ) -> Result<Option<T>, StoreError> {
        let id = id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(fail)?;
            let outcome = {
                let mut table = txn.open_table(JOBS).map_err(fail)?;
                let record = table
                    .get(id.as_str())
                    .map_err(fail)?
                    .map(|g| decode::<JobRecord>(g.value()))
                    .transpose()?;
                match record {
                    None => None,
                    Some(mut record) => {
                        let outcome = change(&mut record);
                        table
                            .insert(id.as_str(), encode(&record)?.as_slice())
                            .map_err(fail)?;
                        Some(outcome)
                    }
                }
            };
            txn.commit().map_err(fail)?;
            Ok(outcome)
        })
        .await
    }
}

#[async_trait]
impl JobStore for Embedded {
    async fn create(&self, job: &NewJob) -> Result<(), StoreError> {
        let bytes = encode(&JobRecord::new(job))?;
        let id = job.id.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(fail)?;
            txn.open_table(JOBS)
                .map_err(fail)?
                .insert(id.as_str(), bytes.as_slice())
                .map_err(fail)?;
            txn.commit().map_err(fail)
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
        results: &[EventResult],
        now: DateTime<Utc>,
    ) -> Result<JobState, StoreError> {
        let results = results.to_vec();
        let state = self
            .update_job(id, move |job| job.record_part(part, &results, now))
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
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(fail)?;
            let first = {
                let mut table = txn.open_table(COUNTERS).map_err(fail)?;
                let last = table
                    .get(EVENT_COUNTER)
                    .map_err(fail)?
                    .map(|g| g.value())
                    .unwrap_or(0);
                table.insert(EVENT_COUNTER, last + count).map_err(fail)?;
                last + 1
            };
            txn.commit().map_err(fail)?;
            Ok(first)
        })
        .await
    }

    async fn find_ids(&self, external_ids: &[String]) -> Result<HashMap<String, u64>, StoreError> {
        let ids = external_ids.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let table = txn.open_table(EVENTS).map_err(fail)?;
            let mut found = HashMap::new();
            for id in ids {
                if let Some(guard) = table.get(id.as_str()).map_err(fail)? {
                    found.insert(id, decode::<StoredEvent>(guard.value())?.id);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn insert_new(&self, events: &[StoredEvent]) -> Result<Vec<InsertOutcome>, StoreError> {
        let events = events.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(fail)?;
            let mut outcomes = Vec::with_capacity(events.len());
            {
                let mut table = txn.open_table(EVENTS).map_err(fail)?;
                let mut index = txn.open_table(EVENT_INDEX).map_err(fail)?;
                for event in &events {
                    let id = event.external_id.as_str();
                    let existing = table
                        .get(id)
                        .map_err(fail)?
                        .map(|g| decode::<StoredEvent>(g.value()))
                        .transpose()?;
                    match existing {
                        Some(stored) => outcomes.push(InsertOutcome::Exists(stored.id)),
                        None => {
                            table.insert(id, encode(event)?.as_slice()).map_err(fail)?;
                            index_event(&mut index, event)?;
                            outcomes.push(InsertOutcome::Inserted);
                        }
                    }
                }
            }
            txn.commit().map_err(fail)?;
            Ok(outcomes)
        })
        .await
    }

    async fn get(&self, external_id: &str) -> Result<Option<StoredEvent>, StoreError> {
        let id = external_id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let table = txn.open_table(EVENTS).map_err(fail)?;
            table
                .get(id.as_str())
                .map_err(fail)?
                .map(|g| decode(g.value()))
                .transpose()
        })
        .await
    }

    async fn get_many(&self, ids: &[String]) -> Result<HashMap<String, StoredEvent>, StoreError> {
        let ids = ids.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let table = txn.open_table(EVENTS).map_err(fail)?;
            let mut found = HashMap::with_capacity(ids.len());
            for id in ids {
                if let Some(guard) = table.get(id.as_str()).map_err(fail)? {
                    let event = decode(guard.value())?;
                    found.insert(id, event);
                }
            }
            Ok(found)
        })
        .await
    }
}

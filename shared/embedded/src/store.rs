//! The job and event stores on redb. Each call is one write transaction, which redb serialises:
//! that alone makes allocation atomic and inserts conditional.

use std::collections::HashMap;

use async_trait::async_trait;
use caliper_core::{
    EventKey, EventResult, EventStore, InsertOutcome, Job, JobRecord, JobState, JobStore, NewJob,
    StoreError, StoredEvent,
};
use chrono::{DateTime, Utc};
use redb::{Database, ReadableDatabase, ReadableTable, TableHandle};
use serde::{Deserialize, Serialize};

use crate::db::{fail, Embedded, COUNTERS, EVENTS, EVENTS_BY_ID, EVENT_INDEX, JOBS};
use crate::listing::index_event;

const EVENT_COUNTER: &str = "event_id";

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::new(format!("embedded store holds an unreadable record: {e}")))
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(fail)
}

/// Moves the events of a data directory written before events were keyed by client into the
/// table keyed by (Caliper id, client); each stored event names its client.
pub(crate) fn key_events_by_client(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(fail)?;
    let old = txn
        .list_tables()
        .map_err(fail)?
        .any(|t| t.name() == EVENTS_BY_ID.name());
    if !old {
        return Ok(());
    }
    tracing::info!("keying the stored events by client");
    {
        let from = txn.open_table(EVENTS_BY_ID).map_err(fail)?;
        let mut to = txn.open_table(EVENTS).map_err(fail)?;
        for entry in from.iter().map_err(fail)? {
            let (_, value) = entry.map_err(fail)?;
            let event: StoredEvent = decode(value.value())?;
            to.insert(
                (event.external_id.as_str(), event.client_app_id.as_str()),
                value.value(),
            )
            .map_err(fail)?;
        }
    }
    txn.delete_table(EVENTS_BY_ID).map_err(fail)?;
    txn.commit().map_err(fail)
}

/// The table key of an event.
fn key_of(key: &EventKey) -> (&str, &str) {
    (key.external_id.as_str(), key.client_app_id.as_str())
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

    async fn find_ids(
        &self,
        client_app_id: &str,
        external_ids: &[String],
    ) -> Result<HashMap<String, u64>, StoreError> {
        let (client, ids) = (client_app_id.to_owned(), external_ids.to_vec());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let table = txn.open_table(EVENTS).map_err(fail)?;
            let mut found = HashMap::new();
            for id in ids {
                if let Some(guard) = table.get((id.as_str(), client.as_str())).map_err(fail)? {
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
                    let key = (event.external_id.as_str(), event.client_app_id.as_str());
                    let existing = table
                        .get(key)
                        .map_err(fail)?
                        .map(|g| decode::<StoredEvent>(g.value()))
                        .transpose()?;
                    match existing {
                        Some(stored) => outcomes.push(InsertOutcome::Exists(stored.id)),
                        None => {
                            table.insert(key, encode(event)?.as_slice()).map_err(fail)?;
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

    async fn get(&self, key: &EventKey) -> Result<Option<StoredEvent>, StoreError> {
        let key = key.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let table = txn.open_table(EVENTS).map_err(fail)?;
            table
                .get(key_of(&key))
                .map_err(fail)?
                .map(|g| decode(g.value()))
                .transpose()
        })
        .await
    }

    async fn holders(&self, external_id: &str) -> Result<Vec<String>, StoreError> {
        let id = external_id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let table = txn.open_table(EVENTS).map_err(fail)?;
            let mut clients = Vec::new();
            for entry in table.range((id.as_str(), "")..).map_err(fail)? {
                let (key, _) = entry.map_err(fail)?;
                let (entry_id, client) = key.value();
                if entry_id != id {
                    break;
                }
                clients.push(client.to_owned());
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
            let table = txn.open_table(EVENTS).map_err(fail)?;
            let mut found = HashMap::with_capacity(keys.len());
            for key in keys {
                if let Some(guard) = table.get(key_of(&key)).map_err(fail)? {
                    let event = decode(guard.value())?;
                    found.insert(key, event);
                }
            }
            Ok(found)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64, client: &str) -> StoredEvent {
        let event = serde_json::json!({
            "id": format!("urn:uuid:00000000-0000-4000-8000-{n:012}"),
            "type": "Event", "action": "Created",
            "actor": "https://example.edu/users/1", "object": "https://example.edu/things/1",
            "eventTime": "2024-05-01T12:00:00.000Z",
        });
        StoredEvent::from_event(
            &event,
            n,
            "https://example.edu/s",
            "2024-05-01T12:00:10.000Z",
            caliper_validation::CALIPER_V1P2,
            client,
            Utc::now(),
        )
    }

    #[tokio::test]
    async fn events_stored_before_they_were_keyed_by_client_are_moved_when_opened() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Embedded::open(dir.path()).expect("open");
        // What an older data directory holds: events by Caliper id alone.
        let txn = store.db.begin_write().expect("write");
        {
            let mut old = txn.open_table(EVENTS_BY_ID).expect("the old table");
            for stored in [event(1, "c1"), event(2, "c2")] {
                let bytes = encode(&stored).expect("encode");
                old.insert(stored.external_id.as_str(), bytes.as_slice())
                    .expect("insert");
            }
        }
        txn.commit().expect("commit");
        drop(store);

        let store = Embedded::open(dir.path()).expect("reopen");
        let first = event(1, "c1").key();
        let found = EventStore::get(&store, &first)
            .await
            .expect("get")
            .map(|e| e.id);
        assert_eq!(found, Some(1));
        assert_eq!(
            store
                .holders(&event(2, "c2").external_id)
                .await
                .expect("holders"),
            ["c2"]
        );
        let gone = store
            .db
            .begin_read()
            .expect("read")
            .open_table(EVENTS_BY_ID)
            .is_err();
        assert!(gone, "the old table is dropped");
    }
}

//! Listings on the embedded store: one table holds every index of `caliper_core::query`, keyed by
//! (index, key, position), so that a listing is one range read in either direction.

use async_trait::async_trait;
use caliper_core::query::{Index, IndexFields, Plan};
use caliper_core::{
    EventPage, EventQuery, EventReader, Order, Position, Start, StoreError, StoredEvent,
};
use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata, Table,
};

use crate::db::{fail, Embedded, COUNTERS, EVENTS, EVENT_INDEX};
use crate::store::{decode, encode};

fn tag(index: Index) -> u8 {
    match index {
        Index::All => 0,
        Index::Client => 1,
        Index::Sensor => 2,
        Index::ClientSensor => 3,
        Index::Actor => 4,
        Index::Email => 5,
        Index::Version => 6,
        Index::ClientVersion => 7,
    }
}

/// The set of indexes a data directory's index table holds, kept in the counters table: 1 for
/// the first six, 2 since the version indexes. A directory of an older layout is reindexed.
const LAYOUT_COUNTER: &str = "event_index_layout";
const LAYOUT: u64 = 2;

/// Adds `event` to every index that has a key for it (inside the caller's write transaction).
pub(crate) fn index_event(
    table: &mut Table<(u8, &str, &str), &[u8]>,
    event: &StoredEvent,
) -> Result<(), StoreError> {
    let position = Position::of(event).key();
    let fields = encode(&IndexFields::of(event))?;
    for index in Index::EVERY {
        if let Some(key) = index.key_of(event) {
            table
                .insert(
                    (tag(index), key.as_str(), position.as_str()),
                    fields.as_slice(),
                )
                .map_err(fail)?;
        }
    }
    Ok(())
}

/// Indexes the events of a database written before the current indexes existed.
pub(crate) fn index_stored_events(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(fail)?;
    {
        let mut counters = txn.open_table(COUNTERS).map_err(fail)?;
        let layout = counters
            .get(LAYOUT_COUNTER)
            .map_err(fail)?
            .map_or(0, |v| v.value());
        if layout >= LAYOUT {
            return Ok(());
        }
        let events = txn.open_table(EVENTS).map_err(fail)?;
        let mut index = txn.open_table(EVENT_INDEX).map_err(fail)?;
        if events.len().map_err(fail)? > 0 {
            tracing::info!("indexing the stored events for listings");
            index.retain(|_, _| false).map_err(fail)?;
            for entry in events.iter().map_err(fail)? {
                let (_, value) = entry.map_err(fail)?;
                index_event(&mut index, &decode::<StoredEvent>(value.value())?)?;
            }
        }
        counters.insert(LAYOUT_COUNTER, LAYOUT).map_err(fail)?;
    }
    txn.commit().map_err(fail)
}

/// Walks the entries of a plan in order, keeping those its residual admits, until `visit` says
/// stop.
fn walk(
    txn: &ReadTransaction,
    query: &EventQuery,
    start: &Start,
    mut visit: impl FnMut(&IndexFields) -> bool,
) -> Result<(), StoreError> {
    let Plan {
        index,
        key,
        residual,
    } = query.plan();
    let Some((low, high)) = query.key_range(start) else {
        return Ok(());
    };
    let table = txn.open_table(EVENT_INDEX).map_err(fail)?;
    let range = table
        .range((tag(index), key.as_str(), low.as_str())..=(tag(index), key.as_str(), high.as_str()))
        .map_err(fail)?;
    let entries: Box<dyn Iterator<Item = _>> = match query.order {
        Order::NewestFirst => Box::new(range.rev()),
        Order::OldestFirst => Box::new(range),
    };
    for entry in entries {
        let (_, value) = entry.map_err(fail)?;
        let fields: IndexFields = decode(value.value())?;
        if residual.admits(&fields) && !visit(&fields) {
            break;
        }
    }
    Ok(())
}

#[async_trait]
impl EventReader for Embedded {
    async fn list(
        &self,
        query: &EventQuery,
        start: &Start,
        limit: usize,
    ) -> Result<EventPage, StoreError> {
        let (query, start) = (query.clone(), start.clone());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let mut skip = match start {
                Start::Offset(n) => n,
                Start::After(_) => 0,
            };
            let mut keys = Vec::with_capacity(limit + 1);
            // One more than the page, to know whether another follows.
            walk(&txn, &query, &start, |fields| {
                if skip > 0 {
                    skip -= 1;
                } else {
                    keys.push((fields.external_id.clone(), fields.client_app_id.clone()));
                }
                keys.len() <= limit
            })?;
            let more = keys.len() > limit;
            keys.truncate(limit);
            let table = txn.open_table(EVENTS).map_err(fail)?;
            let mut events = Vec::with_capacity(keys.len());
            for (id, client) in &keys {
                let guard = table
                    .get((id.as_str(), client.as_str()))
                    .map_err(fail)?
                    .ok_or_else(|| {
                        StoreError::new(format!(
                            "the index names {id} of {client}, which is not stored"
                        ))
                    })?;
                events.push(decode(guard.value())?);
            }
            Ok(EventPage { events, more })
        })
        .await
    }

    async fn count(&self, query: &EventQuery) -> Result<u64, StoreError> {
        let query = query.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let mut count = 0;
            walk(&txn, &query, &Start::Offset(0), |_| {
                count += 1;
                true
            })?;
            Ok(count)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use caliper_core::{EventFilter, EventStore, Visibility};
    use redb::ReadableDatabase;

    use super::*;

    fn event(n: u64) -> StoredEvent {
        event_of(n, caliper_validation::CALIPER_V1P2)
    }

    fn event_of(n: u64, data_version: &str) -> StoredEvent {
        let event = serde_json::json!({
            "id": format!("urn:uuid:00000000-0000-4000-8000-{n:012}"),
            "type": "Event", "action": "Created",
            "actor": "https://example.edu/users/1", "object": "https://example.edu/things/1",
            "eventTime": format!("2024-05-01T12:00:0{n}.000Z"),
        });
        StoredEvent::from_event(
            &event,
            n,
            "https://example.edu/s",
            "2024-05-01T12:00:10.000Z",
            data_version,
            "c1",
            chrono::Utc::now(),
        )
    }

    #[tokio::test]
    async fn a_store_written_before_the_indexes_is_indexed_when_opened() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Embedded::open(dir.path()).expect("open");
        store
            .insert_new(&[event(1), event(2), event(3)])
            .await
            .expect("insert");
        // What an older data directory holds: the events, and no index.
        let txn = store.db.begin_write().expect("write");
        txn.delete_table(EVENT_INDEX).expect("drop the index");
        let mut counters = txn.open_table(COUNTERS).expect("counters");
        counters.remove(LAYOUT_COUNTER).expect("forget the layout");
        drop(counters);
        txn.commit().expect("commit");
        let unindexed = store
            .db
            .begin_read()
            .expect("read")
            .open_table(EVENT_INDEX)
            .is_err();
        assert!(unindexed);
        drop(store);

        let store = Embedded::open(dir.path()).expect("reopen");
        assert_eq!(listed(&store, EventFilter::default()).await, [3, 2, 1]);
    }

    /// The ids of client c1's events that `filter` lists, newest first.
    async fn listed(store: &Embedded, filter: EventFilter) -> Vec<u64> {
        let query = EventQuery {
            visibility: Visibility::Own("c1".into()),
            filter,
            order: Order::NewestFirst,
        };
        let page = store
            .list(&query, &Start::Offset(0), 10)
            .await
            .expect("list");
        page.events.iter().map(|e| e.id).collect()
    }

    #[tokio::test]
    async fn a_store_of_the_first_layout_gains_the_version_indexes_when_opened() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Embedded::open(dir.path()).expect("open");
        let v1p1 = event_of(2, caliper_validation::CALIPER_V1P1);
        store.insert_new(&[event(1), v1p1]).await.expect("insert");
        // What a directory of layout 1 holds: no entries of the version indexes, layout 1.
        let txn = store.db.begin_write().expect("write");
        {
            let mut index = txn.open_table(EVENT_INDEX).expect("index");
            index
                .retain(|(tag, _, _), _| tag < 6)
                .expect("drop the version entries");
            let mut counters = txn.open_table(COUNTERS).expect("counters");
            counters.insert(LAYOUT_COUNTER, 1).expect("layout 1");
        }
        txn.commit().expect("commit");
        drop(store);

        let store = Embedded::open(dir.path()).expect("reopen");
        for (version, expected) in [
            (caliper_validation::CALIPER_V1P1, vec![2]),
            (caliper_validation::CALIPER_V1P2, vec![1]),
        ] {
            let filter = EventFilter {
                data_version: Some(version.into()),
                ..EventFilter::default()
            };
            assert_eq!(listed(&store, filter).await, expected, "{version}");
        }
    }
}

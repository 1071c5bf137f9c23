//! What data directories of earlier versions hold, and how they are brought up to date when
//! opened: every older layout opens, once, into the current one.
//!
//! - Events by Caliper id alone (`events`), then by (Caliper id, client) (`client_events`), each
//!   as plain JSON: now by allocated id (`stored_events`, compressed) with a key table.
//! - Listing entries that kept a copy of the event's fields (`event_index`, layouts 1 and 2):
//!   now the position alone (`listing`, layout 3).
//! - Queues without their visibility order: it is rebuilt from the messages.

use caliper_core::{StoreError, StoredEvent};
use redb::{
    Database, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle, WriteTransaction,
};

use crate::codec::{decode, encode};
use crate::db::{fail, COUNTERS, EVENTS, EVENT_KEYS, LISTING};
use crate::listing::Entries;

pub(crate) const EVENTS_BY_ID: TableDefinition<&str, &[u8]> = TableDefinition::new("events");
pub(crate) const CLIENT_EVENTS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("client_events");
pub(crate) const EVENT_INDEX: TableDefinition<(u8, &str, &str), &[u8]> =
    TableDefinition::new("event_index");

/// The layout of the listing table, kept in the counters table.
pub(crate) const LAYOUT_COUNTER: &str = "event_index_layout";
const LAYOUT: u64 = 3;

pub(crate) fn upgrade(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(fail)?;
    let names: Vec<String> = txn
        .list_tables()
        .map_err(fail)?
        .map(|t| t.name().to_owned())
        .collect();
    let has = |name: &str| names.iter().any(|n| n == name);
    let mut changed = false;
    if has(EVENTS_BY_ID.name()) {
        move_events(&txn, EVENTS_BY_ID)?;
        changed = true;
    }
    if has(CLIENT_EVENTS.name()) {
        move_events(&txn, CLIENT_EVENTS)?;
        changed = true;
    }
    if has(EVENT_INDEX.name()) {
        txn.delete_table(EVENT_INDEX).map_err(fail)?;
        changed = true;
    }
    changed |= reindex(&txn)?;
    changed |= crate::queue::index_visibility(&txn)?;
    if changed {
        txn.commit().map_err(fail)
    } else {
        txn.abort().map_err(fail)
    }
}

/// Moves the events of an older table (plain JSON, whatever its key) into the current ones, and
/// drops it.
fn move_events<K: redb::Key + 'static>(
    txn: &WriteTransaction,
    table: TableDefinition<K, &[u8]>,
) -> Result<(), StoreError> {
    tracing::info!(
        table = table.name(),
        "moving the stored events of an older layout"
    );
    let old = txn.open_table(table).map_err(fail)?;
    for entry in old.iter().map_err(fail)? {
        keep(txn, &decode(entry.map_err(fail)?.1.value())?)?;
    }
    drop(old);
    txn.delete_table(table).map_err(fail)?;
    Ok(())
}

/// Keeps an event of an older table in the current ones (its listing entries come after).
fn keep(txn: &WriteTransaction, event: &StoredEvent) -> Result<(), StoreError> {
    txn.open_table(EVENT_KEYS)
        .map_err(fail)?
        .insert(
            (event.external_id.as_str(), event.client_app_id.as_str()),
            event.id,
        )
        .map_err(fail)?;
    txn.open_table(EVENTS)
        .map_err(fail)?
        .insert(event.id, encode(event)?.as_slice())
        .map_err(fail)?;
    Ok(())
}

/// Lists the stored events anew when the listing table is of an older layout.
fn reindex(txn: &WriteTransaction) -> Result<bool, StoreError> {
    let mut counters = txn.open_table(COUNTERS).map_err(fail)?;
    let layout = counters
        .get(LAYOUT_COUNTER)
        .map_err(fail)?
        .map_or(0, |v| v.value());
    if layout >= LAYOUT {
        return Ok(false);
    }
    let events = txn.open_table(EVENTS).map_err(fail)?;
    let mut listing = txn.open_table(LISTING).map_err(fail)?;
    if events.len().map_err(fail)? > 0 {
        tracing::info!("indexing the stored events for listings");
        listing.retain(|_, _| false).map_err(fail)?;
        for entry in events.iter().map_err(fail)? {
            Entries::of(&decode(entry.map_err(fail)?.1.value())?).insert(&mut listing)?;
        }
    }
    counters.insert(LAYOUT_COUNTER, LAYOUT).map_err(fail)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use caliper_core::{
        EventFilter, EventQuery, EventReader, EventStore, Order, Start, Visibility,
    };
    use chrono::Utc;
    use redb::ReadableDatabase;

    use super::*;
    use crate::Embedded;

    fn event(n: u64, client: &str, data_version: &str) -> StoredEvent {
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
            client,
            Utc::now(),
        )
    }

    const V1P2: &str = caliper_validation::CALIPER_V1P2;
    const V1P1: &str = caliper_validation::CALIPER_V1P1;

    /// The ids of `client`'s events that `filter` lists, newest first.
    async fn listed(store: &Embedded, client: &str, filter: EventFilter) -> Vec<u64> {
        let query = EventQuery {
            visibility: Visibility::Own(client.into()),
            filter,
            order: Order::NewestFirst,
        };
        let page = store
            .list(&query, &Start::Offset(0), 10)
            .await
            .expect("list");
        page.events.iter().map(|e| e.id).collect()
    }

    /// Writes what an older data directory held: plain JSON events in `table` under `key`, the
    /// old listing table, layout `layout`; and nothing of the current event tables.
    fn write_older<K: redb::Key + 'static>(
        dir: &std::path::Path,
        table: TableDefinition<K, &[u8]>,
        key: impl Fn(&StoredEvent) -> K::SelfType<'_>,
        events: &[StoredEvent],
        layout: u64,
    ) {
        let store = Embedded::open(dir).expect("open");
        let txn = store.db.begin_write().expect("write");
        for name in ["stored_events", "event_keys", "listing"] {
            txn.delete_table(TableDefinition::<u64, u64>::new(name))
                .expect("drop a current table");
        }
        {
            let mut old = txn.open_table(table).expect("the old table");
            for stored in events {
                let json = serde_json::to_vec(stored).expect("json");
                old.insert(key(stored), json.as_slice()).expect("insert");
            }
            let mut index = txn.open_table(EVENT_INDEX).expect("the old index");
            index
                .insert((0, "all", "x"), b"{}".as_slice())
                .expect("an old entry");
            let mut counters = txn.open_table(COUNTERS).expect("counters");
            counters.insert(LAYOUT_COUNTER, layout).expect("layout");
        }
        txn.commit().expect("commit");
    }

    #[tokio::test]
    async fn events_keyed_by_caliper_id_alone_open_into_the_current_layout() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let events = [event(1, "c1", V1P2), event(2, "c2", V1P2)];
        write_older(
            dir.path(),
            EVENTS_BY_ID,
            |e| e.external_id.as_str(),
            &events,
            1,
        );

        let store = Embedded::open(dir.path()).expect("reopen");
        let found = EventStore::get(&store, &events[0].key())
            .await
            .expect("get");
        assert_eq!(found.map(|e| e.id), Some(1));
        let holders = store
            .holders(&events[1].external_id)
            .await
            .expect("holders");
        assert_eq!(holders, ["c2"]);
        assert_eq!(listed(&store, "c2", EventFilter::default()).await, [2]);
        let txn = store.db.begin_read().expect("read");
        assert!(
            txn.open_table(EVENTS_BY_ID).is_err(),
            "the old table is dropped"
        );
        assert!(
            txn.open_table(EVENT_INDEX).is_err(),
            "the old index is dropped"
        );
    }

    #[tokio::test]
    async fn events_keyed_by_client_of_layout_two_open_into_the_current_layout() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let events = [
            event(1, "c1", V1P2),
            event(2, "c1", V1P1),
            event(3, "c1", V1P2),
        ];
        write_older(
            dir.path(),
            CLIENT_EVENTS,
            |e| (e.external_id.as_str(), e.client_app_id.as_str()),
            &events,
            2,
        );

        let store = Embedded::open(dir.path()).expect("reopen");
        assert_eq!(
            listed(&store, "c1", EventFilter::default()).await,
            [3, 2, 1]
        );
        let v1p1 = EventFilter {
            data_version: Some(V1P1.into()),
            ..EventFilter::default()
        };
        assert_eq!(listed(&store, "c1", v1p1).await, [2]);
        let found = store.find_ids("c1", &[events[2].external_id.clone()]).await;
        assert_eq!(found.expect("find").into_values().collect::<Vec<_>>(), [3]);
        // A second opening finds nothing to do and changes nothing.
        drop(store);
        let store = Embedded::open(dir.path()).expect("open again");
        assert_eq!(
            listed(&store, "c1", EventFilter::default()).await,
            [3, 2, 1]
        );
    }
}

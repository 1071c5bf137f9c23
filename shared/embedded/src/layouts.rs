//! What data directories of earlier versions hold, and how they are brought up to date when
//! opened: every older layout opens, once, into the current one.
//!
//! Versions before this one kept everything in one redb file, `caliper.redb`. When the database
//! opens beside one, the file's own older layouts are brought up to its last, then every table is
//! moved into the database and the file deleted (it holds learners' data, which an erasure must
//! not leave behind). A move cut short (a crash, a kill) runs again at the next start: the copy
//! overwrites what it copied before, and its last write marks it done, after which the file is
//! only deleted, never read again (it would bring back what was erased since).
//!
//! The redb file's own layouts:
//! - Events by Caliper id alone (`events`), then by (Caliper id, client) (`client_events`), each
//!   as plain JSON: then by allocated id (`stored_events`, compressed) with a key table.
//! - Listing entries that kept a copy of the event's fields (`event_index`, layouts 1 and 2):
//!   then the position alone (`listing`, layout 3); the older ones are listed anew from the events.
//! - Queue messages as JSON, and queues without their visibility order: each message is read in
//!   either format and made visible when its record says.

use std::path::Path;

use caliper_core::{StoreError, StoredEvent};
use fjall::{PersistMode, SingleWriterTxDatabase};
use redb::{
    Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle, WriteTransaction,
};

use crate::codec::{decode, encode};
use crate::db::{fail, Space, Spaces, Txn};
use crate::listing::{entry, Entries};
use crate::queue::{Queued, Tables, JOB_PARTS, WEBHOOK_DELIVERIES};
use crate::store::{event_id, event_key};

/// The file of earlier versions, in the data directory.
pub const REDB_FILE: &str = "caliper.redb";

/// The counter that says the redb file was moved.
const MOVED: &str = "moved_from_redb";

/// How many rows one transaction of the move writes.
const ROWS_PER_COMMIT: usize = 10_000;

// The redb file's tables, by the names they had there.
pub(crate) const JOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("jobs");
pub(crate) const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("stored_events");
pub(crate) const EVENT_KEYS: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("event_keys");
pub(crate) const LISTING: TableDefinition<(u8, &str, &str, u64), ()> =
    TableDefinition::new("listing");
pub(crate) const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
pub(crate) const EXPIRY: TableDefinition<(i64, u64), ()> = TableDefinition::new("expiry");
pub(crate) const RECORDS: TableDefinition<(&str, &str), &str> = TableDefinition::new("webhooks");
pub(crate) const QUARANTINE: TableDefinition<&str, &str> = TableDefinition::new("quarantine");
pub(crate) const QUARANTINE_BY_CLIENT: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("quarantine_by_client");
pub(crate) const EVENTS_BY_ID: TableDefinition<&str, &[u8]> = TableDefinition::new("events");
pub(crate) const CLIENT_EVENTS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("client_events");
#[cfg(test)]
pub(crate) const EVENT_INDEX: TableDefinition<(u8, &str, &str), &[u8]> =
    TableDefinition::new("event_index");
type QueueTable<'n> = TableDefinition<'n, u64, &'static [u8]>;

/// The layout of the listing table, kept in the counters table.
pub(crate) const LAYOUT_COUNTER: &str = "event_index_layout";
const LAYOUT: u64 = 3;

/// A queue of the redb file: its messages, dead letters and sequence counter, by their names
/// there, and its name now.
struct OldQueue {
    messages: String,
    dead_letters: String,
    sequence: String,
    name: String,
}

impl OldQueue {
    /// The job parts' and the deliveries' tables kept the names they had before queues were
    /// named; the others were `queue:{name}`.
    fn of(name: &str) -> Self {
        let (messages, dead_letters, sequence) = match name {
            JOB_PARTS => ("queue".into(), "dead_letters".into(), "queue_seq".into()),
            WEBHOOK_DELIVERIES => (
                "delivery_queue".into(),
                "delivery_dead_letters".into(),
                "delivery_queue_seq".into(),
            ),
            _ => (
                format!("queue:{name}"),
                format!("queue:{name}:dead_letters"),
                format!("queue:{name}:seq"),
            ),
        };
        Self {
            messages,
            dead_letters,
            sequence,
            name: name.to_owned(),
        }
    }
}

/// Moves `dir`'s redb file, if any, into the database.
pub(crate) fn move_older(
    dir: &Path,
    db: &SingleWriterTxDatabase,
    spaces: &Spaces,
) -> Result<(), StoreError> {
    let path = dir.join(REDB_FILE);
    if !path.exists() {
        return Ok(());
    }
    if !moved(db, spaces)? {
        tracing::info!(file = %path.display(), "moving the data of an earlier version into the database");
        let old = Database::open(&path)
            .map_err(|e| StoreError::new(format!("cannot open {}: {e}", path.display())))?;
        upgrade(&old)?;
        Move {
            db,
            spaces,
            rows: 0,
        }
        .all(&old)?;
    }
    std::fs::remove_file(&path)
        .map_err(|e| StoreError::new(format!("cannot delete {}: {e}", path.display())))
}

fn moved(db: &SingleWriterTxDatabase, spaces: &Spaces) -> Result<bool, StoreError> {
    use fjall::Readable;
    Ok(db
        .read_tx()
        .get(&spaces.counters, MOVED)
        .map_err(fail)?
        .is_some())
}

/// Brings the redb file's older layouts of events up to its last (its listing is made anew in
/// the move when older than layout 3).
fn upgrade(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(fail)?;
    let names = table_names(&txn)?;
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
    if changed {
        txn.commit().map_err(fail)
    } else {
        txn.abort().map_err(fail)
    }
}

fn table_names(txn: &WriteTransaction) -> Result<Vec<String>, StoreError> {
    Ok(txn
        .list_tables()
        .map_err(fail)?
        .map(|t| t.name().to_owned())
        .collect())
}

/// Moves the events of an older table (plain JSON, whatever its key) into the file's last ones,
/// and drops it.
fn move_events<K: redb::Key + 'static>(
    txn: &WriteTransaction,
    table: TableDefinition<K, &[u8]>,
) -> Result<(), StoreError> {
    let old = txn.open_table(table).map_err(fail)?;
    let mut keys = txn.open_table(EVENT_KEYS).map_err(fail)?;
    let mut events = txn.open_table(EVENTS).map_err(fail)?;
    for entry in old.iter().map_err(fail)? {
        let event: StoredEvent = decode(entry.map_err(fail)?.1.value())?;
        keys.insert(
            (event.external_id.as_str(), event.client_app_id.as_str()),
            event.id,
        )
        .map_err(fail)?;
        events
            .insert(event.id, encode(&event)?.as_slice())
            .map_err(fail)?;
    }
    drop((old, keys, events));
    txn.delete_table(table).map_err(fail)?;
    Ok(())
}

/// The move of every table, in transactions of [`ROWS_PER_COMMIT`] rows, each on disk when
/// committed.
struct Move<'db> {
    db: &'db SingleWriterTxDatabase,
    spaces: &'db Spaces,
    rows: usize,
}

impl<'db> Move<'db> {
    fn all(mut self, old: &Database) -> Result<(), StoreError> {
        let read = old.begin_read().map_err(fail)?;
        let names: Vec<String> = read
            .list_tables()
            .map_err(fail)?
            .map(|t| t.name().to_owned())
            .collect();
        let has = |name: &str| names.iter().any(|n| n == name);
        let spaces = self.spaces;
        let mut txn = self.begin();

        txn = self.table(txn, &read, JOBS, &spaces.jobs, |id, record| {
            (id.as_bytes().to_vec(), record.to_vec())
        })?;
        txn = self.table(txn, &read, EVENT_KEYS, &spaces.event_keys, |key, id| {
            (
                event_key(key.0, key.1).as_ref().to_vec(),
                id.to_be_bytes().to_vec(),
            )
        })?;
        let layout = match read.open_table(COUNTERS) {
            Ok(counters) => counters
                .get(LAYOUT_COUNTER)
                .map_err(fail)?
                .map_or(0, |v| v.value()),
            Err(_) => 0,
        };
        if has(EVENTS.name()) {
            for row in read
                .open_table(EVENTS)
                .map_err(fail)?
                .iter()
                .map_err(fail)?
            {
                let (id, bytes) = row.map_err(fail)?;
                // Listed anew when the file's listing is of an older layout.
                let entries = if layout < LAYOUT {
                    Some(Entries::of(&decode(bytes.value())?))
                } else {
                    None
                };
                txn = self.row(txn, |txn| {
                    txn.insert(&spaces.events, event_id(id.value()), bytes.value());
                    if let Some(entries) = &entries {
                        entries.insert(txn);
                    }
                })?;
            }
        }
        if layout >= LAYOUT {
            txn = self.table(txn, &read, LISTING, &spaces.listing, |key, ()| {
                let (tag, key, time, id) = key;
                (entry(tag, key, time, id).as_ref().to_vec(), Vec::new())
            })?;
        }
        txn = self.table(txn, &read, EXPIRY, &spaces.expiry, |(at, id), ()| {
            (
                crate::sweep::expiry_key(at, id).as_ref().to_vec(),
                Vec::new(),
            )
        })?;
        txn = self.table(txn, &read, RECORDS, &spaces.records, |key, document| {
            let key = crate::records::record_key(key.0, key.1);
            (key.as_ref().to_vec(), document.as_bytes().to_vec())
        })?;
        txn = self.table(txn, &read, QUARANTINE, &spaces.quarantine, |id, json| {
            (id.as_bytes().to_vec(), json.as_bytes().to_vec())
        })?;
        let by_client = &spaces.quarantine_by_client;
        txn = self.table(txn, &read, QUARANTINE_BY_CLIENT, by_client, |key, ()| {
            let key = crate::quarantine::by_client(key.0, key.1);
            (key.as_ref().to_vec(), Vec::new())
        })?;

        // The queues, and the counters (a queue's sequence is renamed with it).
        let mut queues = vec![OldQueue::of(JOB_PARTS), OldQueue::of(WEBHOOK_DELIVERIES)];
        for name in &names {
            let named = name
                .strip_prefix("queue:")
                .filter(|rest| !rest.ends_with(":visible") && !rest.ends_with(":dead_letters"));
            if let Some(named) = named {
                queues.push(OldQueue::of(named));
            }
        }
        let mut renamed = Vec::new();
        for queue in &queues {
            let tables = Tables::open(self.db, &queue.name)?;
            if has(&queue.messages) {
                let table = read
                    .open_table(QueueTable::new(&queue.messages))
                    .map_err(fail)?;
                for row in table.iter().map_err(fail)? {
                    let (seq, record) = row.map_err(fail)?;
                    let queued = Queued::from_bytes(record.value())?;
                    txn = self.row(txn, |txn| tables.put(txn, seq.value(), &queued))?;
                }
            }
            let dead_letters = QueueTable::new(&queue.dead_letters);
            txn = self.table(
                txn,
                &read,
                dead_letters,
                tables.dead_letters(),
                |seq, bytes| (seq.to_be_bytes().to_vec(), bytes.to_vec()),
            )?;
            renamed.push((queue.sequence.as_str(), tables.sequence().to_owned()));
        }
        if has(COUNTERS.name()) {
            for row in read
                .open_table(COUNTERS)
                .map_err(fail)?
                .iter()
                .map_err(fail)?
            {
                let (name, value) = row.map_err(fail)?;
                let name = name.value();
                if name == LAYOUT_COUNTER {
                    continue;
                }
                let name = renamed
                    .iter()
                    .find(|(old, _)| *old == name)
                    .map_or(name, |(_, new)| new.as_str());
                let value = value.value();
                txn = self.row(txn, |txn| txn.set_counter(name, value))?;
            }
        }
        txn.set_counter(MOVED, 1);
        txn.tx.commit().map_err(fail)
    }

    fn begin(&self) -> Txn<'db> {
        Txn {
            tx: self.db.write_tx().durability(Some(PersistMode::SyncAll)),
            spaces: self.spaces,
        }
    }

    /// Writes one row; commits and begins anew every [`ROWS_PER_COMMIT`] rows.
    fn row(
        &mut self,
        mut txn: Txn<'db>,
        write: impl FnOnce(&mut Txn),
    ) -> Result<Txn<'db>, StoreError> {
        write(&mut txn);
        self.rows += 1;
        if !self.rows.is_multiple_of(ROWS_PER_COMMIT) {
            return Ok(txn);
        }
        txn.tx.commit().map_err(fail)?;
        Ok(self.begin())
    }

    /// Copies the table `table` of the file, if it has one, into `into`, each row as `row` makes
    /// it (its key and value as bytes).
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        mut txn: Txn<'db>,
        read: &redb::ReadTransaction,
        table: TableDefinition<K, V>,
        into: &Space,
        row: impl for<'r> Fn(K::SelfType<'r>, V::SelfType<'r>) -> (Vec<u8>, Vec<u8>),
    ) -> Result<Txn<'db>, StoreError> {
        let rows = match read.open_table(table) {
            Ok(rows) => rows,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(txn),
            Err(error) => return Err(fail(error)),
        };
        for entry in rows.iter().map_err(fail)? {
            let (key, value) = entry.map_err(fail)?;
            let (key, value) = row(key.value(), value.value());
            txn = self.row(txn, |txn| txn.insert(into, key, value))?;
        }
        Ok(txn)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;
    use caliper_core::quarantine::Quarantined;
    use caliper_core::{
        Consumer, EventFilter, EventQuery, EventReader, EventStore, InsertOutcome, Order,
        QuarantineStore, RecordKind, RecordStore, Start, Verdict, Visibility,
    };
    use chrono::Utc;

    use super::*;
    use crate::{Embedded, EmbeddedQueue, QueueSettings};

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
        let page = EventReader::list(store, &query, &Start::Offset(0), 10)
            .await
            .expect("list");
        page.events.iter().map(|e| e.id).collect()
    }

    /// Writes a redb file as an earlier version left it in `dir`.
    fn write_redb(dir: &Path, write: impl FnOnce(&WriteTransaction)) {
        let db = Database::create(dir.join(REDB_FILE)).expect("create the redb file");
        let txn = db.begin_write().expect("write");
        write(&txn);
        txn.commit().expect("commit");
    }

    /// Plain JSON events in `table` under `key`, the old listing table, layout `layout`.
    fn write_older<K: redb::Key + 'static>(
        dir: &Path,
        table: TableDefinition<K, &[u8]>,
        key: impl Fn(&StoredEvent) -> K::SelfType<'_>,
        events: &[StoredEvent],
        layout: u64,
    ) {
        write_redb(dir, |txn| {
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
        });
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

        let store = Embedded::open(dir.path()).expect("open");
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
        assert!(!dir.path().join(REDB_FILE).exists(), "the file is deleted");
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

        let store = Embedded::open(dir.path()).expect("open");
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

    /// Takes every message it is handed, keeping its body.
    #[derive(Default)]
    struct Takes {
        bodies: Mutex<Vec<String>>,
        count: AtomicU32,
    }

    #[async_trait]
    impl Consumer for Takes {
        async fn consume(&self, body: &str, _: u32, _: u32) -> Verdict {
            if let Ok(mut bodies) = self.bodies.lock() {
                bodies.push(body.to_owned());
            }
            self.count.fetch_add(1, Ordering::SeqCst);
            Verdict::Done
        }

        fn retry_delay(&self, _: u32) -> std::time::Duration {
            std::time::Duration::from_millis(10)
        }
    }

    fn quarantined(id: &str, client: &str) -> Quarantined {
        Quarantined {
            id: id.into(),
            client_app_id: client.into(),
            source: "submission".into(),
            received_at: "2024-05-01T12:00:00Z".into(),
            reasons: Vec::new(),
            body: serde_json::json!({"id": "x"}),
            envelope: serde_json::json!({}),
        }
    }

    /// The redb file as the last version on redb left it (layout 3): every table moves, the
    /// counters go on where they were, and queued messages (in either format, in flight or not,
    /// with or without their visibility entry) are delivered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_last_redb_layout_moves_whole_into_the_database() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let events = [event(1, "c1", V1P2), event(2, "c1", V1P1)];
        let item = quarantined("0190a0a0-0000-7000-8000-000000000001", "c1");
        write_redb(dir.path(), |txn| {
            let mut stored = txn.open_table(EVENTS).expect("events");
            let mut keys = txn.open_table(EVENT_KEYS).expect("keys");
            let mut listing = txn.open_table(LISTING).expect("listing");
            for event in &events {
                stored
                    .insert(event.id, encode(event).expect("encode").as_slice())
                    .expect("event");
                keys.insert((event.external_id.as_str(), "c1"), event.id)
                    .expect("key");
                for key in Entries::tuples(event) {
                    let (tag, index_key, time, id) = &key;
                    listing
                        .insert((*tag, index_key.as_str(), time.as_str(), *id), ())
                        .expect("entry");
                }
            }
            keys.insert(("urn:erased", "c1"), u64::MAX)
                .expect("a tombstone");
            txn.open_table(EXPIRY)
                .expect("expiry")
                .insert((100, 1), ())
                .expect("expiry entry");
            let mut counters = txn.open_table(COUNTERS).expect("counters");
            for (name, value) in [
                (LAYOUT_COUNTER, 3),
                ("event_id", 2),
                ("queue_seq", 3),
                ("queue:exports:seq", 1),
                ("quarantine:c1", 1),
            ] {
                counters.insert(name, value).expect("counter");
            }
            let message = |body: &str, visible_at_ms: i64| {
                let json = serde_json::json!({
                    "receives": 1, "visible_at_ms": visible_at_ms, "body": body,
                });
                Queued::from_bytes(json.to_string().as_bytes())
                    .expect("a message")
                    .to_bytes()
            };
            let mut queue = txn.open_table(QueueTable::new("queue")).expect("queue");
            // One in the current format, visible; one in flight; one as JSON without its
            // visibility entry.
            queue.insert(1, message("a", 0).as_slice()).expect("a");
            queue
                .insert(2, message("b", i64::MAX).as_slice())
                .expect("b");
            let legacy = br#"{"receives":0,"visible_at_ms":0,"body":"c"}"#;
            queue.insert(3, legacy.as_slice()).expect("c");
            let mut visible = txn
                .open_table(TableDefinition::<(i64, u64), ()>::new("queue_visible"))
                .expect("visible");
            visible.insert((0, 1), ()).expect("visible a");
            visible.insert((i64::MAX, 2), ()).expect("visible b");
            txn.open_table(QueueTable::new("dead_letters"))
                .expect("dead letters")
                .insert(9, message("dead", 0).as_slice())
                .expect("dead letter");
            txn.open_table(QueueTable::new("queue:exports"))
                .expect("exports")
                .insert(1, message("step", 0).as_slice())
                .expect("step");
            txn.open_table(RECORDS)
                .expect("records")
                .insert(("webhook", "w1"), r#"{"id":"w1"}"#)
                .expect("record");
            let json = item.to_json().expect("json");
            txn.open_table(QUARANTINE)
                .expect("quarantine")
                .insert(item.id.as_str(), json.as_str())
                .expect("item");
            txn.open_table(QUARANTINE_BY_CLIENT)
                .expect("by client")
                .insert(("c1", item.id.as_str()), ())
                .expect("by client entry");
        });

        let store = Embedded::open(dir.path()).expect("open");
        assert!(!dir.path().join(REDB_FILE).exists(), "the file is deleted");
        assert_eq!(listed(&store, "c1", EventFilter::default()).await, [2, 1]);
        let v1p1 = EventFilter {
            data_version: Some(V1P1.into()),
            ..EventFilter::default()
        };
        assert_eq!(listed(&store, "c1", v1p1).await, [2]);
        assert_eq!(store.allocate_ids(1).await.expect("allocate"), 3);
        let mut erased = event(3, "c1", V1P2);
        erased.external_id = "urn:erased".into();
        assert!(matches!(
            store
                .insert_new(&[erased])
                .await
                .expect("insert")
                .as_slice(),
            [InsertOutcome::Erased]
        ));
        let record = RecordStore::get(&store, RecordKind::Webhook, "w1").await;
        assert_eq!(record.expect("record").as_deref(), Some(r#"{"id":"w1"}"#));
        let page = store.page(Some("c1"), None, 10).await.expect("page");
        assert_eq!(
            page.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
            [item.id.as_str()]
        );
        // The quarantine's count went on: at most one for c1 means a second is refused.
        let second = quarantined("0190a0a0-0000-7000-8000-000000000002", "c1");
        assert_eq!(store.keep(&second, 1).await.ok(), Some(false));
        assert_eq!(store.purge_expired(150, 10).await.expect("sweep"), 1);
        assert_eq!(listed(&store, "c1", EventFilter::default()).await, [2]);

        let jobs = EmbeddedQueue::new(store.clone(), QueueSettings::default()).expect("the queue");
        assert_eq!(jobs.depth().await.expect("depth"), (3, 1));
        // The sequence went on: a new message does not take an old one's place.
        jobs.send_bodies(vec!["d".into()]).await.expect("send");
        assert_eq!(jobs.depth().await.expect("depth"), (4, 1));
        let takes = Arc::new(Takes::default());
        let worker = tokio::spawn({
            let (jobs, takes) = (jobs.clone(), takes.clone());
            async move { jobs.run(takes).await }
        });
        while jobs.depth().await.expect("depth").0 > 0 {
            tokio::task::yield_now().await;
        }
        worker.abort();
        let mut bodies = takes.bodies.lock().expect("bodies").clone();
        bodies.sort();
        assert_eq!(bodies, ["a", "b", "c", "d"]);
        let exports = jobs
            .sibling(crate::EXPORT_STEPS, QueueSettings::default())
            .expect("exports");
        assert_eq!(exports.depth().await.expect("depth"), (1, 0));
    }

    /// A move cut short after its last write: the file is deleted at the next start and never
    /// read again, so what was erased since stays erased.
    #[tokio::test]
    async fn a_move_marked_done_deletes_the_file_without_reading_it() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let events = [event(1, "c1", V1P2)];
        let older = |dir: &Path| {
            write_older(
                dir,
                CLIENT_EVENTS,
                |e| (e.external_id.as_str(), e.client_app_id.as_str()),
                &events,
                2,
            );
        };
        older(dir.path());
        let store = Embedded::open(dir.path()).expect("open");
        assert_eq!(store.delete(&[events[0].key()]).await.ok(), Some(1));
        drop(store);
        // As if the process stopped between the move's last write and the file's deletion.
        older(dir.path());
        let store = Embedded::open(dir.path()).expect("open again");
        assert!(!dir.path().join(REDB_FILE).exists(), "the file is deleted");
        assert_eq!(
            listed(&store, "c1", EventFilter::default()).await,
            Vec::<u64>::new()
        );
        assert_eq!(
            EventStore::get(&store, &events[0].key()).await.ok(),
            Some(None)
        );
    }
}

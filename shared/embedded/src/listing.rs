//! Listings on the embedded store: one table holds every index of `caliper_core::query`, keyed by
//! (index, key, position), so that a listing is one range read in either direction. An entry is
//! its key alone: the position's id names the stored event, which the few filters an index key
//! leaves open (the plan's residual) are tested on.

use async_trait::async_trait;
use caliper_core::query::{Index, IndexFields, Plan};
use caliper_core::{
    EventPage, EventQuery, EventReader, Order, Position, Start, StoreError, StoredEvent,
};
use redb::{ReadTransaction, ReadableDatabase, Table};

use crate::db::{fail, Embedded, EVENTS, LISTING};
use crate::store::decode;

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

/// An event's listing entries: (index tag, key, time key) for every index that has a key for it;
/// its id completes each. Made before the write, so that the writer only inserts.
pub(crate) struct Entries {
    id: u64,
    time: String,
    keys: Vec<(u8, String)>,
}

impl Entries {
    pub(crate) fn of(event: &StoredEvent) -> Self {
        Self {
            id: event.id,
            time: Position::of(event).time,
            keys: Index::EVERY
                .into_iter()
                .filter_map(|index| index.key_of(event).map(|key| (tag(index), key)))
                .collect(),
        }
    }

    /// The event's allocated id.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Removes them, inside the caller's write transaction.
    pub(crate) fn remove(
        &self,
        table: &mut Table<(u8, &str, &str, u64), ()>,
    ) -> Result<(), StoreError> {
        for (tag, key) in &self.keys {
            table
                .remove((*tag, key.as_str(), self.time.as_str(), self.id))
                .map_err(fail)?;
        }
        Ok(())
    }

    /// Inserts them, inside the caller's write transaction.
    pub(crate) fn insert(
        &self,
        table: &mut Table<(u8, &str, &str, u64), ()>,
    ) -> Result<(), StoreError> {
        for (tag, key) in &self.keys {
            table
                .insert((*tag, key.as_str(), self.time.as_str(), self.id), ())
                .map_err(fail)?;
        }
        Ok(())
    }
}

/// A bound of [`EventQuery::key_range`] (a position key, a bare time with `#` or `#~`, or the
/// ends `0` and `~`) as a (time, id) pair of this table's keys. Ids start at 1 and stop short of
/// `u64::MAX`, so "just below (t, 0)" is (t, 0) and "just above (t, MAX)" is (t, MAX).
fn bound(key: &str, high: bool) -> (String, u64) {
    if let Some(position) = Position::parse(key) {
        return (position.time, position.id);
    }
    match key.rsplit_once('#') {
        Some((time, "")) => (time.to_owned(), 0),
        Some((time, _)) => (time.to_owned(), u64::MAX),
        None => (key.to_owned(), if high { u64::MAX } else { 0 }),
    }
}

fn stored(txn: &ReadTransaction, id: u64) -> Result<StoredEvent, StoreError> {
    let events = txn.open_table(EVENTS).map_err(fail)?;
    let event = events.get(id).map_err(fail)?.ok_or_else(|| {
        StoreError::new(format!("the index names event {id}, which is not stored"))
    })?;
    decode(event.value())
}

/// Walks the entries of a plan in order, keeping those its residual admits (with their event,
/// read to test it), until `visit` says stop.
fn walk(
    txn: &ReadTransaction,
    query: &EventQuery,
    start: &Start,
    mut visit: impl FnMut(u64, Option<StoredEvent>) -> bool,
) -> Result<(), StoreError> {
    let Plan {
        index,
        key,
        residual,
    } = query.plan();
    let Some((low, high)) = query.key_range(start) else {
        return Ok(());
    };
    let ((low_time, low_id), (high_time, high_id)) = (bound(&low, false), bound(&high, true));
    let table = txn.open_table(LISTING).map_err(fail)?;
    let tag = tag(index);
    let range = table
        .range(
            (tag, key.as_str(), low_time.as_str(), low_id)
                ..=(tag, key.as_str(), high_time.as_str(), high_id),
        )
        .map_err(fail)?;
    let entries: Box<dyn Iterator<Item = _>> = match query.order {
        Order::NewestFirst => Box::new(range.rev()),
        Order::OldestFirst => Box::new(range),
    };
    for entry in entries {
        let (entry, _) = entry.map_err(fail)?;
        let id = entry.value().3;
        let event = if residual.is_empty() {
            None
        } else {
            let event = stored(txn, id)?;
            if !residual.admits(&IndexFields::of(&event)) {
                continue;
            }
            Some(event)
        };
        if !visit(id, event) {
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
            let mut found = Vec::with_capacity(limit + 1);
            // One more than the page, to know whether another follows.
            walk(&txn, &query, &start, |id, event| {
                if skip > 0 {
                    skip -= 1;
                } else {
                    found.push((id, event));
                }
                found.len() <= limit
            })?;
            let more = found.len() > limit;
            found.truncate(limit);
            let events = found
                .into_iter()
                .map(|(id, event)| event.map_or_else(|| stored(&txn, id), Ok))
                .collect::<Result<_, _>>()?;
            Ok(EventPage { events, more })
        })
        .await
    }

    async fn count(&self, query: &EventQuery) -> Result<u64, StoreError> {
        let query = query.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let mut count = 0;
            walk(&txn, &query, &Start::Offset(0), |_, _| {
                count += 1;
                true
            })?;
            Ok(count)
        })
        .await
    }
}

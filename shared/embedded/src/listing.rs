//! Listings on the embedded store: one table holds every index of `caliper_core::query`, keyed by
//! (index, key, position), so that a listing is one range read in either direction. An entry is
//! its key alone: the position's id names the stored event, which the few filters an index key
//! leaves open (the plan's residual) are tested on.

use async_trait::async_trait;
use caliper_core::query::{Index, IndexFields, Plan};
use caliper_core::{
    EventPage, EventQuery, EventReader, Order, Position, Start, StoreError, StoredEvent,
};
use fjall::Readable;

use crate::db::{fail, Embedded, Txn, View};
use crate::store::{decode, event_id};
use crate::tuple::{u64_value, Key};

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

    /// The entries as (index tag, key, time key, id), as the redb file of earlier versions kept
    /// them.
    #[cfg(test)]
    pub(crate) fn tuples(event: &StoredEvent) -> Vec<(u8, String, String, u64)> {
        let entries = Self::of(event);
        let (time, id) = (entries.time.clone(), entries.id);
        entries
            .keys
            .into_iter()
            .map(|(tag, key)| (tag, key, time.clone(), id))
            .collect()
    }

    fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.keys
            .iter()
            .map(|(tag, key)| entry(*tag, key, &self.time, self.id))
    }

    /// Removes them, inside the caller's write transaction.
    pub(crate) fn remove(&self, txn: &mut Txn) {
        let spaces = txn.spaces;
        self.keys().for_each(|key| txn.remove(&spaces.listing, key));
    }

    /// Inserts them, inside the caller's write transaction.
    pub(crate) fn insert(&self, txn: &mut Txn) {
        let spaces = txn.spaces;
        self.keys()
            .for_each(|key| txn.insert(&spaces.listing, key, []));
    }
}

/// A listing entry's key: (index tag, index key, time key, allocated id).
pub(crate) fn entry(tag: u8, key: &str, time: &str, id: u64) -> Key {
    Key::new().u8(tag).str(key).str(time).u64(id)
}

/// The allocated id that ends an entry's key.
fn entry_id(entry: &[u8]) -> Result<u64, StoreError> {
    u64_value(
        entry
            .get(entry.len().saturating_sub(8)..)
            .unwrap_or_default(),
    )
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

fn stored(view: &View, id: u64) -> Result<StoredEvent, StoreError> {
    let event = view
        .get(&view.spaces.events, event_id(id))?
        .ok_or_else(|| {
            StoreError::new(format!("the index names event {id}, which is not stored"))
        })?;
    decode(&event)
}

/// Walks the entries of a plan in order, keeping those its residual admits (with their event,
/// read to test it), until `visit` says stop.
fn walk(
    view: &View,
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
    let tag = tag(index);
    let range = view.snapshot.range(
        &view.spaces.listing,
        entry(tag, &key, &low_time, low_id)..=entry(tag, &key, &high_time, high_id),
    );
    let entries: Box<dyn Iterator<Item = _>> = match query.order {
        Order::NewestFirst => Box::new(range.rev()),
        Order::OldestFirst => Box::new(range),
    };
    for entry in entries {
        let id = entry_id(&entry.key().map_err(fail)?)?;
        let event = if residual.is_empty() {
            None
        } else {
            let event = stored(view, id)?;
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
        self.blocking(move |view| {
            let mut skip = match start {
                Start::Offset(n) => n,
                Start::After(_) => 0,
            };
            let mut found = Vec::with_capacity(limit + 1);
            // One more than the page, to know whether another follows.
            walk(view, &query, &start, |id, event| {
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
                .map(|(id, event)| event.map_or_else(|| stored(view, id), Ok))
                .collect::<Result<_, _>>()?;
            Ok(EventPage { events, more })
        })
        .await
    }

    async fn count(&self, query: &EventQuery) -> Result<u64, StoreError> {
        let query = query.clone();
        self.blocking(move |view| {
            let mut count = 0;
            walk(view, &query, &Start::Offset(0), |_, _| {
                count += 1;
                true
            })?;
            Ok(count)
        })
        .await
    }
}

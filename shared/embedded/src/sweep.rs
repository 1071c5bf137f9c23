//! Purging what retention no longer keeps: every event whose expiry (`StoredEvent::expires_at`,
//! set when it was stored) has passed goes, with its key and every listing entry, in small
//! transactions, so that the sweep never holds the writer long enough to stall ingestion. No
//! tombstone is left: an expired event sent again is expired again, and not stored.

use caliper_core::{StoreError, StoredEvent};
use redb::{ReadableTable, Table};

use crate::codec::decode;
use crate::db::{fail, Embedded, EVENTS, EVENT_KEYS, EXPIRY, LISTING};
use crate::listing::Entries;

/// The tables an event lives in, open in one write transaction.
pub(crate) struct Stored<'t> {
    pub events: Table<'t, u64, &'static [u8]>,
    pub keys: Table<'t, (&'static str, &'static str), u64>,
    pub listing: Table<'t, (u8, &'static str, &'static str, u64), ()>,
}

impl Stored<'_> {
    /// Removes the event of allocated id `id` with its key and every listing entry (a tombstone
    /// under its key stays): whether there was one.
    pub(crate) fn remove(&mut self, id: u64) -> Result<bool, StoreError> {
        let Some(bytes) = self.events.remove(id).map_err(fail)? else {
            return Ok(false);
        };
        let event: StoredEvent = decode(bytes.value())?;
        drop(bytes);
        Entries::of(&event).remove(&mut self.listing)?;
        let key = (event.external_id.as_str(), event.client_app_id.as_str());
        if self.keys.get(key).map_err(fail)?.map(|g| g.value()) == Some(id) {
            self.keys.remove(key).map_err(fail)?;
        }
        Ok(true)
    }
}

impl Embedded {
    /// Purges up to `most` events expired by `now` (unix seconds), in one transaction: how many.
    pub async fn purge_expired(&self, now: i64, most: usize) -> Result<usize, StoreError> {
        self.write(move |txn| {
            let mut expiry = txn.open_table(EXPIRY).map_err(fail)?;
            let mut stored = Stored {
                events: txn.open_table(EVENTS).map_err(fail)?,
                keys: txn.open_table(EVENT_KEYS).map_err(fail)?,
                listing: txn.open_table(LISTING).map_err(fail)?,
            };
            let due: Vec<(i64, u64)> = expiry
                .range(..=(now, u64::MAX))
                .map_err(fail)?
                .take(most)
                .map(|entry| entry.map(|(key, _)| key.value()).map_err(fail))
                .collect::<Result<_, _>>()?;
            for (at, id) in &due {
                expiry.remove((*at, *id)).map_err(fail)?;
                stored.remove(*id)?;
            }
            Ok(due.len())
        })
        .await
    }

    /// Purges every event expired by `now`, `batch` at a time: how many.
    pub async fn sweep_expired(&self, now: i64, batch: usize) -> Result<usize, StoreError> {
        let mut purged = 0;
        loop {
            let done = self.purge_expired(now, batch).await?;
            purged += done;
            if done < batch {
                return Ok(purged);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use caliper_core::query::{EventFilter, EventQuery, Order, Start, Visibility};
    use caliper_core::{EventReader, EventStore, StoredEvent};

    use super::*;

    fn event(n: u64, expires_at: Option<i64>) -> StoredEvent {
        let body = serde_json::json!({
            "id": format!("urn:uuid:00000000-0000-4000-8000-{n:012}"),
            "type": "Event", "action": "Created",
            "actor": "https://example.edu/users/1", "object": "https://example.edu/things/1",
            "eventTime": format!("2024-05-01T12:00:0{n}.000Z"),
        });
        StoredEvent {
            expires_at,
            ..StoredEvent::from_event(
                &body,
                n,
                "https://example.edu/s",
                "2024-05-01T12:00:10.000Z",
                caliper_validation::CALIPER_V1P2,
                "c1",
                chrono::Utc::now(),
            )
        }
    }

    #[tokio::test]
    async fn the_sweep_purges_what_expired_in_small_transactions_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Embedded::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let events = [
            event(1, Some(100)),
            event(2, Some(100)),
            event(3, Some(200)),
            event(4, None),
        ];
        assert!(store.insert_new(&events).await.is_ok());
        // Erased before its time: its expiry entry finds nothing, and goes.
        assert_eq!(store.delete(&[events[1].key()]).await.ok(), Some(1));

        assert_eq!(store.purge_expired(150, 1).await.ok(), Some(1));
        assert_eq!(store.sweep_expired(150, 1).await.ok(), Some(1));
        assert_eq!(store.sweep_expired(150, 10).await.ok(), Some(0));
        let kept = |n: usize| events[n].key();
        assert_eq!(store.get(&kept(0)).await.ok().flatten(), None);
        assert!(store.get(&kept(2)).await.ok().flatten().is_some());
        assert!(store.get(&kept(3)).await.ok().flatten().is_some());
        let query = EventQuery {
            visibility: Visibility::Own("c1".into()),
            filter: EventFilter::default(),
            order: Order::OldestFirst,
        };
        let page = store
            .list(&query, &Start::Offset(0), 10)
            .await
            .ok()
            .map(|p| p.events.len());
        assert_eq!(page, Some(2));
        // A purged event leaves no tombstone: it is simply not stored (sent again, it is new).
        assert_eq!(
            store
                .find_ids("c1", &[kept(0).external_id])
                .await
                .ok()
                .map(|m| m.len()),
            Some(0)
        );
    }
}

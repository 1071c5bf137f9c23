//! Purging what retention no longer keeps: every event whose expiry (`StoredEvent::expires_at`,
//! set when it was stored) has passed goes, with its key and every listing entry, in small
//! transactions, so that the sweep never holds the writer long enough to stall ingestion. No
//! tombstone is left: an expired event sent again is expired again, and not stored.

use std::ops::Bound;

use caliper_core::{StoreError, StoredEvent};
use fjall::Readable;

use crate::codec::decode;
use crate::db::{fail, Embedded, Txn};
use crate::listing::Entries;
use crate::store::{event_id, event_key};
use crate::tuple::{Key, Parts};

/// An event's key in `expiry`: (when it expires, in unix seconds; allocated id).
pub(crate) fn expiry_key(at: i64, id: u64) -> Key {
    Key::new().i64(at).u64(id)
}

/// Removes the event of allocated id `id` with its key and every listing entry (a tombstone under
/// its key stays), inside the caller's write transaction: whether there was one.
pub(crate) fn remove_event(txn: &mut Txn, id: u64) -> Result<bool, StoreError> {
    let spaces = txn.spaces;
    let Some(bytes) = txn.get(&spaces.events, event_id(id))? else {
        return Ok(false);
    };
    txn.remove(&spaces.events, event_id(id));
    let event: StoredEvent = decode(&bytes)?;
    Entries::of(&event).remove(txn);
    let key = event_key(&event.external_id, &event.client_app_id);
    if txn.get(&spaces.event_keys, &key)?.as_deref() == Some(&id.to_be_bytes()[..]) {
        txn.remove(&spaces.event_keys, key);
    }
    Ok(true)
}

impl Embedded {
    /// Purges up to `most` events expired by `now` (unix seconds), in one transaction: how many.
    pub async fn purge_expired(&self, now: i64, most: usize) -> Result<usize, StoreError> {
        Ok(self.purge_after(now, most, None).await?.0)
    }

    /// Purges up to `most` events expired by `now` whose expiry entries come after `after`: how
    /// many, and the last entry purged. A sweep goes on from there: the entries it removed are
    /// still read over until the engine compacts them.
    async fn purge_after(
        &self,
        now: i64,
        most: usize,
        after: Option<fjall::UserKey>,
    ) -> Result<(usize, Option<fjall::UserKey>), StoreError> {
        self.write(move |txn: &mut Txn| {
            let spaces = txn.spaces;
            let last = expiry_key(now, u64::MAX);
            let due: Vec<fjall::UserKey> = match &after {
                Some(after) => txn.tx.range::<&[u8], _>(
                    &spaces.expiry,
                    (
                        Bound::Excluded(after.as_ref()),
                        Bound::Included(last.as_ref()),
                    ),
                ),
                None => txn.tx.range::<&[u8], _>(&spaces.expiry, ..=last.as_ref()),
            }
            .take(most)
            .map(|entry| entry.key().map_err(fail))
            .collect::<Result<_, _>>()?;
            for key in &due {
                let mut parts = Parts::of(key);
                let (_, id) = (parts.i64()?, parts.u64()?);
                txn.remove(&spaces.expiry, key.clone());
                remove_event(txn, id)?;
            }
            Ok((due.len(), due.last().cloned()))
        })
        .await
    }

    /// Purges every event expired by `now`, `batch` at a time: how many.
    pub async fn sweep_expired(&self, now: i64, batch: usize) -> Result<usize, StoreError> {
        let (mut purged, mut after) = (0, None);
        loop {
            let (done, last) = self.purge_after(now, batch, after).await?;
            purged += done;
            if done < batch {
                return Ok(purged);
            }
            after = last;
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

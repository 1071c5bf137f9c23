//! Quarantined items in the embedded database: by id (time-ordered, so newest last), their ids by
//! client, and each client's count, changed together in one write transaction.

use async_trait::async_trait;
use caliper_core::quarantine::Quarantined;
use caliper_core::{QuarantineStore, StoreError};
use fjall::Readable;

use crate::db::{fail, Embedded, Txn, View};
use crate::tuple::{Key, Parts};

fn count_key(client: &str) -> String {
    format!("quarantine:{client}")
}

pub(crate) fn by_client(client: &str, id: &str) -> Key {
    Key::new().str(client).str(id)
}

fn decode(json: &[u8]) -> Result<Quarantined, StoreError> {
    let json = std::str::from_utf8(json)
        .map_err(|_| StoreError::corrupt("embedded store holds a quarantined item not in UTF-8"))?;
    Quarantined::from_json(json)
}

/// The item `id`, if kept.
fn item(view: &View, id: &str) -> Result<Option<Quarantined>, StoreError> {
    view.get(&view.spaces.quarantine, id)?
        .map(|json| decode(&json))
        .transpose()
}

#[async_trait]
impl QuarantineStore for Embedded {
    async fn keep(&self, item: &Quarantined, most: u64) -> Result<bool, StoreError> {
        let json = item.to_json()?;
        let (id, client) = (item.id.clone(), item.client_app_id.clone());
        self.write(move |txn: &mut Txn| {
            let spaces = txn.spaces;
            if txn.get(&spaces.quarantine, &id)?.is_some() {
                return Ok(true);
            }
            let key = count_key(&client);
            let kept = txn.counter(&key)?;
            if kept >= most {
                return Ok(false);
            }
            txn.set_counter(&key, kept + 1);
            txn.insert(&spaces.quarantine, id.as_str(), json.as_bytes());
            txn.insert(&spaces.quarantine_by_client, by_client(&client, &id), []);
            Ok(true)
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<Quarantined>, StoreError> {
        let id = id.to_owned();
        self.blocking(move |view| item(view, &id)).await
    }

    async fn page(
        &self,
        client_app_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Quarantined>, StoreError> {
        let (client, after) = (client_app_id.map(str::to_owned), after.map(str::to_owned));
        self.blocking(move |view| {
            // Newest first: down from just below `after`.
            let ids: Box<dyn Iterator<Item = Result<String, StoreError>>> = match &client {
                Some(client) => {
                    let space = &view.spaces.quarantine_by_client;
                    let entries = match &after {
                        Some(after) => view
                            .snapshot
                            .range(space, Key::new().str(client)..by_client(client, after)),
                        None => view.snapshot.prefix(space, Key::new().str(client)),
                    };
                    Box::new(entries.rev().map(|entry| {
                        let key = entry.key().map_err(fail)?;
                        let mut parts = Parts::of(&key);
                        parts.str()?;
                        parts.str()
                    }))
                }
                None => {
                    let space = &view.spaces.quarantine;
                    let entries = match &after {
                        Some(after) => view.snapshot.range(space, ..after.as_bytes()),
                        None => view.snapshot.iter(space),
                    };
                    Box::new(entries.rev().map(|entry| {
                        let key = entry.key().map_err(fail)?;
                        String::from_utf8(key.to_vec()).map_err(|_| {
                            StoreError::corrupt("a quarantined item's id is not UTF-8")
                        })
                    }))
                }
            };
            let mut page = Vec::new();
            for id in ids {
                if page.len() >= limit {
                    break;
                }
                if let Some(found) = item(view, &id?)? {
                    page.push(found);
                }
            }
            Ok(page)
        })
        .await
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |txn: &mut Txn| {
            let spaces = txn.spaces;
            let Some(json) = txn.get(&spaces.quarantine, &id)? else {
                return Ok(false);
            };
            let item = decode(&json)?;
            txn.remove(&spaces.quarantine, id.as_str());
            txn.remove(
                &spaces.quarantine_by_client,
                by_client(&item.client_app_id, &id),
            );
            let key = count_key(&item.client_app_id);
            let kept = txn.counter(&key)?;
            txn.set_counter(&key, kept.saturating_sub(1));
            Ok(true)
        })
        .await
    }
}

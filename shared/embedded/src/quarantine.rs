//! Quarantined items in the embedded database: by id (time-ordered, so newest last), their ids by
//! client, and each client's count, changed together in one write transaction.

use async_trait::async_trait;
use caliper_core::quarantine::Quarantined;
use caliper_core::{QuarantineStore, StoreError};
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};

use crate::db::{fail, Embedded, COUNTERS, QUARANTINE, QUARANTINE_BY_CLIENT};

fn count_key(client: &str) -> String {
    format!("quarantine:{client}")
}

fn decode(json: &str) -> Result<Quarantined, StoreError> {
    Quarantined::from_json(json)
}

#[async_trait]
impl QuarantineStore for Embedded {
    async fn keep(&self, item: &Quarantined, most: u64) -> Result<bool, StoreError> {
        let json = item.to_json()?;
        let (id, client) = (item.id.clone(), item.client_app_id.clone());
        self.write(move |txn: &WriteTransaction| {
            let mut items = txn.open_table(QUARANTINE).map_err(fail)?;
            if items.get(id.as_str()).map_err(fail)?.is_some() {
                return Ok(true);
            }
            let mut counts = txn.open_table(COUNTERS).map_err(fail)?;
            let key = count_key(&client);
            let kept = counts
                .get(key.as_str())
                .map_err(fail)?
                .map_or(0, |c| c.value());
            if kept >= most {
                return Ok(false);
            }
            counts.insert(key.as_str(), kept + 1).map_err(fail)?;
            items.insert(id.as_str(), json.as_str()).map_err(fail)?;
            txn.open_table(QUARANTINE_BY_CLIENT)
                .map_err(fail)?
                .insert((client.as_str(), id.as_str()), ())
                .map_err(fail)?;
            Ok(true)
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<Quarantined>, StoreError> {
        let id = id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let table = txn.open_table(QUARANTINE).map_err(fail)?;
            let found = table.get(id.as_str()).map_err(fail)?;
            found.map(|json| decode(json.value())).transpose()
        })
        .await
    }

    async fn page(
        &self,
        client_app_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Quarantined>, StoreError> {
        let (client, after) = (client_app_id.map(str::to_owned), after.map(str::to_owned));
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let items = txn.open_table(QUARANTINE).map_err(fail)?;
            let mut page = Vec::new();
            let mut take = |id: &str| -> Result<bool, StoreError> {
                if let Some(json) = items.get(id).map_err(fail)? {
                    page.push(decode(json.value())?);
                }
                Ok(page.len() < limit)
            };
            match client {
                // Newest first: down from just below `after`.
                Some(client) => {
                    let by_client = txn.open_table(QUARANTINE_BY_CLIENT).map_err(fail)?;
                    let range = match &after {
                        Some(after) => by_client
                            .range((client.as_str(), "")..(client.as_str(), after.as_str())),
                        // Ids are UUIDs: "~" sorts after every one.
                        None => by_client.range((client.as_str(), "")..(client.as_str(), "~")),
                    }
                    .map_err(fail)?;
                    for entry in range.rev() {
                        let (key, _) = entry.map_err(fail)?;
                        let (owner, id) = key.value();
                        if owner != client {
                            continue;
                        }
                        if !take(id)? {
                            break;
                        }
                    }
                }
                None => {
                    let ids = txn.open_table(QUARANTINE).map_err(fail)?;
                    let range = match &after {
                        Some(after) => ids.range(..after.as_str()),
                        None => ids.range::<&str>(..),
                    }
                    .map_err(fail)?;
                    for entry in range.rev() {
                        let (key, _) = entry.map_err(fail)?;
                        if !take(key.value())? {
                            break;
                        }
                    }
                }
            }
            Ok(page)
        })
        .await
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |txn: &WriteTransaction| {
            let mut items = txn.open_table(QUARANTINE).map_err(fail)?;
            let Some(json) = items.remove(id.as_str()).map_err(fail)? else {
                return Ok(false);
            };
            let item = decode(json.value())?;
            drop(json);
            txn.open_table(QUARANTINE_BY_CLIENT)
                .map_err(fail)?
                .remove((item.client_app_id.as_str(), id.as_str()))
                .map_err(fail)?;
            let mut counts = txn.open_table(COUNTERS).map_err(fail)?;
            let key = count_key(&item.client_app_id);
            let kept = counts
                .get(key.as_str())
                .map_err(fail)?
                .map_or(0, |c| c.value());
            counts
                .insert(key.as_str(), kept.saturating_sub(1))
                .map_err(fail)?;
            Ok(true)
        })
        .await
    }
}

//! Small records (webhooks, filters, …) in the embedded database: (kind, id) → the JSON document.
//! Writes go through the store's writer like every other write; reads run on the blocking pool.

use async_trait::async_trait;
use caliper_core::{RecordKind, RecordStore, StoreError};
use redb::ReadableDatabase;

use crate::db::{fail, Embedded, RECORDS};

#[async_trait]
impl RecordStore for Embedded {
    async fn put(&self, kind: RecordKind, id: &str, document: &str) -> Result<(), StoreError> {
        let (id, document) = (id.to_owned(), document.to_owned());
        self.write(move |txn| {
            txn.open_table(RECORDS)
                .map_err(fail)?
                .insert((kind.as_str(), id.as_str()), document.as_str())
                .map_err(fail)?;
            Ok(())
        })
        .await
    }

    async fn get(&self, kind: RecordKind, id: &str) -> Result<Option<String>, StoreError> {
        let id = id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let table = txn.open_table(RECORDS).map_err(fail)?;
            let found = table.get((kind.as_str(), id.as_str())).map_err(fail)?;
            Ok(found.map(|g| g.value().to_owned()))
        })
        .await
    }

    async fn list(&self, kind: RecordKind) -> Result<Vec<String>, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(fail)?;
            let table = txn.open_table(RECORDS).map_err(fail)?;
            let name = kind.as_str();
            // Keys sort by kind first: one range holds every record of it.
            let range = table.range((name, "")..).map_err(fail)?;
            let mut documents = Vec::new();
            for entry in range {
                let (key, value) = entry.map_err(fail)?;
                if key.value().0 != name {
                    break;
                }
                documents.push(value.value().to_owned());
            }
            Ok(documents)
        })
        .await
    }
}

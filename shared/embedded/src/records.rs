//! Small records (webhooks, filters, …) in the embedded database: (kind, id) → the JSON document.
//! Writes go through the store's writer like every other write; reads run on the blocking pool.

use async_trait::async_trait;
use caliper_core::{RecordKind, RecordStore, StoreError};
use fjall::Readable;

use crate::db::{fail, Embedded, Txn};
use crate::tuple::Key;

pub(crate) fn record_key(kind: &str, id: &str) -> Key {
    Key::new().str(kind).str(id)
}

fn text(bytes: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| StoreError::corrupt("embedded store holds a record that is not UTF-8"))
}

#[async_trait]
impl RecordStore for Embedded {
    async fn put(&self, kind: RecordKind, id: &str, document: &str) -> Result<(), StoreError> {
        let (key, document) = (record_key(kind.as_str(), id), document.to_owned());
        self.write(move |txn: &mut Txn| {
            let spaces = txn.spaces;
            txn.insert(&spaces.records, key.clone(), document.as_bytes());
            Ok(())
        })
        .await
    }

    async fn get(&self, kind: RecordKind, id: &str) -> Result<Option<String>, StoreError> {
        let key = record_key(kind.as_str(), id);
        self.blocking(move |view| {
            view.get(&view.spaces.records, &key)?
                .map(|bytes| text(&bytes))
                .transpose()
        })
        .await
    }

    async fn list(&self, kind: RecordKind) -> Result<Vec<String>, StoreError> {
        self.blocking(move |view| {
            // Keys begin with their kind: one prefix holds every record of it.
            let prefix = Key::new().str(kind.as_str());
            view.snapshot
                .prefix(&view.spaces.records, &prefix)
                .map(|entry| text(&entry.value().map_err(fail)?))
                .collect()
        })
        .await
    }
}

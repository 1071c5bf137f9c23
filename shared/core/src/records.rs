//! Small records by kind and id, typed: what the domain keeps beside events (webhooks, filters,
//! and each kind to come). A kind is a [`RecordKind`] arm and a type that implements [`Record`];
//! [`Records`] saves and loads it as JSON through whichever [`RecordStore`] the backend gives.
//!
//! [`Cached`] keeps each kind's listing for a bounded time, for reads on a hot path (the webhook
//! fan-out lists every subscription per message) where every write passes through it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ports::{RecordKind, RecordStore, StoreError};

/// A type stored as a record of its kind, under its id.
pub trait Record: Serialize + DeserializeOwned + Send + Sync {
    const KIND: RecordKind;

    fn id(&self) -> &str;
}

/// The typed face of a [`RecordStore`].
#[derive(Clone)]
pub struct Records {
    store: Arc<dyn RecordStore>,
}

impl Records {
    pub fn new(store: Arc<dyn RecordStore>) -> Self {
        Self { store }
    }

    /// Creates or replaces the record of `record`'s id.
    pub async fn save<T: Record>(&self, record: &T) -> Result<(), StoreError> {
        let document = serde_json::to_string(record).map_err(|e| {
            StoreError::invalid(format!(
                "a {} record could not be written as JSON",
                T::KIND.as_str()
            ))
            .caused_by(e)
        })?;
        self.store.put(T::KIND, record.id(), &document).await
    }

    pub async fn load<T: Record>(&self, id: &str) -> Result<Option<T>, StoreError> {
        self.store
            .get(T::KIND, id)
            .await?
            .map(|document| decode(&document))
            .transpose()
    }

    /// Every record of the kind, in no particular order.
    pub async fn all<T: Record>(&self) -> Result<Vec<T>, StoreError> {
        self.store
            .list(T::KIND)
            .await?
            .iter()
            .map(|document| decode(document))
            .collect()
    }
}

fn decode<T: Record>(document: &str) -> Result<T, StoreError> {
    serde_json::from_str(document).map_err(|e| {
        StoreError::corrupt(format!(
            "a stored {} record is unreadable",
            T::KIND.as_str()
        ))
        .caused_by(e)
    })
}

/// A read-through cache of each kind's listing, kept at most `ttl`. A write through it forgets
/// its kind, so that every reader sharing one `Cached` with every writer sees each write at once:
/// exact for the embedded store, whose one process is its only writer. Another process's writes
/// would show only after `ttl`, so the Lambda functions (each its own process) do without: a
/// webhook created by one must receive the next event the fan-out of another handles. Single
/// reads are not cached.
pub struct Cached {
    inner: Arc<dyn RecordStore>,
    ttl: Duration,
    lists: Mutex<Lists>,
}

#[derive(Default)]
struct Lists {
    /// Counts writes: a listing read while one was on its way is not kept.
    writes: u64,
    kept: HashMap<RecordKind, (Instant, Arc<Vec<String>>)>,
}

impl Cached {
    pub fn new(inner: Arc<dyn RecordStore>, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            lists: Mutex::default(),
        }
    }

    fn forget(&self, kind: RecordKind) {
        if let Ok(mut lists) = self.lists.lock() {
            lists.writes += 1;
            lists.kept.remove(&kind);
        }
    }
}

#[async_trait]
impl RecordStore for Cached {
    async fn put(&self, kind: RecordKind, id: &str, document: &str) -> Result<(), StoreError> {
        let written = self.inner.put(kind, id, document).await;
        // Once written: a listing kept from before is dropped, and one read meanwhile not kept.
        self.forget(kind);
        written
    }

    async fn get(&self, kind: RecordKind, id: &str) -> Result<Option<String>, StoreError> {
        self.inner.get(kind, id).await
    }

    async fn list(&self, kind: RecordKind) -> Result<Vec<String>, StoreError> {
        let fresh = |(at, _): &&(Instant, _)| at.elapsed() < self.ttl;
        let (kept, writes) = match self.lists.lock() {
            Ok(lists) => (
                lists.kept.get(&kind).filter(fresh).map(|(_, l)| l.clone()),
                lists.writes,
            ),
            Err(_) => (None, u64::MAX),
        };
        if let Some(list) = kept {
            return Ok(list.as_ref().clone());
        }
        let started = Instant::now();
        let list = self.inner.list(kind).await?;
        if let Ok(mut lists) = self.lists.lock() {
            if lists.writes == writes {
                // Aged from when the read began: that bounds how stale it can be.
                lists.kept.insert(kind, (started, Arc::new(list.clone())));
            }
        }
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryRecords;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Note {
        id: String,
        text: String,
    }

    impl Record for Note {
        const KIND: RecordKind = RecordKind::Filter;
        fn id(&self) -> &str {
            &self.id
        }
    }

    #[tokio::test]
    async fn a_record_is_saved_and_loaded_by_its_type() {
        let records = Records::new(Arc::new(MemoryRecords::default()));
        let note = Note {
            id: "n1".into(),
            text: "hello".into(),
        };
        records.save(&note).await.expect("save");
        assert_eq!(records.load::<Note>("n1").await.expect("load"), Some(note));
        assert_eq!(records.load::<Note>("n2").await.expect("load"), None);
        assert_eq!(records.all::<Note>().await.expect("all").len(), 1);
    }

    #[tokio::test]
    async fn an_unreadable_record_is_corrupt_not_missing() {
        let store = Arc::new(MemoryRecords::default());
        store.put(Note::KIND, "n1", "{").await.expect("put");
        let error = Records::new(store)
            .load::<Note>("n1")
            .await
            .expect_err("unreadable");
        assert_eq!(error.kind, crate::ports::ErrorKind::Corrupt);
        assert!(error.to_string().contains("filter record"), "{error}");
    }

    #[tokio::test]
    async fn the_cache_sees_its_own_writes_and_keeps_others_for_its_lifetime() {
        let store = Arc::new(MemoryRecords::default());
        let cached = Cached::new(store.clone(), Duration::from_secs(3600));
        let kind = RecordKind::Webhook;
        assert!(cached.list(kind).await.expect("list").is_empty());
        cached.put(kind, "a", "{}").await.expect("put");
        assert_eq!(cached.list(kind).await.expect("list").len(), 1, "own write");
        store.put(kind, "b", "{}").await.expect("put elsewhere");
        assert_eq!(
            cached.list(kind).await.expect("list").len(),
            1,
            "another's write waits for the lifetime"
        );
        let expired = Cached::new(store, Duration::ZERO);
        assert_eq!(expired.list(kind).await.expect("list").len(), 2);
    }
}

use std::path::Path;
use std::sync::Arc;

use caliper_core::StoreError;
use redb::{Database, TableDefinition};

pub(crate) const JOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("jobs");
pub(crate) const EVENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("events");
/// Listing indexes: (index, key, position) → the entry's fields. See `caliper_core::query`.
pub(crate) const EVENT_INDEX: TableDefinition<(u8, &str, &str), &[u8]> =
    TableDefinition::new("event_index");
pub(crate) const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
pub(crate) const QUEUE: TableDefinition<u64, &[u8]> = TableDefinition::new("queue");
pub(crate) const DEAD_LETTERS: TableDefinition<u64, &[u8]> = TableDefinition::new("dead_letters");
/// Webhooks and their filters: (kind, id) → the JSON document.
pub(crate) const WEBHOOKS: TableDefinition<(&str, &str), &str> = TableDefinition::new("webhooks");
pub(crate) const DELIVERY_QUEUE: TableDefinition<u64, &[u8]> =
    TableDefinition::new("delivery_queue");
pub(crate) const DELIVERY_DEAD_LETTERS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("delivery_dead_letters");

/// The embedded database: implements the job and event stores; [`crate::EmbeddedQueue`] shares it.
#[derive(Clone)]
pub struct Embedded {
    pub(crate) db: Arc<Database>,
}

impl Embedded {
    /// Opens (or creates) `dir/caliper.redb`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::new(format!(
                "cannot create the data directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join("caliper.redb");
        let db = Database::create(&path)
            .map_err(|e| StoreError::new(format!("cannot open {}: {e}", path.display())))?;
        // Create every table up front so that readers never meet a missing one.
        let txn = db.begin_write().map_err(fail)?;
        txn.open_table(JOBS).map_err(fail)?;
        txn.open_table(EVENTS).map_err(fail)?;
        txn.open_table(EVENT_INDEX).map_err(fail)?;
        txn.open_table(COUNTERS).map_err(fail)?;
        txn.open_table(QUEUE).map_err(fail)?;
        txn.open_table(DEAD_LETTERS).map_err(fail)?;
        txn.open_table(WEBHOOKS).map_err(fail)?;
        txn.open_table(DELIVERY_QUEUE).map_err(fail)?;
        txn.open_table(DELIVERY_DEAD_LETTERS).map_err(fail)?;
        txn.commit().map_err(fail)?;
        crate::listing::index_stored_events(&db)?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Runs blocking database work off the async runtime's worker threads.
    pub(crate) async fn blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(|e| StoreError::new(format!("embedded store task failed: {e}")))?
    }
}

/// Any redb error as a store error.
pub(crate) fn fail(error: impl std::fmt::Display) -> StoreError {
    StoreError::new(format!("embedded store: {error}"))
}

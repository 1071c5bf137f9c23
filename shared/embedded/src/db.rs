use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use caliper_core::StoreError;
use redb::{Database, TableDefinition, WriteTransaction};

use crate::writer::{Writer, Writes};

pub(crate) const JOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("jobs");
/// Stored events by their allocated id (unique across clients) → the event, compressed.
pub(crate) const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("stored_events");
/// (Caliper id, client) → the allocated id. A Caliper id names an event within its client's
/// events; the id first, so that an admin finds every client's event of one id in one range.
pub(crate) const EVENT_KEYS: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("event_keys");
/// Listing indexes: (index, key, time key, allocated id), each entry a position of
/// `caliper_core::query` and nothing else. See [`crate::listing`].
pub(crate) const LISTING: TableDefinition<(u8, &str, &str, u64), ()> =
    TableDefinition::new("listing");
pub(crate) const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
/// (when it expires, in unix seconds; allocated id) → (): the events a retention will purge, in
/// the order it purges them ([`crate::sweep`]).
pub(crate) const EXPIRY: TableDefinition<(i64, u64), ()> = TableDefinition::new("expiry");
/// A queue: sequence number → the message; and (visible from, in ms, sequence number) → (), the
/// order in which its messages can be taken (`i64::MAX` while in flight).
pub(crate) const QUEUE: TableDefinition<u64, &[u8]> = TableDefinition::new("queue");
pub(crate) const QUEUE_VISIBLE: TableDefinition<(i64, u64), ()> =
    TableDefinition::new("queue_visible");
pub(crate) const DEAD_LETTERS: TableDefinition<u64, &[u8]> = TableDefinition::new("dead_letters");
/// Small records (webhooks, filters, …): (kind, id) → the JSON document. The table keeps the name
/// it had when it held webhooks only.
pub(crate) const RECORDS: TableDefinition<(&str, &str), &str> = TableDefinition::new("webhooks");
/// Quarantined items by id (time-ordered), as JSON ([`caliper_core::quarantine`]).
pub(crate) const QUARANTINE: TableDefinition<&str, &str> = TableDefinition::new("quarantine");
/// The same items' ids by client, for one client's listing; each client's count is in
/// [`COUNTERS`] under `quarantine:<client>`.
pub(crate) const QUARANTINE_BY_CLIENT: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("quarantine_by_client");
pub(crate) const DELIVERY_QUEUE: TableDefinition<u64, &[u8]> =
    TableDefinition::new("delivery_queue");
pub(crate) const DELIVERY_QUEUE_VISIBLE: TableDefinition<(i64, u64), ()> =
    TableDefinition::new("delivery_queue_visible");
pub(crate) const DELIVERY_DEAD_LETTERS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("delivery_dead_letters");

/// The embedded database: implements the job and event stores; [`crate::EmbeddedQueue`] shares it.
///
/// Reads run on the blocking pool, each in its own read transaction. Writes go to one writer
/// thread, which commits every write waiting for it in one transaction (see [`crate::writer`]).
///
/// When the last handle goes, it waits for the database work still running (a cancelled request's
/// work runs to its end), so that the file is closed once every handle is gone and can be opened
/// again at once.
#[derive(Clone)]
pub struct Embedded {
    pub(crate) db: Arc<Database>,
    open: Arc<Open>,
}

/// Shared by the handles only; dropped with the last one.
struct Open {
    in_flight: Arc<InFlight>,
    writes: Mutex<Option<Writes>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.in_flight.wait_until_idle();
        // Closing the channel ends the writer once it has committed what it holds.
        if let Ok(mut writes) = self.writes.lock() {
            writes.take();
        }
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(writer) = writer {
            let _ = writer.join();
        }
    }
}

/// How many pieces of database work are running.
#[derive(Default)]
struct InFlight {
    count: Mutex<usize>,
    idle: Condvar,
}

impl InFlight {
    fn enter(self: &Arc<Self>) -> Working {
        if let Ok(mut count) = self.count.lock() {
            *count += 1;
        }
        Working(self.clone())
    }

    fn wait_until_idle(&self) {
        let Ok(count) = self.count.lock() else { return };
        // A poisoned lock means a piece of work panicked; there is nothing left to wait for.
        drop(self.idle.wait_while(count, |n| *n > 0));
    }
}

/// One piece of database work; leaving says so, even when the work panics.
struct Working(Arc<InFlight>);

impl Drop for Working {
    fn drop(&mut self) {
        if let Ok(mut count) = self.0.count.lock() {
            *count = count.saturating_sub(1);
        }
        self.0.idle.notify_all();
    }
}

impl Embedded {
    /// Opens (or creates) `dir/caliper.redb` with the default cache.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, &StoreSettings::default())
    }

    /// Opens (or creates) `dir/caliper.redb`. It holds learners' data and webhook secrets: a
    /// directory made here is its owner's only (0700), and the file is (0600) whatever it was.
    pub fn open_with(dir: &Path, settings: &StoreSettings) -> Result<Self, StoreError> {
        private_dir(dir).map_err(|e| {
            StoreError::new(format!(
                "cannot create the data directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join("caliper.redb");
        let db = Database::builder()
            .set_cache_size(settings.cache_bytes)
            .create(&path)
            .map_err(|e| StoreError::new(format!("cannot open {}: {e}", path.display())))?;
        owner_only(&path, 0o600)
            .map_err(|e| StoreError::new(format!("cannot make {} private: {e}", path.display())))?;
        // Create every table up front so that readers never meet a missing one.
        let txn = db.begin_write().map_err(fail)?;
        txn.open_table(JOBS).map_err(fail)?;
        txn.open_table(EVENTS).map_err(fail)?;
        txn.open_table(EVENT_KEYS).map_err(fail)?;
        txn.open_table(LISTING).map_err(fail)?;
        txn.open_table(COUNTERS).map_err(fail)?;
        txn.open_table(EXPIRY).map_err(fail)?;
        txn.open_table(QUEUE).map_err(fail)?;
        txn.open_table(QUEUE_VISIBLE).map_err(fail)?;
        txn.open_table(DEAD_LETTERS).map_err(fail)?;
        txn.open_table(RECORDS).map_err(fail)?;
        txn.open_table(DELIVERY_QUEUE).map_err(fail)?;
        txn.open_table(DELIVERY_QUEUE_VISIBLE).map_err(fail)?;
        txn.open_table(DELIVERY_DEAD_LETTERS).map_err(fail)?;
        txn.open_table(QUARANTINE).map_err(fail)?;
        txn.open_table(QUARANTINE_BY_CLIENT).map_err(fail)?;
        crate::queue::create_tables(&txn, crate::queue::EXPORT_STEPS)?;
        crate::queue::create_tables(&txn, crate::queue::ERASURE_STEPS)?;
        txn.commit().map_err(fail)?;
        crate::layouts::upgrade(&db)?;
        let db = Arc::new(db);
        let (writes, writer) = Writer::start(db.clone())
            .map_err(|e| StoreError::new(format!("cannot start the store's writer: {e}")))?;
        Ok(Self {
            db,
            open: Arc::new(Open {
                in_flight: Arc::default(),
                writes: Mutex::new(Some(writes)),
                writer: Mutex::new(Some(writer)),
            }),
        })
    }

    /// Runs `work` in a write transaction and answers once that transaction is committed (and
    /// so on disk). The transaction is shared with the other writes waiting at the time; should
    /// `work` fail, its writes are undone, and it runs again alone to give its answer.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let (pending, answer) = crate::writer::pending(work);
        let sent = self
            .open
            .writes
            .lock()
            .ok()
            .and_then(|w| w.as_ref().map(|w| w.send(pending).is_ok()));
        if sent != Some(true) {
            return Err(StoreError::new("the embedded store is closing"));
        }
        answer
            .await
            .map_err(|_| StoreError::new("the embedded store's writer stopped"))?
    }

    /// Runs blocking database work off the async runtime's worker threads.
    pub(crate) async fn blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.db.clone();
        let working = self.open.in_flight.enter();
        tokio::task::spawn_blocking(move || {
            let result = work(&db);
            // The database first, then the count: a waiting last handle sees it released.
            drop(db);
            drop(working);
            result
        })
        .await
        .map_err(|e| StoreError::new(format!("embedded store task failed: {e}")))?
    }
}

/// How the database file is opened.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// Bytes of pages the database keeps in memory: what bounds its resident memory whatever
    /// the size of the file.
    pub cache_bytes: usize,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            cache_bytes: 64 << 20,
        }
    }
}

/// Creates `dir` (and its parents) for its owner only; one that exists is left as it is, as it
/// may be shared on purpose, but a warning says when others can read it.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir)?.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    dir = %dir.display(),
                    mode = format!("{:o}", mode & 0o777),
                    "the data directory is open to other users; chmod 700 it to keep its data private"
                );
            }
        }
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Sets `path`'s permissions to `mode` (owner-only on unix; nothing elsewhere).
pub(crate) fn owner_only(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Any redb error as a store error.
pub(crate) fn fail(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::new("embedded store").caused_by(error)
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_data_directory_and_its_file_are_the_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().expect("a temporary directory");
        let dir = parent.path().join("data").join("caliper");
        let mode = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| m.permissions().mode() & 0o777)
                .ok()
        };
        drop(Embedded::open(&dir).expect("open"));
        assert_eq!(mode(&dir), Some(0o700));
        assert_eq!(mode(&dir.join("caliper.redb")), Some(0o600));
        // A file left readable by an older version is tightened when opened.
        std::fs::set_permissions(
            dir.join("caliper.redb"),
            std::fs::Permissions::from_mode(0o644),
        )
        .expect("loosen");
        drop(Embedded::open(&dir).expect("reopen"));
        assert_eq!(mode(&dir.join("caliper.redb")), Some(0o600));
    }

    /// A request cancelled while its database work runs: the last handle's drop waits for that
    /// work, so the file opens again at once (before, the reopen could meet "Database already open").
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_last_handle_waits_for_running_work_and_the_file_reopens() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Embedded::open(dir.path()).expect("open");
        let (release, released) = mpsc::channel::<()>();
        let (started, running) = mpsc::channel::<()>();
        let request = tokio::spawn({
            let store = store.clone();
            async move {
                store
                    .blocking(move |_| {
                        let _ = started.send(());
                        let _ = released.recv();
                        Ok(())
                    })
                    .await
            }
        });
        running.recv().expect("the work started");
        request.abort();
        let _ = request.await;

        let path = dir.path().to_owned();
        let (reopened, reopen) = mpsc::channel();
        std::thread::spawn(move || {
            drop(store);
            let _ = reopened.send(Embedded::open(&path).map(|_| ()));
        });
        // The drop waits for the work: no answer yet (a bounded look, not a condition of passing).
        assert!(
            reopen.recv_timeout(Duration::from_millis(200)).is_err(),
            "the last handle went while its work still held the database"
        );
        release.send(()).expect("release the work");
        let outcome = reopen.recv().expect("the reopening thread answers");
        assert!(outcome.is_ok(), "{outcome:?}");
    }
}

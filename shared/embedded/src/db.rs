use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use caliper_core::StoreError;
use fjall::config::PinningPolicy;
use fjall::{KeyspaceCreateOptions, Readable, SingleWriterTxDatabase, Snapshot};

use crate::queue::Shared;
use crate::writer::{Writer, Writes};

/// A keyspace of the database (a table: its keys sort by their bytes, see [`crate::tuple`]).
pub(crate) type Space = fjall::SingleWriterTxKeyspace;

/// The directory of the database, in the data directory.
pub const STORE_DIR: &str = "caliper.fjall";

/// The most of the journal kept before the changes it holds are written to the keyspaces' files
/// (the least the engine allows).
const JOURNAL_BYTES: u64 = 64 << 20;

/// How every keyspace is made: changes held in memory up to 8 MiB each, below the journal's
/// bound, so that a busy keyspace's changes are written out before the journal forces them all;
/// the tables' index and filter blocks read through the block cache rather than pinned in memory,
/// so that the cache bounds them whatever the size of the data.
pub(crate) fn space_options() -> KeyspaceCreateOptions {
    KeyspaceCreateOptions::default()
        .max_memtable_size(8 << 20)
        .index_block_pinning_policy(PinningPolicy::all(false))
        .filter_block_pinning_policy(PinningPolicy::all(false))
}

/// The keyspaces every store has; each queue's are its own ([`crate::queue`]).
pub(crate) struct Spaces {
    /// Job id → the job record, packed.
    pub jobs: Space,
    /// Stored events by their allocated id (unique across clients) → the event, packed.
    pub events: Space,
    /// (Caliper id, client) → the allocated id. A Caliper id names an event within its client's
    /// events; the id first, so that an admin finds every client's event of one id in one range.
    pub event_keys: Space,
    /// Listing indexes: (index, key, time key, allocated id) → nothing, each entry a position of
    /// `caliper_core::query` and nothing else. See [`crate::listing`].
    pub listing: Space,
    /// Name → a number (8 bytes big-endian): id and sequence counters, quarantine counts.
    pub counters: Space,
    /// (when it expires, in unix seconds; allocated id) → nothing: the events a retention will
    /// purge, in the order it purges them ([`crate::sweep`]).
    pub expiry: Space,
    /// Small records (webhooks, filters, …): (kind, id) → the JSON document.
    pub records: Space,
    /// Quarantined items by id (time-ordered) → JSON ([`caliper_core::quarantine`]).
    pub quarantine: Space,
    /// (client, item id) → nothing, for one client's listing; each client's count is in
    /// `counters` under `quarantine:<client>`.
    pub quarantine_by_client: Space,
}

impl Spaces {
    pub(crate) fn open(db: &SingleWriterTxDatabase) -> Result<Self, StoreError> {
        let open = |name: &str| db.keyspace(name, space_options).map_err(fail);
        Ok(Self {
            jobs: open("jobs")?,
            events: open("stored_events")?,
            event_keys: open("event_keys")?,
            listing: open("listing")?,
            counters: open("counters")?,
            expiry: open("expiry")?,
            records: open("records")?,
            quarantine: open("quarantine")?,
            quarantine_by_client: open("quarantine_by_client")?,
        })
    }
}

/// A write transaction of the writer, with the store's keyspaces.
pub(crate) struct Txn<'a> {
    pub tx: fjall::SingleWriterWriteTx<'a>,
    pub spaces: &'a Spaces,
}

impl Txn<'_> {
    pub(crate) fn get(
        &self,
        space: &Space,
        key: impl AsRef<[u8]>,
    ) -> Result<Option<fjall::UserValue>, StoreError> {
        self.tx.get(space, key).map_err(fail)
    }

    pub(crate) fn insert(
        &mut self,
        space: &Space,
        key: impl Into<fjall::UserKey>,
        value: impl Into<fjall::UserValue>,
    ) {
        self.tx.insert(space, key, value);
    }

    pub(crate) fn remove(&mut self, space: &Space, key: impl Into<fjall::UserKey>) {
        self.tx.remove(space, key);
    }

    /// A counter's value (0 when never set).
    pub(crate) fn counter(&self, name: &str) -> Result<u64, StoreError> {
        self.get(&self.spaces.counters, name)?
            .map_or(Ok(0), |bytes| crate::tuple::u64_value(&bytes))
    }

    pub(crate) fn set_counter(&mut self, name: &str, value: u64) {
        let counters = &self.spaces.counters;
        self.tx.insert(counters, name, value.to_be_bytes());
    }
}

/// A consistent view of the database for one piece of reading work.
pub(crate) struct View<'a> {
    pub snapshot: Snapshot,
    pub spaces: &'a Spaces,
}

impl View<'_> {
    pub(crate) fn get(
        &self,
        space: &Space,
        key: impl AsRef<[u8]>,
    ) -> Result<Option<fjall::UserValue>, StoreError> {
        self.snapshot.get(space, key).map_err(fail)
    }
}

/// The embedded database: implements the job and event stores; [`crate::EmbeddedQueue`] shares it.
///
/// Reads run on the blocking pool, each on its own snapshot. Writes go to one writer thread,
/// which commits every write waiting for it in one transaction (see [`crate::writer`]).
///
/// When the last handle goes, it waits for the database work still running (a cancelled request's
/// work runs to its end), so that the database is closed once every handle is gone and can be
/// opened again at once.
#[derive(Clone)]
pub struct Embedded {
    pub(crate) db: SingleWriterTxDatabase,
    pub(crate) spaces: Arc<Spaces>,
    /// Each queue opened, by name: its handles share it.
    queues: Arc<Mutex<HashMap<String, Arc<Shared>>>>,
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
    /// Opens (or creates) the database in `dir` with the default cache.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, &StoreSettings::default())
    }

    /// Opens (or creates) the database in `dir/caliper.fjall`, moving into it what a data
    /// directory of an earlier version holds (`caliper.redb`, [`crate::layouts`]). It holds
    /// learners' data and webhook secrets: the directories made here are their owner's only
    /// (0700), and the database's is made so whatever it was.
    pub fn open_with(dir: &Path, settings: &StoreSettings) -> Result<Self, StoreError> {
        private_dir(dir).map_err(|e| {
            StoreError::new(format!(
                "cannot create the data directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join(STORE_DIR);
        private_dir(&path)
            .map_err(|e| StoreError::new(format!("cannot create {}: {e}", path.display())))?;
        owner_only(&path, 0o700)
            .map_err(|e| StoreError::new(format!("cannot make {} private: {e}", path.display())))?;
        let db = SingleWriterTxDatabase::builder(&path)
            .cache_size(u64::try_from(settings.cache_bytes).unwrap_or(u64::MAX))
            // Changes are held in memory until the journal that has them reaches this: it bounds
            // the memory they take, whatever the write rate.
            .max_journaling_size(JOURNAL_BYTES)
            .open()
            .map_err(|e| StoreError::new(format!("cannot open {}: {e}", path.display())))?;
        let spaces = Arc::new(Spaces::open(&db)?);
        crate::layouts::move_older(dir, &db, &spaces)?;
        let (writes, writer) = Writer::start(db.clone(), spaces.clone())
            .map_err(|e| StoreError::new(format!("cannot start the store's writer: {e}")))?;
        Ok(Self {
            db,
            spaces,
            queues: Arc::default(),
            open: Arc::new(Open {
                in_flight: Arc::default(),
                writes: Mutex::new(Some(writes)),
                writer: Mutex::new(Some(writer)),
            }),
        })
    }

    /// The queue `name`, opened (and its tables made) on first use.
    pub(crate) fn queue(&self, name: &str) -> Result<Arc<Shared>, StoreError> {
        let mut queues = self
            .queues
            .lock()
            .map_err(|_| StoreError::new("the embedded store's queues were poisoned by a panic"))?;
        if let Some(queue) = queues.get(name) {
            return Ok(queue.clone());
        }
        let queue = Arc::new(Shared::open(&self.db, name)?);
        queues.insert(name.to_owned(), queue.clone());
        Ok(queue)
    }

    /// Runs `work` in a write transaction and answers once that transaction is committed (and
    /// so on disk). The transaction is shared with the other writes waiting at the time; should
    /// `work` fail, its writes are undone, and it runs again alone to give its answer.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&mut Txn) -> Result<T, StoreError> + Send + 'static,
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
        F: FnOnce(&View) -> Result<T, StoreError> + Send + 'static,
    {
        let (db, spaces) = (self.db.clone(), self.spaces.clone());
        let working = self.open.in_flight.enter();
        tokio::task::spawn_blocking(move || {
            let view = View {
                snapshot: db.read_tx(),
                spaces: &spaces,
            };
            let result = work(&view);
            // The database first, then the count: a waiting last handle sees it released.
            drop(view);
            drop((db, spaces));
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
    /// Bytes of blocks the database keeps in memory, and (a bound of its own) of changes not
    /// yet written to its tables: what bounds its resident memory whatever its size.
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

/// Any engine error as a store error.
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
    fn the_data_directory_and_its_database_are_the_owners_only() {
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
        assert_eq!(mode(&dir.join(STORE_DIR)), Some(0o700));
        // A database directory left open by a copy is closed again when opened.
        std::fs::set_permissions(dir.join(STORE_DIR), std::fs::Permissions::from_mode(0o755))
            .expect("loosen");
        drop(Embedded::open(&dir).expect("reopen"));
        assert_eq!(mode(&dir.join(STORE_DIR)), Some(0o700));
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

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

use caliper_core::StoreError;
use redb::{Database, TableDefinition};

pub(crate) const JOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("jobs");
/// Stored events: (Caliper id, client) → the event. A Caliper id names an event within its client's
/// events; the id first, so that an admin finds every client's event of one id in one range.
pub(crate) const EVENTS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("client_events");
/// Where events were kept before they were keyed by client: read once, to move them.
pub(crate) const EVENTS_BY_ID: TableDefinition<&str, &[u8]> = TableDefinition::new("events");
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
///
/// When the last handle goes, it waits for the database work still running on the blocking pool
/// (a cancelled request's work runs to its end there), so that the file is closed once every handle
/// is gone and can be opened again at once.
#[derive(Clone)]
pub struct Embedded {
    pub(crate) db: Arc<Database>,
    open: Arc<Open>,
}

/// Shared by the handles only; dropped with the last one.
struct Open {
    in_flight: Arc<InFlight>,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.in_flight.wait_until_idle();
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
    /// Opens (or creates) `dir/caliper.redb`. It holds learners' data and webhook secrets: a
    /// directory made here is its owner's only (0700), and the file is (0600) whatever it was.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        private_dir(dir).map_err(|e| {
            StoreError::new(format!(
                "cannot create the data directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join("caliper.redb");
        let db = Database::create(&path)
            .map_err(|e| StoreError::new(format!("cannot open {}: {e}", path.display())))?;
        owner_only(&path, 0o600)
            .map_err(|e| StoreError::new(format!("cannot make {} private: {e}", path.display())))?;
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
        crate::store::key_events_by_client(&db)?;
        crate::listing::index_stored_events(&db)?;
        Ok(Self {
            db: Arc::new(db),
            open: Arc::new(Open {
                in_flight: Arc::default(),
            }),
        })
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
fn owner_only(path: &Path, mode: u32) -> std::io::Result<()> {
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
pub(crate) fn fail(error: impl std::fmt::Display) -> StoreError {
    StoreError::new(format!("embedded store: {error}"))
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

//! Embedded adapters for local runs: everything in one database (fjall, a log-structured merge
//! tree) under a data directory, so that jobs, events and queued messages survive a restart, with
//! no AWS and no emulator.

mod codec;
mod db;
mod files;
mod keys;
mod layouts;
mod listing;
mod quarantine;
mod queue;
mod records;
mod store;
mod sweep;
mod tuple;
mod writer;

pub use db::{private_dir, Embedded, StoreSettings, STORE_DIR};
pub use files::{DirFiles, EXPORTS_DIR};
pub use keys::{cursor_signer, CURSOR_KEYS_FILE};
pub use layouts::REDB_FILE;
pub use queue::{
    EmbeddedQueue, QueueSettings, ERASURE_STEPS, EXPORT_STEPS, JOB_PARTS, WEBHOOK_DELIVERIES,
};

use std::path::Path;
use std::sync::Arc;

use caliper_core::records::Cached;
use caliper_core::{Ports, StoreError};

/// How long a kind's listing of records is kept in memory (see [`Cached`]).
const RECORD_LISTINGS_KEPT: std::time::Duration = std::time::Duration::from_secs(60);

/// How to open the embedded backend: the database, and each queue's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub store: StoreSettings,
    pub jobs: QueueSettings,
    pub deliveries: QueueSettings,
    /// The steps of exports and of erasures, each on its queue.
    pub steps: QueueSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            store: StoreSettings::default(),
            jobs: QueueSettings::default(),
            deliveries: QueueSettings {
                // As `CALIPER_DELIVERY_ATTEMPTS` defaults in AWS.
                max_receives: 8,
                ..QueueSettings::default()
            },
            // An export's step holds a file of events in memory: one at a time per queue.
            steps: QueueSettings {
                concurrency: 1,
                backlog_limit: None,
                ..QueueSettings::default()
            },
        }
    }
}

/// The embedded backend over one database: its ports, and the queues whose workers the caller
/// runs (`EmbeddedQueue::run`).
pub struct Backend {
    pub ports: Ports,
    /// The database itself, for the work only the embedded store does (the retention sweep).
    pub store: Embedded,
    pub jobs: EmbeddedQueue,
    pub deliveries: EmbeddedQueue,
    pub exports: EmbeddedQueue,
    pub erasures: EmbeddedQueue,
}

/// Opens (or creates) the database in `dir`.
pub fn open(dir: &Path, settings: &Settings) -> Result<Backend, StoreError> {
    let store = Embedded::open_with(dir, &settings.store)?;
    let sweeper = store.clone();
    let signer = Arc::new(cursor_signer(dir)?);
    let jobs = EmbeddedQueue::new(store.clone(), settings.jobs.clone())?;
    let deliveries = jobs.delivery_queue(settings.deliveries.clone())?;
    let exports = jobs.sibling(EXPORT_STEPS, settings.steps.clone())?;
    let erasures = jobs.sibling(ERASURE_STEPS, settings.steps.clone())?;
    // Every write of a record goes through this one cache (the file has no other writer), so
    // its listings are never stale; the lifetime only bounds what an idle kind holds.
    let records: Arc<dyn caliper_core::RecordStore> =
        Arc::new(Cached::new(Arc::new(store.clone()), RECORD_LISTINGS_KEPT));
    let ports = Ports {
        jobs: Arc::new(store.clone()),
        events: Arc::new(store.clone()),
        reader: Arc::new(store.clone()),
        stored: Arc::new(store.clone()),
        queue: Arc::new(jobs.clone()),
        deliveries: Arc::new(deliveries.clone()),
        export_steps: Arc::new(exports.clone()),
        erasure_steps: Arc::new(erasures.clone()),
        files: Arc::new(DirFiles::new(dir)),
        records: records.clone(),
        retention: caliper_core::retention::Retention::new(records, None),
        quarantine: Arc::new(store),
        signer,
        // The database file is its owner's only.
        secrets: Arc::new(caliper_core::PlainSecrets),
    };
    Ok(Backend {
        ports,
        store: sweeper,
        jobs,
        deliveries,
        exports,
        erasures,
    })
}

/// [`open`] with default settings but the job queue's: the ports and the job queue.
pub fn ports(dir: &Path, jobs: QueueSettings) -> Result<(Ports, EmbeddedQueue), StoreError> {
    let backend = open(
        dir,
        &Settings {
            jobs,
            ..Settings::default()
        },
    )?;
    Ok((backend.ports, backend.jobs))
}

//! Embedded adapters for local runs: everything in one redb file under a data directory, so that
//! jobs, events and queued messages survive a restart, with no AWS and no emulator.

mod codec;
mod db;
mod keys;
mod layouts;
mod listing;
mod queue;
mod store;
mod webhooks;
mod writer;

pub use db::{private_dir, Embedded, StoreSettings};
pub use keys::{cursor_signer, CURSOR_KEYS_FILE};
pub use queue::{EmbeddedQueue, QueueSettings};

use std::path::Path;
use std::sync::Arc;

use caliper_core::{Ports, StoreError};

/// The embedded ports over one database in `dir`, and the job queue (whose worker the caller runs).
pub fn ports(dir: &Path, settings: QueueSettings) -> Result<(Ports, EmbeddedQueue), StoreError> {
    ports_with(dir, &StoreSettings::default(), settings)
}

/// [`ports`], with the database opened as `store` says.
pub fn ports_with(
    dir: &Path,
    store: &StoreSettings,
    settings: QueueSettings,
) -> Result<(Ports, EmbeddedQueue), StoreError> {
    let store = Embedded::open_with(dir, store)?;
    let signer = Arc::new(cursor_signer(dir)?);
    let queue = EmbeddedQueue::new(store.clone(), settings);
    let ports = Ports {
        jobs: Arc::new(store.clone()),
        events: Arc::new(store.clone()),
        reader: Arc::new(store.clone()),
        queue: Arc::new(queue.clone()),
        webhooks: Arc::new(store),
        signer,
        // The database file is its owner's only.
        secrets: Arc::new(caliper_core::PlainSecrets),
    };
    Ok((ports, queue))
}

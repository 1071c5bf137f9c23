//! Embedded adapters for local runs: everything in one redb file under a data directory, so that
//! jobs, events and queued messages survive a restart, with no AWS and no emulator.

mod db;
mod queue;
mod store;

pub use db::Embedded;
pub use queue::{EmbeddedQueue, QueueSettings};

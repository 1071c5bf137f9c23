//! The domain of the Caliper Events API: jobs, stored events, id allocation and idempotency.
//!
//! Everything here is written against the small ports in [`ports`]; the adapters (DynamoDB and SQS,
//! or the embedded store and queue) live in their own crates and are chosen by the binaries.
//!
//! - [`clients`]: each client's settings and its API keys; [`flag`]: what an event needs to be
//!   stored at all under the `flag` policy;
//! - [`erasures`]: a learner's events and quarantined items removed, a receipt naming no one;
//! - [`exports`]: a reader's events as files, partitioned by date, made step by step;
//! - [`identity`]: who is calling ([`Caller`]) and what they may see and change;
//! - [`intake`]: a body judged by its client's policy, and taken from producers that cannot be
//!   refused (connectors: what fails is quarantined);
//! - [`submit`]: an envelope becomes a job and its queue messages ([`message`]);
//! - [`process`]: a message's events are stored once ([`record`]: the job's progress);
//! - [`query`]: what a listing asks and which index answers it;
//! - [`packed`]: stored events compressed, with a dictionary of Caliper's vocabulary;
//! - [`records`]: small typed records (webhooks, filters) by kind and id;
//! - [`webhooks`]: subscriptions, filters, fan-out and signed delivery;
//! - [`work`]: background work of many kinds, each a [`Consumer`] of its queue by one delivery
//!   policy; [`steps`]: long work (an export) as a chain of bounded steps; [`workers`]: the kinds of today, built one way for every runner; [`retry`]: when a
//!   failed message is tried again; [`schedule`]: work the clock starts;
//! - [`retention`]: how long each client's events are kept, and reads that never answer past it;
//! - [`settings`]: typed settings, read through a reader the binaries hand in.

pub mod clients;
pub mod erasures;
pub mod exports;
mod fields;
pub mod flag;
pub mod identity;
pub mod intake;
pub mod message;
pub mod model;
pub mod packed;
pub mod ports;
pub mod process;
pub mod quarantine;
pub mod query;
pub mod record;
pub mod records;
pub mod retention;
pub mod retry;
pub mod schedule;
pub mod settings;
pub mod signer;
pub mod steps;
pub mod submit;
pub mod webhooks;
pub mod work;
pub mod workers;

/// What a stored event's `problems` hold (under the `flag` policy).
pub use caliper_validation::Problem;
pub use identity::{Caller, Forbidden, Scope};
pub use message::{split_into_parts, JobMessage};
pub use model::{EventKey, EventResult, Job, JobKind, JobState, NewJob, ResultStatus, StoredEvent};
pub use ports::{
    Consumer, ErrorKind, EventReader, EventStore, InsertOutcome, JobStore, Message, PlainSecrets,
    QuarantineStore, Queue, QueueRunner, RecordKind, RecordStore, SecretBox, Signer, StoreError,
    Verdict, WebhookSender,
};
pub use process::Processor;
pub use query::{EventFilter, EventPage, EventQuery, Order, Position, Start, Visibility};
pub use record::JobRecord;
pub use records::{Record, Records};
pub use retry::Backoff;
pub use signer::HmacSigner;
pub use submit::{Envelope, SubmitError, Submitter};
pub use work::Work;

#[cfg(test)]
mod memory;

use std::sync::Arc;

/// One set of adapters: what a backend (AWS, embedded) provides to the application.
#[derive(Clone)]
pub struct Ports {
    pub jobs: Arc<dyn JobStore>,
    pub events: Arc<dyn EventStore>,
    pub reader: Arc<dyn EventReader>,
    /// Every stored event, those past their retention too: what an erasure must find.
    pub stored: Arc<dyn EventReader>,
    /// The job queue: submission sends, the processor consumes.
    pub queue: Arc<dyn Queue<JobMessage>>,
    /// The webhook delivery queue: the processor announces stored events, the dispatcher consumes.
    pub deliveries: Arc<dyn Queue<webhooks::DeliveryMessage>>,
    /// The export steps' queue: `POST /exports` sends the first, each step the next.
    pub export_steps: Arc<dyn Queue<steps::StepMessage>>,
    /// The erasure steps' queue.
    pub erasure_steps: Arc<dyn Queue<steps::StepMessage>>,
    /// Where export files are kept.
    pub files: Arc<dyn exports::FileStore>,
    /// Small records by kind and id (webhooks, filters): [`Records`] is their typed face.
    pub records: Arc<dyn RecordStore>,
    /// Signs listing cursors.
    pub signer: Arc<dyn Signer>,
    /// Seals webhook secrets in the webhook store.
    pub secrets: Arc<dyn SecretBox>,
    /// What the `flag` policy could not store.
    pub quarantine: Arc<dyn QuarantineStore>,
    /// How long each client's events are kept ([`Ports::retained`] applies it to reads).
    pub retention: retention::Retention,
}

impl Ports {
    /// The same ports with the deployment's default retention (none: kept for ever unless a
    /// client sets its own), and every read of events through [`retention::Retained`]. Each
    /// binary makes its ports this way.
    pub fn retained(mut self, default_days: Option<u32>) -> Self {
        self.retention = retention::Retention::new(self.records.clone(), default_days);
        let retained = Arc::new(retention::Retained::new(
            self.events.clone(),
            self.reader.clone(),
            self.retention.clone(),
        ));
        self.events = retained.clone();
        self.reader = retained;
        self
    }
}

//! The queue workers, built one way for every runner: the Lambda functions, caliper-local and
//! the tests.

use std::sync::Arc;

use crate::erasures::Eraser;
use crate::exports::{Encoder, Exporter};
use crate::ports::WebhookSender;
use crate::retention::Sweeper;
use crate::steps::{Either, Steps};
use crate::webhooks::{DeliverySettings, Dispatcher, TargetPolicy, WebhookService};
use crate::{Ports, Processor};

/// The job queue's worker: stores each part's events once, records the job's progress, and
/// announces what it stored on the delivery queue.
pub fn processor(ports: &Ports) -> Processor {
    Processor::new(ports.jobs.clone(), ports.events.clone())
        .notifying(ports.deliveries.clone())
        .retaining(ports.retention.clone())
        .quarantining(ports.quarantine.clone(), crate::quarantine::MOST_PER_CLIENT)
}

/// The delivery queue's worker: fans stored events out to the webhooks that want them, and
/// sends each delivery through `sender` (which guards the targets `policy` allows).
pub fn dispatcher(
    ports: &Ports,
    settings: &DeliverySettings,
    policy: TargetPolicy,
    sender: Arc<dyn WebhookSender>,
) -> Dispatcher {
    Dispatcher::new(
        settings.backoff,
        WebhookService::new(ports.records.clone(), ports.secrets.clone(), policy),
        ports.events.clone(),
        ports.deliveries.clone(),
        sender,
    )
}

/// The export queue's worker: writes each step's file with `encoder` (the `caliper-export`
/// crate's, which only the binaries that export link).
pub fn exporter(ports: &Ports, encoder: Arc<dyn Encoder>) -> Steps<Exporter> {
    Steps::new(
        Exporter::new(ports.reader.clone(), ports.files.clone(), encoder),
        ports.jobs.clone(),
        ports.export_steps.clone(),
    )
}

/// The erasure queue's worker: erasures, and the retention sweeps that setting a client's
/// retention starts (both delete events, with the same rights). Both find events past their
/// retention too (`Ports::stored`): hidden from readers, not yet purged.
pub fn eraser(ports: &Ports) -> Either<Eraser, Sweeper> {
    Either::new(
        Steps::new(
            Eraser::new(
                ports.stored.clone(),
                ports.events.clone(),
                ports.quarantine.clone(),
            ),
            ports.jobs.clone(),
            ports.erasure_steps.clone(),
        ),
        Steps::new(
            Sweeper::new(ports.stored.clone(), ports.events.clone()),
            ports.jobs.clone(),
            ports.erasure_steps.clone(),
        ),
    )
}

use caliper_core::webhooks::{TargetPolicy, WebhookService};
use caliper_core::{Ports, Submitter};
use caliper_validation::Limits;

/// What every handler needs: the ports of one backend and the request limits.
pub struct App {
    pub ports: Ports,
    pub limits: Limits,
    pub submitter: Submitter,
    pub webhooks: WebhookService,
}

impl App {
    /// Webhooks may target public https URLs only (see [`Self::with_target_policy`]).
    pub fn new(ports: Ports, limits: Limits) -> Self {
        let submitter = Submitter::new(ports.jobs.clone(), ports.queue.clone());
        let webhooks = WebhookService::new(
            ports.records.clone(),
            ports.secrets.clone(),
            TargetPolicy::default(),
        );
        Self {
            ports,
            limits,
            submitter,
            webhooks,
        }
    }

    /// Where webhooks may send (caliper-local --allow-private-webhooks widens it).
    pub fn with_target_policy(mut self, policy: TargetPolicy) -> Self {
        self.webhooks = WebhookService::new(
            self.ports.records.clone(),
            self.ports.secrets.clone(),
            policy,
        );
        self
    }
}

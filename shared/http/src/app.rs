use std::sync::Arc;

use caliper_core::clients::connectors::BodySignatures;
use caliper_core::clients::{Connectors, Keys, Settings};
use caliper_core::erasures::Erasures;
use caliper_core::exports::Exports;
use caliper_core::intake::Intake;
use caliper_core::quarantine::QuarantineService;
use caliper_core::webhooks::{TargetPolicy, WebhookService};
use caliper_core::{Ports, Records, Submitter};
use caliper_validation::Limits;

/// What every handler needs: the ports of one backend and the request limits.
pub struct App {
    pub ports: Ports,
    pub limits: Limits,
    pub submitter: Submitter,
    pub webhooks: WebhookService,
    pub settings: Settings,
    /// Shared with the authenticator of the same process (caliper-local), which admits keys.
    pub keys: Arc<Keys>,
    pub quarantine: QuarantineService,
    pub connectors: Connectors,
    /// Takes what connectors receive, as their clients.
    pub intake: Intake,
    /// Checks connectors' signed bodies; none in a function that receives none.
    pub signatures: Option<Arc<dyn BodySignatures>>,
    pub exports: Exports,
    pub erasures: Erasures,
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
        let records = Records::new(ports.records.clone());
        let settings = Settings::new(records.clone());
        Self {
            quarantine: QuarantineService::new(ports.quarantine.clone()),
            intake: Intake::new(
                settings.clone(),
                submitter.clone(),
                ports.quarantine.clone(),
                limits.clone(),
            ),
            settings,
            connectors: Connectors::new(records.clone(), TargetPolicy::default()),
            signatures: None,
            exports: Exports::new(
                ports.jobs.clone(),
                ports.export_steps.clone(),
                ports.files.clone(),
            ),
            erasures: Erasures::new(
                ports.jobs.clone(),
                ports.erasure_steps.clone(),
                ports.signer.clone(),
            ),
            keys: Arc::new(Keys::new(records)),
            ports,
            limits,
            submitter,
            webhooks,
        }
    }

    /// Checks connectors' signed bodies with `signatures`.
    pub fn with_signatures(mut self, signatures: Arc<dyn BodySignatures>) -> Self {
        self.signatures = Some(signatures);
        self
    }

    /// Where webhooks may send, and connectors' keys be fetched from (caliper-local
    /// --allow-private-webhooks widens it).
    pub fn with_target_policy(mut self, policy: TargetPolicy) -> Self {
        self.connectors = Connectors::new(Records::new(self.ports.records.clone()), policy);
        self.webhooks = WebhookService::new(
            self.ports.records.clone(),
            self.ports.secrets.clone(),
            policy,
        );
        self
    }
}

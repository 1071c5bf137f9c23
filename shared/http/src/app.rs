use caliper_core::{Ports, Submitter};
use caliper_validation::Limits;

/// What every handler needs: the ports of one backend and the request limits.
pub struct App {
    pub ports: Ports,
    pub limits: Limits,
    pub submitter: Submitter,
}

impl App {
    pub fn new(ports: Ports, limits: Limits) -> Self {
        let submitter = Submitter::new(ports.jobs.clone(), ports.queue.clone());
        Self {
            ports,
            limits,
            submitter,
        }
    }
}

//! An erasure's steps ([`crate::steps`]): first the learner's events, a page at a time through
//! the listing's actor (or email) index from where the last page ended, each page deleted with
//! every index entry and a tombstone; then the quarantine, a page of items at a time, removing
//! those whose actor is the learner. Each step is bounded (a page), deleting again deletes
//! nothing, and the step that finds nothing left ends the job with the receipt.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{ErasureRequest, Receipt, Subject};
use crate::model::{EventKey, JobKind};
use crate::ports::{EventReader, EventStore, QuarantineStore, StoreError};
use crate::query::{Position, Start};
use crate::steps::{LongWork, Step};

/// How far an erasure got. Its `subject` is the only personal data a job ever keeps, and only
/// while it runs: the job's end drops the checkpoint, and a failure scrubs it first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Erasing {
    subject: Option<Subject>,
    receipt: Receipt,
    phase: Phase,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
enum Phase {
    /// The learner's events, after this listing position.
    Events { after: Option<String> },
    /// The quarantine, after this item.
    Quarantine { after: Option<String> },
}

impl Erasing {
    pub(super) fn start(request: ErasureRequest, receipt: Receipt) -> Self {
        Self {
            subject: Some(request.subject),
            receipt,
            phase: Phase::Events { after: None },
        }
    }

    pub(super) fn receipt(&self) -> &Receipt {
        &self.receipt
    }
}

/// What an erasure step does.
pub struct Eraser {
    reader: Arc<dyn EventReader>,
    events: Arc<dyn EventStore>,
    quarantine: Arc<dyn QuarantineStore>,
    page: usize,
}

impl Eraser {
    /// Events (or quarantined items) one step reads and deletes.
    pub const PAGE: usize = 500;

    pub fn new(
        reader: Arc<dyn EventReader>,
        events: Arc<dyn EventStore>,
        quarantine: Arc<dyn QuarantineStore>,
    ) -> Self {
        Self {
            reader,
            events,
            quarantine,
            page: Self::PAGE,
        }
    }

    fn failing_state(mut state: Erasing) -> Erasing {
        state.subject = None;
        state
    }

    /// Pages of `page` (tests that want many steps).
    pub fn page(mut self, page: usize) -> Self {
        self.page = page.max(1);
        self
    }
}

#[async_trait]
impl LongWork for Eraser {
    type State = Erasing;
    type Error = StoreError;
    const KIND: JobKind = JobKind::Erasure;

    async fn step(&self, id: &str, mut state: Erasing) -> Result<Step<Erasing>, StoreError> {
        let Some(subject) = state.subject.clone() else {
            return Err(StoreError::corrupt(format!(
                "the erasure {id} no longer knows whom it erases"
            )));
        };
        let request = ErasureRequest {
            subject,
            client_app_id: state.receipt.client_app_id.clone(),
        };
        match state.phase.clone() {
            Phase::Events { after } => {
                let start = match after.as_deref().and_then(Position::parse) {
                    Some(position) => Start::After(position),
                    None => Start::Offset(0),
                };
                let page = self
                    .reader
                    .list(&request.query(), &start, self.page)
                    .await?;
                let Some(last) = page.events.last() else {
                    state.phase = Phase::Quarantine { after: None };
                    return Ok(Step::Next(state));
                };
                let after = Some(Position::of(last).key());
                let keys: Vec<EventKey> = page.events.iter().map(|e| e.key()).collect();
                state.receipt.events += self.events.delete(&keys).await?;
                state.phase = if page.more {
                    Phase::Events { after }
                } else {
                    Phase::Quarantine { after: None }
                };
                Ok(Step::Next(state))
            }
            Phase::Quarantine { after } => {
                let client = request.client_app_id.as_deref();
                let items = self
                    .quarantine
                    .page(client, after.as_deref(), self.page)
                    .await?;
                for item in items
                    .iter()
                    .filter(|item| request.subject.is_actor_of(&item.body))
                {
                    if self.quarantine.remove(&item.id).await? {
                        state.receipt.quarantined += 1;
                    }
                }
                match items.last() {
                    Some(last) if items.len() == self.page => {
                        state.phase = Phase::Quarantine {
                            after: Some(last.id.clone()),
                        };
                        Ok(Step::Next(state))
                    }
                    _ => {
                        tracing::info!(erasure = %id, events = state.receipt.events, quarantined = state.receipt.quarantined, "erasure done");
                        let receipt = serde_json::to_value(&state.receipt).map_err(|e| {
                            StoreError::invalid("an erasure's receipt").caused_by(e)
                        })?;
                        Ok(Step::Done(receipt))
                    }
                }
            }
        }
    }

    /// A failed erasure keeps its counts, not whom it was about.
    fn failing(&self, state: Erasing) -> Option<Erasing> {
        Some(Self::failing_state(state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_erasure_keeps_its_counts_and_forgets_whom() {
        let request = ErasureRequest {
            subject: Subject::ActorEmail("ann@example.edu".into()),
            client_app_id: None,
        };
        let receipt = Receipt {
            subject: "hmac-sha256:00".into(),
            client_app_id: None,
            events: 7,
            quarantined: 1,
        };
        let state = Erasing::start(request, receipt.clone());
        let kept = Eraser::failing_state(state);
        assert_eq!(kept.subject, None);
        assert_eq!(kept.receipt, receipt);
        let json = serde_json::to_string(&kept).unwrap_or_default();
        assert!(!json.contains("ann@example.edu"), "{json}");
    }
}

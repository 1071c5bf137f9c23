//! Erasure: every stored trace of one learner removed on request (FERPA, GDPR), leaving a receipt
//! that names no one.
//!
//! `POST /erasures` names the learner by `actorId` or `actorEmail` (and optionally one client);
//! the erasure is a job of long work ([`crate::steps`], [`work`]): its steps delete the learner's
//! events a page at a time through the actor (or email) index, each with every index entry and a
//! tombstone that keeps a retried or replayed message from storing it again, then remove the
//! client's (or every client's) quarantined items about the learner. A webhook delivery still
//! pending for an erased event is dropped when its turn comes (the dispatcher reads the event
//! when it sends), so none is made after the erasure.
//!
//! The receipt keeps counts and a keyed hash of the identifier (the deployment's signer: HMAC
//! with the cursor key), enough to show that a request was carried out without naming the
//! learner; the identifier itself lives only in the running job's checkpoint, which ends with it.
//! What was exported or delivered before is outside our reach.

mod work;

pub use work::{Eraser, Erasing};

use std::sync::Arc;

use caliper_validation::Problem;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fields::Fields;
use crate::identity::Caller;
use crate::model::{JobKind, JobState, NewJob};
use crate::ports::{JobStore, Queue, Signer, StoreError};
use crate::query::{EventFilter, EventQuery, Order, Visibility};
use crate::steps::{self, StepMessage};

/// Whom an erasure is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Subject {
    /// The actor's IRI (an event's `actor`, or its `id`).
    ActorId(String),
    /// The actor's email (`email` or `extensions.email`), without regard to case.
    ActorEmail(String),
}

impl Subject {
    /// Whether `item` (an event as sent or stored) is about this learner.
    pub fn is_actor_of(&self, item: &Value) -> bool {
        let actor = item.get("actor");
        match self {
            Self::ActorId(id) => actor.is_some_and(|a| {
                a.as_str() == Some(id) || a.get("id").and_then(Value::as_str) == Some(id)
            }),
            Self::ActorEmail(email) => actor.is_some_and(|a| {
                a.get("email")
                    .or_else(|| a.get("extensions").and_then(|e| e.get("email")))
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.to_lowercase() == *email)
            }),
        }
    }

    fn filter(&self) -> EventFilter {
        match self {
            Self::ActorId(id) => EventFilter {
                actor_id: Some(id.clone()),
                ..EventFilter::default()
            },
            Self::ActorEmail(email) => EventFilter {
                actor_email: Some(email.clone()),
                ..EventFilter::default()
            },
        }
    }

    /// What the receipt keeps instead: a keyed hash, the same for the same identifier while the
    /// signing key stays.
    async fn digest(&self, signer: &dyn Signer) -> Result<String, StoreError> {
        let (kind, value) = match self {
            Self::ActorId(id) => ("actorId", id),
            Self::ActorEmail(email) => ("actorEmail", email),
        };
        let mac = signer
            .sign(format!("caliper-erasure\0{kind}\0{value}").as_bytes())
            .await?;
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        Ok(format!("hmac-sha256:{hex}"))
    }
}

/// An erasure as asked for: whom, and within which client's events (none: every client's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRequest {
    pub subject: Subject,
    pub client_app_id: Option<String>,
}

impl ErasureRequest {
    /// Reads a request body: exactly one of `actorId` (an IRI) and `actorEmail`, and optionally
    /// `clientAppId`; every problem at its pointer.
    pub fn parse(body: &Value) -> Result<Self, Vec<Problem>> {
        let mut fields = Fields::of(
            body,
            "erasure",
            &["actorId", "actorEmail", "clientAppId"],
            &[],
        )?;
        let actor_id = fields.optional_text("actorId", 2048);
        let actor_email = fields.optional_text("actorEmail", 320);
        let client_app_id = fields.optional_text("clientAppId", 256);
        let subject = match (actor_id, actor_email) {
            (Some(id), None) if caliper_validation::is_iri(&id) => Some(Subject::ActorId(id)),
            (Some(id), None) => {
                fields.problem(
                    "actorId",
                    format!("`actorId` must be an IRI, as an event's actor is, found {id:?}"),
                );
                None
            }
            (None, Some(email)) if email.contains('@') => {
                Some(Subject::ActorEmail(email.to_lowercase()))
            }
            (None, Some(email)) => {
                fields.problem(
                    "actorEmail",
                    format!("`actorEmail` must be an email address, found {email:?}"),
                );
                None
            }
            (Some(_), Some(_)) => {
                fields.problem("actorEmail", "give `actorId` or `actorEmail`, not both: erase each learner identifier in its own request");
                None
            }
            (None, None) if fields.ok() => {
                fields.problem(
                    "actorId",
                    "`actorId` (or `actorEmail`) is required: whose events to erase",
                );
                None
            }
            (None, None) => None,
        };
        match subject {
            Some(subject) if fields.ok() => Ok(Self {
                subject,
                client_app_id,
            }),
            _ => Err(fields.problems),
        }
    }

    /// The listing of the learner's events, across clients unless one is named.
    pub fn query(&self) -> EventQuery {
        EventQuery {
            visibility: Visibility::of(self.client_app_id.as_deref()),
            filter: self.subject.filter(),
            order: Order::OldestFirst,
        }
    }
}

/// What an erasure leaves: counts and a keyed hash, never the identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// `hmac-sha256:…` of the identifier.
    pub subject: String,
    pub client_app_id: Option<String>,
    /// Events deleted (with every index entry).
    pub events: u64,
    /// Quarantined items removed.
    pub quarantined: u64,
}

/// An erasure as its admin sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Erasure {
    pub id: String,
    pub state: JobState,
    pub receipt: Receipt,
    pub requested_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub failed_reason: Option<String>,
}

/// Starts erasures and reads their receipts; the [`Eraser`] does the work.
#[derive(Clone)]
pub struct Erasures {
    jobs: Arc<dyn JobStore>,
    queue: Arc<dyn Queue<StepMessage>>,
    signer: Arc<dyn Signer>,
}

impl Erasures {
    pub fn new(
        jobs: Arc<dyn JobStore>,
        queue: Arc<dyn Queue<StepMessage>>,
        signer: Arc<dyn Signer>,
    ) -> Self {
        Self {
            jobs,
            queue,
            signer,
        }
    }

    /// Records the erasure as a job of the caller's (an admin) and queues its first step.
    pub async fn start(
        &self,
        caller: &Caller,
        request: ErasureRequest,
    ) -> Result<Erasure, StoreError> {
        let now = Utc::now();
        let job = NewJob {
            id: uuid::Uuid::new_v4().to_string(),
            kind: JobKind::Erasure,
            client_app_id: caller.client_id.clone(),
            parts: 1,
            created_at: now,
        };
        let receipt = Receipt {
            subject: request.subject.digest(&*self.signer).await?,
            client_app_id: request.client_app_id.clone(),
            events: 0,
            quarantined: 0,
        };
        let state = Erasing::start(request, receipt.clone());
        steps::start(&*self.jobs, &*self.queue, &job, &state).await?;
        Ok(Erasure {
            id: job.id,
            state: JobState::Waiting,
            receipt,
            requested_at: now,
            completed_at: None,
            failed_reason: None,
        })
    }

    /// The erasure `id`, for the admin who asked for it or another admin.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<Option<Erasure>, StoreError> {
        let Some(job) = self.jobs.get(id).await? else {
            return Ok(None);
        };
        if job.kind != JobKind::Erasure || !caller.may_see(&job.client_app_id) {
            return Ok(None);
        }
        let receipt = match &job.outcome {
            Some(outcome) => serde_json::from_value::<Receipt>(outcome.clone()).ok(),
            None => steps::state_of::<Erasing>(&job).map(|state| state.receipt().clone()),
        };
        let Some(receipt) = receipt else {
            return Err(StoreError::corrupt(format!(
                "the erasure {id} has no readable receipt"
            )));
        };
        Ok(Some(Erasure {
            id: job.id,
            state: job.state,
            receipt,
            requested_at: job.created_at,
            completed_at: job.processed_on,
            failed_reason: job.failed_reason,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(result: Result<ErasureRequest, Vec<Problem>>) -> Vec<String> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn a_request_names_one_learner_by_one_identifier() {
        let by_id = ErasureRequest::parse(&json!({"actorId": "https://example.edu/users/1"}));
        assert_eq!(
            by_id.map(|r| r.subject),
            Ok(Subject::ActorId("https://example.edu/users/1".into()))
        );
        let by_email =
            ErasureRequest::parse(&json!({"actorEmail": "Ann@Example.edu", "clientAppId": "c1"}));
        assert_eq!(
            by_email.map(|r| (r.query().visibility, r.subject)),
            Ok((
                Visibility::Own("c1".into()),
                Subject::ActorEmail("ann@example.edu".into())
            ))
        );
        assert_eq!(paths(ErasureRequest::parse(&json!({}))), ["/actorId"]);
        assert_eq!(
            paths(ErasureRequest::parse(&json!({"actorId": "not an iri"}))),
            ["/actorId"]
        );
        assert_eq!(
            paths(ErasureRequest::parse(&json!({"actorEmail": "nobody"}))),
            ["/actorEmail"]
        );
        assert_eq!(
            paths(ErasureRequest::parse(
                &json!({"actorId": "https://e.edu/u", "actorEmail": "a@e.edu"})
            )),
            ["/actorEmail"]
        );
        assert_eq!(
            paths(ErasureRequest::parse(
                &json!({"actorId": "https://e.edu/u", "x": 1})
            )),
            ["/x"]
        );
    }

    #[test]
    fn an_item_is_about_its_actor_by_id_or_email() {
        let id = Subject::ActorId("https://e.edu/u/1".into());
        let email = Subject::ActorEmail("ann@e.edu".into());
        assert!(id.is_actor_of(&json!({"actor": "https://e.edu/u/1"})));
        assert!(id.is_actor_of(&json!({"actor": {"id": "https://e.edu/u/1"}})));
        assert!(!id.is_actor_of(
            &json!({"actor": {"id": "https://e.edu/u/2"}, "object": "https://e.edu/u/1"})
        ));
        assert!(email.is_actor_of(&json!({"actor": {"id": "x", "email": "ANN@e.edu"}})));
        assert!(
            email.is_actor_of(&json!({"actor": {"id": "x", "extensions": {"email": "ann@e.edu"}}}))
        );
        assert!(!email.is_actor_of(&json!({"actor": "ann@e.edu"})));
    }
}

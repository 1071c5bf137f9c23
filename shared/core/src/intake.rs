//! How a body of envelopes becomes a job under its client's validation policy: the one judgement
//! every way in makes ([`judge`]). A submission to the API refuses what fails it (400, 422): its
//! sender can act on a 4xx. A connector's producer cannot (Canvas drops what is refused, and drops
//! the subscription after enough refusals), so [`Intake::take`] sets aside in quarantine what a
//! submission would refuse, and the producer is answered 2xx all the same.

use std::sync::Arc;

use caliper_validation::{
    check_limits, findings, into_envelopes, parse_json, unsupported_version_in, validate_body,
    Limits, Problem, Problems,
};
use chrono::Utc;
use serde_json::{json, Map, Value};

use crate::clients::{Settings, ValidationPolicy};
use crate::model::timestamp;
use crate::ports::{Consumer, QuarantineStore, StoreError, Verdict};
use crate::quarantine::{Quarantined, MOST_PER_CLIENT};
use crate::retry::Backoff;
use crate::submit::{Envelope, SubmitError, Submitter};

/// Why a body is not taken as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An envelope names a `dataVersion` we do not speak (Caliper 1.2 section 6.1: 422).
    UnsupportedVersion(Problem),
    /// The policy's checks failed: every problem, at its pointer.
    Invalid(Problems),
}

impl Refusal {
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            Self::UnsupportedVersion(problem) => vec![problem.clone()],
            Self::Invalid(problems) => problems.list.clone(),
        }
    }

    pub fn summary(&self) -> String {
        match self {
            Self::UnsupportedVersion(problem) => problem.message.clone(),
            Self::Invalid(problems) => problems.summary(),
        }
    }
}

/// The envelopes of `body` (an envelope or an array of them) as `policy` takes them, or why it
/// does not. Under `strict` every problem refuses; under `flag` only the limits do, and an
/// envelope without items (it holds nothing to store, or to say was not), each event then kept
/// with its problems.
pub fn judge(
    body: Value,
    policy: ValidationPolicy,
    limits: &Limits,
) -> Result<Vec<Envelope>, Refusal> {
    if let Some(problem) = unsupported_version_in(&body) {
        return Err(Refusal::UnsupportedVersion(problem));
    }
    match policy {
        ValidationPolicy::Strict => {
            validate_body(&body, limits).map_err(Refusal::Invalid)?;
            Ok(into_envelopes(body)
                .into_iter()
                .map(Envelope::valid)
                .collect())
        }
        ValidationPolicy::Flag => {
            check_limits(&body, limits).map_err(Refusal::Invalid)?;
            let envelopes: Vec<Envelope> = into_envelopes(body)
                .into_iter()
                .map(|body| Envelope {
                    findings: Some(findings(&body)),
                    body,
                })
                .collect();
            refuse_without_items(&envelopes).map_err(Refusal::Invalid)?;
            Ok(envelopes)
        }
    }
}

fn refuse_without_items(envelopes: &[Envelope]) -> Result<(), Problems> {
    let several = envelopes.len() > 1;
    let mut problems = Problems::default();
    for (index, envelope) in envelopes.iter().enumerate() {
        let has_items = envelope
            .body
            .get("data")
            .and_then(Value::as_array)
            .is_some_and(|items| !items.is_empty());
        if has_items {
            continue;
        }
        let prefix = if several {
            format!("/{index}")
        } else {
            String::new()
        };
        for problem in envelope.findings.iter().flat_map(|f| &f.envelope) {
            problems.push(Problem::new(
                format!("{prefix}{}", problem.path),
                problem.message.clone(),
            ));
        }
    }
    problems.into_result()
}

/// What became of a body taken from a producer that cannot be refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// Accepted as a job, processed as any submission (its unusable items quarantined then).
    Job(String),
    /// Refused as a whole by the client's policy, and set aside: the quarantined items' ids.
    Quarantined(Vec<String>),
}

/// A body that could not be read as JSON within the limits: its text, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub text: String,
    pub why: Problem,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The client's quarantine holds its most: the body can be neither taken nor kept.
    #[error("the body could not be taken ({reason}), nor kept: the client's quarantine holds its most, {most} items (replay or delete some)")]
    QuarantineFull { reason: String, most: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Takes bodies for a client from a producer that cannot act on a refusal.
pub struct Intake {
    settings: Settings,
    submitter: Submitter,
    quarantine: Arc<dyn QuarantineStore>,
    limits: Limits,
}

impl Intake {
    pub fn new(
        settings: Settings,
        submitter: Submitter,
        quarantine: Arc<dyn QuarantineStore>,
        limits: Limits,
    ) -> Self {
        Self {
            settings,
            submitter,
            quarantine,
            limits,
        }
    }

    /// A body as JSON within the limits, or, when it is not, its text and why (for the quarantine).
    pub fn parse(&self, body: &[u8]) -> Result<Value, Unreadable> {
        parse_json(body, &self.limits).map_err(|rejection| Unreadable {
            text: String::from_utf8_lossy(body).into_owned(),
            why: rejection.problem(),
        })
    }

    /// Takes `body` for `client` as from `source` (`connector:<id>`): a job under the client's
    /// policy (`flag` unless an admin set one: a connector's producer departs from Caliper in
    /// places, and refusing would lose its events), or, refused, every item of it quarantined.
    /// A body that could not be read as JSON is quarantined as the text it was, with why.
    pub async fn take(
        &self,
        client: &str,
        source: &str,
        body: Result<Value, Unreadable>,
    ) -> Result<Taken, IntakeError> {
        let body = match body {
            Ok(body) => body,
            Err(Unreadable { text, why }) => {
                let ids = self
                    .set_aside(
                        client,
                        source,
                        vec![(Value::String(text), json!({}))],
                        why,
                        &[],
                    )
                    .await?;
                return Ok(Taken::Quarantined(ids));
            }
        };
        let settings = self.settings.of(client).await?;
        let policy = if settings.updated_at.is_some() {
            settings.validation
        } else {
            ValidationPolicy::Flag
        };
        let kept = body.clone();
        match judge(body, policy, &self.limits) {
            Ok(envelopes) => self
                .submitter
                .submit_from(client, Some(source), envelopes)
                .await
                .map(Taken::Job)
                .map_err(|error| match error {
                    SubmitError::Record(e) | SubmitError::Enqueue(e) => IntakeError::Store(e),
                }),
            Err(refusal) => {
                let reason = Problem::new(
                    "",
                    format!(
                        "refused under the client's `{}` policy: {}",
                        policy.name(),
                        refusal.summary()
                    ),
                );
                let ids = self
                    .set_aside(client, source, items_of(kept), reason, &refusal.problems())
                    .await?;
                Ok(Taken::Quarantined(ids))
            }
        }
    }

    /// Keeps each (item, envelope fields) with the reasons it was not taken.
    async fn set_aside(
        &self,
        client: &str,
        source: &str,
        items: Vec<(Value, Value)>,
        reason: Problem,
        problems: &[Problem],
    ) -> Result<Vec<String>, IntakeError> {
        let mut reasons = vec![reason];
        reasons.extend(problems.iter().cloned());
        let mut ids = Vec::new();
        for (body, envelope) in items {
            let item = Quarantined {
                id: Quarantined::new_id(),
                client_app_id: client.to_owned(),
                source: source.to_owned(),
                received_at: timestamp(Utc::now()),
                reasons: reasons.clone(),
                body,
                envelope,
            };
            if !self.quarantine.keep(&item, MOST_PER_CLIENT).await? {
                return Err(IntakeError::QuarantineFull {
                    reason: reasons[0].message.clone(),
                    most: MOST_PER_CLIENT,
                });
            }
            ids.push(item.id);
        }
        Ok(ids)
    }
}

/// A producer's own queue (Canvas writes its live events to one, unsigned: the queue's policy is
/// the credential): each message a body taken as `client`. A message the stores cannot take now
/// is tried again (the job queue's backoff), and after its last receive the queue's redrive
/// policy keeps it on its dead-letter queue.
pub struct QueueIntake {
    intake: Intake,
    client: String,
    source: String,
}

impl QueueIntake {
    pub fn new(intake: Intake, client: &str, source: &str) -> Self {
        Self {
            intake,
            client: client.to_owned(),
            source: source.to_owned(),
        }
    }
}

#[async_trait::async_trait]
impl Consumer for QueueIntake {
    async fn consume(&self, body: &str, receives: u32, max_receives: u32) -> Verdict {
        let parsed = self.intake.parse(body.as_bytes());
        match self.intake.take(&self.client, &self.source, parsed).await {
            Ok(_) => Verdict::Done,
            Err(error) if receives >= max_receives => {
                tracing::error!(%error, source = self.source, "a queued body could not be taken; the queue dead-letters it");
                Verdict::DeadLetter
            }
            Err(error) => {
                tracing::warn!(%error, source = self.source, receives, "a queued body could not be taken; it will be tried again");
                Verdict::Retry
            }
        }
    }

    fn retry_delay(&self, receives: u32) -> std::time::Duration {
        Backoff::JOB_PARTS.delay(receives)
    }
}

/// A refused body's items, each with its envelope's `sensor`, `sendTime` and `dataVersion` (what
/// a replay sends them with); an envelope without a list of items is kept whole, as one.
fn items_of(body: Value) -> Vec<(Value, Value)> {
    let mut items = Vec::new();
    for envelope in into_envelopes(body) {
        let Value::Object(mut fields) = envelope else {
            items.push((envelope, json!({})));
            continue;
        };
        let mut header = Map::new();
        for name in ["sensor", "sendTime", "dataVersion"] {
            if let Some(value) = fields.get(name) {
                header.insert(name.to_owned(), value.clone());
            }
        }
        match fields.remove("data") {
            Some(Value::Array(data)) if !data.is_empty() => {
                items.extend(
                    data.into_iter()
                        .map(|item| (item, Value::Object(header.clone()))),
                );
            }
            data => {
                if let Some(data) = data {
                    fields.insert("data".to_owned(), data);
                }
                items.push((Value::Object(fields), Value::Object(header)));
            }
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_body_is_kept_item_by_item_with_its_envelope() {
        let body =
            json!({"sensor": "s", "sendTime": "t", "dataVersion": "v", "data": [1, {"a": 2}]});
        let items = items_of(body);
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].0, json!({"a": 2}));
        assert_eq!(
            items[1].1,
            json!({"sensor": "s", "sendTime": "t", "dataVersion": "v"})
        );
        let whole = items_of(json!([{"sensor": "s", "data": "x"}, 7]));
        assert_eq!(
            whole,
            vec![
                (json!({"sensor": "s", "data": "x"}), json!({"sensor": "s"})),
                (json!(7), json!({}))
            ]
        );
    }

    #[test]
    fn the_policy_decides_what_refuses() {
        let limits = Limits::default();
        let unknown_version = json!({"sensor": "s", "sendTime": "2024-01-01T00:00:00.000Z",
            "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v9", "data": [{}]});
        assert!(matches!(
            judge(unknown_version, ValidationPolicy::Flag, &limits),
            Err(Refusal::UnsupportedVersion(_))
        ));
        let odd = json!({"sensor": "s", "sendTime": "2024-01-01T00:00:00.000Z",
            "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2", "data": [{"type": "Nonsense"}]});
        assert!(matches!(
            judge(odd.clone(), ValidationPolicy::Strict, &limits),
            Err(Refusal::Invalid(_))
        ));
        let flagged = judge(odd, ValidationPolicy::Flag, &limits).expect("taken");
        assert!(flagged[0].findings.is_some());
        let empty = json!({"sensor": "s", "data": []});
        assert!(matches!(
            judge(empty, ValidationPolicy::Flag, &limits),
            Err(Refusal::Invalid(_))
        ));
    }
}

//! What the service keeps: jobs and stored events.

use caliper_validation::Problem;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a submission job stands. It moves waiting → active → completed, or ends failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Waiting,
    Active,
    Completed,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "waiting" => Some(Self::Waiting),
            "active" => Some(Self::Active),
            "completed" => Some(Self::Completed),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }
}

/// What a job does. A kind of its own for each kind of long work (an export, an erasure, a
/// sweep): each keeps its progress in the job's checkpoint and its result in the job's outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// An accepted submission, stored part by part: its results are the job's.
    #[default]
    Submission,
    /// A bulk export of events to files ([`crate::exports`]).
    Export,
    /// A learner's events and quarantined items removed ([`crate::erasures`]).
    Erasure,
    /// A client's events from before its retention was set, purged ([`crate::retention`]).
    Sweep,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submission => "submission",
            Self::Export => "export",
            Self::Erasure => "erasure",
            Self::Sweep => "sweep",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "submission" => Some(Self::Submission),
            "export" => Some(Self::Export),
            "erasure" => Some(Self::Erasure),
            "sweep" => Some(Self::Sweep),
            _ => None,
        }
    }
}

/// A job about to be recorded: one per accepted envelope (split into `parts` queue messages), or
/// one per piece of long work of another kind (one part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub id: String,
    pub kind: JobKind,
    pub client_app_id: String,
    pub parts: u32,
    pub created_at: DateTime<Utc>,
}

/// What became of one event of a job: its Caliper id, the id it got, and whether it was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventResult {
    /// 0 when the event was not stored; for a conflict, the id of the first event, which stays.
    pub allocated_id: u64,
    pub external_id: String,
    /// Results recorded before statuses existed were all stored.
    #[serde(default, skip_serializing_if = "ResultStatus::is_stored")]
    pub status: ResultStatus,
    /// A stored event's problems, under the `flag` policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

impl EventResult {
    /// What became of an event: one stored (or a conflicting resend, which names the first
    /// event's id) keeps `allocated_id`; any other has none.
    pub fn new(
        allocated_id: u64,
        external_id: String,
        status: ResultStatus,
        problems: Vec<Problem>,
    ) -> Self {
        let kept = matches!(status, ResultStatus::Stored | ResultStatus::Conflict { .. });
        Self {
            allocated_id: if kept { allocated_id } else { 0 },
            external_id,
            status,
            problems,
        }
    }

    pub fn stored(allocated_id: u64, external_id: impl Into<String>) -> Self {
        Self {
            allocated_id,
            external_id: external_id.into(),
            status: ResultStatus::Stored,
            problems: Vec::new(),
        }
    }
}

/// Whether an event of a job was stored, and if not, why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultStatus {
    /// Stored now, or found stored before under the same Caliper id.
    #[default]
    Stored,
    /// The store could not keep it as it is; the reason says why.
    Refused { reason: String },
    /// The client's event of this Caliper id was deleted before; it is not stored again.
    Erased,
    /// The client stored an event of this Caliper id before with other content: the first is
    /// kept, and the message names the first difference.
    Conflict { message: String },
    /// Under the `flag` policy, an item that cannot be stored was kept in quarantine under `id`.
    Quarantined { id: String, reason: String },
    /// Already past its client's retention when it arrived: not stored.
    Expired,
}

impl ResultStatus {
    pub fn is_stored(&self) -> bool {
        matches!(self, Self::Stored)
    }

    /// Its name in the job's answer.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Refused { .. } => "refused",
            Self::Erased => "erased",
            Self::Expired => "expired",
            Self::Conflict { .. } => "conflict",
            Self::Quarantined { .. } => "quarantined",
        }
    }
}

/// A job as read back. `results` holds every finished part's results, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub kind: JobKind,
    pub client_app_id: String,
    pub state: JobState,
    pub parts: u32,
    pub results: Vec<EventResult>,
    pub created_at: DateTime<Utc>,
    pub processed_on: Option<DateTime<Utc>>,
    pub failed_reason: Option<String>,
    /// How far a job of long work got (its kind's own document): where a retried or continued
    /// run resumes.
    pub checkpoint: Option<Value>,
    /// What a finished job of long work came to (its kind's own document: counts, files).
    pub outcome: Option<Value>,
}

/// Which stored event: a Caliper id names an event within its client's events. Two clients that
/// send one id have two events, and neither learns of the other's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey {
    pub client_app_id: String,
    pub external_id: String,
}

impl EventKey {
    pub fn new(client_app_id: impl Into<String>, external_id: impl Into<String>) -> Self {
        Self {
            client_app_id: client_app_id.into(),
            external_id: external_id.into(),
        }
    }
}

/// A Caliper event as stored, in the shape readers get back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    /// Allocated by us: unique, increasing in allocation order.
    pub id: u64,
    /// The Caliper `id` (`urn:uuid:...`).
    pub external_id: String,
    pub sensor: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub profile: Option<String>,
    pub action: String,
    pub event_time: String,
    pub send_time: String,
    /// The envelope's `dataVersion`: Caliper 1.2's or 1.1's context IRI (events stored before
    /// 1.1 was accepted are 1.2's).
    #[serde(default = "default_data_version")]
    pub data_version: String,
    #[serde(rename = "created_at")]
    pub created_at: String,
    #[serde(rename = "updated_at")]
    pub updated_at: String,
    #[serde(rename = "deleted_at")]
    pub deleted_at: Option<String>,
    pub actor: Value,
    pub object: Value,
    pub generated: Option<Value>,
    pub target: Option<Value>,
    pub referrer: Option<Value>,
    pub ed_app: Option<Value>,
    pub group: Option<Value>,
    pub membership: Option<Value>,
    pub session: Option<Value>,
    pub federated_session: Option<Value>,
    pub extensions: Option<Value>,
    pub client_app_id: String,
    /// What Caliper's model found wrong with it, when its client's policy is `flag` (paths from
    /// the event, `/actor/type`, or the envelope's, `/sendTime`); none: conformant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    /// When it expires under its client's retention as it was when stored (unix seconds): what
    /// DynamoDB's TTL and the embedded sweeper purge by. Kept beside the event by each store,
    /// never part of an answer.
    #[serde(skip)]
    pub expires_at: Option<i64>,
}

impl StoredEvent {
    pub fn key(&self) -> EventKey {
        EventKey::new(&self.client_app_id, &self.external_id)
    }

    /// Builds the stored form of one validated event of an envelope of `sensor`, `send_time` and
    /// `data_version`. Fields the validator guarantees are read leniently all the same: a missing
    /// one becomes empty rather than a panic.
    pub fn from_event(
        event: &Value,
        id: u64,
        sensor: &str,
        send_time: &str,
        data_version: &str,
        client_app_id: &str,
        now: DateTime<Utc>,
    ) -> Self {
        let text = |key: &str| {
            event
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let part = |key: &str| event.get(key).cloned();
        let stamp = timestamp(now);
        Self {
            id,
            external_id: text("id"),
            sensor: sensor.to_owned(),
            event_type: text("type"),
            profile: event
                .get("profile")
                .and_then(Value::as_str)
                .map(str::to_owned),
            action: text("action"),
            event_time: text("eventTime"),
            send_time: send_time.to_owned(),
            data_version: data_version.to_owned(),
            created_at: stamp.clone(),
            updated_at: stamp,
            deleted_at: None,
            actor: part("actor").unwrap_or(Value::Null),
            object: part("object").unwrap_or(Value::Null),
            generated: part("generated"),
            target: part("target"),
            referrer: part("referrer"),
            ed_app: part("edApp"),
            group: part("group"),
            membership: part("membership"),
            session: part("session"),
            federated_session: part("federatedSession"),
            extensions: part("extensions"),
            client_app_id: client_app_id.to_owned(),
            problems: Vec::new(),
            expires_at: None,
        }
    }
}

impl StoredEvent {
    /// Where the event `other` (as sent again) first differs from this one, as a JSON pointer
    /// into the event (`/actor/name`); none when it is the same event. Only the event counts, not
    /// its envelope (a retry sends a new `sendTime`); an absent property and a null one are the
    /// same, and so are two numbers of one value (`1` and `1.0`).
    pub fn first_difference(&self, other: &StoredEvent) -> Option<String> {
        let text = |s: &str| Some(Value::String(s.to_owned()));
        let opt_text = |s: &Option<String>| s.as_deref().map(|s| Value::String(s.to_owned()));
        let fields = [
            ("type", text(&self.event_type), text(&other.event_type)),
            ("profile", opt_text(&self.profile), opt_text(&other.profile)),
            ("action", text(&self.action), text(&other.action)),
            ("eventTime", text(&self.event_time), text(&other.event_time)),
            ("actor", Some(self.actor.clone()), Some(other.actor.clone())),
            (
                "object",
                Some(self.object.clone()),
                Some(other.object.clone()),
            ),
            ("generated", self.generated.clone(), other.generated.clone()),
            ("target", self.target.clone(), other.target.clone()),
            ("referrer", self.referrer.clone(), other.referrer.clone()),
            ("edApp", self.ed_app.clone(), other.ed_app.clone()),
            ("group", self.group.clone(), other.group.clone()),
            (
                "membership",
                self.membership.clone(),
                other.membership.clone(),
            ),
            ("session", self.session.clone(), other.session.clone()),
            (
                "federatedSession",
                self.federated_session.clone(),
                other.federated_session.clone(),
            ),
            (
                "extensions",
                self.extensions.clone(),
                other.extensions.clone(),
            ),
        ];
        fields.into_iter().find_map(|(name, a, b)| {
            difference(
                a.as_ref().unwrap_or(&Value::Null),
                b.as_ref().unwrap_or(&Value::Null),
                &mut format!("/{name}"),
            )
        })
    }
}

/// The first pointer under `path` where `a` and `b` differ.
fn difference(a: &Value, b: &Value, path: &mut String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|key| {
                let (p, q) = (
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                );
                let len = path.len();
                path.push('/');
                path.push_str(&key.replace('~', "~0").replace('/', "~1"));
                let found = difference(p, q, path);
                path.truncate(len);
                found
            })
        }
        (Value::Array(x), Value::Array(y)) => {
            let found = x.iter().zip(y).enumerate().find_map(|(index, (p, q))| {
                let len = path.len();
                path.push_str(&format!("/{index}"));
                let found = difference(p, q, path);
                path.truncate(len);
                found
            });
            found.or_else(|| {
                (x.len() != y.len()).then(|| format!("{path}/{}", x.len().min(y.len())))
            })
        }
        (Value::Number(x), Value::Number(y)) if same_number(x, y) => None,
        _ if a == b => None,
        _ => Some(path.clone()),
    }
}

/// Two JSON numbers of one value: equal integers, or equal as decimals when either has a fraction
/// (`1` and `1.0`); two integers are never compared as floats, which would round big ones.
fn same_number(x: &serde_json::Number, y: &serde_json::Number) -> bool {
    let integer = |n: &serde_json::Number| n.is_i64() || n.is_u64();
    x == y || (!(integer(x) && integer(y)) && x.as_f64() == y.as_f64())
}

/// What a stored event or queued part without a `dataVersion` was sent as.
pub fn default_data_version() -> String {
    caliper_validation::CALIPER_V1P2.to_owned()
}

/// ISO 8601 in UTC with milliseconds, the form every timestamp of the API takes.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

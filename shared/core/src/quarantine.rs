//! Items the `flag` policy cannot store (not an event object, or without a usable id, type,
//! action, actor or time), kept for their client and operators to read, replay under today's
//! rules, or delete, instead of being refused. Each client keeps at most a bound of them, so that
//! no producer can fill the store with what it cannot get right.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use caliper_validation::Problem;

use crate::identity::Caller;
use crate::ports::{QuarantineStore, StoreError};

/// The most items one client keeps in quarantine: beyond it, an item that cannot be stored is
/// refused (its job says so) until some are replayed or deleted.
pub const MOST_PER_CLIENT: u64 = 10_000;

/// One kept item: the item as it was sent, the envelope fields it came with, and why it could not
/// be stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quarantined {
    /// Time-ordered (a UUID v7): newer items have greater ids.
    pub id: String,
    pub client_app_id: String,
    /// Where it came from: `submission` (a connector's id, later).
    pub source: String,
    #[serde(rename = "received_at")]
    pub received_at: String,
    pub reasons: Vec<Problem>,
    /// The item itself, as sent.
    pub body: Value,
    /// Its envelope's `sensor`, `sendTime` and `dataVersion`, for a replay.
    pub envelope: Value,
}

impl Quarantined {
    /// The item as both stores keep it.
    pub fn to_json(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|e| {
            StoreError::invalid("a quarantined item could not be written as JSON").caused_by(e)
        })
    }

    pub fn from_json(json: &str) -> Result<Self, StoreError> {
        serde_json::from_str(json)
            .map_err(|e| StoreError::corrupt("a quarantined item is unreadable").caused_by(e))
    }

    /// A new id, later than every id made before it.
    pub fn new_id() -> String {
        uuid::Uuid::now_v7().to_string()
    }

    /// The id of the item at `position` of a job's `part`, the same however often the part is
    /// delivered (so that keeping it again keeps it once): a UUID v7 of the time the job was
    /// accepted, then the part and position (later items of a job sort later), then the job.
    pub fn id_for(accepted_ms: i64, job_id: &str, part: u32, position: usize) -> String {
        use sha2::{Digest, Sha256};
        let job = Sha256::digest(job_id.as_bytes());
        // UUID v7 keeps 12 bits after the version and 62 after the variant: a part (a job has
        // at most a few thousand) and a position (at most its events) fit.
        let (part, position) = (part.min(0x0FFF), position.min(0x3FFF));
        let mut random = [0u8; 10];
        random[0] = (part >> 8) as u8;
        random[1] = part as u8;
        random[2] = (position >> 8) as u8;
        random[3] = position as u8;
        random[4..].copy_from_slice(&job[..6]);
        let millis = u64::try_from(accepted_ms).unwrap_or_default();
        uuid::Builder::from_unix_timestamp_millis(millis, &random)
            .into_uuid()
            .to_string()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QuarantineError {
    /// Missing, or another client's: both look the same.
    #[error("quarantined item not found")]
    NotFound,
    /// A client asked for another client's items.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who reads and deletes what: a client its own items, an admin every client's.
#[derive(Clone)]
pub struct QuarantineService {
    store: Arc<dyn QuarantineStore>,
}

impl QuarantineService {
    pub fn new(store: Arc<dyn QuarantineStore>) -> Self {
        Self { store }
    }

    /// A page, newest first, after the item `after`: the caller's own, or for an admin every
    /// client's (or `client`'s).
    pub async fn page(
        &self,
        caller: &Caller,
        client: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Quarantined>, QuarantineError> {
        if let Some(client) = client {
            let mut problems = Vec::new();
            crate::clients::check_client_id(client, "/query/clientAppId", &mut problems);
            if let Some(problem) = problems.pop() {
                return Err(QuarantineError::Invalid(problem.message));
            }
        }
        let client = match (caller.is_admin(), client) {
            (true, client) => client,
            (false, Some(other)) if other != caller.client_id => {
                return Err(QuarantineError::Invalid(
                    "clientAppId names another client; only admins read other clients' items"
                        .into(),
                ))
            }
            (false, _) => Some(caller.client_id.as_str()),
        };
        Ok(self.store.page(client, after, limit).await?)
    }

    /// One item the caller may see.
    pub async fn find(&self, caller: &Caller, id: &str) -> Result<Quarantined, QuarantineError> {
        self.store
            .get(id)
            .await?
            .filter(|item| caller.may_see(&item.client_app_id))
            .ok_or(QuarantineError::NotFound)
    }

    /// Deletes one item the caller may see.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<(), QuarantineError> {
        self.find(caller, id).await?;
        if self.store.remove(id).await? {
            Ok(())
        } else {
            Err(QuarantineError::NotFound)
        }
    }
}

impl Quarantined {
    /// The item as an envelope of its own, as it came: what a replay submits again.
    pub fn as_envelope(&self) -> Value {
        let mut envelope = self.envelope.clone();
        if let Value::Object(fields) = &mut envelope {
            fields.insert("data".to_owned(), Value::Array(vec![self.body.clone()]));
        }
        envelope
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jobs_items_are_ordered_and_named_the_same_each_time() {
        let id = |part, position| Quarantined::id_for(1_714_564_800_000, "job-1", part, position);
        assert_eq!(
            id(0, 3),
            id(0, 3),
            "a part delivered again names its items alike"
        );
        let mut ids = vec![id(1, 0), id(0, 999), id(0, 2), id(0, 10)];
        ids.sort();
        assert_eq!(ids, [id(0, 2), id(0, 10), id(0, 999), id(1, 0)]);
        assert_ne!(
            id(0, 3),
            Quarantined::id_for(1_714_564_800_000, "job-2", 0, 3)
        );
        assert!(id(0, 0) < Quarantined::id_for(1_714_564_800_001, "job-0", 0, 0));
    }
}

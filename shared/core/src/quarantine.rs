//! Items the `flag` policy cannot store (not an event object, or without a usable id, type,
//! action, actor or time), kept for their client and operators to read, replay under today's
//! rules, or delete, instead of being refused. Each client keeps at most a bound of them, so that
//! no producer can fill the store with what it cannot get right.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use caliper_validation::Problem;

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
    /// A new id, later than every id made before it.
    pub fn new_id() -> String {
        uuid::Uuid::now_v7().to_string()
    }

    /// The id of the item at `position` of a job's `part`, the same however often the part is
    /// delivered (so that keeping it again keeps it once): a UUID v7 of the time the job was
    /// accepted, its other bits from the job, part and position.
    pub fn id_for(accepted_ms: i64, job_id: &str, part: u32, position: usize) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{job_id}/{part}/{position}").as_bytes());
        let mut random = [0u8; 10];
        random.copy_from_slice(&digest[..10]);
        let millis = u64::try_from(accepted_ms).unwrap_or_default();
        uuid::Builder::from_unix_timestamp_millis(millis, &random)
            .into_uuid()
            .to_string()
    }
}

//! Items the `flag` policy cannot store (not an event object, or without a usable id, type,
//! action, actor or time), kept for their client and operators to read, replay under today's
//! rules, or delete, instead of being refused. Each client keeps at most a bound of them, so that
//! no producer can fill the store with what it cannot get right.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use caliper_validation::Problem;

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
}

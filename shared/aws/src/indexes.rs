//! The events table's global secondary indexes, and how each listing plan of
//! `caliper_core::query` is read from them (an item's index keys are written by `event_item`).
//!
//! Every index entry costs a write unit per event, the largest part of what ingesting costs
//! (shared/aws/README.md, "Cost"), so the table has two indexes, not one per plan: a client's
//! events and an actor's. Every event (an admin's listing) is the clients' keys of the client
//! index merged: the clients that ever stored an event are kept in one directory item
//! (`dynamo_events`), so no key is written by every event. An email's events are its actors'
//! keys of the actor index merged, with the email tested per entry: an item per email names its
//! actors (`dynamo_emails`), written when an event brings an actor it lacks, not per event. Each
//! index keeps the fields a filter tests, so that a sensor or Caliper version (few per client) is
//! tested on the entries of the client's (or every) events instead of having indexes of its own.
//!
//! Every index is sorted by `position` (event time, then allocated id) and partitioned by its key
//! with a shard number in front: `"{shard}|{key}"`, the shard being the allocated id modulo the
//! table's shard count (`CALIPER_INDEX_SHARDS`, [`DEFAULT_SHARDS`]). No key then takes more than
//! its shards' share of the writes (the "all events" key would take every event's), and a
//! listing reads the shards of its key in parallel and merges them. The count may be raised on a
//! table, never lowered: a listing reads shards 0 to count − 1, so every entry written under a
//! smaller count is still read.

use caliper_core::query::{Index, Plan, Residual, Visibility};
use caliper_core::EventQuery;
use sha2::{Digest, Sha256};

/// Write partitions per index key unless `CALIPER_INDEX_SHARDS` says otherwise.
pub const DEFAULT_SHARDS: u64 = 8;
/// The most shards a key may have: a listing page queries each of them.
pub const MAX_SHARDS: u64 = 64;

pub use crate::event_item::{KEPT_FIELDS, POSITION};

/// The domain's indexes that the table has; plans on the others are read through these.
pub const TABLE_INDEXES: [Index; 2] = [Index::Client, Index::Actor];

/// One index as DynamoDB knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gsi {
    pub name: &'static str,
    /// The partition key attribute.
    pub key: &'static str,
    /// Whether it keeps [`KEPT_FIELDS`] (INCLUDE) or only the keys (KEYS_ONLY).
    pub keeps_fields: bool,
}

/// A client's events: with every client's key, every event.
const CLIENT: Gsi = Gsi {
    name: "byClient",
    key: "kClient",
    keeps_fields: true,
};

/// An actor's events: with the actors of an email, the email's.
const ACTOR: Gsi = Gsi {
    name: "byActor",
    key: "kActor",
    keeps_fields: true,
};

/// The table's index of one of [`TABLE_INDEXES`], the client index for every event
/// ([`Index::All`], read by the keys of every client) and the actor index for an email (read by
/// the keys of the email's actors); `None` for the others.
pub fn gsi(index: Index) -> Option<Gsi> {
    match index {
        Index::All | Index::Client => Some(CLIENT),
        Index::Actor | Index::Email => Some(ACTOR),
        Index::Sensor | Index::ClientSensor | Index::Version | Index::ClientVersion => None,
    }
}

/// How the table answers `query`: the domain's plan (an email's on its actors' keys, with the
/// email tested per entry), or where it names an index the table does not have (a sensor or a
/// version), the caller's or every event, with the sensor and version tested per entry.
pub fn table_plan(query: &EventQuery) -> (Gsi, Plan) {
    let mut plan = query.plan();
    if plan.index == Index::Email {
        plan.residual.actor_email = Some(plan.key.clone());
    }
    if let Some(gsi) = gsi(plan.index) {
        return (gsi, plan);
    }
    let (index, key) = match &query.visibility {
        Visibility::Own(client) => (Index::Client, client.clone()),
        Visibility::All => (Index::All, "all".to_owned()),
    };
    let plan = Plan {
        index,
        key,
        residual: Residual {
            sensor: query.filter.sensor.clone(),
            data_version: query.filter.data_version.clone(),
            conformant: query.filter.conformant,
            ..Residual::default()
        },
    };
    (gsi(index).unwrap_or(CLIENT), plan)
}

/// The indexes in the template's terms (`GlobalSecondaryIndexes`), for the check that it agrees.
pub fn describe() -> serde_json::Value {
    let indexes: Vec<serde_json::Value> = TABLE_INDEXES
        .into_iter()
        .filter_map(gsi)
        .map(|gsi| {
            let projection = if gsi.keeps_fields {
                serde_json::json!({"ProjectionType": "INCLUDE", "NonKeyAttributes": KEPT_FIELDS})
            } else {
                serde_json::json!({"ProjectionType": "KEYS_ONLY"})
            };
            serde_json::json!({
                "IndexName": gsi.name,
                "KeySchema": [
                    {"AttributeName": gsi.key, "KeyType": "HASH"},
                    {"AttributeName": POSITION, "KeyType": "RANGE"},
                ],
                "Projection": projection,
            })
        })
        .collect();
    serde_json::Value::Array(indexes)
}

/// The partition key value of `key` in `shard`. A key longer than DynamoDB allows for a partition
/// key (2048 bytes) is replaced by its SHA-256, which only the same key shares.
pub fn partition(shard: u64, key: &str) -> String {
    const LONGEST: usize = 1024;
    if key.len() <= LONGEST {
        return format!("{shard}|{key}");
    }
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{shard}|sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_keys_become_digests_and_short_ones_stay_readable() {
        assert_eq!(
            partition(3, "https://example.edu/s"),
            "3|https://example.edu/s"
        );
        let long = "x".repeat(5000);
        let p = partition(3, &long);
        assert!(p.starts_with("3|sha256:") && p.len() == 2 + 7 + 64, "{p}");
        assert_ne!(p, partition(3, &"x".repeat(5001)));
    }

    #[test]
    fn every_index_has_its_own_name_and_key() {
        let gsis: Vec<Gsi> = TABLE_INDEXES.into_iter().filter_map(gsi).collect();
        let names: std::collections::HashSet<_> = gsis.iter().map(|g| g.name).collect();
        let keys: std::collections::HashSet<_> = gsis.iter().map(|g| g.key).collect();
        let n = TABLE_INDEXES.len();
        assert_eq!((gsis.len(), names.len(), keys.len()), (n, n, n));
    }
}

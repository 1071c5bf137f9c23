//! The events table's global secondary indexes: one per listing index of `caliper_core::query`.
//!
//! Every index is sorted by `position` (event time, then allocated id) and partitioned by its key
//! with a shard number in front: `"{shard}|{key}"`, the shard being the allocated id modulo
//! [`SHARDS`]. No key is then written by every event (the "all events" key alone would be), and a
//! listing reads the shards of its key in parallel and merges them.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use caliper_core::query::Index;
use caliper_core::StoredEvent;
use sha2::{Digest, Sha256};

/// Write partitions per index key. Fixed for the life of a table: stored keys carry it.
pub const SHARDS: u64 = 8;

/// The sort key of every index.
pub const POSITION: &str = "position";

/// The attributes an actor, email or version index keeps for the filters its key does not settle
/// (`clientAppId`, a key of the table, is in every index).
pub const KEPT_FIELDS: [&str; 4] = ["sensor", "actorId", "actorEmail", "dataVersion"];

/// One index as DynamoDB knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gsi {
    pub name: &'static str,
    /// The partition key attribute.
    pub key: &'static str,
    /// Whether it keeps [`KEPT_FIELDS`] (INCLUDE) or only the keys (KEYS_ONLY).
    pub keeps_fields: bool,
}

pub fn gsi(index: Index) -> Gsi {
    let (name, key) = match index {
        Index::All => ("byAll", "kAll"),
        Index::Client => ("byClient", "kClient"),
        Index::Sensor => ("bySensor", "kSensor"),
        Index::ClientSensor => ("byClientSensor", "kClientSensor"),
        Index::Actor => ("byActor", "kActor"),
        Index::Email => ("byEmail", "kEmail"),
        Index::Version => ("byVersion", "kVersion"),
        Index::ClientVersion => ("byClientVersion", "kClientVersion"),
    };
    Gsi {
        name,
        key,
        keeps_fields: index.keeps_fields(),
    }
}

/// The indexes in the template's terms (`GlobalSecondaryIndexes`), for the check that it agrees.
pub fn describe() -> serde_json::Value {
    let indexes: Vec<serde_json::Value> = Index::EVERY
        .into_iter()
        .map(|index| {
            let gsi = gsi(index);
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

/// The attributes that place `event` in every index it belongs to.
pub fn index_attributes(event: &StoredEvent) -> HashMap<String, AttributeValue> {
    let shard = event.id % SHARDS;
    let mut attributes: HashMap<String, AttributeValue> = Index::EVERY
        .iter()
        .filter_map(|&index| {
            let key = index.key_of(event)?;
            Some((
                gsi(index).key.to_owned(),
                AttributeValue::S(partition(shard, &key)),
            ))
        })
        .collect();
    attributes.insert(
        POSITION.to_owned(),
        AttributeValue::S(caliper_core::Position::of(event).key()),
    );
    if let Some(actor) = event.actor_id() {
        attributes.insert("actorId".into(), AttributeValue::S(actor.to_owned()));
    }
    if let Some(email) = event.actor_email() {
        attributes.insert("actorEmail".into(), AttributeValue::S(email));
    }
    attributes.insert(
        "dataVersion".into(),
        AttributeValue::S(event.data_version.clone()),
    );
    attributes
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
        let names: std::collections::HashSet<_> =
            Index::EVERY.iter().map(|&i| gsi(i).name).collect();
        let keys: std::collections::HashSet<_> = Index::EVERY.iter().map(|&i| gsi(i).key).collect();
        assert_eq!(
            (names.len(), keys.len()),
            (Index::EVERY.len(), Index::EVERY.len())
        );
    }
}

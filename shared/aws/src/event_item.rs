//! How a stored event is kept in the events table: the one place that names its attributes and
//! maps an event to its item and back. To store a new attribute, add its name below and write it
//! in [`to_item`]; to let listings filter on it, add it to [`KEPT_FIELDS`] too (the indexes keep
//! those, and the template test checks that the template's indexes agree).
//!
//! An item is keyed by the event's Caliper id ([`EXTERNAL_ID`], the partition key) and its
//! client ([`CLIENT_APP_ID`], the sort key). The event's document is compressed ([`DOC`]),
//! without the fields the item holds as attributes anyway; beside it are the index keys (see
//! [`crate::indexes`]) and the fields the indexes keep for filters.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use caliper_core::{EventKey, Position, StoreError, StoredEvent};
use serde_json::Value;

use crate::indexes::{gsi, partition, TABLE_INDEXES};

pub type Item = HashMap<String, AttributeValue>;

/// The table's partition key: the event's Caliper id.
pub const EXTERNAL_ID: &str = "externalId";
/// The table's sort key: the client that sent it.
pub const CLIENT_APP_ID: &str = "clientAppId";
/// The id we allocated (a number).
pub const ALLOCATED_ID: &str = "allocatedId";
pub const SENSOR: &str = "sensor";
/// The rest of the event, packed ([`caliper_core::packed`]: zstd with a dictionary of Caliper's
/// vocabulary; binary); items written before hold a bare zstd frame, or before compression the
/// whole event as JSON text.
pub const DOC: &str = "doc";
/// Every index's sort key: event time, then allocated id.
pub const POSITION: &str = "position";
pub const ACTOR_ID: &str = "actorId";
pub const ACTOR_EMAIL: &str = "actorEmail";
/// The Caliper version, short ([`version_field`]), with [`NOT_CONFORMANT`] after it when the
/// event has problems: the indexes keep this field, and a GSI's projection cannot change in place,
/// so conformance rides on it rather than on an attribute of its own.
pub const DATA_VERSION: &str = "dataVersion";
/// What follows the version in [`DATA_VERSION`] for an event with problems (`v1p2!`).
pub const NOT_CONFORMANT: &str = "!";
/// The id counter's one attribute, on its reserved item ([`COUNTER`]).
pub const LAST_ID: &str = "lastId";
/// A deleted event's tombstone: when it was erased (seconds since the epoch).
pub const ERASED_AT: &str = "erasedAt";
/// When the event expires under its client's retention (unix seconds): the table's TTL
/// attribute, by which DynamoDB deletes the item (and so its index entries).
pub const EXPIRES_AT: &str = "expiresAt";

/// The id counter's item: a key no event can have (not an IRI).
pub const COUNTER: (&str, &str) = ("#counter", "#counter:event-id");
/// The directory of clients that ever stored an event, one item beside the counter's (no app
/// client's id has a `#`): a listing of every event reads each one's key of the client index.
pub const CLIENTS: (&str, &str) = ("#counter", "#clients");
/// The directory's one attribute: a string set of client ids (400 KB: about 10,000 clients).
pub const CLIENT_SET: &str = "clients";
/// How many times an erasure began forgetting emails' actors, one small item beside the
/// counter's: a process trusts what it knows of the emails' items while this stays the same
/// (`dynamo_emails`).
pub const FORGETTING: (&str, &str) = ("#counter", "#forgetting");
/// The forgetting item's one attribute (a number).
pub const FORGETTING_EPOCH: &str = "epoch";

/// Whether an id is one of the reserved items' beside the events (no Caliper id: not an IRI).
pub fn is_reserved(external_id: &str) -> bool {
    [COUNTER.1, CLIENTS.1, FORGETTING.1].contains(&external_id)
}

/// An email's actors ([`email_key`]): one item per email, beside the events, read by a listing or
/// an erasure of an email, which then reads those actors' keys of the actor index
/// (`dynamo_emails`). Its sort key is no client's (no app client's id has a `#`).
pub const EMAIL_ITEM: &str = "#actors";
/// The email item's actors: a string set of actor ids.
pub const EMAIL_ACTORS: &str = "actors";
/// How often the email item was added to (a number): what an erasure's removal is conditional on.
pub const EMAIL_WRITES: &str = "additions";
/// Set while an erasure decides which actors to forget: any event with the email stored then
/// adds its actor again, so that the removal's condition fails.
pub const EMAIL_FORGETTING: &str = "forgetting";

/// The attributes every index keeps for the filters its key does not settle ([`CLIENT_APP_ID`], a
/// key of the table, is in every index).
pub const KEPT_FIELDS: [&str; 4] = [SENSOR, ACTOR_ID, ACTOR_EMAIL, DATA_VERSION];

/// What reading an event back needs of its item.
pub const DOCUMENT_PROJECTION: &str = "externalId, clientAppId, allocatedId, sensor, doc";
/// What finding an event's allocated id needs.
pub const ID_PROJECTION: &str = "externalId, clientAppId, allocatedId";

/// The stored event's JSON fields kept as the item's attributes instead of in its document.
const ATTRIBUTE_FIELDS: [(&str, &str); 4] = [
    ("id", ALLOCATED_ID),
    ("externalId", EXTERNAL_ID),
    ("clientAppId", CLIENT_APP_ID),
    ("sensor", SENSOR),
];
/// The largest event document: the largest item DynamoDB takes (400 KB), with room to spare.
const DOC_MAX_BYTES: usize = 4 * 1024 * 1024;

/// The table key of one client's event of one Caliper id.
pub fn key(client_app_id: &str, external_id: &str) -> Item {
    HashMap::from([
        (EXTERNAL_ID.to_owned(), s(external_id)),
        (CLIENT_APP_ID.to_owned(), s(client_app_id)),
    ])
}

/// The key of the item of an email's actors (an email longer than a partition key may be is
/// replaced by its SHA-256, which only the same email shares).
pub fn email_key(email: &str) -> Item {
    key(
        EMAIL_ITEM,
        &partition(0, email).replacen("0|", "#email|", 1),
    )
}

/// The actor and the email of an event's item, when it has both.
pub fn actor_and_email(item: &Item) -> Option<(String, String)> {
    Some((text(item, ACTOR_ID)?, text(item, ACTOR_EMAIL)?))
}

/// When an event's item expires (none: it is kept).
pub fn expires_at(item: &Item) -> Option<i64> {
    item.get(EXPIRES_AT)?.as_n().ok()?.parse().ok()
}

/// The key of a read item (one projected with both key attributes).
pub fn key_of(item: &Item) -> Option<EventKey> {
    Some(EventKey::new(
        text(item, CLIENT_APP_ID)?,
        text(item, EXTERNAL_ID)?,
    ))
}

/// A deleted event's item: its key and when it was erased (seconds), nothing else. With no index
/// key it has no index entry, and with no document no read finds an event in it; its key keeps
/// the conditional insert of a message delivered again from storing the event anew.
pub fn tombstone(key: &EventKey, erased_at: i64) -> Item {
    let mut item = self::key(&key.client_app_id, &key.external_id);
    item.insert(
        ERASED_AT.to_owned(),
        AttributeValue::N(erased_at.to_string()),
    );
    item
}

pub fn is_tombstone(item: &Item) -> bool {
    item.contains_key(ERASED_AT)
}

pub fn allocated_id(item: &Item) -> Option<u64> {
    item.get(ALLOCATED_ID)?.as_n().ok()?.parse().ok()
}

/// A text attribute of a read item.
pub fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name)?.as_s().ok().cloned()
}

/// A Caliper version as the item keeps it: `v1p2` for `http://purl.imsglobal.org/ctx/caliper/v1p2`
/// (every byte of an item counts towards its write units).
pub fn version_field(data_version: &str) -> String {
    data_version
        .strip_prefix("http://purl.imsglobal.org/ctx/caliper/")
        .unwrap_or(data_version)
        .to_owned()
}

/// The item of `event`: its key, its compressed document, its index keys and kept fields. An
/// event of about a kilobyte then fits, with its index keys, in one write unit (1 KB).
pub fn to_item(event: &StoredEvent, shards: u64) -> Result<Item, StoreError> {
    let mut doc = serde_json::to_value(event)
        .map_err(|e| StoreError::invalid("an event not writable as JSON").caused_by(e))?;
    if let Value::Object(fields) = &mut doc {
        for (field, _) in ATTRIBUTE_FIELDS {
            fields.remove(field);
        }
    }
    let json = serde_json::to_vec(&doc)
        .map_err(|e| StoreError::invalid("an event not writable as JSON").caused_by(e))?;
    let packed = caliper_core::packed::pack(&json)
        .map_err(|e| StoreError::new(format!("cannot compress an event: {e}")))?;
    let mut item = key(&event.client_app_id, &event.external_id);
    let mut put = |name: &str, value: AttributeValue| item.insert(name.to_owned(), value);
    put(ALLOCATED_ID, AttributeValue::N(event.id.to_string()));
    put(SENSOR, s(&event.sensor));
    put(DOC, AttributeValue::B(Blob::new(packed)));
    put(POSITION, s(&Position::of(event).key()));
    if let Some(at) = event.expires_at {
        put(EXPIRES_AT, AttributeValue::N(at.to_string()));
    }
    if let Some(actor) = event.actor_id() {
        put(ACTOR_ID, s(actor));
    }
    if let Some(email) = event.actor_email() {
        put(ACTOR_EMAIL, s(&email));
    }
    let conformance = if event.problems.is_empty() {
        ""
    } else {
        NOT_CONFORMANT
    };
    put(
        DATA_VERSION,
        s(&format!(
            "{}{conformance}",
            version_field(&event.data_version)
        )),
    );
    // Its entry in each index it belongs to, in the shard of its allocated id.
    let shard = event.id % shards;
    for index in TABLE_INDEXES {
        if let (Some(gsi), Some(key)) = (gsi(index), index.key_of(event)) {
            put(gsi.key, s(&partition(shard, &key)));
        }
    }
    Ok(item)
}

/// The stored event of an item (none for an item without a document, such as the counter's).
pub fn from_item(item: &Item) -> Option<Result<StoredEvent, StoreError>> {
    let unreadable = |why: String| StoreError::new(format!("an unreadable stored event: {why}"));
    let packed = match item.get(DOC)? {
        AttributeValue::B(packed) => packed,
        AttributeValue::S(json) => {
            return Some(serde_json::from_str(json).map_err(|e| unreadable(e.to_string())))
        }
        _ => return None,
    };
    let read = || {
        let json = caliper_core::packed::unpack(packed.as_ref(), DOC_MAX_BYTES)
            .map_err(|e| unreadable(e.to_string()))?;
        let mut doc: Value =
            serde_json::from_slice(&json).map_err(|e| unreadable(e.to_string()))?;
        let fields = doc
            .as_object_mut()
            .ok_or_else(|| unreadable("not a JSON object".into()))?;
        for (field, attribute) in ATTRIBUTE_FIELDS {
            let value = match item.get(attribute) {
                Some(AttributeValue::S(text)) => Value::from(text.clone()),
                Some(AttributeValue::N(number)) => Value::from(
                    number
                        .parse::<u64>()
                        .map_err(|e| unreadable(e.to_string()))?,
                ),
                _ => return Err(unreadable(format!("no {attribute}"))),
            };
            fields.insert(field.to_owned(), value);
        }
        serde_json::from_value(doc).map_err(|e| unreadable(e.to_string()))
    };
    Some(read())
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> StoredEvent {
        let caliper = serde_json::json!({
            "id": "urn:uuid:7e10e4f3-a0d8-4430-95bd-783ffae4d916", "type": "ToolUseEvent",
            "actor": {"id": "https://example.edu/users/1", "type": "Person",
                      "extensions": {"email": "ada@example.edu"}},
            "action": "Used",
            "object": {"id": "https://example.edu/tool", "type": "SoftwareApplication"},
            "eventTime": "2024-05-01T12:00:00.000Z", "extensions": {"id": "not ours"}
        });
        StoredEvent::from_event(
            &caliper,
            42,
            "https://example.edu/sensors/1",
            "2024-05-01T12:00:01.000Z",
            "http://purl.imsglobal.org/ctx/caliper/v1p2",
            "app",
            chrono::Utc::now(),
        )
    }

    #[test]
    fn an_event_reads_back_from_its_item_as_it_was_stored() {
        let event = event();
        let item = to_item(&event, 8).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(item.get(DOC), Some(AttributeValue::B(_))));
        assert_eq!(
            key_of(&item),
            Some(EventKey::new("app", &event.external_id))
        );
        assert_eq!(allocated_id(&item), Some(42));
        let read = from_item(&item).map(|r| r.unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(read, Some(event.clone()));
        let legacy: Item = HashMap::from([(
            DOC.to_owned(),
            AttributeValue::S(serde_json::to_string(&event).unwrap_or_default()),
        )]);
        assert_eq!(from_item(&legacy).and_then(Result::ok), Some(event.clone()));
        // Written before the dictionary: the same document in a bare zstd frame.
        let mut older = item.clone();
        let Some(AttributeValue::B(packed)) = item.get(DOC) else {
            panic!("no document")
        };
        let json = caliper_core::packed::unpack(packed.as_ref(), DOC_MAX_BYTES).expect("unpack");
        let frame = zstd::bulk::compress(&json, 3).expect("compress");
        older.insert(DOC.to_owned(), AttributeValue::B(Blob::new(frame)));
        assert_eq!(from_item(&older).and_then(Result::ok), Some(event));
    }

    #[test]
    fn the_item_holds_every_kept_field_and_each_index_key() {
        let item = to_item(&event(), 8).unwrap_or_else(|e| panic!("{e}"));
        for field in KEPT_FIELDS {
            assert!(item.contains_key(field), "{field}");
        }
        assert_eq!(text(&item, DATA_VERSION).as_deref(), Some("v1p2"));
        let flagged = StoredEvent {
            problems: vec![caliper_core::Problem::new("/object/type", "unknown")],
            ..event()
        };
        let item = to_item(&flagged, 8).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(text(&item, DATA_VERSION).as_deref(), Some("v1p2!"));
        assert_eq!(
            from_item(&item).and_then(Result::ok),
            Some(flagged),
            "read back whole"
        );
        for index in TABLE_INDEXES.into_iter().filter_map(gsi) {
            assert!(item.contains_key(index.key), "{}", index.name);
        }
        // Every attribute is one this module names.
        let named: std::collections::HashSet<&str> = [
            EXTERNAL_ID,
            CLIENT_APP_ID,
            ALLOCATED_ID,
            SENSOR,
            DOC,
            POSITION,
            ACTOR_ID,
            ACTOR_EMAIL,
            DATA_VERSION,
        ]
        .into_iter()
        .chain(TABLE_INDEXES.into_iter().filter_map(gsi).map(|g| g.key))
        .collect();
        for attribute in item.keys() {
            assert!(named.contains(attribute.as_str()), "{attribute}");
        }
        assert!(DOCUMENT_PROJECTION.split(", ").all(|a| named.contains(a)));
    }
}

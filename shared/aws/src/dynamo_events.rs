//! Events in DynamoDB, keyed by their Caliper id (`externalId`, the partition key) and their client
//! (`clientAppId`, the sort key), written with a condition so that each client's event of an id is
//! stored once. An admin finds every client's event of one id with one Query of its partition. The
//! id counter is one reserved item of the same table, updated once per batch.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, ReturnValue, ReturnValuesOnConditionCheckFailure,
};
use aws_sdk_dynamodb::Client;
use caliper_core::{EventKey, EventStore, InsertOutcome, StoreError, StoredEvent};
use futures::future::try_join_all;

use crate::errors::store_error;
use crate::indexes::index_attributes;

/// The counter's key: not an IRI, so no event can ever collide with it.
const COUNTER_KEY: &str = "#counter:event-id";
const COUNTER_CLIENT: &str = "#counter";
/// zstd's level for stored events: 0.44 of the JSON at a few microseconds (the embedded store's
/// measurement, `cargo bench -p caliper-embedded --bench compression`).
const DOC_LEVEL: i32 = 3;
/// The largest event document: the largest item DynamoDB takes (400 KB), with room to spare.
const DOC_MAX_BYTES: usize = 4 * 1024 * 1024;
/// The stored event's fields kept as the item's attributes instead of in its document.
const ATTRIBUTE_FIELDS: [(&str, &str); 4] = [
    ("id", "allocatedId"),
    ("externalId", "externalId"),
    ("clientAppId", "clientAppId"),
    ("sensor", "sensor"),
];
/// What reading an event's document needs of its item.
const DOCUMENT_PROJECTION: &str = "externalId, clientAppId, allocatedId, sensor, doc";
/// Concurrent writes per batch: enough to hide latency, few enough to stay polite to the table.
const WRITE_CONCURRENCY: usize = 16;
/// BatchGetItem takes at most 100 keys.
const BATCH_GET_KEYS: usize = 100;

#[derive(Clone)]
pub struct DynamoEvents {
    pub(crate) client: Client,
    pub(crate) table: String,
}

type Item = HashMap<String, AttributeValue>;

fn key(client_app_id: &str, external_id: &str) -> Item {
    HashMap::from([
        (
            "externalId".to_owned(),
            AttributeValue::S(external_id.to_owned()),
        ),
        (
            "clientAppId".to_owned(),
            AttributeValue::S(client_app_id.to_owned()),
        ),
    ])
}

/// The key of a read item (one projected with both key attributes).
fn key_of(item: &Item) -> Option<EventKey> {
    let text = |name: &str| item.get(name)?.as_s().ok().cloned();
    Some(EventKey::new(text("clientAppId")?, text("externalId")?))
}

fn allocated_id(item: &Item) -> Option<u64> {
    item.get("allocatedId")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

impl DynamoEvents {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn item(event: &StoredEvent) -> Result<Item, StoreError> {
        // The fields the item holds as attributes anyway leave the document (read back in
        // `document`), and the rest is compressed: an event of about a kilobyte then fits, with
        // its index keys, in one write unit (1 KB) instead of two.
        let mut doc = serde_json::to_value(event).map_err(|e| StoreError::new(e.to_string()))?;
        if let serde_json::Value::Object(fields) = &mut doc {
            for (field, _) in ATTRIBUTE_FIELDS {
                fields.remove(field);
            }
        }
        let json = serde_json::to_vec(&doc).map_err(|e| StoreError::new(e.to_string()))?;
        let packed = zstd::bulk::compress(&json, DOC_LEVEL)
            .map_err(|e| StoreError::new(format!("cannot compress an event: {e}")))?;
        let mut item = key(&event.client_app_id, &event.external_id);
        item.insert(
            "allocatedId".into(),
            AttributeValue::N(event.id.to_string()),
        );
        item.insert("sensor".into(), AttributeValue::S(event.sensor.clone()));
        item.insert("doc".into(), AttributeValue::B(Blob::new(packed)));
        item.extend(index_attributes(event));
        Ok(item)
    }

    /// The items of `keys` that exist, with the attributes of `projection`, in no order.
    pub(crate) async fn batch_get(
        &self,
        keys: &[EventKey],
        projection: &str,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        // BatchGetItem refuses duplicate keys.
        let unique: Vec<&EventKey> = keys
            .iter()
            .filter(|k| k.external_id != COUNTER_KEY)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut found = Vec::with_capacity(unique.len());
        for chunk in unique.chunks(BATCH_GET_KEYS) {
            let mut pending: Vec<Item> = chunk
                .iter()
                .map(|k| key(&k.client_app_id, &k.external_id))
                .collect();
            let mut attempt = 0u32;
            while !pending.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(consistent)
                    .projection_expression(projection)
                    .build()
                    .map_err(|e| StoreError::new(e.to_string()))?;
                let mut output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| store_error("BatchGetItem (events)", e))?;
                found.extend(
                    output
                        .responses
                        .as_mut()
                        .and_then(|r| r.remove(&self.table))
                        .unwrap_or_default(),
                );
                pending = output
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .map(|k| k.keys().to_vec())
                    .unwrap_or_default();
                if !pending.is_empty() {
                    attempt += 1;
                    if attempt > 8 {
                        return Err(StoreError::retryable(
                            "BatchGetItem (events) kept leaving keys unprocessed",
                        ));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(25 << attempt.min(6)))
                        .await;
                }
            }
        }
        Ok(found)
    }

    /// The stored events of those of `keys` that exist, by BatchGetItem.
    pub(crate) async fn stored_events(
        &self,
        keys: &[EventKey],
        consistent: bool,
    ) -> Result<HashMap<EventKey, StoredEvent>, StoreError> {
        let mut events = HashMap::with_capacity(keys.len());
        for item in self
            .batch_get(keys, DOCUMENT_PROJECTION, consistent)
            .await?
        {
            let (Some(key), Some(event)) = (key_of(&item), document(&item)) else {
                continue;
            };
            events.insert(key, event?);
        }
        Ok(events)
    }

    async fn insert_one(&self, event: &StoredEvent) -> Result<InsertOutcome, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(event)?))
            .condition_expression("attribute_not_exists(externalId)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(InsertOutcome::Inserted),
            Err(e) => match e.as_service_error() {
                Some(failed) if failed.is_conditional_check_failed_exception() => {
                    let existing = match failed {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => c.item().and_then(allocated_id),
                        _ => None,
                    };
                    match existing {
                        Some(id) => Ok(InsertOutcome::Exists(id)),
                        None => self
                            .find_ids(
                                &event.client_app_id,
                                std::slice::from_ref(&event.external_id),
                            )
                            .await?
                            .get(&event.external_id)
                            .map(|id| InsertOutcome::Exists(*id))
                            .ok_or_else(|| {
                                StoreError::retryable(format!(
                                    "event {} was neither stored nor found",
                                    event.external_id
                                ))
                            }),
                    }
                }
                _ => Err(store_error("PutItem (event)", e)),
            },
        }
    }
}

#[async_trait]
impl EventStore for DynamoEvents {
    async fn allocate_ids(&self, count: u64) -> Result<u64, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(COUNTER_CLIENT, COUNTER_KEY)))
            .update_expression("ADD lastId :count")
            .expression_attribute_values(":count", AttributeValue::N(count.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| store_error("UpdateItem (id counter)", e))?;
        let last: u64 = output
            .attributes()
            .and_then(|a| a.get("lastId"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| StoreError::new("the id counter returned no value"))?;
        Ok(last + 1 - count)
    }

    async fn find_ids(
        &self,
        client_app_id: &str,
        external_ids: &[String],
    ) -> Result<HashMap<String, u64>, StoreError> {
        let keys: Vec<EventKey> = external_ids
            .iter()
            .map(|id| EventKey::new(client_app_id, id))
            .collect();
        let items = self
            .batch_get(&keys, "externalId, clientAppId, allocatedId", true)
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| Some((key_of(item)?.external_id, allocated_id(item)?)))
            .collect())
    }

    async fn insert_new(&self, events: &[StoredEvent]) -> Result<Vec<InsertOutcome>, StoreError> {
        let mut outcomes = Vec::with_capacity(events.len());
        for chunk in events.chunks(WRITE_CONCURRENCY) {
            outcomes.extend(try_join_all(chunk.iter().map(|event| self.insert_one(event))).await?);
        }
        Ok(outcomes)
    }

    async fn get(&self, event: &EventKey) -> Result<Option<StoredEvent>, StoreError> {
        if event.external_id == COUNTER_KEY {
            return Ok(None);
        }
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(&event.client_app_id, &event.external_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem (event)", e))?;
        output.item().and_then(document).transpose()
    }

    async fn holders(&self, external_id: &str) -> Result<Vec<String>, StoreError> {
        if external_id == COUNTER_KEY {
            return Ok(Vec::new());
        }
        let mut clients = Vec::new();
        let mut resume = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("externalId = :id")
                .expression_attribute_values(":id", AttributeValue::S(external_id.to_owned()))
                .projection_expression("clientAppId")
                .consistent_read(true)
                .set_exclusive_start_key(resume)
                .send()
                .await
                .map_err(|e| store_error("Query (event holders)", e))?;
            clients.extend(
                output
                    .items()
                    .iter()
                    .filter_map(|i| i.get("clientAppId")?.as_s().ok().cloned()),
            );
            resume = output.last_evaluated_key;
            if resume.is_none() {
                return Ok(clients);
            }
        }
    }

    async fn get_many(
        &self,
        keys: &[EventKey],
    ) -> Result<HashMap<EventKey, StoredEvent>, StoreError> {
        // Strongly consistent, as `get`: deliveries read events stored a moment ago.
        self.stored_events(keys, true).await
    }
}

/// A stored event, from its item: the compressed document and the fields kept as attributes, or
/// (items written before compression) the whole event as JSON.
fn document(item: &Item) -> Option<Result<StoredEvent, StoreError>> {
    let packed = match item.get("doc")? {
        AttributeValue::B(packed) => packed,
        AttributeValue::S(json) => return Some(parse(json.as_bytes())),
        _ => return None,
    };
    let unreadable = |why: String| StoreError::new(format!("an unreadable stored event: {why}"));
    let read = || {
        let json = zstd::bulk::decompress(packed.as_ref(), DOC_MAX_BYTES)
            .map_err(|e| unreadable(e.to_string()))?;
        let mut doc: serde_json::Value =
            serde_json::from_slice(&json).map_err(|e| unreadable(e.to_string()))?;
        let fields = doc
            .as_object_mut()
            .ok_or_else(|| unreadable("not a JSON object".into()))?;
        for (field, attribute) in ATTRIBUTE_FIELDS {
            let value = match item.get(attribute) {
                Some(AttributeValue::S(text)) => serde_json::Value::from(text.clone()),
                Some(AttributeValue::N(number)) => serde_json::Value::from(
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

fn parse(doc: &[u8]) -> Result<StoredEvent, StoreError> {
    serde_json::from_slice(doc)
        .map_err(|e| StoreError::new(format!("a stored event is unreadable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_back_from_its_item_as_it_was_stored() {
        let caliper = serde_json::json!({
            "id": "urn:uuid:7e10e4f3-a0d8-4430-95bd-783ffae4d916", "type": "ToolUseEvent",
            "actor": {"id": "https://example.edu/users/1", "type": "Person"}, "action": "Used",
            "object": {"id": "https://example.edu/tool", "type": "SoftwareApplication"},
            "eventTime": "2024-05-01T12:00:00.000Z", "extensions": {"id": "not ours"}
        });
        let event = StoredEvent::from_event(
            &caliper,
            42,
            "https://example.edu/sensors/1",
            "2024-05-01T12:00:01.000Z",
            "http://purl.imsglobal.org/ctx/caliper/v1p2",
            "app",
            chrono::Utc::now(),
        );
        let item = DynamoEvents::item(&event).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(item.get("doc"), Some(AttributeValue::B(_))));
        let read = document(&item).map(|r| r.unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(read, Some(event.clone()));
        let legacy: Item = HashMap::from([(
            "doc".to_owned(),
            AttributeValue::S(serde_json::to_string(&event).unwrap_or_default()),
        )]);
        assert_eq!(document(&legacy).and_then(Result::ok), Some(event));
    }
}

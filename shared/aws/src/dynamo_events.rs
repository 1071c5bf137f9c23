//! Events in DynamoDB (each item as `event_item` maps it), keyed by their Caliper id and their
//! client, written with a condition so that each client's event of an id is stored once. An admin finds every client's event of one id with one Query of its partition. The
//! id counter is one reserved item of the same table, updated once per batch; the directory of
//! clients with events another, read by a listing of every event (`dynamo_listing`); each email's
//! actors are items of their own (`dynamo_emails`).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, ReturnValue, ReturnValuesOnConditionCheckFailure,
};
use aws_sdk_dynamodb::Client;
use caliper_core::{ErrorKind, EventKey, EventStore, InsertOutcome, StoreError, StoredEvent};
use futures::future::{join_all, try_join_all};

use crate::dynamo_emails::EmailActor;
use crate::errors::store_error;
use crate::event_item::{
    self, allocated_id, from_item, key, key_of, Item, CLIENTS, CLIENT_APP_ID, CLIENT_SET, COUNTER,
    DOCUMENT_PROJECTION, EXTERNAL_ID, ID_PROJECTION, LAST_ID,
};
use crate::indexes::{DEFAULT_SHARDS, MAX_SHARDS};

/// Concurrent writes per batch: enough to hide latency, few enough to stay polite to the table.
const WRITE_CONCURRENCY: usize = 16;
/// BatchGetItem takes at most 100 keys.
const BATCH_GET_KEYS: usize = 100;

#[derive(Clone)]
pub struct DynamoEvents {
    pub(crate) client: Client,
    pub(crate) table: String,
    /// Write partitions per listing key (see `indexes`).
    pub(crate) shards: u64,
    /// Clients this process has seen in the directory of clients ([`CLIENTS`]): each is added
    /// once per process, not once per event.
    directory: Arc<Mutex<HashSet<String>>>,
    /// What this process knows of emails' items (`dynamo_emails`).
    pub(crate) emails: Arc<Mutex<crate::dynamo_emails::Known>>,
}

impl DynamoEvents {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            shards: DEFAULT_SHARDS,
            directory: Arc::default(),
            emails: Arc::default(),
        }
    }

    /// Adds clients to the directory of clients, before their events are written: a listing of
    /// every event reads the clients the directory names.
    pub(crate) async fn enter_clients<'a>(
        &self,
        clients: impl IntoIterator<Item = &'a String>,
    ) -> Result<(), StoreError> {
        let new: Vec<String> = {
            let known = self
                .directory
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let new: BTreeSet<&String> = clients
                .into_iter()
                .filter(|c| !known.contains(*c))
                .collect();
            new.into_iter().cloned().collect()
        };
        if new.is_empty() {
            return Ok(());
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(CLIENTS.0, CLIENTS.1)))
            .update_expression(format!("ADD {CLIENT_SET} :clients"))
            .expression_attribute_values(":clients", AttributeValue::Ss(new.clone()))
            .send()
            .await
            .map_err(|e| store_error("UpdateItem (client directory)", e))?;
        self.directory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(new);
        Ok(())
    }

    /// Every client that ever stored an event, in no order.
    pub(crate) async fn clients(&self) -> Result<Vec<String>, StoreError> {
        let item = self
            .reserved_item(key(CLIENTS.0, CLIENTS.1), "client directory")
            .await?;
        Ok(item
            .as_ref()
            .and_then(|item| item.get(CLIENT_SET))
            .and_then(|set| set.as_ss().ok())
            .cloned()
            .unwrap_or_default())
    }

    /// One of the table's reserved items (the directory, the forgetting epoch, an email's actors),
    /// read strongly consistent: each is read to decide what to write or trust next. `what` names
    /// it in errors.
    pub(crate) async fn reserved_item(
        &self,
        key: Item,
        what: &str,
    ) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&format!("GetItem ({what})"), e))?;
        Ok(output.item)
    }

    /// The same table with `shards` write partitions per listing key.
    pub fn with_shards(self, shards: u64) -> Self {
        Self {
            shards: shards.clamp(1, MAX_SHARDS),
            ..self
        }
    }

    /// The items of `keys` that exist, with the attributes of `projection`, in no order.
    pub(crate) async fn batch_get(
        &self,
        keys: &[EventKey],
        projection: Option<&str>,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        // BatchGetItem refuses duplicate keys.
        let unique: Vec<&EventKey> = keys
            .iter()
            .filter(|k| !event_item::is_reserved(&k.external_id))
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
                    .set_projection_expression(projection.map(str::to_owned))
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
            .batch_get(keys, Some(DOCUMENT_PROJECTION), consistent)
            .await?
        {
            let (Some(key), Some(event)) = (key_of(&item), from_item(&item)) else {
                continue;
            };
            events.insert(key, event?);
        }
        Ok(events)
    }

    /// One conditional put; an event DynamoDB refuses as it is is [`InsertOutcome::Refused`].
    /// With it, the actor and email of the event stored under its key (this one, or the one
    /// before it), for the email's item.
    async fn insert_one(
        &self,
        event: &StoredEvent,
    ) -> Result<(InsertOutcome, Option<EmailActor>), StoreError> {
        let refused = |error: StoreError| match error.kind {
            ErrorKind::Invalid => Ok((
                InsertOutcome::Refused(format!("the event cannot be stored as it is: {error}")),
                None,
            )),
            _ => Err(error),
        };
        let item = match event_item::to_item(event, self.shards) {
            Ok(item) => item,
            Err(error) => return refused(error),
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(format!("attribute_not_exists({EXTERNAL_ID})"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok((InsertOutcome::Inserted, EmailActor::of_event(event))),
            Err(e) => match e.as_service_error() {
                Some(failed) if failed.is_conditional_check_failed_exception() => {
                    let old = match failed {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => c.item(),
                        _ => None,
                    };
                    if old.is_some_and(event_item::is_tombstone) {
                        return Ok((InsertOutcome::Erased, None));
                    }
                    let existing = old.and_then(allocated_id);
                    let stored = old.and_then(EmailActor::of_item);
                    match existing {
                        Some(id) => Ok((InsertOutcome::Exists(id), stored)),
                        None => self
                            .find_ids(
                                &event.client_app_id,
                                std::slice::from_ref(&event.external_id),
                            )
                            .await?
                            .get(&event.external_id)
                            .map(|id| (InsertOutcome::Exists(*id), None))
                            .ok_or_else(|| {
                                StoreError::retryable(format!(
                                    "event {} was neither stored nor found",
                                    event.external_id
                                ))
                            }),
                    }
                }
                _ => refused(store_error("PutItem (event)", e)),
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
            .set_key(Some(key(COUNTER.0, COUNTER.1)))
            .update_expression(format!("ADD {LAST_ID} :count"))
            .expression_attribute_values(":count", AttributeValue::N(count.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| store_error("UpdateItem (id counter)", e))?;
        let last: u64 = output
            .attributes()
            .and_then(|a| a.get(LAST_ID))
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
        // Eventually consistent, at half the read units: this read only saves an event sent
        // again from taking a new id; the conditional put is what stores each id once (one
        // missed here is found by it, `InsertOutcome::Exists`).
        let items = self.batch_get(&keys, Some(ID_PROJECTION), false).await?;
        Ok(items
            .iter()
            .filter_map(|item| Some((key_of(item)?.external_id, allocated_id(item)?)))
            .collect())
    }

    async fn insert_new(&self, events: &[StoredEvent]) -> Result<Vec<InsertOutcome>, StoreError> {
        self.enter_clients(events.iter().map(|e| &e.client_app_id))
            .await?;
        let mut outcomes = Vec::with_capacity(events.len());
        let mut stored = Vec::new();
        for chunk in events.chunks(WRITE_CONCURRENCY) {
            for (outcome, email) in
                try_join_all(chunk.iter().map(|event| self.insert_one(event))).await?
            {
                outcomes.push(outcome);
                stored.extend(email);
            }
        }
        // After the events (see `dynamo_emails`); a failure here retries the batch, whose events
        // are then found stored, and entered again.
        self.enter_emails(stored).await?;
        Ok(outcomes)
    }

    async fn delete(&self, keys: &[EventKey]) -> Result<u64, StoreError> {
        let now = chrono::Utc::now().timestamp();
        let mut deleted = 0;
        let mut forgotten = Vec::new();
        for chunk in keys.chunks(WRITE_CONCURRENCY) {
            let puts = chunk.iter().map(|key| {
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(event_item::tombstone(key, now)))
                    .return_values(ReturnValue::AllOld)
                    .send()
            });
            for put in join_all(puts).await {
                let old = put.map_err(|e| store_error("PutItem (tombstone)", e))?;
                let was_event = old
                    .attributes()
                    .is_some_and(|item| allocated_id(item).is_some());
                deleted += u64::from(was_event);
                forgotten.extend(old.attributes().and_then(EmailActor::of_item));
            }
        }
        self.forget_emails(forgotten).await?;
        Ok(deleted)
    }

    async fn purge(&self, keys: &[EventKey]) -> Result<u64, StoreError> {
        let mut purged = 0;
        let mut forgotten = Vec::new();
        for chunk in keys.chunks(WRITE_CONCURRENCY) {
            // An event's item only: a tombstone (no allocated id) stays.
            let deletes = chunk.iter().map(|key| {
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(event_item::key(&key.client_app_id, &key.external_id)))
                    .condition_expression(format!("attribute_exists({})", event_item::ALLOCATED_ID))
                    .return_values(ReturnValue::AllOld)
                    .send()
            });
            for delete in join_all(deletes).await {
                match delete {
                    Ok(old) => {
                        purged += 1;
                        forgotten.extend(old.attributes().and_then(EmailActor::of_item));
                    }
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                    Err(e) => return Err(store_error("DeleteItem (purge)", e)),
                }
            }
        }
        self.forget_emails(forgotten).await?;
        Ok(purged)
    }

    async fn get(&self, event: &EventKey) -> Result<Option<StoredEvent>, StoreError> {
        if event_item::is_reserved(&event.external_id) {
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
        output.item().and_then(from_item).transpose()
    }

    async fn holders(&self, external_id: &str) -> Result<Vec<String>, StoreError> {
        if event_item::is_reserved(external_id) {
            return Ok(Vec::new());
        }
        let mut clients = Vec::new();
        let mut resume = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(format!("{EXTERNAL_ID} = :id"))
                // Not the tombstones of deleted events.
                .filter_expression(format!("attribute_exists({})", event_item::ALLOCATED_ID))
                .expression_attribute_values(":id", AttributeValue::S(external_id.to_owned()))
                .projection_expression(CLIENT_APP_ID)
                .consistent_read(true)
                .set_exclusive_start_key(resume)
                .send()
                .await
                .map_err(|e| store_error("Query (event holders)", e))?;
            clients.extend(
                output
                    .items()
                    .iter()
                    .filter_map(|i| event_item::text(i, CLIENT_APP_ID)),
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

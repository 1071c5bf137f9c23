//! Quarantined items in the records table, beside the records: each item under `quarantine` (by
//! its time-ordered id) and again under `quarantine#<client>` (for one client's listing), and each
//! client's count under `quarantine-count`. Keeping and removing change all three in one
//! transaction, the count's condition bounding what a client keeps.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use caliper_core::quarantine::Quarantined;
use caliper_core::{QuarantineStore, StoreError};

use crate::dynamo_records::{ID, KIND};
use crate::errors::store_error;

const EVERY: &str = "quarantine";
const COUNTS: &str = "quarantine-count";
const DOCUMENT: &str = "document";
const COUNT: &str = "n";

/// The partition of one client's items.
fn of_client(client: &str) -> String {
    format!("quarantine#{client}")
}

type Item = HashMap<String, AttributeValue>;

fn key(kind: &str, id: &str) -> Item {
    HashMap::from([
        (KIND.to_owned(), AttributeValue::S(kind.to_owned())),
        (ID.to_owned(), AttributeValue::S(id.to_owned())),
    ])
}

fn decode(item: &Item) -> Result<Quarantined, StoreError> {
    let json = item
        .get(DOCUMENT)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::corrupt("a quarantined item has no document"))?;
    Quarantined::from_json(json)
}

#[derive(Clone)]
pub struct DynamoQuarantine {
    client: Client,
    table: String,
}

impl DynamoQuarantine {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A put of `item` under `kind`; `fresh`: only where no item of its id is.
    fn put(
        &self,
        kind: &str,
        item: &Quarantined,
        json: &str,
        fresh: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut fields = key(kind, &item.id);
        fields.insert(DOCUMENT.to_owned(), AttributeValue::S(json.to_owned()));
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(fields));
        if fresh {
            put = put
                .condition_expression("attribute_not_exists(#id)")
                .expression_attribute_names("#id", ID);
        }
        let put = put
            .build()
            .map_err(|e| StoreError::new(format!("a quarantine write: {e}")))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn count(
        &self,
        client: &str,
        by: i64,
        most: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(COUNTS, client)))
            .update_expression("ADD #n :by")
            .expression_attribute_names("#n", COUNT)
            .expression_attribute_values(":by", AttributeValue::N(by.to_string()));
        if let Some(most) = most {
            update = update
                .condition_expression("attribute_not_exists(#n) OR #n < :most")
                .expression_attribute_values(":most", AttributeValue::N(most.to_string()));
        }
        let update = update
            .build()
            .map_err(|e| StoreError::new(format!("a quarantine count: {e}")))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn delete(
        &self,
        kind: &str,
        id: &str,
        must_exist: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(kind, id)));
        if must_exist {
            delete = delete
                .condition_expression("attribute_exists(#id)")
                .expression_attribute_names("#id", ID);
        }
        let delete = delete
            .build()
            .map_err(|e| StoreError::new(format!("a quarantine delete: {e}")))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Runs a transaction: `Ok` when it was written, else which of its writes' conditions failed
    /// (by position).
    async fn transact(
        &self,
        writes: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Vec<bool>>, StoreError> {
        let error = match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => return Ok(Ok(())),
            Err(error) => error,
        };
        if let SdkError::ServiceError(service) = &error {
            if let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err()
            {
                let failed: Vec<bool> = cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code() == Some("ConditionalCheckFailed"))
                    .collect();
                if failed.iter().any(|f| *f) {
                    return Ok(Err(failed));
                }
            }
        }
        Err(store_error("TransactWriteItems (quarantine)", error))
    }
}

#[async_trait]
impl QuarantineStore for DynamoQuarantine {
    async fn keep(&self, item: &Quarantined, most: u64) -> Result<bool, StoreError> {
        let json = item.to_json()?;
        let writes = vec![
            self.count(&item.client_app_id, 1, Some(most))?,
            self.put(EVERY, item, &json, true)?,
            self.put(&of_client(&item.client_app_id), item, &json, false)?,
        ];
        match self.transact(writes).await? {
            Ok(()) => Ok(true),
            // Kept already (a part delivered again): kept once.
            Err(failed) if failed.get(1) == Some(&true) => Ok(true),
            Err(_) => Ok(false),
        }
    }

    async fn get(&self, id: &str) -> Result<Option<Quarantined>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(EVERY, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem (quarantine)", e))?;
        output.item.as_ref().map(decode).transpose()
    }

    async fn page(
        &self,
        client_app_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Quarantined>, StoreError> {
        let kind = client_app_id.map_or_else(|| EVERY.to_owned(), of_client);
        let mut page = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_names("#kind", KIND)
                .expression_attribute_values(":kind", AttributeValue::S(kind.clone()))
                .scan_index_forward(false)
                .limit(i32::try_from(limit - page.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .consistent_read(true);
            query = match after {
                Some(after) => query
                    .key_condition_expression("#kind = :kind AND #id < :after")
                    .expression_attribute_names("#id", ID)
                    .expression_attribute_values(":after", AttributeValue::S(after.to_owned())),
                None => query.key_condition_expression("#kind = :kind"),
            };
            let output = query
                .send()
                .await
                .map_err(|e| store_error("Query (quarantine)", e))?;
            for item in output.items() {
                page.push(decode(item)?);
            }
            start = output.last_evaluated_key;
            if start.is_none() || page.len() >= limit {
                page.truncate(limit);
                return Ok(page);
            }
        }
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let Some(item) = self.get(id).await? else {
            return Ok(false);
        };
        let writes = vec![
            self.delete(EVERY, id, true)?,
            self.delete(&of_client(&item.client_app_id), id, false)?,
            self.count(&item.client_app_id, -1, None)?,
        ];
        // A failed condition: removed meanwhile.
        Ok(self.transact(writes).await?.is_ok())
    }
}

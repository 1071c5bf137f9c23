//! Small records (webhooks, filters, …) in DynamoDB: one table keyed by `kind` (partition) and `id`
//! (sort), each record's JSON in `document`. Listing a kind is one paginated Query; records are
//! few, and nothing here is on the path of event ingestion. (The table is the stack's
//! `WebhooksTable`, named for its first kind.)

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use caliper_core::{RecordKind, RecordStore, StoreError};

use crate::errors::store_error;

pub const KIND: &str = "kind";
pub const ID: &str = "id";
const DOCUMENT: &str = "document";

#[derive(Clone)]
pub struct DynamoRecords {
    client: Client,
    table: String,
}

impl DynamoRecords {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn document(item: &HashMap<String, AttributeValue>) -> Result<String, StoreError> {
    item.get(DOCUMENT)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| StoreError::corrupt("a record item has no document"))
}

#[async_trait]
impl RecordStore for DynamoRecords {
    async fn put(&self, kind: RecordKind, id: &str, document: &str) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(KIND, AttributeValue::S(kind.as_str().to_owned()))
            .item(ID, AttributeValue::S(id.to_owned()))
            .item(DOCUMENT, AttributeValue::S(document.to_owned()))
            .send()
            .await
            .map_err(|e| store_error("PutItem (records)", e))?;
        Ok(())
    }

    async fn get(&self, kind: RecordKind, id: &str) -> Result<Option<String>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KIND, AttributeValue::S(kind.as_str().to_owned()))
            .key(ID, AttributeValue::S(id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem (records)", e))?;
        output.item.as_ref().map(document).transpose()
    }

    async fn list(&self, kind: RecordKind) -> Result<Vec<String>, StoreError> {
        let mut documents = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#kind = :kind")
                .expression_attribute_names("#kind", KIND)
                .expression_attribute_values(":kind", AttributeValue::S(kind.as_str().to_owned()))
                .set_exclusive_start_key(start)
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| store_error("Query (records)", e))?;
            for item in output.items() {
                documents.push(document(item)?);
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(documents);
            }
        }
    }
}

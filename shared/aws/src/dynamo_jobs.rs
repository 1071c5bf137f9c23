//! Jobs in DynamoDB: one item per job, keyed by `jobId`. Each part's results are compressed JSON
//! in their own attribute (`p0`, `p1`, ...; JSON text in items written before), set only if
//! absent, so recording a part is a single idempotent UpdateItem however often a message is
//! redelivered, and the parts recorded are the attributes present. (Items written before kept a
//! `doneParts` set too; it is no longer read: an emulator's non-atomic ADD could lose one of two
//! concurrent parts from it.)

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;
use caliper_core::{EventResult, Job, JobKind, JobState, JobStore, NewJob, StoreError};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::errors::store_error;

#[derive(Clone)]
pub struct DynamoJobs {
    client: Client,
    table: String,
    ttl_days: i64,
}

type Item = HashMap<String, AttributeValue>;

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn text<'a>(item: &'a Item, key: &str) -> Option<&'a str> {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn time(item: &Item, key: &str) -> Option<DateTime<Utc>> {
    text(item, key)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The largest part's results, unpacked (a part holds at most a few thousand results).
const RESULTS_MAX_BYTES: usize = 16 * 1024 * 1024;

/// A part's results as the item keeps them: packed as stored events are (zstd, reusing its
/// contexts; binary), about half the JSON, since the job item is written again for each part and
/// a write unit is a KB of it.
fn pack_results(results: &[EventResult]) -> Result<AttributeValue, StoreError> {
    let json = serde_json::to_vec(results).map_err(|e| StoreError::new(e.to_string()))?;
    let packed = caliper_core::packed::pack(&json)
        .map_err(|e| StoreError::new(format!("cannot compress a part's results: {e}")))?;
    Ok(AttributeValue::B(Blob::new(packed)))
}

/// A part's results as [`pack_results`] keeps them, or as written before: a bare zstd frame, or
/// JSON text.
fn unpack_results(value: &AttributeValue) -> Result<Vec<EventResult>, StoreError> {
    let unreadable = |e: String| StoreError::new(format!("job item has unreadable results: {e}"));
    match value {
        AttributeValue::S(json) => {
            serde_json::from_str(json).map_err(|e| unreadable(e.to_string()))
        }
        AttributeValue::B(packed) => {
            let json = caliper_core::packed::unpack(packed.as_ref(), RESULTS_MAX_BYTES)
                .map_err(|e| unreadable(e.to_string()))?;
            serde_json::from_slice(&json).map_err(|e| unreadable(e.to_string()))
        }
        _ => Err(unreadable("neither text nor binary".into())),
    }
}

impl DynamoJobs {
    pub fn new(client: Client, table: impl Into<String>, ttl_days: i64) -> Self {
        Self {
            client,
            table: table.into(),
            ttl_days,
        }
    }

    fn key(id: &str) -> Item {
        HashMap::from([("jobId".to_owned(), s(id))])
    }

    fn parse(item: &Item) -> Result<Job, StoreError> {
        let bad = |what: &str| StoreError::new(format!("job item has no valid {what}"));
        let parts: u32 = item
            .get("parts")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad("parts"))?;
        let mut results = Vec::new();
        for part in 0..parts {
            if let Some(packed) = item.get(&format!("p{part}")) {
                results.append(&mut unpack_results(packed)?);
            }
        }
        let document = |name: &str| {
            text(item, name)
                .map(|json| {
                    serde_json::from_str(json).map_err(|e| {
                        StoreError::corrupt(format!("job item has an unreadable {name}"))
                            .caused_by(e)
                    })
                })
                .transpose()
        };
        Ok(Job {
            id: text(item, "jobId").ok_or_else(|| bad("jobId"))?.to_owned(),
            // Items of before kinds were all submissions.
            kind: match text(item, "kind") {
                Some(kind) => JobKind::parse(kind).ok_or_else(|| bad("kind"))?,
                None => JobKind::Submission,
            },
            client_app_id: text(item, "clientAppId").unwrap_or_default().to_owned(),
            state: text(item, "state")
                .and_then(JobState::parse)
                .ok_or_else(|| bad("state"))?,
            parts,
            results,
            created_at: time(item, "createdAt").ok_or_else(|| bad("createdAt"))?,
            processed_on: time(item, "processedOn"),
            failed_reason: text(item, "failedReason").map(str::to_owned),
            checkpoint: document("checkpoint")?,
            outcome: document("outcome")?,
        })
    }

    /// Runs a state change whose condition may legitimately fail (the job moved on): that is no error.
    async fn conditional_update(
        &self,
        call: &str,
        id: &str,
        update: &str,
        condition: &str,
        values: Item,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_names("#state", "state")
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(store_error(call, e)),
        }
    }
}

impl DynamoJobs {
    /// A one-part job's results and its completion in one write, the common case (a write unit
    /// per KB of the item, each time it is written). False when the job is not a one-part job
    /// still at work (its part delivered again, say): the general path answers then.
    async fn complete_alone(
        &self,
        id: &str,
        results: AttributeValue,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .update_expression("SET p0 = :results, #state = :completed, processedOn = :now")
            .condition_expression(
                "parts = :one AND attribute_not_exists(p0) AND #state IN (:waiting, :active)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":results", results)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":waiting", s("waiting"))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":completed", s("completed"))
            .expression_attribute_values(":now", s(caliper_core::model::timestamp(now)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(store_error("UpdateItem (one-part job)", e)),
        }
    }
}

#[async_trait]
impl JobStore for DynamoJobs {
    async fn create(&self, job: &NewJob) -> Result<(), StoreError> {
        let expires = job.created_at.timestamp() + self.ttl_days * 86_400;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("jobId", s(&job.id))
            .item("kind", s(job.kind.as_str()))
            .item("clientAppId", s(&job.client_app_id))
            .item("state", s(JobState::Waiting.as_str()))
            .item("parts", n(job.parts))
            .item(
                "createdAt",
                s(caliper_core::model::timestamp(job.created_at)),
            )
            .item("expiresAt", n(expires))
            .condition_expression("attribute_not_exists(jobId)")
            .send()
            .await
            .map_err(|e| store_error("PutItem (job)", e))?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem (job)", e))?;
        output.item().map(Self::parse).transpose()
    }

    async fn mark_active(&self, id: &str) -> Result<(), StoreError> {
        let values = HashMap::from([
            (":waiting".to_owned(), s("waiting")),
            (":active".to_owned(), s("active")),
        ]);
        self.conditional_update(
            "UpdateItem (job active)",
            id,
            "SET #state = :active",
            "#state = :waiting",
            values,
        )
        .await
    }

    async fn complete_part(
        &self,
        id: &str,
        part: u32,
        parts: u32,
        results: &[EventResult],
        now: DateTime<Utc>,
    ) -> Result<JobState, StoreError> {
        let packed = pack_results(results)?;
        if parts == 1 && self.complete_alone(id, packed.clone(), now).await? {
            return Ok(JobState::Completed);
        }
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .update_expression("SET #part = if_not_exists(#part, :results)")
            .condition_expression("attribute_exists(jobId)")
            .expression_attribute_names("#part", format!("p{part}"))
            .expression_attribute_values(":results", packed)
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| store_error("UpdateItem (job part)", e))?;
        let item = output.attributes().cloned().unwrap_or_default();
        let job = Self::parse(&item)?;
        let recorded = (0..job.parts).all(|n| item.contains_key(&format!("p{n}")));
        if !recorded || job.state.is_finished() {
            return Ok(job.state);
        }
        let values = HashMap::from([
            (":waiting".to_owned(), s("waiting")),
            (":active".to_owned(), s("active")),
            (":completed".to_owned(), s("completed")),
            (":now".to_owned(), s(caliper_core::model::timestamp(now))),
        ]);
        self.conditional_update(
            "UpdateItem (job completed)",
            id,
            "SET #state = :completed, processedOn = :now",
            "#state IN (:waiting, :active)",
            values,
        )
        .await?;
        // Whoever won the race, the stored state is the answer.
        Ok(self
            .get(id)
            .await?
            .map_or(JobState::Completed, |job| job.state))
    }

    async fn save_checkpoint(&self, id: &str, checkpoint: &Value) -> Result<(), StoreError> {
        let json = serde_json::to_string(checkpoint)
            .map_err(|e| StoreError::invalid("a checkpoint not writable as JSON").caused_by(e))?;
        let values = HashMap::from([
            (":checkpoint".to_owned(), s(json)),
            (":failed".to_owned(), s("failed")),
            (":completed".to_owned(), s("completed")),
        ]);
        self.conditional_update(
            "UpdateItem (job checkpoint)",
            id,
            "SET checkpoint = :checkpoint",
            "attribute_exists(jobId) AND #state <> :completed AND #state <> :failed",
            values,
        )
        .await
    }

    async fn complete(
        &self,
        id: &str,
        outcome: &Value,
        now: DateTime<Utc>,
    ) -> Result<JobState, StoreError> {
        let json = serde_json::to_string(outcome)
            .map_err(|e| StoreError::invalid("an outcome not writable as JSON").caused_by(e))?;
        let values = HashMap::from([
            (":outcome".to_owned(), s(json)),
            (":failed".to_owned(), s("failed")),
            (":completed".to_owned(), s("completed")),
            (":now".to_owned(), s(caliper_core::model::timestamp(now))),
        ]);
        self.conditional_update(
            "UpdateItem (job outcome)",
            id,
            "SET #state = :completed, outcome = :outcome, processedOn = :now REMOVE checkpoint",
            "attribute_exists(jobId) AND #state <> :completed AND #state <> :failed",
            values,
        )
        .await?;
        // Whoever ended it first, the stored state is the answer.
        self.get(id)
            .await?
            .map(|job| job.state)
            .ok_or_else(|| StoreError::new(format!("job {id} does not exist")))
    }

    async fn mark_failed(
        &self,
        id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let values = HashMap::from([
            (":failed".to_owned(), s("failed")),
            (":completed".to_owned(), s("completed")),
            (":reason".to_owned(), s(reason)),
            (":now".to_owned(), s(caliper_core::model::timestamp(now))),
        ]);
        self.conditional_update(
            "UpdateItem (job failed)",
            id,
            "SET #state = :failed, failedReason = :reason, processedOn = :now",
            "attribute_exists(jobId) AND #state <> :completed AND #state <> :failed",
            values,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_read_back_packed_or_as_text_written_before() {
        let results = vec![EventResult::new(
            7,
            "urn:uuid:7e10e4f3-a0d8-4430-95bd-783ffae4d916".into(),
            caliper_core::ResultStatus::Stored,
            Vec::new(),
        )];
        let packed = pack_results(&results).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(packed, AttributeValue::B(_)));
        assert_eq!(unpack_results(&packed).ok(), Some(results.clone()));
        let json = serde_json::to_string(&results).unwrap_or_default();
        let frame = zstd::bulk::compress(json.as_bytes(), 3).unwrap_or_default();
        let bare = AttributeValue::B(Blob::new(frame));
        assert_eq!(unpack_results(&bare).ok(), Some(results.clone()));
        assert_eq!(unpack_results(&s(json)).ok(), Some(results));
        assert!(unpack_results(&AttributeValue::Bool(true)).is_err());
    }
}

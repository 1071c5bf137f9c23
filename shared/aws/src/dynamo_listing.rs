//! Listings on DynamoDB: each is a Query of one index key's shards (every client's key, for every
//! event; every actor's of an email, for an email), in parallel, merged by position. Pages read index entries (keys, and the fields a
//! filter tests) and then fetch only the page's events; counts read entries, never events.

use std::collections::VecDeque;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use caliper_core::query::{Index, Plan};
use caliper_core::{EventKey, EventPage, EventQuery, EventReader, Order, Start, StoreError};
use futures::{stream, StreamExt, TryStreamExt};

use crate::dynamo_events::DynamoEvents;
use crate::errors::store_error;
use crate::event_item::{
    key_of, version_field, Item, ACTOR_EMAIL, ACTOR_ID, CLIENT_APP_ID, DATA_VERSION, EXTERNAL_ID,
    NOT_CONFORMANT, POSITION, SENSOR,
};
use crate::indexes::{partition, table_plan, Gsi};

/// Queries in flight at once for one listing: every client's shards, for every event, can be
/// hundreds.
const PARALLEL_QUERIES: usize = 32;

/// One index entry: where it sits and which event it names.
struct Entry {
    position: String,
    event: EventKey,
}

/// A partition's entries read so far, and where its next page begins.
#[derive(Default)]
struct Shard {
    entries: VecDeque<Entry>,
    resume: Option<Item>,
    started: bool,
}

impl Shard {
    fn may_have_more(&self) -> bool {
        !self.started || self.resume.is_some()
    }
}

/// The Query of one partition of a plan (a shard of one of its keys), between two sort keys, with
/// the plan's residual as filter.
struct ShardQuery<'a> {
    events: &'a DynamoEvents,
    index: Gsi,
    plan: Plan,
    /// The partition key values to read and merge: each key's shards.
    partitions: Vec<String>,
    low: String,
    high: String,
    order: Order,
}

impl ShardQuery<'_> {
    fn request(&self, partition: &str) -> QueryFluentBuilder {
        let index = self.index;
        let mut request = self
            .events
            .client
            .query()
            .table_name(&self.events.table)
            .index_name(index.name)
            .key_condition_expression("#k = :k AND #p BETWEEN :low AND :high")
            .expression_attribute_names("#k", index.key)
            .expression_attribute_names("#p", POSITION)
            .expression_attribute_values(":k", AttributeValue::S(partition.to_owned()))
            .expression_attribute_values(":low", AttributeValue::S(self.low.clone()))
            .expression_attribute_values(":high", AttributeValue::S(self.high.clone()))
            .scan_index_forward(self.order == Order::OldestFirst);
        let residual = &self.plan.residual;
        let tests = [
            (CLIENT_APP_ID, residual.client_app_id.clone()),
            (SENSOR, residual.sensor.clone()),
            (ACTOR_ID, residual.actor_id.clone()),
            (ACTOR_EMAIL, residual.actor_email.clone()),
        ];
        let mut conditions = Vec::new();
        for (n, (attribute, wanted)) in tests.into_iter().enumerate() {
            if let Some(wanted) = wanted {
                conditions.push(format!("#f{n} = :f{n}"));
                request = request
                    .expression_attribute_names(format!("#f{n}"), attribute)
                    .expression_attribute_values(format!(":f{n}"), AttributeValue::S(wanted));
            }
        }
        // The version field carries the version and, after it, whether the event has problems.
        if residual.data_version.is_some() || residual.conformant.is_some() {
            request = request.expression_attribute_names("#v", DATA_VERSION);
        }
        if let Some(version) = residual.data_version.as_deref().map(version_field) {
            conditions.push("(#v = :v OR #v = :vflagged)".to_owned());
            request = request
                .expression_attribute_values(
                    ":vflagged",
                    AttributeValue::S(format!("{version}{NOT_CONFORMANT}")),
                )
                .expression_attribute_values(":v", AttributeValue::S(version));
        }
        if let Some(conformant) = residual.conformant {
            let test = if conformant {
                "NOT contains(#v, :flagged)"
            } else {
                "contains(#v, :flagged)"
            };
            conditions.push(test.to_owned());
            request = request.expression_attribute_values(
                ":flagged",
                AttributeValue::S(NOT_CONFORMANT.to_owned()),
            );
        }
        if !conditions.is_empty() {
            request = request.filter_expression(conditions.join(" AND "));
        }
        request
    }

    /// One page of a partition's entries (at most `limit` read), and where the next begins.
    async fn page(
        &self,
        partition: &str,
        resume: Option<Item>,
        limit: i32,
    ) -> Result<(Vec<Entry>, Option<Item>), StoreError> {
        let output = self
            .request(partition)
            .projection_expression(format!("{EXTERNAL_ID}, {CLIENT_APP_ID}, #p"))
            .limit(limit)
            .set_exclusive_start_key(resume)
            .send()
            .await
            .map_err(|e| store_error("Query (event index)", e))?;
        let entries = output
            .items()
            .iter()
            .filter_map(|item| {
                Some(Entry {
                    position: item.get(POSITION)?.as_s().ok()?.clone(),
                    event: key_of(item)?,
                })
            })
            .collect();
        Ok((entries, output.last_evaluated_key))
    }

    /// How many entries of a partition pass the filter.
    async fn count(&self, partition: &str) -> Result<u64, StoreError> {
        let mut total = 0u64;
        let mut resume = None;
        loop {
            let output = self
                .request(partition)
                .select(Select::Count)
                .set_exclusive_start_key(resume)
                .send()
                .await
                .map_err(|e| store_error("Query (event count)", e))?;
            total += u64::try_from(output.count).unwrap_or(0);
            resume = output.last_evaluated_key;
            if resume.is_none() {
                return Ok(total);
            }
        }
    }

    /// Entries across every partition, in order, from the `skip`-th on, at most `take`: each
    /// partition is read a chunk at a time, and only when the merge has used up what was read of
    /// it. Skipped entries are read but not kept.
    async fn merged(&self, skip: usize, take: usize) -> Result<Vec<Entry>, StoreError> {
        let wanted = skip.saturating_add(take);
        let shards_len = self.partitions.len();
        if shards_len == 0 {
            return Ok(Vec::new());
        }
        // Enough per shard for the whole page when events spread evenly, and a little over.
        let chunk = i32::try_from((wanted.div_ceil(shards_len) + 8).min(1000)).unwrap_or(1000);
        let mut shards: Vec<Shard> = (0..shards_len).map(|_| Shard::default()).collect();
        let mut merged = Vec::with_capacity(take);
        let mut passed = 0usize;
        while passed < wanted {
            let empty: Vec<usize> = (0..shards_len)
                .filter(|&s| shards[s].entries.is_empty() && shards[s].may_have_more())
                .collect();
            if !empty.is_empty() {
                let resumes: Vec<Option<Item>> =
                    empty.iter().map(|&s| shards[s].resume.take()).collect();
                let pages: Vec<_> = stream::iter(empty.clone().into_iter().zip(resumes))
                    .map(|(s, resume)| self.page(&self.partitions[s], resume, chunk))
                    .buffered(PARALLEL_QUERIES)
                    .try_collect()
                    .await?;
                for (s, (entries, resume)) in empty.into_iter().zip(pages) {
                    let shard = &mut shards[s];
                    shard.entries.extend(entries);
                    shard.resume = resume;
                    shard.started = true;
                }
                // A filtered page can come back empty and still have more behind it.
                continue;
            }
            let heads = shards.iter_mut().filter(|s| !s.entries.is_empty());
            let next = match self.order {
                Order::NewestFirst => {
                    heads.max_by(|a, b| a.entries[0].position.cmp(&b.entries[0].position))
                }
                Order::OldestFirst => {
                    heads.min_by(|a, b| a.entries[0].position.cmp(&b.entries[0].position))
                }
            };
            match next.and_then(|shard| shard.entries.pop_front()) {
                Some(entry) if passed >= skip => merged.push(entry),
                Some(_) => {}
                None => break,
            }
            passed += 1;
        }
        Ok(merged)
    }
}

impl DynamoEvents {
    async fn shard_query(
        &self,
        query: &EventQuery,
        start: &Start,
    ) -> Result<Option<ShardQuery<'_>>, StoreError> {
        let Some((low, high)) = query.key_range(start) else {
            return Ok(None);
        };
        let (index, plan) = table_plan(query);
        // Every event is every client's events; an email's, its actors'.
        let keys = match plan.index {
            Index::All => self.clients().await?,
            Index::Email => self.actors_of(&plan.key).await?,
            _ => vec![plan.key.clone()],
        };
        let partitions = keys
            .iter()
            .flat_map(|key| (0..self.shards).map(move |shard| partition(shard, key)))
            .collect();
        Ok(Some(ShardQuery {
            events: self,
            index,
            plan,
            partitions,
            low,
            high,
            order: query.order,
        }))
    }
}

#[async_trait]
impl EventReader for DynamoEvents {
    async fn list(
        &self,
        query: &EventQuery,
        start: &Start,
        limit: usize,
    ) -> Result<EventPage, StoreError> {
        let empty = EventPage {
            events: Vec::new(),
            more: false,
        };
        let Some(reader) = self.shard_query(query, start).await? else {
            return Ok(empty);
        };
        let skip = match start {
            Start::Offset(n) => usize::try_from(*n).unwrap_or(usize::MAX),
            Start::After(_) => 0,
        };
        // One more than the page, to know whether another follows.
        let page = reader.merged(skip, limit + 1).await?;
        let more = page.len() > limit;
        let keys: Vec<EventKey> = page.into_iter().take(limit).map(|e| e.event).collect();
        let mut docs = self.stored_events(&keys, false).await?;
        // One the eventually consistent read missed is read again, strongly consistent: an event
        // stored a moment ago is found then; one still missing was deleted a moment ago (an
        // erasure, a purge, its TTL), and the index has not caught up yet.
        let missed: Vec<EventKey> = keys
            .iter()
            .filter(|key| !docs.contains_key(*key))
            .cloned()
            .collect();
        if !missed.is_empty() {
            docs.extend(self.stored_events(&missed, true).await?);
        }
        let events = keys.iter().filter_map(|key| docs.remove(key)).collect();
        Ok(EventPage { events, more })
    }

    async fn count(&self, query: &EventQuery) -> Result<u64, StoreError> {
        let Some(reader) = self.shard_query(query, &Start::Offset(0)).await? else {
            return Ok(0);
        };
        let counts: Vec<u64> = stream::iter(0..reader.partitions.len())
            .map(|p| reader.count(&reader.partitions[p]))
            .buffered(PARALLEL_QUERIES)
            .try_collect()
            .await?;
        Ok(counts.into_iter().sum())
    }
}

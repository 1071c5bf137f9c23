//! How long events are kept: a client's `retentionDays`, else the deployment's default, counted
//! back from now against each event's `eventTime`. An event past it is never answered (by a get,
//! a listing, an export or a webhook delivery: [`Retained`] wraps every read), is not stored when
//! it arrives already past it (its job result says `expired`), and is purged: each stored event
//! carries the time it expires at (`StoredEvent::expires_at`), by which DynamoDB's TTL or the
//! embedded store's sweeper deletes it; what was stored before a retention was set is purged by a
//! [`Sweeper`], which setting it starts.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::clients::Settings;
use crate::identity::Caller;
use crate::model::{EventKey, JobKind, NewJob, StoredEvent};
use crate::ports::{
    EventReader, EventStore, InsertOutcome, JobStore, Queue, RecordStore, StoreError,
};
use crate::query::{
    event_time_key, time_key, EventPage, EventQuery, Order, Position, Start, Visibility,
};
use crate::records::Records;
use crate::steps::{self, LongWork, Step, StepMessage};

/// Each client's retention.
#[derive(Clone)]
pub struct Retention {
    settings: Settings,
    default_days: Option<u32>,
}

impl Retention {
    /// Clients' own settings, else `default_days` (none: kept for ever).
    pub fn new(records: Arc<dyn RecordStore>, default_days: Option<u32>) -> Self {
        Self {
            settings: Settings::new(Records::new(records)),
            default_days,
        }
    }

    /// How many days a client's events are kept; none: for ever.
    pub async fn days_of(&self, client_app_id: &str) -> Result<Option<u32>, StoreError> {
        let own = self.settings.of(client_app_id).await?.retention_days;
        Ok(own.or(self.default_days))
    }

    /// The earliest `eventTime` still kept under `days` at `now`, as a listing time key.
    pub fn cutoff(days: u32, now: DateTime<Utc>) -> String {
        time_key(now - Duration::days(i64::from(days)))
    }

    /// When an event of `event_time` expires under `days`: unix seconds.
    pub fn expires_at(event_time: &str, days: u32) -> Option<i64> {
        let time = caliper_validation::parse_date_time(event_time)?;
        Some((time.with_timezone(&Utc) + Duration::days(i64::from(days))).timestamp())
    }

    /// The keeper of a read: the cutoff of each client whose events a read met.
    fn cutoffs(&self) -> Cutoffs<'_> {
        Cutoffs {
            retention: self,
            now: Utc::now(),
            known: HashMap::new(),
        }
    }
}

/// The cutoffs of the clients one read met, each client's settings read once.
struct Cutoffs<'a> {
    retention: &'a Retention,
    now: DateTime<Utc>,
    known: HashMap<String, Option<String>>,
}

impl Cutoffs<'_> {
    async fn of(&mut self, client: &str) -> Result<Option<String>, StoreError> {
        if let Some(cutoff) = self.known.get(client) {
            return Ok(cutoff.clone());
        }
        let days = self.retention.days_of(client).await?;
        let cutoff = days.map(|days| Retention::cutoff(days, self.now));
        self.known.insert(client.to_owned(), cutoff.clone());
        Ok(cutoff)
    }

    async fn keeps(&mut self, event: &StoredEvent) -> Result<bool, StoreError> {
        let cutoff = self.of(&event.client_app_id).await?;
        Ok(cutoff.is_none_or(|cutoff| event_time_key(&event.event_time) >= cutoff))
    }
}

/// The event store and reader, answering nothing past its client's retention. Writes, and the
/// lookups the processor makes to tell a resend from a new event, pass through unchanged.
pub struct Retained {
    events: Arc<dyn EventStore>,
    reader: Arc<dyn EventReader>,
    retention: Retention,
}

impl Retained {
    pub fn new(
        events: Arc<dyn EventStore>,
        reader: Arc<dyn EventReader>,
        retention: Retention,
    ) -> Self {
        Self {
            events,
            reader,
            retention,
        }
    }

    /// One client's query starts no earlier than its cutoff, so that its pages and counts hold
    /// only what is kept; every client's is filtered event by event.
    async fn bounded(&self, query: &EventQuery) -> Result<EventQuery, StoreError> {
        let mut query = query.clone();
        if let Visibility::Own(client) = &query.visibility {
            if let Some(days) = self.retention.days_of(client).await? {
                let cutoff = Retention::cutoff(days, Utc::now());
                if query.filter.from.as_ref().is_none_or(|from| *from < cutoff) {
                    query.filter.from = Some(cutoff);
                }
            }
        }
        Ok(query)
    }
}

#[async_trait]
impl EventStore for Retained {
    async fn allocate_ids(&self, count: u64) -> Result<u64, StoreError> {
        self.events.allocate_ids(count).await
    }

    async fn find_ids(
        &self,
        client_app_id: &str,
        external_ids: &[String],
    ) -> Result<HashMap<String, u64>, StoreError> {
        self.events.find_ids(client_app_id, external_ids).await
    }

    async fn insert_new(&self, events: &[StoredEvent]) -> Result<Vec<InsertOutcome>, StoreError> {
        self.events.insert_new(events).await
    }

    async fn get(&self, key: &EventKey) -> Result<Option<StoredEvent>, StoreError> {
        let Some(event) = self.events.get(key).await? else {
            return Ok(None);
        };
        Ok(self
            .retention
            .cutoffs()
            .keeps(&event)
            .await?
            .then_some(event))
    }

    async fn delete(&self, keys: &[EventKey]) -> Result<u64, StoreError> {
        self.events.delete(keys).await
    }

    async fn purge(&self, keys: &[EventKey]) -> Result<u64, StoreError> {
        self.events.purge(keys).await
    }

    async fn holders(&self, external_id: &str) -> Result<Vec<String>, StoreError> {
        self.events.holders(external_id).await
    }

    async fn get_many(
        &self,
        keys: &[EventKey],
    ) -> Result<HashMap<EventKey, StoredEvent>, StoreError> {
        let mut found = self.events.get_many(keys).await?;
        let mut cutoffs = self.retention.cutoffs();
        let mut past = Vec::new();
        for (key, event) in &found {
            if !cutoffs.keeps(event).await? {
                past.push(key.clone());
            }
        }
        for key in past {
            found.remove(&key);
        }
        Ok(found)
    }
}

#[async_trait]
impl EventReader for Retained {
    async fn list(
        &self,
        query: &EventQuery,
        start: &Start,
        limit: usize,
    ) -> Result<EventPage, StoreError> {
        let query = self.bounded(query).await?;
        let mut page = self.reader.list(&query, start, limit).await?;
        if query.visibility != Visibility::All {
            return Ok(page);
        }
        // A page of events all past their clients' retention (not yet purged) is read past, so
        // that a listing never ends early on one.
        let mut cutoffs = self.retention.cutoffs();
        loop {
            let last = page.events.last().map(Position::of);
            let mut kept = Vec::with_capacity(page.events.len());
            for event in page.events {
                if cutoffs.keeps(&event).await? {
                    kept.push(event);
                }
            }
            match last {
                Some(last) if kept.is_empty() && page.more => {
                    page = self.reader.list(&query, &Start::After(last), limit).await?;
                }
                _ => {
                    page.events = kept;
                    return Ok(page);
                }
            }
        }
    }

    async fn count(&self, query: &EventQuery) -> Result<u64, StoreError> {
        self.reader.count(&self.bounded(query).await?).await
    }
}

/// A client's events from before its retention was set: purged by a sweep that starts when an
/// admin sets `retentionDays` (events stored since carry their expiry, and go by it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sweeping {
    client_app_id: String,
    /// The latest `eventTime` to purge (a time key, inclusive): just before the cutoff.
    until: String,
    /// The position of the last event purged.
    after: Option<String>,
    purged: u64,
}

/// What a retention sweep's step does: purges a page of the client's events past the cutoff.
pub struct Sweeper {
    stored: Arc<dyn EventReader>,
    events: Arc<dyn EventStore>,
}

impl Sweeper {
    /// Events one step purges.
    pub const PAGE: usize = 500;

    pub fn new(stored: Arc<dyn EventReader>, events: Arc<dyn EventStore>) -> Self {
        Self { stored, events }
    }

    /// Records a sweep of `client`'s events older than `days` from now, as a job of the caller's,
    /// and queues its first step: the job's id.
    pub async fn start(
        jobs: &dyn JobStore,
        queue: &dyn Queue<StepMessage>,
        caller: &Caller,
        client_app_id: &str,
        days: u32,
    ) -> Result<String, StoreError> {
        let now = Utc::now();
        let job = NewJob {
            id: uuid::Uuid::new_v4().to_string(),
            kind: JobKind::Sweep,
            client_app_id: caller.client_id.clone(),
            parts: 1,
            created_at: now,
        };
        let cutoff = now - Duration::days(i64::from(days)) - Duration::nanoseconds(1);
        let state = Sweeping {
            client_app_id: client_app_id.to_owned(),
            until: time_key(cutoff),
            after: None,
            purged: 0,
        };
        steps::start(jobs, queue, &job, &state).await?;
        tracing::info!(
            job_id = job.id,
            client_app_id,
            days,
            "retention sweep started"
        );
        Ok(job.id)
    }
}

#[async_trait]
impl LongWork for Sweeper {
    type State = Sweeping;
    type Error = StoreError;
    const KIND: JobKind = JobKind::Sweep;

    async fn step(&self, id: &str, mut state: Sweeping) -> Result<Step<Sweeping>, StoreError> {
        let query = EventQuery {
            visibility: Visibility::Own(state.client_app_id.clone()),
            filter: crate::query::EventFilter {
                until: Some(state.until.clone()),
                ..Default::default()
            },
            order: Order::OldestFirst,
        };
        let start = match state.after.as_deref().and_then(Position::parse) {
            Some(position) => Start::After(position),
            None => Start::Offset(0),
        };
        let page = self.stored.list(&query, &start, Self::PAGE).await?;
        let Some(last) = page.events.last() else {
            tracing::info!(
                job_id = id,
                client_app_id = state.client_app_id,
                purged = state.purged,
                "retention sweep done"
            );
            return Ok(Step::Done(serde_json::json!({
                "clientAppId": state.client_app_id, "purged": state.purged,
            })));
        };
        state.after = Some(Position::of(last).key());
        let keys: Vec<EventKey> = page.events.iter().map(StoredEvent::key).collect();
        state.purged += self.events.purge(&keys).await?;
        Ok(Step::Next(state))
    }
}

//! An email's actors. The events table has no email index (an index entry is a write unit per
//! event): an email's events are its actors' entries of the actor index whose `actorEmail` is the
//! email, and which actors an email has is one item per email (`event_item::email_key`), added
//! to when a stored event brings an actor the item lacks (a consistent read per email and batch,
//! a write per new actor), and read by a listing or an erasure of the email.
//!
//! Deleting or purging events forgets the actors no event of the email is left for, so that an
//! erased learner's email and actor ids do not outlive their events. Storing and forgetting may
//! run at once without losing an actor that still has events:
//! - a batch is stored first and then its actors entered; an actor the item has is not written
//!   again unless the item says it is being forgotten ([`EMAIL_FORGETTING`]);
//! - forgetting bumps the forgetting epoch ([`FORGETTING`]), marks the item, then looks for events
//!   left of each actor, then removes those with none on condition that nothing was added since
//!   the mark ([`EMAIL_WRITES`]), else looks again.
//!
//! A process remembers which actors it entered ([`Known`]) and reads, after each batch, only the
//! epoch (one small consistent read), trusting what it remembers while the epoch stays; when it
//! moved, the emails' items are read again. A batch that read the epoch (and so the items) before
//! the mark stored its events before it too, so the look finds them; one that read it after reads
//! the items, sees the mark and writes, and so fails the removal or comes after it. (The look
//! reads the actor index, which DynamoDB updates within about a second: an event stored in that
//! second before an erasure of the same learner can be missed by it, as by any index read.)
//!
//! The item expires with the last of its events (the table's TTL, [`EXPIRES_AT`]), a day later at
//! most: it is written again when an event outlives it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::PoisonError;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use caliper_core::{EventKey, StoreError, StoredEvent};
use futures::future::try_join_all;
use futures::{StreamExt, TryStreamExt};

use crate::dynamo_events::DynamoEvents;
use crate::errors::store_error;
use crate::event_item::{
    allocated_id, email_key, key, key_of, text, Item, ACTOR_EMAIL, CLIENT_APP_ID, EMAIL_ACTORS,
    EMAIL_FORGETTING, EMAIL_WRITES, EXPIRES_AT, EXTERNAL_ID, FORGETTING, FORGETTING_EPOCH,
};
use crate::indexes::{gsi, partition};

/// How much later than its last event an email's item may expire: an event outliving the item by
/// less than this does not write it again.
const EXPIRY_SLACK_SECONDS: i64 = 86_400;
/// What confirming that an index entry's event is still stored reads of its item.
const CONFIRM_PROJECTION: &str = "externalId, clientAppId, allocatedId, actorId, actorEmail";
/// Emails forgotten at once by one erasure or purge (each a few requests in a row).
const FORGOTTEN_AT_ONCE: usize = 16;
/// Looks for an actor's events before forgetting gives up (each failed removal means an event of
/// the email was stored meanwhile).
const FORGET_ATTEMPTS: u32 = 8;

/// An actor of an email, and when its event expires (none: never).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EmailActor {
    pub email: String,
    pub actor: String,
    pub expires_at: Option<i64>,
}

impl EmailActor {
    pub fn of_event(event: &StoredEvent) -> Option<Self> {
        Some(Self {
            email: event.actor_email()?,
            actor: event.actor_id()?.to_owned(),
            expires_at: event.expires_at,
        })
    }

    pub fn of_item(item: &Item) -> Option<Self> {
        let (actor, email) = crate::event_item::actor_and_email(item)?;
        Some(Self {
            email,
            actor,
            expires_at: crate::event_item::expires_at(item),
        })
    }
}

/// What an email's item says.
#[derive(Default)]
struct EmailItem {
    actors: BTreeSet<String>,
    writes: i64,
    forgetting: bool,
    /// `None`: never.
    expires_at: Option<i64>,
}

impl EmailItem {
    fn of(item: &Item) -> Self {
        let number = |name: &str| item.get(name)?.as_n().ok()?.parse::<i64>().ok();
        Self {
            actors: item
                .get(EMAIL_ACTORS)
                .and_then(|set| set.as_ss().ok())
                .map(|set| set.iter().cloned().collect())
                .unwrap_or_default(),
            writes: number(EMAIL_WRITES).unwrap_or(0),
            forgetting: item.contains_key(EMAIL_FORGETTING),
            expires_at: number(EXPIRES_AT),
        }
    }
}

/// The latest of two expiries (`None`, never, is the latest).
fn later(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    Some(a?.max(b?))
}

/// The most (email, actor) pairs a process remembers; past it, it starts over.
const KNOWN_MOST: usize = 100_000;

/// What a process knows of the emails' items: for the forgetting epoch it read, the (email, actor)
/// pairs the items hold, each with an expiry the item's is no sooner than (`None`: never).
#[derive(Default)]
pub(crate) struct Known {
    epoch: Option<i64>,
    pairs: HashMap<(String, String), Option<i64>>,
}

impl Known {
    /// Whether the item of `pair`'s email holds its actor until its event expires, as known.
    fn covers(&self, pair: &EmailActor) -> bool {
        let key = (pair.email.clone(), pair.actor.clone());
        match (self.pairs.get(&key), pair.expires_at) {
            (None, _) => false,
            (Some(None), _) => true,
            (Some(Some(_)), None) => false,
            (Some(Some(item)), Some(event)) => event <= *item,
        }
    }
}

impl DynamoEvents {
    /// The forgetting epoch, read consistently (0 before any erasure).
    async fn forgetting_epoch(&self) -> Result<i64, StoreError> {
        let item = self
            .reserved_item(key(FORGETTING.0, FORGETTING.1), "forgetting epoch")
            .await?;
        Ok(item
            .and_then(|item| item.get(FORGETTING_EPOCH)?.as_n().ok()?.parse().ok())
            .unwrap_or(0))
    }

    /// The actors of `email`'s events (and perhaps a few whose events of it are gone).
    pub(crate) async fn actors_of(&self, email: &str) -> Result<Vec<String>, StoreError> {
        let item = self.reserved_item(email_key(email), "email").await?;
        Ok(item
            .map(|item| EmailItem::of(&item).actors.into_iter().collect())
            .unwrap_or_default())
    }

    /// Enters the actors of stored events in their emails' items, where missing.
    pub(crate) async fn enter_emails(&self, stored: Vec<EmailActor>) -> Result<(), StoreError> {
        if stored.is_empty() {
            return Ok(());
        }
        let epoch = self.forgetting_epoch().await?;
        let unknown: Vec<EmailActor> = {
            let mut known = self.emails.lock().unwrap_or_else(PoisonError::into_inner);
            if known.epoch != Some(epoch) || known.pairs.len() >= KNOWN_MOST {
                *known = Known {
                    epoch: Some(epoch),
                    pairs: HashMap::new(),
                };
            }
            stored.into_iter().filter(|p| !known.covers(p)).collect()
        };
        let learnt: Vec<EmailActor> = unknown.clone();
        self.enter_unknown(unknown).await?;
        let mut known = self.emails.lock().unwrap_or_else(PoisonError::into_inner);
        if known.epoch == Some(epoch) {
            for pair in learnt {
                let expiry = known
                    .pairs
                    .get(&(pair.email.clone(), pair.actor.clone()))
                    .map_or(pair.expires_at, |was| later(*was, pair.expires_at));
                known.pairs.insert((pair.email, pair.actor), expiry);
            }
        }
        Ok(())
    }

    /// [`Self::enter_emails`] for the pairs this process does not know: their items read, and
    /// written where they lack an actor, expire too soon or are being forgotten.
    async fn enter_unknown(&self, stored: Vec<EmailActor>) -> Result<(), StoreError> {
        let mut wanted: BTreeMap<String, (BTreeSet<String>, Option<i64>)> = BTreeMap::new();
        for pair in stored {
            let expiry = pair.expires_at;
            let entry = wanted
                .entry(pair.email)
                .or_insert_with(|| (BTreeSet::new(), expiry));
            entry.0.insert(pair.actor);
            entry.1 = later(entry.1, expiry);
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let keys: Vec<EventKey> = wanted
            .keys()
            .map(|email| key_of(&email_key(email)))
            .collect::<Option<_>>()
            .ok_or_else(|| StoreError::new("an email's item has no key"))?;
        let read: HashMap<String, EmailItem> = self
            .batch_get(&keys, None, true)
            .await?
            .iter()
            .filter_map(|item| Some((text(item, EXTERNAL_ID)?, EmailItem::of(item))))
            .collect();
        let writes = wanted.into_iter().filter_map(|(email, (actors, expiry))| {
            let id = key_of(&email_key(&email))?.external_id;
            let known = read.get(&id);
            let missing = known.is_none_or(|k| k.forgetting || !actors.is_subset(&k.actors));
            // The item must expire no sooner than its events.
            let outlived = known.is_some_and(|k| match (k.expires_at, expiry) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(item), Some(event)) => item < event,
            });
            (missing || outlived).then(|| self.add_actors(email, actors, expiry))
        });
        try_join_all(writes).await?;
        Ok(())
    }

    /// Adds `actors` to `email`'s item (made when missing), and raises its expiry to `expiry`.
    async fn add_actors(
        &self,
        email: String,
        actors: BTreeSet<String>,
        expiry: Option<i64>,
    ) -> Result<(), StoreError> {
        let add = |expiry: Option<Option<i64>>| {
            let mut update = "ADD #a :a, #w :one REMOVE #f".to_owned();
            let request = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(email_key(&email)))
                .expression_attribute_names("#a", EMAIL_ACTORS)
                .expression_attribute_names("#w", EMAIL_WRITES)
                .expression_attribute_names("#f", EMAIL_FORGETTING)
                .expression_attribute_values(
                    ":a",
                    AttributeValue::Ss(actors.iter().cloned().collect()),
                )
                .expression_attribute_values(":one", AttributeValue::N("1".into()));
            match expiry {
                None => request.update_expression(update),
                Some(None) => {
                    update.push_str(", #e");
                    request
                        .update_expression(update)
                        .expression_attribute_names("#e", EXPIRES_AT)
                }
                // Never lowered: only a new item, or one expiring sooner, takes it.
                Some(Some(at)) => request
                    .update_expression(format!("{update} SET #e = :e"))
                    .condition_expression("attribute_not_exists(#a) OR #e < :e")
                    .expression_attribute_names("#e", EXPIRES_AT)
                    .expression_attribute_values(
                        ":e",
                        AttributeValue::N((at + EXPIRY_SLACK_SECONDS).to_string()),
                    ),
            }
        };
        match add(Some(expiry)).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                // It expires later already (or never): the actors alone.
                add(None)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| store_error("UpdateItem (email)", e))
            }
            Err(e) => Err(store_error("UpdateItem (email)", e)),
        }
    }

    /// Forgets the actors of deleted events that no event of the email is left for.
    pub(crate) async fn forget_emails(&self, deleted: Vec<EmailActor>) -> Result<(), StoreError> {
        let mut by_email: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for pair in deleted {
            by_email.entry(pair.email).or_default().insert(pair.actor);
        }
        if by_email.is_empty() {
            return Ok(());
        }
        // First: from now on, every process reads the items again before trusting what it knows.
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(FORGETTING.0, FORGETTING.1)))
            .update_expression("ADD #e :one")
            .expression_attribute_names("#e", FORGETTING_EPOCH)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await
            .map_err(|e| store_error("UpdateItem (forgetting epoch)", e))?;
        // Several emails at once (a retention sweep's page may hold hundreds of learners), each
        // email's steps in order.
        futures::stream::iter(by_email)
            .map(|(email, actors)| async move { self.forget(&email, &actors).await })
            .buffer_unordered(FORGOTTEN_AT_ONCE)
            .try_collect::<()>()
            .await
    }

    async fn forget(&self, email: &str, actors: &BTreeSet<String>) -> Result<(), StoreError> {
        for _ in 0..FORGET_ATTEMPTS {
            let marked = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(email_key(email)))
                .update_expression("SET #f = :now")
                .condition_expression("attribute_exists(#a)")
                .expression_attribute_names("#f", EMAIL_FORGETTING)
                .expression_attribute_names("#a", EMAIL_ACTORS)
                .expression_attribute_values(
                    ":now",
                    AttributeValue::N(chrono::Utc::now().timestamp().to_string()),
                )
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            let item = match marked {
                Ok(output) => EmailItem::of(output.attributes().unwrap_or(&Item::new())),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    return Ok(()); // no item: nothing to forget
                }
                Err(e) => return Err(store_error("UpdateItem (email mark)", e)),
            };
            let mut gone = BTreeSet::new();
            for actor in actors.intersection(&item.actors) {
                if !self.has_events(actor, email).await? {
                    gone.insert(actor.clone());
                }
            }
            let key = email_key(email);
            let writes = AttributeValue::N(item.writes.to_string());
            let result = if gone == item.actors {
                // No actor left: nothing of the email stays.
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key))
                    .condition_expression("attribute_not_exists(#w) OR #w = :w")
                    .expression_attribute_names("#w", EMAIL_WRITES)
                    .expression_attribute_values(":w", writes)
                    .send()
                    .await
                    .map(|_| true)
                    .or_else(|e| match e.as_service_error() {
                        Some(e) if e.is_conditional_check_failed_exception() => Ok(false),
                        _ => Err(store_error("DeleteItem (email)", e)),
                    })
            } else {
                let mut request = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key))
                    .condition_expression("attribute_not_exists(#w) OR #w = :w")
                    .expression_attribute_names("#w", EMAIL_WRITES)
                    .expression_attribute_names("#f", EMAIL_FORGETTING)
                    .expression_attribute_values(":w", writes);
                request = if gone.is_empty() {
                    request.update_expression("REMOVE #f")
                } else {
                    request
                        .update_expression("DELETE #a :gone REMOVE #f")
                        .expression_attribute_names("#a", EMAIL_ACTORS)
                        .expression_attribute_values(
                            ":gone",
                            AttributeValue::Ss(gone.into_iter().collect()),
                        )
                };
                request
                    .send()
                    .await
                    .map(|_| true)
                    .or_else(|e| match e.as_service_error() {
                        Some(e) if e.is_conditional_check_failed_exception() => Ok(false),
                        _ => Err(store_error("UpdateItem (email forgotten)", e)),
                    })
            };
            // Not done: an event of the email came meanwhile; look again.
            if result? {
                return Ok(());
            }
        }
        Err(StoreError::retryable(
            "an email's actors kept changing while an erasure forgot them",
        ))
    }

    /// Whether any event of `actor` with `email` is stored, in any client. The index names the
    /// candidates; each is confirmed in the table (strongly consistent), since the index may still
    /// hold the entries of events deleted a moment ago.
    async fn has_events(&self, actor: &str, email: &str) -> Result<bool, StoreError> {
        let index = gsi(caliper_core::query::Index::Actor)
            .ok_or_else(|| StoreError::new("the table has no actor index"))?;
        for shard in 0..self.shards {
            let mut resume = None;
            loop {
                let output = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(index.name)
                    .key_condition_expression("#k = :k")
                    .filter_expression("#m = :m")
                    .expression_attribute_names("#k", index.key)
                    .expression_attribute_names("#m", ACTOR_EMAIL)
                    .expression_attribute_values(":k", AttributeValue::S(partition(shard, actor)))
                    .expression_attribute_values(":m", AttributeValue::S(email.to_owned()))
                    .projection_expression(format!("{EXTERNAL_ID}, {CLIENT_APP_ID}"))
                    .set_exclusive_start_key(resume)
                    .send()
                    .await
                    .map_err(|e| store_error("Query (an actor's events of an email)", e))?;
                let candidates: Vec<EventKey> = output.items().iter().filter_map(key_of).collect();
                if !candidates.is_empty() {
                    let stored = self
                        .batch_get(&candidates, Some(CONFIRM_PROJECTION), true)
                        .await?;
                    let confirmed = stored.iter().any(|item| {
                        allocated_id(item).is_some()
                            && EmailActor::of_item(item)
                                .is_some_and(|pair| pair.actor == actor && pair.email == email)
                    });
                    if confirmed {
                        return Ok(true);
                    }
                }
                resume = output.last_evaluated_key;
                if resume.is_none() {
                    break;
                }
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_item::EMAIL_ITEM;

    #[test]
    fn never_is_the_latest_expiry() {
        assert_eq!(later(Some(3), Some(5)), Some(5));
        assert_eq!(later(None, Some(5)), None);
        assert_eq!(later(Some(3), None), None);
    }

    #[test]
    fn a_known_pair_covers_events_expiring_no_later_than_its_item() {
        let pair = |expires_at| EmailActor {
            email: "ann@e.edu".into(),
            actor: "https://e.edu/ann".into(),
            expires_at,
        };
        let mut known = Known::default();
        assert!(!known.covers(&pair(Some(5))));
        known
            .pairs
            .insert(("ann@e.edu".into(), "https://e.edu/ann".into()), Some(10));
        assert!(known.covers(&pair(Some(10))));
        assert!(!known.covers(&pair(Some(11))), "outlives the item");
        assert!(!known.covers(&pair(None)), "kept for ever");
        known
            .pairs
            .insert(("ann@e.edu".into(), "https://e.edu/ann".into()), None);
        assert!(known.covers(&pair(None)) && known.covers(&pair(Some(99))));
    }

    #[test]
    fn an_email_item_is_keyed_apart_from_every_event() {
        let key = key_of(&email_key("Ann@E.edu")).expect("a key");
        assert_eq!(key.client_app_id, EMAIL_ITEM);
        assert_eq!(key.external_id, "#email|Ann@E.edu");
        let long = key_of(&email_key(&"a".repeat(3000))).expect("a key");
        assert!(
            long.external_id.starts_with("#email|sha256:"),
            "{}",
            long.external_id
        );
    }
}

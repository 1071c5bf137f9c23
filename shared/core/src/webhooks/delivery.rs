//! Delivery: stored events fan out to the webhooks that want them, one queue message per event and
//! webhook, and each message is one signed POST. A failed POST leaves its message to the queue,
//! which tries again after a growing, jittered delay and, after the last allowed attempt, moves it
//! to the dead letters: a slow or dead receiver holds up only its own deliveries.

use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::service::WebhookService;
use super::signature::{sign, DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WEBHOOK_HEADER};
use crate::model::EventKey;
use crate::ports::{EventStore, Message, Queue, StoreError, WebhookSender};
use crate::retry::Backoff;
use crate::work::Work;

/// A message on the delivery queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum DeliveryMessage {
    /// These events (Caliper ids) of one client were stored: find the webhooks that want them.
    Stored {
        client_app_id: String,
        events: Vec<String>,
    },
    /// Send one stored event to one webhook.
    Deliver {
        webhook_id: String,
        client_app_id: String,
        event_id: String,
    },
}

impl Message for DeliveryMessage {
    const NAME: &'static str = "webhook delivery message";
}

impl DeliveryMessage {
    /// Ids per `Stored` message: far below any queue's size limit.
    pub const IDS_PER_MESSAGE: usize = 500;

    /// `Stored` messages for these ids of one client, at most [`Self::IDS_PER_MESSAGE`] each.
    pub fn stored(client_app_id: &str, ids: &[String]) -> Vec<Self> {
        ids.chunks(Self::IDS_PER_MESSAGE)
            .map(|chunk| Self::Stored {
                client_app_id: client_app_id.to_owned(),
                events: chunk.to_vec(),
            })
            .collect()
    }
}

pub struct Dispatcher {
    backoff: Backoff,
    webhooks: WebhookService,
    events: Arc<dyn EventStore>,
    queue: Arc<dyn Queue<DeliveryMessage>>,
    sender: Arc<dyn WebhookSender>,
}

impl Dispatcher {
    pub fn new(
        backoff: Backoff,
        webhooks: WebhookService,
        events: Arc<dyn EventStore>,
        queue: Arc<dyn Queue<DeliveryMessage>>,
        sender: Arc<dyn WebhookSender>,
    ) -> Self {
        Self {
            backoff,
            webhooks,
            events,
            queue,
            sender,
        }
    }

    /// Queues one `Deliver` per stored event and webhook that wants it.
    async fn fan_out(&self, client_app_id: &str, ids: &[String]) -> Result<(), String> {
        let subscriptions = self.webhooks.subscriptions().await.map_err(failed)?;
        if subscriptions.is_empty() {
            return Ok(());
        }
        let keys: Vec<EventKey> = ids
            .iter()
            .map(|id| EventKey::new(client_app_id, id))
            .collect();
        let events = self.events.get_many(&keys).await.map_err(failed)?;
        let mut messages = Vec::new();
        for (id, key) in ids.iter().zip(&keys) {
            let Some(event) = events.get(key) else {
                tracing::warn!(
                    event_id = id,
                    "a stored event to deliver is not in the store"
                );
                continue;
            };
            let json = serde_json::to_value(event).map_err(|e| e.to_string())?;
            for subscription in subscriptions.iter().filter(|s| s.wants(event, &json)) {
                messages.push(DeliveryMessage::Deliver {
                    webhook_id: subscription.webhook.id.clone(),
                    client_app_id: client_app_id.to_owned(),
                    event_id: id.clone(),
                });
            }
        }
        if !messages.is_empty() {
            self.queue.send(&messages).await.map_err(failed)?;
            tracing::info!(
                events = ids.len(),
                deliveries = messages.len(),
                "deliveries queued"
            );
        }
        Ok(())
    }

    /// One signed POST of the stored event to the webhook, unless it was deactivated or deleted.
    async fn deliver(&self, webhook_id: &str, key: &EventKey, attempt: u32) -> Result<(), String> {
        let event_id = key.external_id.as_str();
        let Some(webhook) = self
            .webhooks
            .live_webhook(webhook_id)
            .await
            .map_err(failed)?
        else {
            tracing::info!(webhook_id, event_id, "webhook deleted; delivery dropped");
            return Ok(());
        };
        if !webhook.active {
            tracing::info!(webhook_id, event_id, "webhook inactive; delivery dropped");
            return Ok(());
        }
        let Some(event) = self.events.get(key).await.map_err(failed)? else {
            tracing::warn!(
                webhook_id,
                event_id,
                "the event is no longer stored; delivery dropped"
            );
            return Ok(());
        };
        let body = serde_json::to_string(&event).map_err(|e| e.to_string())?;
        let timestamp = Utc::now().timestamp();
        let headers = [
            (SIGNATURE_HEADER, sign(&webhook.secret, timestamp, &body)),
            (TIMESTAMP_HEADER, timestamp.to_string()),
            (WEBHOOK_HEADER, webhook.id.clone()),
            (DELIVERY_HEADER, delivery_id(webhook_id, key)),
            ("X-Caliper-Attempt", attempt.to_string()),
        ];
        match self.sender.post(&webhook.target_url, &headers, &body).await {
            Ok(status) if (200..300).contains(&status) => {
                tracing::info!(webhook_id, event_id, attempt, status, "webhook delivered");
                Ok(())
            }
            Ok(status) => Err(format!("the receiver answered {status}")),
            Err(reason) => Err(reason),
        }
    }
}

/// Webhook deliveries as a kind of background work ([`crate::work`]): a fan-out or a delivery
/// that fails is tried again after the webhook backoff, and abandoned (logged, dead-lettered)
/// after the last attempt.
#[async_trait::async_trait]
impl Work for Dispatcher {
    type Message = DeliveryMessage;
    /// Why a delivery failed, in words (a receiver's status, a store's error).
    type Error = String;

    async fn run(&self, message: &DeliveryMessage, receives: u32) -> Result<(), String> {
        match message {
            DeliveryMessage::Stored {
                client_app_id,
                events,
            } => self.fan_out(client_app_id, events).await,
            DeliveryMessage::Deliver {
                webhook_id,
                client_app_id,
                event_id,
            } => {
                let key = EventKey::new(client_app_id, event_id);
                self.deliver(webhook_id, &key, receives).await
            }
        }
    }

    fn backoff(&self) -> Backoff {
        self.backoff
    }

    async fn retrying(&self, _message: &DeliveryMessage, reason: &String, receives: u32) {
        tracing::warn!(
            receives,
            reason,
            "webhook delivery failed; it will be tried again"
        );
    }

    async fn give_up(&self, message: &DeliveryMessage, reason: &String) {
        match message {
            DeliveryMessage::Deliver {
                webhook_id,
                client_app_id,
                event_id,
            } => tracing::error!(
                webhook_id,
                client_app_id,
                event_id,
                reason,
                "webhook delivery abandoned"
            ),
            DeliveryMessage::Stored { events, .. } => {
                tracing::error!(events = events.len(), reason, "webhook fan-out abandoned")
            }
        }
    }
}

/// Stable across attempts of one event to one webhook, so that receivers can drop repeats; two
/// clients' events of one Caliper id are two deliveries.
fn delivery_id(webhook_id: &str, key: &EventKey) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("{webhook_id}\n{}\n{}", key.client_app_id, key.external_id).as_bytes(),
    )
    .to_string()
}

fn failed(error: StoreError) -> String {
    error.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Caller, Scope};
    use crate::memory::{MemoryDeliveries, MemoryEvents, MemoryRecords, RecordingSender};
    use crate::model::StoredEvent;
    use crate::ports::{Consumer, Verdict};
    use crate::webhooks::{TargetPolicy, WebhookError};
    use serde_json::{json, Value};
    use std::time::Duration;

    struct World {
        service: WebhookService,
        events: Arc<MemoryEvents>,
        queue: Arc<MemoryDeliveries>,
        sender: Arc<RecordingSender>,
        dispatcher: Dispatcher,
    }

    fn world() -> World {
        let service = WebhookService::new(
            Arc::new(MemoryRecords::default()),
            Arc::new(crate::ports::PlainSecrets),
            TargetPolicy::default(),
        );
        let events = Arc::new(MemoryEvents::default());
        let queue = Arc::new(MemoryDeliveries::default());
        let sender = Arc::new(RecordingSender::default());
        let backoff = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        };
        let dispatcher = Dispatcher::new(
            backoff,
            service.clone(),
            events.clone(),
            queue.clone(),
            sender.clone(),
        );
        World {
            service,
            events,
            queue,
            sender,
            dispatcher,
        }
    }

    fn client(id: &str) -> Caller {
        Caller::new(id, vec![Scope::WebhookCreate])
    }

    fn admin() -> Caller {
        Caller::new("ops", vec![Scope::Admin])
    }

    impl World {
        async fn webhook(
            &self,
            who: &Caller,
            name: &str,
            sensor: Option<&str>,
            active: bool,
        ) -> String {
            let body = json!({"name": name, "targetUrl": format!("https://{name}.example.com/hook"),
                              "secret": format!("{name}-secret-0123456789"), "active": active, "sensor": sensor});
            self.service
                .create(who, &body)
                .await
                .unwrap_or_else(|e| panic!("{e:?}"))
                .id
        }

        async fn store(&self, n: u64, client: &str, sensor: &str, kind: &str) -> EventKey {
            let id = format!("urn:uuid:00000000-0000-4000-8000-{n:012}");
            let event = json!({"id": id, "type": kind, "action": "Started", "actor": {"id": "https://example.edu/u/1"},
                               "object": "https://example.edu/o", "eventTime": "2024-01-01T00:00:00Z"});
            let stored = StoredEvent::from_event(
                &event,
                n,
                sensor,
                "2024-01-01T00:00:00Z",
                caliper_validation::CALIPER_V1P2,
                client,
                Utc::now(),
            );
            EventStore::insert_new(&*self.events, &[stored])
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            EventKey::new(client, id)
        }

        /// The `Deliver` messages the fan-out of `keys` queues (one `Stored` message per event, as
        /// processing sends them per client), as (webhook, event) pairs.
        async fn fan_out(&self, keys: &[EventKey]) -> Vec<(String, EventKey)> {
            for key in keys {
                let body = DeliveryMessage::stored(
                    &key.client_app_id,
                    std::slice::from_ref(&key.external_id),
                )[0]
                .to_json()
                .expect("json");
                assert_eq!(self.dispatcher.consume(&body, 1, 3).await, Verdict::Done);
            }
            let mut pairs: Vec<_> = self
                .queue
                .take()
                .into_iter()
                .map(|m| match m {
                    DeliveryMessage::Deliver {
                        webhook_id,
                        client_app_id,
                        event_id,
                    } => (webhook_id, EventKey::new(client_app_id, event_id)),
                    other => panic!("fan-out queued {other:?}"),
                })
                .collect();
            pairs.sort();
            pairs
        }

        /// A `Deliver` message of `key` to `webhook_id`.
        fn deliver(webhook_id: &str, key: &EventKey) -> String {
            DeliveryMessage::Deliver {
                webhook_id: webhook_id.to_owned(),
                client_app_id: key.client_app_id.clone(),
                event_id: key.external_id.clone(),
            }
            .to_json()
            .expect("json")
        }
    }

    #[tokio::test]
    async fn events_fan_out_to_the_owners_webhooks_that_want_them() {
        let w = world();
        let c1 = client("c1");
        let typed = w.webhook(&c1, "typed", None, true).await;
        let filter = json!({"webhookId": typed, "filterKey": "type", "filterValue": "AssessmentEvent",
                            "filterType": "string", "filterOperator": "eq", "active": true});
        w.service
            .create_filter(&c1, &filter)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let inactive_filter = json!({"webhookId": typed, "filterKey": "type", "filterValue": "Nothing",
                            "filterType": "string", "filterOperator": "eq", "active": false});
        w.service
            .create_filter(&c1, &inactive_filter)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let sensor_two = w.webhook(&c1, "sensor-two", Some("https://s2"), true).await;
        let _inactive = w.webhook(&c1, "off", None, false).await;
        let theirs = w.webhook(&client("c2"), "theirs", None, true).await;
        let everything = w.webhook(&admin(), "everything", None, true).await;
        let deleted = w.webhook(&c1, "deleted", None, true).await;
        w.service
            .delete(&c1, &deleted)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));

        let e1 = w.store(1, "c1", "https://s1", "AssessmentEvent").await;
        let e2 = w.store(2, "c1", "https://s2", "NavigationEvent").await;
        let e3 = w.store(3, "c2", "https://s1", "AssessmentEvent").await;
        let mut expected = vec![
            (typed.clone(), e1.clone()),
            (sensor_two.clone(), e2.clone()),
            (theirs.clone(), e3.clone()),
            (everything.clone(), e1.clone()),
            (everything.clone(), e2.clone()),
            (everything.clone(), e3.clone()),
        ];
        expected.sort();
        assert_eq!(w.fan_out(&[e1, e2, e3]).await, expected);
    }

    #[tokio::test]
    async fn two_clients_events_of_one_caliper_id_go_each_to_its_own_webhooks() {
        let w = world();
        let mine = w.webhook(&client("c1"), "mine", None, true).await;
        let theirs = w.webhook(&client("c2"), "theirs", None, true).await;
        let everything = w.webhook(&admin(), "everything", None, true).await;
        let a = w.store(1, "c1", "https://s1", "AssessmentEvent").await;
        let b = EventKey::new("c2", a.external_id.clone());
        let stored = StoredEvent::from_event(
            &json!({"id": b.external_id, "type": "AssessmentEvent", "action": "Started",
                    "actor": "https://example.edu/u/2", "object": "https://example.edu/o",
                    "eventTime": "2024-01-01T00:00:00Z"}),
            3,
            "https://s2",
            "2024-01-01T00:00:00Z",
            caliper_validation::CALIPER_V1P2,
            "c2",
            Utc::now(),
        );
        EventStore::insert_new(&*w.events, &[stored])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut expected = vec![
            (mine, a.clone()),
            (theirs.clone(), b.clone()),
            (everything.clone(), a.clone()),
            (everything.clone(), b.clone()),
        ];
        expected.sort();
        assert_eq!(w.fan_out(&[a.clone(), b.clone()]).await, expected);

        // Each client's webhook gets its own client's event, and the admin's gets both, told apart.
        assert_eq!(
            w.dispatcher
                .consume(&World::deliver(&theirs, &b), 1, 3)
                .await,
            Verdict::Done
        );
        assert_eq!(
            w.dispatcher
                .consume(&World::deliver(&everything, &a), 1, 3)
                .await,
            Verdict::Done
        );
        assert_eq!(
            w.dispatcher
                .consume(&World::deliver(&everything, &b), 1, 3)
                .await,
            Verdict::Done
        );
        let posts = w.sender.posts.lock().map(|p| p.clone()).unwrap_or_default();
        let seen: Vec<(String, String, String)> = posts
            .iter()
            .map(|(_, headers, body)| {
                let sent: Value = serde_json::from_str(body).unwrap_or_default();
                let delivery = headers
                    .iter()
                    .find(|(n, _)| *n == DELIVERY_HEADER)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                (
                    sent["clientAppId"].as_str().unwrap_or_default().to_owned(),
                    sent["actor"].as_str().unwrap_or_default().to_owned(),
                    delivery,
                )
            })
            .collect();
        assert_eq!(seen[0].0, "c2");
        assert_eq!(seen[0].1, "https://example.edu/u/2");
        assert_eq!((seen[1].0.as_str(), seen[2].0.as_str()), ("c1", "c2"));
        assert_ne!(seen[1].2, seen[2].2, "two events, two delivery ids");
    }

    #[tokio::test]
    async fn a_filter_on_the_data_version_sends_one_caliper_version_only() {
        let w = world();
        let c1 = client("c1");
        let lms = w.webhook(&c1, "lms", None, true).await;
        let filter = json!({"webhookId": lms, "filterKey": "dataVersion",
                            "filterValue": caliper_validation::CALIPER_V1P1,
                            "filterType": "string", "filterOperator": "eq", "active": true});
        w.service
            .create_filter(&c1, &filter)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let v1p2 = w.store(1, "c1", "https://s1", "NavigationEvent").await;
        let v1p1 = EventKey::new("c1", format!("urn:uuid:00000000-0000-4000-8000-{:012}", 2));
        let event = json!({"id": v1p1.external_id, "type": "NavigationEvent", "action": "NavigatedTo",
                           "actor": "https://example.edu/u/1", "object": "https://example.edu/o",
                           "eventTime": "2018-11-15T10:15:00.000Z"});
        let stored = StoredEvent::from_event(
            &event,
            2,
            "https://s1",
            "t",
            caliper_validation::CALIPER_V1P1,
            "c1",
            Utc::now(),
        );
        EventStore::insert_new(&*w.events, &[stored])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.fan_out(&[v1p2, v1p1.clone()]).await, vec![(lms, v1p1)]);
    }

    #[tokio::test]
    async fn a_delivery_posts_the_stored_event_signed_and_retries_until_the_last_attempt() {
        let w = world();
        let hook = w.webhook(&client("c1"), "hook", None, true).await;
        let event = w.store(1, "c1", "https://s1", "AssessmentEvent").await;
        let message = World::deliver(&hook, &event);
        if let Ok(mut answers) = w.sender.answers.lock() {
            *answers = vec![Ok(500), Err("timed out".into()), Ok(204)];
        }
        assert_eq!(w.dispatcher.consume(&message, 1, 5).await, Verdict::Retry);
        assert_eq!(w.dispatcher.consume(&message, 2, 5).await, Verdict::Retry);
        assert_eq!(w.dispatcher.consume(&message, 3, 5).await, Verdict::Done);

        let posts = w.sender.posts.lock().map(|p| p.clone()).unwrap_or_default();
        assert_eq!(posts.len(), 3);
        let (url, headers, body) = &posts[2];
        assert_eq!(url, "https://hook.example.com/hook");
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let timestamp: i64 = header(TIMESTAMP_HEADER).parse().unwrap_or_default();
        assert!((Utc::now().timestamp() - timestamp).abs() < 5);
        assert_eq!(
            header(SIGNATURE_HEADER),
            sign("hook-secret-0123456789", timestamp, body)
        );
        assert_eq!(header(WEBHOOK_HEADER), hook);
        assert_eq!(header("X-Caliper-Attempt"), "3");
        let ids: Vec<String> = posts
            .iter()
            .map(|(_, h, _)| {
                h.iter()
                    .find(|(n, _)| *n == DELIVERY_HEADER)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            })
            .collect();
        assert!(
            ids.iter().all(|id| *id == ids[0] && !id.is_empty()),
            "one delivery id for every attempt"
        );
        let sent: Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(
            (
                sent["externalId"].as_str(),
                sent["id"].as_u64(),
                sent["clientAppId"].as_str()
            ),
            (Some(event.external_id.as_str()), Some(1), Some("c1"))
        );

        if let Ok(mut answers) = w.sender.answers.lock() {
            *answers = vec![Ok(503)];
        }
        assert_eq!(
            w.dispatcher.consume(&message, 5, 5).await,
            Verdict::DeadLetter,
            "the last attempt gives up"
        );
    }

    #[tokio::test]
    async fn deliveries_to_a_deactivated_or_deleted_webhook_are_dropped() {
        let w = world();
        let c1 = client("c1");
        let hook = w.webhook(&c1, "hook", None, true).await;
        let event = w.store(1, "c1", "https://s1", "AssessmentEvent").await;
        let message = World::deliver(&hook, &event);
        w.service
            .set_active(&c1, &hook, false)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(w.dispatcher.consume(&message, 1, 5).await, Verdict::Done);
        w.service
            .delete(&c1, &hook)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(w.dispatcher.consume(&message, 1, 5).await, Verdict::Done);
        assert!(w.sender.posts.lock().map(|p| p.is_empty()).unwrap_or(false));
        assert_eq!(w.dispatcher.consume("not json", 1, 5).await, Verdict::Retry);
        assert_eq!(
            w.dispatcher.consume("not json", 5, 5).await,
            Verdict::DeadLetter
        );
    }

    #[tokio::test]
    async fn clients_manage_only_their_own_webhooks_and_filters() {
        let w = world();
        let (c1, c2) = (client("c1"), client("c2"));
        let hook = w.webhook(&c1, "hook", Some("https://s1"), true).await;
        let filter = json!({"webhookId": hook, "filterKey": "type", "filterValue": "x",
                            "filterType": "string", "filterOperator": "eq", "active": true});
        let filter_id = w
            .service
            .create_filter(&c1, &filter)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"))
            .id;
        assert!(matches!(
            w.service.get(&c2, &hook).await,
            Err(WebhookError::NotFound(_))
        ));
        assert!(matches!(
            w.service.get_filter(&c2, &filter_id).await,
            Err(WebhookError::NotFound(_))
        ));
        assert!(
            matches!(w.service.create_filter(&c2, &filter).await, Err(WebhookError::Invalid(p)) if p[0].path == "/webhookId")
        );
        assert!(w
            .service
            .list(&c2, None)
            .await
            .unwrap_or_default()
            .is_empty());
        assert_eq!(
            w.service
                .list(&admin(), None)
                .await
                .unwrap_or_default()
                .len(),
            1
        );
        assert_eq!(
            w.service
                .list(&c1, Some("https://s1"))
                .await
                .unwrap_or_default()
                .len(),
            1
        );
        assert!(w
            .service
            .list(&c1, Some("https://s2"))
            .await
            .unwrap_or_default()
            .is_empty());
        assert_eq!(
            w.service
                .filters_of(&admin(), &hook)
                .await
                .unwrap_or_default()
                .len(),
            1
        );

        w.service
            .delete(&c1, &hook)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(matches!(
            w.service.get(&c1, &hook).await,
            Err(WebhookError::NotFound(_))
        ));
        assert!(
            matches!(
                w.service.get_filter(&c1, &filter_id).await,
                Err(WebhookError::NotFound(_))
            ),
            "its filters went with it"
        );
        assert!(w.service.filters(&c1).await.unwrap_or_default().is_empty());
        assert!(
            matches!(
                w.service.delete(&c1, &hook).await,
                Err(WebhookError::NotFound(_))
            ),
            "deleted once"
        );
    }

    #[test]
    fn stored_ids_are_announced_in_bounded_messages() {
        let ids: Vec<String> = (0..1001).map(|n| format!("urn:uuid:{n}")).collect();
        let messages = DeliveryMessage::stored("c1", &ids);
        let sizes: Vec<usize> = messages
            .iter()
            .map(|m| match m {
                DeliveryMessage::Stored { events, .. } => events.len(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(sizes, [500, 500, 1]);
        let round_trip: DeliveryMessage =
            serde_json::from_str(&messages[2].to_json().expect("json"))
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(round_trip, messages[2]);
        assert!(DeliveryMessage::stored("c1", &[]).is_empty());
    }

    #[test]
    fn backoff_grows_to_its_cap_with_jitter() {
        let backoff = Backoff {
            base: Duration::from_secs(10),
            max: Duration::from_secs(300),
        };
        for attempt in 1..=12 {
            let full = Duration::from_secs(10 * (1 << (attempt - 1))).min(Duration::from_secs(300));
            for _ in 0..50 {
                let delay = backoff.delay(attempt);
                assert!(
                    delay >= full / 2 && delay <= full,
                    "attempt {attempt}: {delay:?}"
                );
            }
        }
        let spread: std::collections::HashSet<_> = (0..50).map(|_| backoff.delay(3)).collect();
        assert!(spread.len() > 10, "jittered");
    }
}

//! Managing webhooks and filters: who may see and change what, soft deletion, and the active
//! subscriptions that delivery works from.

use std::collections::HashSet;
use std::sync::Arc;

use caliper_validation::Problem;
use chrono::Utc;
use serde_json::Value;

use super::filter::CompiledFilter;
use super::input::{FilterInput, WebhookInput};
use super::model::{Webhook, WebhookFilter};
use super::target::TargetPolicy;
use crate::identity::Caller;
use crate::model::{timestamp, StoredEvent};
use crate::ports::{RecordStore, SecretBox, StoreError};
use crate::records::Records;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Missing, deleted, or another client's: all look the same.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the request is invalid")]
    Invalid(Vec<Problem>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A webhook that receives deliveries, with its active filters compiled.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub webhook: Webhook,
    filters: Vec<CompiledFilter>,
}

impl Subscription {
    /// Whether `event` (with `json`, its stored form) goes to this webhook: the event is one its
    /// owner may read, of its sensor if it has one, and passes every active filter.
    pub fn wants(&self, event: &StoredEvent, json: &Value) -> bool {
        let webhook = &self.webhook;
        (webhook.admin_owned || webhook.client_app_id == event.client_app_id)
            && webhook.sensor.as_ref().is_none_or(|s| *s == event.sensor)
            && self.filters.iter().all(|f| f.matches(json))
    }
}

/// Webhooks are stored with their secret sealed; the service hands them out opened, except to
/// the fan-out, which needs no secret.
#[derive(Clone)]
pub struct WebhookService {
    records: Records,
    secrets: Arc<dyn SecretBox>,
    policy: TargetPolicy,
}

impl WebhookService {
    pub fn new(
        store: Arc<dyn RecordStore>,
        secrets: Arc<dyn SecretBox>,
        policy: TargetPolicy,
    ) -> Self {
        Self {
            records: Records::new(store),
            secrets,
            policy,
        }
    }

    /// The caller's webhooks (admin: all), oldest first; only those of `sensor` when given.
    pub async fn list(
        &self,
        who: &Caller,
        sensor: Option<&str>,
    ) -> Result<Vec<Webhook>, WebhookError> {
        let mut webhooks: Vec<Webhook> = self
            .all_webhooks()
            .await?
            .into_iter()
            .filter(|w| w.deleted_at.is_none() && who.may_see(&w.client_app_id))
            .filter(|w| sensor.is_none() || w.sensor.as_deref() == sensor)
            .collect();
        webhooks.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        for webhook in &mut webhooks {
            webhook.secret = self.secrets.open(&webhook.secret).await?;
        }
        Ok(webhooks)
    }

    pub async fn get(&self, who: &Caller, id: &str) -> Result<Webhook, WebhookError> {
        self.visible_webhook(who, id).await
    }

    pub async fn create(&self, who: &Caller, body: &Value) -> Result<Webhook, WebhookError> {
        let input = WebhookInput::parse(body, &self.policy).map_err(WebhookError::Invalid)?;
        let now = timestamp(Utc::now());
        let webhook = Webhook {
            id: uuid::Uuid::new_v4().to_string(),
            sensor: input.sensor,
            name: input.name,
            description: input.description,
            target_url: input.target_url,
            secret: input.secret,
            active: input.active,
            created_at: now.clone(),
            updated_at: now,
            deleted_at: None,
            client_app_id: who.client_id.clone(),
            admin_owned: who.is_admin(),
        };
        self.save_webhook(&webhook).await?;
        tracing::info!(
            webhook_id = webhook.id,
            client_app_id = webhook.client_app_id,
            "webhook created"
        );
        Ok(webhook)
    }

    /// Replaces every field a client sets; the owner stays the creator.
    pub async fn replace(
        &self,
        who: &Caller,
        id: &str,
        body: &Value,
    ) -> Result<Webhook, WebhookError> {
        let mut webhook = self.visible_webhook(who, id).await?;
        let input = WebhookInput::parse(body, &self.policy).map_err(WebhookError::Invalid)?;
        webhook.name = input.name;
        webhook.target_url = input.target_url;
        webhook.secret = input.secret;
        webhook.active = input.active;
        webhook.sensor = input.sensor;
        webhook.description = input.description;
        webhook.updated_at = timestamp(Utc::now());
        self.save_webhook(&webhook).await?;
        Ok(webhook)
    }

    pub async fn set_active(
        &self,
        who: &Caller,
        id: &str,
        active: bool,
    ) -> Result<Webhook, WebhookError> {
        let mut webhook = self.visible_webhook(who, id).await?;
        webhook.active = active;
        webhook.updated_at = timestamp(Utc::now());
        self.save_webhook(&webhook).await?;
        Ok(webhook)
    }

    /// Soft deletion: the record stays with `deleted_at` set, and is gone for every reader.
    /// Its filters go with it (they are only ever reached through a live webhook).
    pub async fn delete(&self, who: &Caller, id: &str) -> Result<(), WebhookError> {
        let mut webhook = self.visible_webhook(who, id).await?;
        let now = timestamp(Utc::now());
        webhook.deleted_at = Some(now.clone());
        webhook.active = false;
        webhook.updated_at = now;
        self.save_webhook(&webhook).await?;
        tracing::info!(webhook_id = id, "webhook deleted");
        Ok(())
    }

    /// Filters of every webhook the caller may see.
    pub async fn filters(&self, who: &Caller) -> Result<Vec<WebhookFilter>, WebhookError> {
        let visible: HashSet<String> = self
            .list(who, None)
            .await?
            .into_iter()
            .map(|w| w.id)
            .collect();
        Ok(self
            .live_filters()
            .await?
            .into_iter()
            .filter(|f| visible.contains(&f.webhook_id))
            .collect())
    }

    pub async fn filters_of(
        &self,
        who: &Caller,
        webhook_id: &str,
    ) -> Result<Vec<WebhookFilter>, WebhookError> {
        self.visible_webhook(who, webhook_id).await?;
        Ok(self
            .live_filters()
            .await?
            .into_iter()
            .filter(|f| f.webhook_id == webhook_id)
            .collect())
    }

    pub async fn get_filter(&self, who: &Caller, id: &str) -> Result<WebhookFilter, WebhookError> {
        let filter: WebhookFilter = self
            .records
            .load::<WebhookFilter>(id)
            .await?
            .filter(|f: &WebhookFilter| f.deleted_at.is_none())
            .ok_or(WebhookError::NotFound("Webhook filter"))?;
        // A filter is visible through its webhook only.
        self.visible_webhook(who, &filter.webhook_id)
            .await
            .map_err(|e| match e {
                WebhookError::NotFound(_) => WebhookError::NotFound("Webhook filter"),
                other => other,
            })?;
        Ok(filter)
    }

    pub async fn create_filter(
        &self,
        who: &Caller,
        body: &Value,
    ) -> Result<WebhookFilter, WebhookError> {
        let input = FilterInput::parse(body).map_err(WebhookError::Invalid)?;
        self.target_webhook(who, &input.webhook_id).await?;
        let now = timestamp(Utc::now());
        let filter = WebhookFilter {
            id: uuid::Uuid::new_v4().to_string(),
            webhook_id: input.webhook_id,
            filter_key: input.filter_key,
            filter_value: input.filter_value,
            filter_type: input.filter_type,
            filter_operator: input.filter_operator,
            active: input.active,
            created_at: now.clone(),
            updated_at: now,
            deleted_at: None,
        };
        self.records.save(&filter).await?;
        Ok(filter)
    }

    pub async fn replace_filter(
        &self,
        who: &Caller,
        id: &str,
        body: &Value,
    ) -> Result<WebhookFilter, WebhookError> {
        let mut filter = self.get_filter(who, id).await?;
        let input = FilterInput::parse(body).map_err(WebhookError::Invalid)?;
        self.target_webhook(who, &input.webhook_id).await?;
        filter.webhook_id = input.webhook_id;
        filter.filter_key = input.filter_key;
        filter.filter_value = input.filter_value;
        filter.filter_type = input.filter_type;
        filter.filter_operator = input.filter_operator;
        filter.active = input.active;
        filter.updated_at = timestamp(Utc::now());
        self.records.save(&filter).await?;
        Ok(filter)
    }

    pub async fn delete_filter(&self, who: &Caller, id: &str) -> Result<(), WebhookError> {
        let mut filter = self.get_filter(who, id).await?;
        let now = timestamp(Utc::now());
        filter.deleted_at = Some(now.clone());
        filter.active = false;
        filter.updated_at = now;
        self.records.save(&filter).await?;
        Ok(())
    }

    /// Every active, live webhook with its active filters: what delivery matches events against.
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        let webhooks: Vec<Webhook> = self
            .all_webhooks()
            .await?
            .into_iter()
            .filter(|w| w.active && w.deleted_at.is_none())
            .collect();
        if webhooks.is_empty() {
            return Ok(Vec::new());
        }
        let filters = self.live_filters().await?;
        let mut subscriptions = Vec::new();
        for webhook in webhooks {
            let compiled: Result<Vec<CompiledFilter>, String> = filters
                .iter()
                .filter(|f| f.active && f.webhook_id == webhook.id)
                .map(CompiledFilter::of)
                .collect();
            match compiled {
                Ok(filters) => subscriptions.push(Subscription { webhook, filters }),
                // Checked when saved; should one no longer compile, its webhook gets nothing.
                Err(error) => {
                    tracing::error!(webhook_id = webhook.id, %error, "a stored filter does not compile; the webhook is skipped")
                }
            }
        }
        Ok(subscriptions)
    }

    /// The webhook of `id` if it is live, whatever its owner (delivery's view), its secret opened.
    pub async fn live_webhook(&self, id: &str) -> Result<Option<Webhook>, StoreError> {
        let live = self
            .records
            .load::<Webhook>(id)
            .await?
            .filter(|w| w.deleted_at.is_none());
        match live {
            Some(mut webhook) => {
                webhook.secret = self.secrets.open(&webhook.secret).await?;
                Ok(Some(webhook))
            }
            None => Ok(None),
        }
    }

    /// Stores a webhook, its secret sealed.
    async fn save_webhook(&self, webhook: &Webhook) -> Result<(), StoreError> {
        let sealed = Webhook {
            secret: self.secrets.seal(&webhook.secret).await?,
            ..webhook.clone()
        };
        self.records.save(&sealed).await
    }

    async fn visible_webhook(&self, who: &Caller, id: &str) -> Result<Webhook, WebhookError> {
        self.live_webhook(id)
            .await?
            .filter(|w| who.may_see(&w.client_app_id))
            .ok_or(WebhookError::NotFound("Webhook"))
    }

    /// The webhook a filter names in its body: a problem at `/webhookId` when the caller has none such.
    async fn target_webhook(&self, who: &Caller, id: &str) -> Result<Webhook, WebhookError> {
        self.visible_webhook(who, id).await.map_err(|e| match e {
            WebhookError::NotFound(_) => WebhookError::Invalid(vec![Problem::new(
                "/webhookId",
                format!("No webhook of yours has the id {id:?}: create the webhook first, and use the id it was given"),
            )]),
            other => other,
        })
    }

    async fn all_webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        self.records.all::<Webhook>().await
    }

    async fn live_filters(&self) -> Result<Vec<WebhookFilter>, StoreError> {
        let mut filters: Vec<WebhookFilter> = self
            .records
            .all::<WebhookFilter>()
            .await?
            .into_iter()
            .filter(|f| f.deleted_at.is_none())
            .collect();
        filters.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        Ok(filters)
    }
}

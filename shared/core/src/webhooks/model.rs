//! Webhooks and their filters, as stored.

use serde::{Deserialize, Serialize};

use crate::ports::RecordKind;
use crate::records::Record;

/// A subscription: stored events go to `target_url`, signed with `secret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: String,
    /// Only events of this sensor; none: every sensor.
    pub sensor: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub target_url: String,
    pub secret: String,
    pub active: bool,
    #[serde(rename = "created_at")]
    pub created_at: String,
    #[serde(rename = "updated_at")]
    pub updated_at: String,
    #[serde(rename = "deleted_at")]
    pub deleted_at: Option<String>,
    /// The client that created it: it manages the webhook, and the webhook receives its events.
    pub client_app_id: String,
    /// Created with the admin scope: receives every client's events, as admin reads them.
    pub admin_owned: bool,
}

/// One condition on a webhook's events; all of a webhook's active filters must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookFilter {
    pub id: String,
    pub webhook_id: String,
    /// A dotted path into the stored event, e.g. `actor.email`; numbers index arrays.
    pub filter_key: String,
    pub filter_value: String,
    pub filter_type: FilterType,
    pub filter_operator: FilterOperator,
    pub active: bool,
    #[serde(rename = "created_at")]
    pub created_at: String,
    #[serde(rename = "updated_at")]
    pub updated_at: String,
    #[serde(rename = "deleted_at")]
    pub deleted_at: Option<String>,
}

/// How the event's value and `filterValue` are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterType {
    String,
    Number,
    Boolean,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FilterOperator {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Contains,
    NotContains,
    In,
    NotIn,
    StartsWith,
    EndsWith,
    Regexp,
}

impl FilterType {
    pub const ALL: [FilterType; 3] = [Self::String, Self::Number, Self::Boolean];

    pub fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Boolean => "boolean",
        }
    }

    /// The operators that mean something for this type.
    pub fn operators(self) -> &'static [FilterOperator] {
        use FilterOperator::*;
        match self {
            Self::String => &FilterOperator::ALL,
            Self::Number => &[Eq, Neq, Gt, Gte, Lt, Lte, In, NotIn],
            Self::Boolean => &[Eq, Neq],
        }
    }
}

impl FilterOperator {
    pub const ALL: [FilterOperator; 13] = [
        Self::Eq,
        Self::Neq,
        Self::Gt,
        Self::Gte,
        Self::Lt,
        Self::Lte,
        Self::Contains,
        Self::NotContains,
        Self::In,
        Self::NotIn,
        Self::StartsWith,
        Self::EndsWith,
        Self::Regexp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Neq => "neq",
            Self::Gt => "gt",
            Self::Gte => "gte",
            Self::Lt => "lt",
            Self::Lte => "lte",
            Self::Contains => "contains",
            Self::NotContains => "notContains",
            Self::In => "in",
            Self::NotIn => "notIn",
            Self::StartsWith => "startsWith",
            Self::EndsWith => "endsWith",
            Self::Regexp => "regexp",
        }
    }
}

impl Record for Webhook {
    const KIND: RecordKind = RecordKind::Webhook;

    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for WebhookFilter {
    const KIND: RecordKind = RecordKind::Filter;

    fn id(&self) -> &str {
        &self.id
    }
}

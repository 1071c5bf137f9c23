//! The request bodies of the management API, checked field by field: every problem is reported
//! with its JSON pointer, in words a user can act on.

use caliper_validation::Problem;
use serde_json::Value;

use crate::fields::Fields;

use super::filter::CompiledFilter;
use super::model::{FilterOperator, FilterType};
use super::target::TargetPolicy;

/// A webhook as created or replaced (`PUT` sends every field again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookInput {
    pub name: String,
    pub target_url: String,
    pub secret: String,
    pub active: bool,
    pub sensor: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterInput {
    pub webhook_id: String,
    pub filter_key: String,
    pub filter_value: String,
    pub filter_type: FilterType,
    pub filter_operator: FilterOperator,
    pub active: bool,
}

/// Fields a client may send back as it read them; they are ours to set, and ignored.
const READ_ONLY: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "deleted_at",
    "clientAppId",
];

/// The shortest webhook secret: a signature is only as hard to forge as its key is to guess.
pub const MIN_SECRET_CHARS: usize = 16;

impl WebhookInput {
    pub fn parse(body: &Value, policy: &TargetPolicy) -> Result<Self, Vec<Problem>> {
        let mut fields = Fields::of(
            body,
            "webhook",
            &[
                "name",
                "targetUrl",
                "secret",
                "active",
                "sensor",
                "description",
            ],
            READ_ONLY,
        )?;
        let name = fields.text("name", 256);
        // Stored as parsed, so that what was checked is what deliveries use.
        let target_url = fields.text("targetUrl", usize::MAX).and_then(|url| {
            policy
                .check_url(&url)
                .map_err(|m| fields.problem("targetUrl", m))
                .ok()
                .map(String::from)
        });
        let secret = fields.text("secret", 256).and_then(|secret| {
            if secret.chars().count() < MIN_SECRET_CHARS {
                fields.problem(
                    "secret",
                    format!("the secret has {} characters; give at least {MIN_SECRET_CHARS}, random (for example the output of `openssl rand -hex 32`), so that signatures cannot be guessed", secret.chars().count()),
                );
                return None;
            }
            Some(secret)
        });
        let active = fields.boolean("active");
        let sensor = fields.optional_text("sensor", 2048);
        let description = fields.optional_text("description", 2048);
        match (name, target_url, secret, active) {
            (Some(name), Some(target_url), Some(secret), Some(active)) if fields.ok() => Ok(Self {
                name,
                target_url,
                secret,
                active,
                sensor,
                description,
            }),
            _ => Err(fields.problems),
        }
    }
}

impl FilterInput {
    pub fn parse(body: &Value) -> Result<Self, Vec<Problem>> {
        let mut fields = Fields::of(
            body,
            "webhook filter",
            &[
                "webhookId",
                "filterKey",
                "filterValue",
                "filterType",
                "filterOperator",
                "active",
            ],
            READ_ONLY,
        )?;
        let webhook_id = fields.text("webhookId", 64);
        let filter_key = fields.text("filterKey", 256);
        let filter_value = fields.text("filterValue", 2048);
        let filter_type = fields.choice("filterType", &FilterType::ALL, |t| t.name());
        let filter_operator = fields.choice("filterOperator", &FilterOperator::ALL, |o| o.name());
        let active = fields.boolean("active");
        let (
            Some(webhook_id),
            Some(filter_key),
            Some(filter_value),
            Some(filter_type),
            Some(filter_operator),
            Some(active),
        ) = (
            webhook_id,
            filter_key,
            filter_value,
            filter_type,
            filter_operator,
            active,
        )
        else {
            return Err(fields.problems);
        };
        if let Err((field, message)) =
            CompiledFilter::compile(&filter_key, &filter_value, filter_type, filter_operator)
        {
            fields.problem(field, message);
        }
        if !fields.ok() {
            return Err(fields.problems);
        }
        Ok(Self {
            webhook_id,
            filter_key,
            filter_value,
            filter_type,
            filter_operator,
            active,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(problems: Vec<Problem>) -> Vec<String> {
        problems.into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn a_webhook_needs_name_url_secret_and_active() {
        let good = json!({"name": "n", "targetUrl": "https://hooks.example.com/x", "secret": "0123456789abcdef", "active": true,
                          "sensor": null, "id": "ignored"});
        let input = WebhookInput::parse(&good, &TargetPolicy::default())
            .unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!((input.name.as_str(), input.sensor), ("n", None));
        let spelled = json!({"name": "n", "targetUrl": "HTTPS://Hooks.Example.com:443/x/../y", "secret": "0123456789abcdef",
                             "active": true});
        let input = WebhookInput::parse(&spelled, &TargetPolicy::default())
            .unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(
            input.target_url, "https://hooks.example.com/y",
            "kept as parsed"
        );
        let bad = json!({"name": "", "targetUrl": "http://10.0.0.1/", "active": "yes", "sensor": 3, "extra": 1});
        let problems = WebhookInput::parse(&bad, &TargetPolicy::default())
            .err()
            .unwrap_or_default();
        assert_eq!(
            paths(problems),
            [
                "/extra",
                "/name",
                "/targetUrl",
                "/secret",
                "/active",
                "/sensor"
            ]
        );
        assert!(WebhookInput::parse(&json!([1]), &TargetPolicy::default()).is_err());
        let short = json!({"name": "n", "targetUrl": "https://hooks.example.com/x", "secret": "0123456789abcde",
                           "active": true});
        let problems = WebhookInput::parse(&short, &TargetPolicy::default())
            .err()
            .unwrap_or_default();
        assert_eq!(paths(problems.clone()), ["/secret"]);
        assert!(
            problems[0]
                .message
                .contains("has 15 characters; give at least 16"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_filter_is_compiled_before_it_is_accepted() {
        let filter = |t: &str, op: &str, v: &str| {
            json!({"webhookId": "w", "filterKey": "actor.age", "filterValue": v, "filterType": t,
                   "filterOperator": op, "active": true})
        };
        assert!(FilterInput::parse(&filter("number", "gte", "18")).is_ok());
        assert_eq!(
            paths(
                FilterInput::parse(&filter("number", "gte", "adult"))
                    .err()
                    .unwrap_or_default()
            ),
            ["/filterValue"]
        );
        assert_eq!(
            paths(
                FilterInput::parse(&filter("number", "regexp", "1"))
                    .err()
                    .unwrap_or_default()
            ),
            ["/filterOperator"]
        );
        assert_eq!(
            paths(
                FilterInput::parse(&filter("date", "like", "1"))
                    .err()
                    .unwrap_or_default()
            ),
            ["/filterType", "/filterOperator"]
        );
    }
}

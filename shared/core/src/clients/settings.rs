//! Each client's settings: the validation policy its submissions are held to, and how long its
//! events are kept. A client never configured has the defaults (`strict`, kept for ever).

use caliper_validation::Problem;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{check_client_id, ClientError};
use crate::identity::{Caller, Scope};
use crate::model::timestamp;
use crate::ports::{RecordKind, StoreError};
use crate::records::{Record, Records};

/// What happens to an event that Caliper's model refuses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValidationPolicy {
    /// Any problem refuses the whole body (400).
    #[default]
    Strict,
    /// The event is stored with its problems; what cannot be stored at all is quarantined.
    Flag,
}

impl ValidationPolicy {
    pub const ALL: [ValidationPolicy; 2] = [Self::Strict, Self::Flag];

    pub fn name(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Flag => "flag",
        }
    }
}

/// The longest retention a client may set: a hundred years.
pub const MAX_RETENTION_DAYS: u64 = 36_500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientSettings {
    pub client_app_id: String,
    pub validation: ValidationPolicy,
    /// Events older than this many days (by `eventTime`) are not kept; none: kept for ever.
    pub retention_days: Option<u32>,
    /// When an admin last set them; none for a client never configured.
    #[serde(rename = "updated_at")]
    pub updated_at: Option<String>,
}

impl ClientSettings {
    pub fn defaults(client_app_id: &str) -> Self {
        Self {
            client_app_id: client_app_id.to_owned(),
            validation: ValidationPolicy::default(),
            retention_days: None,
            updated_at: None,
        }
    }
}

impl Record for ClientSettings {
    const KIND: RecordKind = RecordKind::ClientSettings;

    fn id(&self) -> &str {
        &self.client_app_id
    }
}

/// Reads and sets clients' settings.
#[derive(Clone)]
pub struct Settings {
    records: Records,
}

impl Settings {
    pub fn new(records: Records) -> Self {
        Self { records }
    }

    /// A client's settings, or the defaults: what its submissions are held to.
    pub async fn of(&self, client_app_id: &str) -> Result<ClientSettings, StoreError> {
        Ok(self
            .records
            .load(client_app_id)
            .await?
            .unwrap_or_else(|| ClientSettings::defaults(client_app_id)))
    }

    /// GET `/clients/{clientAppId}` (admin).
    pub async fn get(
        &self,
        caller: &Caller,
        client_app_id: &str,
    ) -> Result<ClientSettings, ClientError> {
        caller.require(&[Scope::Admin])?;
        let mut problems = Vec::new();
        check_client_id(client_app_id, "/path/clientAppId", &mut problems);
        if !problems.is_empty() {
            return Err(ClientError::Invalid(problems));
        }
        Ok(self.of(client_app_id).await?)
    }

    /// PUT `/clients/{clientAppId}` (admin): replaces the settings; a field left out takes its
    /// default.
    pub async fn put(
        &self,
        caller: &Caller,
        client_app_id: &str,
        body: &Value,
    ) -> Result<ClientSettings, ClientError> {
        caller.require(&[Scope::Admin])?;
        let mut settings = read(client_app_id, body)?;
        settings.updated_at = Some(timestamp(Utc::now()));
        self.records.save(&settings).await?;
        Ok(settings)
    }
}

/// The settings a PUT body gives, or every problem with it.
fn read(client_app_id: &str, body: &Value) -> Result<ClientSettings, ClientError> {
    let mut problems = Vec::new();
    check_client_id(client_app_id, "/path/clientAppId", &mut problems);
    let mut settings = ClientSettings::defaults(client_app_id);
    let Some(fields) = body.as_object() else {
        return Err(ClientError::Invalid(vec![Problem::new(
            "",
            "expected an object such as {\"validation\": \"flag\", \"retentionDays\": 365}",
        )]));
    };
    for (key, value) in fields {
        let path = format!("/{key}");
        match (key.as_str(), value) {
            ("validation", Value::String(name)) => {
                match ValidationPolicy::ALL.into_iter().find(|p| p.name() == name) {
                    Some(policy) => settings.validation = policy,
                    None => problems.push(Problem::new(path, "expected \"strict\" or \"flag\"")),
                }
            }
            ("validation", Value::Null) => {}
            ("validation", _) => problems.push(Problem::new(path, "expected \"strict\" or \"flag\"")),
            ("retentionDays", Value::Null) => {}
            // A whole number, however written (`365.0` is JSON Schema's integer too).
            ("retentionDays", days) => match days
                .as_u64()
                .or_else(|| days.as_f64().filter(|d| d.fract() == 0.0 && *d >= 0.0 && *d <= 1e9).map(|d| d as u64))
            {
                Some(days @ 1..=MAX_RETENTION_DAYS) => settings.retention_days = u32::try_from(days).ok(),
                _ => problems.push(Problem::new(
                    path,
                    format!("expected null (kept for ever) or a whole number of days from 1 to {MAX_RETENTION_DAYS}"),
                )),
            },
            _ => problems.push(Problem::new(
                path,
                format!("`{key}` is not a client setting; the settings are `validation` and `retentionDays`"),
            )),
        }
    }
    if problems.is_empty() {
        Ok(settings)
    } else {
        Err(ClientError::Invalid(problems))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::memory::MemoryRecords;

    fn settings() -> Settings {
        Settings::new(Records::new(Arc::new(MemoryRecords::default())))
    }

    #[tokio::test]
    async fn a_client_never_set_has_the_defaults_and_an_admin_sets_them() {
        let settings = settings();
        let admin = Caller::new("ops", vec![Scope::Admin]);
        let got = settings.get(&admin, "c1").await.expect("defaults");
        assert_eq!(got, ClientSettings::defaults("c1"));
        let set = settings
            .put(
                &admin,
                "c1",
                &json!({"validation": "flag", "retentionDays": 365}),
            )
            .await
            .expect("set");
        assert_eq!(
            (set.validation, set.retention_days),
            (ValidationPolicy::Flag, Some(365))
        );
        assert!(set.updated_at.is_some());
        assert_eq!(settings.of("c1").await.expect("read"), set);
        assert_eq!(
            settings.of("c2").await.expect("read"),
            ClientSettings::defaults("c2")
        );
        // A field left out takes its default again.
        let reset = settings.put(&admin, "c1", &json!({})).await.expect("reset");
        assert_eq!(
            (reset.validation, reset.retention_days),
            (ValidationPolicy::Strict, None)
        );
    }

    #[tokio::test]
    async fn only_admins_and_only_settings() {
        let settings = settings();
        let client = Caller::new("c1", vec![Scope::EventCreate]);
        assert!(matches!(
            settings.put(&client, "c1", &json!({})).await,
            Err(ClientError::Forbidden(_))
        ));
        let admin = Caller::new("ops", vec![Scope::Admin]);
        let bad = json!({"validation": "lenient", "retentionDays": 0, "colour": "red"});
        match settings.put(&admin, "c1", &bad).await {
            Err(ClientError::Invalid(problems)) => {
                let mut paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
                paths.sort();
                assert_eq!(paths, ["/colour", "/retentionDays", "/validation"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            settings.put(&admin, "a b", &json!({})).await,
            Err(ClientError::Invalid(_))
        ));
    }
}

//! API keys: static credentials for producers that cannot fetch OAuth2 tokens (Open edX, the IMS
//! sensors). A key acts as its client with its scopes. Its secret is shown once, when it is made,
//! and kept only as a SHA-256 hash: a 256-bit random secret needs no slow hash, since no guess
//! list can reach it. The secret names its key (`cak.<id>.<random>`), so a bearer secret is
//! found by one read, and compared in constant time.
//!
//! When a key was last used is a record of its own ([`KeyUse`]), written at most once an hour
//! per key and process: a request does not write, and a use can never rewrite (so revive) a key
//! revoked meanwhile.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use caliper_validation::Problem;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{check_client_filter, check_client_id, ClientError};
use crate::identity::{Caller, Scope};
use crate::model::timestamp;
use crate::ports::{RecordKind, StoreError};
use crate::records::{Record, Records};

/// What every secret begins with: says what it is to a reader (and a secret scanner).
const PREFIX: &str = "cak.";
/// How often a key's last use is written, at most.
const TOUCH_EVERY: Duration = Duration::hours(1);
/// The longest name a key may have.
const MAX_NAME: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    pub client_app_id: String,
    pub scopes: Vec<Scope>,
    pub name: String,
    #[serde(rename = "created_at")]
    pub created_at: String,
    /// Set once it is revoked: it lets no one in again.
    #[serde(rename = "revoked_at", default)]
    pub revoked_at: Option<String>,
    /// SHA-256 of the secret, in hex.
    pub secret_hash: String,
}

impl Record for ApiKey {
    const KIND: RecordKind = RecordKind::ApiKey;

    fn id(&self) -> &str {
        &self.id
    }
}

/// When a key was last used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyUse {
    pub key_id: String,
    #[serde(rename = "last_used_at")]
    pub last_used_at: String,
}

impl Record for KeyUse {
    const KIND: RecordKind = RecordKind::KeyUse;

    fn id(&self) -> &str {
        &self.key_id
    }
}

/// A key as listed: never its secret or hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    pub id: String,
    pub client_app_id: String,
    pub scopes: Vec<&'static str>,
    pub name: String,
    #[serde(rename = "created_at")]
    pub created_at: String,
    #[serde(rename = "last_used_at")]
    pub last_used_at: Option<String>,
}

/// A key just made, with the secret shown this once.
pub struct NewKey {
    pub key: KeyView,
    pub secret: String,
}

/// Never the secret, should a key just made be logged.
impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("key", &self.key)
            .field("secret", &"<shown once, to its maker>")
            .finish()
    }
}

/// Makes, lists, revokes and admits API keys.
pub struct Keys {
    records: Records,
    /// When this process last wrote each key's use.
    touched: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl Keys {
    pub fn new(records: Records) -> Self {
        Self {
            records,
            touched: Mutex::default(),
        }
    }

    /// POST `/keys` (admin): `{"clientAppId", "scopes", "name"?}`.
    pub async fn create(&self, caller: &Caller, body: &Value) -> Result<NewKey, ClientError> {
        caller.require(&[Scope::Admin])?;
        let (client_app_id, scopes, name) = read(body)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut random = [0u8; 32];
        getrandom::fill(&mut random)
            .map_err(|e| StoreError::new(format!("no randomness for a key's secret: {e}")))?;
        let secret = format!(
            "{PREFIX}{id}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
        );
        let key = ApiKey {
            id,
            client_app_id,
            scopes,
            name,
            created_at: timestamp(Utc::now()),
            revoked_at: None,
            secret_hash: hash(&secret),
        };
        self.records.save(&key).await?;
        Ok(NewKey {
            key: view(&key, None),
            secret,
        })
    }

    /// GET `/keys` (admin), optionally one client's: the keys not revoked, oldest first.
    pub async fn list(
        &self,
        caller: &Caller,
        client_app_id: Option<&str>,
    ) -> Result<Vec<KeyView>, ClientError> {
        caller.require(&[Scope::Admin])?;
        check_client_filter(client_app_id)?;
        let uses: HashMap<String, String> = self
            .records
            .all::<KeyUse>()
            .await?
            .into_iter()
            .map(|u| (u.key_id, u.last_used_at))
            .collect();
        let mut keys: Vec<ApiKey> = self
            .records
            .all::<ApiKey>()
            .await?
            .into_iter()
            .filter(|k| k.revoked_at.is_none())
            .filter(|k| client_app_id.is_none_or(|c| k.client_app_id == c))
            .collect();
        keys.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        Ok(keys
            .iter()
            .map(|k| view(k, uses.get(&k.id).cloned()))
            .collect())
    }

    /// DELETE `/keys/{id}` (admin): the key lets no one in from now on.
    pub async fn revoke(&self, caller: &Caller, id: &str) -> Result<(), ClientError> {
        caller.require(&[Scope::Admin])?;
        let mut key = self
            .records
            .load::<ApiKey>(id)
            .await?
            .filter(|k| k.revoked_at.is_none())
            .ok_or(ClientError::NotFound("Key"))?;
        key.revoked_at = Some(timestamp(Utc::now()));
        self.records.save(&key).await?;
        Ok(())
    }

    /// The caller a presented secret lets in (with `key_id`, the key HTTP Basic names): its
    /// client with its scopes; none for a secret that is not one of a live key.
    pub async fn admit(
        &self,
        secret: &str,
        key_id: Option<&str>,
    ) -> Result<Option<Caller>, StoreError> {
        let Some(id) = id_of(secret) else {
            return Ok(None);
        };
        if key_id.is_some_and(|claimed| claimed != id) {
            return Ok(None);
        }
        let Some(key) = self.records.load::<ApiKey>(id).await? else {
            return Ok(None);
        };
        if key.revoked_at.is_some() || !same(&hash(secret), &key.secret_hash) {
            return Ok(None);
        }
        self.touch(&key.id).await;
        Ok(Some(Caller::new(key.client_app_id, key.scopes)))
    }

    /// Whether `credential` is shaped as a secret of ours (and not, say, a JWT).
    pub fn is_key(credential: &str) -> bool {
        credential.starts_with(PREFIX)
    }

    /// Records the key's use, unless this process did within the hour. A failure is logged: the
    /// request it came with goes on.
    async fn touch(&self, id: &str) {
        let now = Utc::now();
        let due = match self.touched.lock() {
            Ok(mut touched) => {
                let due = touched.get(id).is_none_or(|at| now - *at >= TOUCH_EVERY);
                if due {
                    touched.insert(id.to_owned(), now);
                }
                due
            }
            Err(_) => false,
        };
        if due {
            let used = KeyUse {
                key_id: id.to_owned(),
                last_used_at: timestamp(now),
            };
            if let Err(error) = self.records.save(&used).await {
                tracing::warn!(%error, key_id = id, "could not record a key's use");
            }
        }
    }
}

fn view(key: &ApiKey, last_used_at: Option<String>) -> KeyView {
    KeyView {
        id: key.id.clone(),
        client_app_id: key.client_app_id.clone(),
        scopes: key.scopes.iter().map(|s| s.name()).collect(),
        name: key.name.clone(),
        created_at: key.created_at.clone(),
        last_used_at,
    }
}

/// The key id a secret names: `cak.<32 hex digits>.<random>`.
fn id_of(secret: &str) -> Option<&str> {
    let (id, random) = secret.strip_prefix(PREFIX)?.split_once('.')?;
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) && !random.is_empty())
        .then_some(id)
}

fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two hashes in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// A POST body's client, scopes and name, or every problem with it.
fn read(body: &Value) -> Result<(String, Vec<Scope>, String), ClientError> {
    let Some(fields) = body.as_object() else {
        return Err(ClientError::Invalid(vec![Problem::new(
            "",
            "expected an object such as {\"clientAppId\": \"openedx\", \"scopes\": [\"event.create\"], \"name\": \"Open edX\"}",
        )]));
    };
    let mut problems = Vec::new();
    let (mut client, mut scopes, mut name) = (String::new(), Vec::new(), String::new());
    match fields.get("clientAppId") {
        Some(Value::String(id)) => {
            check_client_id(id, "/clientAppId", &mut problems);
            client = id.clone();
        }
        _ => problems.push(Problem::new(
            "/clientAppId",
            "expected the client id the key acts as",
        )),
    }
    match fields.get("scopes") {
        Some(Value::Array(names)) if !names.is_empty() => {
            for (index, name) in names.iter().enumerate() {
                match name.as_str().and_then(Scope::from_name_or_uri) {
                    Some(scope) if !scopes.contains(&scope) => scopes.push(scope),
                    Some(_) => {}
                    None => problems.push(Problem::new(
                        format!("/scopes/{index}"),
                        "expected one of admin, event.create, webhook.create, webhook.readonly (or its full URI)",
                    )),
                }
            }
        }
        _ => problems.push(Problem::new(
            "/scopes",
            "expected a non-empty array of scopes such as [\"event.create\"]",
        )),
    }
    match fields.get("name") {
        None | Some(Value::Null) => {}
        Some(Value::String(given)) if given.chars().count() <= MAX_NAME => name = given.clone(),
        Some(_) => problems.push(Problem::new(
            "/name",
            format!("expected a string of at most {MAX_NAME} characters"),
        )),
    }
    for key in fields.keys() {
        if !["clientAppId", "scopes", "name"].contains(&key.as_str()) {
            problems.push(Problem::new(
                format!("/{key}"),
                format!("`{key}` is not a field of a key; the fields are `clientAppId`, `scopes` and `name`"),
            ));
        }
    }
    if problems.is_empty() {
        Ok((client, scopes, name))
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

    fn keys() -> (Keys, Records) {
        let records = Records::new(Arc::new(MemoryRecords::default()));
        (Keys::new(records.clone()), records)
    }

    fn admin() -> Caller {
        Caller::new("ops", vec![Scope::Admin])
    }

    #[tokio::test]
    async fn a_key_acts_as_its_client_until_revoked() {
        let (keys, records) = keys();
        let made = keys
            .create(
                &admin(),
                &json!({"clientAppId": "openedx", "scopes": ["event.create"], "name": "Open edX"}),
            )
            .await
            .expect("made");
        assert!(Keys::is_key(&made.secret));
        assert!(
            !format!("{made:?}").contains(&made.secret),
            "no secret in debug output"
        );
        let stored: ApiKey = records
            .load(&made.key.id)
            .await
            .expect("read")
            .expect("kept");
        assert!(
            !serde_json::to_string(&stored)
                .unwrap_or_default()
                .contains(&made.secret),
            "only its hash"
        );

        let caller = keys.admit(&made.secret, None).await.expect("admit");
        assert_eq!(
            caller,
            Some(Caller::new("openedx", vec![Scope::EventCreate]))
        );
        assert!(keys
            .admit(&made.secret, Some(&made.key.id))
            .await
            .expect("basic")
            .is_some());
        assert_eq!(
            keys.admit(&made.secret, Some("another"))
                .await
                .expect("basic"),
            None
        );
        let mut wrong = made.secret.clone();
        wrong.push('x');
        assert_eq!(keys.admit(&wrong, None).await.expect("wrong"), None);
        assert_eq!(
            keys.admit("cak.nonsense", None).await.expect("shapeless"),
            None
        );

        let listed = keys.list(&admin(), Some("openedx")).await.expect("list");
        assert_eq!(listed.len(), 1);
        assert!(listed[0].last_used_at.is_some(), "its use is recorded");
        assert!(keys
            .list(&admin(), Some("other"))
            .await
            .expect("list")
            .is_empty());

        keys.revoke(&admin(), &made.key.id).await.expect("revoke");
        assert_eq!(keys.admit(&made.secret, None).await.expect("revoked"), None);
        assert!(keys.list(&admin(), None).await.expect("list").is_empty());
        assert!(matches!(
            keys.revoke(&admin(), &made.key.id).await,
            Err(ClientError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn only_admins_make_keys_of_known_scopes() {
        let (keys, _) = keys();
        let client = Caller::new("c1", vec![Scope::EventCreate]);
        let body = json!({"clientAppId": "c1", "scopes": ["event.create"]});
        assert!(matches!(
            keys.create(&client, &body).await,
            Err(ClientError::Forbidden(_))
        ));
        let bad = json!({"clientAppId": "", "scopes": ["event.create", "everything"], "colour": 1});
        match keys.create(&admin(), &bad).await {
            Err(ClientError::Invalid(problems)) => {
                let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
                assert_eq!(paths, ["/clientAppId", "/scopes/1", "/colour"]);
            }
            other => panic!("{other:?}"),
        }
        let uri = json!({"clientAppId": "c1", "scopes": [Scope::WebhookReadonly.uri()]});
        let made = keys
            .create(&admin(), &uri)
            .await
            .expect("a scope by its URI");
        assert_eq!(made.key.scopes, ["webhook.readonly"]);
    }
}

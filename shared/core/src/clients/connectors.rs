//! Connectors: ways in for producers that cannot send credentials at all. Canvas's live events come
//! with no `Authorization` header; with "Sign Payload" on, the body is a JWT signed with a key of a
//! JWKS Canvas publishes, and that signature is the credential. A connector names the client its
//! events are submitted as, where its keys are published, and the unguessable path the producer
//! posts to. [`Connectors::receive`] takes a body posted there: verified by a [`BodySignatures`]
//! adapter (`caliper_auth::SignedBodies`: it fetches the keys), then taken by the [`Intake`] as the
//! connector's client, never refused once verified.

use async_trait::async_trait;
use caliper_validation::Problem;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{check_client_filter, check_client_id, ClientError};
use crate::identity::{Caller, Scope};
use crate::intake::{Intake, IntakeError, Taken};
use crate::model::timestamp;
use crate::ports::{RecordKind, StoreError};
use crate::records::{Record, Records};
use crate::webhooks::TargetPolicy;

/// The kinds of producer a connector speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorKind {
    /// Canvas Data Services live events: Caliper 1.1, one event per POST, signed or not.
    Canvas,
}

impl ConnectorKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Canvas => "canvas",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connector {
    /// 128 random bits in hex: the path is the producer's address, not its credential, but no
    /// one should find it by guessing.
    pub id: String,
    pub kind: ConnectorKind,
    /// The client its events are submitted as, under that client's validation policy.
    pub client_app_id: String,
    /// Where the keys its bodies are signed with are published (none for an unsigned connector).
    pub jwks_url: Option<String>,
    /// Whether a body must be a signed JWT (else plain JSON, as Canvas puts on SQS).
    pub signed: bool,
    #[serde(rename = "created_at")]
    pub created_at: String,
    /// Set once deleted: its path takes nothing from then on.
    #[serde(
        rename = "deleted_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub deleted_at: Option<String>,
}

impl Record for Connector {
    const KIND: RecordKind = RecordKind::Connector;

    fn id(&self) -> &str {
        &self.id
    }
}

impl Connector {
    /// Where the producer posts its events.
    pub fn path(&self) -> String {
        format!("/connectors/{}/{}", self.kind.name(), self.id)
    }

    /// Where quarantined items of this connector say they came from.
    pub fn source(&self) -> String {
        format!("connector:{}", self.id)
    }
}

/// A connector as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorView {
    pub id: String,
    pub kind: ConnectorKind,
    pub client_app_id: String,
    pub jwks_url: Option<String>,
    pub signed: bool,
    pub path: String,
    #[serde(rename = "created_at")]
    pub created_at: String,
}

impl From<&Connector> for ConnectorView {
    fn from(connector: &Connector) -> Self {
        Self {
            id: connector.id.clone(),
            kind: connector.kind,
            client_app_id: connector.client_app_id.clone(),
            jwks_url: connector.jwks_url.clone(),
            signed: connector.signed,
            path: connector.path(),
            created_at: connector.created_at.clone(),
        }
    }
}

/// Makes, lists, deletes and finds connectors. Their JWKS URLs obey the webhook targets' policy
/// (public https only, unless private targets are allowed): a connector must not make us fetch
/// from our own network.
#[derive(Clone)]
pub struct Connectors {
    records: Records,
    policy: TargetPolicy,
}

impl Connectors {
    pub fn new(records: Records, policy: TargetPolicy) -> Self {
        Self { records, policy }
    }

    /// POST `/connectors` (admin): `{"kind": "canvas", "clientAppId", "jwksUrl"?, "signed"?}`.
    pub async fn create(
        &self,
        caller: &Caller,
        body: &Value,
    ) -> Result<ConnectorView, ClientError> {
        caller.require(&[Scope::Admin])?;
        let (kind, client_app_id, jwks_url, signed) = self.read(body)?;
        let mut random = [0u8; 16];
        getrandom::fill(&mut random)
            .map_err(|e| StoreError::new(format!("no randomness for a connector's id: {e}")))?;
        let connector = Connector {
            id: random.iter().map(|b| format!("{b:02x}")).collect(),
            kind,
            client_app_id,
            jwks_url,
            signed,
            created_at: timestamp(Utc::now()),
            deleted_at: None,
        };
        self.records.save(&connector).await?;
        Ok(ConnectorView::from(&connector))
    }

    /// GET `/connectors` (admin), optionally one client's: those not deleted, oldest first.
    pub async fn list(
        &self,
        caller: &Caller,
        client_app_id: Option<&str>,
    ) -> Result<Vec<ConnectorView>, ClientError> {
        caller.require(&[Scope::Admin])?;
        check_client_filter(client_app_id)?;
        let mut connectors: Vec<Connector> = self
            .records
            .all::<Connector>()
            .await?
            .into_iter()
            .filter(|c| c.deleted_at.is_none())
            .filter(|c| client_app_id.is_none_or(|client| c.client_app_id == client))
            .collect();
        connectors.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        Ok(connectors.iter().map(ConnectorView::from).collect())
    }

    /// DELETE `/connectors/{id}` (admin): its path takes nothing from now on.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<(), ClientError> {
        caller.require(&[Scope::Admin])?;
        let mut connector = self
            .find(id)
            .await?
            .ok_or(ClientError::NotFound("Connector"))?;
        connector.deleted_at = Some(timestamp(Utc::now()));
        self.records.save(&connector).await?;
        Ok(())
    }

    /// The live connector of this id, for a body posted to its path.
    pub async fn find(&self, id: &str) -> Result<Option<Connector>, StoreError> {
        if !is_id(id) {
            return Ok(None);
        }
        Ok(self
            .records
            .load::<Connector>(id)
            .await?
            .filter(|c| c.deleted_at.is_none()))
    }

    /// A POST body's fields, or every problem with it.
    fn read(
        &self,
        body: &Value,
    ) -> Result<(ConnectorKind, String, Option<String>, bool), ClientError> {
        let Some(fields) = body.as_object() else {
            return Err(ClientError::Invalid(vec![Problem::new(
                "",
                "expected an object such as {\"kind\": \"canvas\", \"clientAppId\": \"canvas\", \"jwksUrl\": \"https://8axpcl50e4.execute-api.us-east-1.amazonaws.com/main/jwks\"}",
            )]));
        };
        let mut problems = Vec::new();
        let kind = match fields.get("kind").and_then(Value::as_str) {
            Some("canvas") => Some(ConnectorKind::Canvas),
            _ => {
                problems.push(Problem::new("/kind", "expected \"canvas\""));
                None
            }
        };
        let client = match fields.get("clientAppId") {
            Some(Value::String(id)) => {
                check_client_id(id, "/clientAppId", &mut problems);
                id.clone()
            }
            _ => {
                problems.push(Problem::new(
                    "/clientAppId",
                    "expected the client id its events are submitted as",
                ));
                String::new()
            }
        };
        let signed = match fields.get("signed") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(signed)) => *signed,
            Some(_) => {
                problems.push(Problem::new("/signed", "expected true or false"));
                true
            }
        };
        let jwks_url = match fields.get("jwksUrl") {
            None | Some(Value::Null) => None,
            Some(Value::String(url)) => match self.policy.check_url(url) {
                Ok(url) => Some(url.to_string()),
                Err(why) => {
                    problems.push(Problem::new("/jwksUrl", why));
                    None
                }
            },
            Some(_) => {
                problems.push(Problem::new("/jwksUrl", "expected the URL of a JWKS"));
                None
            }
        };
        if signed && jwks_url.is_none() && !problems.iter().any(|p| p.path == "/jwksUrl") {
            problems.push(Problem::new(
                "/jwksUrl",
                "a signed connector needs the URL its keys are published at (Canvas: https://8axpcl50e4.execute-api.us-east-1.amazonaws.com/main/jwks), or \"signed\": false",
            ));
        }
        for name in fields.keys() {
            if !["kind", "clientAppId", "jwksUrl", "signed"].contains(&name.as_str()) {
                problems.push(Problem::new(
                    caliper_validation::pointer_join("", name),
                    format!("`{name}` is not a connector field; they are `kind`, `clientAppId`, `jwksUrl` and `signed`"),
                ));
            }
        }
        match (problems.is_empty(), kind) {
            (true, Some(kind)) => Ok((kind, client, jwks_url, signed)),
            _ => Err(ClientError::Invalid(problems)),
        }
    }
}

/// The registered claims of a JWT (RFC 7519 section 4.1): the signature's, not the envelope's, so
/// not stored with it.
pub const JWT_CLAIMS: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// Checks signed bodies: an adapter, since it fetches the keys they name.
#[async_trait]
pub trait BodySignatures: Send + Sync {
    /// The claims of `body` as signed (the JWS payload's bytes, JSON), when `body` is a compact
    /// JWS (RS256, a `kid`, not expired) signed by a key of the set published at `jwks_url`; or
    /// why not.
    async fn verify(&self, jwks_url: &str, body: &str) -> Result<Vec<u8>, SignatureRefusal>;
}

/// Why a body's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureRefusal {
    /// Unsigned, forged, edited, expired, or signed by a key its issuer does not publish: 401.
    Refused(String),
    /// The keys could not be fetched to check it: 503, so that the producer sends it again.
    Unavailable(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// No live connector at this path.
    #[error("no connector at this path")]
    NotFound,
    #[error("the body's signature was not accepted: {0:?}")]
    Signature(SignatureRefusal),
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Connectors {
    /// A body posted to connector `id`'s path: its signature checked by `signatures` when the
    /// connector is signed (the JWT's own claims dropped), then taken as the connector's client.
    pub async fn receive(
        &self,
        id: &str,
        body: &[u8],
        signatures: Option<&dyn BodySignatures>,
        intake: &Intake,
    ) -> Result<Taken, ReceiveError> {
        let connector = self.find(id).await?.ok_or(ReceiveError::NotFound)?;
        let envelope = if connector.signed {
            let jwks_url = connector.jwks_url.as_deref().unwrap_or_default();
            let signatures = signatures.ok_or_else(|| {
                ReceiveError::Signature(SignatureRefusal::Unavailable(
                    "this process was started without the means to check signatures".into(),
                ))
            })?;
            let text = String::from_utf8_lossy(body);
            let claims = signatures
                .verify(jwks_url, text.trim())
                .await
                .map_err(ReceiveError::Signature)?;
            // Read by the intake's parser, as an unsigned body is: the same limits and checks.
            intake.parse(&claims).map(|mut envelope| {
                if let Some(fields) = envelope.as_object_mut() {
                    for claim in JWT_CLAIMS {
                        fields.remove(claim);
                    }
                }
                envelope
            })
        } else {
            intake.parse(body)
        };
        Ok(intake
            .take(&connector.client_app_id, &connector.source(), envelope)
            .await?)
    }
}

/// Whether `id` is shaped as a connector's: 32 lowercase hex digits.
fn is_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::memory::MemoryRecords;

    fn connectors() -> Connectors {
        let records = Records::new(Arc::new(MemoryRecords::default()));
        Connectors::new(records, TargetPolicy::default())
    }

    fn admin() -> Caller {
        Caller::new("ops", vec![Scope::Admin])
    }

    #[tokio::test]
    async fn a_connector_takes_bodies_at_its_path_until_deleted() {
        let connectors = connectors();
        let made = connectors
            .create(
                &admin(),
                &json!({"kind": "canvas", "clientAppId": "canvas", "jwksUrl": "https://canvas.example/jwks"}),
            )
            .await
            .expect("made");
        assert!(made.signed, "signed unless said otherwise");
        assert_eq!(made.path, format!("/connectors/canvas/{}", made.id));
        assert_eq!(made.id.len(), 32);
        let found = connectors.find(&made.id).await.expect("read");
        assert_eq!(found.map(|c| c.client_app_id).as_deref(), Some("canvas"));
        assert_eq!(
            connectors.list(&admin(), None).await.expect("list"),
            vec![made.clone()]
        );
        assert!(connectors
            .list(&admin(), Some("other"))
            .await
            .expect("list")
            .is_empty());

        connectors.delete(&admin(), &made.id).await.expect("delete");
        assert_eq!(connectors.find(&made.id).await.expect("read"), None);
        assert!(connectors
            .list(&admin(), None)
            .await
            .expect("list")
            .is_empty());
        assert!(matches!(
            connectors.delete(&admin(), &made.id).await,
            Err(ClientError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn only_admins_make_connectors_and_every_problem_is_named() {
        let connectors = connectors();
        let client = Caller::new("canvas", vec![Scope::EventCreate]);
        let body = json!({"kind": "canvas", "clientAppId": "canvas", "signed": false});
        assert!(matches!(
            connectors.create(&client, &body).await,
            Err(ClientError::Forbidden(_))
        ));
        let unsigned = connectors.create(&admin(), &body).await.expect("made");
        assert!(!unsigned.signed);
        assert_eq!(unsigned.jwks_url, None);

        let bad = json!({"kind": "moodle", "clientAppId": "a b", "jwksUrl": "http://10.0.0.1/jwks", "colour": 1});
        let Err(ClientError::Invalid(problems)) = connectors.create(&admin(), &bad).await else {
            panic!("refused");
        };
        let mut paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(paths, ["/clientAppId", "/colour", "/jwksUrl", "/kind"]);

        let no_keys = json!({"kind": "canvas", "clientAppId": "canvas"});
        let Err(ClientError::Invalid(problems)) = connectors.create(&admin(), &no_keys).await
        else {
            panic!("a signed connector needs its keys");
        };
        assert_eq!(problems[0].path, "/jwksUrl");
        assert_eq!(connectors.find("../../etc").await.expect("read"), None);
    }
}

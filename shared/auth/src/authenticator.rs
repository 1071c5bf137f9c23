//! The one way a request's credentials become a [`Caller`], for both places that let requests in:
//! the Lambda authorizer in AWS and caliper-local's gateway. Each kind of credential is a way in
//! of its own here: a bearer access token (OAuth2), or an API key sent as a bearer secret or
//! with HTTP Basic (key id, secret); what the caller may then do is the domain's.

use std::sync::Arc;

use base64::Engine;
use caliper_core::clients::Keys;
use caliper_core::{Caller, Scope};
use serde_json::{Map, Value};

use crate::verifier::{credentials, TokenError, Verifier};

/// A caller let in, and when its credential stops being good (seconds since the epoch; none for
/// an API key, good until revoked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub caller: Caller,
    pub expires_at: Option<u64>,
}

/// Why credentials were refused, in words for the caller (never holding the credential).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No good access token: 401.
    Token(String),
    /// An API key that is no live key's: 401, and counted against its sender like a wrong
    /// client secret.
    Key(String),
    /// The keys could not be read: 503, try again.
    Unavailable(String),
}

impl Refusal {
    pub fn reason(&self) -> &str {
        match self {
            Self::Token(why) | Self::Key(why) | Self::Unavailable(why) => why,
        }
    }
}

pub struct Authenticator {
    tokens: Verifier,
    keys: Option<Arc<Keys>>,
}

impl Authenticator {
    /// Lets in the bearers of access tokens that `tokens` verifies.
    pub fn new(tokens: Verifier) -> Self {
        Self { tokens, keys: None }
    }

    /// Lets in the holders of these API keys too.
    pub fn with_keys(mut self, keys: Arc<Keys>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The caller named by the request's `Authorization` header, or why it is refused.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Admitted, Refusal> {
        if let Some((secret, key_id)) = authorization.and_then(key_credentials) {
            return self.admit_key(&secret, key_id.as_deref()).await;
        }
        let claims = self
            .tokens
            .verify(authorization)
            .await
            .map_err(|TokenError(why)| Refusal::Token(why))?;
        let caller = caller_of(&claims)
            .ok_or_else(|| Refusal::Token("The access token names no client".into()))?;
        Ok(Admitted {
            caller,
            expires_at: claims.get("exp").and_then(Value::as_u64),
        })
    }

    async fn admit_key(&self, secret: &str, key_id: Option<&str>) -> Result<Admitted, Refusal> {
        let refused = || {
            Refusal::Key(
                "The API key is not one this API knows: mistyped, revoked, or of another deployment"
                    .into(),
            )
        };
        let Some(keys) = &self.keys else {
            return Err(refused());
        };
        match keys.admit(secret, key_id).await {
            Ok(Some(caller)) => Ok(Admitted {
                caller,
                expires_at: None,
            }),
            Ok(None) => Err(refused()),
            Err(error) => {
                tracing::error!(%error, "could not read the API keys");
                Err(Refusal::Unavailable(
                    "The API keys could not be read; try again shortly".into(),
                ))
            }
        }
    }

    pub fn issuer(&self) -> &str {
        self.tokens.issuer()
    }
}

/// An API key in an `Authorization` header: `Bearer <secret>` (a secret of ours, not a JWT), or
/// `Basic base64(<key id>:<secret>)`; the secret and the key id Basic names.
fn key_credentials(authorization: &str) -> Option<(String, Option<String>)> {
    if let Some(secret) = credentials(authorization, "Bearer") {
        return Keys::is_key(secret).then(|| (secret.to_owned(), None));
    }
    let encoded = credentials(authorization, "Basic")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((secret.to_owned(), Some(id.to_owned())))
}

/// The caller a verified access token's claims name (`client_id`, `scope`); none without a
/// `client_id`.
fn caller_of(claims: &Map<String, Value>) -> Option<Caller> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let client_id = text("client_id").filter(|id| !id.is_empty())?;
    let scopes = text("scope").map(Scope::parse_list).unwrap_or_default();
    Some(Caller::new(client_id, scopes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_name_the_caller() {
        let claims =
            json!({"client_id": "c1", "scope": format!("{} other", Scope::EventCreate.uri())});
        let claims = claims.as_object().cloned().unwrap_or_default();
        let caller = caller_of(&claims);
        assert_eq!(caller.map(|c| c.scopes), Some(vec![Scope::EventCreate]));
        assert_eq!(caller_of(&Map::new()), None);
    }

    #[test]
    fn keys_come_as_bearer_secrets_or_with_basic() {
        let secret = "cak.0123456789abcdef0123456789abcdef.c2VjcmV0";
        assert_eq!(
            key_credentials(&format!("Bearer {secret}")),
            Some((secret.to_owned(), None))
        );
        assert_eq!(
            key_credentials("Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig"),
            None,
            "a JWT"
        );
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("id1:{secret}"));
        assert_eq!(
            key_credentials(&format!("basic {basic}")),
            Some((secret.to_owned(), Some("id1".to_owned())))
        );
        assert_eq!(key_credentials("Basic !!!"), None);
    }
}

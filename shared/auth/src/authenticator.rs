//! The one way a request's credentials become a [`Caller`], for both places that let requests in:
//! the Lambda authorizer in AWS and caliper-local's gateway. Each kind of credential is a way in
//! of its own here (a bearer access token today); what the caller may then do is the domain's.

use caliper_core::{Caller, Scope};
use serde_json::{Map, Value};

use crate::verifier::{TokenError, Verifier};

/// A caller let in, and when its credential stops being good (seconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub caller: Caller,
    pub expires_at: Option<u64>,
}

pub struct Authenticator {
    tokens: Verifier,
}

impl Authenticator {
    /// Lets in the bearers of access tokens that `tokens` verifies.
    pub fn new(tokens: Verifier) -> Self {
        Self { tokens }
    }

    /// The caller named by the request's `Authorization` header, or why it is refused.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Admitted, TokenError> {
        let claims = self.tokens.verify(authorization).await?;
        let caller = caller_of(&claims)
            .ok_or_else(|| TokenError("The access token names no client".into()))?;
        Ok(Admitted {
            caller,
            expires_at: claims.get("exp").and_then(Value::as_u64),
        })
    }

    pub fn issuer(&self) -> &str {
        self.tokens.issuer()
    }
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
}

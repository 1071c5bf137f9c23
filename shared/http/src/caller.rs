//! Who is calling, from what API Gateway's authorizer (or caliper-local, playing its part) puts in
//! the request context, and what their scopes allow.

use std::collections::HashMap;

use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::response::ApiError;

/// The scopes of the IdP's resource server, as full URIs in the token's `scope` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Admin,
    EventCreate,
    WebhookCreate,
    WebhookReadonly,
}

impl Scope {
    pub const PREFIX: &'static str = "https://purl.imsglobal.org/spec/caliper/v1p1/scope/";
    pub const ALL: [Scope; 4] = [
        Scope::Admin,
        Scope::EventCreate,
        Scope::WebhookCreate,
        Scope::WebhookReadonly,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::EventCreate => "event.create",
            Self::WebhookCreate => "webhook.create",
            Self::WebhookReadonly => "webhook.readonly",
        }
    }

    pub fn uri(self) -> String {
        format!("{}{}", Self::PREFIX, self.name())
    }

    pub fn from_uri(uri: &str) -> Option<Self> {
        let name = uri.strip_prefix(Self::PREFIX)?;
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// The authenticated caller: its client id (every stored event records it) and its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub client_id: String,
    pub scopes: Vec<Scope>,
}

impl Caller {
    /// Reads the caller from what the authorizer put in the request context: our Lambda
    /// authorizer's context (`clientId`, `scope`, `expiresAt`), or a JWT authorizer's claims
    /// (`client_id`, `scope`).
    pub fn from_request(request: &Request) -> Result<Self, ApiError> {
        let unauthenticated = || {
            ApiError::new(StatusCode::UNAUTHORIZED, "Missing or invalid access token: send `Authorization: Bearer <token>` obtained from the token endpoint")
        };
        let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
            return Err(unauthenticated());
        };
        let authorizer = context.authorizer.as_ref().ok_or_else(unauthenticated)?;
        if !authorizer.fields.is_empty() {
            return Self::from_authorizer_context(&authorizer.fields, now_seconds());
        }
        let claims = authorizer
            .jwt
            .as_ref()
            .map(|jwt| &jwt.claims)
            .ok_or_else(unauthenticated)?;
        Self::from_claims(claims).ok_or_else(unauthenticated)
    }

    /// The caller the Lambda authorizer admitted. API Gateway keeps its answer for a while
    /// (`AuthorizerResultTtlInSeconds`), so a token that has expired since is refused here.
    pub fn from_authorizer_context(
        context: &HashMap<String, serde_json::Value>,
        now: u64,
    ) -> Result<Self, ApiError> {
        let text = |name: &str| context.get(name).and_then(serde_json::Value::as_str);
        let client_id = text(crate::authorizer::CLIENT_ID)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "The authorizer named no client for this access token",
                )
            })?;
        // A number as the authorizer wrote it, or its text, should API Gateway pass it on as one.
        let expires_at = context
            .get(crate::authorizer::EXPIRES_AT)
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()));
        if expires_at.is_some_and(|at| at <= now) {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "The access token has expired: get a new one",
            ));
        }
        let scopes = text(crate::authorizer::SCOPE)
            .map(|s| s.split_whitespace().filter_map(Scope::from_uri).collect())
            .unwrap_or_default();
        Ok(Self {
            client_id: client_id.to_owned(),
            scopes,
        })
    }

    /// The caller named by a verified token's claims, stringified as API Gateway hands them over;
    /// none without a `client_id`.
    pub fn from_claims(claims: &HashMap<String, String>) -> Option<Self> {
        let client_id = claims.get("client_id").filter(|id| !id.is_empty())?.clone();
        let scopes = claims
            .get("scope")
            .map(|s| s.split_whitespace().filter_map(Scope::from_uri).collect())
            .unwrap_or_default();
        Some(Self { client_id, scopes })
    }

    pub fn is_admin(&self) -> bool {
        self.scopes.contains(&Scope::Admin)
    }

    /// Succeeds when the caller holds any one of `accepted` (admin is always accepted).
    pub fn require(&self, accepted: &[Scope]) -> Result<(), ApiError> {
        if self.is_admin() || accepted.iter().any(|s| self.scopes.contains(s)) {
            return Ok(());
        }
        let mut names: Vec<String> = accepted.iter().map(|s| s.uri()).collect();
        if !accepted.contains(&Scope::Admin) {
            names.push(Scope::Admin.uri());
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "The access token lacks the scope this route needs: one of {}",
                names.join(", ")
            ),
        ))
    }

    /// Whether the caller may see something owned by `client_id`.
    pub fn may_see(&self, client_id: &str) -> bool {
        self.is_admin() || self.client_id == client_id
    }
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Reads the caller and checks its scopes in one step.
pub fn authorize(request: &Request, accepted: &[Scope]) -> Result<Caller, ApiError> {
    let caller = Caller::from_request(request)?;
    caller.require(accepted)?;
    Ok(caller)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(claims: Option<serde_json::Value>) -> Request {
        let mut context = json!({"http": {"method": "GET", "path": "/"}, "timeEpoch": 0});
        if let Some(claims) = claims {
            context["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
        }
        let event = json!({"version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": {}, "requestContext": context, "isBase64Encoded": false});
        lambda_http::request::from_str(&event.to_string())
            .unwrap_or_else(|e| panic!("test event: {e}"))
    }

    fn status(result: Result<Caller, ApiError>) -> u16 {
        result.map_or_else(|e| e.status.as_u16(), |_| 200)
    }

    #[test]
    fn no_claims_or_no_client_is_unauthenticated() {
        assert_eq!(
            status(authorize(&request(None), &[Scope::EventCreate])),
            401
        );
        assert_eq!(
            status(authorize(
                &request(Some(json!({"scope": Scope::Admin.uri()}))),
                &[Scope::EventCreate]
            )),
            401
        );
    }

    #[test]
    fn scopes_are_full_uris_and_admin_opens_every_route() {
        let with = |scope: String| request(Some(json!({"client_id": "c1", "scope": scope})));
        assert_eq!(
            status(authorize(
                &with(Scope::EventCreate.uri()),
                &[Scope::EventCreate]
            )),
            200
        );
        assert_eq!(
            status(authorize(&with(Scope::Admin.uri()), &[Scope::EventCreate])),
            200
        );
        assert_eq!(
            status(authorize(
                &with(Scope::WebhookReadonly.uri()),
                &[Scope::EventCreate]
            )),
            403
        );
        assert_eq!(
            status(authorize(
                &with("event.create".into()),
                &[Scope::EventCreate]
            )),
            403,
            "bare names are not scopes"
        );
        let both = format!(
            "{} {}",
            Scope::WebhookCreate.uri(),
            Scope::EventCreate.uri()
        );
        let caller =
            authorize(&with(both), &[Scope::EventCreate]).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(caller.client_id, "c1");
        assert!(caller.may_see("c1") && !caller.may_see("c2"));
    }

    #[test]
    fn a_forbidden_answer_names_the_scopes_that_would_do() {
        let denied = authorize(
            &request(Some(json!({"client_id": "c1"}))),
            &[Scope::EventCreate],
        )
        .err();
        let message = denied.map(|e| e.message).unwrap_or_default();
        assert!(
            message.contains(&Scope::EventCreate.uri()) && message.contains(&Scope::Admin.uri()),
            "{message}"
        );
    }
}

//! Who is calling, from the JWT claims that API Gateway's authorizer (or caliper-local, playing its
//! part) puts in the request context, and what their scopes allow.

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

    fn from_uri(uri: &str) -> Option<Self> {
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
    /// Reads the caller from the request's authorizer claims (`client_id`, `scope`).
    pub fn from_request(request: &Request) -> Result<Self, ApiError> {
        let unauthenticated = || {
            ApiError::new(StatusCode::UNAUTHORIZED, "Missing or invalid access token: send `Authorization: Bearer <token>` obtained from the token endpoint")
        };
        let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
            return Err(unauthenticated());
        };
        let claims = context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| &jwt.claims)
            .ok_or_else(unauthenticated)?;
        let client_id = claims
            .get("client_id")
            .filter(|id| !id.is_empty())
            .ok_or_else(unauthenticated)?
            .clone();
        let scopes = claims
            .get("scope")
            .map(|s| s.split_whitespace().filter_map(Scope::from_uri).collect())
            .unwrap_or_default();
        Ok(Self { client_id, scopes })
    }

    pub fn is_admin(&self) -> bool {
        self.scopes.contains(&Scope::Admin)
    }

    /// Succeeds when the caller holds any one of `accepted` (admin is always accepted).
    pub fn require(&self, accepted: &[Scope]) -> Result<(), ApiError> {
        if self.is_admin() || accepted.iter().any(|s| self.scopes.contains(s)) {
            return Ok(());
        }
        let names: Vec<String> = accepted
            .iter()
            .chain(std::iter::once(&Scope::Admin))
            .map(|s| s.uri())
            .collect();
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

/// Reads the caller and checks its scopes in one step.
pub fn authorize(request: &Request, accepted: &[Scope]) -> Result<Caller, ApiError> {
    let caller = Caller::from_request(request)?;
    caller.require(accepted)?;
    Ok(caller)
}

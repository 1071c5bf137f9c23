//! Who is calling, from what API Gateway's authorizer (or caliper-local, playing its part) puts in
//! the request context, and what their scopes allow.

use std::collections::HashMap;

use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::response::ApiError;

pub use caliper_core::identity::{Caller, Forbidden, Scope};

/// Reads the caller from what our Lambda authorizer put in the request context (`clientId`,
/// `scope`, `expiresAt`: `authorizer::context`).
pub fn from_request(request: &Request) -> Result<Caller, ApiError> {
    let unauthenticated = || {
        ApiError::new(StatusCode::UNAUTHORIZED, "Missing or invalid access token: send `Authorization: Bearer <token>` obtained from the token endpoint")
    };
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return Err(unauthenticated());
    };
    match context.authorizer.as_ref() {
        Some(authorizer) if !authorizer.fields.is_empty() => {
            from_authorizer_context(&authorizer.fields, now_seconds())
        }
        _ => Err(unauthenticated()),
    }
}

/// The caller the Lambda authorizer admitted. API Gateway keeps its answer for a while
/// (`AuthorizerResultTtlInSeconds`), so a token that has expired since is refused here.
pub fn from_authorizer_context(
    context: &HashMap<String, serde_json::Value>,
    now: u64,
) -> Result<Caller, ApiError> {
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
        .map(Scope::parse_list)
        .unwrap_or_default();
    Ok(Caller::new(client_id, scopes))
}

/// A caller without the scope a route needs: 403, naming the scopes that would do.
impl From<Forbidden> for ApiError {
    fn from(forbidden: Forbidden) -> Self {
        let names: Vec<String> = forbidden.accepted.iter().map(|s| s.uri()).collect();
        ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "The access token lacks the scope this route needs: one of {}",
                names.join(", ")
            ),
        )
    }
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(context: Option<serde_json::Value>) -> Request {
        let mut request_context = json!({"http": {"method": "GET", "path": "/"}, "timeEpoch": 0});
        if let Some(context) = context {
            request_context["authorizer"] = json!({ "lambda": context });
        }
        let event = json!({"version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": {}, "requestContext": request_context, "isBase64Encoded": false});
        lambda_http::request::from_str(&event.to_string())
            .unwrap_or_else(|e| panic!("test event: {e}"))
    }

    /// What a route of `accepted` answers the request's caller: 200 when admitted.
    fn status(request: &Request, accepted: &[Scope]) -> u16 {
        let admitted = from_request(request).and_then(|c| Ok(c.require(accepted)?));
        admitted.map_or_else(|e| e.status.as_u16(), |()| 200)
    }

    #[test]
    fn no_context_or_no_client_is_unauthenticated() {
        assert_eq!(status(&request(None), &[Scope::EventCreate]), 401);
        let no_client = request(Some(json!({"scope": Scope::Admin.uri()})));
        assert_eq!(status(&no_client, &[Scope::EventCreate]), 401);
    }

    #[test]
    fn a_token_that_expired_while_cached_is_refused() {
        let context = |at: serde_json::Value| {
            let fields = json!({"clientId": "c1", "scope": Scope::Admin.uri(), "expiresAt": at});
            serde_json::from_value::<HashMap<String, serde_json::Value>>(fields)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let status = |at| {
            from_authorizer_context(&context(at), 1_000).map_or_else(|e| e.status.as_u16(), |_| 200)
        };
        assert_eq!(status(json!(1_000)), 401);
        assert_eq!(status(json!("999")), 401, "as text, too");
        assert_eq!(status(json!(1_001)), 200);
    }

    #[test]
    fn scopes_are_full_uris_and_admin_opens_every_route() {
        let with = |scope: String| request(Some(json!({"clientId": "c1", "scope": scope})));
        let events = &[Scope::EventCreate];
        assert_eq!(status(&with(Scope::EventCreate.uri()), events), 200);
        assert_eq!(status(&with(Scope::Admin.uri()), events), 200);
        assert_eq!(status(&with(Scope::WebhookReadonly.uri()), events), 403);
        assert_eq!(
            status(&with("event.create".into()), events),
            403,
            "bare names are not scopes"
        );
        let both = format!(
            "{} {}",
            Scope::WebhookCreate.uri(),
            Scope::EventCreate.uri()
        );
        let caller = from_request(&with(both)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            caller.scopes,
            vec![Scope::WebhookCreate, Scope::EventCreate]
        );
        assert!(caller.may_see("c1") && !caller.may_see("c2"));
    }

    #[test]
    fn a_forbidden_answer_names_the_scopes_that_would_do() {
        let caller = from_request(&request(Some(json!({"clientId": "c1"}))));
        let denied = caller
            .and_then(|c| Ok(c.require(&[Scope::EventCreate])?))
            .err();
        let message = denied.map(|e| e.message).unwrap_or_default();
        assert!(
            message.contains(&Scope::EventCreate.uri()) && message.contains(&Scope::Admin.uri()),
            "{message}"
        );
    }
}

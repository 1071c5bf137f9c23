//! The Lambda authorizer's answer for a verified token: an IAM policy that allows every route
//! whose scopes the token holds, and the caller in its context.
//!
//! Any app client of the stack's user pool is admitted this way (a JWT authorizer admits only the
//! client ids listed in the template). API Gateway keeps an answer per token for the authorizer's
//! TTL and applies it to whatever route the token calls next, so the policy names every route the
//! token may call, not only the one asked for; the route table decides which those are.

use serde_json::{json, Value};

use crate::caller::Caller;
use crate::routes::{Access, ROUTES};

/// Context keys the handlers read back (`caller::from_request`).
pub const CLIENT_ID: &str = "clientId";
pub const SCOPE: &str = "scope";
pub const EXPIRES_AT: &str = "expiresAt";

/// The message API Gateway turns into a 401 when the authorizer fails with it.
pub const UNAUTHORIZED: &str = "Unauthorized";

/// The policy for `caller`, whose token expires at `expires_at` (seconds), on the API and stage
/// of `route_arn` (`arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}`).
/// `None` when the ARN is not one.
pub fn policy(caller: &Caller, expires_at: Option<u64>, route_arn: &str) -> Option<Value> {
    let mut parts = route_arn.splitn(3, '/');
    let (api, stage) = (parts.next()?, parts.next()?);
    if !api.starts_with("arn:") || api.split(':').count() != 6 || stage.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for route in ROUTES {
        let Access::Caller(scopes) = route.access else {
            continue; // no authorizer runs on it
        };
        if caller.require(scopes).is_err() {
            continue;
        }
        let path = wildcards(route.path);
        resources.push(format!("{api}/{stage}/{}{path}", route.method));
        if route.trailing_slash {
            resources.push(format!("{api}/{stage}/{}{path}/", route.method));
        }
    }
    let context = context(caller, expires_at);
    // No route at all (a token without any of the four scopes): a policy must still name one.
    let (effect, resources) = if resources.is_empty() {
        ("Deny", vec![format!("{api}/{stage}/*")])
    } else {
        ("Allow", resources)
    };
    Some(json!({
        "principalId": caller.client_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resources}],
        },
        "context": context,
    }))
}

/// The caller as the authorizer hands it to the handlers (`caller::from_request` reads it back).
pub fn context(caller: &Caller, expires_at: Option<u64>) -> Value {
    let scope: Vec<String> = caller.scopes.iter().map(|s| s.uri()).collect();
    let mut context = json!({CLIENT_ID: caller.client_id, SCOPE: scope.join(" ")});
    if let Some(at) = expires_at {
        context[EXPIRES_AT] = json!(at);
    }
    context
}

/// A route path as a policy resource: each `{parameter}` matches any segment.
fn wildcards(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "*"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::Scope;

    const ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:abc123/$default/GET/webhooks/";

    fn allowed(scopes: Vec<Scope>) -> (String, Vec<String>) {
        let caller = Caller {
            client_id: "app".into(),
            scopes,
        };
        let policy =
            policy(&caller, Some(1_900_000_000), ARN).unwrap_or_else(|| panic!("no policy"));
        let statement = &policy["policyDocument"]["Statement"][0];
        let resources = statement["Resource"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str())
            .map(|r| {
                r.trim_start_matches("arn:aws:execute-api:eu-west-1:123456789012:abc123/$default/")
                    .to_owned()
            })
            .collect();
        (
            statement["Effect"].as_str().unwrap_or_default().to_owned(),
            resources,
        )
    }

    #[test]
    fn a_token_is_allowed_exactly_the_routes_its_scopes_open() {
        let (effect, events) = allowed(vec![Scope::EventCreate]);
        assert_eq!(effect, "Allow");
        assert!(
            events.contains(&"POST/caliper/event".to_owned()),
            "{events:?}"
        );
        assert!(
            events.contains(&"GET/caliper/events/*".to_owned()),
            "{events:?}"
        );
        assert!(
            events.contains(&"GET/jobs/*/status".to_owned()),
            "{events:?}"
        );
        assert!(!events.iter().any(|r| r.contains("webhook")), "{events:?}");

        let (_, read) = allowed(vec![Scope::WebhookReadonly]);
        assert!(
            read.contains(&"GET/webhooks/".to_owned()),
            "the slash form: {read:?}"
        );
        assert!(read.contains(&"GET/webhooks".to_owned()), "{read:?}");
        assert!(
            !read
                .iter()
                .any(|r| r.starts_with("POST") || r.starts_with("PUT")),
            "{read:?}"
        );

        let every = ROUTES.iter().filter(|r| !r.scopes().is_empty()).count()
            + ROUTES.iter().filter(|r| r.trailing_slash).count();
        assert_eq!(allowed(vec![Scope::Admin]).1.len(), every);
    }

    #[test]
    fn a_token_without_scopes_is_denied_everything_and_the_context_names_the_caller() {
        assert_eq!(allowed(vec![]), ("Deny".to_owned(), vec!["*".to_owned()]));
        let caller = Caller {
            client_id: "app".into(),
            scopes: vec![Scope::EventCreate],
        };
        let context =
            &policy(&caller, Some(7), ARN).unwrap_or_else(|| panic!("no policy"))["context"];
        assert_eq!(context[CLIENT_ID], "app");
        assert_eq!(context[SCOPE], Scope::EventCreate.uri());
        assert_eq!(context[EXPIRES_AT], 7);
        let fields = serde_json::from_value(context.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            crate::caller::from_authorizer_context(&fields, 6).ok(),
            Some(caller)
        );
        let expired = crate::caller::from_authorizer_context(&fields, 7)
            .err()
            .map(|e| e.status.as_u16());
        assert_eq!(
            expired,
            Some(401),
            "a kept answer does not outlive its token"
        );
        let mut as_text: std::collections::HashMap<String, Value> = fields;
        as_text.insert(EXPIRES_AT.to_owned(), json!("7"));
        let expired = crate::caller::from_authorizer_context(&as_text, 8)
            .err()
            .map(|e| e.status.as_u16());
        assert_eq!(expired, Some(401), "the expiry read from text too");
    }

    #[test]
    fn only_a_route_arn_gets_a_policy() {
        let caller = Caller {
            client_id: "app".into(),
            scopes: vec![Scope::Admin],
        };
        for arn in [
            "",
            "GET/webhooks",
            "arn:aws:execute-api:eu-west-1:abc123",
            "x:y/$default/GET/",
        ] {
            assert_eq!(policy(&caller, None, arn), None, "{arn}");
        }
    }
}

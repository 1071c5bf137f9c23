//! The API's Lambda authorizer: admits any app client of the stack's user pool whose access
//! token verifies, and the holder of any live API key (read from the records table), with a
//! policy allowing the routes its scopes open (`caliper_http::authorizer`). A missing, malformed
//! or expired token, or a wrong or revoked key, fails with `Unauthorized`, which API Gateway
//! answers 401; keys that cannot be read fail the call (500, not cached), so that a passing
//! outage never turns into a cached refusal.
//!
//! Settings: `CALIPER_TOKEN_ISSUER` (the user pool's issuer URL, required),
//! `CALIPER_JWKS_URL` (default: the issuer's `/.well-known/jwks.json`) and
//! `CALIPER_WEBHOOKS_TABLE` (the records table, which holds the keys).

use std::sync::Arc;

use caliper_auth::{Admitted, Authenticator, Refusal, Verifier};
use caliper_core::clients::Keys;
use caliper_core::Records;
use caliper_http::authorizer;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_runtime::telemetry::init_lambda();
    let vars = caliper_runtime::settings::environment();
    let issuer = vars
        .text("CALIPER_TOKEN_ISSUER")
        .ok_or("CALIPER_TOKEN_ISSUER is not set: the user pool's issuer URL, https://cognito-idp.REGION.amazonaws.com/POOL_ID")?;
    let jwks_url = vars
        .text("CALIPER_JWKS_URL")
        .unwrap_or_else(|| format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')));
    let verifier = Verifier::remote(jwks_url.clone(), issuer)
        .await
        .map_err(|e| format!("CALIPER_JWKS_URL: cannot fetch the keys at {jwks_url}: {e}"))?;
    let aws = caliper_aws::from_env(&[]).await?;
    let keys = Keys::new(Records::new(aws.ports.records));
    let authenticator = Authenticator::new(verifier).with_keys(Arc::new(keys));
    run(service_fn(|event: LambdaEvent<Value>| {
        let authenticator = &authenticator;
        async move { decide(authenticator, &event.payload).await }
    }))
    .await
}

async fn decide(authenticator: &Authenticator, request: &Value) -> Result<Value, Error> {
    // The identity source is the Authorization header; API Gateway lowercases header names.
    let authorization = request["identitySource"][0]
        .as_str()
        .or_else(|| request["headers"]["authorization"].as_str());
    let Admitted { caller, expires_at } = match authenticator.authenticate(authorization).await {
        Ok(admitted) => admitted,
        Err(Refusal::Unavailable(why)) => return Err(why.into()),
        Err(refusal) => {
            // Counted by the template's AuthenticationsRefused metric (the dashboard shows it).
            let source = request["requestContext"]["http"]["sourceIp"]
                .as_str()
                .unwrap_or("unknown");
            tracing::warn!(reason = refusal.reason(), source, "credentials refused");
            return Err(authorizer::UNAUTHORIZED.into());
        }
    };
    let route_arn = request["routeArn"].as_str().unwrap_or_default();
    authorizer::policy(&caller, expires_at, route_arn).ok_or_else(|| {
        format!("the request's routeArn {route_arn:?} is not an execute-api ARN").into()
    })
}

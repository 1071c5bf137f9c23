//! caliper-local as the IdP, playing the Cognito domain: `POST /oauth2/token` (client credentials,
//! HTTP Basic), RS256 access tokens with Cognito's claims, and the keys at
//! `/.well-known/jwks.json`.

mod clients;

pub use caliper_auth::{SigningKey, Verifier};
pub use clients::{
    from_file as clients_from_file, Client, DevelopmentCredentials, UNGUESSABLE_SECRET_CHARS,
};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use caliper_http::Scope;
use serde_json::{json, Value};

use crate::throttle::{retry_after, Throttle};

pub struct IdentityProvider {
    issuer: String,
    key: SigningKey,
    clients: HashMap<String, Client>,
    token_seconds: u64,
    /// Wrong secrets, slowed per client id and per address.
    failures: Arc<Throttle>,
    /// The whole form must arrive within this (408 otherwise), as a body to the API must.
    body_timeout: Duration,
}

impl IdentityProvider {
    pub fn new(
        issuer: String,
        key: SigningKey,
        clients: Vec<Client>,
        token_seconds: u64,
        failures: Arc<Throttle>,
    ) -> Self {
        let clients = clients.into_iter().map(|c| (c.id.clone(), c)).collect();
        Self {
            issuer,
            key,
            clients,
            token_seconds,
            failures,
            body_timeout: Duration::from_secs(60),
        }
    }

    /// How long a token request's form may take to arrive.
    pub fn with_body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// A verifier of this IdP's tokens: its issuer, its key, its clients (API Gateway's audience).
    pub fn verifier(&self) -> anyhow::Result<Verifier> {
        Verifier::with_keys(
            self.issuer.clone(),
            &json!({"keys": [self.key.jwk()]}),
            Some(self.clients.keys().cloned().collect()),
        )
    }

    /// The IdP's routes: token, keys, and the OpenID discovery document that points at both.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/oauth2/token", post(token))
            .route("/.well-known/jwks.json", get(jwks))
            .route("/.well-known/openid-configuration", get(discovery))
            .with_state(self)
    }

    /// Cognito's answer to a client-credentials grant, or its OAuth error.
    fn grant(&self, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
        let form_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !form_type.starts_with("application/x-www-form-urlencoded") {
            return Err(OAuthError::request(
                "send the parameters as application/x-www-form-urlencoded",
            ));
        }
        let client = self.authenticate(headers)?;
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| OAuthError::request(format!("the body is not a form: {e}")))?;
        let field = |name: &str| -> Result<Option<&str>, OAuthError> {
            let mut values = form
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str());
            match (values.next(), values.next()) {
                (value, None) => Ok(value),
                _ => Err(OAuthError::request(format!(
                    "`{name}` is given more than once"
                ))),
            }
        };
        match field("grant_type")? {
            Some("client_credentials") => {}
            Some(other) => {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "unsupported_grant_type",
                    format!("grant_type `{other}` is not supported; use client_credentials"),
                ))
            }
            None => {
                return Err(OAuthError::request(
                    "grant_type is missing; use client_credentials",
                ))
            }
        }
        let scopes = match field("scope")? {
            None => client.scopes.clone(),
            Some(requested) => requested
                .split_whitespace()
                .map(|uri| {
                    client
                        .scopes
                        .iter()
                        .copied()
                        .find(|s| s.uri() == uri)
                        .ok_or_else(|| {
                            OAuthError::new(
                                StatusCode::BAD_REQUEST,
                                "invalid_scope",
                                format!("client {} may not have the scope `{uri}`", client.id),
                            )
                        })
                })
                .collect::<Result<Vec<Scope>, _>>()?,
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let scope: Vec<String> = scopes.iter().map(|s| s.uri()).collect();
        let claims = json!({
            "sub": client.id,
            "token_use": "access",
            "scope": scope.join(" "),
            "auth_time": now,
            "iss": self.issuer,
            "exp": now + self.token_seconds,
            "iat": now,
            "version": 2,
            "jti": uuid::Uuid::new_v4().to_string(),
            "client_id": client.id,
        });
        let access_token = self.key.sign(&claims).map_err(|e| {
            tracing::error!(error = %e, "cannot sign a token");
            OAuthError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the token could not be signed",
            )
        })?;
        Ok(
            json!({"access_token": access_token, "expires_in": self.token_seconds, "token_type": "Bearer"}),
        )
    }

    /// The client named by HTTP Basic credentials, if its secret matches.
    fn authenticate(&self, headers: &HeaderMap) -> Result<&Client, OAuthError> {
        let (id, secret) = basic_credentials(headers)?;
        self.clients
            .get(&id)
            .filter(|client| client.has_secret(&secret))
            .ok_or_else(|| invalid_client("unknown client or wrong secret"))
    }
}

fn invalid_client(why: &str) -> OAuthError {
    OAuthError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        format!("{why}: send `Authorization: Basic base64(client_id:client_secret)`"),
    )
}

/// The longest Basic credentials read, base64: 1.5 KB of id and secret.
const MAX_BASIC_CREDENTIALS: usize = 2048;

/// The (id, secret) of HTTP Basic credentials.
fn basic_credentials(headers: &HeaderMap) -> Result<(String, String), OAuthError> {
    let encoded = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| caliper_auth::credentials(v, "Basic"))
        .ok_or_else(|| invalid_client("no client credentials"))?;
    // Checking costs the same whatever is sent: ids and secrets are far shorter than this.
    if encoded.len() > MAX_BASIC_CREDENTIALS {
        return Err(invalid_client("the Basic credentials are too long"));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| invalid_client("the Basic credentials are not base64 of id:secret"))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| invalid_client("the Basic credentials are not id:secret"))?;
    Ok((id.to_owned(), secret.to_owned()))
}

/// The most a token request's form may take: a grant type and a few scope URIs fit in far less.
const MAX_TOKEN_REQUEST_BYTES: usize = 4096;

async fn token(
    State(idp): State<Arc<IdentityProvider>>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    // Failures count against the address and the client id from that address, never the client id
    // alone: guessing from elsewhere cannot slow a client down.
    let source = crate::server::peer(&parts.extensions).map(|a| a.ip().to_string());
    let address = source.as_deref().map(|ip| format!("address:{ip}"));
    let claimed = basic_credentials(&headers).ok();
    let pair = claimed
        .as_ref()
        .zip(source.as_deref())
        .map(|((id, _), ip)| format!("client:{id}@{ip}"));
    let keys: Vec<&str> = [address.as_deref(), pair.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    // While throttled, a client whose secret is beyond guessing is still checked (so the right
    // secret always passes); any other attempt is refused unchecked.
    let throttled = idp.failures.wait(&keys);
    if let Some(wait) = throttled {
        let checkable = claimed
            .as_ref()
            .and_then(|(id, _)| idp.clients.get(id))
            .is_some_and(Client::unguessable);
        if !checkable {
            idp.failures.refused_unchecked();
            return too_many(wait);
        }
    }
    // Unauthenticated: never read more than a token request needs.
    let too_large = || {
        crate::gateway::closing(
            OAuthError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                format!("a token request's body is at most {MAX_TOKEN_REQUEST_BYTES} bytes: send grant_type=client_credentials (and a scope)"),
            )
            .into_response(),
        )
    };
    if crate::gateway::declared_over(&headers, MAX_TOKEN_REQUEST_BYTES) {
        return too_large();
    }
    let body = match tokio::time::timeout(
        idp.body_timeout,
        axum::body::to_bytes(body, MAX_TOKEN_REQUEST_BYTES),
    )
    .await
    {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return too_large(),
        Err(_) => {
            return crate::gateway::closing(
                OAuthError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "invalid_request",
                    format!(
                        "the token request's body did not arrive within {} s",
                        idp.body_timeout.as_secs()
                    ),
                )
                .into_response(),
            )
        }
    };
    match idp.grant(&headers, &body) {
        Ok(answer) => ([(header::CACHE_CONTROL, "no-store")], Json(answer)).into_response(),
        Err(error) if error.error == "invalid_client" => {
            idp.failures.failed(&keys);
            if let Some(wait) = throttled {
                return too_many(wait);
            }
            // Bounded by the throttle: each address fails a few times a minute, then its failures
            // are answered 429 (counted in the minute's report, not a line each).
            let client = claimed
                .as_ref()
                .map(|(id, _)| crate::throttle::log_digest(id));
            tracing::warn!(
                client_digest = client.as_deref().unwrap_or("none"),
                source = source.as_deref().unwrap_or("unknown"),
                reason = error.description,
                "a token request refused"
            );
            error.into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// 429 for an attempt while its address, or its client from that address, has too many failures.
fn too_many(wait: Duration) -> Response {
    let seconds = retry_after(wait);
    let mut response = OAuthError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        format!("too many failed authentications from this address; try again in {seconds} s"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

async fn jwks(State(idp): State<Arc<IdentityProvider>>) -> Json<Value> {
    Json(json!({"keys": [idp.key.jwk()]}))
}

async fn discovery(State(idp): State<Arc<IdentityProvider>>) -> Json<Value> {
    Json(json!({
        "issuer": idp.issuer,
        "jwks_uri": format!("{}/.well-known/jwks.json", idp.issuer),
        "token_endpoint": format!("{}/oauth2/token", idp.issuer),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": Scope::ALL.iter().map(|s| s.uri()).collect::<Vec<_>>(),
    }))
}

/// An OAuth 2.0 error (RFC 6749 §5.2), as Cognito's token endpoint answers it.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    fn request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"caliper-local\""),
            );
        }
        response
    }
}

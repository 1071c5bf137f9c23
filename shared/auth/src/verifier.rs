//! Checks a bearer token as API Gateway's JWT authorizer does: an RS256 signature by a key of the
//! issuer's JWKS, not expired, not before its `nbf` nor issued in the future, the right issuer, an
//! access token of an admitted client (its `aud` when it has one, else its `client_id`).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};
use sha2::Digest;

use crate::jwks::KeySet;

/// The most verified tokens kept (each its claims, about a kilobyte): a bound on the memory a
/// flood of distinct tokens takes.
const MOST_KEPT: usize = 4096;

/// How far ahead of our clock a token's `nbf` or `iat` may be: the issuer's clock may run a little
/// ahead of ours. (`exp` has no leeway.)
const CLOCK_SKEW_SECONDS: u64 = 5;

/// The authorization scheme and its credentials, the scheme's name in any case (RFC 9110 §11.1).
pub fn credentials<'a>(authorization: &'a str, scheme: &str) -> Option<&'a str> {
    let (name, rest) = authorization.trim_start().split_once(' ')?;
    name.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// Why a token was refused, in words for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError(pub String);

pub struct Verifier {
    issuer: String,
    keys: KeySet,
    /// Client ids admitted (API Gateway's `audience`); `None` admits every client of the issuer.
    audience: Option<HashSet<String>>,
    validation: Validation,
    verified: Verified,
}

impl Verifier {
    pub fn with_keys(
        issuer: String,
        jwks: &Value,
        audience: Option<HashSet<String>>,
    ) -> anyhow::Result<Self> {
        let set: JwkSet = serde_json::from_value(jwks.clone())?;
        Ok(Self::new(issuer, KeySet::fixed(set), audience))
    }

    /// Verifies tokens of a real Cognito user pool (or any OIDC issuer) by its JWKS URL.
    pub async fn remote(jwks_url: String, issuer: String) -> anyhow::Result<Self> {
        Ok(Self::new(issuer, KeySet::remote(jwks_url).await?, None))
    }

    fn new(issuer: String, keys: KeySet, audience: Option<HashSet<String>>) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_issuer(&[&issuer]);
        validation.set_required_spec_claims(&["exp", "iss"]);
        Self {
            issuer,
            keys,
            audience,
            validation,
            verified: Verified::default(),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The claims of the bearer token in `authorization` (the header's value), if it is good.
    pub async fn verify(
        &self,
        authorization: Option<&str>,
    ) -> Result<Map<String, Value>, TokenError> {
        let refuse = |why: String| Err(TokenError(why));
        let Some(authorization) = authorization else {
            return refuse(
                "No access token: send `Authorization: Bearer <token>`, the token from POST /oauth2/token".into(),
            );
        };
        let Some(token) = credentials(authorization, "Bearer") else {
            return refuse("The Authorization header is not `Bearer <token>`".into());
        };
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(claims) = self.verified.get(&digest, now) {
            return Ok(claims);
        }
        let claims = self.verify_afresh(token).await?;
        self.verified.keep(digest, &claims, now);
        Ok(claims)
    }

    /// Every check of [`Verifier::verify`], on a token not verified before.
    async fn verify_afresh(&self, token: &str) -> Result<Map<String, Value>, TokenError> {
        let refuse = |why: String| Err(TokenError(why));
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| TokenError(explain(e.kind(), &self.issuer)))?;
        if header.alg != Algorithm::RS256 {
            return refuse(format!(
                "The access token is signed with {:?}; only RS256 is accepted",
                header.alg
            ));
        }
        let Some(kid) = header.kid else {
            return refuse("The access token names no key (`kid`)".into());
        };
        let key = self
            .keys
            .key(&kid)
            .await
            .map_err(|e| TokenError(e.to_string()))?
            .ok_or_else(|| {
                TokenError(format!(
                    "The access token's key `{kid}` is not one of {}'s keys",
                    self.issuer
                ))
            })?;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &self.validation)
            .map_err(|e| TokenError(explain(e.kind(), &self.issuer)))?;
        let claims = data.claims;
        let now = jsonwebtoken::get_current_timestamp();
        for (name, what) in [
            ("nbf", "is not valid yet"),
            ("iat", "was issued in the future"),
        ] {
            match claims.get(name) {
                None => {}
                Some(time) => match time.as_u64() {
                    Some(t) if t <= now + CLOCK_SKEW_SECONDS => {}
                    Some(_) => {
                        return refuse(format!("The access token {what} (`{name}` is after now)"))
                    }
                    None => {
                        return refuse(format!(
                            "The access token's `{name}` is not a time in seconds"
                        ))
                    }
                },
            }
        }
        if claims.get("token_use").and_then(Value::as_str) != Some("access") {
            return refuse("The token is not an access token (`token_use` is not `access`)".into());
        }
        let client_id = claims
            .get("client_id")
            .and_then(Value::as_str)
            .unwrap_or("");
        if client_id.is_empty() {
            return refuse("The access token has no `client_id`".into());
        }
        if let Some(audience) = &self.audience {
            // As API Gateway: the `aud` when the token has one, else the `client_id`.
            let named: Vec<&str> = match claims.get("aud") {
                Some(Value::String(aud)) => vec![aud.as_str()],
                Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
                Some(_) => {
                    return refuse(
                        "The access token's `aud` is not a string or a list of strings".into(),
                    )
                }
                None => vec![client_id],
            };
            if !named.iter().any(|n| audience.contains(*n)) {
                return refuse(match claims.get("aud") {
                    Some(_) => format!("The access token's audience {named:?} is not admitted"),
                    None => format!("The client `{client_id}` is not admitted"),
                });
            }
        }
        Ok(claims)
    }
}

/// Tokens verified already, by their SHA-256, with their claims until they expire: a token's
/// signature and claims are checked once in its lifetime, not on every request it comes with (an
/// RS256 verification is most of what letting a request in costs). What a verified token says
/// cannot change; a key its issuer withdraws meanwhile no longer admits new tokens, while those
/// already verified run out their hour, as with API Gateway's JWT authorizer.
#[derive(Default)]
struct Verified(Mutex<HashMap<Digest32, Kept>>);

/// A token's SHA-256.
type Digest32 = [u8; 32];
/// A verified token's expiry (unix seconds) and claims.
type Kept = (u64, Map<String, Value>);

impl Verified {
    /// The claims of a token verified before, unless it has expired by `now`.
    fn get(&self, digest: &[u8; 32], now: u64) -> Option<Map<String, Value>> {
        let kept = self.0.lock().ok()?;
        let (expires, claims) = kept.get(digest)?;
        (now < *expires).then(|| claims.clone())
    }

    /// Keeps a token just verified; when full, first drops the expired, then (a flood of distinct
    /// tokens) everything.
    fn keep(&self, digest: [u8; 32], claims: &Map<String, Value>, now: u64) {
        let Some(expires) = claims.get("exp").and_then(Value::as_u64) else {
            return;
        };
        let Ok(mut kept) = self.0.lock() else { return };
        if kept.len() >= MOST_KEPT {
            kept.retain(|_, (at, _)| now < *at);
            if kept.len() >= MOST_KEPT {
                kept.clear();
            }
        }
        kept.insert(digest, (expires, claims.clone()));
    }
}

fn explain(kind: &ErrorKind, issuer: &str) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "The access token has expired: get a new one".into(),
        ErrorKind::InvalidIssuer => format!("The access token was not issued by {issuer}"),
        ErrorKind::InvalidSignature => "The access token's signature does not verify".into(),
        ErrorKind::ImmatureSignature => "The access token is not valid yet".into(),
        ErrorKind::MissingRequiredClaim(claim) => {
            format!("The access token has no `{claim}` claim")
        }
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => {
            "The access token is malformed: a JWT is three base64url parts, header.claims.signature"
                .into()
        }
        other => format!("The access token is not valid: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigningKey;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    use serde_json::json;

    const ISSUER: &str = "http://127.0.0.1:8787";

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    fn setup() -> (tempfile::TempDir, SigningKey, Verifier) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let key = SigningKey::load_or_create(&dir.path().join("key.der"))
            .unwrap_or_else(|e| panic!("{e}"));
        let audience = Some(["app".to_owned()].into_iter().collect());
        let verifier = Verifier::with_keys(ISSUER.into(), &json!({"keys": [key.jwk()]}), audience)
            .unwrap_or_else(|e| panic!("{e}"));
        (dir, key, verifier)
    }

    fn claims() -> Value {
        json!({"iss": ISSUER, "client_id": "app", "token_use": "access", "scope": "s", "exp": now() + 60, "iat": now()})
    }

    async fn refusal(verifier: &Verifier, token: &str) -> String {
        match verifier.verify(Some(&format!("Bearer {token}"))).await {
            Ok(claims) => panic!("accepted {token}: {claims:?}"),
            Err(TokenError(why)) => why,
        }
    }

    #[tokio::test]
    async fn a_good_token_gives_its_claims() {
        let (_dir, key, verifier) = setup();
        let token = key.sign(&claims()).unwrap_or_else(|e| panic!("{e}"));
        let got = verifier
            .verify(Some(&format!("Bearer {token}")))
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(got.get("client_id"), Some(&json!("app")));
    }

    /// A good token is verified once and then answered from what was kept; a refused one is not
    /// kept, so it is checked (and refused) every time.
    #[tokio::test]
    async fn a_good_token_is_kept_and_a_refused_one_is_not() {
        let (_dir, key, verifier) = setup();
        let kept = |v: &Verifier| v.verified.0.lock().map(|k| k.len()).unwrap_or(usize::MAX);
        let token = key.sign(&claims()).unwrap_or_else(|e| panic!("{e}"));
        let bearer = format!("Bearer {token}");
        let first = verifier.verify(Some(&bearer)).await;
        assert_eq!(kept(&verifier), 1);
        assert_eq!(verifier.verify(Some(&bearer)).await, first);
        let mut foreign = claims();
        foreign["iss"] = json!("https://elsewhere.example");
        let refused = key.sign(&foreign).unwrap_or_else(|e| panic!("{e}"));
        assert!(verifier
            .verify(Some(&format!("Bearer {refused}")))
            .await
            .is_err());
        assert_eq!(kept(&verifier), 1);
    }

    #[test]
    fn a_kept_token_expires_and_the_kept_are_bounded() {
        let verified = Verified::default();
        let claims = json!({"exp": 100, "client_id": "app"});
        let claims = claims.as_object().cloned().unwrap_or_default();
        verified.keep([1; 32], &claims, 50);
        assert!(verified.get(&[1; 32], 99).is_some());
        assert!(verified.get(&[1; 32], 100).is_none(), "expired at exp");
        for n in 0..=MOST_KEPT {
            let mut digest = [0; 32];
            digest[..8].copy_from_slice(&(n as u64).to_be_bytes());
            verified.keep(digest, &claims, 50);
        }
        let kept = verified.0.lock().map(|k| k.len()).unwrap_or(usize::MAX);
        assert!(kept <= MOST_KEPT, "{kept}");
    }

    #[tokio::test]
    async fn every_flaw_is_refused_with_its_reason() {
        let (_dir, key, verifier) = setup();
        let with = |change: Value| {
            let mut claims = claims();
            for (name, value) in change.as_object().into_iter().flatten() {
                if value.is_null() {
                    claims.as_object_mut().map(|c| c.remove(name));
                } else {
                    claims[name] = value.clone();
                }
            }
            key.sign(&claims).unwrap_or_else(|e| panic!("{e}"))
        };
        let cases = [
            (with(json!({"exp": now() - 1})), "expired"),
            (with(json!({"exp": null})), "no `exp`"),
            (with(json!({"iss": "https://elsewhere"})), "not issued by"),
            (with(json!({"token_use": "id"})), "not an access token"),
            (with(json!({"client_id": null})), "no `client_id`"),
            (with(json!({"client_id": "stranger"})), "not admitted"),
            (with(json!({"nbf": now() + 60})), "not valid yet"),
            (with(json!({"iat": now() + 60})), "issued in the future"),
            (with(json!({"iat": "yesterday"})), "not a time"),
            (with(json!({"aud": "another-api"})), "audience"),
            (
                with(json!({"aud": ["another-api", "elsewhere"]})),
                "audience",
            ),
            (with(json!({"aud": 7})), "not a string"),
        ];
        for (token, reason) in cases {
            let why = refusal(&verifier, &token).await;
            assert!(why.contains(reason), "{reason}: {why}");
        }

        // Unsigned, or signed with a shared secret (the RS256/HS256 confusion), or another key.
        let body = B64.encode(claims().to_string());
        let unsigned = format!("{}.{body}.", B64.encode(r#"{"alg":"none"}"#));
        assert!(!refusal(&verifier, &unsigned).await.is_empty());
        let hs256 = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims(),
            &jsonwebtoken::EncodingKey::from_secret(key.jwk().to_string().as_bytes()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(refusal(&verifier, &hs256).await.contains("only RS256"));
        let (_other_dir, other_key, _) = setup();
        let foreign = other_key.sign(&claims()).unwrap_or_else(|e| panic!("{e}"));
        assert!(refusal(&verifier, &foreign).await.contains("is not one of"));

        for header in [
            None,
            Some("Basic YTpi"),
            Some("Bearer"),
            Some("Bearer a.b.c"),
            Some("Bearerx a.b.c"),
        ] {
            assert!(verifier.verify(header).await.is_err(), "{header:?}");
        }
    }

    #[test]
    fn scheme_names_are_read_in_any_case() {
        assert_eq!(credentials("Basic YTpi", "Basic"), Some("YTpi"));
        assert_eq!(credentials("basic  YTpi ", "Basic"), Some("YTpi"));
        assert_eq!(credentials("BEARER t", "Bearer"), Some("t"));
        assert_eq!(credentials("BasicYTpi", "Basic"), None);
        assert_eq!(credentials("Bearer t", "Basic"), None);
        assert_eq!(credentials("", "Basic"), None);
    }

    #[tokio::test]
    async fn what_api_gateway_admits_is_admitted() {
        let (_dir, key, verifier) = setup();
        let sign = |change: Value| {
            let mut claims = claims();
            for (name, value) in change.as_object().into_iter().flatten() {
                claims[name] = value.clone();
            }
            key.sign(&claims).unwrap_or_else(|e| panic!("{e}"))
        };
        for (token, scheme) in [
            (sign(json!({"nbf": now()})), "Bearer"),
            (sign(json!({"iat": now() + 2})), "bearer"),
            (
                sign(json!({"aud": "app", "client_id": "stranger"})),
                "BEARER",
            ),
            (sign(json!({"aud": ["elsewhere", "app"]})), "BeArEr"),
        ] {
            let verified = verifier.verify(Some(&format!("{scheme} {token}"))).await;
            assert!(verified.is_ok(), "{scheme}: {verified:?}");
        }
    }
}

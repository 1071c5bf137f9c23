//! Bodies that are their own credential: a connector's producer (Canvas with "Sign Payload") posts
//! a compact JWS whose claims are the envelope, signed RS256 with a key of a JWKS it publishes.
//! Each published set is fetched through the guarded client (public https addresses only, unless
//! private targets are allowed), bounded in time and size, kept for the process's life (across
//! a Lambda's invocations), and fetched again at most once a [`REFETCH_AFTER`] for a `kid` it
//! lacks: a rotation to the next key is followed with no restart, and unknown `kid`s cannot make
//! us fetch on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use caliper_core::clients::connectors::{BodySignatures, SignatureRefusal};
use caliper_core::webhooks::TargetPolicy;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use crate::jwks::{KeyError, KeySet, FETCH_TIMEOUT};

/// An unknown `kid` fetches a producer's set again at most this often.
pub const REFETCH_AFTER: Duration = Duration::from_secs(60);

/// How far the producer's clock may be ahead of ours (`iat`) or behind (`exp`, `nbf`).
pub const CLOCK_SKEW_SECONDS: u64 = 30;

/// Key sets kept at most; past it, all are forgotten (connectors are few: this bounds a store
/// that somehow names many).
const MAX_SETS: usize = 1_000;

pub struct SignedBodies {
    /// Checked on the URL before each fetch (an address written as the host never reaches the
    /// resolver), as on a webhook's target before each delivery.
    policy: TargetPolicy,
    http: reqwest::Client,
    refetch_after: Duration,
    sets: Mutex<HashMap<String, Arc<KeySet>>>,
}

impl SignedBodies {
    /// Fetching the keys from where `policy` admits.
    pub fn new(policy: TargetPolicy) -> Result<Self, String> {
        Ok(Self {
            policy,
            http: caliper_sender::guarded_client(policy, FETCH_TIMEOUT, "caliper-events-api-jwks")?,
            refetch_after: REFETCH_AFTER,
            sets: Mutex::default(),
        })
    }

    /// Fetching a set again for an unknown `kid` after `interval` (tests shorten it).
    pub fn refetching_after(mut self, interval: Duration) -> Self {
        self.refetch_after = interval;
        self
    }

    fn set(&self, url: &str) -> Arc<KeySet> {
        let mut sets = self
            .sets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !sets.contains_key(url) && sets.len() >= MAX_SETS {
            sets.clear();
        }
        sets.entry(url.to_owned())
            .or_insert_with(|| {
                Arc::new(KeySet::fetched_by(
                    url.to_owned(),
                    self.http.clone(),
                    self.refetch_after,
                ))
            })
            .clone()
    }
}

#[async_trait]
impl BodySignatures for SignedBodies {
    async fn verify(&self, jwks_url: &str, body: &str) -> Result<Vec<u8>, SignatureRefusal> {
        let refuse = |why: String| Err(SignatureRefusal::Refused(why));
        let compact = body.split('.').count() == 3
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !compact {
            return refuse(
                "The body is not a signed JWT (header.claims.signature, base64url): this connector takes signed bodies only (Canvas: turn Sign Payload on)".into(),
            );
        }
        let header = jsonwebtoken::decode_header(body)
            .map_err(|e| SignatureRefusal::Refused(explain(e.kind())))?;
        if header.alg != Algorithm::RS256 {
            return refuse(format!(
                "The body is signed with {:?}; only RS256 is accepted",
                header.alg
            ));
        }
        let Some(kid) = header.kid else {
            return refuse("The body's signature names no key (`kid`)".into());
        };
        if let Err(why) = self.policy.check_url(jwks_url) {
            return Err(SignatureRefusal::Unavailable(format!(
                "The connector's keys cannot be fetched from {jwks_url}: {why}"
            )));
        }
        let key = match self.set(jwks_url).key(&kid).await {
            Ok(Some(key)) => key,
            Ok(None) => {
                return refuse(format!(
                    "The body is signed with the key `{kid}`, which is not among the keys published at {jwks_url}"
                ))
            }
            Err(KeyError::Unusable(why)) => return refuse(why),
            Err(KeyError::Unreachable(why)) => return Err(SignatureRefusal::Unavailable(why)),
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = CLOCK_SKEW_SECONDS;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp"]);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(body, &key, &validation)
            .map_err(|e| SignatureRefusal::Refused(explain(e.kind())))?
            .claims;
        let now = jsonwebtoken::get_current_timestamp();
        match claims.get("iat") {
            None => {}
            Some(time) => match time.as_u64() {
                Some(t) if t <= now + CLOCK_SKEW_SECONDS => {}
                Some(_) => {
                    return refuse("The body was signed in the future (`iat` is after now)".into())
                }
                None => return refuse("The body's `iat` is not a time in seconds".into()),
            },
        }
        // The claims as signed, for the caller to read with its own parser (and its checks, such
        // as numbers kept exactly): verified, so well-formed base64url.
        let payload = body.split('.').nth(1).unwrap_or_default();
        URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| SignatureRefusal::Refused("The body's claims are not base64url".into()))
    }
}

fn explain(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "The body's signature has expired (`exp` is past)".into(),
        ErrorKind::InvalidSignature => {
            "The body's signature does not verify: it was changed after signing, or signed with another key".into()
        }
        ErrorKind::ImmatureSignature => "The body's signature is not valid yet (`nbf`)".into(),
        ErrorKind::MissingRequiredClaim(claim) => {
            format!("The body's signature has no `{claim}` claim")
        }
        ErrorKind::InvalidAlgorithm => "The body is signed with another algorithm than RS256".into(),
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => {
            "The body is not a well-formed signed JWT (header.claims.signature, base64url JSON)".into()
        }
        other => format!("The body's signature is not valid: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    use serde_json::json;

    use super::*;
    use crate::SigningKey;

    /// A producer's three keys (previous, current, next), each signing as it would.
    struct Producer {
        _dir: tempfile::TempDir,
        keys: Vec<SigningKey>,
    }

    impl Producer {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let keys = (0..4)
                .map(|n| {
                    SigningKey::load_or_create(&dir.path().join(format!("key-{n}")))
                        .unwrap_or_else(|e| panic!("{e}"))
                })
                .collect();
            Self { _dir: dir, keys }
        }

        fn sign(&self, key: usize, claims: &Value) -> String {
            self.keys[key]
                .sign(claims)
                .unwrap_or_else(|e| panic!("{e}"))
        }

        fn set(&self, keys: &[usize]) -> Value {
            json!({"keys": keys.iter().map(|k| self.keys[*k].jwk().clone()).collect::<Vec<_>>()})
        }
    }

    /// Publishes whatever `published` holds at `/jwks` on 127.0.0.1, counting fetches.
    async fn publish(published: Arc<Mutex<Value>>) -> (String, Arc<AtomicUsize>) {
        let fetches = Arc::new(AtomicUsize::new(0));
        let counted = fetches.clone();
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                let set = published.lock().map(|s| s.clone()).unwrap_or_default();
                async move { axum::Json(set) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{address}/jwks"), fetches)
    }

    fn private() -> TargetPolicy {
        TargetPolicy {
            allow_private: true,
        }
    }

    fn envelope_claims(exp: u64) -> Value {
        json!({"iss": "canvas", "iat": jsonwebtoken::get_current_timestamp(), "exp": exp, "jti": "j1",
            "sensor": "https://canvas.example", "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1", "data": []})
    }

    fn later() -> u64 {
        jsonwebtoken::get_current_timestamp() + 300
    }

    async fn refusal(bodies: &SignedBodies, url: &str, body: &str) -> String {
        match bodies.verify(url, body).await {
            Err(SignatureRefusal::Refused(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_body_signed_by_a_published_key_gives_its_claims_and_rotation_needs_no_restart() {
        let producer = Producer::new();
        let published = Arc::new(Mutex::new(producer.set(&[0, 1, 2])));
        let (url, fetches) = publish(published.clone()).await;
        let bodies = SignedBodies::new(private())
            .unwrap_or_else(|e| panic!("{e}"))
            .refetching_after(Duration::from_millis(50));
        for key in 0..3 {
            let claims = bodies
                .verify(&url, &producer.sign(key, &envelope_claims(later())))
                .await
                .unwrap_or_else(|e| panic!("key {key}: {e:?}"));
            let claims: Value = serde_json::from_slice(&claims).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(claims["sensor"], "https://canvas.example");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1, "the set is kept");

        // A month on: the set moves to (current, next, one after); a body signed with the new
        // key is taken once the set is fetched again.
        *published.lock().unwrap_or_else(|e| panic!("{e}")) = producer.set(&[1, 2, 3]);
        let rotated = producer.sign(3, &envelope_claims(later()));
        let mut tries = 0;
        while bodies.verify(&url, &rotated).await.is_err() {
            tries += 1;
            assert!(tries < 1_000, "the rotated key is never found");
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(fetches.load(Ordering::SeqCst) >= 2);
    }

    #[tokio::test]
    async fn unknown_keys_fetch_the_set_again_at_most_once_an_interval() {
        let producer = Producer::new();
        let (url, fetches) = publish(Arc::new(Mutex::new(producer.set(&[0])))).await;
        let bodies = SignedBodies::new(private()).unwrap_or_else(|e| panic!("{e}"));
        let stranger = producer.sign(3, &envelope_claims(later()));
        for _ in 0..20 {
            let why = refusal(&bodies, &url, &stranger).await;
            assert!(why.contains("not among the keys published"), "{why}");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn forged_edited_expired_and_unsigned_bodies_are_refused() {
        let producer = Producer::new();
        let (url, _) = publish(Arc::new(Mutex::new(producer.set(&[0])))).await;
        let bodies = SignedBodies::new(private()).unwrap_or_else(|e| panic!("{e}"));
        let good = producer.sign(0, &envelope_claims(later()));
        assert!(bodies.verify(&url, &good).await.is_ok());

        let parts: Vec<&str> = good.split('.').collect();
        let mut edited_claims = envelope_claims(later());
        edited_claims["sensor"] = json!("https://forger.example");
        let edited = format!(
            "{}.{}.{}",
            parts[0],
            B64.encode(edited_claims.to_string()),
            parts[2]
        );
        assert!(refusal(&bodies, &url, &edited)
            .await
            .contains("does not verify"));

        let expired = producer.sign(
            0,
            &envelope_claims(jsonwebtoken::get_current_timestamp() - 120),
        );
        assert!(refusal(&bodies, &url, &expired).await.contains("expired"));
        let mut no_exp = envelope_claims(0);
        no_exp.as_object_mut().map(|c| c.remove("exp"));
        assert!(refusal(&bodies, &url, &producer.sign(0, &no_exp))
            .await
            .contains("`exp`"));
        let mut future = envelope_claims(later());
        future["iat"] = json!(later());
        assert!(refusal(&bodies, &url, &producer.sign(0, &future))
            .await
            .contains("future"));

        let unsigned = envelope_claims(later()).to_string();
        assert!(refusal(&bodies, &url, &unsigned)
            .await
            .contains("not a signed JWT"));

        let kid = producer.keys[0].jwk()["kid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let none_header = B64.encode(json!({"alg": "none", "kid": kid}).to_string());
        let none = format!(
            "{none_header}.{}.",
            B64.encode(envelope_claims(later()).to_string())
        );
        assert!(!refusal(&bodies, &url, &none).await.is_empty());

        // HS256 keyed with the public key's modulus: the old confusion of algorithms.
        let modulus = producer.keys[0].jwk()["n"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.kid = Some(kid);
        let hs256 = jsonwebtoken::encode(
            &header,
            &envelope_claims(later()),
            &jsonwebtoken::EncodingKey::from_secret(modulus.as_bytes()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(refusal(&bodies, &url, &hs256).await.contains("only RS256"));
    }

    /// A set that cannot be had (too large, or an error) leaves good bodies unverified, not
    /// refused: the producer is told to send them again (503), and nothing is stored meanwhile.
    #[tokio::test]
    async fn a_set_too_large_or_failing_is_no_refusal_and_no_pass() {
        let producer = Producer::new();
        let mut oversized = producer.set(&[0]);
        oversized["padding"] = json!("x".repeat(crate::jwks::MAX_SET_BYTES));
        let (url, _) = publish(Arc::new(Mutex::new(oversized))).await;
        let bodies = SignedBodies::new(private()).unwrap_or_else(|e| panic!("{e}"));
        let good = producer.sign(0, &envelope_claims(later()));
        match bodies.verify(&url, &good).await {
            Err(SignatureRefusal::Unavailable(why)) => {
                assert!(why.contains("larger than"), "{why}")
            }
            other => panic!("an oversized set is not read: {other:?}"),
        }
        let missing = url.replace("/jwks", "/nowhere");
        assert!(matches!(
            bodies.verify(&missing, &good).await,
            Err(SignatureRefusal::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn keys_are_fetched_from_public_addresses_only_and_an_unreachable_set_is_no_refusal() {
        let producer = Producer::new();
        let (url, fetches) = publish(Arc::new(Mutex::new(producer.set(&[0])))).await;
        let guarded = SignedBodies::new(TargetPolicy::default()).unwrap_or_else(|e| panic!("{e}"));
        let good = producer.sign(0, &envelope_claims(later()));
        match guarded.verify(&url, &good).await {
            Err(SignatureRefusal::Unavailable(why)) => {
                assert!(why.contains("cannot be fetched"), "{why}")
            }
            other => panic!("a loopback JWKS is not fetched: {other:?}"),
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 0, "no connection was made");
    }
}

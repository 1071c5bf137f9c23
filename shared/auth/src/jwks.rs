//! A JSON Web Key Set: the public keys a signer publishes, found by `kid`. Fixed (caliper-local's
//! own key) or fetched from a URL (a Cognito user pool's, a connector's producer's), and fetched
//! again when a token names a key the set lacks, at most every [`REFETCH_AFTER`] (or the interval
//! given): an issuer that rotates its keys is followed without letting unknown `kid`s drive a
//! fetch each. A fetch is bounded in time and in size ([`MAX_SET_BYTES`]). Nothing here knows
//! what the keys sign.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::DecodingKey;
use tokio::sync::RwLock;

/// A remote set is fetched again at most this often, however many unknown keys are presented.
pub const REFETCH_AFTER: Duration = Duration::from_secs(30);

/// How long one fetch of a remote set may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The most of a published set read: a few RSA keys take a few KiB.
pub const MAX_SET_BYTES: usize = 64 * 1024;

/// Why the key a token names cannot be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The set has it, but it is no key we can verify with.
    Unusable(String),
    /// The set could not be fetched, and the key is not among those fetched before.
    Unreachable(String),
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unusable(why) | Self::Unreachable(why) => f.write_str(why),
        }
    }
}

pub struct KeySet(Keys);

enum Keys {
    Fixed(JwkSet),
    Remote {
        url: String,
        http: reqwest::Client,
        refetch_after: Duration,
        cache: RwLock<Fetched>,
    },
}

/// A remote set as last fetched.
struct Fetched {
    set: JwkSet,
    /// When it was last tried; none: never.
    at: Option<Instant>,
    /// Why the last try failed; none: it succeeded.
    failure: Option<String>,
}

impl KeySet {
    pub fn fixed(set: JwkSet) -> Self {
        Self(Keys::Fixed(set))
    }

    /// The set published at `url`, fetched now (an error when it cannot be).
    pub async fn remote(url: String) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(FETCH_TIMEOUT).build()?;
        let set = fetch(&http, &url).await.map_err(anyhow::Error::msg)?;
        Ok(Self(Keys::Remote {
            url,
            http,
            refetch_after: REFETCH_AFTER,
            cache: RwLock::new(Fetched {
                set,
                at: Some(Instant::now()),
                failure: None,
            }),
        }))
    }

    /// The set published at `url`, fetched through `http` when a key is first asked for, and
    /// again at most every `refetch_after`.
    pub fn fetched_by(url: String, http: reqwest::Client, refetch_after: Duration) -> Self {
        Self(Keys::Remote {
            url,
            http,
            refetch_after,
            cache: RwLock::new(Fetched {
                set: JwkSet { keys: Vec::new() },
                at: None,
                failure: None,
            }),
        })
    }

    /// The key named `kid`, if the set has it (after a fetch, for a remote set that lacked it);
    /// an error in words when the key it names cannot be used, or the set cannot be fetched.
    pub async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, KeyError> {
        let decoding = |set: &JwkSet| {
            set.find(kid)
                .map(|jwk| {
                    DecodingKey::from_jwk(jwk).map_err(|e| {
                        KeyError::Unusable(format!("The key `{kid}` is unusable: {e}"))
                    })
                })
                .transpose()
        };
        // Not found in a set that could not be fetched: unknown, not refused.
        let answer = |fetched: &Fetched| match (decoding(&fetched.set)?, &fetched.failure) {
            (None, Some(why)) => Err(KeyError::Unreachable(why.clone())),
            (found, _) => Ok(found),
        };
        match &self.0 {
            Keys::Fixed(set) => decoding(set),
            Keys::Remote {
                url,
                http,
                refetch_after,
                cache,
            } => {
                {
                    let fetched = cache.read().await;
                    let recent = fetched.at.is_some_and(|at| at.elapsed() < *refetch_after);
                    if fetched.set.find(kid).is_some() || recent {
                        return answer(&fetched);
                    }
                }
                let mut fetched = cache.write().await;
                // Another caller may have fetched it while this one waited.
                let recent = fetched.at.is_some_and(|at| at.elapsed() < *refetch_after);
                if fetched.set.find(kid).is_none() && !recent {
                    match fetch(http, url).await {
                        Ok(set) => {
                            fetched.set = set;
                            fetched.failure = None;
                        }
                        Err(error) => {
                            tracing::warn!(%error, url, "cannot fetch the JWKS");
                            fetched.failure =
                                Some(format!("The keys at {url} could not be fetched: {error}"));
                        }
                    }
                    fetched.at = Some(Instant::now());
                }
                answer(&fetched)
            }
        }
    }
}

/// The set at `url`, read up to [`MAX_SET_BYTES`].
async fn fetch(http: &reqwest::Client, url: &str) -> Result<JwkSet, String> {
    let mut response = http
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| e.without_url().to_string())?;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        if body.len() + chunk.len() > MAX_SET_BYTES {
            return Err(format!("the key set is larger than {MAX_SET_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| format!("the answer is not a JWKS: {e}"))
}

//! A JSON Web Key Set: the public keys a signer publishes, found by `kid`. Fixed (caliper-local's
//! own key) or fetched from a URL (a Cognito user pool's), and fetched again when a token names a
//! key the set lacks, at most every [`REFETCH_AFTER`]: an issuer that rotates its keys is followed
//! without letting unknown `kid`s drive a fetch each. Nothing here knows what the keys sign.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::DecodingKey;
use tokio::sync::RwLock;

/// A remote set is fetched again at most this often, however many unknown keys are presented.
pub const REFETCH_AFTER: Duration = Duration::from_secs(30);

/// How long one fetch of a remote set may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

pub struct KeySet(Keys);

enum Keys {
    Fixed(JwkSet),
    Remote {
        url: String,
        http: reqwest::Client,
        cache: RwLock<(JwkSet, Option<Instant>)>,
    },
}

impl KeySet {
    pub fn fixed(set: JwkSet) -> Self {
        Self(Keys::Fixed(set))
    }

    /// The set published at `url`, fetched now (an error when it cannot be).
    pub async fn remote(url: String) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(FETCH_TIMEOUT).build()?;
        let set = fetch(&http, &url).await?;
        Ok(Self(Keys::Remote {
            url,
            http,
            cache: RwLock::new((set, Some(Instant::now()))),
        }))
    }

    /// The key named `kid`, if the set has it (after a fetch, for a remote set that lacked it);
    /// an error in words when the key it names cannot be used.
    pub async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, String> {
        let decoding = |set: &JwkSet| {
            set.find(kid)
                .map(|jwk| {
                    DecodingKey::from_jwk(jwk)
                        .map_err(|e| format!("The key `{kid}` is unusable: {e}"))
                })
                .transpose()
        };
        match &self.0 {
            Keys::Fixed(set) => decoding(set),
            Keys::Remote { url, http, cache } => {
                {
                    let (set, fetched) = &*cache.read().await;
                    let recent = fetched.is_some_and(|at| at.elapsed() < REFETCH_AFTER);
                    if set.find(kid).is_some() || recent {
                        return decoding(set);
                    }
                }
                let mut cached = cache.write().await;
                match fetch(http, url).await {
                    Ok(set) => *cached = (set, Some(Instant::now())),
                    Err(error) => {
                        tracing::warn!(%error, url, "cannot fetch the JWKS");
                        cached.1 = Some(Instant::now());
                    }
                }
                decoding(&cached.0)
            }
        }
    }
}

async fn fetch(http: &reqwest::Client, url: &str) -> anyhow::Result<JwkSet> {
    let response = http.get(url).send().await?.error_for_status()?;
    Ok(response.json::<JwkSet>().await?)
}

//! caliper-local's RSA key (it plays the IdP): made once, kept in the data directory (so tokens outlive a restart),
//! used to sign RS256 tokens and published as a JWK.

use std::path::Path;

use anyhow::Context;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub struct SigningKey {
    pair: KeyPair,
    /// The JWK's `kid`: a digest of the public key, so a new key never reuses an old id.
    kid: String,
    jwk: Value,
}

impl SigningKey {
    /// Reads the PKCS#8 key at `path`, or makes one and writes it there (readable by its owner only).
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        let pair = if path.exists() {
            let der =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            KeyPair::from_pkcs8(&der)
                .map_err(|e| anyhow::anyhow!("{} is not an RSA key: {e}", path.display()))?
        } else {
            let pair = KeyPair::generate(KeySize::Rsa2048)
                .map_err(|_| anyhow::anyhow!("cannot generate an RSA key"))?;
            let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
                .map_err(|_| anyhow::anyhow!("cannot encode the RSA key"))?;
            write_private(path, der.as_ref())?;
            pair
        };
        Ok(Self::from_pair(pair))
    }

    fn from_pair(pair: KeyPair) -> Self {
        let public = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let kid = B64.encode(&Sha256::digest(&public.n)[..12]);
        let jwk = json!({
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
            "n": B64.encode(&public.n), "e": B64.encode(&public.e),
        });
        Self { pair, kid, jwk }
    }

    /// The public key as a JWKS entry.
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// A compact JWS (RS256) of `claims`, with this key's `kid` in the header.
    pub fn sign(&self, claims: &Value) -> anyhow::Result<String> {
        let header = json!({"kid": self.kid, "alg": "RS256"});
        let signing_input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| anyhow::anyhow!("cannot sign the token"))?;
        Ok(format!("{signing_input}.{}", B64.encode(signature)))
    }
}

/// Writes a secret file that only its owner can read.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(parent) = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && !p.exists())
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_survives_a_restart_and_signs_what_its_jwk_verifies() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("idp").join("signing-key.der");
        let first = SigningKey::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        let again = SigningKey::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.jwk(), again.jwk(), "the same key after a restart");

        let token = first
            .sign(&json!({"sub": "x", "exp": u64::MAX / 2}))
            .unwrap_or_else(|e| panic!("{e}"));
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(again.jwk().clone()).unwrap_or_else(|e| panic!("{e}"));
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap_or_else(|e| panic!("{e}"));
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Value>(&token, &key, &validation)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(data.claims["sub"], "x");
        assert_eq!(data.header.kid.as_deref(), first.jwk()["kid"].as_str());
    }
}

//! Signatures of what the API hands out and must get back unchanged: listing cursors. The
//! embedded backend signs with HMAC keys of its own ([`HmacSigner`]); in AWS a KMS HMAC key signs.

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::ports::{Signer, StoreError};

/// The shortest key: as long as the SHA-256 output.
pub const MIN_KEY_BYTES: usize = 32;

/// HMAC-SHA256 with a list of keys: the first signs, every one verifies, so that a new key can be
/// put first while cursors signed by the old one are still read.
pub struct HmacSigner {
    keys: Vec<Vec<u8>>,
}

impl HmacSigner {
    pub fn new(keys: Vec<Vec<u8>>) -> Result<Self, String> {
        if keys.is_empty() {
            return Err("no signing key".into());
        }
        if let Some(short) = keys.iter().position(|k| k.len() < MIN_KEY_BYTES) {
            return Err(format!(
                "signing key {} has fewer than {MIN_KEY_BYTES} bytes",
                short + 1
            ));
        }
        Ok(Self { keys })
    }

    fn mac(key: &[u8], message: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(message);
        mac
    }
}

#[async_trait]
impl Signer for HmacSigner {
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, StoreError> {
        Ok(Self::mac(&self.keys[0], message)
            .finalize()
            .into_bytes()
            .to_vec())
    }

    async fn verify(&self, message: &[u8], signature: &[u8]) -> Result<bool, StoreError> {
        // `verify_slice` compares in constant time.
        Ok(self
            .keys
            .iter()
            .any(|key| Self::mac(key, message).verify_slice(signature).is_ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_key_signs_and_every_key_verifies() {
        let (old, new) = (vec![1u8; 32], vec![2u8; 32]);
        let before = HmacSigner::new(vec![old.clone()]).expect("signer");
        let signed = before.sign(b"cursor").await.expect("sign");
        let rotated = HmacSigner::new(vec![new.clone(), old]).expect("signer");
        assert!(rotated.verify(b"cursor", &signed).await.expect("verify"));
        assert!(!rotated.verify(b"cursor!", &signed).await.expect("verify"));
        let resigned = rotated.sign(b"cursor").await.expect("sign");
        assert_ne!(resigned, signed, "the new key signs");
        let retired = HmacSigner::new(vec![new]).expect("signer");
        assert!(!retired.verify(b"cursor", &signed).await.expect("verify"));
        assert!(retired.verify(b"cursor", &resigned).await.expect("verify"));
        assert!(HmacSigner::new(vec![vec![0; 31]]).is_err());
        assert!(HmacSigner::new(Vec::new()).is_err());
    }
}

//! KMS: listing cursors signed, webhook secrets sealed.
//!
//! Listing cursors are signed by a KMS HMAC key (`GenerateMac`/`VerifyMac`, HMAC-SHA256): the key
//! never leaves KMS. `CALIPER_CURSOR_KEY_IDS` lists the keys, the first signing and every one
//! verifying, so that a new key can be put first while the old one's cursors are still read.

use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MacAlgorithmSpec};
use aws_sdk_kms::Client;
use base64::Engine;
use caliper_core::{Signer, StoreError};

use crate::errors::store_error;

pub struct KmsSigner {
    client: Client,
    key_ids: Vec<String>,
}

impl KmsSigner {
    pub fn new(client: Client, key_ids: Vec<String>) -> Self {
        Self { client, key_ids }
    }

    fn first(&self) -> Result<&str, StoreError> {
        self.key_ids.first().map(String::as_str).ok_or_else(|| {
            StoreError::new(
                "CALIPER_CURSOR_KEY_IDS is not set: listing cursors need a KMS HMAC key",
            )
        })
    }
}

#[async_trait]
impl Signer for KmsSigner {
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, StoreError> {
        let output = self
            .client
            .generate_mac()
            .key_id(self.first()?)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(message))
            .send()
            .await
            .map_err(|e| store_error("GenerateMac (cursor)", e))?;
        Ok(output.mac.map(Blob::into_inner).unwrap_or_default())
    }

    async fn verify(&self, message: &[u8], signature: &[u8]) -> Result<bool, StoreError> {
        self.first()?;
        for key_id in &self.key_ids {
            let verified = self
                .client
                .verify_mac()
                .key_id(key_id)
                .mac_algorithm(MacAlgorithmSpec::HmacSha256)
                .message(Blob::new(message))
                .mac(Blob::new(signature))
                .send()
                .await;
            match verified {
                Ok(output) if output.mac_valid => return Ok(true),
                Ok(_) => {}
                // KMS answers a wrong MAC with an error of its own.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_kms_invalid_mac_exception()) => {}
                Err(e) => return Err(store_error("VerifyMac (cursor)", e)),
            }
        }
        Ok(false)
    }
}

/// Webhook secrets sealed by envelope encryption: a data key from KMS (`GenerateDataKey`,
/// AES-256) encrypts the secret here (AES-256-GCM), and the item keeps only ciphertext: the data
/// key as KMS encrypted it, the nonce and the sealed secret. Opening asks KMS to decrypt the data
/// key (`Decrypt`), so only functions allowed that can read a secret; opened data keys are kept a
/// few minutes, so that deliveries do not ask KMS once each.
pub struct KmsSecrets {
    client: Client,
    key_id: Option<String>,
    opened: std::sync::Mutex<OpenedKeys>,
}

/// Data keys as KMS encrypted them → when they were opened, and the key.
type OpenedKeys = std::collections::HashMap<Vec<u8>, (tokio::time::Instant, Vec<u8>)>;

/// The sealed form's tag, so that a reader knows how to open it.
const SEALED_PREFIX: &str = "kms1:";
/// How long an opened data key is kept, and how many at most.
const KEPT_FOR: std::time::Duration = std::time::Duration::from_secs(300);
const KEPT_AT_MOST: usize = 1024;

impl KmsSecrets {
    /// Seals with `key_id`; none: every call fails, naming the setting.
    pub fn new(client: Client, key_id: Option<String>) -> Self {
        Self {
            client,
            key_id,
            opened: std::sync::Mutex::default(),
        }
    }

    fn key_id(&self) -> Result<&str, StoreError> {
        self.key_id.as_deref().ok_or_else(|| {
            StoreError::new(
                "CALIPER_SECRETS_KEY_ID is not set: webhook secrets are sealed by a KMS key",
            )
        })
    }

    async fn data_key(&self, encrypted: &[u8]) -> Result<Vec<u8>, StoreError> {
        let now = tokio::time::Instant::now();
        if let Ok(opened) = self.opened.lock() {
            if let Some((at, key)) = opened.get(encrypted) {
                if now.duration_since(*at) < KEPT_FOR {
                    return Ok(key.clone());
                }
            }
        }
        let output = self
            .client
            .decrypt()
            .key_id(self.key_id()?)
            .ciphertext_blob(Blob::new(encrypted))
            .send()
            .await
            .map_err(|e| store_error("Decrypt (webhook secret)", e))?;
        let key = output.plaintext.map(Blob::into_inner).unwrap_or_default();
        if let Ok(mut opened) = self.opened.lock() {
            if opened.len() >= KEPT_AT_MOST {
                opened.clear();
            }
            opened.insert(encrypted.to_vec(), (now, key.clone()));
        }
        Ok(key)
    }
}

fn aead_key(key: &[u8]) -> Result<aws_lc_rs::aead::LessSafeKey, StoreError> {
    aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, key)
        .map(aws_lc_rs::aead::LessSafeKey::new)
        .map_err(|_| StoreError::new("KMS gave a data key that is not AES-256"))
}

#[async_trait]
impl caliper_core::SecretBox for KmsSecrets {
    async fn seal(&self, secret: &str) -> Result<String, StoreError> {
        use aws_lc_rs::aead::{Aad, Nonce, NONCE_LEN};
        let output = self
            .client
            .generate_data_key()
            .key_id(self.key_id()?)
            .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
            .send()
            .await
            .map_err(|e| store_error("GenerateDataKey (webhook secret)", e))?;
        let (Some(plain), Some(encrypted)) = (output.plaintext, output.ciphertext_blob) else {
            return Err(StoreError::new("GenerateDataKey returned no key"));
        };
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| StoreError::new("no random nonce"))?;
        let mut sealed = secret.as_bytes().to_vec();
        aead_key(plain.as_ref())?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut sealed,
            )
            .map_err(|_| StoreError::new("the secret could not be sealed"))?;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        Ok(format!(
            "{SEALED_PREFIX}{}:{}:{}",
            b64(encrypted.as_ref()),
            b64(&nonce),
            b64(&sealed)
        ))
    }

    async fn open(&self, sealed: &str) -> Result<String, StoreError> {
        use aws_lc_rs::aead::{Aad, Nonce};
        let unreadable = || StoreError::new("a stored webhook secret is not one this API sealed");
        let parts: Vec<Vec<u8>> = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or_else(unreadable)?
            .split(':')
            .map(|part| base64::engine::general_purpose::STANDARD.decode(part))
            .collect::<Result<_, _>>()
            .map_err(|_| unreadable())?;
        let [encrypted, nonce, ciphertext] = parts.as_slice() else {
            return Err(unreadable());
        };
        let key = self.data_key(encrypted).await?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| unreadable())?;
        let mut buffer = ciphertext.clone();
        let plain = aead_key(&key)?
            .open_in_place(nonce, Aad::empty(), &mut buffer)
            .map_err(|_| StoreError::new("a stored webhook secret failed its integrity check"))?;
        String::from_utf8(plain.to_vec()).map_err(|_| unreadable())
    }
}

/// Creates an HMAC key for cursors (caliper-local against an emulator, and tests); its id.
pub async fn create_cursor_key(client: &Client) -> Result<String, StoreError> {
    let request = client
        .create_key()
        .key_spec(KeySpec::Hmac256)
        .key_usage(KeyUsageType::GenerateVerifyMac)
        .description("Signs the Caliper Events API's listing cursors");
    key_id(request.send().await)
}

/// Creates a symmetric key for webhook secrets (the same uses); its id.
pub async fn create_secrets_key(client: &Client) -> Result<String, StoreError> {
    let request = client
        .create_key()
        .description("Seals the Caliper Events API's webhook secrets");
    key_id(request.send().await)
}

fn key_id(
    created: Result<
        aws_sdk_kms::operation::create_key::CreateKeyOutput,
        aws_sdk_kms::error::SdkError<aws_sdk_kms::operation::create_key::CreateKeyError>,
    >,
) -> Result<String, StoreError> {
    created
        .map_err(|e| store_error("CreateKey", e))?
        .key_metadata
        .map(|m| m.key_id)
        .ok_or_else(|| StoreError::new("CreateKey returned no key"))
}

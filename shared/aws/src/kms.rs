//! Listing cursors signed by a KMS HMAC key (`GenerateMac`/`VerifyMac`, HMAC-SHA256): the key
//! never leaves KMS. `CALIPER_CURSOR_KEY_IDS` lists the keys, the first signing and every one
//! verifying, so that a new key can be put first while the old one's cursors are still read.

use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MacAlgorithmSpec};
use aws_sdk_kms::Client;
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

/// Creates an HMAC key for cursors (caliper-local against an emulator, and tests); its id.
pub async fn create_cursor_key(client: &Client) -> Result<String, StoreError> {
    let output = client
        .create_key()
        .key_spec(KeySpec::Hmac256)
        .key_usage(KeyUsageType::GenerateVerifyMac)
        .description("Signs the Caliper Events API's listing cursors")
        .send()
        .await
        .map_err(|e| store_error("CreateKey (cursor)", e))?;
    output
        .key_metadata
        .map(|m| m.key_id)
        .ok_or_else(|| StoreError::new("CreateKey returned no key"))
}

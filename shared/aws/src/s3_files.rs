//! Export files in the stack's S3 bucket (encrypted, private, expiring by its lifecycle rule):
//! written by the export function, fetched by readers through time-limited URLs.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use caliper_core::exports::FileStore;
use caliper_core::StoreError;

use crate::errors::store_error;

pub struct S3Files {
    client: Client,
    bucket: Option<String>,
    link_lifetime: Duration,
}

impl S3Files {
    /// Files in `bucket` (none: every call fails, naming its setting), their URLs good for
    /// `link_lifetime`.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        bucket: Option<String>,
        link_lifetime: Duration,
    ) -> Self {
        Self {
            client: client(sdk),
            bucket,
            link_lifetime,
        }
    }

    fn bucket(&self) -> Result<&str, StoreError> {
        self.bucket.as_deref().ok_or_else(|| {
            StoreError::new(
                "CALIPER_EXPORT_BUCKET is not set: this function cannot keep export files",
            )
        })
    }
}

/// An S3 client of the SDK's configuration: path-style addressing when an endpoint is configured
/// (an emulator on an address no bucket name can prefix).
pub(crate) fn client(sdk: &aws_config::SdkConfig) -> Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    Client::from_conf(config)
}

#[async_trait]
impl FileStore for S3Files {
    async fn put(&self, path: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(self.bucket()?)
            .key(path)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| store_error("S3 PutObject", e))?;
        Ok(())
    }

    /// Readers fetch the files from S3 itself ([`Self::link`]); the API serves none.
    async fn get(&self, _path: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }

    async fn link(&self, path: &str) -> Result<Option<String>, StoreError> {
        let config = PresigningConfig::expires_in(self.link_lifetime)
            .map_err(|e| StoreError::new("the export link's lifetime").caused_by(e))?;
        let request = self
            .client
            .get_object()
            .bucket(self.bucket()?)
            .key(path)
            .presigned(config)
            .await
            .map_err(|e| store_error("S3 GetObject presigning", e))?;
        Ok(Some(request.uri().to_owned()))
    }
}

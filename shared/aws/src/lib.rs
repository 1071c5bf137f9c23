//! DynamoDB and SQS adapters for the domain's ports, and the settings that name the resources.

mod config;
mod dynamo_events;
mod dynamo_jobs;
mod dynamo_listing;
mod dynamo_webhooks;
mod errors;
pub mod indexes;
mod kms;
mod lambda_sqs;
mod resources;
mod sqs;

pub use config::{AwsSettings, Needs, SettingError};
pub use dynamo_events::DynamoEvents;
pub use dynamo_jobs::DynamoJobs;
pub use dynamo_webhooks::DynamoWebhooks;
pub use kms::{create_cursor_key, create_secrets_key, KmsSecrets, KmsSigner};
pub use lambda_sqs::{dead_letters_sqs_event, process_sqs_event, Redelivery};
pub use resources::{create_resources, Queues};
pub use sqs::{SqsPoller, SqsQueue};

/// Loads the standard AWS configuration (region, credentials, `AWS_ENDPOINT_URL`, ...).
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::load_from_env().await
}

use std::sync::Arc;

use caliper_core::Ports;

/// Everything a Lambda needs, from its environment: the ports and the settings they came from.
/// Fails at once, naming the variable, when a setting is bad or one of `needs` is missing.
pub async fn from_env(needs: &[Needs]) -> Result<(Ports, AwsSettings), SettingError> {
    let sdk = load_sdk_config().await;
    let settings = AwsSettings::from_env()?;
    settings.require(needs)?;
    Ok((ports(&sdk, &settings, None), settings))
}

/// The DynamoDB and SQS ports named by the environment (see [`AwsSettings`]). `queue_url` overrides
/// `CALIPER_QUEUE_URL`, for callers that just created the queue.
pub fn ports(
    sdk: &aws_config::SdkConfig,
    settings: &AwsSettings,
    queue_url: Option<String>,
) -> Ports {
    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    let url = queue_url
        .or_else(|| settings.queue_url.clone())
        .unwrap_or_default();
    let events = Arc::new(DynamoEvents::new(dynamo.clone(), &settings.events_table));
    Ports {
        jobs: Arc::new(DynamoJobs::new(
            dynamo.clone(),
            &settings.jobs_table,
            settings.job_ttl_days,
        )),
        events: events.clone(),
        reader: events,
        queue: Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(sdk), url)),
        webhooks: Arc::new(DynamoWebhooks::new(dynamo, &settings.webhooks_table)),
        signer: Arc::new(KmsSigner::new(
            aws_sdk_kms::Client::new(sdk),
            settings.cursor_key_ids.clone(),
        )),
        secrets: Arc::new(KmsSecrets::new(
            aws_sdk_kms::Client::new(sdk),
            settings.secrets_key_id.clone().unwrap_or_default(),
        )),
    }
}

/// The webhook delivery queue: `url`, else `CALIPER_DELIVERY_QUEUE_URL`.
pub fn delivery_queue(
    sdk: &aws_config::SdkConfig,
    settings: &AwsSettings,
    url: Option<String>,
) -> SqsQueue {
    let url = url
        .or_else(|| settings.delivery_queue_url.clone())
        .unwrap_or_default();
    SqsQueue::new(aws_sdk_sqs::Client::new(sdk), url)
}

//! DynamoDB and SQS adapters for the domain's ports, and the settings that name the resources.

mod config;
mod dynamo_events;
mod dynamo_jobs;
mod errors;
mod resources;
mod sqs;

pub use config::AwsSettings;
pub use dynamo_events::DynamoEvents;
pub use dynamo_jobs::DynamoJobs;
pub use resources::create_resources;
pub use sqs::{SqsPoller, SqsQueue};

/// Loads the standard AWS configuration (region, credentials, `AWS_ENDPOINT_URL`, ...).
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::load_from_env().await
}

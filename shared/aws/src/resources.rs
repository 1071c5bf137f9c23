//! Creates the tables and queues when they are missing: for caliper-local against an emulator, and
//! for tests. In AWS the SAM template owns them.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_sqs::types::QueueAttributeName;
use caliper_core::StoreError;

use crate::config::AwsSettings;
use crate::errors::store_error;

/// Creates both tables and the queue with its dead-letter queue if missing; returns the queue URL.
pub async fn create_resources(
    sdk: &aws_config::SdkConfig,
    settings: &AwsSettings,
) -> Result<String, StoreError> {
    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    create_table(&dynamo, &settings.jobs_table, "jobId").await?;
    create_table(&dynamo, &settings.events_table, "externalId").await?;

    let sqs = aws_sdk_sqs::Client::new(sdk);
    let dlq_url = sqs
        .create_queue()
        .queue_name(format!("{}-dlq", settings.queue_name))
        .send()
        .await
        .map_err(|e| store_error("CreateQueue (dead letters)", e))?
        .queue_url
        .unwrap_or_default();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| store_error("GetQueueAttributes", e))?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.max_receives}).to_string();
    let url = sqs
        .create_queue()
        .queue_name(&settings.queue_name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(QueueAttributeName::VisibilityTimeout, "60")
        .send()
        .await
        .map_err(|e| store_error("CreateQueue", e))?
        .queue_url
        .unwrap_or_default();
    Ok(url)
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    hash_key: &str,
) -> Result<(), StoreError> {
    let invalid = |e: aws_sdk_dynamodb::error::BuildError| StoreError::new(e.to_string());
    let result = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(hash_key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(invalid)?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(hash_key)
                .key_type(KeyType::Hash)
                .build()
                .map_err(invalid)?,
        )
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(store_error(&format!("CreateTable {name}"), e)),
    }
}

//! Creates the tables and queues when they are missing: for caliper-local against an emulator, and
//! for tests. In AWS the SAM template owns them.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use aws_sdk_sqs::types::QueueAttributeName;
use caliper_core::StoreError;

use crate::config::AwsSettings;
use crate::errors::store_error;
use crate::indexes::{gsi, Gsi, KEPT_FIELDS, POSITION, TABLE_INDEXES};

/// The queues' URLs and the cursor key, as created.
#[derive(Debug, Clone)]
pub struct Queues {
    pub queue_url: String,
    pub delivery_queue_url: String,
    /// Where the dead-letters function keeps the messages whose jobs it failed.
    pub replay_queue_url: String,
    /// A new KMS HMAC key when the settings name none, else the first they name.
    pub cursor_key_id: String,
    /// A new KMS key for webhook secrets when the settings name none, else theirs.
    pub secrets_key_id: String,
    pub export_queue_url: String,
    pub erasure_queue_url: String,
    /// The settings' export bucket, else `<queue name>-exports`.
    pub export_bucket: String,
}

/// Creates the tables, and both queues with their dead-letter queues, where missing, and a cursor
/// key unless the settings name one.
pub async fn create_resources(
    sdk: &aws_config::SdkConfig,
    settings: &AwsSettings,
) -> Result<Queues, StoreError> {
    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    create_table(&dynamo, &settings.jobs_table, "jobId", None, &[]).await?;
    let indexes: Vec<Gsi> = TABLE_INDEXES.into_iter().filter_map(gsi).collect();
    create_table(
        &dynamo,
        &settings.events_table,
        crate::event_item::EXTERNAL_ID,
        Some(crate::event_item::CLIENT_APP_ID),
        &indexes,
    )
    .await?;
    // Events past their retention are deleted by DynamoDB (as the template sets it).
    let ttl = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
        .attribute_name(crate::event_item::EXPIRES_AT)
        .enabled(true)
        .build()
        .map_err(|e| StoreError::new(e.to_string()))?;
    let set = dynamo
        .update_time_to_live()
        .table_name(&settings.events_table)
        .time_to_live_specification(ttl)
        .send()
        .await;
    if let Err(e) = set {
        // Set before (an existing table): nothing to change.
        let message =
            aws_sdk_dynamodb::error::ProvideErrorMetadata::message(&e).unwrap_or_default();
        if !message.contains("already enabled") {
            return Err(store_error("UpdateTimeToLive (events)", e));
        }
    }
    create_table(
        &dynamo,
        &settings.webhooks_table,
        crate::dynamo_records::KIND,
        Some(crate::dynamo_records::ID),
        &[],
    )
    .await?;

    let cursor_key_id = match settings.cursor_key_ids.first() {
        Some(key) => key.clone(),
        None => crate::kms::create_cursor_key(&aws_sdk_kms::Client::new(sdk)).await?,
    };
    let secrets_key_id = match &settings.secrets_key_id {
        Some(key) => key.clone(),
        None => crate::kms::create_secrets_key(&aws_sdk_kms::Client::new(sdk)).await?,
    };
    let export_bucket = settings
        .export_bucket
        .clone()
        .unwrap_or_else(|| format!("{}-exports", settings.queue_name).to_lowercase());
    create_bucket(sdk, &export_bucket).await?;
    let sqs = aws_sdk_sqs::Client::new(sdk);
    Ok(Queues {
        export_queue_url: create_queue(
            &sqs,
            &format!("{}-exports", settings.queue_name),
            settings.max_receives,
        )
        .await?,
        export_bucket,
        erasure_queue_url: create_queue(
            &sqs,
            &format!("{}-erasures", settings.queue_name),
            settings.max_receives,
        )
        .await?,
        cursor_key_id,
        secrets_key_id,
        queue_url: create_queue(&sqs, &settings.queue_name, settings.max_receives).await?,
        replay_queue_url: sqs
            .create_queue()
            .queue_name(format!("{}-replay", settings.queue_name))
            .send()
            .await
            .map_err(|e| store_error("CreateQueue (replay)", e))?
            .queue_url
            .unwrap_or_default(),
        delivery_queue_url: create_queue(
            &sqs,
            &settings.delivery_queue_name,
            settings.delivery_attempts,
        )
        .await?,
    })
}

/// Creates the bucket `name` unless this account has it already.
async fn create_bucket(sdk: &aws_config::SdkConfig, name: &str) -> Result<(), StoreError> {
    let s3 = crate::s3_files::client(sdk);
    match s3.create_bucket().bucket(name).send().await {
        Ok(_) => Ok(()),
        Err(error)
            if aws_sdk_s3::error::ProvideErrorMetadata::code(&error)
                == Some("BucketAlreadyOwnedByYou") =>
        {
            Ok(())
        }
        Err(error) => Err(store_error("S3 CreateBucket", error)),
    }
}

/// Creates (or finds) the queue `name`, which moves a message to `<name>-dlq` after
/// `max_receives` receives; its URL. Every queue of the stack is made this way.
pub async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    max_receives: u32,
) -> Result<String, StoreError> {
    let dlq_url = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
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
    let redrive =
        serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives})
            .to_string();
    let url = sqs
        .create_queue()
        .queue_name(name)
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
    range_key: Option<&str>,
    indexes: &[Gsi],
) -> Result<(), StoreError> {
    let invalid = |e: aws_sdk_dynamodb::error::BuildError| StoreError::new(e.to_string());
    let string = |attribute: &str| {
        AttributeDefinition::builder()
            .attribute_name(attribute)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(invalid)
    };
    let key = |attribute: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(attribute)
            .key_type(key_type)
            .build()
            .map_err(invalid)
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string(hash_key)?)
        .key_schema(key(hash_key, KeyType::Hash)?);
    if let Some(range_key) = range_key {
        request = request
            .attribute_definitions(string(range_key)?)
            .key_schema(key(range_key, KeyType::Range)?);
    }
    if !indexes.is_empty() {
        request = request.attribute_definitions(string(POSITION)?);
    }
    for index in indexes {
        let projection = if index.keeps_fields {
            Projection::builder()
                .projection_type(ProjectionType::Include)
                .set_non_key_attributes(Some(KEPT_FIELDS.map(str::to_owned).to_vec()))
                .build()
        } else {
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build()
        };
        request = request
            .attribute_definitions(string(index.key)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index.name)
                    .key_schema(key(index.key, KeyType::Hash)?)
                    .key_schema(key(POSITION, KeyType::Range)?)
                    .projection(projection)
                    .build()
                    .map_err(invalid)?,
            );
    }
    match request.send().await {
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

//! DynamoDB, SQS, S3 and KMS adapters for the domain's ports, and the settings that name the resources.

mod config;
mod dynamo_emails;
mod dynamo_events;
mod dynamo_jobs;
mod dynamo_listing;
mod dynamo_quarantine;
mod dynamo_records;
mod dynamo_upgrade;
mod errors;
pub mod event_item;
pub mod indexes;
mod kms;
mod lambda_sqs;
mod resources;
mod s3_files;
mod sqs;

pub use config::{AwsSettings, Needs, SettingError};
pub use dynamo_events::DynamoEvents;
pub use dynamo_jobs::DynamoJobs;
pub use dynamo_quarantine::DynamoQuarantine;
pub use dynamo_records::DynamoRecords;
pub use dynamo_upgrade::Upgraded;
pub use kms::{create_cursor_key, create_secrets_key, KmsSecrets, KmsSigner};
pub use lambda_sqs::{dead_letters_sqs_event, process_sqs_event, Redelivery};
pub use resources::{create_queue, create_resources, Queues};
pub use s3_files::S3Files;
pub use sqs::{SqsPoller, SqsQueue};

/// Loads the standard AWS configuration (region, credentials, `AWS_ENDPOINT_URL`, ...).
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::load_from_env().await
}

use std::sync::Arc;

use caliper_core::Ports;

/// What a function works with in AWS: the SDK's configuration, the settings, and the ports
/// they name.
pub struct Aws {
    pub sdk: aws_config::SdkConfig,
    pub settings: AwsSettings,
    pub ports: Ports,
}

impl Aws {
    /// The queue a trigger's records come from (`Needs::Queue` or `Needs::DeliveryQueue`), for
    /// hiding a failed message for its retry delay.
    pub fn redelivery(&self, queue: Needs) -> Result<Redelivery, SettingError> {
        Ok(Redelivery {
            client: aws_sdk_sqs::Client::new(&self.sdk),
            queue_url: self.settings.url(queue)?.to_owned(),
        })
    }

    /// The ports with the stack's export bucket as their file store (the export functions).
    pub fn with_export_files(mut self) -> Self {
        self.ports.files = Arc::new(S3Files::new(
            &self.sdk,
            self.settings.export_bucket.clone(),
            std::time::Duration::from_secs(self.settings.export_link_minutes * 60),
        ));
        self
    }

    /// The replay queue, where the dead-letters function keeps what it failed the jobs of.
    pub fn replay_queue(&self) -> Result<SqsQueue, SettingError> {
        let url = self.settings.url(Needs::ReplayQueue)?.to_owned();
        let client = aws_sdk_sqs::Client::new(&self.sdk);
        Ok(SqsQueue::new(client, Some(url), "CALIPER_REPLAY_QUEUE_URL"))
    }
}

/// Everything a Lambda needs, from its environment. Fails at once, naming the variable, when a
/// setting is bad or one of `needs` is missing.
pub async fn from_env(needs: &[Needs]) -> Result<Aws, SettingError> {
    let settings = AwsSettings::from_env()?;
    settings.require(needs)?;
    let sdk = load_sdk_config().await;
    let ports = ports(&sdk, &settings).retained(settings.retention_days);
    Ok(Aws {
        sdk,
        settings,
        ports,
    })
}

/// The DynamoDB, SQS and KMS ports the settings name. A port whose setting is not given answers
/// every call with an error naming it (functions that need it check at start-up with
/// [`AwsSettings::require`]).
pub fn ports(sdk: &aws_config::SdkConfig, settings: &AwsSettings) -> Ports {
    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let queue = |url: &Option<String>, setting: &'static str| -> Arc<SqsQueue> {
        Arc::new(SqsQueue::new(sqs.clone(), url.clone(), setting))
    };
    let events = Arc::new(
        DynamoEvents::new(dynamo.clone(), &settings.events_table)
            .with_shards(settings.index_shards),
    );
    let records: Arc<dyn caliper_core::RecordStore> =
        Arc::new(DynamoRecords::new(dynamo.clone(), &settings.webhooks_table));
    Ports {
        jobs: Arc::new(DynamoJobs::new(
            dynamo.clone(),
            &settings.jobs_table,
            settings.job_ttl_days,
        )),
        events: events.clone(),
        reader: events.clone(),
        stored: events,
        queue: queue(&settings.queue_url, "CALIPER_QUEUE_URL"),
        deliveries: queue(&settings.delivery_queue_url, "CALIPER_DELIVERY_QUEUE_URL"),
        export_steps: queue(&settings.export_queue_url, "CALIPER_EXPORT_QUEUE_URL"),
        erasure_steps: queue(&settings.erasure_queue_url, "CALIPER_ERASURE_QUEUE_URL"),
        // Only the export functions keep files ([`Aws::with_export_files`]): the S3 client is
        // linked into them alone.
        files: Arc::new(caliper_core::exports::NoFiles),
        retention: caliper_core::retention::Retention::new(records.clone(), None),
        records,
        quarantine: Arc::new(DynamoQuarantine::new(dynamo, &settings.webhooks_table)),
        signer: Arc::new(KmsSigner::new(
            aws_sdk_kms::Client::new(sdk),
            settings.cursor_key_ids.clone(),
        )),
        secrets: Arc::new(KmsSecrets::new(
            aws_sdk_kms::Client::new(sdk),
            settings.secrets_key_id.clone(),
        )),
    }
}

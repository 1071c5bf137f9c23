/// Names of the AWS resources, from the environment (the SAM template sets them on every function).
#[derive(Debug, Clone)]
pub struct AwsSettings {
    /// `CALIPER_JOBS_TABLE`, default `caliper-jobs`.
    pub jobs_table: String,
    /// `CALIPER_EVENTS_TABLE`, default `caliper-events`.
    pub events_table: String,
    /// `CALIPER_QUEUE_URL`; when unset, the queue is found by `CALIPER_QUEUE_NAME` (default `caliper-events`).
    pub queue_url: Option<String>,
    pub queue_name: String,
    /// `CALIPER_MAX_RECEIVES`, default 5: must equal the queue's redrive `maxReceiveCount`.
    pub max_receives: u32,
    /// `CALIPER_JOB_TTL_DAYS`, default 30: how long job records are kept.
    pub job_ttl_days: i64,
    /// `CALIPER_INDEX_SHARDS`, default 8: write partitions per listing key, so that one key takes
    /// this many times DynamoDB's 1,000 writes/s of a partition. Only ever raised on a table:
    /// entries written in a shard above a lowered count would drop out of listings.
    pub index_shards: u64,
    /// `CALIPER_WEBHOOKS_TABLE`, default `caliper-webhooks`.
    pub webhooks_table: String,
    /// `CALIPER_DELIVERY_QUEUE_URL`; when unset, found by `CALIPER_DELIVERY_QUEUE_NAME` (default
    /// `caliper-deliveries`).
    pub delivery_queue_url: Option<String>,
    pub delivery_queue_name: String,
    /// `CALIPER_CURSOR_KEY_IDS`: the KMS HMAC keys of listing cursors, comma-separated; the first
    /// signs, every one verifies.
    pub cursor_key_ids: Vec<String>,
    /// `CALIPER_SECRETS_KEY_ID`: the KMS key that seals webhook secrets.
    pub secrets_key_id: Option<String>,
    /// `CALIPER_REPLAY_QUEUE_URL`: where the dead-letters function keeps the job messages it
    /// failed the jobs of, for replay.
    pub replay_queue_url: Option<String>,
    /// `CALIPER_DELIVERY_ATTEMPTS`, default 8: attempts of one webhook delivery before it goes to the
    /// dead letters; must equal the delivery queue's redrive `maxReceiveCount`.
    pub delivery_attempts: u32,
    /// `CALIPER_WEBHOOK_ALLOW_PRIVATE`, default `false`: whether webhooks may target plain http
    /// and private addresses (a function in a VPC delivering to internal services, or an
    /// emulator). Off, only public https targets are accepted.
    pub allow_private_webhooks: bool,
    /// `CALIPER_CANVAS_QUEUE_URL`: the queue Canvas writes its live events to (canvas-queue).
    pub canvas_queue_url: Option<String>,
    /// `CALIPER_CANVAS_CLIENT_APP_ID`: the client those events are taken as (canvas-queue).
    pub canvas_client_app_id: Option<String>,
    /// `CALIPER_EXPORT_QUEUE_URL`: the export steps' queue.
    pub export_queue_url: Option<String>,
    /// `CALIPER_RETENTION_DAYS`: how long events are kept (by `eventTime`) for a client that sets
    /// no `retentionDays`; unset or 0: for ever.
    pub retention_days: Option<u32>,
    /// `CALIPER_ERASURE_QUEUE_URL`: the erasure steps' queue.
    pub erasure_queue_url: Option<String>,
    /// `CALIPER_EXPORT_BUCKET`: the S3 bucket that keeps export files.
    pub export_bucket: Option<String>,
    /// `CALIPER_EXPORT_LINK_MINUTES`, default 60: how long an export file's URL works.
    pub export_link_minutes: u64,
}

pub use caliper_core::settings::SettingError;
use caliper_core::settings::Vars;

/// A resource a function cannot start without; the template sets each on the functions that
/// use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Queue,
    DeliveryQueue,
    ReplayQueue,
    CursorKeys,
    SecretsKey,
    /// Canvas's queue, and the client its events are taken as.
    CanvasQueue,
    /// The export steps' queue.
    ExportQueue,
    /// The bucket of export files.
    ExportBucket,
    /// The erasure steps' queue.
    ErasureQueue,
}

impl AwsSettings {
    /// Reads the settings; a number that does not parse is an error that names its variable.
    pub fn from_env() -> Result<Self, SettingError> {
        Self::from_vars(&Vars::new(|name| std::env::var(name).ok()))
    }

    pub fn from_vars(vars: &Vars) -> Result<Self, SettingError> {
        let text = |name: &str, default: &str| vars.text(name).unwrap_or_else(|| default.into());
        Ok(Self {
            jobs_table: text("CALIPER_JOBS_TABLE", "caliper-jobs"),
            events_table: text("CALIPER_EVENTS_TABLE", "caliper-events"),
            queue_url: vars.text("CALIPER_QUEUE_URL"),
            queue_name: text("CALIPER_QUEUE_NAME", "caliper-events"),
            // SQS's maxReceiveCount is from 1 to 1000.
            max_receives: vars.number("CALIPER_MAX_RECEIVES", 5, 1, 1000)?,
            job_ttl_days: vars.number("CALIPER_JOB_TTL_DAYS", 30, 1, 36_500)?,
            index_shards: vars.number("CALIPER_INDEX_SHARDS", 8, 1, crate::indexes::MAX_SHARDS)?,
            webhooks_table: text("CALIPER_WEBHOOKS_TABLE", "caliper-webhooks"),
            delivery_queue_url: vars.text("CALIPER_DELIVERY_QUEUE_URL"),
            delivery_queue_name: text("CALIPER_DELIVERY_QUEUE_NAME", "caliper-deliveries"),
            cursor_key_ids: vars
                .text("CALIPER_CURSOR_KEY_IDS")
                .map(|v| {
                    v.split(',')
                        .map(|k| k.trim().to_owned())
                        .filter(|k| !k.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            secrets_key_id: vars.text("CALIPER_SECRETS_KEY_ID"),
            replay_queue_url: vars.text("CALIPER_REPLAY_QUEUE_URL"),
            delivery_attempts: vars.number("CALIPER_DELIVERY_ATTEMPTS", 8, 1, 1000)?,
            allow_private_webhooks: vars.flag("CALIPER_WEBHOOK_ALLOW_PRIVATE", false)?,
            canvas_queue_url: vars.text("CALIPER_CANVAS_QUEUE_URL"),
            canvas_client_app_id: vars.text("CALIPER_CANVAS_CLIENT_APP_ID"),
            export_queue_url: vars.text("CALIPER_EXPORT_QUEUE_URL"),
            export_bucket: vars.text("CALIPER_EXPORT_BUCKET"),
            erasure_queue_url: vars.text("CALIPER_ERASURE_QUEUE_URL"),
            // 0 (the template's default): for ever.
            retention_days: Some(vars.number("CALIPER_RETENTION_DAYS", 0, 0, 36_500)?)
                .filter(|days| *days > 0),
            // A presigned URL works at most a week.
            export_link_minutes: vars.number("CALIPER_EXPORT_LINK_MINUTES", 60, 1, 7 * 24 * 60)?,
        })
    }

    /// The URL of a queue the function needs (`Queue`, `DeliveryQueue` or `ReplayQueue`), or
    /// the error [`Self::require`] gives.
    pub fn url(&self, need: Needs) -> Result<&str, SettingError> {
        self.require(&[need])?;
        let url = match need {
            Needs::Queue => &self.queue_url,
            Needs::DeliveryQueue => &self.delivery_queue_url,
            Needs::ReplayQueue => &self.replay_queue_url,
            Needs::CanvasQueue => &self.canvas_queue_url,
            Needs::ExportQueue => &self.export_queue_url,
            Needs::ErasureQueue => &self.erasure_queue_url,
            Needs::CursorKeys | Needs::SecretsKey | Needs::ExportBucket => &None,
        };
        url.as_deref()
            .ok_or_else(|| SettingError(format!("{need:?} has no URL")))
    }

    /// Fails, naming the variable, when one of `needs` is not set.
    pub fn require(&self, needs: &[Needs]) -> Result<(), SettingError> {
        for need in needs {
            let (set, name, what) = match need {
                Needs::Queue => (
                    self.queue_url.is_some(),
                    "CALIPER_QUEUE_URL",
                    "the job queue's URL",
                ),
                Needs::DeliveryQueue => (
                    self.delivery_queue_url.is_some(),
                    "CALIPER_DELIVERY_QUEUE_URL",
                    "the webhook delivery queue's URL",
                ),
                Needs::ReplayQueue => (
                    self.replay_queue_url.is_some(),
                    "CALIPER_REPLAY_QUEUE_URL",
                    "the replay queue's URL",
                ),
                Needs::CursorKeys => (
                    !self.cursor_key_ids.is_empty(),
                    "CALIPER_CURSOR_KEY_IDS",
                    "the KMS keys that sign listing cursors",
                ),
                Needs::SecretsKey => (
                    self.secrets_key_id.is_some(),
                    "CALIPER_SECRETS_KEY_ID",
                    "the KMS key that seals webhook secrets",
                ),
                Needs::CanvasQueue if self.canvas_queue_url.is_none() => (
                    false,
                    "CALIPER_CANVAS_QUEUE_URL",
                    "the URL of the queue Canvas writes to",
                ),
                Needs::ExportQueue => (
                    self.export_queue_url.is_some(),
                    "CALIPER_EXPORT_QUEUE_URL",
                    "the export steps' queue's URL",
                ),
                Needs::ErasureQueue => (
                    self.erasure_queue_url.is_some(),
                    "CALIPER_ERASURE_QUEUE_URL",
                    "the erasure steps' queue's URL",
                ),
                Needs::ExportBucket => (
                    self.export_bucket.is_some(),
                    "CALIPER_EXPORT_BUCKET",
                    "the S3 bucket of export files",
                ),
                Needs::CanvasQueue => (
                    self.canvas_client_app_id.is_some(),
                    "CALIPER_CANVAS_CLIENT_APP_ID",
                    "the client Canvas's queued events are taken as",
                ),
            };
            if !set {
                return Err(SettingError(format!(
                    "{name} is not set: this function needs {what} (the SAM template sets it; functions/README.md, Settings)"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<AwsSettings, SettingError> {
        AwsSettings::from_vars(&Vars::from_pairs(vars))
    }

    #[test]
    fn a_bad_or_missing_setting_is_named() {
        let error = settings(&[("CALIPER_MAX_RECEIVES", "five")]).err();
        assert!(error.is_some_and(|e| e.0.starts_with("CALIPER_MAX_RECEIVES is \"five\"")));
        let defaults = settings(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((defaults.max_receives, defaults.delivery_attempts), (5, 8));
        let missing = defaults.require(&[Needs::Queue]).err();
        assert!(missing.is_some_and(|e| e.0.starts_with("CALIPER_QUEUE_URL is not set")));
        let given =
            settings(&[("CALIPER_QUEUE_URL", "http://q")]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(given.require(&[Needs::Queue]), Ok(()));
    }
}

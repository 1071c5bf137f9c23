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
}

impl AwsSettings {
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            jobs_table: var("CALIPER_JOBS_TABLE").unwrap_or_else(|| "caliper-jobs".into()),
            events_table: var("CALIPER_EVENTS_TABLE").unwrap_or_else(|| "caliper-events".into()),
            queue_url: var("CALIPER_QUEUE_URL"),
            queue_name: var("CALIPER_QUEUE_NAME").unwrap_or_else(|| "caliper-events".into()),
            max_receives: var("CALIPER_MAX_RECEIVES")
                .and_then(|v| v.parse().ok())
                .unwrap_or(5),
            job_ttl_days: var("CALIPER_JOB_TTL_DAYS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(30),
            webhooks_table: var("CALIPER_WEBHOOKS_TABLE")
                .unwrap_or_else(|| "caliper-webhooks".into()),
            delivery_queue_url: var("CALIPER_DELIVERY_QUEUE_URL"),
            delivery_queue_name: var("CALIPER_DELIVERY_QUEUE_NAME")
                .unwrap_or_else(|| "caliper-deliveries".into()),
            cursor_key_ids: var("CALIPER_CURSOR_KEY_IDS")
                .map(|v| {
                    v.split(',')
                        .map(|k| k.trim().to_owned())
                        .filter(|k| !k.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            secrets_key_id: var("CALIPER_SECRETS_KEY_ID"),
            replay_queue_url: var("CALIPER_REPLAY_QUEUE_URL"),
            delivery_attempts: var("CALIPER_DELIVERY_ATTEMPTS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(8),
        }
    }
}

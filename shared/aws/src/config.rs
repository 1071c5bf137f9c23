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
    /// `CALIPER_WEBHOOK_ALLOW_PRIVATE`, default `false`: whether webhooks may target plain http
    /// and private addresses (a function in a VPC delivering to internal services, or an
    /// emulator). Off, only public https targets are accepted.
    pub allow_private_webhooks: bool,
}

/// A setting that is missing or unusable, named so that the operator can fix it.
#[derive(Clone, PartialEq, Eq)]
pub struct SettingError(pub String);

/// A `main` that fails with it prints it with `Debug`: the message as it is, for the log.
impl std::fmt::Debug for SettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for SettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SettingError {}

/// A resource a function cannot start without; the template sets each on the functions that
/// use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Queue,
    DeliveryQueue,
    ReplayQueue,
    CursorKeys,
    SecretsKey,
}

impl AwsSettings {
    /// Reads the settings; a number that does not parse is an error that names its variable.
    pub fn from_env() -> Result<Self, SettingError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    pub fn from_vars(read: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let var = |name: &str| read(name).filter(|v| !v.trim().is_empty());
        let number = |name: &str, default: u32| -> Result<u32, SettingError> {
            match var(name) {
                None => Ok(default),
                Some(v) => v.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    SettingError(format!(
                        "{name} is {v:?}: it must be a whole number above 0"
                    ))
                }),
            }
        };
        Ok(Self {
            jobs_table: var("CALIPER_JOBS_TABLE").unwrap_or_else(|| "caliper-jobs".into()),
            events_table: var("CALIPER_EVENTS_TABLE").unwrap_or_else(|| "caliper-events".into()),
            queue_url: var("CALIPER_QUEUE_URL"),
            queue_name: var("CALIPER_QUEUE_NAME").unwrap_or_else(|| "caliper-events".into()),
            max_receives: number("CALIPER_MAX_RECEIVES", 5)?,
            job_ttl_days: i64::from(number("CALIPER_JOB_TTL_DAYS", 30)?),
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
            delivery_attempts: number("CALIPER_DELIVERY_ATTEMPTS", 8)?,
            allow_private_webhooks: match var("CALIPER_WEBHOOK_ALLOW_PRIVATE")
                .as_deref()
                .map(str::trim)
            {
                None | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(SettingError(format!(
                        "CALIPER_WEBHOOK_ALLOW_PRIVATE is {other:?}: it must be true or false"
                    )))
                }
            },
        })
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
            };
            if !set {
                return Err(SettingError(format!(
                    "{name} is not set: this function needs {what} (the SAM template sets it; README, Configuration)"
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
        AwsSettings::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
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

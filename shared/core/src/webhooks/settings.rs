//! How deliveries are timed: the same settings in Lambda and caliper-local.

use std::time::Duration;

use crate::retry::Backoff;
use crate::settings::{SettingError, Vars};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverySettings {
    pub backoff: Backoff,
    /// Bounds one POST: connecting, sending and reading the answer.
    pub timeout: Duration,
}

impl DeliverySettings {
    pub const DEFAULT_RETRY_MS: u64 = 30_000;
    pub const DEFAULT_RETRY_MAX_MS: u64 = 3_600_000;
    pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

    pub fn from_millis(retry: u64, retry_max: u64, timeout: u64) -> Self {
        let retry = retry.max(1);
        Self {
            backoff: Backoff {
                base: Duration::from_millis(retry),
                max: Duration::from_millis(retry_max.max(retry)),
            },
            timeout: Duration::from_millis(timeout.max(1)),
        }
    }

    /// `CALIPER_WEBHOOK_RETRY_MS` (first retry's delay, doubled each time), `CALIPER_WEBHOOK_RETRY_MAX_MS`
    /// (its cap) and `CALIPER_WEBHOOK_TIMEOUT_MS` (per POST).
    pub fn from_vars(vars: &Vars) -> Result<Self, SettingError> {
        // SQS hides a message for at most 12 hours.
        const MOST: u64 = 12 * 3_600_000;
        Ok(Self::from_millis(
            vars.number("CALIPER_WEBHOOK_RETRY_MS", Self::DEFAULT_RETRY_MS, 1, MOST)?,
            vars.number(
                "CALIPER_WEBHOOK_RETRY_MAX_MS",
                Self::DEFAULT_RETRY_MAX_MS,
                1,
                MOST,
            )?,
            vars.number(
                "CALIPER_WEBHOOK_TIMEOUT_MS",
                Self::DEFAULT_TIMEOUT_MS,
                1,
                900_000,
            )?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_never_below_the_first_delay_and_nothing_is_zero() {
        let settings = DeliverySettings::from_millis(5_000, 1_000, 0);
        assert_eq!(settings.backoff.base, Duration::from_secs(5));
        assert_eq!(settings.backoff.max, Duration::from_secs(5));
        assert_eq!(settings.timeout, Duration::from_millis(1));
        let smallest = DeliverySettings::from_millis(0, 0, 1).backoff;
        assert_eq!(
            (smallest.base, smallest.max),
            (Duration::from_millis(1), Duration::from_millis(1))
        );
    }

    #[test]
    fn a_bad_value_is_named() {
        let vars = Vars::from_pairs(&[("CALIPER_WEBHOOK_TIMEOUT_MS", "10s")]);
        let error = DeliverySettings::from_vars(&vars).err();
        assert!(error.is_some_and(|e| e.0.starts_with("CALIPER_WEBHOOK_TIMEOUT_MS is \"10s\"")));
        let defaults = DeliverySettings::from_vars(&Vars::from_pairs(&[]));
        assert_eq!(defaults.map(|d| d.timeout), Ok(Duration::from_secs(10)));
    }
}

//! How deliveries are timed, from the environment: the same variables in Lambda and caliper-local.

use std::time::Duration;

use super::delivery::Backoff;

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
    pub fn from_env() -> Self {
        let millis = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        };
        Self::from_millis(
            millis("CALIPER_WEBHOOK_RETRY_MS", Self::DEFAULT_RETRY_MS),
            millis("CALIPER_WEBHOOK_RETRY_MAX_MS", Self::DEFAULT_RETRY_MAX_MS),
            millis("CALIPER_WEBHOOK_TIMEOUT_MS", Self::DEFAULT_TIMEOUT_MS),
        )
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
}

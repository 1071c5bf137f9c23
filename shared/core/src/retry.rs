//! When a queue tries a failed message again: the one retry policy of both queues (job parts and
//! webhook deliveries), whichever adapter runs them (the SQS trigger, the SQS poller, the
//! embedded queue). Each consumer says its delay (`Consumer::retry_delay`); the queue applies it.

use std::time::Duration;

/// When to try a failed message again: exponential from `base`, capped at `max`, with full
/// jitter (a random delay between half and all of it) so that retries of one outage spread out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The delay after the `attempt`-th failed attempt (from 1).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let full = self.base.saturating_mul(1 << exponent).min(self.max);
        full.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

impl Backoff {
    /// Job parts: a failed part is a storage hiccup (throttling, a timeout), worth a quick retry;
    /// the cap keeps the last of the queue's few attempts within a minute.
    pub const JOB_PARTS: Backoff = Backoff {
        base: Duration::from_millis(500),
        max: Duration::from_secs(30),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_within_their_jitter_up_to_the_cap() {
        let backoff = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(5),
        };
        for (attempt, full) in [(1, 1), (2, 2), (3, 4), (4, 5), (40, 5)] {
            let delay = backoff.delay(attempt);
            let full = Duration::from_secs(full);
            assert!(delay >= full / 2 && delay <= full, "{attempt}: {delay:?}");
        }
    }
}

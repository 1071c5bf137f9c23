//! Failed authentications, counted per key (an address; a client id or connector from an
//! address): a key may fail `per_minute` times at once, then once every `60 s / per_minute` (a
//! token bucket). While a key may not, a failure is answered 429 with `Retry-After`.
//!
//! What a throttled attempt gets depends on what it presents, and is the caller's decision: a
//! credential no one can guess (an API key, a signature, a long client secret) is still checked,
//! so that others' failures never refuse it; a guessable one is refused unchecked, so that
//! guessing it costs minutes, not milliseconds.
//!
//! Keys are kept as a 16-byte digest of what names them, never the name itself: a key's memory is
//! the same however long the client id it was made from (a Basic header can carry hundreds of
//! KB). Keys at rest (their failures all regained) are dropped by [`Throttle::sweep`], which the
//! server runs every minute, and when the table is full.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Keys tracked at most; past it, keys at rest are forgotten (and all, if none is at rest).
const MAX_KEYS: usize = 100_000;

pub struct Throttle {
    /// Failures a key may have at once; 0: no throttling.
    burst: f64,
    /// Failures regained per second.
    rate: f64,
    keys: Mutex<HashMap<Digest, Bucket>>,
    /// Failed authentications, and attempts refused unchecked, since the last sweep: what the minute's log line reports (a line per attempt would be the attacker's to
    /// write).
    failed_lately: AtomicU64,
    refused_lately: AtomicU64,
}

/// What a key is kept as.
type Digest = [u8; 16];

fn digest(key: &str) -> Digest {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(key.as_bytes());
    let mut digest = [0u8; 16];
    digest.copy_from_slice(&hash[..16]);
    digest
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Throttle {
    pub fn new(per_minute: u32) -> Self {
        Self {
            burst: f64::from(per_minute),
            rate: f64::from(per_minute) / 60.0,
            keys: Mutex::new(HashMap::new()),
            failed_lately: AtomicU64::new(0),
            refused_lately: AtomicU64::new(0),
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let regained = now.saturating_duration_since(bucket.at).as_secs_f64() * self.rate;
        (bucket.tokens + regained).min(self.burst)
    }

    /// How long until every one of `keys` may fail again; none: now.
    pub fn wait(&self, keys: &[&str]) -> Option<Duration> {
        if self.burst == 0.0 {
            return None;
        }
        let now = Instant::now();
        let map = self.keys.lock().ok()?;
        let short = keys
            .iter()
            .filter_map(|key| map.get(&digest(key)))
            .map(|bucket| 1.0 - self.refilled(*bucket, now))
            .fold(0.0_f64, f64::max);
        (short > 0.0).then(|| Duration::from_secs_f64(short / self.rate))
    }

    /// Counts an attempt refused unchecked, for the minute's report.
    pub fn refused_unchecked(&self) {
        self.refused_lately.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a failed attempt against each of `keys`.
    pub fn failed(&self, keys: &[&str]) {
        self.failed_lately.fetch_add(1, Ordering::Relaxed);
        if self.burst == 0.0 {
            return;
        }
        let now = Instant::now();
        let Ok(mut map) = self.keys.lock() else {
            return;
        };
        if map.len() >= MAX_KEYS {
            map.retain(|_, bucket| self.refilled(*bucket, now) < self.burst);
            if map.len() >= MAX_KEYS {
                tracing::warn!("too many keys failing authentication; forgetting them");
                map.clear();
            }
        }
        for key in keys {
            let fresh = Bucket {
                tokens: self.burst,
                at: now,
            };
            let bucket = map.entry(digest(key)).or_insert(fresh);
            *bucket = Bucket {
                tokens: (self.refilled(*bucket, now) - 1.0).max(0.0),
                at: now,
            };
        }
    }
}

impl Throttle {
    /// Drops the keys at rest (every failure regained): they hold nothing a fresh key would not.
    /// Logs what failed and what was refused unchecked since the last sweep, if anything: one
    /// line a sweep, however many attempts.
    pub fn sweep(&self) {
        let now = Instant::now();
        let slowed = match self.keys.lock() {
            Ok(mut map) => {
                map.retain(|_, bucket| self.refilled(*bucket, now) < self.burst);
                map.len()
            }
            Err(_) => 0,
        };
        let failed = self.failed_lately.swap(0, Ordering::Relaxed);
        let refused = self.refused_lately.swap(0, Ordering::Relaxed);
        if failed > 0 || refused > 0 {
            tracing::warn!(
                failed,
                refused_unchecked = refused,
                keys_slowed = slowed,
                "failed authentications since the last report"
            );
        }
    }

    /// Keys tracked now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.keys.lock().map_or(0, |map| map.len())
    }
}

/// A short digest of a client id or key id, for logs: names the same caller across lines without
/// writing what the caller sent (an id may be a mistyped secret, or hundreds of KB).
pub fn log_digest(id: &str) -> String {
    digest(id)[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// Whole seconds to put in `Retry-After`, at least 1.
pub fn retry_after(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_key_may_fail_its_burst_then_waits_and_others_are_untouched() {
        let throttle = Throttle::new(6);
        for _ in 0..6 {
            assert_eq!(throttle.wait(&["client:a"]), None);
            throttle.failed(&["client:a", "addr:1"]);
        }
        let wait = throttle.wait(&["client:a"]).expect("throttled");
        assert!(
            wait <= Duration::from_secs(10) && wait > Duration::from_secs(9),
            "{wait:?}"
        );
        assert!(throttle.wait(&["client:b"]).is_none(), "another client");
        assert!(
            throttle.wait(&["client:b", "addr:1"]).is_some(),
            "the same address"
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(throttle.wait(&["client:a"]), None, "one attempt regained");
        throttle.failed(&["client:a"]);
        assert!(throttle.wait(&["client:a"]).is_some());
        assert_eq!(retry_after(Duration::from_millis(1)), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn keys_are_digests_and_keys_at_rest_are_swept() {
        let throttle = Throttle::new(6);
        let huge = "client:".to_owned() + &"x".repeat(300_000);
        throttle.failed(&[&huge, "addr:1"]);
        assert!(throttle.wait(&[&huge]).is_none(), "one failure of six");
        assert_eq!(throttle.len(), 2);
        throttle.sweep();
        assert_eq!(throttle.len(), 2, "not at rest yet");
        tokio::time::advance(Duration::from_secs(10)).await;
        throttle.sweep();
        assert_eq!(throttle.len(), 0, "regained, so forgotten");
    }

    #[test]
    fn none_per_minute_is_no_throttling() {
        let throttle = Throttle::new(0);
        for _ in 0..100 {
            throttle.failed(&["k"]);
        }
        assert_eq!(throttle.wait(&["k"]), None);
    }
}

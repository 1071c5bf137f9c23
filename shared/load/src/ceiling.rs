//! The ceiling of a run: what parse-and-validate alone of the same envelopes takes in this
//! process, on every core. No server can store events faster than it can check them, so the
//! end-to-end figure is also reported as a fraction of this.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use caliper_validation::{parse_json, validate_envelope, Limits};

use crate::events::Envelope;

/// Events per second, on `threads` threads; fails if an envelope does not validate (the run
/// would be refused too).
pub fn measure(envelopes: &[Envelope], threads: usize) -> Result<(f64, Duration)> {
    let limits = Limits::default();
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut failures = Vec::new();
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        let Some(envelope) = envelopes.get(n) else {
                            return failures;
                        };
                        let checked = parse_json(&envelope.body, &limits)
                            .map_err(|e| format!("{e:?}"))
                            .and_then(|value| {
                                validate_envelope(&value, &limits).map_err(|p| format!("{p:?}"))
                            });
                        if let Err(problem) = checked {
                            failures.push(problem);
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let elapsed = started.elapsed();
    if let Some(first) = failures.first() {
        bail!(
            "{} envelopes do not validate; the first: {first}",
            failures.len()
        );
    }
    let events: usize = envelopes.iter().map(|e| e.ids.len()).sum();
    Ok((events as f64 / elapsed.as_secs_f64(), elapsed))
}

//! Work the clock starts. A scheduled kind is an ordinary kind of work ([`crate::work`]) whose
//! message a timer sends; the timer only enqueues, so a run is retried and dead-lettered like any
//! other, and a slow run never holds the clock up.
//!
//! - caliper-local: [`every`] below, spawned beside the kind's runner;
//! - AWS: an `AWS::Events::Rule` in `template.yaml` with a `ScheduleExpression`, the kind's queue
//!   as its target and the message as the target's constant `Input` (the queue's policy lets
//!   `events.amazonaws.com` send to it).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use crate::ports::{Message, Queue};

/// Sends `message()` on `queue` now and then once every `period`, for as long as it is polled. A
/// send that fails is logged and left to the next tick; ticks missed while the process was busy
/// or asleep are not caught up (one run covers them, as one run of a sweep would).
pub async fn every<M: Message>(
    queue: Arc<dyn Queue<M>>,
    period: Duration,
    message: impl Fn() -> M,
) {
    let mut clock = tokio::time::interval(period);
    clock.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        clock.tick().await;
        if let Err(error) = queue.send(&[message()]).await {
            tracing::warn!(%error, kind = M::NAME, "a scheduled message could not be sent; the next tick tries again");
        }
    }
}

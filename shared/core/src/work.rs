//! Background work of many kinds, each on a queue of its own. A kind says what its messages carry
//! and what handling one does (a file per kind: [`crate::process::Processor`] stores a job's part,
//! [`crate::webhooks::Dispatcher`] fans events out and delivers them); every kind is a
//! [`Consumer`] by the one delivery policy below, whichever runner hands it the message (the Lambda
//! SQS trigger, the SQS poller, the embedded queue):
//!
//! - a message that does not parse, or whose run fails, is delivered again after the kind's
//!   backoff;
//! - on its last allowed delivery the kind records why it gives up ([`Work::give_up`]), and the
//!   message goes to the dead letters;
//! - a message the queue dead-lettered without a verdict (every delivery died with the process) is
//!   handed to [`Work::dead_lettered`].
//!
//! A new kind is one file with its message type and its `Work`, and a registration: a queue
//! ([`crate::Queue`] of its message) and a runner started with it.

use std::fmt::Display;
use std::time::Duration;

use async_trait::async_trait;

use crate::ports::{Consumer, Message, StoreError, Verdict};
use crate::retry::Backoff;

#[async_trait]
pub trait Work: Send + Sync {
    type Message: Message;
    /// Why a run failed, for the logs and [`Work::give_up`].
    type Error: Display + Send + Sync;

    /// Handles one delivery of `message`; `receives` counts this one (a redelivery may follow a
    /// crash halfway). An error: deliver it again.
    async fn run(&self, message: &Self::Message, receives: u32) -> Result<(), Self::Error>;

    /// When a failed message is tried again.
    fn backoff(&self) -> Backoff;

    /// A delivery failed with `error` and the message will come again: say so in the kind's words
    /// (dashboards count these lines).
    async fn retrying(&self, message: &Self::Message, error: &Self::Error, receives: u32) {
        let _ = message;
        tracing::warn!(%error, receives, kind = Self::Message::NAME, "a message failed; it will be delivered again");
    }

    /// The last allowed delivery failed with `error`: say so where its readers look, before the
    /// message goes to the dead letters.
    async fn give_up(&self, message: &Self::Message, error: &Self::Error) {
        let _ = (message, error);
    }

    /// The queue dead-lettered `message` without a verdict of ours. An error: the record of it
    /// should be tried again.
    async fn dead_lettered(&self, message: &Self::Message) -> Result<(), StoreError> {
        let _ = message;
        Ok(())
    }
}

#[async_trait]
impl<W: Work> Consumer for W {
    async fn consume(&self, body: &str, receives: u32, max_receives: u32) -> Verdict {
        let last = receives >= max_receives;
        let message = match W::Message::from_json(body) {
            Ok(message) => message,
            Err(error) => {
                tracing::error!(%error, receives, "an unreadable queue message");
                return if last {
                    Verdict::DeadLetter
                } else {
                    Verdict::Retry
                };
            }
        };
        match self.run(&message, receives).await {
            Ok(()) => Verdict::Done,
            Err(error) if last => {
                tracing::error!(%error, receives, kind = W::Message::NAME, "giving up on a message");
                self.give_up(&message, &error).await;
                Verdict::DeadLetter
            }
            Err(error) => {
                self.retrying(&message, &error, receives).await;
                Verdict::Retry
            }
        }
    }

    fn retry_delay(&self, receives: u32) -> Duration {
        self.backoff().delay(receives)
    }

    async fn dead_lettered(&self, body: &str) -> Result<(), StoreError> {
        match W::Message::from_json(body) {
            Ok(message) => Work::dead_lettered(self, &message).await,
            Err(error) => {
                tracing::error!(%error, "an unreadable message was dead-lettered");
                Ok(())
            }
        }
    }
}

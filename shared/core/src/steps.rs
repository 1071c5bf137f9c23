//! Long work as a chain of steps: a job of one kind (an export, an erasure) whose run is cut into
//! steps small enough for a Lambda's memory and time. Each step starts from the state the last one
//! saved (the job's checkpoint), does a bounded piece, saves the state after it, and queues the next
//! step; the step that finds nothing left ends the job with its outcome. A kind says only what one
//! step does ([`LongWork`]); [`Steps`] is its [`Work`] on its queue, the same for every kind:
//!
//! - a step delivered again finds the checkpoint past it: it sends the next step again, should
//!   that send have been lost, and does nothing more (a duplicate of a step is a no-op once either
//!   has run);
//! - a step does its piece again only when its state was not saved, so a kind writes what a step
//!   makes where writing it twice writes the same thing (an export's file by its name);
//! - the last failed delivery fails the job ([`LongWork::failing`] first, say, to forget what the
//!   job's record must not keep).

use std::fmt::Display;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{Job, JobKind, NewJob};
use crate::ports::{JobStore, Message, Queue, StoreError};
use crate::retry::Backoff;
use crate::work::Work;

/// One step of a job of long work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepMessage {
    pub job_id: String,
    pub step: u32,
}

impl Message for StepMessage {
    const NAME: &'static str = "step of long work";
}

/// What one step came to.
pub enum Step<S> {
    /// More to do, from this state.
    Next(S),
    /// Nothing left: the job's outcome.
    Done(Value),
}

/// A kind of long work: what one step does.
#[async_trait]
pub trait LongWork: Send + Sync {
    /// What a step starts from and saves.
    type State: Serialize + DeserializeOwned + Send + Sync;
    type Error: From<StoreError> + Display + Send + Sync;
    const KIND: JobKind;

    /// One bounded piece of the job `job_id`, from `state`.
    async fn step(
        &self,
        job_id: &str,
        state: Self::State,
    ) -> Result<Step<Self::State>, Self::Error>;

    /// The job is about to be failed with its state as last saved: the state to keep instead
    /// (none: keep it as it is).
    fn failing(&self, state: Self::State) -> Option<Self::State> {
        let _ = state;
        None
    }
}

/// The checkpoint: the step to run next and the state it starts from.
#[derive(Serialize, Deserialize)]
struct Checkpoint<S> {
    step: u32,
    state: S,
}

/// The state a job of long work last saved (while it runs, or after it failed).
pub fn state_of<S: DeserializeOwned>(job: &Job) -> Option<S> {
    let checkpoint = job.checkpoint.as_ref()?;
    serde_json::from_value::<Checkpoint<S>>(checkpoint.clone())
        .ok()
        .map(|c| c.state)
}

fn to_json<S: Serialize>(step: u32, state: &S) -> Result<Value, StoreError> {
    serde_json::to_value(Checkpoint { step, state }).map_err(|e| {
        StoreError::invalid("a step's state could not be written as JSON").caused_by(e)
    })
}

/// Records `job` with its first state and queues its first step. Should the step not be queued,
/// the job is failed rather than left waiting for ever.
pub async fn start<S: Serialize + Sync>(
    jobs: &dyn JobStore,
    queue: &dyn Queue<StepMessage>,
    job: &NewJob,
    state: &S,
) -> Result<(), StoreError> {
    jobs.create(job).await?;
    let started = async {
        jobs.save_checkpoint(&job.id, &to_json(0, state)?).await?;
        let first = StepMessage {
            job_id: job.id.clone(),
            step: 0,
        };
        queue.send(&[first]).await
    };
    if let Err(error) = started.await {
        let _ = jobs
            .mark_failed(
                &job.id,
                "the job could not be queued; start it again",
                Utc::now(),
            )
            .await;
        return Err(error);
    }
    Ok(())
}

/// A kind of long work on its queue.
pub struct Steps<W> {
    work: W,
    jobs: Arc<dyn JobStore>,
    queue: Arc<dyn Queue<StepMessage>>,
}

impl<W: LongWork> Steps<W> {
    pub fn new(work: W, jobs: Arc<dyn JobStore>, queue: Arc<dyn Queue<StepMessage>>) -> Self {
        Self { work, jobs, queue }
    }

    async fn send(&self, job_id: &str, step: u32) -> Result<(), StoreError> {
        let message = StepMessage {
            job_id: job_id.to_owned(),
            step,
        };
        self.queue.send(&[message]).await
    }

    async fn fail(&self, job_id: &str, reason: &str) -> Result<(), StoreError> {
        if let Some(job) = self.jobs.get(job_id).await? {
            let checkpoint = job
                .checkpoint
                .as_ref()
                .and_then(|c| serde_json::from_value::<Checkpoint<W::State>>(c.clone()).ok());
            if let Some(checkpoint) = checkpoint {
                if let Some(kept) = self.work.failing(checkpoint.state) {
                    self.jobs
                        .save_checkpoint(job_id, &to_json(checkpoint.step, &kept)?)
                        .await?;
                }
            }
        }
        self.jobs.mark_failed(job_id, reason, Utc::now()).await
    }
}

#[async_trait]
impl<W: LongWork> Work for Steps<W> {
    type Message = StepMessage;
    type Error = W::Error;

    async fn run(&self, message: &StepMessage, _receives: u32) -> Result<(), W::Error> {
        let id = &message.job_id;
        let Some(job) = self.jobs.get(id).await? else {
            tracing::warn!(job_id = %id, kind = W::KIND.as_str(), "a step of a job that is not recorded; dropped");
            return Ok(());
        };
        if job.kind != W::KIND || job.state.is_finished() {
            return Ok(());
        }
        let checkpoint = job
            .checkpoint
            .and_then(|c| serde_json::from_value::<Checkpoint<W::State>>(c).ok());
        let Some(Checkpoint { step, state }) = checkpoint else {
            return Err(
                StoreError::corrupt(format!("the job {id} has no readable checkpoint")).into(),
            );
        };
        if step == message.step + 1 {
            // This step ran; the send of the next may be what failed.
            return Ok(self.send(id, step).await?);
        }
        if step != message.step {
            return Ok(());
        }
        if step == 0 {
            self.jobs.mark_active(id).await?;
        }
        match self.work.step(id, state).await? {
            Step::Next(state) => {
                self.jobs
                    .save_checkpoint(id, &to_json(step + 1, &state)?)
                    .await?;
                self.send(id, step + 1).await?;
            }
            Step::Done(outcome) => {
                self.jobs.complete(id, &outcome, Utc::now()).await?;
                tracing::info!(job_id = %id, kind = W::KIND.as_str(), steps = step + 1, "long work completed");
            }
        }
        Ok(())
    }

    fn backoff(&self) -> Backoff {
        Backoff::JOB_PARTS
    }

    async fn give_up(&self, message: &StepMessage, error: &W::Error) {
        let reason = format!("stopped: {error}; start it again");
        if let Err(e) = self.fail(&message.job_id, &reason).await {
            tracing::error!(error = %e, job_id = %message.job_id, "could not record a failed job");
        }
    }

    async fn dead_lettered(&self, message: &StepMessage) -> Result<(), StoreError> {
        self.fail(
            &message.job_id,
            "stopped: a step ran out of time or memory every time it was tried; start it again",
        )
        .await
    }
}

/// Two kinds of long work on one queue (erasures and retention sweeps, which both delete
/// events): each step goes to the kind of its job.
pub struct Either<A, B> {
    a: Steps<A>,
    b: Steps<B>,
}

impl<A: LongWork, B: LongWork> Either<A, B> {
    pub fn new(a: Steps<A>, b: Steps<B>) -> Self {
        Self { a, b }
    }

    async fn kind_of(&self, message: &StepMessage) -> Result<Option<JobKind>, StoreError> {
        Ok(self.a.jobs.get(&message.job_id).await?.map(|job| job.kind))
    }
}

#[async_trait]
impl<A: LongWork, B: LongWork> Work for Either<A, B> {
    type Message = StepMessage;
    type Error = String;

    async fn run(&self, message: &StepMessage, receives: u32) -> Result<(), String> {
        match self.kind_of(message).await.map_err(|e| e.to_string())? {
            Some(kind) if kind == A::KIND => self
                .a
                .run(message, receives)
                .await
                .map_err(|e| e.to_string()),
            Some(kind) if kind == B::KIND => self
                .b
                .run(message, receives)
                .await
                .map_err(|e| e.to_string()),
            _ => Ok(()),
        }
    }

    fn backoff(&self) -> Backoff {
        Backoff::JOB_PARTS
    }

    async fn give_up(&self, message: &StepMessage, error: &String) {
        let reason = format!("stopped: {error}; start it again");
        let failed = match self.kind_of(message).await {
            Ok(Some(kind)) if kind == A::KIND => self.a.fail(&message.job_id, &reason).await,
            Ok(Some(kind)) if kind == B::KIND => self.b.fail(&message.job_id, &reason).await,
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = failed {
            tracing::error!(error = %e, job_id = %message.job_id, "could not record a failed job");
        }
    }

    async fn dead_lettered(&self, message: &StepMessage) -> Result<(), StoreError> {
        match self.kind_of(message).await? {
            Some(kind) if kind == A::KIND => Work::dead_lettered(&self.a, message).await,
            Some(kind) if kind == B::KIND => Work::dead_lettered(&self.b, message).await,
            _ => Ok(()),
        }
    }
}

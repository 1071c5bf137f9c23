//! A job kept as one whole record, and the rules of its state machine. Stores that read and write
//! whole records (the embedded store, the unit tests' fakes) apply these rules; DynamoDB states the
//! same rules as update conditions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use serde_json::Value;

use crate::model::{EventResult, Job, JobKind, JobState, NewJob};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    /// Records of before kinds were all submissions.
    #[serde(default)]
    pub kind: JobKind,
    pub client_app_id: String,
    pub state: JobState,
    pub parts: u32,
    /// Results of each finished part, by part number.
    pub done: BTreeMap<u32, Vec<EventResult>>,
    pub created_at: DateTime<Utc>,
    pub processed_on: Option<DateTime<Utc>>,
    pub failed_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Value>,
}

impl JobRecord {
    pub fn new(job: &NewJob) -> Self {
        Self {
            id: job.id.clone(),
            kind: job.kind,
            client_app_id: job.client_app_id.clone(),
            state: JobState::Waiting,
            parts: job.parts,
            done: BTreeMap::new(),
            created_at: job.created_at,
            processed_on: None,
            failed_reason: None,
            checkpoint: None,
            outcome: None,
        }
    }

    /// `waiting` → `active`; any other state stays.
    pub fn activate(&mut self) {
        if self.state == JobState::Waiting {
            self.state = JobState::Active;
        }
    }

    /// Keeps a part's first results only; completes the job when every part is in, unless it
    /// already finished (a failed job stays failed).
    pub fn record_part(
        &mut self,
        part: u32,
        results: &[EventResult],
        now: DateTime<Utc>,
    ) -> JobState {
        self.done.entry(part).or_insert_with(|| results.to_vec());
        if self.done.len() as u32 >= self.parts && !self.state.is_finished() {
            self.state = JobState::Completed;
            self.processed_on = Some(now);
        }
        self.state
    }

    /// Keeps how far the job got, while it is not finished; answers whether it was kept.
    pub fn save_checkpoint(&mut self, checkpoint: &Value) -> bool {
        if self.state.is_finished() {
            return false;
        }
        self.checkpoint = Some(checkpoint.clone());
        true
    }

    /// Ends the job as completed with its outcome, unless it already finished; answers the state.
    /// The checkpoint ends with the run (it may hold what the outcome must not: an erasure's
    /// subject).
    pub fn complete(&mut self, outcome: &Value, now: DateTime<Utc>) -> JobState {
        if !self.state.is_finished() {
            self.state = JobState::Completed;
            self.outcome = Some(outcome.clone());
            self.checkpoint = None;
            self.processed_on = Some(now);
        }
        self.state
    }

    /// Ends the job as failed, unless it completed.
    pub fn fail(&mut self, reason: &str, now: DateTime<Utc>) {
        if !self.state.is_finished() {
            self.state = JobState::Failed;
            self.failed_reason = Some(reason.to_owned());
            self.processed_on = Some(now);
        }
    }

    /// The job as read back: every finished part's results, in part order.
    pub fn to_job(&self) -> Job {
        Job {
            id: self.id.clone(),
            kind: self.kind,
            client_app_id: self.client_app_id.clone(),
            state: self.state,
            parts: self.parts,
            results: self.done.values().flatten().cloned().collect(),
            created_at: self.created_at,
            processed_on: self.processed_on,
            failed_reason: self.failed_reason.clone(),
            checkpoint: self.checkpoint.clone(),
            outcome: self.outcome.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(parts: u32) -> JobRecord {
        JobRecord::new(&NewJob {
            id: "j".into(),
            kind: JobKind::Submission,
            client_app_id: "c".into(),
            parts,
            created_at: Utc::now(),
        })
    }

    fn result(n: u64) -> EventResult {
        EventResult::stored(n, format!("urn:uuid:{n}"))
    }

    #[test]
    fn parts_complete_once_in_part_order() {
        let mut job = record(2);
        job.activate();
        assert_eq!(
            job.record_part(1, &[result(2)], Utc::now()),
            JobState::Active
        );
        assert_eq!(
            job.record_part(1, &[result(9)], Utc::now()),
            JobState::Active,
            "a repeated part counts once"
        );
        assert_eq!(
            job.record_part(0, &[result(1)], Utc::now()),
            JobState::Completed
        );
        assert_eq!(job.to_job().results, vec![result(1), result(2)]);
        job.activate();
        job.fail("late", Utc::now());
        assert_eq!(
            (job.state, job.failed_reason),
            (JobState::Completed, None),
            "completed is final"
        );
    }

    #[test]
    fn failed_is_final() {
        let mut job = record(1);
        job.fail("broken", Utc::now());
        assert_eq!(
            job.record_part(0, &[result(1)], Utc::now()),
            JobState::Failed
        );
        job.activate();
        assert_eq!(job.state, JobState::Failed);
        assert!(job.processed_on.is_some());
    }
}

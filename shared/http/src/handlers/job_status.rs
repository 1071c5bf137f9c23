use caliper_core::model::timestamp;
use caliper_core::{Job, JobKind, JobState, ResultStatus};
use lambda_http::http::StatusCode;
use serde_json::{json, Value};

use super::{unavailable, Answer, Call};
use crate::app::App;
use crate::response::{ok, ApiError};

/// GET `/jobs/{jobId}/status`. Another client's job answers 404, exactly like a missing one.
pub async fn job_status(app: &App, call: &Call) -> Answer {
    let caller = call.caller()?;
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "Job not found");
    let job_id = call.param("jobId");
    // Our ids are UUIDs; anything else cannot name a job, and is not worth a storage call.
    if uuid::Uuid::try_parse(job_id).is_err() {
        return Err(not_found());
    }
    let job = app
        .ports
        .jobs
        .get(job_id)
        .await
        .map_err(|e| unavailable(&e))?;
    // An export is a job too, read at `/exports/{id}`.
    let job = job
        .filter(|job| job.kind == JobKind::Submission && caller.may_see(&job.client_app_id))
        .ok_or_else(not_found)?;
    Ok(ok(&json!({ "job": job_json(&job) })))
}

/// The contract's job shape: `returnValue` and `processedOn` stay null until the job finishes.
pub fn job_json(job: &Job) -> Value {
    let results: Vec<Value> = job
        .results
        .iter()
        .map(|r| {
            let mut result = result_json(r);
            // Under the `flag` policy: what Caliper's model found wrong with the event.
            if !r.problems.is_empty() {
                result["problems"] = json!(r.problems);
            }
            result
        })
        .collect();
    let return_value = match job.state {
        JobState::Completed => json!({"status": "success", "results": results}),
        JobState::Failed => json!({"status": "error", "results": results}),
        JobState::Waiting | JobState::Active => Value::Null,
    };
    let mut body = json!({
        "id": job.id,
        "state": job.state.as_str(),
        "returnValue": return_value,
        "processedOn": job.processed_on.map(timestamp),
    });
    if let Some(reason) = &job.failed_reason {
        body["failedReason"] = json!(reason);
    }
    body
}

/// One event's result: its id and, when it was not stored as sent, why.
fn result_json(r: &caliper_core::EventResult) -> Value {
    match &r.status {
        ResultStatus::Stored => {
            json!({"allocatedId": r.allocated_id.to_string(), "externalId": r.external_id})
        }
        // Not stored: no id, and why, in words.
        ResultStatus::Refused { reason } => json!({
            "allocatedId": null, "externalId": r.external_id,
            "status": r.status.as_str(), "message": reason,
        }),
        // The first event of that id stays, under its id; the message says what differs.
        ResultStatus::Conflict { message } => json!({
            "allocatedId": r.allocated_id.to_string(), "externalId": r.external_id,
            "status": r.status.as_str(), "message": message,
        }),
        // Kept for its client to read, replay or delete (`/quarantine/{id}`).
        ResultStatus::Quarantined { id, reason } => json!({
            "allocatedId": null, "externalId": r.external_id, "status": r.status.as_str(),
            "message": reason, "quarantineId": id,
        }),
        ResultStatus::Expired => json!({
            "allocatedId": null, "externalId": r.external_id, "status": r.status.as_str(),
            "message": "This event is older than its client keeps events (retentionDays); it is not stored",
        }),
        ResultStatus::Erased => json!({
            "allocatedId": null, "externalId": r.external_id, "status": r.status.as_str(),
            "message": "This event was erased before; it is not stored again",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use caliper_core::EventResult;

    #[test]
    fn a_result_not_stored_has_no_id_and_says_why() {
        let not_stored = |status| EventResult {
            allocated_id: 0,
            external_id: "urn:uuid:b".into(),
            status,
            problems: Vec::new(),
        };
        let job = Job {
            id: "j".into(),
            kind: JobKind::Submission,
            client_app_id: "c".into(),
            state: JobState::Completed,
            parts: 1,
            results: vec![
                EventResult::stored(7, "urn:uuid:a"),
                not_stored(ResultStatus::Refused {
                    reason: "too large".into(),
                }),
                not_stored(ResultStatus::Erased),
                EventResult {
                    allocated_id: 7,
                    external_id: "urn:uuid:a".into(),
                    status: ResultStatus::Conflict {
                        message: "differs at /actor".into(),
                    },
                    problems: Vec::new(),
                },
            ],
            created_at: Default::default(),
            processed_on: Some(Default::default()),
            failed_reason: None,
            checkpoint: None,
            outcome: None,
        };
        let results = &job_json(&job)["returnValue"]["results"];
        assert_eq!(
            results[0],
            json!({"allocatedId": "7", "externalId": "urn:uuid:a"}),
            "a stored event's result is as it always was"
        );
        assert_eq!(
            results[1],
            json!({"allocatedId": null, "externalId": "urn:uuid:b", "status": "refused", "message": "too large"})
        );
        assert_eq!(results[2]["status"], "erased");
        assert_eq!(results[2]["allocatedId"], Value::Null);
        assert_eq!(
            results[3],
            json!({"allocatedId": "7", "externalId": "urn:uuid:a", "status": "conflict", "message": "differs at /actor"}),
            "a conflicting resend points at the first, which stays"
        );
    }
}

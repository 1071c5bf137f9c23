//! POST `/connectors/canvas/{id}`: a Canvas live event, posted as Canvas posts it (no
//! `Authorization`, any `Content-Type`, the body a signed JWT, or JSON for an unsigned
//! connector). A body whose signature holds is answered 200 at once and is never refused after
//! that: what its client's policy would refuse is quarantined instead (Canvas drops what is
//! refused, and drops the subscription after enough refusals). A body whose signature does not
//! hold stores nothing: 401.

use caliper_core::clients::connectors::{ReceiveError, SignatureRefusal};
use caliper_core::intake::{IntakeError, Taken};
use caliper_validation::Problem;
use lambda_http::http::StatusCode;
use lambda_http::Body;
use serde_json::json;

use super::{unavailable, Answer, Call};
use crate::app::App;
use crate::response::{ok, ApiError};

pub async fn receive(app: &App, call: &Call) -> Answer {
    let body: &[u8] = match call.request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    let taken = app
        .connectors
        .receive(
            call.param("id"),
            body,
            app.signatures.as_deref(),
            &app.intake,
        )
        .await
        .map_err(failure)?;
    Ok(ok(&match taken {
        Taken::Job(job_id) => json!({
            "status": "success",
            "message": "Events accepted for processing",
            "jobId": job_id,
        }),
        Taken::Quarantined(ids) => json!({
            "status": "quarantined",
            "message": "The body does not pass its client's validation policy; it is kept in quarantine (GET /quarantine)",
            "quarantineIds": ids,
        }),
    }))
}

fn failure(error: ReceiveError) -> ApiError {
    // Canvas sends a body again after a 5xx: these are worth its retry.
    let retry_later = |message: String| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message);
    match error {
        ReceiveError::NotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "No connector at this path: it was deleted, or the path is mistyped",
        ),
        ReceiveError::Signature(SignatureRefusal::Refused(why)) => {
            ApiError::new(StatusCode::UNAUTHORIZED, why.clone())
                .with_errors(vec![Problem::new("/body", why)])
        }
        ReceiveError::Signature(SignatureRefusal::Unavailable(why)) => {
            tracing::error!(why, "a connector's signed body could not be checked");
            retry_later(format!(
                "The body's signature cannot be checked now: {why}; it will be when sent again"
            ))
        }
        ReceiveError::Intake(full @ IntakeError::QuarantineFull { .. }) => {
            tracing::error!(%full, "a connector's body could not be kept");
            retry_later(full.to_string())
        }
        ReceiveError::Intake(IntakeError::Store(error)) | ReceiveError::Store(error) => {
            unavailable(&error)
        }
    }
}

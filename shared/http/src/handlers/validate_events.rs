use caliper_validation::{validate_body, Limits, ParseRejection};
use serde_json::json;

use super::{Answer, Call};
use crate::body::{parsed_body, rejected};
use crate::response::ok;

/// POST `/caliper/event/validate`: the submission's checks, nothing stored. A body that is JSON
/// but not a valid envelope (or array of envelopes) still answers 200, with `"status": "error"` and every problem.
pub fn validate_events(limits: &Limits, call: &Call) -> Answer {
    let body = match parsed_body(&call.request, limits)? {
        Ok(body) => body,
        // JSON, with a number storage would change: a problem of the envelope, like the others.
        Err(ParseRejection::InexactNumber { problem }) => {
            return Ok(ok(&json!({
                "status": "error",
                "message": format!("The envelope is invalid: {}", problem.message),
                "errors": [problem],
            })))
        }
        Err(rejection) => return Err(rejected(rejection)),
    };
    let body = match validate_body(&body, limits) {
        Ok(()) => json!({"status": "success", "message": "The envelope is valid"}),
        Err(problems) => json!({
            "status": "error",
            "message": problems.summary(),
            "errors": problems.list,
        }),
    };
    Ok(ok(&body))
}

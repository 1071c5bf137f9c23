use caliper_validation::{validate_body, Limits};
use serde_json::json;

use super::{Answer, Call};
use crate::body::json_body;
use crate::response::ok;

/// POST `/caliper/event/validate`: the submission's checks, nothing stored. A body that is JSON
/// but not a valid envelope (or array of envelopes) still answers 200, with `"status": "error"` and every problem.
pub fn validate_events(limits: &Limits, call: &Call) -> Answer {
    let body = json_body(&call.request, limits)?;
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

//! The Caliper 1.2 envelope model and its validator.
//!
//! Pure: bytes or JSON in, a list of [`Problem`]s out, no I/O. Structure is described by our own
//! JSON Schema document (`schema/envelope.json`, compiled once per process); the rules a schema says
//! badly (IRIs, date-times, event ids, size and depth limits) are plain Rust.

mod describe;
mod formats;
mod limits;
mod problem;
mod schema;

pub use limits::{compact_size, parse_json, Limits, ParseRejection};
pub use problem::{Problem, Problems};

use serde_json::Value;

/// The one `dataVersion` this API accepts.
pub const CALIPER_V1P2: &str = "http://purl.imsglobal.org/ctx/caliper/v1p2";

/// Checks a parsed envelope; `Ok` or every problem found (capped at [`Problems::CAP`]).
pub fn validate_envelope(envelope: &Value, limits: &Limits) -> Result<(), Problems> {
    let mut problems = Problems::default();
    schema::check(envelope, &mut problems);
    limits::check_envelope(envelope, limits, &mut problems);
    problems.into_result()
}

/// An item of `data` is an Event when it has an `action` or its `type` ends in `Event`;
/// the same rule the schema uses to choose between the Event and Entity definitions.
pub fn is_event(item: &Value) -> bool {
    item.get("action").is_some()
        || item
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.ends_with("Event"))
}

#[cfg(test)]
mod tests;

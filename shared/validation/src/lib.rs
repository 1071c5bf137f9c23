//! The Caliper 1.2 model and its validator.
//!
//! Pure: bytes or JSON in, a list of [`Problem`]s out, no I/O. The envelope's structure is described
//! by our own JSON Schema document (`schema/envelope.json`, compiled once per process). Events and
//! entities are checked against the Caliper model in [`model`]: tables of types, actions, profiles
//! and property kinds, read by plain Rust (`check`), since a schema says type hierarchies and
//! per-action rules badly. Size, depth and string limits are in `limits`.

mod check;
mod describe;
mod formats;
mod limits;
pub mod model;
mod problem;
mod schema;
mod strict_json;

pub use describe::json_type;
pub use limits::{compact_size, parse_json, Limits, ParseRejection};
pub use problem::{Problem, Problems};

use serde_json::Value;

/// The one `dataVersion` this API accepts.
pub const CALIPER_V1P2: &str = model::vocabulary::CONTEXT_V1P2;

/// Checks a parsed envelope; `Ok` or every problem found (capped at [`Problems::CAP`]).
pub fn validate_envelope(envelope: &Value, limits: &Limits) -> Result<(), Problems> {
    let mut problems = Problems::default();
    schema::check(envelope, &mut problems);
    check::items(envelope, &mut problems);
    limits::check_envelope(envelope, limits, &mut problems);
    problems.into_result()
}

/// The problem with an envelope's `dataVersion` when it names a version this API does not support
/// (Caliper's endpoint answers that with 422); a missing or non-string one is an ordinary problem.
pub fn unsupported_version(envelope: &Value) -> Option<Problem> {
    let version = envelope.get("dataVersion")?.as_str()?;
    (version != CALIPER_V1P2).then(|| {
        Problem::new(
            "/dataVersion",
            format!(
                "this endpoint supports Caliper data version {CALIPER_V1P2:?} only, found {}; send Caliper 1.2 data",
                describe::quoted(version)
            ),
        )
    })
}

/// An item of `data` is an Event when it has an `action` or its `type` ends in `Event`.
pub fn is_event(item: &Value) -> bool {
    item.get("action").is_some()
        || item
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.ends_with("Event"))
}

#[cfg(test)]
mod tests;

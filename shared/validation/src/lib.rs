//! The Caliper 1.1 and 1.2 models and their validator.
//!
//! Pure: bytes or JSON in, a list of [`Problem`]s out, no I/O. The envelope's structure is described
//! by our own JSON Schema document (`schema/envelope.json`, compiled once per process). Events and
//! entities are checked against the Caliper model of the envelope's `dataVersion` in [`model`]:
//! tables of types, actions, profiles and property kinds, read by plain Rust (`check`), since a
//! schema says type hierarchies and per-action rules badly. Size, depth and string limits are in
//! `limits`.

mod check;
mod describe;
mod flag;
mod formats;
mod limits;
pub mod model;
mod numbers;
mod problem;
mod schema;
mod strict_json;

pub use describe::json_type;
pub use flag::{findings, Findings};
pub use formats::{is_iri, parse_date_time};
pub use limits::{compact_size, parse_json, Limits, ParseRejection};
pub use model::Version;
pub use problem::{pointer_join, Problem, Problems};

use serde_json::Value;

/// The `dataVersion` of Caliper 1.2.
pub const CALIPER_V1P2: &str = model::vocabulary::CONTEXT_V1P2;

/// The `dataVersion` of Caliper 1.1.
pub const CALIPER_V1P1: &str = model::vocabulary::CONTEXT_V1P1;

/// Checks a parsed envelope; `Ok` or every problem found (capped at [`Problems::CAP`]). Its items
/// are checked against the model of its `dataVersion` (1.2 when that is missing or unknown, which
/// the schema reports).
pub fn validate_envelope(envelope: &Value, limits: &Limits) -> Result<(), Problems> {
    let mut problems = Problems::default();
    schema::check(envelope, &mut problems);
    check::items(
        envelope,
        data_version(envelope).unwrap_or(Version::V1p2),
        &mut problems,
    );
    limits::check_envelope(envelope, limits, &mut problems);
    problems.into_result()
}

/// The envelopes of a request body: the body itself, or each element of a JSON array of
/// envelopes (Open edX's batches), with the pointer each one's problems begin with (`/3`).
pub fn envelopes_of(body: &Value) -> Vec<(String, &Value)> {
    match body {
        Value::Array(envelopes) => envelopes
            .iter()
            .enumerate()
            .map(|(index, envelope)| (format!("/{index}"), envelope))
            .collect(),
        envelope => vec![(String::new(), envelope)],
    }
}

/// [`envelopes_of`], taken apart.
pub fn into_envelopes(body: Value) -> Vec<Value> {
    match body {
        Value::Array(envelopes) => envelopes,
        envelope => vec![envelope],
    }
}

/// Checks a request body: one envelope, or a non-empty array of envelopes, each checked as one
/// (its problems' paths begin with its index) and all of them within [`Limits::max_items`] items,
/// since they make one job.
pub fn validate_body(body: &Value, limits: &Limits) -> Result<(), Problems> {
    let Value::Array(_) = body else {
        return validate_envelope(body, limits);
    };
    let mut problems = body_limits(body, limits);
    for (prefix, envelope) in envelopes_of(body) {
        let mut found = Problems::default();
        schema::check(envelope, &mut found);
        check::items(
            envelope,
            data_version(envelope).unwrap_or(Version::V1p2),
            &mut found,
        );
        problems.capped |= found.capped;
        for problem in found.list {
            problems.push(Problem::new(
                format!("{prefix}{}", problem.path),
                problem.message,
            ));
        }
    }
    problems.into_result()
}

/// The limits of a body alone (item counts and sizes, string lengths; an array that is empty):
/// what the `flag` policy does not relax either.
pub fn check_limits(body: &Value, limits: &Limits) -> Result<(), Problems> {
    body_limits(body, limits).into_result()
}

fn body_limits(body: &Value, limits: &Limits) -> Problems {
    let mut problems = Problems::default();
    let Value::Array(envelopes) = body else {
        limits::check_envelope(body, limits, &mut problems);
        return problems;
    };
    if envelopes.is_empty() {
        problems.push(Problem::new(
            "",
            "expected an envelope or an array of envelopes, found an empty array",
        ));
    }
    let items: usize = envelopes
        .iter()
        .filter_map(|e| e.get("data").and_then(Value::as_array).map(Vec::len))
        .sum();
    if envelopes.len() > 1 && items > limits.max_items {
        problems.push(Problem::new(
            "",
            format!(
                "expected at most {} items in all the envelopes of one request, found {items}; send them in several requests",
                limits.max_items
            ),
        ));
    }
    for (prefix, envelope) in envelopes_of(body) {
        let mut found = Problems::default();
        limits::check_envelope(envelope, limits, &mut found);
        problems.capped |= found.capped;
        for problem in found.list {
            problems.push(Problem::new(
                format!("{prefix}{}", problem.path),
                problem.message,
            ));
        }
    }
    problems
}

/// [`unsupported_version`] of the first envelope of a body that has one, its path prefixed as in
/// [`validate_body`].
pub fn unsupported_version_in(body: &Value) -> Option<Problem> {
    envelopes_of(body)
        .into_iter()
        .find_map(|(prefix, envelope)| {
            unsupported_version(envelope)
                .map(|p| Problem::new(format!("{prefix}{}", p.path), p.message))
        })
}

/// The Caliper version an envelope's `dataVersion` names, if it is one this API supports.
pub fn data_version(envelope: &Value) -> Option<Version> {
    envelope
        .get("dataVersion")
        .and_then(Value::as_str)
        .and_then(Version::from_context)
}

/// The problem with an envelope's `dataVersion` when it names a version this API does not support
/// (Caliper's endpoint answers that with 422); a missing or non-string one is an ordinary problem.
pub fn unsupported_version(envelope: &Value) -> Option<Problem> {
    let version = envelope.get("dataVersion")?.as_str()?;
    Version::from_context(version).is_none().then(|| {
        Problem::new(
            "/dataVersion",
            format!(
                "this endpoint supports the Caliper data versions {CALIPER_V1P2:?} (1.2) and {CALIPER_V1P1:?} (1.1), found {}; send Caliper 1.2 or 1.1 data",
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

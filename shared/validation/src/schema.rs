//! The envelope schema document, compiled once per process, and its errors in words a user can act on.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::describe::{found, json_type, quoted};
use crate::formats;
use crate::problem::{pointer_join, Problem, Problems};

const ENVELOPE_SCHEMA: &str = include_str!("../schema/envelope.json");

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value =
            serde_json::from_str(ENVELOPE_SCHEMA).expect("envelope.json is valid JSON");
        jsonschema::options()
            .should_validate_formats(true)
            .with_format("caliper-iri", formats::is_iri)
            .with_format("caliper-date-time", formats::is_date_time)
            .with_format("caliper-event-id", formats::is_event_id)
            .build(&schema)
            .expect("envelope.json is a valid JSON Schema")
    })
}

/// Adds every structural problem of `envelope` to `problems`.
pub fn check(envelope: &Value, problems: &mut Problems) {
    // Collecting errors costs more than a yes/no answer; most envelopes need only the answer.
    if validator().is_valid(envelope) {
        return;
    }
    for error in validator().iter_errors(envelope) {
        explain(&error, problems);
    }
}

fn explain(error: &ValidationError<'_>, problems: &mut Problems) {
    let path = error.instance_path().as_str().to_owned();
    let instance = error.instance();
    let message = match error.kind() {
        // The schema describes the envelope only (items are the Caliper model's business), so
        // required and unexpected properties are always the envelope's.
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            problems.push(Problem::new(
                pointer_join(&path, name),
                format!("`{name}` is required but missing from the envelope"),
            ));
            return;
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for name in unexpected {
                problems.push(Problem::new(
                    pointer_join(&path, name),
                    format!("`{name}` is not a property of the envelope"),
                ));
            }
            return;
        }
        ValidationErrorKind::Type { kind } => {
            format!(
                "expected {}, found {}",
                expected_types(kind),
                json_type(instance)
            )
        }
        ValidationErrorKind::Format { format } => {
            format!(
                "expected {}, found {}",
                formats::expectation(format),
                found(instance)
            )
        }
        ValidationErrorKind::Constant { expected_value } => {
            format!(
                "expected {}, found {}",
                found(expected_value),
                found(instance)
            )
        }
        ValidationErrorKind::Enum { options } => {
            let list: Vec<String> = options
                .as_array()
                .map(|items| items.iter().filter_map(Value::as_str).map(quoted).collect())
                .unwrap_or_default();
            format!(
                "expected one of {}, found {}",
                list.join(", "),
                found(instance)
            )
        }
        ValidationErrorKind::MinItems { limit } => {
            format!("expected at least {limit} item(s), found an empty array")
        }
        _ => format!("{error}"),
    };
    problems.push(Problem::new(path, message));
}

fn expected_types(kind: &TypeKind) -> String {
    let names = match kind {
        TypeKind::Single(t) => vec![t.to_string()],
        TypeKind::Multiple(ts) => ts.iter().map(|t| t.to_string()).collect(),
    };
    let worded: Vec<String> = names
        .iter()
        .map(|n| match n.as_str() {
            "object" => "an object".to_owned(),
            "array" => "an array".to_owned(),
            "integer" => "an integer".to_owned(),
            other => format!("a {other}"),
        })
        .collect();
    worded.join(" or ")
}

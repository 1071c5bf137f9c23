//! Short descriptions of found values, for error messages.
use serde_json::Value;

const MAX_SHOWN: usize = 60;

/// `"abc"`, `42`, `true`, `null`, `an object`, `an array`: what a user would recognise.
pub fn found(value: &Value) -> String {
    match value {
        Value::String(s) => quoted(s),
        Value::Object(_) => "an object".into(),
        Value::Array(_) => "an array".into(),
        other => other.to_string(),
    }
}

/// A string in quotes, shortened so that one huge value cannot flood an error response.
pub fn quoted(s: &str) -> String {
    if s.chars().count() <= MAX_SHOWN {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX_SHOWN).collect();
        format!("{head:?}… ({} characters)", s.chars().count())
    }
}

/// The JSON type name of a value.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

//! Size and depth limits, checked before and after parsing so that no parser limit ever answers.

use std::io::Write;

use serde_json::Value;

use crate::problem::{Problem, Problems};

/// What one request may carry. Every field has a documented default and an environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `CALIPER_MAX_BODY_BYTES`: the largest request body (answered with 413 beyond it).
    pub max_body_bytes: usize,
    /// `CALIPER_MAX_EVENTS`: the most items in one envelope's `data`.
    pub max_items: usize,
    /// `CALIPER_MAX_ITEM_BYTES`: the largest single item of `data`, as compact JSON. Must stay below the
    /// queue's message size, since an envelope is split between items, never inside one.
    pub max_item_bytes: usize,
    /// `CALIPER_MAX_DEPTH`: the deepest nesting of arrays and objects in a body.
    pub max_depth: usize,
    /// `CALIPER_MAX_STRING_BYTES`: the longest string (value or key) in an item, in UTF-8 bytes.
    pub max_string_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 5 * 1024 * 1024,
            max_items: 1000,
            max_item_bytes: 256 * 1024,
            max_depth: 32,
            max_string_bytes: 64 * 1024,
        }
    }
}

impl Limits {
    /// Hard ceilings: the depth stays under serde_json's own recursion limit (128), an item under
    /// one SQS message (1 MiB) with room for the message's own fields, and the item count so that
    /// a job's results are kept in one DynamoDB item (400 KB), about 90 bytes an event.
    const DEPTH_CEILING: usize = 100;
    const ITEM_CEILING: usize = 900 * 1024;
    const ITEMS_CEILING: usize = 4000;

    /// Reads the limits from the environment; unset or unparsable variables keep their defaults.
    pub fn from_env() -> Self {
        let d = Self::default();
        let read = |name: &str, default: usize| -> usize {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        };
        Self {
            max_body_bytes: read("CALIPER_MAX_BODY_BYTES", d.max_body_bytes),
            max_items: read("CALIPER_MAX_EVENTS", d.max_items).min(Self::ITEMS_CEILING),
            max_item_bytes: read("CALIPER_MAX_ITEM_BYTES", d.max_item_bytes)
                .min(Self::ITEM_CEILING),
            max_depth: read("CALIPER_MAX_DEPTH", d.max_depth).min(Self::DEPTH_CEILING),
            max_string_bytes: read("CALIPER_MAX_STRING_BYTES", d.max_string_bytes),
        }
    }
}

/// Why a body could not even be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseRejection {
    TooLarge { limit: usize, size: usize },
    TooDeep { limit: usize, offset: usize },
    NotJson { message: String },
}

impl ParseRejection {
    pub fn message(&self) -> String {
        match self {
            Self::TooLarge { limit, size } => {
                format!("The request body is {size} bytes; at most {limit} bytes are accepted. Send fewer events per envelope.")
            }
            Self::TooDeep { limit, offset } => format!(
                "The request body nests arrays and objects more than {limit} levels deep (at byte {offset}); flatten the data."
            ),
            Self::NotJson { message } => format!("The request body is not valid JSON: {message}"),
        }
    }
}

/// Parses a request body within the limits: size first, then depth (scanned without recursion),
/// and only then serde_json, whose recursion limit is therefore never reached.
pub fn parse_json(body: &[u8], limits: &Limits) -> Result<Value, ParseRejection> {
    if body.len() > limits.max_body_bytes {
        return Err(ParseRejection::TooLarge {
            limit: limits.max_body_bytes,
            size: body.len(),
        });
    }
    if let Some(offset) = depth_exceeded_at(body, limits.max_depth) {
        return Err(ParseRejection::TooDeep {
            limit: limits.max_depth,
            offset,
        });
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseRejection::NotJson {
            message: "the body is empty; send a Caliper envelope".into(),
        });
    }
    serde_json::from_slice(body).map_err(|e| ParseRejection::NotJson {
        message: e.to_string(),
    })
}

/// The byte offset where nesting first exceeds `max_depth`, if it does. Brackets inside strings
/// do not count; the scan is linear and allocation-free.
fn depth_exceeded_at(body: &[u8], max_depth: usize) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (offset, &byte) in body.iter().enumerate() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    return Some(offset);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Limits on a parsed envelope: how many items, how large each one is, and how long its strings.
pub fn check_envelope(envelope: &Value, limits: &Limits, problems: &mut Problems) {
    let Some(items) = envelope.get("data").and_then(Value::as_array) else {
        return;
    };
    if items.len() > limits.max_items {
        problems.push(Problem::new(
            "/data",
            format!("expected at most {} items per envelope, found {}; split them across several envelopes", limits.max_items, items.len()),
        ));
    }
    for (index, item) in items.iter().enumerate() {
        let size = compact_size(item);
        if size > limits.max_item_bytes {
            problems.push(Problem::new(
                format!("/data/{index}"),
                format!("this item is {size} bytes as compact JSON; at most {} bytes are accepted per item", limits.max_item_bytes),
            ));
        }
        if has_long_string(item, limits.max_string_bytes) {
            long_strings(
                item,
                &mut format!("/data/{index}"),
                limits.max_string_bytes,
                problems,
            );
        }
    }
}

/// Whether any string value or key under `value` is longer than `max` bytes: a walk without
/// paths, so that the common case costs no allocation.
fn has_long_string(value: &Value, max: usize) -> bool {
    match value {
        Value::String(s) => s.len() > max,
        Value::Array(items) => items.iter().any(|item| has_long_string(item, max)),
        Value::Object(map) => map
            .iter()
            .any(|(key, item)| key.len() > max || has_long_string(item, max)),
        _ => false,
    }
}

/// Reports every string value or key longer than `max` bytes under `value`.
fn long_strings(value: &Value, path: &mut String, max: usize, problems: &mut Problems) {
    let too_long = |path: &str, what: &str, len: usize| {
        Problem::new(
            path,
            format!("this {what} is {len} bytes long; at most {max} bytes are accepted per string"),
        )
    };
    match value {
        Value::String(s) if s.len() > max => problems.push(too_long(path, "string", s.len())),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("/{index}"));
                long_strings(item, path, max, problems);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                *path = crate::problem::pointer_join(path, key);
                if key.len() > max {
                    problems.push(too_long(path, "property name", key.len()));
                }
                long_strings(item, path, max, problems);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// The length of a value serialised as compact JSON, counted without building the string.
pub fn compact_size(value: &Value) -> usize {
    struct Counter(usize);
    impl Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Serialising a Value into a writer that never fails cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_checked_before_parsing() {
        let limits = Limits {
            max_depth: 4,
            ..Limits::default()
        };
        assert!(parse_json(b"[[[[1]]]]", &limits).is_ok());
        assert_eq!(
            parse_json(b"[[[[[1]]]]]", &limits),
            Err(ParseRejection::TooDeep {
                limit: 4,
                offset: 4
            })
        );
        let deep = "[".repeat(100_000);
        assert!(matches!(
            parse_json(deep.as_bytes(), &Limits::default()),
            Err(ParseRejection::TooDeep { .. })
        ));
    }

    #[test]
    fn brackets_in_strings_do_not_count() {
        let limits = Limits {
            max_depth: 2,
            ..Limits::default()
        };
        assert!(parse_json(br#"{"a": "[[[[{{{{\"[[["}"#, &limits).is_ok());
    }

    #[test]
    fn size_empty_and_garbage() {
        let limits = Limits {
            max_body_bytes: 10,
            ..Limits::default()
        };
        assert_eq!(
            parse_json(b"[1,2,3,4,5,6]", &limits),
            Err(ParseRejection::TooLarge {
                limit: 10,
                size: 13
            })
        );
        assert!(matches!(
            parse_json(b"  ", &limits),
            Err(ParseRejection::NotJson { .. })
        ));
        assert!(matches!(
            parse_json(b"{\"a\":", &limits),
            Err(ParseRejection::NotJson { .. })
        ));
        assert!(matches!(
            parse_json(&[0xff, 0xfe], &limits),
            Err(ParseRejection::NotJson { .. })
        ));
    }

    #[test]
    fn compact_size_matches_serialisation() {
        let v: Value = serde_json::json!({"a": [1, "two", {"three": null}]});
        assert_eq!(
            compact_size(&v),
            serde_json::to_vec(&v).map(|b| b.len()).unwrap_or(0)
        );
    }
}

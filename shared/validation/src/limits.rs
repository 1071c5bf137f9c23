//! Size and depth limits, checked before and after parsing so that no parser limit ever answers.

use std::io::Write;

use serde_json::Value;

use crate::problem::{Problem, Problems};

/// What one request may carry. Every field has a documented default and a setting
/// (`caliper_core::settings::limits` reads them).
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
    pub const DEPTH_CEILING: usize = 100;
    pub const ITEM_CEILING: usize = 900 * 1024;
    pub const ITEMS_CEILING: usize = 4000;
}

/// Why a body could not even be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseRejection {
    TooLarge {
        limit: usize,
        size: usize,
    },
    TooDeep {
        limit: usize,
        offset: usize,
    },
    NotJson {
        message: String,
    },
    /// A number that storage would not keep as sent (`numbers`): refused at its pointer.
    InexactNumber {
        problem: Problem,
    },
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
            Self::InexactNumber { problem } => format!(
                "The request body holds a number that would not be stored as sent, at {}: {}",
                problem.path, problem.message
            ),
        }
    }

    /// Where in the body the rejection points: the whole body, or the number.
    pub fn pointer(&self) -> &str {
        match self {
            Self::InexactNumber { problem } => &problem.path,
            _ => "",
        }
    }

    /// The rejection as one problem: the number's own, or the message at the body's root.
    pub fn problem(self) -> Problem {
        match self {
            Self::InexactNumber { problem } => problem,
            other => Problem::new("", other.message()),
        }
    }
}

/// Parses a request body within the limits: size first, then depth (scanned without recursion),
/// and only then serde_json, whose recursion limit is therefore never reached. A property named
/// twice in one object is refused, and so is a number storage would not keep as sent.
pub fn parse_json(body: &[u8], limits: &Limits) -> Result<Value, ParseRejection> {
    if body.len() > limits.max_body_bytes {
        return Err(ParseRejection::TooLarge {
            limit: limits.max_body_bytes,
            size: body.len(),
        });
    }
    let scan = scan(body, limits.max_depth);
    if let Some(offset) = scan.too_deep_at {
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
    let value = crate::strict_json::from_slice(body).map_err(|e| ParseRejection::NotJson {
        message: e.to_string(),
    })?;
    // Only now, the body being JSON, is the number found worth naming.
    match scan.inexact_number_at {
        Some(offset) => Err(ParseRejection::InexactNumber {
            problem: crate::numbers::problem_at(body, offset),
        }),
        None => Ok(value),
    }
}

/// What one pass over a body finds before it is parsed.
struct Scan {
    /// Where nesting first exceeds the limit (the scan stops there).
    too_deep_at: Option<usize>,
    /// Where the first number storage would not keep as sent begins.
    inexact_number_at: Option<usize>,
}

/// Scans a body once: the depth of its nesting, and its numbers. Brackets and digits inside
/// strings do not count; the scan is linear and allocation-free, and skips through strings with
/// `memchr`.
fn scan(body: &[u8], max_depth: usize) -> Scan {
    let mut depth = 0usize;
    let mut offset = 0usize;
    let mut inexact_number_at = None;
    while offset < body.len() {
        match body[offset] {
            b'"' => offset = string_end(body, offset + 1),
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    return Scan {
                        too_deep_at: Some(offset),
                        inexact_number_at,
                    };
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'-' | b'0'..=b'9' => {
                let end = crate::numbers::number_end(body, offset);
                if inexact_number_at.is_none() && !crate::numbers::kept_exactly(&body[offset..end])
                {
                    inexact_number_at = Some(offset);
                }
                offset = end;
                continue;
            }
            _ => {}
        }
        offset += 1;
    }
    Scan {
        too_deep_at: None,
        inexact_number_at,
    }
}

/// The offset of the quote that closes a string whose contents start at `from` (or the end).
pub(crate) fn string_end(body: &[u8], mut from: usize) -> usize {
    while let Some(found) = memchr::memchr2(b'"', b'\\', &body[from.min(body.len())..]) {
        let at = from + found;
        if body[at] == b'"' {
            return at;
        }
        from = at + 2; // an escape: skip the escaped byte
    }
    body.len()
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
        let (size, has_long_string) = measure(item, limits.max_string_bytes);
        if size > limits.max_item_bytes {
            problems.push(Problem::new(
                format!("/data/{index}"),
                format!("this item is {size} bytes as compact JSON; at most {} bytes are accepted per item", limits.max_item_bytes),
            ));
        }
        if has_long_string {
            long_strings(
                item,
                &mut format!("/data/{index}"),
                limits.max_string_bytes,
                problems,
            );
        }
    }
}

/// The length of a value serialised as compact JSON, counted without building the string.
pub fn compact_size(value: &Value) -> usize {
    measure(value, usize::MAX).0
}

/// In one walk: the compact JSON size of `value` (as serde_json writes it), and whether any string
/// value or key in it is longer than `max_string` bytes.
fn measure(value: &Value, max_string: usize) -> (usize, bool) {
    match value {
        Value::Null => (4, false),
        Value::Bool(b) => (if *b { 4 } else { 5 }, false),
        Value::Number(n) => (number_size(n), false),
        Value::String(s) => (string_size(s), s.len() > max_string),
        Value::Array(items) => {
            items
                .iter()
                .fold((2 + items.len().saturating_sub(1), false), |acc, item| {
                    let (size, long) = measure(item, max_string);
                    (acc.0 + size, acc.1 || long)
                })
        }
        Value::Object(map) => map.iter().fold(
            (2 + map.len().saturating_sub(1), false),
            |acc, (key, item)| {
                let (size, long) = measure(item, max_string);
                (
                    acc.0 + string_size(key) + 1 + size,
                    acc.1 || long || key.len() > max_string,
                )
            },
        ),
    }
}

/// A string's size in quotes, with serde_json's escapes.
fn string_size(s: &str) -> usize {
    let needs_escape = |b: &u8| *b < 0x20 || *b == b'"' || *b == b'\\';
    // A plain count vectorises; the exact width of each escape is needed only when there are some.
    if s.as_bytes().iter().filter(|b| needs_escape(b)).count() == 0 {
        return s.len() + 2;
    }
    let escapes: usize = s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 1,
            0..=0x1f => 5,
            _ => 0,
        })
        .sum();
    s.len() + 2 + escapes
}

fn number_size(n: &serde_json::Number) -> usize {
    let digits = |mut v: u64| {
        let mut count = 1;
        while v >= 10 {
            v /= 10;
            count += 1;
        }
        count
    };
    if let Some(v) = n.as_u64() {
        digits(v)
    } else if let Some(v) = n.as_i64() {
        1 + digits(v.unsigned_abs())
    } else {
        // Floats are few; let serde_json's own formatting say how long one is.
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
        // Writing into a counter cannot fail.
        let _ = serde_json::to_writer(&mut counter, n);
        counter.0
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
        assert!(
            parse_json(br#"{"a": "\\", "b": ["[[["]}"#, &limits).is_ok(),
            "an escaped backslash ends no string"
        );
        assert!(
            parse_json(br#"{"a": "\\", "b": [[["x"]]]}"#, &limits).is_err(),
            "nor hides brackets"
        );
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

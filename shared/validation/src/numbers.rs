//! Numbers that storage would not keep as they were sent. A body's numbers become 64-bit integers
//! or doubles: an integer beyond 64 bits, or a decimal with more precision than a double holds
//! (`0.1000000000000000000001`, `1e-400`), would be stored as another number without a word. Such
//! a number is refused (400) at its JSON pointer, as a property named twice is: what is stored
//! must be what was sent. A number a double holds exactly in its shortest form (`0.1`, `1e300`,
//! `-0.0`) is kept; so is every integer of 64 bits.

use crate::problem::pointer_join;
use crate::Problem;

/// The problem of the number that begins at `offset` of `body` (JSON that parsed), at its pointer.
pub fn problem_at(body: &[u8], offset: usize) -> Problem {
    let literal = String::from_utf8_lossy(&body[offset..number_end(body, offset)]).into_owned();
    Problem::new(
        pointer_at(body, offset),
        format!(
            "the number {} has more digits than storage keeps (a 64-bit integer, or a double's 15–17 significant digits): it would be stored as {}; send it as a string, or rounded",
            shorten(&literal),
            stored_as(&literal)
        ),
    )
}

/// Where the number that begins at `from` ends.
pub fn number_end(body: &[u8], from: usize) -> usize {
    let mut end = from;
    while end < body.len() && matches!(body[end], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
        end += 1;
    }
    end
}

/// Whether `literal` (a JSON number's bytes) is stored with the value it names.
pub fn kept_exactly(literal: &[u8]) -> bool {
    // Fast paths first, without decoding: a number of at most 15 characters, with no exponent,
    // is an integer of 64 bits or a decimal a double holds.
    if literal.len() <= 15 && !literal.iter().any(|b| matches!(b, b'e' | b'E')) {
        return true;
    }
    let Ok(literal) = std::str::from_utf8(literal) else {
        return false;
    };
    let exponent = literal.contains(['e', 'E']);
    let integer = !exponent && !literal.contains('.');
    // Fast paths: integers of 18 digits fit 64 bits; decimals of 15 digits or fewer (without an
    // exponent) round-trip through a double.
    if (!exponent && literal.len() <= 15)
        || (integer && literal.trim_start_matches('-').len() <= 18)
    {
        return true;
    }
    if integer {
        return literal.parse::<i64>().is_ok() || literal.parse::<u64>().is_ok();
    }
    let Ok(double) = literal.parse::<f64>() else {
        return false;
    };
    decimal(literal) == decimal(&format!("{double:e}"))
}

/// A decimal number's value as (negative, significant digits, exponent of the last digit); zero
/// is one value whatever its sign or form.
fn decimal(text: &str) -> (bool, String, i64) {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i64>().unwrap_or(0)),
        None => (text, 0),
    };
    let negative = mantissa.starts_with('-');
    let mantissa = mantissa.trim_start_matches(['-', '+']);
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    let mut exponent = exponent - fraction.len() as i64;
    let significant = digits.trim_start_matches('0');
    let trimmed = significant.trim_end_matches('0');
    exponent += (significant.len() - trimmed.len()) as i64;
    if trimmed.is_empty() {
        return (false, String::new(), 0);
    }
    (negative, trimmed.to_owned(), exponent)
}

/// What a number would have been stored as.
fn stored_as(literal: &str) -> String {
    literal
        .parse::<f64>()
        .map_or_else(|_| "something else".to_owned(), |d| format!("{d:e}"))
}

/// The number as a message may show it: at most 40 characters.
fn shorten(literal: &str) -> String {
    if literal.len() <= 40 {
        literal.to_owned()
    } else {
        format!("{}… ({} characters)", &literal[..32], literal.len())
    }
}

/// The JSON pointer of the value that starts at `target` in `body` (valid JSON).
fn pointer_at(body: &[u8], target: usize) -> String {
    // Each open container: its pointer, and whether it is an array (with its next index).
    enum Open {
        Object(String),
        Array(String, usize),
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut key: Option<String> = None;
    let mut offset = 0;
    let here = |stack: &[Open], key: &Option<String>| -> String {
        match stack.last() {
            None => String::new(),
            Some(Open::Object(path)) => pointer_join(path, key.as_deref().unwrap_or_default()),
            Some(Open::Array(path, index)) => pointer_join(path, &index.to_string()),
        }
    };
    while offset < body.len() {
        if offset == target {
            return here(&stack, &key);
        }
        match body[offset] {
            b'"' => {
                let end = crate::limits::string_end(body, offset + 1);
                // A string in an object, before its colon, is a key.
                let is_key = matches!(stack.last(), Some(Open::Object(_))) && key.is_none();
                if is_key {
                    let raw = &body[offset..=end.min(body.len() - 1)];
                    key = Some(serde_json::from_slice::<String>(raw).unwrap_or_default());
                }
                offset = end + 1;
                continue;
            }
            b'{' => {
                let path = here(&stack, &key);
                stack.push(Open::Object(path));
                key = None;
            }
            b'[' => {
                let path = here(&stack, &key);
                stack.push(Open::Array(path, 0));
                key = None;
            }
            b'}' | b']' => {
                stack.pop();
                key = None;
            }
            b',' => match stack.last_mut() {
                Some(Open::Array(_, index)) => *index += 1,
                _ => key = None,
            },
            _ => {}
        }
        offset += 1;
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_a_double_or_64_bits_hold_are_kept() {
        for kept in [
            "0",
            "-0",
            "-0.0",
            "1",
            "1.0",
            "0.1",
            "1e300",
            "1E-5",
            "123456789012345678",
            "9223372036854775807",
            "-9223372036854775808",
            "18446744073709551615",
            "0.30000000000000004",
            "2.5e-3",
            "1.7976931348623157e308",
            "100000000000000000000.0",
        ] {
            assert!(kept_exactly(kept.as_bytes()), "{kept}");
        }
    }

    #[test]
    fn numbers_with_more_than_storage_keeps_are_named() {
        for refused in [
            "123456789012345678901234567890123456789",
            "18446744073709551616",
            "-9223372036854775809",
            "1e-400",
            "0.1000000000000000000001",
            "3.141592653589793238462643383279",
        ] {
            assert!(!kept_exactly(refused.as_bytes()), "{refused}");
        }
    }

    #[test]
    fn the_pointer_names_the_number() {
        let at = |body: &[u8], number: &[u8]| {
            let offset = body
                .windows(number.len())
                .position(|w| w == number)
                .unwrap_or_else(|| panic!("no {number:?}"));
            problem_at(body, offset)
        };
        let body = br#"{"sensor": "s", "data": [{"a/b": [1, 2, 1e-400]}, {"x": "1e-400"}]}"#;
        let problem = at(body, b"1e-400]");
        assert_eq!(problem.path, "/data/0/a~1b/2");
        assert!(problem.message.contains("1e-400"), "{}", problem.message);
        let escaped = br#"{"k\"ey": {"n": 18446744073709551616}}"#;
        assert_eq!(at(escaped, b"1844").path, "/k\"ey/n");
        assert_eq!(at(b"99999999999999999999", b"9999").path, "");
    }

    #[test]
    fn a_body_is_refused_for_its_first_such_number_and_strings_do_not_count() {
        let limits = crate::Limits::default();
        let parse = |body: &[u8]| crate::parse_json(body, &limits);
        assert!(parse(br#"{"x": "1e-400", "y": [0.5, -3, 1e300]}"#).is_ok());
        match parse(br#"{"x": [0.1, 123456789012345678901234567890]}"#) {
            Err(crate::ParseRejection::InexactNumber { problem }) => {
                assert_eq!(problem.path, "/x/1")
            }
            other => panic!("refused at its pointer: {other:?}"),
        }
        // Not JSON at all: that is what is said, not the number.
        assert!(matches!(
            parse(b"[1e-400,"),
            Err(crate::ParseRejection::NotJson { .. })
        ));
    }
}

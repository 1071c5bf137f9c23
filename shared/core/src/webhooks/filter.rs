//! Filters compiled for matching: `filterValue` parsed once by its type, `filterKey` split into a path.
//!
//! The rules, in this crate's README's words: the key is a dotted path into the stored event (numbers index
//! arrays); the event's value is read as the filter's type (a string type also reads numbers and
//! booleans as their text; a number type also reads numeric strings; a boolean type also reads
//! "true"/"false"). A value that is missing or cannot be read as the type never matches. When the
//! value is an array, a positive operator matches when any element does, and its negation
//! (`neq`, `notContains`, `notIn`) when none does. `in`/`notIn` take a comma-separated list.

use std::cmp::Ordering;

use regex::Regex;
use serde_json::Value;

use super::model::{FilterOperator, FilterType, WebhookFilter};

/// Longest `regexp` pattern, and the compiled program's size cap: matching stays cheap and bounded.
pub const MAX_PATTERN_CHARS: usize = 512;
const MAX_PROGRAM_BYTES: usize = 256 * 1024;
/// The key a filter names an event's conformance by (see [`CompiledFilter::matches`]).
pub const CONFORMANT: &str = "conformant";
/// Deepest `filterKey` path.
pub const MAX_KEY_SEGMENTS: usize = 16;

#[derive(Debug, Clone)]
pub struct CompiledFilter {
    path: Vec<String>,
    filter_type: FilterType,
    /// The positive form of the operator; `negated` for neq, notContains and notIn.
    test: Test,
    negated: bool,
}

#[derive(Debug, Clone)]
enum Test {
    Compare(Ordering, bool, Scalar), // ordering wanted, equality also accepted
    Equal(Scalar),
    OneOf(Vec<Scalar>),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    Pattern(Regex),
}

#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Text(String),
    Number(f64),
    Boolean(bool),
}

impl Scalar {
    fn parse(text: &str, filter_type: FilterType) -> Result<Self, String> {
        match filter_type {
            FilterType::String => Ok(Self::Text(text.to_owned())),
            FilterType::Number => number(text)
                .map(Self::Number)
                .ok_or_else(|| format!("{text:?} is not a number (write it as 42, -1.5 or 2e3)")),
            FilterType::Boolean => boolean(text)
                .map(Self::Boolean)
                .ok_or_else(|| format!("{text:?} is not a boolean: write true or false")),
        }
    }

    /// The event's value read as `filter_type`, if it can be.
    fn read(value: &Value, filter_type: FilterType) -> Option<Self> {
        match (filter_type, value) {
            (FilterType::String, Value::String(s)) => Some(Self::Text(s.clone())),
            (FilterType::String, Value::Number(n)) => Some(Self::Text(n.to_string())),
            (FilterType::String, Value::Bool(b)) => Some(Self::Text(b.to_string())),
            (FilterType::Number, Value::Number(n)) => n.as_f64().map(Self::Number),
            (FilterType::Number, Value::String(s)) => number(s).map(Self::Number),
            (FilterType::Boolean, Value::Bool(b)) => Some(Self::Boolean(*b)),
            (FilterType::Boolean, Value::String(s)) => boolean(s).map(Self::Boolean),
            _ => None,
        }
    }

    fn compare(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (Self::Text(a), Self::Text(b)) => Some(a.cmp(b)),
            (Self::Number(a), Self::Number(b)) => a.partial_cmp(b),
            (Self::Boolean(a), Self::Boolean(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

fn boolean(text: &str) -> Option<bool> {
    match text.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

impl CompiledFilter {
    /// Compiles a filter, or says what is wrong with it: the first element names the field
    /// (`filterKey`, `filterValue` or `filterOperator`), the second explains.
    pub fn compile(
        key: &str,
        value: &str,
        filter_type: FilterType,
        operator: FilterOperator,
    ) -> Result<Self, (&'static str, String)> {
        use FilterOperator::*;
        let path = parse_key(key).map_err(|m| ("filterKey", m))?;
        if !filter_type.operators().contains(&operator) {
            let names: Vec<&str> = filter_type.operators().iter().map(|o| o.name()).collect();
            return Err((
                "filterOperator",
                format!(
                    "`{}` does not apply to the {} type; use one of {}",
                    operator.name(),
                    filter_type.name(),
                    names.join(", ")
                ),
            ));
        }
        let scalar = || Scalar::parse(value, filter_type).map_err(|m| ("filterValue", m));
        let test = match operator {
            Eq | Neq => Test::Equal(scalar()?),
            Gt => Test::Compare(Ordering::Greater, false, scalar()?),
            Gte => Test::Compare(Ordering::Greater, true, scalar()?),
            Lt => Test::Compare(Ordering::Less, false, scalar()?),
            Lte => Test::Compare(Ordering::Less, true, scalar()?),
            In | NotIn => Test::OneOf(
                value
                    .split(',')
                    .map(|item| Scalar::parse(item.trim(), filter_type))
                    .collect::<Result<_, _>>()
                    .map_err(|m| ("filterValue", format!("in the comma-separated list, {m}")))?,
            ),
            Contains | NotContains => Test::Contains(value.to_owned()),
            StartsWith => Test::StartsWith(value.to_owned()),
            EndsWith => Test::EndsWith(value.to_owned()),
            Regexp => Test::Pattern(pattern(value).map_err(|m| ("filterValue", m))?),
        };
        Ok(Self {
            path,
            filter_type,
            test,
            negated: matches!(operator, Neq | NotContains | NotIn),
        })
    }

    /// Compiles a stored filter (checked when it was saved).
    pub fn of(filter: &WebhookFilter) -> Result<Self, String> {
        Self::compile(
            &filter.filter_key,
            &filter.filter_value,
            filter.filter_type,
            filter.filter_operator,
        )
        .map_err(|(field, message)| format!("{field}: {message}"))
    }

    /// Whether `event` (the stored event as JSON) passes this filter.
    pub fn matches(&self, event: &Value) -> bool {
        // `conformant`: whether Caliper's model found nothing wrong with the event (a `flag`
        // client's event with `problems` is not), unless the event has a property of that name.
        let conformance;
        let found = match self.path.as_slice() {
            [key] if key == CONFORMANT && event.get(CONFORMANT).is_none() => {
                let problems = event.get("problems").and_then(Value::as_array);
                conformance = Value::Bool(problems.is_none_or(Vec::is_empty));
                Some(&conformance)
            }
            _ => self
                .path
                .iter()
                .try_fold(event, |value, segment| match value {
                    Value::Object(map) => map.get(segment),
                    Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
                    _ => None,
                }),
        };
        let Some(found) = found else {
            return false;
        };
        let candidates: Vec<Scalar> = match found {
            Value::Array(items) => items
                .iter()
                .filter_map(|v| Scalar::read(v, self.filter_type))
                .collect(),
            other => Scalar::read(other, self.filter_type).into_iter().collect(),
        };
        if candidates.is_empty() {
            return false;
        }
        let any = candidates
            .iter()
            .any(|candidate| self.test.holds(candidate));
        any != self.negated
    }
}

impl Test {
    fn holds(&self, candidate: &Scalar) -> bool {
        let text = || match candidate {
            Scalar::Text(s) => s.as_str(),
            _ => "",
        };
        match self {
            Self::Equal(value) => candidate.compare(value) == Some(Ordering::Equal),
            Self::Compare(wanted, or_equal, value) => match candidate.compare(value) {
                Some(Ordering::Equal) => *or_equal,
                Some(order) => order == *wanted,
                None => false,
            },
            Self::OneOf(values) => values
                .iter()
                .any(|v| candidate.compare(v) == Some(Ordering::Equal)),
            Self::Contains(part) => text().contains(part.as_str()),
            Self::StartsWith(part) => text().starts_with(part.as_str()),
            Self::EndsWith(part) => text().ends_with(part.as_str()),
            Self::Pattern(regex) => regex.is_match(text()),
        }
    }
}

fn parse_key(key: &str) -> Result<Vec<String>, String> {
    let path: Vec<String> = key.split('.').map(str::to_owned).collect();
    if path.iter().any(String::is_empty) {
        return Err(format!(
            "{key:?} is not a dotted path: write field names separated by single dots, e.g. actor.email"
        ));
    }
    if path.len() > MAX_KEY_SEGMENTS {
        return Err(format!(
            "the path has {} segments; at most {MAX_KEY_SEGMENTS} are allowed",
            path.len()
        ));
    }
    Ok(path)
}

fn pattern(source: &str) -> Result<Regex, String> {
    let chars = source.chars().count();
    if chars > MAX_PATTERN_CHARS {
        return Err(format!(
            "the regular expression has {chars} characters; at most {MAX_PATTERN_CHARS} are allowed"
        ));
    }
    regex::RegexBuilder::new(source)
        .size_limit(MAX_PROGRAM_BYTES)
        .dfa_size_limit(MAX_PROGRAM_BYTES)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => {
                "the regular expression is too complex to match cheaply; simplify it".to_owned()
            }
            other => format!("not a valid regular expression: {other}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "id": 7, "type": "AssessmentEvent", "sensor": "https://example.edu/sensor",
            "actor": {"id": "https://example.edu/u/1", "email": "Ann@Example.edu", "age": 17, "verified": true},
            "object": {"subject": "Math", "score": "92.5", "tags": ["algebra", "grade-9"], "scores": [3, 9]},
            "extensions": {"flag": "false", "nothing": null}
        })
    }

    fn matches(key: &str, value: &str, t: FilterType, op: FilterOperator) -> bool {
        CompiledFilter::compile(key, value, t, op)
            .unwrap_or_else(|e| panic!("{key} {value}: {e:?}"))
            .matches(&event())
    }

    use FilterOperator::*;
    use FilterType::{Boolean, Number, String as Text};

    #[test]
    fn conformance_is_whether_the_event_has_problems() {
        let conformant = |event: &Value, wanted: &str| {
            CompiledFilter::compile(CONFORMANT, wanted, Boolean, Eq)
                .unwrap_or_else(|e| panic!("{e:?}"))
                .matches(event)
        };
        let mut flagged = event();
        assert!(conformant(&flagged, "true") && !conformant(&flagged, "false"));
        flagged["problems"] = json!([{"path": "/object/type", "message": "unknown"}]);
        assert!(conformant(&flagged, "false") && !conformant(&flagged, "true"));
    }

    #[test]
    fn every_string_operator() {
        let cases = [
            (Eq, "AssessmentEvent", true),
            (Eq, "assessmentevent", false),
            (Neq, "NavigationEvent", true),
            (Neq, "AssessmentEvent", false),
            (Gt, "Assessment", true),
            (Gt, "B", false),
            (Gte, "AssessmentEvent", true),
            (Lt, "B", true),
            (Lt, "AssessmentEvent", false),
            (Lte, "AssessmentEvent", true),
            (Contains, "ssmentEv", true),
            (Contains, "Navigation", false),
            (NotContains, "Navigation", true),
            (NotContains, "Event", false),
            (In, "NavigationEvent, AssessmentEvent", true),
            (In, "NavigationEvent,GradeEvent", false),
            (NotIn, "NavigationEvent,GradeEvent", true),
            (NotIn, "AssessmentEvent", false),
            (StartsWith, "Assess", true),
            (StartsWith, "Event", false),
            (EndsWith, "Event", true),
            (EndsWith, "Assess", false),
            (Regexp, "^Assess.*Event$", true),
            (Regexp, "^Event", false),
        ];
        for (op, value, expected) in cases {
            assert_eq!(
                matches("type", value, Text, op),
                expected,
                "type {} {value:?}",
                op.name()
            );
        }
    }

    #[test]
    fn every_number_operator_compares_numbers_not_text() {
        let cases = [
            ("actor.age", Eq, "17", true),
            ("actor.age", Eq, "17.0", true),
            ("actor.age", Neq, "18", true),
            ("actor.age", Neq, "17", false),
            ("actor.age", Gt, "9", true), // as text, "17" < "9"
            ("actor.age", Gt, "17", false),
            ("actor.age", Gte, "17", true),
            ("actor.age", Lt, "100", true),
            ("actor.age", Lt, "17", false),
            ("actor.age", Lte, "17", true),
            ("actor.age", In, "1, 17, 30", true),
            ("actor.age", In, "1,30", false),
            ("actor.age", NotIn, "1,30", true),
            ("actor.age", NotIn, "17", false),
            ("object.score", Gte, "92.5", true), // a numeric string reads as a number
            ("object.score", Gt, "100", false),
        ];
        for (key, op, value, expected) in cases {
            assert_eq!(
                matches(key, value, Number, op),
                expected,
                "{key} {} {value}",
                op.name()
            );
        }
    }

    #[test]
    fn every_boolean_operator() {
        assert!(matches("actor.verified", "true", Boolean, Eq));
        assert!(!matches("actor.verified", "false", Boolean, Eq));
        assert!(matches("actor.verified", "false", Boolean, Neq));
        assert!(!matches("actor.verified", "true", Boolean, Neq));
        assert!(
            matches("extensions.flag", "false", Boolean, Eq),
            "\"false\" reads as a boolean"
        );
    }

    #[test]
    fn arrays_match_by_any_element_and_negations_by_none() {
        assert!(matches("object.tags", "algebra", Text, Eq));
        assert!(matches("object.tags", "grade", Text, StartsWith));
        assert!(!matches("object.tags", "algebra", Text, Neq));
        assert!(matches("object.tags", "geometry", Text, NotIn));
        assert!(matches("object.scores", "5", Number, Gt));
        assert!(!matches("object.scores", "9", Number, Gt));
        assert!(
            matches("object.tags.1", "grade-9", Text, Eq),
            "numbers index arrays"
        );
    }

    #[test]
    fn a_missing_or_unreadable_value_never_matches() {
        for op in [Eq, Neq, NotContains, NotIn, Regexp] {
            assert!(!matches("actor.phone", "x", Text, op), "{}", op.name());
            assert!(
                !matches("extensions.nothing", "x", Text, op),
                "{}",
                op.name()
            );
            assert!(!matches("type.deeper", "x", Text, op), "{}", op.name());
        }
        assert!(
            !matches("object.subject", "1", Number, Neq),
            "Math is not a number"
        );
        assert!(!matches("actor.email", "true", Boolean, Neq));
    }

    #[test]
    fn values_operators_keys_and_patterns_are_checked_when_compiled() {
        let refused = |key: &str, value: &str, t, op| {
            CompiledFilter::compile(key, value, t, op)
                .err()
                .unwrap_or_else(|| panic!("{key} {value} compiled"))
        };
        assert_eq!(refused("actor.age", "old", Number, Gt).0, "filterValue");
        assert_eq!(refused("actor.age", "1,x", Number, In).0, "filterValue");
        assert_eq!(refused("actor.age", "NaN", Number, Eq).0, "filterValue");
        assert_eq!(refused("a", "yes", Boolean, Eq).0, "filterValue");
        assert_eq!(refused("a", "1", Number, Contains).0, "filterOperator");
        assert_eq!(refused("a", "true", Boolean, Gt).0, "filterOperator");
        assert_eq!(refused("actor..email", "x", Text, Eq).0, "filterKey");
        assert_eq!(refused(&"a.".repeat(20), "x", Text, Eq).0, "filterKey");
        assert_eq!(refused("type", "(unclosed", Text, Regexp).0, "filterValue");
        let long = "a".repeat(MAX_PATTERN_CHARS + 1);
        assert_eq!(refused("type", &long, Text, Regexp).0, "filterValue");
        let (_, message) = refused("type", "(a{1000}){1000}", Text, Regexp);
        assert!(message.contains("too complex"), "{message}");
    }
}

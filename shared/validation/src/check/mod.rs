//! Checks the items of `data` against the Caliper model in `crate::model`, collecting every
//! problem with a JSON pointer to where it is.

mod entity;
mod event;
mod words;

use std::fmt::Write;

use serde_json::Value;

use crate::describe::{found, quoted};
use crate::formats;
use crate::model::vocabulary::CONTEXT_V1P2;
use crate::problem::{Problem, Problems};

/// Checks every item of the envelope's `data` (structure above it is the schema's business).
pub fn items(envelope: &Value, problems: &mut Problems) {
    let Some(items) = envelope.get("data").and_then(Value::as_array) else {
        return;
    };
    let mut checker = Checker {
        path: String::from("/data"),
        problems,
        custom_metrics: false,
    };
    for (index, item) in items.iter().enumerate() {
        if let Value::Object(map) = item {
            checker.at_index(index, |c| {
                if crate::is_event(item) {
                    c.event(map);
                } else {
                    c.entity(map, None, true);
                }
            });
        }
    }
}

/// A walk through one document: where we are, and what was found wrong so far.
struct Checker<'p> {
    path: String,
    problems: &'p mut Problems,
    /// Set while inside the `generated` entity of an event that allows custom metrics.
    custom_metrics: bool,
}

impl Checker<'_> {
    /// Runs `check` one property deeper.
    fn at(&mut self, token: &str, check: impl FnOnce(&mut Self)) {
        let len = self.path.len();
        self.path.push('/');
        if token.contains(['~', '/']) {
            self.path
                .push_str(&token.replace('~', "~0").replace('/', "~1"));
        } else {
            self.path.push_str(token);
        }
        check(self);
        self.path.truncate(len);
    }

    /// Runs `check` one array element deeper.
    fn at_index(&mut self, index: usize, check: impl FnOnce(&mut Self)) {
        let len = self.path.len();
        // Writing to a String cannot fail.
        let _ = write!(self.path, "/{index}");
        check(self);
        self.path.truncate(len);
    }

    fn report(&mut self, message: String) {
        self.problems.push(Problem::new(self.path.clone(), message));
    }

    fn report_at(&mut self, token: &str, message: String) {
        self.at(token, |c| c.report(message));
    }

    fn missing(&mut self, name: &str, owner: &str) {
        self.report_at(
            name,
            format!("`{name}` is required but missing from {owner}"),
        );
    }

    /// `@context` of a top-level item: the Caliper 1.2 context, alone or last in an array of
    /// contexts; an inline context object is also accepted.
    fn top_level_context(&mut self, value: &Value) {
        let expectation = format!("the Caliper 1.2 context {}", quoted(CONTEXT_V1P2));
        match value {
            Value::String(s) if s == CONTEXT_V1P2 => {}
            Value::String(_) => self.report(format!("expected {expectation}, found {}", found(value))),
            Value::Array(contexts) => {
                if contexts.last().and_then(Value::as_str) != Some(CONTEXT_V1P2) {
                    self.report(format!(
                        "expected {expectation} as the last of the listed contexts, so that Caliper terms keep their meaning"
                    ));
                }
                for (index, context) in contexts.iter().enumerate() {
                    self.at_index(index, |c| c.local_context(context));
                }
            }
            Value::Object(_) => {}
            _ => self.report(format!(
                "expected {expectation}, an array of contexts ending with it, or an inline context object, found {}",
                found(value)
            )),
        }
    }

    /// A nested `@context`: a context IRI, an inline context object, or an array of them.
    fn local_context(&mut self, value: &Value) {
        match value {
            Value::String(s) if formats::is_iri(s) => {}
            Value::Object(_) => {}
            Value::Array(contexts) => {
                for (index, context) in contexts.iter().enumerate() {
                    self.at_index(index, |c| c.local_context(context));
                }
            }
            _ => self.report(format!(
                "expected a context IRI, an inline context object or an array of them, found {}",
                found(value)
            )),
        }
    }
}

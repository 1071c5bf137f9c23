//! Checks the items of `data` against the Caliper model in `crate::model`, collecting every
//! problem with a JSON pointer to where it is.

mod entity;
mod event;
mod words;

use std::fmt::Write;

use serde_json::Value;

use crate::describe::{found, quoted};
use crate::formats;
use crate::model::{vocabulary, Model, Version};
use crate::problem::{Problem, Problems};

/// Checks every item of the envelope's `data` against the model of `version` (structure above it
/// is the schema's business).
pub fn items(envelope: &Value, version: Version, problems: &mut Problems) {
    let Some(items) = envelope.get("data").and_then(Value::as_array) else {
        return;
    };
    let mut checker = Checker {
        model: Model::of(version),
        path: String::from("/data"),
        problems,
        custom_metrics: false,
        other_contexts: false,
    };
    for (index, item) in items.iter().enumerate() {
        if let Value::Object(map) = item {
            checker.other_contexts = adds_contexts(map.get("@context"));
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

/// Checks one item alone against the model of `version`, its problems' paths from the item
/// (`/actor/type`): the `flag` policy keeps each event's problems with it.
pub fn item(item: &Value, version: Version, problems: &mut Problems) {
    let Value::Object(map) = item else {
        return;
    };
    let mut checker = Checker {
        model: Model::of(version),
        path: String::new(),
        problems,
        custom_metrics: false,
        other_contexts: adds_contexts(map.get("@context")),
    };
    if crate::is_event(item) {
        checker.event(map);
    } else {
        checker.entity(map, None, true);
    }
}

/// A walk through one document: where we are, and what was found wrong so far.
struct Checker<'p> {
    model: &'static Model,
    path: String,
    problems: &'p mut Problems,
    /// Set while inside the `generated` entity of an event that allows custom metrics.
    custom_metrics: bool,
    /// Whether the current item's `@context` brings contexts besides Caliper's, which may define
    /// entity types of their own.
    other_contexts: bool,
}

/// The other Caliper version whose model `defines` something, for telling a sender which version
/// a misplaced type belongs to.
fn other_version(current: Version, defines: impl Fn(&Model) -> bool) -> Option<Version> {
    Version::ALL
        .into_iter()
        .find(|v| *v != current && defines(Model::of(*v)))
}

/// Whether a top-level `@context` lists contexts besides Caliper's (remote or inline).
fn adds_contexts(context: Option<&Value>) -> bool {
    match context {
        Some(Value::Array(contexts)) => contexts.iter().any(|c| {
            c.as_str()
                .is_none_or(|s| vocabulary::context_version(s).is_none())
        }),
        Some(Value::Object(_)) => true,
        _ => false,
    }
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

    /// `@context` of a top-level item: the context of the envelope's version (or, in 1.1, of one
    /// of its profile extensions), alone or last in an array of contexts; an inline context object
    /// is also accepted.
    fn top_level_context(&mut self, value: &Value) {
        let version = self.model.version;
        let expectation = format!(
            "the Caliper {} context {}",
            version.number(),
            quoted(version.context())
        );
        let own = |s: &str| vocabulary::context_version(s) == Some(version);
        match value {
            Value::String(s) if own(s) => {}
            Value::String(s) => self.report(self.context_mismatch(s, &expectation)),
            Value::Array(contexts) => {
                match contexts.last() {
                    Some(Value::String(s)) if own(s) => {}
                    Some(Value::String(s)) if vocabulary::context_version(s).is_some() => {
                        self.report(self.context_mismatch(s, &expectation))
                    }
                    _ => self.report(format!(
                        "expected {expectation} as the last of the listed contexts, so that Caliper terms keep their meaning"
                    )),
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

    /// Why a context string is not the envelope version's.
    fn context_mismatch(&self, context: &str, expectation: &str) -> String {
        match vocabulary::context_version(context) {
            Some(other) => format!(
                "this item is Caliper {} ({}), but the envelope's dataVersion is Caliper {}; send it in an envelope of its own version, or use {expectation}",
                other.number(),
                quoted(context),
                self.model.version.number()
            ),
            None => format!("expected {expectation}, found {}", quoted(context)),
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

//! A management request's JSON body, read field by field: each problem is kept with its JSON
//! pointer, in words a user can act on, and all are reported together.

use caliper_validation::{json_type, Problem};
use serde_json::{Map, Value};

pub(crate) struct Fields<'a> {
    object: &'a Map<String, Value>,
    pub(crate) problems: Vec<Problem>,
}

impl<'a> Fields<'a> {
    /// The fields of `body`, an object describing a `what`: a problem for each name neither
    /// `known` nor `read_only` (fields a client may send back as it read them, ignored).
    pub(crate) fn of(
        body: &'a Value,
        what: &str,
        known: &[&str],
        read_only: &[&str],
    ) -> Result<Self, Vec<Problem>> {
        let Some(object) = body.as_object() else {
            return Err(vec![Problem::new(
                "",
                format!("The body must be a JSON object describing the {what}"),
            )]);
        };
        let problems = object
            .keys()
            .filter(|k| !known.contains(&k.as_str()) && !read_only.contains(&k.as_str()))
            .map(|k| {
                Problem::new(
                    pointer(k),
                    format!(
                        "`{k}` is not a property of a {what}; it has {}",
                        known.join(", ")
                    ),
                )
            })
            .collect();
        Ok(Self { object, problems })
    }

    pub(crate) fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    pub(crate) fn problem(&mut self, name: &str, message: impl Into<String>) {
        self.problems.push(Problem::new(pointer(name), message));
    }

    /// A required, non-empty string of at most `max` characters.
    pub(crate) fn text(&mut self, name: &str, max: usize) -> Option<String> {
        match self.object.get(name) {
            None | Some(Value::Null) => {
                self.problem(name, format!("`{name}` is required"));
                None
            }
            Some(value) => self.string(name, value, max),
        }
    }

    /// A string when present; missing or null is none.
    pub(crate) fn optional_text(&mut self, name: &str, max: usize) -> Option<String> {
        match self.object.get(name) {
            None | Some(Value::Null) => None,
            Some(value) => self.string(name, value, max),
        }
    }

    pub(crate) fn string(&mut self, name: &str, value: &Value, max: usize) -> Option<String> {
        let Some(text) = value.as_str() else {
            self.problem(
                name,
                format!("`{name}` must be a string, not {}", json_type(value)),
            );
            return None;
        };
        if text.trim().is_empty() {
            self.problem(name, format!("`{name}` must not be empty"));
            return None;
        }
        let chars = text.chars().count();
        if chars > max {
            self.problem(
                name,
                format!("`{name}` has {chars} characters; at most {max} are allowed"),
            );
            return None;
        }
        Some(text.to_owned())
    }

    pub(crate) fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.object.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            None | Some(Value::Null) => {
                self.problem(name, format!("`{name}` is required: true or false"));
                None
            }
            Some(other) => {
                self.problem(
                    name,
                    format!("`{name}` must be true or false, not {}", json_type(other)),
                );
                None
            }
        }
    }

    pub(crate) fn choice<T: Copy>(
        &mut self,
        name: &str,
        options: &[T],
        label: fn(T) -> &'static str,
    ) -> Option<T> {
        let text = self.text(name, 64)?;
        let found = options.iter().copied().find(|o| label(*o) == text);
        if found.is_none() {
            let names: Vec<&str> = options.iter().map(|o| label(*o)).collect();
            self.problem(name, format!("{text:?} is not one of {}", names.join(", ")));
        }
        found
    }
}

/// The JSON pointer of a top-level field (RFC 6901 escapes).
pub(crate) fn pointer(name: &str) -> String {
    format!("/{}", name.replace('~', "~0").replace('/', "~1"))
}

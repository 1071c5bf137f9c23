//! Typed settings from named variables, each checked when read: a value that does not parse, or
//! lies outside what the setting allows, is an error that names the variable. Nothing here reads
//! the process environment: the binaries hand a reader in once, at start-up
//! (`caliper_runtime::settings`), and pass the typed values on.

use std::fmt::Display;
use std::str::FromStr;

use caliper_validation::Limits;

/// A setting that is missing or unusable, named so that the operator can fix it.
#[derive(Clone, PartialEq, Eq)]
pub struct SettingError(pub String);

/// A `main` that fails with it prints it with `Debug`: the message as it is, for the log.
impl std::fmt::Debug for SettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Display for SettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SettingError {}

/// How a variable is looked up by name.
type Read<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Named variables, read through `read` (the environment, or a test's table).
pub struct Vars<'a> {
    read: Read<'a>,
}

impl<'a> Vars<'a> {
    pub fn new(read: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Self {
            read: Box::new(read),
        }
    }

    /// A table of `(name, value)` pairs, for tests.
    pub fn from_pairs(pairs: &'a [(&'a str, &'a str)]) -> Self {
        Self::new(move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    /// The variable's value, trimmed; none when unset or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        (self.read)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A whole number from `least` to `most`; `default` when unset.
    pub fn number<T>(&self, name: &str, default: T, least: T, most: T) -> Result<T, SettingError>
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let Some(text) = self.text(name) else {
            return Ok(default);
        };
        text.parse()
            .ok()
            .filter(|n| *n >= least && *n <= most)
            .ok_or_else(|| {
                SettingError(format!(
                    "{name} is {text:?}: it must be a whole number from {least} to {most}"
                ))
            })
    }

    /// `true` or `false`; `default` when unset.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, SettingError> {
        match self.text(name).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(SettingError(format!(
                "{name} is {other:?}: it must be true or false"
            ))),
        }
    }
}

/// What one request may carry: `CALIPER_MAX_BODY_BYTES`, `CALIPER_MAX_EVENTS`,
/// `CALIPER_MAX_ITEM_BYTES`, `CALIPER_MAX_DEPTH`, `CALIPER_MAX_STRING_BYTES` (each documented on
/// [`Limits`]), within the ceilings the limits must stay under.
pub fn limits(vars: &Vars) -> Result<Limits, SettingError> {
    let d = Limits::default();
    Ok(Limits {
        max_body_bytes: vars.number(
            "CALIPER_MAX_BODY_BYTES",
            d.max_body_bytes,
            1024,
            usize::MAX,
        )?,
        max_items: vars.number("CALIPER_MAX_EVENTS", d.max_items, 1, Limits::ITEMS_CEILING)?,
        max_item_bytes: vars.number(
            "CALIPER_MAX_ITEM_BYTES",
            d.max_item_bytes,
            1024,
            Limits::ITEM_CEILING,
        )?,
        max_depth: vars.number("CALIPER_MAX_DEPTH", d.max_depth, 4, Limits::DEPTH_CEILING)?,
        max_string_bytes: vars.number(
            "CALIPER_MAX_STRING_BYTES",
            d.max_string_bytes,
            1,
            usize::MAX,
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_keep_their_defaults_and_refuse_what_they_cannot_be() {
        assert_eq!(limits(&Vars::from_pairs(&[])), Ok(Limits::default()));
        let set = limits(&Vars::from_pairs(&[("CALIPER_MAX_EVENTS", " 50 ")]));
        assert_eq!(set.map(|l| l.max_items), Ok(50));
        for (name, value) in [
            ("CALIPER_MAX_EVENTS", "lots"),
            ("CALIPER_MAX_EVENTS", "0"),
            ("CALIPER_MAX_DEPTH", "1000"),
            ("CALIPER_MAX_ITEM_BYTES", "-1"),
        ] {
            let error = limits(&Vars::from_pairs(&[(name, value)])).err();
            assert!(
                error
                    .as_ref()
                    .is_some_and(|e| e.0.starts_with(&format!("{name} is \"{value}\""))),
                "{name}={value}: {error:?}"
            );
        }
    }

    #[test]
    fn flags_are_true_or_false() {
        let vars = Vars::from_pairs(&[("A", "true"), ("B", "yes")]);
        assert_eq!(vars.flag("A", false), Ok(true));
        assert_eq!(vars.flag("C", false), Ok(false));
        assert!(vars.flag("B", false).is_err());
    }
}

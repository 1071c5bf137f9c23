//! Phrases for error messages: type names with their articles, lists of terms.

use crate::describe::quoted;

/// "a Person", "an Agent".
pub fn with_article(name: &str) -> String {
    let article = match name.chars().next() {
        Some('A' | 'E' | 'I' | 'O' | 'U') => "an",
        _ => "a",
    };
    format!("{article} {name}")
}

/// "a Person", "a DigitalResource or a SoftwareApplication".
pub fn one_of_types(types: &[&str]) -> String {
    let named: Vec<String> = types.iter().map(|t| with_article(t)).collect();
    named.join(" or ")
}

/// `one of "a", "b", "c"`, or `"a"` when there is only one.
pub fn one_of_terms<'a>(terms: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = terms.into_iter().map(quoted).collect();
    match quoted.as_slice() {
        [only] => only.clone(),
        _ => format!("one of {}", quoted.join(", ")),
    }
}

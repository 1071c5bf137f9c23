//! What the specification tests share: where the team's copy of the specification is, and the
//! check that every disagreement found is explained, and every explanation still needed.

#![allow(dead_code)] // each test file uses a part

use std::path::PathBuf;

/// The team's shared folder beside the repository (`../shared/caliper`), or `$CALIPER_SPEC_DIR`.
pub fn spec_dir() -> PathBuf {
    std::env::var_os("CALIPER_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/caliper")
        })
}

/// A disagreement: the type (or event) it is about, the property (or aspect), and what differs.
pub type Found = (String, String, String);

/// An explained disagreement: `(version, type, property, reason)`; `*` as the type stands for
/// every type that disagrees on that property.
pub type Explained = (&'static str, &'static str, &'static str, &'static str);

/// Fails on a disagreement `explained` does not list, and on a listed one no longer found.
pub fn assert_explained(version: &str, against: &str, found: &[Found], explained: &[Explained]) {
    let covers = |(v, t, p, _): &Explained, (ft, fp, _): &Found| {
        *v == version && (*t == ft || *t == "*") && *p == fp
    };
    let unexplained: Vec<String> = found
        .iter()
        .filter(|f| !explained.iter().any(|e| covers(e, f)))
        .map(|(t, p, what)| format!("{t} {p}: {what}"))
        .collect();
    let stale: Vec<String> = explained
        .iter()
        .filter(|e| e.0 == version && !found.iter().any(|f| covers(e, f)))
        .map(|(_, t, p, _)| format!("{t} {p}"))
        .collect();
    assert!(
        unexplained.is_empty() && stale.is_empty(),
        "Caliper {version}: {} unexplained disagreements with {against}:\n{}\nlisted but no longer disagreeing: {stale:?}",
        unexplained.len(),
        unexplained.join("\n")
    );
}

//! Our Caliper model, checked against the official JSON schemas of 1.2 and 1.1, property by
//! property.
//!
//! The schemas are read at test time as data from the team's shared folder beside the repository
//! (`../shared/caliper/schemas-v1p2` and `../shared/caliper/v1p1/schemas`, or under
//! `$CALIPER_SPEC_DIR`); they are not run (as published they do not compile as a validator). For
//! every event and entity type of a schema and every property, the kind it gives (string,
//! date-time, duration, integer, number, boolean, list, map, term set, or the entity types allowed)
//! is compared with the model's. Each disagreement is either fixed in the model or listed in
//! [`EXPLAINED`] with its reason; the test fails on any other, and on a listed one that no longer
//! disagrees.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use caliper_validation::model::{Kind, Model, Version};
use serde_json::Value;
use support::{assert_explained, spec_dir, Explained, Found};

/// What a property's value is, in the terms both the schemas and the model can be read in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Text,
    DateTime,
    Duration,
    /// xsd:integer, xsd:long.
    Integer,
    /// xsd:nonNegativeInteger.
    Count,
    /// xsd:decimal, or any number.
    Number,
    Boolean,
    Map,
    /// One of these terms; an empty set is any term of a named vocabulary.
    Terms(BTreeSet<String>),
    /// An entity of one of these (concrete) types, or its IRI.
    Entities(BTreeSet<String>),
    List(Box<Shape>),
    /// The schemas' `@context`, which the model checks by rules of its own.
    Context,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Terms(t) if t.is_empty() => write!(f, "a term"),
            Shape::Terms(t) => write!(f, "one of {t:?}"),
            Shape::Entities(t) => write!(f, "an entity of {t:?}"),
            Shape::List(inner) => write!(f, "a list of {inner}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Disagreements we keep, each with the reason (also in this crate's README, with the decisions).
/// `(version, type, property, reason)`; property `*` is the type itself.
/// `*` as the type: every type that disagrees on that property.
const EXPLAINED: &[Explained] = &[
    // Caliper 1.2
    ("1.2", "*", "otherIdentifiers", "the 1.2 text gives every Entity `otherIdentifiers` (SystemIdentifier.json is published) but no schema refers to it"),
    ("1.2", "*", "@context", "the schemas require it on every event; the API contract keeps it optional, as the seed's examples and the official clients omit it"),
    ("1.2", "*", "annotated", "the schemas' DigitalResource ranges leave out DigitalResourceCollection, Forum and Thread, which the spec makes DigitalResources"),
    ("1.2", "Attempt", "assignable", "as `annotated`: the schemas' DigitalResource range leaves out the collections"),
    ("1.2", "Message", "attachments", "as `annotated`: the schemas' DigitalResource range leaves out the collections"),
    ("1.2", "*", "objectType", "struck through (removed) in the spec text and defined by no JSON-LD context: not a property"),
    ("1.2", "Annotation", "annotator", "the spec text says Person (C.2); the schema gives Agent's range"),
    ("1.2", "Session", "user", "the spec text says Person (C.42); the schema gives Agent's range"),
    ("1.2", "AggregateMeasure", "metric", "a measure without its metric or its value says nothing; the common-error fixture caliperEntityAggregateMeasure-MalformedMetricValueNotPresent rejects a missing `metricValue`"),
    ("1.2", "AggregateMeasure", "metricValue", "as `metric`"),
    ("1.2", "Comment", "value", "the spec's Comment has `value` (its fixture caliperEntityComment sends it); the schema leaves it out"),
    ("1.2", "LtiLink", "LtiMessageType", "a misspelling in the schema: the spec and the context name the property `messageType`"),
    ("1.2", "LtiLink", "messageType", "as `LtiMessageType`"),
    ("1.2", "MultiselectScale", "orderedSelection", "a misspelling in the schema: the spec and the context name it `isOrderedSelection`"),
    ("1.2", "MultiselectScale", "isOrderedSelection", "as `orderedSelection`"),
    ("1.2", "Score", "comment", "the spec's Score has `comment`; the schema leaves it out"),
    ("1.2", "Score", "scoreType", "added by the TimebackProfile: the official Timeback clients' graded-question events send it"),
    ("1.2", "SearchResponse", "searchResults", "the spec's SearchResponse has `searchResults`; the schema leaves it out"),
    ("1.2", "Membership", "roles", "the schema's role list leaves out Manager#Manager, a LIS role the spec's own fixture caliperEnvelopeTermLISRole sends"),
    ("1.2", "SystemIdentifier", "identifierType", "the schema's enumeration stops at its first term; the spec's appendix E lists them all"),
    ("1.2", "SystemIdentifier", "source", "the spec text says SoftwareApplication | IRI; the schema says a bare object"),
    ("1.2", "TextPositionSelector", "type", "the spec requires `type`, `start` and `end` of a TextPositionSelector; its schema requires nothing"),
    ("1.2", "TextPositionSelector", "start", "as `type`"),
    ("1.2", "TextPositionSelector", "end", "as `type`"),
    ("1.2", "OutcomeEvent", "*", "deprecated by 1.1 and gone from the 1.2 context and certification guide; accepted in 1.1 envelopes"),
    ("1.2", "ReadingEvent", "*", "as OutcomeEvent"),
    ("1.2", "Reading", "*", "as OutcomeEvent"),
    ("1.2", "epubChapter", "*", "as OutcomeEvent (the spec text calls it EpubChapter)"),
    ("1.2", "epubPart", "*", "as epubChapter"),
    ("1.2", "epubSubChapter", "*", "as epubChapter"),
    ("1.2", "epubVolume", "*", "as epubChapter"),
    ("1.2", "TimebackUser", "*", "the TimebackProfile's types and events, which the official schemas do not cover"),
    ("1.2", "TimebackActivityContext", "*", "as TimebackUser"),
    ("1.2", "TimebackActivityMetricsCollection", "*", "as TimebackUser"),
    ("1.2", "TimebackTimeSpentMetricsCollection", "*", "as TimebackUser"),
    ("1.2", "ActivityEvent", "*", "as TimebackUser"),
    ("1.2", "TimebackActivityEvent", "*", "as TimebackUser"),
    ("1.2", "TimeSpentEvent", "*", "as TimebackUser"),
    ("1.2", "TimebackTimeSpentEvent", "*", "as TimebackUser"),
    // Caliper 1.1
    ("1.1", "*", "@context", "as in 1.2: the API contract keeps it optional"),
    ("1.1", "*", "profile", "not in the 1.1 schemas or context, but the spec's own 1.1 example caliperEventSubmittedMultiContext sends it: optional and checked as in 1.2"),
    ("1.1", "*", "objectType", "as in 1.2: struck through in the 1.1 text and defined by no context"),
    ("1.1", "AggregateMeasure", "metric", "the ToolUse extension context makes `metric` a term of its vocabulary (the schema says number); required as in 1.2"),
    ("1.1", "AggregateMeasure", "metricValue", "required as in 1.2"),
    ("1.1", "AggregateMeasureCollection", "items", "the spec gives a collection of measures AggregateMeasure items; the schema lists every type, and one item, not an array"),
    ("1.1", "Collection", "items", "the schema says one entity where the spec and 1.2 say an array of them"),
    ("1.1", "Assessment", "items", "the 1.1 text (C.3) says AssessmentItem; the schema gives a DigitalResourceCollection's range"),
    ("1.1", "LtiLink", "alignedLearningObjective", "the 1.1 LtiLink schema (ToolLaunch extension) says one value where every other resource has an array"),
    ("1.1", "LtiLink", "creators", "as `alignedLearningObjective`"),
    ("1.1", "LtiLink", "learningObjectives", "as `alignedLearningObjective`"),
    ("1.1", "LtiLink", "keywords", "as `alignedLearningObjective`"),
    ("1.1", "LtiLink", "messageType", "the ToolLaunch extension context makes it a term (`@vocab`): LtiResourceLinkRequest or LtiDeepLinkingRequest"),
    ("1.1", "LtiLink", "dateToActivate", "the 1.1 LtiLink schema copies 1.2's resource properties; in 1.1 only assignable resources have them (C.5)"),
    ("1.1", "LtiLink", "dateToShow", "as `dateToActivate`"),
    ("1.1", "LtiLink", "dateToStartOn", "as `dateToActivate`"),
    ("1.1", "LtiLink", "dateToSubmit", "as `dateToActivate`"),
    ("1.1", "LtiLink", "maxAttempts", "as `dateToActivate`"),
    ("1.1", "LtiLink", "maxSubmits", "as `dateToActivate`"),
    ("1.1", "LtiLink", "maxScore", "as `dateToActivate`"),
    ("1.1", "LtiLink", "storageName", "as `dateToActivate`: added by 1.2"),
    ("1.1", "Membership", "roles", "as in 1.2: the schema's role list leaves out Manager#Manager"),
    ("1.1", "Score", "attempt", "the 1.1 text's Score (C.39) has `attempt` and `comment`; the schema leaves them out"),
    ("1.1", "Score", "comment", "as `attempt`"),
    ("1.1", "TextPositionSelector", "type", "as in 1.2: the spec requires `type`, `start` and `end`"),
    ("1.1", "TextPositionSelector", "start", "as `type`"),
    ("1.1", "TextPositionSelector", "end", "as `type`"),
    ("1.1", "epubChapter", "*", "the 1.1 text names the term EpubChapter (C.15), which the model uses; the schema file spells it epubChapter"),
    ("1.1", "epubPart", "*", "as epubChapter: EpubPart"),
    ("1.1", "epubSubChapter", "*", "as epubChapter: EpubSubChapter"),
    ("1.1", "epubVolume", "*", "as epubChapter: EpubVolume"),
    ("1.1", "EpubChapter", "*", "as epubChapter"),
    ("1.1", "EpubPart", "*", "as epubChapter"),
    ("1.1", "EpubSubChapter", "*", "as epubChapter"),
    ("1.1", "EpubVolume", "*", "as epubChapter"),
];

/// One version's schema files, by the type name each defines, and the terms that its profile
/// extension contexts add (Caliper 1.1's extensions define types no 1.1 schema covers).
struct Schemas {
    files: BTreeMap<String, Value>,
    extension_terms: BTreeSet<String>,
}

/// The terms a JSON-LD context document defines.
fn context_terms(path: &std::path::Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let document: Value = serde_json::from_str(&text).expect("contexts are JSON");
    let contexts = match &document["@context"] {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    contexts
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|c| c.keys().filter(|k| !k.starts_with('@')).cloned())
        .collect()
}

impl Schemas {
    fn load(dir: &str, extensions: Option<&str>) -> Self {
        let dir = spec_dir().join(dir);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
            panic!(
                "cannot read the Caliper schemas at {} ({e}); set CALIPER_SPEC_DIR",
                dir.display()
            )
        });
        let files = entries
            .map(|entry| {
                let path = entry.expect("a directory entry").path();
                let text = std::fs::read_to_string(&path).expect("a readable schema");
                let schema: Value = serde_json::from_str(&text).expect("schemas are JSON");
                let name = path
                    .file_stem()
                    .expect("a name")
                    .to_string_lossy()
                    .into_owned();
                (name, schema)
            })
            .collect();
        let extension_terms = extensions
            .map(|folder| {
                let folder = spec_dir().join(folder);
                let mut terms = BTreeSet::new();
                for entry in std::fs::read_dir(&folder).expect("the extension contexts' folder") {
                    let path = entry.expect("a directory entry").path();
                    if path.to_string_lossy().ends_with("-extension.jsonld") {
                        terms.extend(context_terms(&path));
                    }
                }
                assert!(
                    terms.len() > 50,
                    "expected the profile extension contexts in {}",
                    folder.display()
                );
                terms
            })
            .unwrap_or_default();
        Schemas {
            files,
            extension_terms,
        }
    }

    /// The schemas of event and entity types: those whose `type` property names the type itself,
    /// and the selectors, whose files name them.
    fn types(&self) -> impl Iterator<Item = (String, &Value)> {
        self.files.iter().filter_map(|(file, schema)| {
            let Some(pattern) = schema.pointer("/properties/type/pattern") else {
                let selector = file.ends_with("Selector") && file != "Selector";
                return selector.then(|| (file.clone(), schema));
            };
            let name = pattern.as_str()?.strip_prefix('^')?.strip_suffix('$')?;
            Some((name.to_owned(), schema))
        })
    }

    /// The type a file defines, by its file name, as its `type` pattern spells it.
    fn type_name_of_file(&self, file: &str) -> Option<String> {
        let pattern = self
            .files
            .get(file)?
            .pointer("/properties/type/pattern")?
            .as_str()?;
        Some(
            pattern
                .trim_start_matches('^')
                .trim_end_matches('$')
                .to_owned(),
        )
    }

    fn shape(&self, property: &Value) -> Shape {
        if let Some(reference) = property.get("$ref").and_then(Value::as_str) {
            if let Some(definition) = reference.strip_prefix("CaliperTypeDefinitions#/") {
                let defined = self
                    .files
                    .get("CaliperTypeDefinitions")
                    .and_then(|d| d.get(definition))
                    .unwrap_or_else(|| panic!("no type definition {definition}"));
                return self.shape(defined);
            }
            let target = self.files.get(reference);
            if let Some(terms) = target.and_then(|t| t.get("enum")).and_then(Value::as_array) {
                return Shape::Terms(
                    terms
                        .iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect(),
                );
            }
            return Shape::Entities(self.type_name_of_file(reference).into_iter().collect());
        }
        if let Some(alternatives) = property
            .get("anyOf")
            .or(property.get("oneOf"))
            .and_then(Value::as_array)
        {
            let refs: Vec<&Value> = alternatives
                .iter()
                .filter(|a| a.get("$ref").is_some())
                .collect();
            if refs.is_empty() {
                return Shape::Context;
            }
            let mut types = BTreeSet::new();
            for reference in refs {
                match self.shape(reference) {
                    Shape::Entities(t) => types.extend(t),
                    other => panic!("an alternative that is not an entity: {other}"),
                }
            }
            return Shape::Entities(types);
        }
        let defined_by = property
            .get("definedBy")
            .and_then(Value::as_str)
            .and_then(|d| d.rsplit('#').next())
            .unwrap_or_default();
        match property.get("type").and_then(Value::as_str) {
            Some("string") if property.get("enum").is_some() => Shape::Terms(
                property["enum"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect(),
            ),
            Some("string")
                if defined_by == "dateTime"
                    || property.get("format").is_some_and(|f| f == "date-time") =>
            {
                Shape::DateTime
            }
            Some("string") if defined_by == "duration" => Shape::Duration,
            Some("string") => Shape::Text,
            Some("number") if defined_by == "nonNegativeInteger" => Shape::Count,
            Some("number") if ["integer", "long"].contains(&defined_by) => Shape::Integer,
            Some("number") => Shape::Number,
            Some("integer") => Shape::Integer,
            Some("boolean") => Shape::Boolean,
            Some("object") => Shape::Map,
            Some("array") => Shape::List(Box::new(
                property.get("items").map_or(Shape::Text, |i| self.shape(i)),
            )),
            other => panic!("a property of an unknown type {other:?}: {property}"),
        }
    }
}

/// The model's kind, read as a [`Shape`]: entity types are expanded to every concrete type that
/// stands in for them (the schemas list subtypes one by one).
fn model_shape(model: &Model, kind: &Kind) -> Shape {
    match kind {
        Kind::Text | Kind::Iri | Kind::EntityId => Shape::Text,
        Kind::DateTime => Shape::DateTime,
        Kind::Duration => Shape::Duration,
        Kind::Boolean => Shape::Boolean,
        Kind::Integer => Shape::Integer,
        Kind::Count | Kind::PositiveInteger => Shape::Count,
        Kind::Number | Kind::NonNegativeNumber => Shape::Number,
        Kind::Map | Kind::Object(_) => Shape::Map,
        Kind::Term(terms) => Shape::Terms(terms.iter().map(|t| t.to_string()).collect()),
        Kind::Metric => Shape::Terms(BTreeSet::new()),
        Kind::Entity(types) => Shape::Entities(subtypes(model, types)),
        Kind::List(inner) => Shape::List(Box::new(model_shape(model, inner))),
    }
}

fn subtypes(model: &Model, types: &[&str]) -> BTreeSet<String> {
    model
        .entity_types()
        .filter(|t| types.iter().any(|a| t.is_a(a)))
        .map(|t| t.name.to_owned())
        .collect()
}

/// Whether the model's shape agrees with the schema's. Entity types that only one of the two
/// defines are left out of the comparison (the type itself is reported once). Where the schema is
/// `loose` (it allows every entity type, or repeats its supertype's range instead of fixing the
/// type's own), the spec text decides the range, and the model's need only lie within the
/// schema's. A named vocabulary (`Terms` empty) agrees with any set of terms.
fn agrees(model: &Shape, schema: &Shape, both: &BTreeSet<String>, loose: bool) -> bool {
    match (model, schema) {
        (Shape::Entities(ours), Shape::Entities(theirs)) => {
            let ours: BTreeSet<_> = ours.intersection(both).collect();
            let theirs: BTreeSet<_> = theirs.intersection(both).collect();
            if loose || theirs.len() == both.len() {
                ours.is_subset(&theirs)
            } else {
                ours == theirs
            }
        }
        (Shape::Terms(_), Shape::Terms(theirs)) if theirs.is_empty() => true,
        (Shape::Terms(ours), Shape::Terms(_)) if ours.is_empty() => true,
        (Shape::List(ours), Shape::List(theirs)) => agrees(ours, theirs, both, loose),
        (ours, theirs) => ours == theirs,
    }
}

/// The entity types of `shape` (and of its list's elements) that `both` defines.
fn named(shape: &Shape, both: &BTreeSet<String>) -> Option<BTreeSet<String>> {
    match shape {
        Shape::Entities(types) => Some(types.intersection(both).cloned().collect()),
        Shape::List(inner) => named(inner, both),
        _ => None,
    }
}

/// Every disagreement between the model of `version` and its schemas, as `(type, property, what)`.
fn disagreements(version: Version, schemas: &Schemas) -> Vec<Found> {
    let model = Model::of(version);
    let every_type: BTreeSet<String> = model.entity_types().map(|t| t.name.to_owned()).collect();
    let schema_types: BTreeSet<String> = schemas.types().map(|(name, _)| name).collect();
    // Ranges are compared on the entity types both define; the schemas list concrete types in
    // them, never the root `Entity`, and never the structured values.
    // A profile extension's types are in no range of the version's schemas.
    let both: BTreeSet<String> = every_type
        .intersection(&schema_types)
        .filter(|t| *t != "Entity" && model.entity_type(t).is_some_and(|t| t.is_a("Entity")))
        .filter(|t| !schemas.extension_terms.contains(*t))
        .cloned()
        .collect();
    // A property's shape on the nearest supertype whose schema has it (`Event` for events).
    let supertype_schemas = |name: &str| -> Vec<&Value> {
        let ancestors: Vec<&str> = match model.entity_type(name) {
            Some(t) => t.ancestors[1..].to_vec(),
            None if name == "Event" => vec![],
            None => vec!["Event"],
        };
        ancestors
            .into_iter()
            .filter_map(|a| schemas.types().find(|(n, _)| n == a).map(|(_, s)| s))
            .collect()
    };
    let inherited = |name: &str, key: &str| -> Option<Shape> {
        supertype_schemas(name)
            .into_iter()
            .find_map(|s| s.get("properties")?.get(key).map(|p| schemas.shape(p)))
    };
    let mut found = Vec::new();
    let mut report =
        |t: &str, p: &str, what: String| found.push((t.to_owned(), p.to_owned(), what));
    let mut seen = BTreeSet::new();

    for (name, schema) in schemas.types() {
        seen.insert(name.clone());
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        // A schema that lists no required properties inherits its supertype's (some files were
        // published without the inherited parts).
        let required_list = std::iter::once(schema)
            .chain(supertype_schemas(&name))
            .find_map(|s| s.get("required"));
        let required: BTreeSet<&str> = required_list
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        // Our properties of this type, by name: (kind as a shape, required).
        let ours: BTreeMap<String, (Shape, bool)> = if let Some(event) = model.event_type(&name) {
            let mut ours: BTreeMap<String, (Shape, bool)> = model
                .event_properties()
                .chain(event.properties)
                .map(|p| (p.name.to_owned(), (model_shape(model, &p.kind), p.required)))
                .collect();
            let roles =
                |pick: fn(&caliper_validation::model::ActionRule) -> &'static [&'static str]| {
                    let mut types: Vec<&str> = event
                        .rules
                        .iter()
                        .flat_map(|r| pick(r).iter().copied())
                        .collect();
                    if event.rules.iter().any(|r| pick(r).is_empty()) || types.is_empty() {
                        types = vec!["Entity"];
                    }
                    Shape::Entities(subtypes(model, &types))
                };
            ours.insert("actor".into(), (roles(|r| r.actor), true));
            ours.insert("object".into(), (roles(|r| r.object), true));
            let generated_required = event
                .rules
                .iter()
                .all(|r| r.requires.contains(&"generated"));
            ours.insert(
                "generated".into(),
                (roles(|r| r.generated), generated_required),
            );
            for (key, range) in [("target", event.target), ("referrer", event.referrer)] {
                let range = if range.is_empty() {
                    &["Entity"][..]
                } else {
                    range
                };
                ours.insert(key.into(), (Shape::Entities(subtypes(model, range)), false));
            }
            ours.insert(
                "action".into(),
                (
                    Shape::Terms(event.actions().map(String::from).collect()),
                    true,
                ),
            );
            if ours.contains_key("profile") {
                let profiles = event.profiles.iter().map(|p| p.to_string()).collect();
                ours.insert("profile".into(), (Shape::Terms(profiles), false));
            }
            ours
        } else if let Some(entity) = model.entity_type(&name) {
            let mut ours: BTreeMap<String, (Shape, bool)> = entity
                .properties
                .iter()
                .map(|p| (p.name.to_owned(), (model_shape(model, &p.kind), p.required)))
                .collect();
            // The checker admits a local `@context` on every object.
            ours.entry("@context".into())
                .or_insert((Shape::Context, false));
            ours
        } else {
            report(
                &name,
                "*",
                format!("the schema defines the type {name}; the model does not"),
            );
            continue;
        };

        for (key, property) in &properties {
            if key == "type" {
                continue;
            }
            let theirs = schemas.shape(property);
            match ours.get(key) {
                None => report(
                    &name,
                    key,
                    format!("the schema has `{key}` ({theirs}); the model does not"),
                ),
                Some(_) if theirs == Shape::Context => {}
                Some((Shape::Terms(ours), _)) if key == "action" || key == "profile" => {
                    // The schemas' Action and Profile are whole vocabularies: the type's terms
                    // must be in them.
                    let Shape::Terms(all) = &theirs else {
                        report(&name, key, format!("the schema says {theirs}"));
                        continue;
                    };
                    let unknown: Vec<_> = ours
                        .difference(all)
                        .filter(|t| !schemas.extension_terms.contains(*t))
                        .collect();
                    if !unknown.is_empty() {
                        report(
                            &name,
                            key,
                            format!("{unknown:?} are not in the schema's vocabulary"),
                        );
                    }
                }
                Some((shape, _))
                    if !agrees(
                        shape,
                        &theirs,
                        &both,
                        inherited(&name, key).as_ref() == Some(&theirs),
                    ) =>
                {
                    let detail = match (named(shape, &both), named(&theirs, &both)) {
                        (Some(o), Some(t)) => format!(
                            "the model allows {:?} that the schema does not, and not {:?} that it does",
                            o.difference(&t).collect::<Vec<_>>(),
                            t.difference(&o).collect::<Vec<_>>()
                        ),
                        _ => format!("the schema says {theirs}; the model says {shape}"),
                    };
                    report(&name, key, detail);
                }
                Some(_) => {}
            }
        }
        for (key, (_, ours_required)) in &ours {
            let theirs_required = required.contains(key.as_str());
            let in_a_supertype_schema = || inherited(&name, key).is_some();
            if !properties.contains_key(key) && key != "type" {
                // Subtypes inherit every property of their supertypes: a schema that leaves an
                // inherited one out does not take it away.
                if !in_a_supertype_schema() && key != "@context" {
                    report(
                        &name,
                        key,
                        format!("the model has `{key}`; the schema does not"),
                    );
                }
            } else if *ours_required != theirs_required {
                let (ours, theirs) = (word(*ours_required), word(theirs_required));
                report(
                    &name,
                    key,
                    format!("the schema says {theirs}; the model says {ours}"),
                );
            }
        }
    }
    for name in every_type
        .iter()
        .map(String::as_str)
        .chain(model.event_type_names())
    {
        if !seen.contains(name) && !schemas.extension_terms.contains(name) {
            report(name, "*", format!("the model defines the type {name}; neither the schemas nor the profile extensions do"));
        }
    }
    found
}

fn word(required: bool) -> &'static str {
    if required {
        "required"
    } else {
        "optional"
    }
}

fn check(version: Version, dir: &str, extensions: Option<&str>) {
    let schemas = Schemas::load(dir, extensions);
    assert!(
        schemas.files.len() >= 77,
        "expected the official schemas in {dir}, found {}",
        schemas.files.len()
    );
    let found = disagreements(version, &schemas);
    assert_explained(version.number(), "the official schemas", &found, EXPLAINED);
}

#[test]
fn the_1p2_model_agrees_with_the_official_1p2_schemas() {
    check(Version::V1p2, "schemas-v1p2", None);
}

#[test]
fn the_1p1_model_agrees_with_the_official_1p1_schemas() {
    check(Version::V1p1, "v1p1/schemas", Some("v1p1"));
}

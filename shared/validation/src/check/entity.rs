//! Entities, embedded or referenced by IRI, and property values of every kind.

use serde_json::{Map, Value};

use super::other_version;
use super::words::{one_of_terms, one_of_types, with_article};
use super::Checker;
use crate::describe::{found, quoted};
use crate::formats;
use crate::model::vocabulary::METRICS;
use crate::model::{self, Kind, Shape};

impl Checker<'_> {
    /// A value of `kind` at the current path.
    pub(super) fn value(&mut self, value: &Value, kind: &Kind) {
        match (kind, value) {
            (Kind::Text, Value::String(_))
            | (Kind::Boolean, Value::Bool(_))
            | (Kind::Map, Value::Object(_)) => {}
            (Kind::Iri, Value::String(s)) if formats::is_iri(s) => {}
            (Kind::EntityId, Value::String(s)) if formats::is_entity_id(s) => {}
            (Kind::DateTime, Value::String(s)) if formats::is_date_time(s) => {}
            (Kind::Duration, Value::String(s)) if formats::is_duration(s) => {}
            (Kind::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {}
            (Kind::Count, Value::Number(n)) if n.is_u64() => {}
            (Kind::PositiveInteger, Value::Number(n)) if n.as_u64().is_some_and(|n| n >= 1) => {}
            (Kind::Number, Value::Number(_)) => {}
            (Kind::NonNegativeNumber, Value::Number(n)) if n.as_f64().is_some_and(|n| n >= 0.0) => {
            }
            (Kind::Term(terms), Value::String(s)) if terms.contains(&s.as_str()) => {}
            (Kind::Metric, Value::String(s)) if METRICS.contains(&s.as_str()) => {}
            (Kind::Metric, Value::String(s)) if self.custom_metrics && !s.trim().is_empty() => {}
            (Kind::Entity(types), _) => self.entity_ref(value, types),
            (Kind::Object(shape), Value::Object(map)) => self.object(map, shape),
            (Kind::List(inner), Value::Array(items)) => {
                for (index, item) in items.iter().enumerate() {
                    self.at_index(index, |c| c.value(item, inner));
                }
            }
            _ => self.report(format!(
                "expected {}, found {}",
                expectation(kind),
                found(value)
            )),
        }
    }

    /// An entity of one of `allowed` types (or their subtypes): an IRI or an embedded object.
    pub(super) fn entity_ref(&mut self, value: &Value, allowed: &[&str]) {
        match value {
            Value::String(s) if formats::is_entity_id(s) => {}
            Value::Object(map) => self.entity(map, Some(allowed), false),
            _ => self.report(format!(
                "expected {}, embedded as an object or given by its IRI (or blank node identifier), found {}",
                one_of_types(allowed),
                found(value)
            )),
        }
    }

    /// An embedded entity: its type is known (and allowed here), its properties are those of its
    /// type and supertypes, each of the right kind, and the required ones are present.
    pub(super) fn entity(
        &mut self,
        map: &Map<String, Value>,
        allowed: Option<&[&str]>,
        top_level: bool,
    ) {
        // A type of another context the item names: Caliper's model cannot check its
        // properties, but it stands where any entity may, and needs an entity id.
        let foreign = self.other_contexts
            && allowed.is_none_or(|a| a.contains(&"Entity"))
            && map.get("type").and_then(Value::as_str).is_some_and(|t| {
                !t.is_empty()
                    && self.model.entity_type(t).is_none()
                    && self.model.event_type(t).is_none()
            });
        if foreign {
            match map.get("id") {
                Some(id) => self.at("id", |c| c.value(id, &Kind::EntityId)),
                None => self.missing("id", "this entity"),
            }
            return;
        }
        let Some(entity_type) = self.entity_type(map.get("type")) else {
            // Its properties cannot be checked without a known type, but an entity needs an id.
            match map.get("id") {
                Some(id) => self.at("id", |c| c.value(id, &Kind::EntityId)),
                None => self.missing("id", "this entity"),
            }
            return;
        };
        let name = entity_type.name;
        if let Some(allowed) = allowed {
            if !allowed.iter().any(|a| entity_type.is_a(a)) {
                let subtypes = if allowed.len() == 1 {
                    "or one of its subtypes"
                } else {
                    "or a subtype"
                };
                self.report_at(
                    "type",
                    format!(
                        "expected {} ({subtypes}) here, found an entity of type {}",
                        one_of_types(allowed),
                        quoted(name)
                    ),
                );
            }
        }
        let open = entity_type.open;
        for (key, value) in map {
            let property = entity_type.property(key);
            // An optional property given as null is absent; a required one is missing (below).
            if value.is_null() && (property.is_some() || key == "@context") {
                continue;
            }
            match key.as_str() {
                "type" => {}
                "@context" if top_level => self.at(key, |c| c.top_level_context(value)),
                "@context" => self.at(key, |c| c.local_context(value)),
                _ => match property {
                    Some(property) => self.at(key, |c| c.value(value, &property.kind)),
                    None if open => {}
                    None => self.report_at(
                        key,
                        format!(
                            "`{key}` is not a property of {} in Caliper {}; put custom data in `extensions`",
                            with_article(name),
                            self.model.version.number()
                        ),
                    ),
                },
            }
        }
        for property in &entity_type.properties {
            if property.required && map.get(property.name).is_none_or(Value::is_null) {
                self.missing(property.name, &format!("this {name}"));
            }
        }
    }

    /// The entity type named by `type`, or a problem saying why there is none.
    fn entity_type(&mut self, type_value: Option<&Value>) -> Option<&'static model::Resolved> {
        let model = self.model;
        let message =
            match type_value {
                None | Some(Value::Null) => {
                    "`type` is required but missing from this entity".to_owned()
                }
                Some(Value::String(name)) => {
                    match model.entity_type(name) {
                        Some(entity_type) => return Some(entity_type),
                        None if model.event_type(name).is_some() => {
                            format!(
                                "expected an entity type here, found the event type {}",
                                quoted(name)
                            )
                        }
                        None => {
                            match other_version(model.version, |m| m.entity_type(name).is_some()) {
                        Some(other) => format!(
                            "the entity type {} is Caliper {}'s, not Caliper {}'s (the envelope's dataVersion)",
                            quoted(name),
                            other.number(),
                            model.version.number()
                        ),
                        None => format!(
                            "unknown entity type {}; expected a Caliper {} entity type such as \"Person\", \"SoftwareApplication\" or \"DigitalResource\"",
                            quoted(name),
                            model.version.number()
                        ),
                    }
                        }
                    }
                }
                Some(other) => format!(
                    "expected an entity type name (a string), found {}",
                    found(other)
                ),
            };
        self.report_at("type", message);
        None
    }

    /// A plain object of an extension profile.
    fn object(&mut self, map: &Map<String, Value>, shape: &Shape) {
        for (key, value) in map {
            match shape.properties.iter().find(|p| p.name == key) {
                Some(property) if value.is_null() && !property.required => {}
                Some(property) => self.at(key, |c| c.value(value, &property.kind)),
                None if shape.open => {}
                None => self.report_at(key, format!("`{key}` is not a property of this object")),
            }
        }
        for property in shape.properties.iter().filter(|p| p.required) {
            if map.get(property.name).is_none_or(Value::is_null) {
                self.missing(property.name, "this object");
            }
        }
    }
}

/// What a kind expects, in words.
fn expectation(kind: &Kind) -> String {
    match kind {
        Kind::Text => "a string".into(),
        Kind::Iri => formats::expectation("caliper-iri").into(),
        Kind::EntityId => formats::expectation("caliper-entity-id").into(),
        Kind::DateTime => formats::expectation("caliper-date-time").into(),
        Kind::Duration => formats::expectation("caliper-duration").into(),
        Kind::Boolean => "true or false".into(),
        Kind::Integer => "an integer".into(),
        Kind::Count => "a whole number of at least 0".into(),
        Kind::PositiveInteger => "a whole number of at least 1".into(),
        Kind::NonNegativeNumber => "a number of at least 0".into(),
        Kind::Number => "a number".into(),
        Kind::Map => "an object of custom key/value pairs".into(),
        Kind::Term(terms) => one_of_terms(terms.iter().copied()),
        Kind::Metric => one_of_terms(METRICS.iter().copied()),
        Kind::Entity(types) => one_of_types(types),
        Kind::Object(_) => "an object".into(),
        Kind::List(inner) => format!("an array of {}", plural(inner)),
    }
}

/// The elements of an array of `kind`, for "an array of ...".
fn plural(kind: &Kind) -> String {
    match kind {
        Kind::Text => "strings".into(),
        Kind::Entity(["Entity"]) => "entities (objects or IRIs)".into(),
        Kind::Entity(types) => format!("{} entities (objects or IRIs)", types.join(" or ")),
        Kind::Term(terms) => format!("terms ({})", one_of_terms(terms.iter().copied())),
        Kind::Object(_) => "objects".into(),
        other => format!("values that are each {}", expectation(other)),
    }
}

//! Caliper 1.2 as data: every event type with its actions and the entity types each role accepts,
//! every entity type with its supertype and the kind of each property, and the vocabularies.
//!
//! Written from the Caliper Analytics 1.2 specification and its certification guide. Extension
//! profiles add their own tables (see [`timeback`]). The checker in `crate::check` reads only these
//! tables, so a new type or property is one line here.

mod entities;
mod events;
pub mod timeback;
pub mod vocabulary;

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

/// What a property's value must be.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Any string.
    Text,
    /// An absolute IRI.
    Iri,
    /// An ISO 8601 date-time with a zone.
    DateTime,
    /// An ISO 8601 duration such as `PT2H30M`.
    Duration,
    Boolean,
    /// A JSON integer.
    Integer,
    /// A JSON integer of at least 0 (xsd:nonNegativeInteger).
    Count,
    /// A JSON integer of at least 1.
    PositiveInteger,
    /// xsd:decimal: a JSON number written with a fraction or exponent (`50.0`), as the spec's
    /// conformance fixtures require.
    Decimal,
    /// Any JSON number of at least 0 (extension profiles, which do not distinguish integers).
    NonNegativeNumber,
    /// Any JSON number.
    Number,
    /// A JSON object of free-form key/value pairs (`extensions`, LTI message parameters).
    Map,
    /// One of a fixed set of terms.
    Term(&'static [&'static str]),
    /// An AggregateMeasure's metric: a Caliper metric term, or any name where the event allows
    /// custom metrics (see [`EventType::custom_metrics`]).
    Metric,
    /// An entity of one of these types (or a subtype), embedded as an object or given by its IRI.
    Entity(&'static [&'static str]),
    /// A plain JSON object with the given properties (extension profiles).
    Object(&'static Shape),
    /// A JSON array whose every element is of the inner kind.
    List(&'static Kind),
}

/// One property: its name, what its value must be, and whether it must be present.
#[derive(Debug, Clone, Copy)]
pub struct Property {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

/// An optional property.
pub const fn opt(name: &'static str, kind: Kind) -> Property {
    Property {
        name,
        kind,
        required: false,
    }
}

/// A required property.
pub const fn req(name: &'static str, kind: Kind) -> Property {
    Property {
        name,
        kind,
        required: true,
    }
}

/// The properties of a plain object; `open` objects accept properties beyond these.
#[derive(Debug)]
pub struct Shape {
    pub properties: &'static [Property],
    pub open: bool,
}

/// An entity type: its supertype and the properties it adds. Entities inherit a required IRI `id`
/// from `Entity`; structured values (SystemIdentifier, selectors) have no supertype and no `id`.
#[derive(Debug)]
pub struct EntityType {
    pub name: &'static str,
    pub supertype: Option<&'static str>,
    pub properties: &'static [Property],
    /// Open types accept properties beyond those of the model (extension profiles).
    pub open: bool,
}

/// Which entities an event accepts for one group of its actions.
#[derive(Debug)]
pub struct ActionRule {
    pub actions: &'static [&'static str],
    pub actor: &'static [&'static str],
    pub object: &'static [&'static str],
    /// Empty: any entity.
    pub generated: &'static [&'static str],
    pub generated_required: bool,
}

/// An event type: the profiles that define it, its action rules and the entities it accepts.
#[derive(Debug)]
pub struct EventType {
    pub name: &'static str,
    pub profiles: &'static [&'static str],
    pub rules: &'static [ActionRule],
    /// Empty: any entity.
    pub target: &'static [&'static str],
    /// Empty: any entity.
    pub referrer: &'static [&'static str],
    /// Properties beyond those every event has.
    pub properties: &'static [Property],
    /// Whether the measures this event generates may name metrics of their own.
    pub custom_metrics: bool,
}

impl EventType {
    /// The rule that governs `action`, if the event type allows it.
    pub fn rule(&self, action: &str) -> Option<&ActionRule> {
        self.rules.iter().find(|r| r.actions.contains(&action))
    }

    /// Every action the type allows, in table order.
    pub fn actions(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.rules.iter().flat_map(|r| r.actions.iter().copied())
    }
}

/// The properties every event has, whatever its type.
pub const EVENT_PROPERTIES: &[Property] = &[
    req("id", Kind::Text),
    req("type", Kind::Text),
    req("actor", Kind::Entity(&["Agent"])),
    req("action", Kind::Text),
    req("object", Kind::Entity(&["Entity"])),
    req("eventTime", Kind::DateTime),
    opt("@context", Kind::Text),
    opt("profile", Kind::Text),
    opt("edApp", Kind::Entity(&["SoftwareApplication"])),
    opt("generated", Kind::Entity(&["Entity"])),
    opt("target", Kind::Entity(&["Entity"])),
    opt("referrer", Kind::Entity(&["Entity"])),
    opt("group", Kind::Entity(&["Organization"])),
    opt("membership", Kind::Entity(&["Membership"])),
    opt("session", Kind::Entity(&["Session"])),
    opt("federatedSession", Kind::Entity(&["LtiSession"])),
    opt("extensions", Kind::Map),
];

/// An entity type with everything its supertypes give it, resolved once per process.
#[derive(Debug)]
pub struct Resolved {
    pub name: &'static str,
    /// The type itself, then its supertypes.
    pub ancestors: Vec<&'static str>,
    /// Its own properties and every inherited one a subtype does not redefine.
    pub properties: Vec<&'static Property>,
    /// Whether it, or a supertype, accepts properties beyond the model's.
    pub open: bool,
}

impl Resolved {
    pub fn property(&self, name: &str) -> Option<&'static Property> {
        self.properties.iter().copied().find(|p| p.name == name)
    }

    pub fn is_a(&self, ancestor: &str) -> bool {
        self.ancestors.contains(&ancestor)
    }
}

struct Index {
    entities: FxHashMap<&'static str, Resolved>,
    events: FxHashMap<&'static str, &'static EventType>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let declared: FxHashMap<&str, &EntityType> = entities::ALL
            .iter()
            .chain(timeback::ENTITIES)
            .map(|t| (t.name, t))
            .collect();
        let resolve = |t: &'static EntityType| {
            let lineage: Vec<&EntityType> = std::iter::successors(Some(t), |t| {
                t.supertype.and_then(|s| declared.get(s).copied())
            })
            .collect();
            let mut properties: Vec<&'static Property> = Vec::new();
            for property in lineage.iter().flat_map(|t| t.properties) {
                if !properties.iter().any(|p| p.name == property.name) {
                    properties.push(property);
                }
            }
            Resolved {
                name: t.name,
                ancestors: lineage.iter().map(|t| t.name).collect(),
                properties,
                open: lineage.iter().any(|t| t.open),
            }
        };
        Index {
            entities: declared.values().map(|t| (t.name, resolve(t))).collect(),
            events: events::ALL
                .iter()
                .chain(timeback::EVENTS)
                .map(|t| (t.name, t))
                .collect(),
        }
    })
}

pub fn entity_type(name: &str) -> Option<&'static Resolved> {
    index().entities.get(name)
}

pub fn event_type(name: &str) -> Option<&'static EventType> {
    index().events.get(name).copied()
}

/// Every event type name, for messages.
pub fn event_type_names() -> Vec<&'static str> {
    let mut names: Vec<_> = index().events.keys().copied().collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supertype_and_entity_reference_names_a_known_type() {
        let mut named: Vec<&str> = Vec::new();
        fn collect(kind: &Kind, named: &mut Vec<&'static str>) {
            match kind {
                Kind::Entity(types) => named.extend(types.iter().copied()),
                Kind::List(inner) => collect(inner, named),
                Kind::Object(shape) => shape
                    .properties
                    .iter()
                    .for_each(|p| collect(&p.kind, named)),
                _ => {}
            }
        }
        for t in entities::ALL.iter().chain(timeback::ENTITIES) {
            named.extend(t.supertype);
            t.properties
                .iter()
                .for_each(|p| collect(&p.kind, &mut named));
        }
        for e in events::ALL.iter().chain(timeback::EVENTS) {
            for r in e.rules {
                named.extend(r.actor.iter().chain(r.object).chain(r.generated));
            }
            named.extend(e.target.iter().chain(e.referrer));
            e.properties
                .iter()
                .for_each(|p| collect(&p.kind, &mut named));
        }
        EVENT_PROPERTIES
            .iter()
            .for_each(|p| collect(&p.kind, &mut named));
        let unknown: Vec<_> = named
            .into_iter()
            .filter(|n| entity_type(n).is_none())
            .collect();
        assert!(unknown.is_empty(), "unknown types named: {unknown:?}");
    }

    #[test]
    fn every_action_and_profile_is_in_the_vocabulary() {
        for e in events::ALL.iter().chain(timeback::EVENTS) {
            for a in e.actions() {
                assert!(vocabulary::is_action(a), "{}: unknown action {a}", e.name);
            }
            for p in e.profiles {
                assert!(
                    vocabulary::PROFILES.contains(p),
                    "{}: unknown profile {p}",
                    e.name
                );
            }
        }
    }

    #[test]
    fn subtypes_redefine_what_they_inherit() {
        let forum = entity_type("Forum").expect("Forum");
        assert_eq!(
            forum.ancestors,
            [
                "Forum",
                "DigitalResourceCollection",
                "DigitalResource",
                "Entity"
            ]
        );
        let items = forum.property("items").map(|p| format!("{:?}", p.kind));
        assert_eq!(items.as_deref(), Some("List(Entity([\"Thread\"]))"));
        assert!(entity_type("TimebackUser").is_some_and(|t| t.open));
        assert!(entity_type("Person").is_some_and(|t| !t.open));
    }

    #[test]
    fn type_names_are_unique() {
        let count = entities::ALL.len() + timeback::ENTITIES.len();
        assert_eq!(index().entities.len(), count);
        assert_eq!(
            index().events.len(),
            events::ALL.len() + timeback::EVENTS.len()
        );
    }

    #[test]
    fn subtypes_inherit() {
        let is_a = |name: &str, ancestor: &str| entity_type(name).is_some_and(|t| t.is_a(ancestor));
        assert!(is_a("CourseSection", "Agent"));
        assert!(is_a("Forum", "DigitalResource"));
        assert!(is_a("VideoObject", "Entity"));
        assert!(!is_a("Person", "DigitalResource"));
        let property = |name: &str, key: &str| entity_type(name).and_then(|t| t.property(key));
        assert!(property("VideoObject", "duration").is_some());
        assert!(
            property("VideoObject", "name").is_some(),
            "inherited from Entity"
        );
        assert!(property("Person", "duration").is_none());
    }
}

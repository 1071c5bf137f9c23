//! Caliper 1.1 and 1.2 as data: every event type with its actions and the entity types each role
//! accepts, every entity type with its supertype and the kind of each property, and the
//! vocabularies.
//!
//! Written from the Caliper Analytics 1.1 and 1.2 specifications and the 1.2 certification guide.
//! One table serves both versions: a type, event or property that only one version defines says
//! so ([`Versions`]), and [`Model::of`] resolves the tables of one version once per process.
//! Extension profiles add their own tables (see [`timeback`]). The checker in `crate::check` reads
//! only these tables, so a new type or property is one line here.

mod entities;
mod events;
pub mod timeback;
pub mod vocabulary;

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

/// A Caliper version this API validates, named by an envelope's `dataVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V1p1,
    V1p2,
}

impl Version {
    /// Newest first.
    pub const ALL: [Version; 2] = [Version::V1p2, Version::V1p1];

    /// The version's JSON-LD context IRI: its `dataVersion` and its events' `@context`.
    pub const fn context(self) -> &'static str {
        match self {
            Version::V1p1 => vocabulary::CONTEXT_V1P1,
            Version::V1p2 => vocabulary::CONTEXT_V1P2,
        }
    }

    /// "1.1", "1.2".
    pub const fn number(self) -> &'static str {
        match self {
            Version::V1p1 => "1.1",
            Version::V1p2 => "1.2",
        }
    }

    pub fn from_context(iri: &str) -> Option<Version> {
        Version::ALL.into_iter().find(|v| v.context() == iri)
    }

    const fn bit(self) -> u8 {
        match self {
            Version::V1p1 => 1,
            Version::V1p2 => 2,
        }
    }
}

/// The versions that define a type, an event or a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions(u8);

impl Versions {
    pub const BOTH: Versions = Versions(1 | 2);
    pub const V1P1: Versions = Versions(1);
    pub const V1P2: Versions = Versions(2);

    pub const fn contains(self, version: Version) -> bool {
        self.0 & version.bit() != 0
    }
}

/// What a property's value must be.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Any string.
    Text,
    /// An absolute IRI.
    Iri,
    /// An entity's id: an absolute IRI or a blank node identifier (`_:b0`).
    EntityId,
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
    /// Any JSON number of at least 0 (extension profiles, which do not distinguish integers).
    NonNegativeNumber,
    /// Any JSON number: xsd:decimal, of which xsd:integer is a subtype, so `50` is as good as
    /// `50.0` (JavaScript producers cannot write the latter).
    Number,
    /// A JSON object of free-form key/value pairs (`extensions`, LTI message parameters).
    Map,
    /// One of a fixed set of terms.
    Term(&'static [&'static str]),
    /// An AggregateMeasure's metric: a Caliper metric term, or any name where the event allows
    /// custom metrics (see [`EventType::custom_metrics`]).
    Metric,
    /// An entity of one of these types (or a subtype), embedded as an object or given by its id
    /// (an IRI, or a blank node identifier naming an entity of the same document).
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
    pub versions: Versions,
}

impl Property {
    /// The same property, defined by `versions` only.
    pub const fn only(self, versions: Versions) -> Self {
        Property { versions, ..self }
    }
}

/// An optional property.
pub const fn opt(name: &'static str, kind: Kind) -> Property {
    Property {
        name,
        kind,
        required: false,
        versions: Versions::BOTH,
    }
}

/// A required property.
pub const fn req(name: &'static str, kind: Kind) -> Property {
    Property {
        name,
        kind,
        required: true,
        versions: Versions::BOTH,
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
    pub versions: Versions,
}

impl EntityType {
    /// The same type, defined by `versions` only.
    pub const fn only(self, versions: Versions) -> Self {
        EntityType { versions, ..self }
    }
}

/// Which entities an event accepts for one group of its actions.
#[derive(Debug)]
pub struct ActionRule {
    pub actions: &'static [&'static str],
    pub actor: &'static [&'static str],
    pub object: &'static [&'static str],
    /// Empty: any entity.
    pub generated: &'static [&'static str],
    /// The event's optional properties this action requires (`generated`, `federatedSession`).
    pub requires: &'static [&'static str],
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
    pub versions: Versions,
}

impl EventType {
    /// The same event type, defined by `versions` only.
    pub const fn only(self, versions: Versions) -> Self {
        EventType { versions, ..self }
    }

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
    // Caliper 1.2 added `profile` (optional, "to ensure backwards compatibility"); the spec's own
    // 1.1 examples send it too (caliperEventSubmittedMultiContext).
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

/// The model of one Caliper version: its entity types resolved with everything their supertypes
/// give them, and its event types.
#[derive(Debug)]
pub struct Model {
    pub version: Version,
    entities: FxHashMap<&'static str, Resolved>,
    events: FxHashMap<&'static str, &'static EventType>,
}

impl Model {
    /// The model of `version`, resolved once per process.
    pub fn of(version: Version) -> &'static Model {
        static MODELS: [OnceLock<Model>; 2] = [OnceLock::new(), OnceLock::new()];
        let slot = match version {
            Version::V1p1 => &MODELS[0],
            Version::V1p2 => &MODELS[1],
        };
        slot.get_or_init(|| Model::resolve(version))
    }

    fn resolve(version: Version) -> Model {
        let declared: FxHashMap<&str, &EntityType> = entities::ALL
            .iter()
            .chain(timeback::ENTITIES)
            .filter(|t| t.versions.contains(version))
            .map(|t| (t.name, t))
            .collect();
        let resolve = |t: &'static EntityType| {
            let lineage: Vec<&EntityType> = std::iter::successors(Some(t), |t| {
                t.supertype.and_then(|s| declared.get(s).copied())
            })
            .collect();
            let mut properties: Vec<&'static Property> = Vec::new();
            for property in lineage.iter().flat_map(|t| t.properties) {
                if property.versions.contains(version)
                    && !properties.iter().any(|p| p.name == property.name)
                {
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
        Model {
            version,
            entities: declared.values().map(|t| (t.name, resolve(t))).collect(),
            events: events::ALL
                .iter()
                .chain(timeback::EVENTS)
                .filter(|t| t.versions.contains(version))
                .map(|t| (t.name, t))
                .collect(),
        }
    }

    pub fn entity_type(&self, name: &str) -> Option<&Resolved> {
        self.entities.get(name)
    }

    pub fn event_type(&self, name: &str) -> Option<&'static EventType> {
        self.events.get(name).copied()
    }

    /// Every entity type of the version, in no particular order.
    pub fn entity_types(&self) -> impl Iterator<Item = &Resolved> {
        self.entities.values()
    }

    /// Every event type of the version, in no particular order.
    pub fn event_types(&self) -> impl Iterator<Item = &'static EventType> + '_ {
        self.events.values().copied()
    }

    /// Every event type name, sorted, for messages.
    pub fn event_type_names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.events.keys().copied().collect();
        names.sort_unstable();
        names
    }

    /// The properties every event of this version has, whatever its type.
    pub fn event_properties(&self) -> impl Iterator<Item = &'static Property> + '_ {
        EVENT_PROPERTIES
            .iter()
            .filter(|p| p.versions.contains(self.version))
    }

    /// The kind of a property every event has, or that `event_type` adds.
    pub fn event_property(
        &self,
        event_type: Option<&EventType>,
        name: &str,
    ) -> Option<&'static Property> {
        self.event_properties()
            .chain(event_type.map_or(&[][..], |t| t.properties))
            .find(|p| p.name == name && p.versions.contains(self.version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_entity_types() -> impl Iterator<Item = &'static EntityType> {
        entities::ALL.iter().chain(timeback::ENTITIES)
    }

    fn all_event_types() -> impl Iterator<Item = &'static EventType> {
        events::ALL.iter().chain(timeback::EVENTS)
    }

    #[test]
    fn every_supertype_and_entity_reference_names_a_type_of_the_same_version() {
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
        for version in Version::ALL {
            let model = Model::of(version);
            let mut named: Vec<&str> = Vec::new();
            let of_version = |p: &&Property| p.versions.contains(version);
            for t in all_entity_types().filter(|t| t.versions.contains(version)) {
                named.extend(t.supertype);
                t.properties
                    .iter()
                    .filter(of_version)
                    .for_each(|p| collect(&p.kind, &mut named));
            }
            for e in model.event_types() {
                for r in e.rules {
                    named.extend(r.actor.iter().chain(r.object).chain(r.generated));
                }
                named.extend(e.target.iter().chain(e.referrer));
                e.properties
                    .iter()
                    .filter(of_version)
                    .for_each(|p| collect(&p.kind, &mut named));
            }
            model
                .event_properties()
                .for_each(|p| collect(&p.kind, &mut named));
            let unknown: Vec<_> = named
                .into_iter()
                .filter(|n| model.entity_type(n).is_none())
                .collect();
            assert!(
                unknown.is_empty(),
                "Caliper {}: unknown types named: {unknown:?}",
                version.number()
            );
        }
    }

    #[test]
    fn every_action_and_profile_is_in_the_vocabulary() {
        for e in all_event_types() {
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
        let model = Model::of(Version::V1p2);
        let forum = model.entity_type("Forum").expect("Forum");
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
        assert!(model.entity_type("TimebackUser").is_some_and(|t| t.open));
        assert!(model.entity_type("Person").is_some_and(|t| !t.open));
    }

    #[test]
    fn each_version_names_each_type_once() {
        for version in Version::ALL {
            let model = Model::of(version);
            let entities = all_entity_types()
                .filter(|t| t.versions.contains(version))
                .count();
            assert_eq!(model.entities.len(), entities, "{version:?}");
            let events = all_event_types()
                .filter(|t| t.versions.contains(version))
                .count();
            assert_eq!(model.events.len(), events, "{version:?}");
        }
    }

    #[test]
    fn subtypes_inherit() {
        let model = Model::of(Version::V1p2);
        let is_a =
            |name: &str, ancestor: &str| model.entity_type(name).is_some_and(|t| t.is_a(ancestor));
        assert!(is_a("CourseSection", "Agent"));
        assert!(is_a("Forum", "DigitalResource"));
        assert!(is_a("VideoObject", "Entity"));
        assert!(!is_a("Person", "DigitalResource"));
        let property =
            |name: &str, key: &str| model.entity_type(name).and_then(|t| t.property(key));
        assert!(property("VideoObject", "duration").is_some());
        assert!(
            property("VideoObject", "name").is_some(),
            "inherited from Entity"
        );
        assert!(property("Person", "duration").is_none());
    }

    #[test]
    fn versions_keep_their_own_types_and_properties() {
        let (v1p1, v1p2) = (Model::of(Version::V1p1), Model::of(Version::V1p2));
        assert!(
            v1p1.event_type("TimeSpentEvent").is_none(),
            "Timeback is 1.2"
        );
        assert!(v1p2.event_type("TimeSpentEvent").is_some());
        assert!(v1p1.entity_type("Reading").is_some(), "deprecated in 1.1");
        assert!(v1p2.entity_type("Reading").is_none(), "gone from 1.2");
    }
}

//! The TimebackProfile extension: what the official Timeback clients send.
//!
//! Its entity types are open (clients add fields and `extensions`); its events are as strict as
//! Caliper's own.

use super::Kind::{self, *};
use super::{entities, opt, req, ActionRule, EntityType, EventType, Property, Shape, Versions};

pub const PROFILE: &str = "TimebackProfile";

/// Actions the profile adds to Caliper's vocabulary.
pub const ACTIONS: &[&str] = &["SpentTime"];

const ROLES: &[&str] = &["student", "teacher", "admin", "guide"];
const SUBJECTS: &[&str] = &[
    "Reading",
    "Language",
    "Vocabulary",
    "Social Studies",
    "Writing",
    "Science",
    "FastMath",
    "Math",
    "None",
    "Other",
];
const ACTIVITY_METRICS: &[&str] = &[
    "xpEarned",
    "totalQuestions",
    "correctQuestions",
    "masteredUnits",
];
const TIME_SPENT_METRICS: &[&str] = &["active", "inactive", "waste", "unknown", "anti-pattern"];

/// An entity type that accepts properties beyond its own.
const fn open(
    name: &'static str,
    supertype: &'static str,
    properties: &'static [Property],
) -> EntityType {
    EntityType {
        open: true,
        versions: Versions::V1P2,
        ..entities::entity(name, supertype, properties)
    }
}

/// `{"name": ..., "id": ...}`: how the client names the app, course and activity.
const NAMED: Kind = Object(&Shape {
    properties: &[req("name", Text), opt("id", Text)],
    open: true,
});

pub const ENTITIES: &[EntityType] = &[
    open(
        "TimebackUser",
        "Person",
        &[req("email", Text), opt("role", Term(ROLES))],
    ),
    open(
        "TimebackActivityContext",
        "Entity",
        &[
            req("subject", Term(SUBJECTS)),
            req("app", NAMED),
            opt("course", NAMED),
            opt("activity", NAMED),
            opt("process", Boolean),
        ],
    ),
    open(
        "TimebackActivityMetricsCollection",
        "Entity",
        &[
            req(
                "items",
                List(&Object(&Shape {
                    properties: &[req("type", Term(ACTIVITY_METRICS)), req("value", Number)],
                    open: true,
                })),
            ),
            opt("attempt", PositiveInteger),
        ],
    ),
    open(
        "TimebackTimeSpentMetricsCollection",
        "Entity",
        &[req(
            "items",
            List(&Object(&Shape {
                properties: &[
                    req("type", Term(TIME_SPENT_METRICS)),
                    req("value", NonNegativeNumber),
                    opt("subType", Text),
                    opt("startDate", DateTime),
                    opt("endDate", DateTime),
                ],
                open: true,
            })),
        )],
    ),
];

const CONTEXT: &[&str] = &["TimebackActivityContext"];

const ACTIVITY: &[ActionRule] = &[ActionRule {
    actions: &["Completed"],
    actor: &["TimebackUser"],
    object: CONTEXT,
    generated: &["TimebackActivityMetricsCollection"],
    requires: &["generated"],
}];

const TIME_SPENT: &[ActionRule] = &[ActionRule {
    actions: &["SpentTime"],
    actor: &["TimebackUser"],
    object: CONTEXT,
    generated: &["TimebackTimeSpentMetricsCollection"],
    requires: &["generated"],
}];

const fn event(name: &'static str, rules: &'static [ActionRule]) -> EventType {
    EventType {
        name,
        profiles: &[PROFILE],
        rules,
        target: &[],
        referrer: &[],
        properties: &[],
        custom_metrics: false,
        versions: Versions::V1P2,
    }
}

pub const EVENTS: &[EventType] = &[
    event("ActivityEvent", ACTIVITY),
    event("TimebackActivityEvent", ACTIVITY),
    event("TimeSpentEvent", TIME_SPENT),
    event("TimebackTimeSpentEvent", TIME_SPENT),
];

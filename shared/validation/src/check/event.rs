//! Events: type, action and profile as the model defines them, and the entity in each role.

use serde_json::{Map, Value};

use super::other_version;
use super::words::{one_of_terms, with_article};
use super::Checker;
use crate::describe::{found, quoted};
use crate::formats;
use crate::model::vocabulary::{self, GENERAL_PROFILE, PROFILES};
use crate::model::{ActionRule, EventType, Kind};

/// Roles whose entity types depend on the event's type and action.
enum Role {
    Actor,
    Object,
    Generated,
}

impl Checker<'_> {
    pub(super) fn event(&mut self, event: &Map<String, Value>) {
        let event_type = self.event_type(event.get("type"));
        let owner = || match event_type {
            Some(t) => format!("this {}", t.name),
            None => "this event".to_owned(),
        };
        let model = self.model;
        for property in model.event_properties().filter(|p| p.required) {
            if event.get(property.name).is_none_or(Value::is_null) {
                self.missing(property.name, &owner());
            }
        }
        let rules = self.action(event.get("action"), event_type);
        if let Some(event_type) = event_type {
            self.profile(event.get("profile"), event_type);
        }
        for (key, value) in event {
            let key = key.as_str();
            let property = || model.event_property(event_type, key);
            // An optional property given as null is absent (the IMS sensors write null for every
            // unset property); a required one given as null was reported as missing above.
            if value.is_null() && property().is_some() {
                continue;
            }
            match key {
                "type" | "action" | "profile" => {}
                "@context" => self.at(key, |c| c.top_level_context(value)),
                "id" => self.at(key, |c| c.event_id(value)),
                "actor" => self.at(key, |c| c.role(value, rules, Role::Actor)),
                "object" => self.at(key, |c| c.role(value, rules, Role::Object)),
                "generated" => self.at(key, |c| {
                    c.custom_metrics = event_type.is_some_and(|t| t.custom_metrics);
                    c.role(value, rules, Role::Generated);
                    c.custom_metrics = false;
                }),
                "target" | "referrer" => {
                    let allowed = event_type.map_or(&[][..], |t| match key {
                        "target" => t.target,
                        _ => t.referrer,
                    });
                    let kind = Kind::Entity(if allowed.is_empty() {
                        &["Entity"]
                    } else {
                        allowed
                    });
                    self.at(key, |c| c.value(value, &kind));
                }
                _ => match property() {
                    Some(property) => self.at(key, |c| c.value(value, &property.kind)),
                    None => self.report_at(
                        key,
                        format!(
                            "`{key}` is not a property of {} in Caliper {}; put custom data in `extensions`",
                            event_type.map_or("an event".to_owned(), |t| with_article(t.name)),
                            model.version.number()
                        ),
                    ),
                },
            }
        }
        // What the action requires (when the action is unknown, what every action does).
        if let Some(first) = rules.first() {
            for &name in first.requires {
                if rules.iter().all(|r| r.requires.contains(&name))
                    && event.get(name).is_none_or(Value::is_null)
                {
                    let by_action = event_type
                        .is_some_and(|t| t.rules.iter().any(|r| !r.requires.contains(&name)));
                    let owner = match event.get("action").and_then(Value::as_str) {
                        Some(action) if by_action => {
                            format!("{} (its action {action} requires it)", owner())
                        }
                        _ => owner(),
                    };
                    self.missing(name, &owner);
                }
            }
        }
    }

    /// The event type named by `type`, or a problem saying why there is none.
    fn event_type(&mut self, value: Option<&Value>) -> Option<&'static EventType> {
        let message = match value? {
            Value::String(name) => match self.model.event_type(name) {
                Some(event_type) => return Some(event_type),
                None => match other_version(self.model.version, |m| m.event_type(name).is_some()) {
                    Some(other) => format!(
                        "the event type {} is Caliper {}'s, not Caliper {}'s (the envelope's dataVersion)",
                        quoted(name),
                        other.number(),
                        self.model.version.number()
                    ),
                    None => format!(
                        "unknown event type {}; expected a Caliper {} event type: {}",
                        quoted(name),
                        self.model.version.number(),
                        one_of_terms(self.model.event_type_names())
                    ),
                },
            },
            other => format!(
                "expected an event type name (a string), found {}",
                found(other)
            ),
        };
        self.report_at("type", message);
        None
    }

    /// Checks `action` and answers the rules that govern the event's entities: the rule of the
    /// action when the type allows it, otherwise all the type's rules (so that one wrong action
    /// does not also make every entity look wrong).
    fn action(
        &mut self,
        value: Option<&Value>,
        event_type: Option<&'static EventType>,
    ) -> &'static [ActionRule] {
        let all_rules = || event_type.map_or(&[][..], |t| t.rules);
        let Some(value) = value else {
            return all_rules();
        };
        let problem = match (value, event_type) {
            (Value::String(action), Some(t)) => match t.rule(action) {
                Some(rule) => return std::slice::from_ref(rule),
                None if vocabulary::is_action(action) => format!(
                    "the action {} is not allowed for {}; expected {}",
                    quoted(action),
                    with_article(t.name),
                    one_of_terms(t.actions())
                ),
                None => format!(
                    "unknown action {}; expected {} for {}",
                    quoted(action),
                    one_of_terms(t.actions()),
                    with_article(t.name)
                ),
            },
            (Value::String(action), None) if vocabulary::is_action(action) => return &[],
            (Value::String(action), None) => {
                format!(
                    "unknown action {}; expected a Caliper {} action such as \"Viewed\"",
                    quoted(action),
                    self.model.version.number()
                )
            }
            (other, _) => format!("expected an action term (a string), found {}", found(other)),
        };
        self.report_at("action", problem);
        all_rules()
    }

    /// `profile`: optional (Caliper 1.2 keeps it so "to ensure backwards compatibility"); when
    /// given, known and defining the event's type (the General profile admits every type).
    fn profile(&mut self, value: Option<&Value>, event_type: &EventType) {
        let allowed = || {
            let mut names: Vec<&str> = event_type.profiles.to_vec();
            if !names.contains(&GENERAL_PROFILE) {
                names.push(GENERAL_PROFILE);
            }
            one_of_terms(names)
        };
        let problem = match value {
            None | Some(Value::Null) => return,
            Some(Value::String(p))
                if event_type.profiles.contains(&p.as_str()) || p == GENERAL_PROFILE =>
            {
                return
            }
            Some(Value::String(p)) if PROFILES.contains(&p.as_str()) => format!(
                "the profile {} does not define {}; expected {}",
                quoted(p),
                with_article(event_type.name),
                allowed()
            ),
            Some(Value::String(p)) => {
                format!("unknown profile {}; expected {}", quoted(p), allowed())
            }
            Some(other) => format!("expected a profile term (a string), found {}", found(other)),
        };
        self.report_at("profile", problem);
    }

    fn event_id(&mut self, value: &Value) {
        if !value.as_str().is_some_and(formats::is_event_id) {
            self.report(format!(
                "expected {}, found {}",
                formats::expectation("caliper-event-id"),
                found(value)
            ));
        }
    }

    /// The actor, object or generated entity, of the types the governing rules allow.
    fn role(&mut self, value: &Value, rules: &[ActionRule], role: Role) {
        let types_of = |rule: &ActionRule| match role {
            Role::Actor => rule.actor,
            Role::Object => rule.object,
            Role::Generated => rule.generated,
        };
        let fallback: &[&str] = match role {
            Role::Actor => &["Agent"],
            _ => &["Entity"],
        };
        match rules {
            [] => self.entity_ref(value, fallback),
            [rule] if types_of(rule).is_empty() => self.entity_ref(value, &["Entity"]),
            [rule] => self.entity_ref(value, types_of(rule)),
            _ if rules.iter().any(|r| types_of(r).is_empty()) => {
                self.entity_ref(value, &["Entity"])
            }
            _ => {
                let mut allowed: Vec<&str> = Vec::new();
                for t in rules.iter().flat_map(types_of) {
                    if !allowed.contains(t) {
                        allowed.push(t);
                    }
                }
                self.entity_ref(value, &allowed);
            }
        }
    }
}

//! The `flag` policy's one rule of its own: what an item needs to be stored at all, however
//! else it departs from Caliper. Everything else Caliper's model finds is stored with the event
//! as its problems; an item without these cannot be keyed, ordered or listed, and is not stored.

use serde_json::Value;

/// The longest Caliper id stored (a key of both stores; events' own are 45 bytes).
pub const MAX_ID_BYTES: usize = 1024;

/// Why `item` cannot be stored, in words; none when it can: an object with a Caliper `id`, a
/// `type`, an `action`, an `actor` with an id, and an `eventTime` that is a date-time.
pub fn unusable(item: &Value) -> Option<String> {
    let Some(event) = item.as_object() else {
        return Some(format!(
            "this item is {}, not an event object",
            caliper_validation::json_type(item)
        ));
    };
    let text = |key: &str| {
        event
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    };
    let actor_id = match event.get("actor") {
        Some(Value::String(id)) => Some(id.as_str()),
        Some(Value::Object(actor)) => actor.get("id").and_then(Value::as_str),
        _ => None,
    };
    let mut wanting = Vec::new();
    if text("id").is_none_or(|id| id.len() > MAX_ID_BYTES) {
        wanting.push("an `id` (a string of at most 1024 bytes)");
    }
    if text("type").is_none() {
        wanting.push("a `type`");
    }
    if text("action").is_none() {
        wanting.push("an `action`");
    }
    if actor_id.is_none_or(|id| id.trim().is_empty()) {
        wanting.push("an `actor` with an id");
    }
    if text("eventTime")
        .and_then(caliper_validation::parse_date_time)
        .is_none()
    {
        wanting.push("an `eventTime` that is a date-time");
    }
    (!wanting.is_empty())
        .then(|| format!("this event cannot be stored without {}", wanting.join(", ")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_event_needs_its_key_its_time_and_its_actor() {
        let event = json!({"id": "x", "type": "Thing", "action": "Did", "actor": {"id": "_:a"},
                           "eventTime": "2024-01-01T00:00:00Z"});
        assert_eq!(unusable(&event), None, "however un-Caliper it is otherwise");
        let mut bad = event.clone();
        bad["eventTime"] = json!("yesterday");
        bad["actor"] = json!({"type": "Person"});
        let why = unusable(&bad).unwrap_or_default();
        assert!(
            why.contains("`actor`") && why.contains("`eventTime`") && !why.contains("`id`"),
            "{why}"
        );
        assert!(unusable(&json!(7)).is_some_and(|why| why.contains("a number")));
    }
}

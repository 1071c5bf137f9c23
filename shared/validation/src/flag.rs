//! What the `flag` policy needs of an envelope: its problems sorted by where they belong, so
//! that each event is stored with its own (and its envelope's) instead of refusing the body.

use serde_json::Value;

use crate::model::Version;
use crate::problem::{Problem, Problems};
use crate::{check, data_version, schema};

/// An envelope's problems, apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// The envelope's own (`/sensor`, `/sendTime`, `/data` when it is no list): every event of
    /// it shares them.
    pub envelope: Vec<Problem>,
    /// Each item's, by its index in `data`, paths from the item (`/actor/type`).
    pub items: Vec<Vec<Problem>>,
}

/// Checks `envelope` as [`crate::validate_envelope`] does (but for the limits, which no policy
/// relaxes), and sorts what it finds by envelope and item.
pub fn findings(envelope: &Value) -> Findings {
    let data = envelope.get("data").and_then(Value::as_array);
    let mut items = vec![Vec::new(); data.map_or(0, Vec::len)];
    let mut own = Problems::default();
    schema::check(envelope, &mut own);
    let mut envelope_problems = Vec::new();
    for problem in own.list {
        match item_of(&problem.path) {
            Some((index, rest)) if index < items.len() => {
                items[index].push(Problem::new(rest, problem.message))
            }
            _ => envelope_problems.push(problem),
        }
    }
    let version = data_version(envelope).unwrap_or(Version::V1p2);
    for (index, item) in data.into_iter().flatten().enumerate() {
        let mut found = Problems::default();
        check::item(item, version, &mut found);
        items[index].extend(found.list);
        items[index] = sorted(std::mem::take(&mut items[index]));
    }
    Findings {
        envelope: sorted(envelope_problems),
        items,
    }
}

/// `/data/3/actor` → (3, `/actor`).
fn item_of(path: &str) -> Option<(usize, &str)> {
    let rest = path.strip_prefix("/data/")?;
    let (index, rest) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    Some((index.parse().ok()?, rest))
}

fn sorted(problems: Vec<Problem>) -> Vec<Problem> {
    let mut all = Problems::default();
    for problem in problems {
        all.push(problem);
    }
    all.into_result().err().map(|p| p.list).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_item_keeps_its_own_problems_and_the_envelope_its() {
        let good = json!({"id": "urn:uuid:c51570e4-f8ed-4c18-bb3a-dfe51b2cc594", "type": "Event",
                          "actor": "https://example.edu/u/1", "action": "Created",
                          "object": "https://example.edu/o/1", "eventTime": "2024-01-01T00:00:00Z"});
        let mut bad = good.clone();
        bad["actor"] = json!({"id": "https://example.edu/u/1", "type": "Entity"});
        let envelope = json!({"sensor": "not an iri", "sendTime": "2024-01-01T00:00:00Z",
                              "dataVersion": crate::CALIPER_V1P2, "data": [good, bad, 7]});
        let found = findings(&envelope);
        let paths = |list: &[Problem]| list.iter().map(|p| p.path.clone()).collect::<Vec<_>>();
        assert_eq!(paths(&found.envelope), ["/sensor"]);
        assert_eq!(found.items.len(), 3);
        assert!(found.items[0].is_empty());
        assert_eq!(paths(&found.items[1]), ["/actor/type"]);
        assert_eq!(paths(&found.items[2]), [""], "not an object");
    }
}

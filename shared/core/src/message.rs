//! The queue message: one part of one job's events.

use caliper_validation::Problem;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ports::Message;

/// SQS takes at most 1 MiB (1,048,576 bytes) per message.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobMessage {
    pub job_id: String,
    pub client_app_id: String,
    /// This message's place among the job's parts, from 0.
    pub part: u32,
    pub parts: u32,
    pub sensor: String,
    pub send_time: String,
    /// The envelope's `dataVersion` (parts queued before 1.1 was accepted have none: 1.2).
    #[serde(default = "crate::model::default_data_version")]
    pub data_version: String,
    pub events: Vec<Value>,
    /// Under the `flag` policy, each event's problems, in the order of `events`; empty when none
    /// has any (every part of a `strict` client's job).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Vec<Problem>>,
    /// When the job was accepted (milliseconds since 1970), for the job latency the processor
    /// logs; parts queued before it was recorded have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<i64>,
    /// Where the events came from when not a submission to the API (`connector:<id>`): what
    /// items set aside in quarantine say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Message for JobMessage {
    const NAME: &'static str = "job message";
}

/// Splits a job's events (with their `problems`, when the `flag` policy found any: one list per
/// event, or none at all) into messages of at most `max_bytes` each, in order, never inside an
/// event. An envelope without events still gets one (empty) message, so that its job completes
/// the same way.
#[allow(clippy::too_many_arguments)]
pub fn split_into_parts(
    job_id: &str,
    client_app_id: &str,
    sensor: &str,
    send_time: &str,
    data_version: &str,
    events: Vec<Value>,
    problems: Vec<Vec<Problem>>,
    max_bytes: usize,
) -> Vec<JobMessage> {
    let empty = JobMessage {
        job_id: job_id.to_owned(),
        client_app_id: client_app_id.to_owned(),
        part: u32::MAX,
        parts: u32::MAX,
        sensor: sensor.to_owned(),
        send_time: send_time.to_owned(),
        data_version: data_version.to_owned(),
        events: Vec::new(),
        problems: Vec::new(),
        accepted_at: Some(i64::MAX),
        source: None,
    };
    // The largest part and parts numbers (and acceptance time) are counted in `overhead`, so real
    // ones only make it smaller.
    // (A message that cannot be written fails its send; it leaves no budget meanwhile.)
    let overhead = empty.to_json().map_or(max_bytes, |json| json.len());
    let budget = max_bytes.saturating_sub(overhead);

    let mut problems = problems.into_iter();
    let mut groups: Vec<(Vec<Value>, Vec<Vec<Problem>>)> = vec![Default::default()];
    let mut used = 0;
    for event in events {
        let found = problems.next().unwrap_or_default();
        // The event and its comma; its problems, their brackets and commas.
        let size = caliper_validation::compact_size(&event)
            + 1
            + serde_json::to_vec(&found).map_or(0, |json| json.len() + 1);
        let current = groups.last().map_or(0, |(events, _)| events.len());
        if current > 0 && used + size > budget {
            groups.push(Default::default());
            used = 0;
        }
        used += size;
        if let Some((events, problems)) = groups.last_mut() {
            events.push(event);
            problems.push(found);
        }
    }

    let parts = groups.len() as u32;
    groups
        .into_iter()
        .enumerate()
        .map(|(part, (events, problems))| JobMessage {
            part: part as u32,
            parts,
            events,
            problems: if problems.iter().all(Vec::is_empty) {
                Vec::new()
            } else {
                problems
            },
            accepted_at: None,
            source: None,
            ..empty.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(i: usize, pad: usize) -> Value {
        json!({"id": format!("urn:uuid:{i}"), "pad": "x".repeat(pad)})
    }

    #[test]
    fn small_envelopes_are_one_message() {
        let parts = split_into_parts(
            "j",
            "c",
            "s",
            "t",
            "v",
            vec![event(1, 10), event(2, 10)],
            Vec::new(),
            MAX_MESSAGE_BYTES,
        );
        assert_eq!(parts.len(), 1);
        assert_eq!(
            (parts[0].part, parts[0].parts, parts[0].events.len()),
            (0, 1, 2)
        );
    }

    #[test]
    fn no_events_still_make_one_message() {
        let parts = split_into_parts(
            "j",
            "c",
            "s",
            "t",
            "v",
            vec![],
            Vec::new(),
            MAX_MESSAGE_BYTES,
        );
        assert_eq!(parts.len(), 1);
        assert!(parts[0].events.is_empty());
    }

    #[test]
    fn large_envelopes_split_in_order_and_every_message_fits() {
        let events: Vec<Value> = (0..40).map(|i| event(i, 100_000)).collect();
        let parts = split_into_parts(
            "job",
            "client",
            "https://example.edu/s",
            "2024-01-01T00:00:00Z",
            caliper_validation::CALIPER_V1P1,
            events.clone(),
            Vec::new(),
            MAX_MESSAGE_BYTES,
        );
        assert!(parts.len() >= 4, "{} parts", parts.len());
        for (i, message) in parts.iter().enumerate() {
            assert_eq!(message.part as usize, i);
            assert_eq!(message.parts as usize, parts.len());
            assert!(
                message.to_json().expect("json").len() <= MAX_MESSAGE_BYTES,
                "part {i} is {} bytes",
                message.to_json().expect("json").len()
            );
        }
        let rejoined: Vec<Value> = parts.into_iter().flat_map(|m| m.events).collect();
        assert_eq!(rejoined, events, "nothing lost, nothing reordered");
    }

    #[test]
    fn messages_round_trip() {
        let parts = split_into_parts("j", "c", "s", "t", "v", vec![event(1, 3)], Vec::new(), 1000);
        assert_eq!(
            JobMessage::from_json(&parts[0].to_json().expect("json")).ok(),
            Some(parts[0].clone())
        );
    }
}

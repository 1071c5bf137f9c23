//! The files of a bulk export, pure (bytes in memory; where they go and which events they hold
//! is `caliper_core::exports`'s):
//!
//! - [`columns`]: Parquet, a typed column per top-level field that analytics filter on, and the
//!   whole event as JSON;
//! - [`ndjson`]: gzipped NDJSON, a line per event as `GET /caliper/events/{id}` returns it.
//!
//! Kept out of every function that does not export: the Parquet writer is most of its build.

pub mod columns;
pub mod ndjson;

use caliper_core::exports::{Encoder, Format};
use caliper_core::model::StoredEvent;

/// One file of `events` in `format`, in their order.
pub fn encode(format: Format, events: &[StoredEvent]) -> Result<Vec<u8>, EncodeError> {
    match format {
        Format::Parquet => columns::encode(events),
        Format::Ndjson => ndjson::encode(events),
    }
}

/// The exporter's [`Encoder`]: these formats.
pub struct Files;

impl Encoder for Files {
    fn encode(&self, format: Format, events: &[StoredEvent]) -> Result<Vec<u8>, String> {
        encode(format, events).map_err(|error| error.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("the Parquet file could not be written: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("the file could not be written: {0}")]
    Io(#[from] std::io::Error),
    #[error("an event could not be written as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

#[cfg(test)]
pub(crate) mod sample {
    use caliper_core::model::StoredEvent;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    /// Three stored events as the processor makes them: actors and objects as objects and as bare
    /// IRIs, with and without a profile.
    pub fn events() -> Vec<StoredEvent> {
        let now = Utc
            .with_ymd_and_hms(2024, 5, 2, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let v1p2 = "http://purl.imsglobal.org/ctx/caliper/v1p2";
        let event = |n: u64,
                     time: &str,
                     actor: serde_json::Value,
                     object: serde_json::Value,
                     profile: Option<&str>| {
            let mut body = json!({
                "id": format!("urn:uuid:00000000-0000-4000-8000-00000000000{n}"),
                "type": "ToolUseEvent", "action": "Used", "eventTime": time,
                "actor": actor, "object": object,
            });
            if let Some(profile) = profile {
                body["profile"] = json!(profile);
            }
            StoredEvent::from_event(
                &body,
                n,
                "https://example.edu/sensor",
                "2024-05-01T23:59:59.000Z",
                v1p2,
                "app",
                now,
            )
        };
        vec![
            event(
                1,
                "2024-05-01T12:00:00.123Z",
                json!({"id": "https://example.edu/users/1", "type": "Person"}),
                json!({"id": "https://example.edu/apps/1", "type": "SoftwareApplication"}),
                Some("ToolUseProfile"),
            ),
            event(
                2,
                "2024-05-01T23:59:59.999Z",
                json!("https://example.edu/users/2"),
                json!("https://example.edu/apps/1"),
                None,
            ),
            event(
                3,
                "2024-05-02T00:00:00.000+02:00",
                json!({"id": "https://example.edu/users/1", "type": "Person"}),
                json!({"id": "https://example.edu/apps/2", "type": "SoftwareApplication"}),
                Some("ToolUseProfile"),
            ),
        ]
    }
}

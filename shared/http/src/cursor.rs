//! The opaque `nextCursor` of event listings: where the last page ended, the listing it belongs to,
//! and what the first page counted, so that a later page neither re-counts nor skips its way there.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use caliper_core::{EventFilter, Order, Position};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The position of the last event handed out.
    pub after: String,
    /// The total of the listing when its first page was read.
    pub total: u64,
    /// The page the cursor's holder has read last.
    pub page: u64,
    /// The listing: its filters and order, which every later page must repeat.
    pub listing: Listing,
}

/// A listing's parameters as they were asked, to compare with a later page's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_version: Option<String>,
    pub oldest_first: bool,
}

impl Listing {
    pub fn of(filter: &EventFilter, order: Order) -> Self {
        Self {
            sensor: filter.sensor.clone(),
            actor_id: filter.actor_id.clone(),
            actor_email: filter.actor_email.as_deref().map(str::to_lowercase),
            from: filter.from.clone(),
            until: filter.until.clone(),
            data_version: filter.data_version.clone(),
            oldest_first: order == Order::OldestFirst,
        }
    }
}

impl Cursor {
    pub fn encode(&self) -> String {
        // A plain struct of strings and numbers always serialises.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Reads a cursor; `None` for anything this API did not issue.
    pub fn decode(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?;
        let cursor: Self = serde_json::from_slice(&bytes).ok()?;
        Position::parse(&cursor.after)?;
        Some(cursor)
    }

    pub fn position(&self) -> Option<Position> {
        Position::parse(&self.after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_nothing_else_reads_as_one() {
        let cursor = Cursor {
            after: Position {
                time: "2024-05-01T12:00:00.000000000Z".into(),
                id: 9,
            }
            .key(),
            total: 120,
            page: 2,
            listing: Listing::of(&EventFilter::default(), Order::NewestFirst),
        };
        let text = cursor.encode();
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(Cursor::decode(&text), Some(cursor));
        for bad in [
            "",
            "abc",
            "eyJ9",
            "!!!",
            &URL_SAFE_NO_PAD
                .encode(r#"{"after":"x","total":1,"page":1,"listing":{"oldest_first":false}}"#),
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}

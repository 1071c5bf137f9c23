//! The opaque `nextCursor` of event listings: where the last page ended, the listing it belongs to,
//! and what the first page counted, so that a later page neither re-counts nor skips its way there.
//!
//! On the wire: `base64url(JSON).base64url(signature)`, the signature (the ports' [`Signer`]) over
//! the holder's client id and the JSON: a cursor that was edited, forged or is another client's
//! is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use caliper_core::{EventFilter, Order, Position, Signer, StoreError};
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conformant: Option<bool>,
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
            conformant: filter.conformant,
            oldest_first: order == Order::OldestFirst,
        }
    }
}

/// What is signed: the holder, and the cursor's encoded fields.
fn signed(holder: &str, fields: &str) -> Vec<u8> {
    format!("{holder}\n{fields}").into_bytes()
}

impl Cursor {
    /// The cursor as handed to `holder` (a client id), signed.
    pub async fn seal(&self, holder: &str, signer: &dyn Signer) -> Result<String, StoreError> {
        // A plain struct of strings and numbers always serialises.
        let fields = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let signature = signer.sign(&signed(holder, &fields)).await?;
        Ok(format!("{fields}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// Reads a cursor's fields; `None` for anything not of the shape this API issues. Whether it
    /// is one this API issued is [`Self::verify`]'s to say.
    pub fn decode(text: &str) -> Option<Self> {
        let (fields, _) = text.split_once('.')?;
        let bytes = URL_SAFE_NO_PAD.decode(fields).ok()?;
        let cursor: Self = serde_json::from_slice(&bytes).ok()?;
        Position::parse(&cursor.after)?;
        Some(cursor)
    }

    /// Whether `text` is a cursor this API handed to `holder`, unchanged.
    pub async fn verify(text: &str, holder: &str, signer: &dyn Signer) -> Result<bool, StoreError> {
        let Some((fields, signature)) = text.split_once('.') else {
            return Ok(false);
        };
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
            return Ok(false);
        };
        signer.verify(&signed(holder, fields), &signature).await
    }

    pub fn position(&self) -> Option<Position> {
        Position::parse(&self.after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cursor_reads_back_to_its_holder_and_nothing_else_reads_as_one() {
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
        let signer = caliper_core::HmacSigner::new(vec![vec![7; 32]]).expect("signer");
        let text = cursor.seal("c1", &signer).await.expect("seal");
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'));
        assert_eq!(Cursor::decode(&text), Some(cursor.clone()));
        assert!(Cursor::verify(&text, "c1", &signer).await.expect("verify"));
        assert!(
            !Cursor::verify(&text, "c2", &signer).await.expect("verify"),
            "another client's"
        );
        // An edited total, signature kept: its fields read, and its signature refuses it.
        let forged = Cursor {
            total: 1_000_000,
            ..cursor
        }
        .seal(
            "c1",
            &caliper_core::HmacSigner::new(vec![vec![8; 32]]).expect("signer"),
        )
        .await
        .expect("seal");
        let (fields, _) = forged.split_once('.').unwrap_or_default();
        let (_, signature) = text.split_once('.').unwrap_or_default();
        let edited = format!("{fields}.{signature}");
        assert!(Cursor::decode(&edited).is_some());
        assert!(!Cursor::verify(&edited, "c1", &signer)
            .await
            .expect("verify"));
        assert!(!Cursor::verify(&forged, "c1", &signer)
            .await
            .expect("verify"));
        assert!(!Cursor::verify("abc", "c1", &signer).await.expect("verify"));
        for bad in [
            "",
            "abc",
            "eyJ9",
            "!!!",
            &format!(
                "{}.x",
                URL_SAFE_NO_PAD
                    .encode(r#"{"after":"x","total":1,"page":1,"listing":{"oldest_first":false}}"#)
            ),
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}

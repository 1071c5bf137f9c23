//! How records are kept in the database: JSON, packed as stored events are
//! ([`caliper_core::packed`]: zstd with a dictionary of Caliper's vocabulary). A record written
//! before records were compressed is plain JSON, which begins with `{` where a packed one begins
//! with its tag or zstd's magic number, so every one reads back without a migration.

use caliper_core::StoreError;
use serde::{Deserialize, Serialize};

/// The largest record read back: far above any record the API lets in (a job part holds at most
/// its 5 MiB envelope's events).
const LARGEST: usize = 256 << 20;

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(value).map_err(unwritable)?;
    caliper_core::packed::pack(&json).map_err(unwritable)
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        StoreError::corrupt(format!("embedded store holds an unreadable record: {e}"))
    };
    if bytes.first() == Some(&b'{') {
        return serde_json::from_slice(bytes).map_err(|e| unreadable(&e));
    }
    let json = caliper_core::packed::unpack(bytes, LARGEST).map_err(|e| unreadable(&e))?;
    serde_json::from_slice(&json).map_err(|e| unreadable(&e))
}

fn unwritable(error: impl std::fmt::Display) -> StoreError {
    StoreError::invalid(format!("embedded store: cannot encode a record: {error}"))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    #[test]
    fn records_round_trip_and_plain_json_still_reads() {
        let record = json!({"id": "urn:uuid:1", "actor": {"id": "https://example.edu/u/1"}});
        let packed = encode(&record).expect("encode");
        assert_ne!(packed.first(), Some(&b'{'));
        assert_eq!(decode::<Value>(&packed).expect("decode"), record);
        let legacy = serde_json::to_vec(&record).expect("json");
        assert_eq!(decode::<Value>(&legacy).expect("decode legacy"), record);
        assert!(decode::<Value>(b"\x28\xb5\x2f\xfd garbage").is_err());
        // Records compressed before the dictionary (a bare zstd frame) still read.
        let frame = zstd::bulk::compress(&legacy, 3).expect("compress");
        assert_eq!(
            decode::<Value>(&frame).expect("decode a bare frame"),
            record
        );
    }
}

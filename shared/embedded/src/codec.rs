//! How records are kept in the database: JSON, compressed with zstd. A record written before
//! records were compressed is plain JSON, which begins with `{` where a zstd frame begins with
//! its magic number, so both read back without a migration.

use std::cell::RefCell;

use caliper_core::StoreError;
use serde::{Deserialize, Serialize};

/// zstd's level for stored records. Measured on 1.2 KB Caliper events (`cargo test -p
/// caliper-embedded --release --lib -- --ignored --nocapture compression_levels`): levels 1 and
/// 3 keep 0.447 and 0.442 of the JSON at 7.2 µs an event (on records this small the cost is
/// mostly per call); level 6 keeps 0.431 at 11 µs, 9 the same at 17 µs.
const LEVEL: i32 = 3;

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// The largest record read back: far above any record the API lets in (a job part holds at most
/// its 5 MiB envelope's events).
const LARGEST: usize = 256 << 20;

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(value).map_err(unwritable)?;
    compress(&json)
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        StoreError::new(format!("embedded store holds an unreadable record: {e}"))
    };
    if bytes.first() == Some(&b'{') {
        return serde_json::from_slice(bytes).map_err(|e| unreadable(&e));
    }
    let json = decompress(bytes).map_err(|e| unreadable(&e))?;
    serde_json::from_slice(&json).map_err(|e| unreadable(&e))
}

fn compress(bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let compressor = match cell.as_mut() {
            Some(compressor) => compressor,
            None => cell.insert(zstd::bulk::Compressor::new(LEVEL).map_err(unwritable)?),
        };
        compressor.compress(bytes).map_err(unwritable)
    })
}

fn decompress(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let size = zstd::zstd_safe::get_frame_content_size(bytes)
        .ok()
        .flatten()
        .map_or(LARGEST, |n| usize::try_from(n).unwrap_or(LARGEST));
    if size > LARGEST {
        return Err(std::io::Error::other(
            "a record larger than any the store writes",
        ));
    }
    DECOMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let decompressor = match cell.as_mut() {
            Some(decompressor) => decompressor,
            None => cell.insert(zstd::bulk::Decompressor::new()?),
        };
        decompressor.decompress(bytes, size)
    })
}

fn unwritable(error: impl std::fmt::Display) -> StoreError {
    StoreError::new(format!("embedded store: cannot encode a record: {error}"))
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
    }

    /// The measurement behind [`LEVEL`]; not a test of anything (run with --ignored --nocapture).
    #[test]
    #[ignore]
    fn compression_levels() {
        let event = |n: u32| {
            serde_json::to_vec(&json!({
                "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
                "id": format!("urn:uuid:c51570e4-f8ed-4c18-bb3a-dfe51b2cc{n:03}"),
                "type": "AssessmentItemEvent", "profile": "AssessmentProfile", "action": "Completed",
                "actor": {"id": format!("https://example.edu/users/{n}"), "type": "Person"},
                "object": {"id": "https://example.edu/terms/201801/courses/7/sections/1/assess/1/items/3",
                  "type": "AssessmentItem", "name": "Assessment Item 3",
                  "isPartOf": {"id": "https://example.edu/terms/201801/courses/7/sections/1/assess/1", "type": "Assessment"}},
                "generated": {"id": format!("https://example.edu/terms/201801/courses/7/sections/1/assess/1/items/3/users/{n}/responses/1"),
                  "type": "FillinBlankResponse", "values": ["2 July 1776"]},
                "eventTime": "2018-11-15T10:15:12.000Z", "edApp": "https://example.edu",
                "group": {"id": "https://example.edu/terms/201801/courses/7/sections/1", "type": "CourseSection",
                  "courseNumber": "CPS 435-01", "academicSession": "Fall 2018"},
                "membership": {"id": "https://example.edu/terms/201801/courses/7/sections/1/rosters/1",
                  "type": "Membership", "roles": ["Learner"], "status": "Active"},
                "session": {"id": format!("https://example.edu/sessions/{n}"), "type": "Session"}
            }))
            .expect("json")
        };
        let events: Vec<Vec<u8>> = (0..1000).map(event).collect();
        let raw: usize = events.iter().map(Vec::len).sum();
        for level in [1, 3, 6, 9, 19] {
            let mut compressor = zstd::bulk::Compressor::new(level).expect("a compressor");
            let started = std::time::Instant::now();
            let packed: usize = events
                .iter()
                .map(|e| compressor.compress(e).map(|c| c.len()).unwrap_or(0))
                .sum();
            let per = started.elapsed() / events.len() as u32;
            println!(
                "level {level:2}: {:.3} of the JSON, {per:?} per event",
                packed as f64 / raw as f64
            );
        }
    }
}

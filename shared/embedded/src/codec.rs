//! How records are kept in the database: JSON, compressed with zstd. A record written before
//! records were compressed is plain JSON, which begins with `{` where a zstd frame begins with
//! its magic number, so both read back without a migration.

use std::cell::RefCell;

use caliper_core::StoreError;
use serde::{Deserialize, Serialize};

/// zstd's level for stored records. Measured on 1.1 KB Caliper events (`cargo bench -p
/// caliper-embedded --bench compression`): levels 1 and 3 keep 0.446 and 0.442 of the JSON, 3 at
/// 1.13x the time of 1 (about 7 µs an event; on records this small the cost is mostly per call);
/// level 6 keeps 0.430 at 1.7x, 9 the same at 2.6x.
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
        StoreError::corrupt(format!("embedded store holds an unreadable record: {e}"))
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
    }
}

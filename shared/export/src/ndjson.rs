//! Gzipped NDJSON: a line per event, exactly as `GET /caliper/events/{id}` returns it under
//! `event`, so that what a reader knows of the API's events holds for the files.

use std::io::Write;

use caliper_core::model::StoredEvent;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::EncodeError;

pub fn encode(events: &[StoredEvent]) -> Result<Vec<u8>, EncodeError> {
    let mut file = GzEncoder::new(Vec::new(), Compression::default());
    for event in events {
        serde_json::to_writer(&mut file, event)?;
        file.write_all(b"\n")?;
    }
    Ok(file.finish()?)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn each_line_is_an_event_as_the_api_returns_it() {
        let events = crate::sample::events();
        let file = encode(&events).unwrap_or_else(|e| panic!("{e}"));
        let mut text = String::new();
        flate2::read::GzDecoder::new(file.as_slice())
            .read_to_string(&mut text)
            .unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let expected: Vec<serde_json::Value> = events
            .iter()
            .map(|e| serde_json::to_value(e).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        assert_eq!(lines, expected);
        assert!(text.ends_with('\n'));
        assert_eq!(
            encode(&[]).map(|f| f.is_empty()).ok(),
            Some(false),
            "an empty file is still gzip"
        );
    }
}

//! Parquet: a column per top-level field that analytics filter on, typed (times as UTC
//! timestamps, the allocated id as an integer), and the whole event as JSON (`event`, as `GET`
//! returns it) for everything else. Pages are zstd-compressed and strings dictionary-encoded, so
//! the many repeats of a day's events (types, actions, sensors, actors) cost little.

use std::sync::Arc;

use caliper_core::model::StoredEvent;
use parquet::basic::{Compression, ZstdLevel};
use parquet::data_type::{ByteArray, ByteArrayType, DataType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedColumnWriter, SerializedFileWriter};
use parquet::schema::parser::parse_message_type;
use serde_json::Value;

use crate::EncodeError;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Json,
    /// Microseconds since the epoch, UTC.
    Time,
    Long,
}

/// One event's value in a column; none: null.
enum Cell {
    Text(Option<String>),
    Long(Option<i64>),
}

type Column = (&'static str, Kind, fn(&StoredEvent) -> Cell);

/// The columns, in file order.
const COLUMNS: [Column; 14] = [
    ("id", Kind::Text, |e| text(&e.external_id)),
    ("type", Kind::Text, |e| text(&e.event_type)),
    ("action", Kind::Text, |e| text(&e.action)),
    ("profile", Kind::Text, |e| Cell::Text(e.profile.clone())),
    ("eventTime", Kind::Time, |e| time(&e.event_time)),
    ("sensor", Kind::Text, |e| text(&e.sensor)),
    ("sendTime", Kind::Time, |e| time(&e.send_time)),
    ("clientAppId", Kind::Text, |e| text(&e.client_app_id)),
    ("dataVersion", Kind::Text, |e| text(&e.data_version)),
    ("actorId", Kind::Text, |e| Cell::Text(id_of(&e.actor))),
    ("objectId", Kind::Text, |e| Cell::Text(id_of(&e.object))),
    ("objectType", Kind::Text, |e| {
        Cell::Text(
            e.object
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_owned),
        )
    }),
    ("allocatedId", Kind::Long, |e| {
        Cell::Long(i64::try_from(e.id).ok())
    }),
    ("event", Kind::Json, |e| {
        Cell::Text(serde_json::to_string(e).ok())
    }),
];

fn text(value: &str) -> Cell {
    Cell::Text(Some(value.to_owned()))
}

fn time(value: &str) -> Cell {
    Cell::Long(instant(value).map(|t| t.timestamp_micros()))
}

/// An entity's id: itself when it is a bare IRI, its `id` when it is an object.
fn id_of(entity: &Value) -> Option<String> {
    match entity {
        Value::String(iri) => Some(iri.clone()),
        other => other.get("id").and_then(Value::as_str).map(str::to_owned),
    }
}

/// The file's schema, from the columns: every column may be null (Athena's and Spark's reading).
fn schema() -> String {
    let fields: String = COLUMNS
        .iter()
        .map(|(name, kind, _)| match kind {
            Kind::Text => format!("optional binary {name} (STRING); "),
            Kind::Json => format!("optional binary {name} (JSON); "),
            Kind::Time => format!("optional int64 {name} (TIMESTAMP(MICROS,true)); "),
            Kind::Long => format!("optional int64 {name}; "),
        })
        .collect();
    format!("message caliper_event {{ {fields}}}")
}

/// `events` as one Parquet file of one row group (callers bound a file's events).
pub fn encode(events: &[StoredEvent]) -> Result<Vec<u8>, EncodeError> {
    let schema = Arc::new(parse_message_type(&schema())?);
    let properties = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
            .set_created_by("caliper-export".into())
            .build(),
    );
    let mut file = SerializedFileWriter::new(Vec::new(), schema, properties)?;
    let mut group = file.next_row_group()?;
    for (_, kind, value) in COLUMNS {
        let Some(mut column) = group.next_column()? else {
            break;
        };
        let cells = events.iter().map(value);
        match kind {
            Kind::Time | Kind::Long => write::<Int64Type>(
                &mut column,
                cells.map(|cell| match cell {
                    Cell::Long(value) => value,
                    Cell::Text(_) => None,
                }),
            )?,
            Kind::Text | Kind::Json => write::<ByteArrayType>(
                &mut column,
                cells.map(|cell| match cell {
                    Cell::Text(value) => value.map(|text| ByteArray::from(text.into_bytes())),
                    Cell::Long(_) => None,
                }),
            )?,
        }
        column.close()?;
    }
    group.close()?;
    Ok(file.into_inner()?)
}

/// Writes one column's values, a null where there is none (definition level 0; 1 for a value).
fn write<T: DataType>(
    column: &mut SerializedColumnWriter<'_>,
    cells: impl Iterator<Item = Option<T::T>>,
) -> Result<(), EncodeError> {
    let mut defined = Vec::new();
    let values: Vec<T::T> = cells
        .filter_map(|value| {
            defined.push(i16::from(value.is_some()));
            value
        })
        .collect();
    column
        .typed::<T>()
        .write_batch(&values, Some(&defined), None)?;
    Ok(())
}

/// The instant an RFC 3339 time names, in UTC; none when it is not one (the validator lets none
/// through, but stored data is read leniently).
fn instant(time: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(time)
        .ok()
        .map(|time| time.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    use super::*;

    #[test]
    fn each_column_holds_its_field_typed_and_the_event_as_the_api_returns_it() {
        let events = crate::sample::events();
        let file = encode(&events).unwrap_or_else(|e| panic!("{e}"));
        let reader =
            SerializedFileReader::new(bytes::Bytes::from(file)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reader.metadata().file_metadata().num_rows(), 3);
        let rows: Vec<Vec<(String, Field)>> = reader
            .get_row_iter(None)
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|row| {
                row.unwrap_or_else(|e| panic!("{e}"))
                    .get_column_iter()
                    .map(|(name, field)| (name.clone(), field.clone()))
                    .collect()
            })
            .collect();
        let names: Vec<&str> = rows[0].iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, COLUMNS.map(|(name, _, _)| name));
        let cell = |row: usize, name: &str| -> Field {
            rows[row]
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, f)| f.clone())
                .unwrap_or(Field::Null)
        };
        let text = |s: &str| Field::Str(s.to_owned());
        assert_eq!(
            cell(0, "id"),
            text("urn:uuid:00000000-0000-4000-8000-000000000001")
        );
        assert_eq!(cell(0, "profile"), text("ToolUseProfile"));
        assert_eq!(cell(1, "profile"), Field::Null);
        // 2024-05-01T12:00:00.123Z, and an offset's time in UTC.
        assert_eq!(
            cell(0, "eventTime"),
            Field::TimestampMicros(1_714_564_800_123_000)
        );
        assert_eq!(
            cell(2, "eventTime"),
            Field::TimestampMicros(1_714_600_800_000_000)
        );
        assert_eq!(cell(0, "actorId"), text("https://example.edu/users/1"));
        assert_eq!(
            cell(1, "actorId"),
            text("https://example.edu/users/2"),
            "a bare IRI is its id"
        );
        assert_eq!(cell(0, "objectType"), text("SoftwareApplication"));
        assert_eq!(cell(1, "objectType"), Field::Null);
        assert_eq!(cell(2, "allocatedId"), Field::Long(3));
        for (row, event) in events.iter().enumerate() {
            let Field::Str(json) = cell(row, "event") else {
                panic!("no event in row {row}");
            };
            let read: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(read, serde_json::to_value(event).unwrap_or_default());
        }
    }
}

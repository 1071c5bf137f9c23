//! Which file an event goes to: its partition is the UTC date of its `eventTime` (an offset
//! counts: `2024-05-02T00:00:00+02:00` is the 1st in UTC), its file a numbered part of that date.

use caliper_core::model::StoredEvent;
use chrono::{DateTime, NaiveDate, Utc};

use crate::Format;

/// The instant of an event's `eventTime`, in UTC; none when it is not an RFC 3339 time (the
/// validator lets none through, but stored data is read leniently).
pub fn event_time(event: &StoredEvent) -> Option<DateTime<Utc>> {
    instant(&event.event_time)
}

/// The instant an RFC 3339 time names, in UTC.
pub fn instant(time: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(time)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// The UTC date an event belongs to.
pub fn date_of(event: &StoredEvent) -> Option<NaiveDate> {
    event_time(event).map(|time| time.date_naive())
}

/// The name of a date's `part`-th file: `dt=YYYY-MM-DD/part-NNNNN.<extension>`.
pub fn part_name(date: NaiveDate, part: u32, format: Format) -> String {
    format!(
        "dt={}/part-{part:05}.{}",
        date.format("%Y-%m-%d"),
        format.extension()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_belongs_to_the_utc_date_of_its_time() {
        let dates: Vec<String> = crate::sample::events()
            .iter()
            .map(|e| date_of(e).map(|d| d.to_string()).unwrap_or_default())
            .collect();
        assert_eq!(dates, ["2024-05-01", "2024-05-01", "2024-05-01"]);
        let date = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap_or_default();
        assert_eq!(
            part_name(date, 7, Format::Parquet),
            "dt=2024-05-01/part-00007.parquet"
        );
        assert_eq!(
            part_name(date, 0, Format::Ndjson),
            "dt=2024-05-01/part-00000.ndjson.gz"
        );
    }
}

//! The string formats Caliper relies on, checked in plain Rust and registered with the schema.

use chrono::{DateTime, FixedOffset};

/// An absolute IRI (RFC 3987), as Caliper requires for every entity id and the sensor.
pub fn is_iri(s: &str) -> bool {
    iri_string::validate::iri::<iri_string::spec::IriSpec>(s).is_ok()
}

/// A blank node identifier: a string that begins with `_:` (Caliper's definition), naming an
/// entity within its document only; its label, as JSON-LD's and RDF's, is not empty and has no
/// white space.
pub fn is_blank_node(s: &str) -> bool {
    s.strip_prefix("_:").is_some_and(|label| {
        !label.is_empty() && !label.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

/// An entity's identifier: "a valid IRI or a blank node identifier" (Identifiers, in both
/// versions' texts). Events keep their `urn:uuid` ids.
pub fn is_entity_id(s: &str) -> bool {
    is_iri(s) || is_blank_node(s)
}

/// An ISO 8601 date and time with a zone (`Z` or an offset), as RFC 3339 profiles it.
pub fn is_date_time(s: &str) -> bool {
    parse_date_time(s).is_some()
}

/// An ISO 8601 date and time with a zone, as RFC 3339 profiles it, or with the offset written
/// without its colon (`+0000`, ISO 8601's basic form), as the IMS JavaScript sensor writes it.
pub fn parse_date_time(s: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    let split = s.len().checked_sub(5)?;
    let (head, zone) = (s.get(..split)?, s.get(split..)?);
    let basic_offset =
        zone.starts_with(['+', '-']) && zone[1..].bytes().all(|b| b.is_ascii_digit());
    if !basic_offset || head.ends_with(['+', '-', ':']) {
        return None;
    }
    DateTime::parse_from_rfc3339(&format!("{head}{}:{}", &zone[..3], &zone[3..])).ok()
}

/// An event id: `urn:uuid:` followed by a UUID in its hyphenated form.
pub fn is_event_id(s: &str) -> bool {
    s.strip_prefix("urn:uuid:")
        .is_some_and(|u| u.len() == 36 && uuid::Uuid::try_parse(u).is_ok())
}

/// An ISO 8601 duration such as `PT2H30M`, `P1DT12H` or `PT0.5S`: designators in order, at least
/// one component, and a fraction only on seconds.
pub fn is_duration(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('P') else {
        return false;
    };
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, Some(time)),
        Some(_) => return false,
        None => (rest, None),
    };
    let components = |part: &str, designators: &str, fraction_on: Option<char>| -> Option<usize> {
        let (mut count, mut allowed, mut digits) = (0, designators, String::new());
        for c in part.chars() {
            if c.is_ascii_digit() || (c == '.' && fraction_on.is_some()) {
                digits.push(c);
                continue;
            }
            let position = allowed.find(c)?;
            let fraction_ok = fraction_on == Some(c);
            let valid = !digits.is_empty()
                && !digits.starts_with('.')
                && !digits.ends_with('.')
                && digits.matches('.').count() <= usize::from(fraction_ok);
            if !valid {
                return None;
            }
            allowed = &allowed[position + 1..];
            digits.clear();
            count += 1;
        }
        digits.is_empty().then_some(count)
    };
    let Some(date_count) = components(date, "YMWD", None) else {
        return false;
    };
    let time_count = match time {
        Some(time) => match components(time, "HMS", Some('S')) {
            Some(n) if n > 0 => n,
            _ => return false,
        },
        None => 0,
    };
    date_count + time_count > 0
}

/// What each format expects, in words, for error messages.
pub fn expectation(format: &str) -> &'static str {
    match format {
        "caliper-iri" => "an absolute IRI such as \"https://example.edu/users/554433\"",
        "caliper-entity-id" => "an absolute IRI such as \"https://example.edu/users/554433\", or a blank node identifier such as \"_:b0\"",
        "caliper-date-time" => "an ISO 8601 date-time with a zone such as \"2024-05-01T12:00:00.000Z\"",
        "caliper-duration" => "an ISO 8601 duration such as \"PT2H30M\"",
        "caliper-event-id" => "an event id of the form \"urn:uuid:<uuid>\" such as \"urn:uuid:c51570e4-f8ed-4c18-bb3a-dfe51b2cc594\"",
        _ => "a value of another format",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iris() {
        assert!(is_iri("https://example.edu/users/1"));
        assert!(is_iri("urn:uuid:c51570e4-f8ed-4c18-bb3a-dfe51b2cc594"));
        assert!(
            is_iri("https:/your-app.domain/users/1"),
            "a single slash is an absolute path, still an IRI"
        );
        assert!(is_iri("https://example.edu/ü/é"));
        assert!(!is_iri("users/1"), "relative references are not ids");
        assert!(!is_iri("https://exa mple.edu"));
        assert!(!is_iri(""));
        assert!(!is_iri("_:b0"), "a blank node is an entity id, not an IRI");
    }

    #[test]
    fn entity_ids() {
        assert!(is_entity_id("https://example.edu/users/1"));
        assert!(is_entity_id("_:MediaLocation"));
        assert!(is_entity_id("_:b0"));
        assert!(!is_entity_id("_:"), "a blank node has a label");
        assert!(!is_entity_id("_:a b"));
        assert!(!is_entity_id("users/1"));
    }

    #[test]
    fn date_times() {
        assert!(is_date_time("2016-11-15T10:15:00.000Z"));
        assert!(is_date_time("2016-11-15T10:15:00+02:00"));
        assert!(
            is_date_time("2016-11-15T10:15:00.000+0000"),
            "the IMS JavaScript sensor's offsets"
        );
        assert!(is_date_time("2016-11-15T10:15:00-0530"));
        assert_eq!(
            parse_date_time("2016-11-15T10:15:00.000+0200"),
            parse_date_time("2016-11-15T10:15:00.000+02:00")
        );
        assert!(!is_date_time("2016-11-15T10:15:00+000"));
        assert!(!is_date_time("2016-11-15T10:15:00+00000"));
        assert!(!is_date_time("2016-11-15T10:15:00+2400"));
        assert!(!is_date_time("2016-11-15+0000"));
        assert!(!is_date_time("+0000"));
        assert!(!is_date_time("é0000"), "not a char boundary, no panic");
        assert!(!is_date_time("2016-11-15T10:15:00"), "a zone is required");
        assert!(!is_date_time("2016-11-15"));
        assert!(!is_date_time("2016-13-15T10:15:00Z"));
        assert!(!is_date_time("yesterday"));
    }

    #[test]
    fn durations() {
        for ok in [
            "PT2H30M",
            "P1DT12H",
            "PT0.5S",
            "P3Y6M4DT12H30M5S",
            "P2W",
            "PT1M30.25S",
        ] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in [
            "",
            "P",
            "PT",
            "2016-11-15T10:55:30.000Z",
            "PT1.5M",
            "P1H",
            "PT30M1H",
            "P1.S",
            "PT.5S",
            "P-1D",
            "PT1S2",
        ] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn event_ids() {
        assert!(is_event_id("urn:uuid:c51570e4-f8ed-4c18-bb3a-dfe51b2cc594"));
        assert!(
            !is_event_id("urn:uuid:c51570e4f8ed4c18bb3adfe51b2cc594"),
            "hyphenated form only"
        );
        assert!(!is_event_id("urn:uuid:not-a-uuid"));
        assert!(!is_event_id("c51570e4-f8ed-4c18-bb3a-dfe51b2cc594"));
    }
}

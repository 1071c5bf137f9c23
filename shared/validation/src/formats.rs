//! The string formats Caliper relies on, checked in plain Rust and registered with the schema.

/// An absolute IRI (RFC 3987), as Caliper requires for every entity id and the sensor.
pub fn is_iri(s: &str) -> bool {
    iri_string::validate::iri::<iri_string::spec::IriSpec>(s).is_ok()
}

/// An ISO 8601 date and time with a zone (`Z` or an offset), as RFC 3339 profiles it.
pub fn is_date_time(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

/// An event id: `urn:uuid:` followed by a UUID in its hyphenated form.
pub fn is_event_id(s: &str) -> bool {
    s.strip_prefix("urn:uuid:")
        .is_some_and(|u| u.len() == 36 && uuid::Uuid::try_parse(u).is_ok())
}

/// What each format expects, in words, for error messages.
pub fn expectation(format: &str) -> &'static str {
    match format {
        "caliper-iri" => "an absolute IRI such as \"https://example.edu/users/554433\"",
        "caliper-date-time" => "an ISO 8601 date-time with a zone such as \"2024-05-01T12:00:00.000Z\"",
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
    }

    #[test]
    fn date_times() {
        assert!(is_date_time("2016-11-15T10:15:00.000Z"));
        assert!(is_date_time("2016-11-15T10:15:00+02:00"));
        assert!(!is_date_time("2016-11-15T10:15:00"), "a zone is required");
        assert!(!is_date_time("2016-11-15"));
        assert!(!is_date_time("2016-13-15T10:15:00Z"));
        assert!(!is_date_time("yesterday"));
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

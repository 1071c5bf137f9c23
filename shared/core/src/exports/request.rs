//! `POST /exports`: which events, in which format. Filtered as the listing is (the same bounds
//! and the same meaning), and never wider than what the caller may read.

use caliper_validation::{Problem, Version};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Format;
use crate::fields::Fields;
use crate::identity::Caller;
use crate::query::{date_bound, EventFilter, EventQuery, Order, Visibility};

/// An export's request as checked and kept: the job reads it back at every step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRequest {
    pub format: Format,
    /// Whose events: one client's, or (admins only) every client's.
    pub client_app_id: Option<String>,
    pub sensor: Option<String>,
    /// The envelopes' `dataVersion`.
    pub data_version: Option<String>,
    /// Inclusive bounds on `eventTime`, as the listing's time keys.
    pub from: Option<String>,
    pub until: Option<String>,
}

const FIELDS: &[&str] = &[
    "format",
    "startDate",
    "endDate",
    "clientAppId",
    "sensor",
    "dataVersion",
];

impl ExportRequest {
    /// Reads a request body; every problem at its pointer. A client exports its own events
    /// only; an admin names one client or exports every client's.
    pub fn parse(body: &Value, caller: &Caller) -> Result<Self, Vec<Problem>> {
        let mut fields = Fields::of(body, "export", FIELDS, &[])?;
        let format = fields.choice("format", &Format::ALL, Format::name);
        let date = |fields: &mut Fields, name: &str, end: bool| {
            let value = fields.optional_text(name, 64)?;
            let bound = date_bound(&value, end);
            if bound.is_none() {
                fields.problem(name, format!("`{name}` must be a date (2024-05-01) or a date-time (2024-05-01T12:00:00Z), found {value:?}"));
            }
            bound
        };
        let from = date(&mut fields, "startDate", false);
        let until = date(&mut fields, "endDate", true);
        if let (Some(from), Some(until)) = (&from, &until) {
            if from > until {
                fields.problem(
                    "endDate",
                    "`endDate` is before `startDate`; no event could match",
                );
            }
        }
        let client_app_id = fields.optional_text("clientAppId", 256);
        let client_app_id = match client_app_id {
            _ if !caller.is_admin() => {
                if client_app_id
                    .as_ref()
                    .is_some_and(|id| *id != caller.client_id)
                {
                    fields.problem("clientAppId", "a client exports its own events only; leave `clientAppId` out (or give your own)");
                }
                Some(caller.client_id.clone())
            }
            given => given,
        };
        let sensor = fields.optional_text("sensor", 2048);
        let data_version = fields.optional_text("dataVersion", 256).and_then(|given| {
            match Version::from_context(&given) {
                Some(version) => Some(version.context().to_owned()),
                None => {
                    fields.problem("dataVersion", format!("`dataVersion` must be a Caliper context the envelopes gave (\"{}\" or \"{}\"), found {given:?}", Version::V1p2.context(), Version::V1p1.context()));
                    None
                }
            }
        });
        match format {
            Some(format) if fields.ok() => Ok(Self {
                format,
                client_app_id,
                sensor,
                data_version,
                from,
                until,
            }),
            _ => Err(fields.problems),
        }
    }

    /// The listing that holds the export's events, oldest first (so each date's events come
    /// together).
    pub fn query(&self) -> EventQuery {
        EventQuery {
            visibility: Visibility::of(self.client_app_id.as_deref()),
            filter: EventFilter {
                sensor: self.sensor.clone(),
                data_version: self.data_version.clone(),
                from: self.from.clone(),
                until: self.until.clone(),
                ..EventFilter::default()
            },
            order: Order::OldestFirst,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Scope;
    use serde_json::json;

    fn paths(result: Result<ExportRequest, Vec<Problem>>) -> Vec<String> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn a_client_exports_its_own_events_only() {
        let client = Caller::new("c1", vec![Scope::EventCreate]);
        let own = ExportRequest::parse(&json!({"format": "parquet"}), &client);
        assert_eq!(
            own.map(|r| r.query().visibility),
            Ok(Visibility::Own("c1".into()))
        );
        let other = json!({"format": "ndjson", "clientAppId": "c2"});
        assert_eq!(
            paths(ExportRequest::parse(&other, &client)),
            ["/clientAppId"]
        );

        let admin = Caller::new("a", vec![Scope::Admin]);
        let all = ExportRequest::parse(&json!({"format": "ndjson"}), &admin);
        assert_eq!(all.map(|r| r.query().visibility), Ok(Visibility::All));
        let one = ExportRequest::parse(&other, &admin);
        assert_eq!(
            one.map(|r| r.query().visibility),
            Ok(Visibility::Own("c2".into()))
        );
    }

    #[test]
    fn every_problem_is_at_its_pointer() {
        let client = Caller::new("c1", vec![Scope::EventCreate]);
        let body = json!({"format": "csv", "startDate": "2024-05-02", "endDate": "2024-05-01",
                          "dataVersion": "1.2", "extra": 1});
        assert_eq!(
            paths(ExportRequest::parse(&body, &client)),
            ["/extra", "/format", "/endDate", "/dataVersion"]
        );
        assert_eq!(
            paths(ExportRequest::parse(&json!({}), &client)),
            ["/format"]
        );
        assert_eq!(paths(ExportRequest::parse(&json!([]), &client)), [""]);
    }

    #[test]
    fn dates_bound_the_listing_as_its_parameters_do() {
        let client = Caller::new("c1", vec![Scope::EventCreate]);
        let body = json!({"format": "parquet", "startDate": "2024-05-01", "endDate": "2024-05-01",
                          "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1"});
        let Ok(request) = ExportRequest::parse(&body, &client) else {
            panic!("a good request");
        };
        let filter = request.query().filter;
        assert_eq!(filter.from, date_bound("2024-05-01", false));
        assert_eq!(filter.until, date_bound("2024-05-01", true));
        assert_eq!(request.query().order, Order::OldestFirst);
        assert_eq!(
            filter.data_version.as_deref(),
            Some("http://purl.imsglobal.org/ctx/caliper/v1p1")
        );
    }
}

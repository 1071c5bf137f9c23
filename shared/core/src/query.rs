//! Reading stored events back: what a reader asks for, where each event sits in the listing order,
//! and which index answers each combination of filters. Both storage adapters follow the same
//! [`Plan`], so they give the same answers.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::Value;

use crate::model::StoredEvent;

/// Whose events a query may see: a client sees its own, an admin all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    Own(String),
    All,
}

impl Visibility {
    /// One client's events, or (none) every client's.
    pub fn of(client_app_id: Option<&str>) -> Self {
        match client_app_id {
            Some(client) => Self::Own(client.to_owned()),
            None => Self::All,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    NewestFirst,
    OldestFirst,
}

/// The filters of a listing; every one that is set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub sensor: Option<String>,
    pub actor_id: Option<String>,
    /// Compared without regard to case.
    pub actor_email: Option<String>,
    /// The envelope's `dataVersion`.
    pub data_version: Option<String>,
    /// Inclusive bounds on `eventTime`, as [`event_time_key`]s.
    pub from: Option<String>,
    pub until: Option<String>,
    /// Whether the event has no `problems` (only a `flag` client's events have any).
    pub conformant: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    pub visibility: Visibility,
    pub filter: EventFilter,
    pub order: Order,
}

/// Where a page begins: after skipping some events, or right after a known position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Offset(u64),
    After(Position),
}

/// One page of a listing; `more` says whether events follow it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    pub events: Vec<StoredEvent>,
    pub more: bool,
}

/// An event's place in the listing order: its `eventTime` (as a key), then its allocated id, which
/// breaks ties and makes every position unique.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub time: String,
    pub id: u64,
}

impl Position {
    pub fn of(event: &StoredEvent) -> Self {
        Self {
            time: event_time_key(&event.event_time),
            id: event.id,
        }
    }

    /// A string that sorts as positions do: the sort key of every index.
    pub fn key(&self) -> String {
        format!("{}#{:020}", self.time, self.id)
    }

    pub fn parse(key: &str) -> Option<Self> {
        let (time, id) = key.rsplit_once('#')?;
        let id = (id.len() == 20).then(|| id.parse().ok()).flatten()?;
        Some(Self {
            time: time.to_owned(),
            id,
        })
    }
}

/// `eventTime` as a fixed-width UTC string, so that byte order is time order whatever offset and
/// precision the sender used. A value that is not a date-time (the validator lets none through) is
/// kept as it is.
pub fn event_time_key(event_time: &str) -> String {
    caliper_validation::parse_date_time(event_time)
        .map(|t| time_key(t.with_timezone(&Utc)))
        .unwrap_or_else(|| event_time.to_owned())
}

/// A UTC time as a listing time key.
pub fn time_key(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// A `startDate`/`endDate` parameter: a date (the whole day) or a date-time (a time without an
/// offset is UTC). Returns the inclusive bound as a time key, or `None` when it is neither.
pub fn date_bound(value: &str, end: bool) -> Option<String> {
    if let Some(t) = caliper_validation::parse_date_time(value) {
        return Some(time_key(t.with_timezone(&Utc)));
    }
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
        .or_else(|| {
            let day = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?;
            let time = if end {
                NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999)?
            } else {
                NaiveTime::MIN
            };
            Some(day.and_time(time))
        })?;
    Some(time_key(naive.and_utc()))
}

impl StoredEvent {
    /// The actor's id: the actor itself when it is an IRI, else its `id`.
    pub fn actor_id(&self) -> Option<&str> {
        self.actor
            .as_str()
            .or_else(|| self.actor.get("id").and_then(Value::as_str))
    }

    /// The actor's `email`, or its `extensions.email` (as the API's documented examples send it),
    /// in lower case.
    pub fn actor_email(&self) -> Option<String> {
        self.actor
            .get("email")
            .or_else(|| self.actor.get("extensions").and_then(|e| e.get("email")))
            .and_then(Value::as_str)
            .map(str::to_lowercase)
    }
}

/// The indexes that answer listings. Each holds every event that has its key, ordered by
/// [`Position`]; a listing reads one key of one index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    /// Every event (for admins without filters).
    All,
    /// A client's events.
    Client,
    /// A sensor's events, across clients (for admins).
    Sensor,
    /// A client's events of one sensor.
    ClientSensor,
    /// An actor's events, across clients.
    Actor,
    /// The events of an actor's email, across clients.
    Email,
    /// The events of one Caliper version, across clients (for admins).
    Version,
    /// A client's events of one Caliper version.
    ClientVersion,
}

impl Index {
    pub const EVERY: [Index; 8] = [
        Index::All,
        Index::Client,
        Index::Sensor,
        Index::ClientSensor,
        Index::Actor,
        Index::Email,
        Index::Version,
        Index::ClientVersion,
    ];

    /// The event's key in this index, or `None` when the index leaves it out (no email).
    pub fn key_of(self, event: &StoredEvent) -> Option<String> {
        match self {
            Self::All => Some("all".to_owned()),
            Self::Client => Some(event.client_app_id.clone()),
            Self::Sensor => Some(event.sensor.clone()),
            Self::ClientSensor => Some(client_key(&event.client_app_id, &event.sensor)),
            Self::Actor => event.actor_id().map(str::to_owned),
            Self::Email => event.actor_email(),
            Self::Version => Some(event.data_version.clone()),
            Self::ClientVersion => Some(client_key(&event.client_app_id, &event.data_version)),
        }
    }

    /// Whether a plan on this index may carry a [`Residual`]: the actor, email and version
    /// indexes, whose entries keep the fields it tests.
    pub fn keeps_fields(self) -> bool {
        matches!(
            self,
            Self::Actor | Self::Email | Self::Version | Self::ClientVersion
        )
    }
}

/// The key of a client's events of one sensor or version. The client's length in front: no two
/// pairs give the same key, whatever the strings hold.
fn client_key(client: &str, other: &str) -> String {
    format!("{}|{client}|{other}", client.len())
}

/// The filters an index key does not settle, tested on each entry the key yields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Residual {
    pub client_app_id: Option<String>,
    pub sensor: Option<String>,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub data_version: Option<String>,
    pub conformant: Option<bool>,
}

impl Residual {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether an entry with these fields passes.
    pub fn admits(&self, entry: &IndexFields) -> bool {
        let holds = |wanted: &Option<String>, found: Option<&str>| {
            wanted.as_deref().is_none_or(|w| found == Some(w))
        };
        holds(&self.client_app_id, Some(&entry.client_app_id))
            && holds(&self.sensor, Some(&entry.sensor))
            && holds(&self.actor_id, entry.actor_id.as_deref())
            && holds(&self.actor_email, entry.actor_email.as_deref())
            && holds(&self.data_version, Some(&entry.data_version))
            && self.conformant.is_none_or(|c| c == entry.conformant)
    }
}

/// What an index entry keeps of its event, for the [`Residual`] to test.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexFields {
    pub external_id: String,
    pub client_app_id: String,
    pub sensor: String,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    #[serde(default = "crate::model::default_data_version")]
    pub data_version: String,
    /// Entries kept before the `flag` policy existed are of conformant events.
    #[serde(default = "conformant")]
    pub conformant: bool,
}

fn conformant() -> bool {
    true
}

impl IndexFields {
    pub fn of(event: &StoredEvent) -> Self {
        Self {
            external_id: event.external_id.clone(),
            client_app_id: event.client_app_id.clone(),
            sensor: event.sensor.clone(),
            actor_id: event.actor_id().map(str::to_owned),
            actor_email: event.actor_email(),
            data_version: event.data_version.clone(),
            conformant: event.problems.is_empty(),
        }
    }
}

/// How a query is answered: one key of one index, read between two positions, with what is left
/// of the filters tested per entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub index: Index,
    pub key: String,
    pub residual: Residual,
}

impl EventQuery {
    /// The most selective index for the filters: an email or an actor names few events; a sensor
    /// many more; a Caliper version more still; otherwise the caller's own events, or all of them.
    pub fn plan(&self) -> Plan {
        let filter = &self.filter;
        let own = match &self.visibility {
            Visibility::Own(client) => Some(client.clone()),
            Visibility::All => None,
        };
        let email = filter.actor_email.as_deref().map(str::to_lowercase);
        if let Some(email) = email {
            return Plan {
                index: Index::Email,
                key: email,
                residual: Residual {
                    client_app_id: own,
                    sensor: filter.sensor.clone(),
                    actor_id: filter.actor_id.clone(),
                    actor_email: None,
                    data_version: filter.data_version.clone(),
                    conformant: filter.conformant,
                },
            };
        }
        if let Some(actor) = &filter.actor_id {
            return Plan {
                index: Index::Actor,
                key: actor.clone(),
                residual: Residual {
                    client_app_id: own,
                    sensor: filter.sensor.clone(),
                    data_version: filter.data_version.clone(),
                    conformant: filter.conformant,
                    ..Residual::default()
                },
            };
        }
        if let Some(version) = &filter.data_version {
            // A sensor is tested per entry: the version indexes keep it.
            let (index, key) = match &own {
                Some(client) => (Index::ClientVersion, client_key(client, version)),
                None => (Index::Version, version.clone()),
            };
            return Plan {
                index,
                key,
                residual: Residual {
                    sensor: filter.sensor.clone(),
                    conformant: filter.conformant,
                    ..Residual::default()
                },
            };
        }
        let (index, key) = match (own, &filter.sensor) {
            (Some(client), Some(sensor)) => (Index::ClientSensor, client_key(&client, sensor)),
            (Some(client), None) => (Index::Client, client),
            (None, Some(sensor)) => (Index::Sensor, sensor.clone()),
            (None, None) => (Index::All, "all".to_owned()),
        };
        // Conformance is tested per entry on any index (the embedded store reads the event for
        // it where the index keeps no fields).
        Plan {
            index,
            key,
            residual: Residual {
                conformant: filter.conformant,
                ..Residual::default()
            },
        }
    }

    /// The inclusive range of sort keys to read, from `start` on; `None` when it is empty.
    pub fn key_range(&self, start: &Start) -> Option<(String, String)> {
        // Below and above every position: time keys begin with a digit.
        let mut low = self
            .filter
            .from
            .clone()
            .map_or("0".to_owned(), |t| format!("{t}#"));
        let mut high = self
            .filter
            .until
            .clone()
            .map_or("~".to_owned(), |t| format!("{t}#~"));
        if let Start::After(after) = start {
            match self.order {
                // Positions are unique, so "before p" is "at most the position just before p".
                Order::NewestFirst => high = high.min(neighbour(after, -1)),
                Order::OldestFirst => low = low.max(neighbour(after, 1)),
            }
        }
        (low <= high).then_some((low, high))
    }
}

/// The closest key on one side of `p`: the same time with the id one step away (at id 0 or
/// `u64::MAX`, the bare time's edge).
fn neighbour(p: &Position, step: i8) -> String {
    match (step < 0, p.id.checked_add_signed(step.into())) {
        (_, Some(id)) => Position {
            time: p.time.clone(),
            id,
        }
        .key(),
        (true, None) => format!("{}#", p.time),
        (false, None) => format!("{}#~", p.time),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keys_sort_as_times_whatever_the_offset_and_precision() {
        let a = event_time_key("2024-05-01T12:00:00Z");
        let b = event_time_key("2024-05-01T14:00:00.5+02:00");
        let c = event_time_key("2024-05-01T12:00:00.000000001Z");
        assert_eq!(a, "2024-05-01T12:00:00.000000000Z");
        assert_eq!(b, "2024-05-01T12:00:00.500000000Z");
        assert!(a < c && c < b);
        assert_eq!(
            event_time_key("2024-05-01T14:00:00.5+0200"),
            b,
            "an offset without its colon, as the IMS JavaScript sensor writes it"
        );
    }

    #[test]
    fn dates_bound_whole_days_and_naive_times_are_utc() {
        assert_eq!(
            date_bound("2024-05-01", false).as_deref(),
            Some("2024-05-01T00:00:00.000000000Z")
        );
        assert_eq!(
            date_bound("2024-05-01", true).as_deref(),
            Some("2024-05-01T23:59:59.999999999Z")
        );
        assert_eq!(
            date_bound("2024-05-01T10:30:00", true).as_deref(),
            Some("2024-05-01T10:30:00.000000000Z")
        );
        assert_eq!(
            date_bound("2024-05-01T10:30:00-01:00", false).as_deref(),
            Some("2024-05-01T11:30:00.000000000Z")
        );
        for bad in ["yesterday", "2024-13-01", "2024-05-01T25:00:00Z", ""] {
            assert_eq!(date_bound(bad, false), None, "{bad}");
        }
    }

    #[test]
    fn positions_read_back_and_the_range_after_one_excludes_it() {
        let p = Position {
            time: event_time_key("2024-05-01T12:00:00Z"),
            id: 7,
        };
        assert_eq!(Position::parse(&p.key()), Some(p.clone()));
        assert_eq!(Position::parse("2024#7"), None);
        let query = |order| EventQuery {
            visibility: Visibility::All,
            filter: EventFilter::default(),
            order,
        };
        let after = Start::After(p.clone());
        let (_, high) = query(Order::NewestFirst)
            .key_range(&after)
            .unwrap_or_default();
        assert!(high < p.key() && Position { id: 6, ..p.clone() }.key() <= high);
        let (low, _) = query(Order::OldestFirst)
            .key_range(&after)
            .unwrap_or_default();
        assert!(low > p.key() && Position { id: 8, ..p.clone() }.key() >= low);
    }

    #[test]
    fn the_most_selective_filter_picks_the_index_and_the_rest_is_residual() {
        let query = |visibility, filter| EventQuery {
            visibility,
            filter,
            order: Order::NewestFirst,
        };
        let own = || Visibility::Own("c1".into());
        let plan = query(own(), EventFilter::default()).plan();
        assert_eq!((plan.index, plan.key.as_str()), (Index::Client, "c1"));
        let sensor = EventFilter {
            sensor: Some("https://s".into()),
            ..Default::default()
        };
        assert_eq!(
            query(own(), sensor.clone()).plan().index,
            Index::ClientSensor
        );
        assert_eq!(query(Visibility::All, sensor).plan().index, Index::Sensor);
        let email = EventFilter {
            actor_email: Some("A@B.org".into()),
            actor_id: Some("https://a".into()),
            ..Default::default()
        };
        let plan = query(own(), email).plan();
        assert_eq!((plan.index, plan.key.as_str()), (Index::Email, "a@b.org"));
        assert_eq!(plan.residual.client_app_id.as_deref(), Some("c1"));
        assert_eq!(plan.residual.actor_id.as_deref(), Some("https://a"));
        // Only the indexes that keep the fields a residual tests are ever given one (but for
        // conformance, which any index may test).
        let values = [None, Some("x".to_owned())];
        for visibility in [own(), Visibility::All] {
            for sensor in &values {
                for actor_id in &values {
                    for actor_email in &values {
                        let filter = EventFilter {
                            sensor: sensor.clone(),
                            actor_id: actor_id.clone(),
                            actor_email: actor_email.clone(),
                            ..Default::default()
                        };
                        let plan = query(visibility.clone(), filter).plan();
                        let conformance_only = Residual {
                            conformant: None,
                            ..plan.residual.clone()
                        };
                        assert!(
                            plan.index.keeps_fields() || conformance_only.is_empty(),
                            "{plan:?}"
                        );
                    }
                }
            }
        }
    }
}

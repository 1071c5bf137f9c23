//! The listing part of the storage conformance suite, on every adapter: thousands of events from
//! several clients, sensors and actors, and every filter, both orders, offset and cursor paging and
//! client isolation compared with a brute-force filter over the same events.

use caliper_core::query::date_bound;
use caliper_core::{
    EventFilter, EventQuery, Order, Ports, Position, Start, StoredEvent, Visibility,
};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};

const EVENTS: u64 = 2000;
const CLIENTS: [&str; 3] = ["client-a", "client-b", "client-c"];
const SENSORS: [&str; 4] = [
    "https://example.edu/sensors/1",
    "https://example.edu/sensors/2",
    "https://example.edu/sensors/3#fragment",
    "https://other.example/sensor",
];
const VERSIONS: [&str; 2] = [
    caliper_validation::CALIPER_V1P2,
    caliper_validation::CALIPER_V1P1,
];

/// A small deterministic generator, so that a failure repeats.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % sides
    }
}

fn actor_iri(n: u64) -> String {
    format!("https://example.edu/users/{n}")
}

fn email(n: u64) -> String {
    format!("learner{n}@example.edu")
}

/// Events spread over four days, many sharing an `eventTime`, written with different offsets and
/// precisions; actors as IRIs or objects, with an email in `email`, in `extensions.email` (in any
/// case), or none. Allocated ids do not follow event times.
fn world() -> Vec<StoredEvent> {
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    let base = Utc
        .with_ymd_and_hms(2024, 5, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    (1..=EVENTS)
        .map(|id| {
            // 600 distinct instants over four days: ties are common.
            let t = base + Duration::milliseconds(dice.roll(600) as i64 * 576_000 + 1);
            let event_time = match dice.roll(3) {
                0 => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                1 => t
                    .with_timezone(
                        &chrono::FixedOffset::east_opt(7200).unwrap_or_else(|| unreachable!()),
                    )
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
                _ => t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            };
            let who = dice.roll(12);
            let actor = match dice.roll(4) {
                0 => json!(actor_iri(who)),
                1 => json!({"id": actor_iri(who), "type": "Person", "email": email(who)}),
                2 => json!({"id": actor_iri(who), "type": "Person",
                            "extensions": {"email": email(who).to_uppercase()}}),
                _ => json!({"id": actor_iri(who), "type": "Person"}),
            };
            let event = json!({
                "id": format!("urn:uuid:00000000-0000-4000-8000-{id:012}"),
                "type": "ToolUseEvent",
                "action": "Used",
                "actor": actor,
                "object": {"id": "https://example.edu", "type": "SoftwareApplication"},
                "eventTime": event_time,
            });
            let sensor = SENSORS[dice.roll(4) as usize];
            let client = CLIENTS[dice.roll(3) as usize];
            let version = VERSIONS[dice.roll(2) as usize];
            // A fifth stored with problems, as the `flag` policy stores events.
            let problems = if id % 5 == 0 {
                vec![caliper_validation::Problem::new(
                    "/object/type",
                    "not Caliper's",
                )]
            } else {
                Vec::new()
            };
            StoredEvent {
                problems,
                ..StoredEvent::from_event(
                    &event,
                    id,
                    sensor,
                    "2024-05-05T00:00:00.000Z",
                    version,
                    client,
                    Utc::now(),
                )
            }
        })
        .collect()
}

/// One listing request: the parameters as a reader sends them.
#[derive(Debug, Clone, Default)]
struct Case {
    own: Option<&'static str>,
    sensor: Option<&'static str>,
    actor_id: Option<String>,
    actor_email: Option<String>,
    start_date: Option<&'static str>,
    end_date: Option<&'static str>,
    data_version: Option<&'static str>,
    conformant: Option<bool>,
    oldest_first: bool,
}

impl Case {
    fn query(&self) -> EventQuery {
        EventQuery {
            visibility: self
                .own
                .map_or(Visibility::All, |c| Visibility::Own(c.to_owned())),
            filter: EventFilter {
                sensor: self.sensor.map(str::to_owned),
                actor_id: self.actor_id.clone(),
                actor_email: self.actor_email.clone(),
                from: self.start_date.and_then(|d| date_bound(d, false)),
                until: self.end_date.and_then(|d| date_bound(d, true)),
                data_version: self.data_version.map(str::to_owned),
                conformant: self.conformant,
            },
            order: if self.oldest_first {
                Order::OldestFirst
            } else {
                Order::NewestFirst
            },
        }
    }

    /// The answer by brute force, written apart from the stores' code: parse, compare, sort.
    fn expected(&self, all: &[StoredEvent]) -> Vec<u64> {
        let instant = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .ok()
        };
        let bound = |s: &str, end: bool| {
            instant(s).or_else(|| {
                let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
                let start = day.and_hms_opt(0, 0, 0)?.and_utc();
                Some(if end {
                    start + Duration::days(1) - Duration::nanoseconds(1)
                } else {
                    start
                })
            })
        };
        let from = self.start_date.and_then(|s| bound(s, false));
        let until = self.end_date.and_then(|s| bound(s, true));
        let mut found: Vec<(DateTime<Utc>, u64)> = all
            .iter()
            .filter(|e| self.own.is_none_or(|c| e.client_app_id == c))
            .filter(|e| self.sensor.is_none_or(|s| e.sensor == s))
            .filter(|e| self.data_version.is_none_or(|v| e.data_version == v))
            .filter(|e| self.conformant.is_none_or(|c| e.problems.is_empty() == c))
            .filter(|e| {
                let id = e.actor.as_str().or_else(|| e.actor["id"].as_str());
                self.actor_id.as_deref().is_none_or(|a| id == Some(a))
            })
            .filter(|e| {
                let email = e.actor["email"]
                    .as_str()
                    .or_else(|| e.actor["extensions"]["email"].as_str());
                self.actor_email
                    .as_deref()
                    .is_none_or(|a| email.is_some_and(|m| m.eq_ignore_ascii_case(a)))
            })
            .filter_map(|e| Some((instant(&e.event_time)?, e.id)))
            .filter(|(t, _)| from.is_none_or(|f| *t >= f) && until.is_none_or(|u| *t <= u))
            .collect();
        found.sort();
        if !self.oldest_first {
            found.reverse();
        }
        found.into_iter().map(|(_, id)| id).collect()
    }
}

/// Every filter alone and combined, both orders and empty answers, for one client and for an admin;
/// the plain filters for a second client.
fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (own, oldest_first) in [
        (Some("client-a"), false),
        (None, true),
        (Some("client-b"), true),
    ] {
        let base = Case {
            own,
            oldest_first,
            ..Case::default()
        };
        cases.push(base.clone());
        cases.push(Case {
            sensor: Some(SENSORS[2]),
            ..base.clone()
        });
        cases.push(Case {
            actor_id: Some(actor_iri(3)),
            ..base.clone()
        });
        cases.push(Case {
            actor_email: Some(email(5).to_uppercase()),
            ..base.clone()
        });
        cases.push(Case {
            data_version: Some(VERSIONS[1]),
            ..base.clone()
        });
        cases.push(Case {
            conformant: Some(false),
            ..base.clone()
        });
        cases.push(Case {
            conformant: Some(true),
            data_version: Some(VERSIONS[0]),
            ..base.clone()
        });
        cases.push(Case {
            conformant: Some(false),
            actor_id: Some(actor_iri(3)),
            sensor: Some(SENSORS[1]),
            ..base.clone()
        });
        if own == Some("client-b") {
            continue;
        }
        cases.push(Case {
            oldest_first: !oldest_first,
            ..base.clone()
        });
        cases.push(Case {
            start_date: Some("2024-05-02"),
            ..base.clone()
        });
        cases.push(Case {
            end_date: Some("2024-05-01"),
            ..base.clone()
        });
        cases.push(Case {
            start_date: Some("2024-05-02T03:12:00.001Z"),
            end_date: Some("2024-05-03T10:00:00+02:00"),
            ..base.clone()
        });
        cases.push(Case {
            sensor: Some(SENSORS[0]),
            actor_id: Some(actor_iri(7)),
            start_date: Some("2024-05-02"),
            ..base.clone()
        });
        cases.push(Case {
            sensor: Some(SENSORS[1]),
            actor_email: Some(email(2)),
            actor_id: Some(actor_iri(2)),
            end_date: Some("2024-05-03"),
            ..base.clone()
        });
        cases.push(Case {
            actor_email: Some("nobody@example.edu".into()),
            ..base.clone()
        });
        for version in VERSIONS {
            cases.push(Case {
                data_version: Some(version),
                sensor: Some(SENSORS[3]),
                start_date: Some("2024-05-02"),
                ..base.clone()
            });
            cases.push(Case {
                data_version: Some(version),
                actor_id: Some(actor_iri(4)),
                ..base.clone()
            });
            cases.push(Case {
                data_version: Some(version),
                actor_email: Some(email(6)),
                ..base.clone()
            });
        }
        cases.push(Case {
            start_date: Some("2024-05-03"),
            end_date: Some("2024-05-02"),
            ..base
        });
    }
    cases
}

async fn store(ports: &Ports, events: &[StoredEvent]) {
    for chunk in events.chunks(200) {
        ports.events.insert_new(chunk).await.expect("insert");
    }
}

fn ids(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|e| e.id).collect()
}

pub async fn listings_match_a_brute_force_filter(ports: Ports) {
    // One world per backend: writing it is the slow part on moto.
    let all = world();
    store(&ports, &all).await;
    for case in cases() {
        let query = case.query();
        let expected = case.expected(&all);
        let count = ports.reader.count(&query).await.expect("count");
        assert_eq!(count, expected.len() as u64, "count of {case:?}");

        // Cursor paging walks the whole listing, a page after the other.
        let limit = (expected.len() / 3).clamp(25, 1000);
        let mut walked = Vec::new();
        let mut start = Start::Offset(0);
        loop {
            let page = ports
                .reader
                .list(&query, &start, limit)
                .await
                .expect("list");
            walked.extend(ids(&page.events));
            assert!(page.events.len() <= limit);
            assert_eq!(
                page.more,
                walked.len() < expected.len(),
                "`more` after {} of {case:?}",
                walked.len()
            );
            match page.events.last() {
                Some(last) if page.more => start = Start::After(Position::of(last)),
                _ => break,
            }
        }
        assert_eq!(walked, expected, "cursor walk of {case:?}");

        // Offset paging: a page from the middle, and one past the end.
        let offset = expected.len() / 3;
        let page = ports
            .reader
            .list(&query, &Start::Offset(offset as u64), 7)
            .await
            .expect("list");
        let want: Vec<u64> = expected.iter().skip(offset).take(7).copied().collect();
        assert_eq!(ids(&page.events), want, "offset {offset} of {case:?}");
        assert_eq!(page.more, offset + 7 < expected.len());
        let past = ports
            .reader
            .list(&query, &Start::Offset(expected.len() as u64), 10)
            .await
            .expect("list");
        assert!(past.events.is_empty() && !past.more);
    }
    clients_see_only_their_own_events(&ports).await;
}

/// Filters that match every client's events still yield the caller's own only.
async fn clients_see_only_their_own_events(ports: &Ports) {
    for own in CLIENTS {
        for filter in [
            EventFilter {
                actor_id: Some(actor_iri(4)),
                ..Default::default()
            },
            EventFilter {
                actor_email: Some(email(4)),
                ..Default::default()
            },
            EventFilter {
                sensor: Some(SENSORS[3].into()),
                ..Default::default()
            },
            EventFilter::default(),
        ] {
            let query = EventQuery {
                visibility: Visibility::Own(own.into()),
                filter: filter.clone(),
                order: Order::NewestFirst,
            };
            let page = ports
                .reader
                .list(&query, &Start::Offset(0), 1000)
                .await
                .expect("list");
            assert!(!page.events.is_empty(), "{own} {filter:?}");
            assert!(
                page.events.iter().all(|e| e.client_app_id == own),
                "{own} {filter:?}"
            );
            let admin = EventQuery {
                visibility: Visibility::All,
                ..query
            };
            let every = ports.reader.count(&admin).await.expect("count");
            let mine = ports
                .reader
                .count(&EventQuery {
                    visibility: Visibility::Own(own.into()),
                    ..admin
                })
                .await
                .expect("count");
            assert!(
                every > mine,
                "an admin sees more than {own} with {filter:?}"
            );
        }
    }
}

pub async fn a_stored_event_is_listed_whole(ports: Ports) {
    let id = "urn:uuid:5e4c6b2c-0000-4000-8000-000000000001";
    let event: Value = json!({
        "id": id, "type": "ToolUseEvent", "action": "Used",
        "actor": {"id": "https://example.edu/users/1", "type": "Person", "email": "Ada@Example.edu"},
        "object": {"id": "https://example.edu", "type": "SoftwareApplication"},
        "eventTime": "2024-05-01T12:00:00.000Z",
        "extensions": {"note": "kept"},
    });
    let stored = StoredEvent::from_event(
        &event,
        42,
        SENSORS[0],
        "2024-05-01T12:00:01.000Z",
        caliper_validation::CALIPER_V1P2,
        "client-a",
        Utc::now(),
    );
    store(&ports, std::slice::from_ref(&stored)).await;
    let query = EventQuery {
        visibility: Visibility::Own("client-a".into()),
        filter: EventFilter {
            actor_email: Some("ada@example.EDU".into()),
            ..Default::default()
        },
        order: Order::NewestFirst,
    };
    let page = ports
        .reader
        .list(&query, &Start::Offset(0), 10)
        .await
        .expect("list");
    assert_eq!(page.events, vec![stored]);
}

caliper_tests::on_every_backend!(
    listings_match_a_brute_force_filter,
    a_stored_event_is_listed_whole,
);

/// `CALIPER_INDEX_SHARDS` may be raised on a table that holds events: a listing reads shards 0 to
/// the count − 1, so what fewer shards wrote is all still there. Lowered, it would not be (which is
/// why the setting's documentation forbids it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_raised_shard_count_lists_what_fewer_shards_wrote() {
    let aws = caliper_tests::aws_world(5).await;
    let with_shards = |shards: u64| {
        let settings = caliper_aws::AwsSettings {
            index_shards: shards,
            ..aws.settings.clone()
        };
        caliper_aws::ports(&aws.sdk, &settings)
    };
    let written: Vec<StoredEvent> = world().into_iter().take(300).collect();
    store(&with_shards(3), &written).await;
    let every = EventQuery {
        visibility: Visibility::All,
        filter: EventFilter::default(),
        order: Order::NewestFirst,
    };
    let mut expected = written.clone();
    expected.sort_by_key(|e| std::cmp::Reverse(Position::of(e)));
    for shards in [3, 8, 64] {
        let reader = with_shards(shards).reader;
        let page = reader
            .list(&every, &Start::Offset(0), 1000)
            .await
            .expect("list");
        assert_eq!(ids(&page.events), ids(&expected), "{shards} shards");
        assert_eq!(reader.count(&every).await.expect("count"), 300);
    }
    let fewer = with_shards(2).reader.count(&every).await.expect("count");
    assert!(fewer < 300, "2 shards still counted {fewer}");
}

/// An email's events are its actors' in DynamoDB (no email index): the item naming an email's
/// actors loses an actor when its last event of the email is deleted or purged, in any client,
/// is gone with the last, and takes the actor again when one of its events is stored after.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_emails_actors_are_forgotten_with_their_last_event_and_entered_again() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use caliper_aws::event_item::{
        email_key, key as item_key, EMAIL_ACTORS, EMAIL_FORGETTING, EMAIL_WRITES, FORGETTING,
        FORGETTING_EPOCH,
    };
    use caliper_core::EventKey;

    let aws = caliper_tests::aws_world(5).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let table = aws.settings.events_table.clone();
    let email = "ann@example.edu";
    let item = || {
        let dynamo = dynamo.clone();
        let table = table.clone();
        async move {
            dynamo
                .get_item()
                .table_name(table)
                .set_key(Some(email_key(email)))
                .consistent_read(true)
                .send()
                .await
                .expect("GetItem")
                .item
        }
    };
    let actors = |item: &Option<std::collections::HashMap<String, AttributeValue>>| {
        let mut set: Vec<String> = item
            .as_ref()
            .and_then(|i| i.get(EMAIL_ACTORS))
            .and_then(|s| s.as_ss().ok())
            .cloned()
            .unwrap_or_default();
        set.sort();
        set
    };
    let event = |id: u64, client: &str, actor: &str| {
        let caliper = json!({
            "id": format!("urn:uuid:00000000-0000-4000-8000-{id:012}"), "type": "ToolUseEvent",
            "action": "Used",
            "actor": {"id": actor, "type": "Person", "extensions": {"email": "Ann@Example.edu"}},
            "object": {"id": "https://example.edu", "type": "SoftwareApplication"},
            "eventTime": "2024-05-01T12:00:00.000Z"
        });
        StoredEvent::from_event(
            &caliper,
            id,
            "https://example.edu/sensors/1",
            "2024-05-01T12:00:01.000Z",
            caliper_validation::CALIPER_V1P2,
            client,
            Utc::now(),
        )
    };
    let (one, two) = ("https://example.edu/users/1", "https://example.edu/users/2");
    let written = vec![
        event(1, "client-a", one),
        event(2, "client-b", one),
        event(3, "client-a", two),
    ];
    store(&aws.ports, &written).await;
    assert_eq!(actors(&item().await), vec![one, two]);
    let by_email = EventQuery {
        visibility: Visibility::All,
        filter: EventFilter {
            actor_email: Some(email.to_owned()),
            ..EventFilter::default()
        },
        order: Order::OldestFirst,
    };
    let listed = |ports: Ports| {
        let query = by_email.clone();
        async move {
            let page = ports
                .reader
                .list(&query, &Start::Offset(0), 100)
                .await
                .expect("list");
            let mut found = ids(&page.events);
            found.sort();
            found
        }
    };
    assert_eq!(listed(aws.ports.clone()).await, vec![1, 2, 3]);

    let key = |e: &StoredEvent| EventKey::new(&e.client_app_id, &e.external_id);
    // Actor one still has an event in client-b.
    aws.ports
        .events
        .delete(&[key(&written[0])])
        .await
        .expect("delete");
    assert_eq!(actors(&item().await), vec![one, two]);
    // An index entry whose event is gone (as the index shows a deleted event for a moment after
    // the delete) does not keep an actor.
    let ghost = std::collections::HashMap::from([
        (
            "externalId".to_owned(),
            AttributeValue::S("urn:uuid:ghost".into()),
        ),
        (
            "clientAppId".to_owned(),
            AttributeValue::S("client-z".into()),
        ),
        (
            "kActor".to_owned(),
            AttributeValue::S(caliper_aws::indexes::partition(0, one)),
        ),
        ("position".to_owned(), AttributeValue::S("2024".into())),
        ("actorId".to_owned(), AttributeValue::S(one.into())),
        ("actorEmail".to_owned(), AttributeValue::S(email.into())),
    ]);
    dynamo
        .put_item()
        .table_name(&table)
        .set_item(Some(ghost))
        .send()
        .await
        .expect("PutItem");
    // A listing that meets such an entry skips it.
    assert_eq!(listed(aws.ports.clone()).await, vec![2, 3]);
    // Its last one, purged: forgotten.
    aws.ports
        .events
        .purge(&[key(&written[1])])
        .await
        .expect("purge");
    assert_eq!(actors(&item().await), vec![two]);
    dynamo
        .delete_item()
        .table_name(&table)
        .set_key(Some(item_key("client-z", "urn:uuid:ghost")))
        .send()
        .await
        .expect("DeleteItem");
    aws.ports
        .events
        .delete(&[key(&written[2])])
        .await
        .expect("delete");
    assert!(item().await.is_none(), "nothing of the email is left");
    assert_eq!(listed(aws.ports.clone()).await, Vec::<u64>::new());

    // Stored again after the erasure: entered again, and listed.
    store(&aws.ports, &[event(4, "client-c", one)]).await;
    assert_eq!(actors(&item().await), vec![one]);
    assert_eq!(listed(aws.ports.clone()).await, vec![4]);
    // While an erasure is deciding (it moved the forgetting epoch, then marked the item), an event
    // of an actor the item has writes it all the same, so that the erasure's removal fails and it
    // looks again.
    dynamo
        .update_item()
        .table_name(&table)
        .set_key(Some(item_key(FORGETTING.0, FORGETTING.1)))
        .update_expression("ADD #e :one")
        .expression_attribute_names("#e", FORGETTING_EPOCH)
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .expect("epoch");
    dynamo
        .update_item()
        .table_name(&table)
        .set_key(Some(email_key(email)))
        .update_expression("SET #f = :now")
        .expression_attribute_names("#f", EMAIL_FORGETTING)
        .expression_attribute_values(":now", AttributeValue::N("1".into()))
        .send()
        .await
        .expect("mark");
    let writes = |item: &Option<std::collections::HashMap<String, AttributeValue>>| {
        item.as_ref()
            .and_then(|i| i.get(EMAIL_WRITES))
            .and_then(|n| n.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
    };
    let before = writes(&item().await);
    store(&aws.ports, &[event(5, "client-c", one)]).await;
    let after = item().await;
    assert_eq!(writes(&after), before.map(|n| n + 1));
    assert!(after.is_some_and(|i| !i.contains_key(EMAIL_FORGETTING)));
    // Without the mark, an actor the item has is not written again, nor read (this process
    // knows it, and the epoch has not moved).
    store(&aws.ports, &[event(6, "client-c", one)]).await;
    assert_eq!(writes(&item().await), before.map(|n| n + 1));
    // Nor by another process, which reads the item once.
    let other = caliper_aws::ports(&aws.sdk, &aws.settings);
    store(&other, &[event(7, "client-c", one)]).await;
    assert_eq!(writes(&item().await), before.map(|n| n + 1));
}

/// A table written before the directory of clients and the emails' items: the upgrade adds them
/// from its events, and listings of every event and of an email find them again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upgrade_gives_an_older_table_its_directory_and_email_items() {
    use caliper_aws::event_item::{email_key, key, CLIENTS};

    let aws = caliper_tests::aws_world(5).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let table = aws.settings.events_table.clone();
    let written: Vec<StoredEvent> = world().into_iter().take(200).collect();
    store(&aws.ports, &written).await;
    // What an older version wrote: the events alone.
    let emails: std::collections::BTreeSet<String> =
        written.iter().filter_map(|e| e.actor_email()).collect();
    assert!(emails.len() > 3, "{emails:?}");
    let mut reserved: Vec<_> = emails.iter().map(|e| email_key(e)).collect();
    reserved.push(key(CLIENTS.0, CLIENTS.1));
    for item in reserved {
        dynamo
            .delete_item()
            .table_name(&table)
            .set_key(Some(item))
            .send()
            .await
            .expect("DeleteItem");
    }
    let count = |filter: EventFilter| {
        let reader = caliper_aws::ports(&aws.sdk, &aws.settings).reader;
        async move {
            let query = EventQuery {
                visibility: Visibility::All,
                filter,
                order: Order::NewestFirst,
            };
            reader.count(&query).await.expect("count")
        }
    };
    let email = emails.first().cloned().unwrap_or_default();
    let of_email = || EventFilter {
        actor_email: Some(email.clone()),
        ..EventFilter::default()
    };
    let expected = written
        .iter()
        .filter(|e| e.actor_email().as_ref() == Some(&email))
        .count() as u64;
    assert_eq!(count(EventFilter::default()).await, 0);
    assert_eq!(count(of_email()).await, 0);

    let events = caliper_aws::DynamoEvents::new(dynamo.clone(), &table);
    let upgraded = events.upgrade().await.expect("upgrade");
    assert_eq!(upgraded.events, 200);
    let with_email = written.iter().filter(|e| e.actor_email().is_some()).count() as u64;
    assert_eq!(upgraded.with_email, with_email);
    assert_eq!(count(EventFilter::default()).await, 200);
    assert_eq!(count(of_email()).await, expected);
    // Again: nothing changes.
    assert_eq!(events.upgrade().await.expect("again"), upgraded);
    assert_eq!(count(of_email()).await, expected);
}

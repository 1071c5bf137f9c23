//! Reading events back over HTTP, on every backend, through the `query-events` payloads in
//! `events/`: the contract's shapes, paging by offset and by cursor, isolation between clients,
//! fetching one event, and a 400 with a path for each bad parameter.

use caliper_core::{Ports, StoredEvent};
use caliper_http::{App, Limits, Scope};
use caliper_tests::{tool_use_event, Api, CLIENT};
use chrono::Utc;
use serde_json::{json, Value};

/// Who calls, when not the payloads' client.
type Who<'a> = Option<(&'a str, Scope)>;

/// The listing payload with its query replaced, as API Gateway passes a raw query string.
async fn list(app: &App, query: &[(&str, &str)], who: Who<'_>) -> (u16, Value) {
    let raw: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    send(
        app,
        Api::payload("query-events-list").query(&raw.join("&")),
        who,
    )
    .await
}

async fn get(app: &App, external_id: &str, who: Who<'_>) -> (u16, Value) {
    let request = Api::payload("query-events-get").param("externalId", external_id);
    send(app, request, who).await
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn send(app: &App, request: Api, who: Who<'_>) -> (u16, Value) {
    match who {
        Some((client, scope)) => request.by(client, &[scope]).send(app).await,
        None => request.send(app).await,
    }
}

/// `count` events of `client`, one a minute from 2024-05-01T10:00Z, the n-th with id `first + n`.
async fn store(ports: &Ports, client: &str, first: u64, count: u64) -> Vec<StoredEvent> {
    let events: Vec<StoredEvent> = (0..count)
        .map(|n| {
            let id = format!("urn:uuid:00000000-0000-4000-8000-{:012}", first + n);
            let mut event = tool_use_event(&id);
            event["eventTime"] = json!(format!("2024-05-01T{:02}:{:02}:00.000Z", 10 + n / 60, n % 60));
            event["actor"] = json!({"id": format!("https://example.edu/users/{}", n % 3),
                                    "type": "Person", "email": format!("user{}@example.edu", n % 3)});
            StoredEvent::from_event(
                                    &event,
                                    first + n,
                                    "https://example.edu/sensors/1",
                                    "2024-05-01T12:00:00.000Z",
                                    caliper_validation::CALIPER_V1P2,
                                    client,
                                    Utc::now(),
                                )
        })
        .collect();
    ports.events.insert_new(&events).await.expect("insert");
    events
}

fn external_ids(body: &Value) -> Vec<String> {
    body["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["externalId"].as_str().map(str::to_owned))
        .collect()
}

pub async fn pages_by_offset_and_by_cursor_in_the_contracts_shape(ports: Ports) {
    let mine = store(&ports, CLIENT, 1, 25).await;
    store(&ports, "other-client", 100, 5).await;
    let app = App::new(ports, Limits::default());
    let newest_first: Vec<String> = mine.iter().rev().map(|e| e.external_id.clone()).collect();

    let (code, first) = list(&app, &[("limit", "10")], None).await;
    assert_eq!(code, 200, "{first}");
    assert_eq!(
        first["pagination"],
        json!({"total": 25, "totalPages": 3, "currentPage": 1, "limit": 10})
    );
    assert_eq!(external_ids(&first), newest_first[..10]);
    let event = &first["events"][0];
    for key in [
        "id",
        "externalId",
        "sensor",
        "type",
        "profile",
        "action",
        "eventTime",
        "sendTime",
        "created_at",
        "updated_at",
        "deleted_at",
        "actor",
        "object",
        "generated",
        "target",
        "referrer",
        "edApp",
        "group",
        "membership",
        "session",
        "federatedSession",
        "extensions",
        "clientAppId",
    ] {
        assert!(
            event.get(key).is_some(),
            "a stored event lacks {key}: {event}"
        );
    }
    assert_eq!(
        (event["id"].as_u64(), event["clientAppId"].as_str()),
        (Some(25), Some(CLIENT))
    );

    // The cursor walks the rest; the total and page numbers carry on.
    let mut walked = external_ids(&first);
    let mut cursor = first["nextCursor"].as_str().map(str::to_owned);
    let mut page = 1;
    while let Some(next) = cursor {
        let (code, body) = list(&app, &[("limit", "10"), ("cursor", &next)], None).await;
        assert_eq!(code, 200, "{body}");
        page += 1;
        assert_eq!(
            (
                body["pagination"]["currentPage"].as_u64(),
                body["pagination"]["total"].as_u64()
            ),
            (Some(page), Some(25))
        );
        walked.extend(external_ids(&body));
        cursor = body["nextCursor"].as_str().map(str::to_owned);
    }
    assert_eq!((walked, page), (newest_first.clone(), 3));

    // Offsets, as the official client's stream pages; and oldest first.
    let (_, third) = list(&app, &[("limit", "10"), ("offset", "20")], None).await;
    assert_eq!(external_ids(&third), newest_first[20..]);
    assert_eq!(
        (
            third["pagination"]["currentPage"].as_u64(),
            &third["nextCursor"]
        ),
        (Some(3), &Value::Null)
    );
    let (code, far) = list(&app, &[("offset", "1000000000000000")], None).await;
    assert_eq!(
        (code, far["events"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{far}"
    );
    let (_, oldest) = list(&app, &[("limit", "3"), ("order", "asc")], None).await;
    let oldest_first: Vec<String> = mine.iter().take(3).map(|e| e.external_id.clone()).collect();
    assert_eq!(external_ids(&oldest), oldest_first);

    // Filters reach the store.
    let (_, by_email) = list(
        &app,
        &[
            ("actorEmail", "USER1@example.edu"),
            ("endDate", "2024-05-01T10:09:00Z"),
        ],
        None,
    )
    .await;
    assert_eq!(by_email["pagination"]["total"], 3, "{by_email}");
    let (_, by_sensor) = list(&app, &[("sensor", "https://example.edu/sensors/2")], None).await;
    assert_eq!(by_sensor["pagination"]["total"], 0);
}

pub async fn a_client_sees_its_own_events_and_an_admin_all(ports: Ports) {
    let mine = store(&ports, CLIENT, 1, 4).await;
    let theirs = store(&ports, "other-client", 100, 2).await;
    let app = App::new(ports, Limits::default());
    let total = |body: &Value| body["pagination"]["total"].as_u64();

    let (_, body) = list(&app, &[], Some(("other-client", Scope::EventCreate))).await;
    assert_eq!(total(&body), Some(2));
    assert!(body["events"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| e["clientAppId"] == "other-client"));
    let (_, body) = list(&app, &[], Some(("admin-client", Scope::Admin))).await;
    assert_eq!(total(&body), Some(6));

    let (code, body) = get(
        &app,
        &mine[0].external_id,
        Some(("other-client", Scope::EventCreate)),
    )
    .await;
    assert_eq!(
        (code, &body["message"]),
        (404, &json!("Event not found")),
        "{body}"
    );
    let (code, body) = get(
        &app,
        &theirs[0].external_id,
        Some(("admin-client", Scope::Admin)),
    )
    .await;
    assert_eq!(
        (code, &body["event"]["clientAppId"]),
        (200, &json!("other-client")),
        "{body}"
    );

    let (code, _) = list(&app, &[], Some((CLIENT, Scope::WebhookReadonly))).await;
    assert_eq!(code, 403);
    let no_client = json!({"scope": Scope::Admin.uri()});
    let (code, _) = Api::payload("query-events-list")
        .authorizer(Some(no_client))
        .send(&app)
        .await;
    assert_eq!(code, 401);
}

pub async fn one_event_by_its_caliper_id_encoded_or_not(ports: Ports) {
    let mine = store(&ports, CLIENT, 1, 2).await;
    let app = App::new(ports, Limits::default());
    let id = &mine[1].external_id;
    for given in [id.clone(), encode(id)] {
        let (code, body) = get(&app, &given, None).await;
        assert_eq!(code, 200, "{given}: {body}");
        assert_eq!(
            body["event"],
            serde_json::to_value(&mine[1]).unwrap_or_default()
        );
    }
    let (code, body) = get(&app, "urn:uuid:00000000-0000-4000-8000-999999999999", None).await;
    assert_eq!((code, &body["status"]), (404, &json!("error")), "{body}");
}

pub async fn each_bad_parameter_is_a_400_at_its_path(ports: Ports) {
    store(&ports, CLIENT, 1, 3).await;
    let app = App::new(ports, Limits::default());
    let (_, first) = list(&app, &[("limit", "1")], None).await;
    let cursor = first["nextCursor"].as_str().unwrap_or_default().to_owned();
    assert!(!cursor.is_empty(), "{first}");
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("limit", "0")], "/query/limit"),
        (vec![("limit", "1001")], "/query/limit"),
        (vec![("limit", "ten")], "/query/limit"),
        (vec![("limit", "5"), ("limit", "6")], "/query/limit"),
        (vec![("offset", "-1")], "/query/offset"),
        (vec![("order", "sideways")], "/query/order"),
        (vec![("startDate", "yesterday")], "/query/startDate"),
        (vec![("endDate", "2024-02-30")], "/query/endDate"),
        (
            vec![("startDate", "2024-05-02"), ("endDate", "2024-05-01")],
            "/query/endDate",
        ),
        (vec![("sensor", "")], "/query/sensor"),
        (vec![("actorId", " ")], "/query/actorId"),
        (vec![("actorEmial", "a@b.org")], "/query/actorEmial"),
        (vec![("cursor", "not-a-cursor")], "/query/cursor"),
        (vec![("cursor", &cursor), ("offset", "10")], "/query/offset"),
        (
            vec![("cursor", &cursor), ("limit", "1"), ("order", "asc")],
            "/query/cursor",
        ),
    ];
    for (query, path) in cases {
        let (code, body) = list(&app, &query, None).await;
        assert_eq!(code, 400, "{query:?}: {body}");
        assert_eq!(body["status"], "error");
        let paths: Vec<&str> = body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["path"].as_str())
            .collect();
        assert!(
            paths.contains(&path),
            "{query:?} should be refused at {path}: {body}"
        );
    }
    // The same cursor with the same parameters is fine.
    let (code, body) = list(&app, &[("limit", "1"), ("cursor", &cursor)], None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["pagination"]["total"], 3);

    // An edited cursor (a forged total, its signature kept) and another client's are refused.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (fields, signature) = cursor.split_once('.').unwrap_or_default();
    let mut decoded: Value =
        serde_json::from_slice(&b64.decode(fields).unwrap_or_default()).unwrap_or_default();
    decoded["total"] = json!(1_000_000);
    let edited = format!("{}.{signature}", b64.encode(decoded.to_string()));
    let theirs = Some(("another-client", Scope::EventCreate));
    for (text, who) in [(edited.as_str(), None), (cursor.as_str(), theirs)] {
        let (code, body) = list(&app, &[("limit", "1"), ("cursor", text)], who).await;
        assert_eq!(
            (code, body["errors"][0]["path"].as_str()),
            (400, Some("/query/cursor")),
            "{body}"
        );
        assert!(
            body.to_string().contains("not one this API issued"),
            "{body}"
        );
    }
}

caliper_tests::on_every_backend!(
    pages_by_offset_and_by_cursor_in_the_contracts_shape,
    a_client_sees_its_own_events_and_an_admin_all,
    one_event_by_its_caliper_id_encoded_or_not,
    each_bad_parameter_is_a_400_at_its_path,
);

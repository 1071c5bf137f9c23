//! The webhook management API over HTTP, on every backend, through the `webhooks-create` payload in
//! `events/`: the contract's shapes for webhooks and filters, soft deletion, a 400 with a pointer
//! per problem, isolation between clients, and the scopes of each route.

use caliper_core::Ports;
use caliper_http::{App, Limits, Scope};
use caliper_tests::{caller, payload_json, Api, CLIENT};
use serde_json::{json, Value};

/// Calls `METHOD route` (the route table's syntax) with `id` for its one path parameter, as the
/// payload's client unless `context` names another caller.
async fn call(
    app: &App,
    method: &str,
    route: &str,
    id: Option<&str>,
    body: Option<Value>,
    context: Option<Value>,
) -> (u16, Value) {
    call_with_query(app, method, route, id, "", body, context).await
}

/// The same, with a raw query string.
async fn call_with_query(
    app: &App,
    method: &str,
    route: &str,
    id: Option<&str>,
    query: &str,
    body: Option<Value>,
    context: Option<Value>,
) -> (u16, Value) {
    let path = match id {
        Some(id) => route.replace("{id}", id).replace("{webhookId}", id),
        None => route.to_owned(),
    };
    let mut request = Api::new(method, &path)
        .by(CLIENT, &[Scope::WebhookCreate])
        .query(query);
    request = match body {
        Some(body) => request.body(&body),
        None => request.no_body(),
    };
    if let Some(context) = context {
        request = request.authorizer(Some(context));
    }
    request.send(app).await
}

fn payload_body() -> Value {
    let text = payload_json("webhooks-create")["body"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the payload's body: {e}"))
}

fn filter(webhook_id: &str, key: &str, value: &str, kind: &str, operator: &str) -> Value {
    json!({"webhookId": webhook_id, "filterKey": key, "filterValue": value, "filterType": kind,
           "filterOperator": operator, "active": true})
}

async fn create(app: &App, claims: Option<Value>) -> Value {
    let (status, body) = call(
        app,
        "POST",
        "/webhooks/",
        None,
        Some(payload_body()),
        claims,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["webhook"].clone()
}

pub async fn webhooks_and_filters_live_and_die_as_the_contract_says(ports: Ports) {
    let app = App::new(ports, Limits::default());
    let sent = payload_body();
    let webhook = create(&app, None).await;
    let id = webhook["id"].as_str().unwrap_or_default().to_owned();
    assert!(uuid::Uuid::try_parse(&id).is_ok(), "{webhook}");
    for field in [
        "name",
        "targetUrl",
        "secret",
        "active",
        "sensor",
        "description",
    ] {
        assert_eq!(webhook[field], sent[field], "{field}");
    }
    assert_eq!(webhook["clientAppId"], CLIENT);
    assert!(webhook["created_at"].is_string() && webhook["deleted_at"].is_null());

    assert_eq!(
        call(&app, "GET", "/webhooks/{id}", Some(&id), None, None).await,
        (200, json!({"webhook": webhook}))
    );
    let (status, listed) = call(&app, "GET", "/webhooks/", None, None, None).await;
    assert_eq!(
        (status, listed["webhooks"].as_array().map(Vec::len)),
        (200, Some(1))
    );

    let mut changed = sent.clone();
    changed["name"] = json!("Renamed");
    changed["sensor"] = Value::Null;
    let (status, replaced) = call(
        &app,
        "PUT",
        "/webhooks/{id}",
        Some(&id),
        Some(changed),
        None,
    )
    .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(
        (
            replaced["webhook"]["name"].as_str(),
            &replaced["webhook"]["sensor"]
        ),
        (Some("Renamed"), &Value::Null)
    );
    assert_eq!(replaced["webhook"]["created_at"], webhook["created_at"]);

    let (_, off) = call(
        &app,
        "PUT",
        "/webhooks/{id}/deactivate",
        Some(&id),
        None,
        None,
    )
    .await;
    assert_eq!(off["webhook"]["active"], false);
    let (_, on) = call(
        &app,
        "PUT",
        "/webhooks/{id}/activate",
        Some(&id),
        None,
        None,
    )
    .await;
    assert_eq!(on["webhook"]["active"], true);

    let (status, created) = call(
        &app,
        "POST",
        "/webhook-filters/",
        None,
        Some(filter(
            &id,
            "actor.email",
            "@example.edu",
            "string",
            "endsWith",
        )),
        None,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let made = created["filter"].clone();
    let filter_id = made["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        (
            made["webhookId"].as_str(),
            made["filterOperator"].as_str(),
            made["active"].as_bool()
        ),
        (Some(id.as_str()), Some("endsWith"), Some(true))
    );
    assert_eq!(
        call(
            &app,
            "GET",
            "/webhook-filters/{id}",
            Some(&filter_id),
            None,
            None
        )
        .await,
        (200, json!({"filter": made}))
    );
    assert_eq!(
        call(&app, "GET", "/webhook-filters/", None, None, None).await,
        (200, json!({"filters": [made]}))
    );
    assert_eq!(
        call(
            &app,
            "GET",
            "/webhook-filters/webhook/{webhookId}",
            Some(&id),
            None,
            None
        )
        .await,
        (200, json!({"filters": [made]}))
    );
    let (status, replaced) = call(
        &app,
        "PUT",
        "/webhook-filters/{id}",
        Some(&filter_id),
        Some(filter(&id, "actor.age", "18", "number", "gte")),
        None,
    )
    .await;
    assert_eq!(
        (status, replaced["filter"]["filterType"].as_str()),
        (200, Some("number")),
        "{replaced}"
    );

    assert_eq!(
        call(
            &app,
            "DELETE",
            "/webhook-filters/{id}",
            Some(&filter_id),
            None,
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &app,
            "GET",
            "/webhook-filters/{id}",
            Some(&filter_id),
            None,
            None
        )
        .await
        .0,
        404
    );
    let (status, answer) = call(&app, "DELETE", "/webhooks/{id}", Some(&id), None, None).await;
    assert_eq!(
        (status, answer["message"].is_string()),
        (200, true),
        "{answer}"
    );
    let (status, gone) = call(&app, "GET", "/webhooks/{id}", Some(&id), None, None).await;
    assert_eq!((status, gone["status"].as_str()), (404, Some("error")));
    assert_eq!(
        call(&app, "DELETE", "/webhooks/{id}", Some(&id), None, None)
            .await
            .0,
        404
    );
    assert_eq!(
        call(&app, "GET", "/webhooks/", None, None, None).await,
        (200, json!({"webhooks": []}))
    );
    assert_eq!(
        call(
            &app,
            "GET",
            "/webhook-filters/webhook/{webhookId}",
            Some(&id),
            None,
            None
        )
        .await
        .0,
        404
    );
}

pub async fn bad_bodies_get_a_400_with_a_pointer_per_problem_and_store_nothing(ports: Ports) {
    let app = App::new(ports, Limits::default());
    let paths = |body: &Value| -> Vec<String> {
        body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["path"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let cases = [
        (
            json!({"name": "n", "targetUrl": "http://hooks.example.com/", "secret": "0123456789abcdef", "active": true}),
            vec!["/targetUrl"],
        ),
        (
            json!({"name": "n", "targetUrl": "https://169.254.169.254/latest", "secret": "0123456789abcdef", "active": true}),
            vec!["/targetUrl"],
        ),
        (
            json!({"name": "n", "targetUrl": "https://localhost:8443/", "secret": "0123456789abcdef", "active": true}),
            vec!["/targetUrl"],
        ),
        (
            json!({"name": "", "targetUrl": 7, "active": "yes", "colour": "red"}),
            vec!["/active", "/colour", "/name", "/secret", "/targetUrl"],
        ),
        (json!([]), vec![""]),
    ];
    for (body, expected) in cases {
        let (status, answer) =
            call(&app, "POST", "/webhooks/", None, Some(body.clone()), None).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let mut found = paths(&answer);
        found.sort();
        assert_eq!(found, expected, "{body}: {answer}");
        assert!(answer["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| e["message"].as_str().is_some_and(|m| m.len() > 10)));
    }
    let webhook = create(&app, None).await;
    let id = webhook["id"].as_str().unwrap_or_default();
    for (body, expected) in [
        (
            filter(id, "actor.age", "adult", "number", "gte"),
            "/filterValue",
        ),
        (
            filter(id, "actor.age", "1", "number", "contains"),
            "/filterOperator",
        ),
        (
            filter(id, "type", "([a-z]", "string", "regexp"),
            "/filterValue",
        ),
        (
            filter(id, "actor..email", "x", "string", "eq"),
            "/filterKey",
        ),
        (filter(id, "type", "x", "date", "eq"), "/filterType"),
        (
            filter("no-such-webhook", "type", "x", "string", "eq"),
            "/webhookId",
        ),
    ] {
        let (status, answer) = call(
            &app,
            "POST",
            "/webhook-filters/",
            None,
            Some(body.clone()),
            None,
        )
        .await;
        assert_eq!(
            (status, paths(&answer)),
            (400, vec![expected.to_owned()]),
            "{body}: {answer}"
        );
    }
    assert_eq!(
        call(&app, "GET", "/webhook-filters/", None, None, None).await,
        (200, json!({"filters": []}))
    );
    let (status, _) = call(&app, "GET", "/webhooks/", None, None, None).await;
    assert_eq!(status, 200);
}

pub async fn clients_see_their_own_admin_sees_all_and_scopes_hold(ports: Ports) {
    let app = App::new(ports, Limits::default());
    let mine = create(&app, None).await;
    let id = mine["id"].as_str().unwrap_or_default();
    let other = Some(caller("other-client", &[Scope::WebhookCreate]));
    assert_eq!(
        call(&app, "GET", "/webhooks/{id}", Some(id), None, other.clone())
            .await
            .0,
        404
    );
    assert_eq!(
        call(
            &app,
            "PUT",
            "/webhooks/{id}/deactivate",
            Some(id),
            None,
            other.clone()
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(&app, "GET", "/webhooks/", None, None, other.clone()).await,
        (200, json!({"webhooks": []}))
    );
    let (status, answer) = call(
        &app,
        "POST",
        "/webhook-filters/",
        None,
        Some(filter(id, "type", "x", "string", "eq")),
        other,
    )
    .await;
    assert_eq!(
        (status, answer["errors"][0]["path"].as_str()),
        (400, Some("/webhookId"))
    );

    let admin = Some(caller("ops", &[Scope::Admin]));
    let (status, all) = call(&app, "GET", "/webhooks/", None, None, admin.clone()).await;
    assert_eq!((status, all["webhooks"][0]["id"].as_str()), (200, Some(id)));
    assert_eq!(
        call(&app, "GET", "/webhooks/", None, None, admin).await.1["webhooks"][0]["secret"],
        mine["secret"]
    );

    // Read-only callers read, with the secret hidden, and change nothing.
    let reader = Some(caller(CLIENT, &[Scope::WebhookReadonly]));
    let (status, read) = call(
        &app,
        "GET",
        "/webhooks/{id}",
        Some(id),
        None,
        reader.clone(),
    )
    .await;
    assert_eq!(
        (status, read["webhook"]["secret"].as_str()),
        (200, Some("********"))
    );
    let (status, refused) = call(&app, "DELETE", "/webhooks/{id}", Some(id), None, reader).await;
    assert_eq!((status, refused["status"].as_str()), (403, Some("error")));
    let sender = Some(caller(CLIENT, &[Scope::EventCreate]));
    assert_eq!(
        call(&app, "GET", "/webhooks/", None, None, sender).await.0,
        403
    );
    assert_eq!(
        call(&app, "GET", "/webhooks/", None, None, Some(json!({})))
            .await
            .0,
        401
    );

    let (status, answer) = call(&app, "GET", "/webhooks/", None, None, None).await;
    assert_eq!(status, 200, "{answer}");
}

pub async fn a_listing_takes_one_nonempty_sensor_and_nothing_else(ports: Ports) {
    let app = App::new(ports, Limits::default());
    create(&app, None).await;
    let sensor = payload_body()["sensor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let app = &app;
    let list = move |query: String| async move {
        call_with_query(app, "GET", "/webhooks/", None, &query, None, None).await
    };
    let encoded: String = sensor.bytes().map(|b| format!("%{b:02X}")).collect();
    let (status, found) = list(format!("sensor={encoded}")).await;
    assert_eq!(
        (status, found["webhooks"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    let (status, none) = list("sensor=https%3A%2F%2Fother".into()).await;
    assert_eq!((status, none), (200, json!({"webhooks": []})));
    for (query, path) in [
        ("sensor=", "/query/sensor"),
        ("limit=5", "/query/limit"),
        ("sensor=a&sensor=b", "/query/sensor"),
    ] {
        let (status, answer) = list(query.into()).await;
        assert_eq!(
            (status, answer["errors"][0]["path"].as_str()),
            (400, Some(path)),
            "{query}: {answer}"
        );
    }
}

caliper_tests::on_every_backend!(
    webhooks_and_filters_live_and_die_as_the_contract_says,
    bad_bodies_get_a_400_with_a_pointer_per_problem_and_store_nothing,
    clients_see_their_own_admin_sees_all_and_scopes_hold,
    a_listing_takes_one_nonempty_sensor_and_nothing_else,
);

/// In DynamoDB a webhook's secret is sealed (KMS envelope encryption): the item holds no secret,
/// the API's writers and the deliveries get it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_dynamodb_a_webhook_secret_is_stored_sealed() {
    let world = caliper_tests::aws_world(3).await;
    let app = App::new(world.ports.clone(), Limits::default());
    let created = create(&app, None).await;
    let (id, secret) = (
        created["id"].as_str().unwrap_or_default().to_owned(),
        created["secret"].as_str().unwrap_or_default().to_owned(),
    );
    assert!(secret.len() >= 16, "{created}");

    let item = aws_sdk_dynamodb::Client::new(&world.sdk)
        .get_item()
        .table_name(&world.settings.webhooks_table)
        .key(
            "kind",
            aws_sdk_dynamodb::types::AttributeValue::S("webhook".into()),
        )
        .key("id", aws_sdk_dynamodb::types::AttributeValue::S(id.clone()))
        .send()
        .await
        .expect("get the item");
    let stored = format!("{:?}", item.item());
    assert!(
        !stored.contains(&secret),
        "the secret is in the item: {stored}"
    );
    assert!(stored.contains("kms1:"), "{stored}");

    let (code, read) = call(&app, "GET", "/webhooks/{id}", Some(&id), None, None).await;
    assert_eq!(
        (code, read["webhook"]["secret"].as_str()),
        (200, Some(secret.as_str()))
    );
    let service = caliper_core::webhooks::WebhookService::new(
        world.ports.records.clone(),
        world.ports.secrets.clone(),
        caliper_core::webhooks::TargetPolicy::default(),
    );
    let live = service
        .live_webhook(&id)
        .await
        .expect("read")
        .expect("live");
    assert_eq!(
        live.secret, secret,
        "deliveries sign with the secret as given"
    );
}

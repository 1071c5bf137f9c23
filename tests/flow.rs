//! The whole flow through the same handlers the Lambdas run: submit → queue → process → job status,
//! on the embedded backend and on DynamoDB + SQS (moto).

use std::sync::Arc;
use std::time::Duration;

use caliper_core::{EventKey, Ports};
use caliper_http::{App, Limits, Scope};
use caliper_tests::{
    aws_world, embedded_world, envelope, event_id, processor, tool_use_event, Api, AwsWorld, CLIENT,
};
use serde_json::{json, Value};

async fn submit(app: &App, body: &Value) -> (u16, Value) {
    Api::payload("submit-events").body(body).send(app).await
}

async fn submit_as(app: &App, client: &str, body: &Value) -> (u16, Value) {
    Api::payload("submit-events")
        .body(body)
        .by(client, &[Scope::EventCreate])
        .send(app)
        .await
}

fn job_request(job_id: &str) -> Api {
    Api::payload("job-status").param("jobId", job_id)
}

async fn status_as(app: &App, client: &str, job_id: &str) -> (u16, Value) {
    job_request(job_id)
        .by(client, &[Scope::EventCreate])
        .send(app)
        .await
}

/// GET `/caliper/events/{id}` with a raw query string, as `client` with `scope`.
async fn get_as(app: &App, id: &str, query: &str, client: &str, scope: Scope) -> (u16, Value) {
    Api::payload("query-events-get")
        .param("externalId", id)
        .query(query)
        .by(client, &[scope])
        .send(app)
        .await
}

/// The ids of `client`'s listing, as `client` sees it.
async fn listed_by(app: &App, client: &str) -> Vec<String> {
    let (code, body) = Api::payload("query-events-list")
        .query("limit=1000")
        .by(client, &[Scope::EventCreate])
        .send(app)
        .await;
    assert_eq!(code, 200, "{body}");
    body["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["externalId"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn stored(ports: &Ports, client: &str, id: &str) -> Option<caliper_core::StoredEvent> {
    ports
        .events
        .get(&EventKey::new(client, id))
        .await
        .expect("get")
}

async fn status(app: &App, job_id: &str) -> (u16, Value) {
    job_request(job_id).send(app).await
}

/// Polls the job status until it finishes; a bounded wait, not a timing assertion.
async fn finished(app: &App, job_id: &str) -> Value {
    finished_as(app, CLIENT, job_id).await
}

fn allocated_ids(job: &Value) -> Vec<String> {
    job["returnValue"]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["allocatedId"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn external_ids(job: &Value) -> Vec<String> {
    job["returnValue"]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["externalId"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// The common script: accept, complete, resend with the same ids, reject invalid input unstored.
async fn accepted_events_are_stored_once(app: &App, ports: &Ports) {
    let ids = [event_id(), event_id(), event_id()];
    let body = envelope(ids.iter().map(|id| tool_use_event(id)).collect());
    let (code, reply) = submit(app, &body).await;
    assert_eq!(code, 200, "{reply}");
    assert_eq!(reply["status"], "success");
    let job_id = reply["jobId"].as_str().unwrap_or_default().to_owned();

    let job = finished(app, &job_id).await;
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["id"], job_id.as_str());
    assert!(job["processedOn"].is_string());
    assert_eq!(external_ids(&job), ids.to_vec());
    let first = allocated_ids(&job);
    assert!(
        first.iter().all(|id| id.parse::<u64>().is_ok()),
        "{first:?}"
    );

    let (_, again) = submit(app, &body).await;
    let job = finished(app, again["jobId"].as_str().unwrap_or_default()).await;
    assert_eq!(
        allocated_ids(&job),
        first,
        "a resent event keeps its first allocated id"
    );
    for id in &ids {
        let stored = stored(ports, CLIENT, id).await.expect("stored");
        assert_eq!(stored.client_app_id, CLIENT);
    }

    let unstored = event_id();
    let mut bad = envelope(vec![tool_use_event(&unstored)]);
    bad["data"][0]["eventTime"] = json!("not a time");
    let (code, reply) = submit(app, &bad).await;
    assert_eq!(code, 400, "{reply}");
    assert_eq!(reply["status"], "error");
    assert_eq!(reply["errors"][0]["path"], "/data/0/eventTime");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        stored(ports, CLIENT, &unstored).await.is_none(),
        "an invalid envelope stores nothing"
    );

    // Another client sees the job exactly as if it did not exist; an admin sees it.
    let as_client = |client: &str, scope: Scope| job_request(&job_id).by(client, &[scope]);
    let (code, reply) = as_client("other-client", Scope::EventCreate)
        .send(app)
        .await;
    assert_eq!(
        (code, reply["message"].as_str()),
        (404, Some("Job not found"))
    );
    let (code, reply) = as_client("other-client", Scope::Admin).send(app).await;
    assert_eq!(
        (code, reply["job"]["id"].as_str()),
        (200, Some(job_id.as_str()))
    );
    let (code, _) = as_client(CLIENT, Scope::WebhookReadonly).send(app).await;
    assert_eq!(code, 403);

    let (code, reply) = status(app, &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(
        (code, reply["message"].as_str()),
        (404, Some("Job not found"))
    );
    let (code, _) = status(app, "../../etc/passwd").await;
    assert_eq!(code, 404);

    // A Caliper 1.1 envelope as an LMS streams it, the payload as it is: stored with its version.
    let (code, reply) = Api::payload("submit-events-v1p1").send(app).await;
    assert_eq!(code, 200, "{reply}");
    let job = finished(app, reply["jobId"].as_str().unwrap_or_default()).await;
    assert_eq!(job["state"], "completed", "{job}");
    for id in external_ids(&job) {
        let stored = stored(ports, CLIENT, &id).await.expect("stored");
        assert_eq!(stored.data_version, caliper_validation::CALIPER_V1P1);
        assert_eq!(stored.profile, None);
    }
    assert_eq!(external_ids(&job).len(), 2);
}

/// Polls a client's job until it finishes; a bounded wait, not a timing assertion.
async fn finished_as(app: &App, client: &str, job_id: &str) -> Value {
    for _ in 0..300 {
        let (code, body) = status_as(app, client, job_id).await;
        assert_eq!(code, 200, "{body}");
        if matches!(body["job"]["state"].as_str(), Some("completed" | "failed")) {
            return body["job"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {job_id} did not finish");
}

/// A client's event with one distinct mark (its actor), as submitted and processed.
async fn send_as(app: &App, client: &str, id: &str) -> Value {
    let mut event = tool_use_event(id);
    event["actor"] = json!({"id": format!("https://example.edu/users/{client}"), "type": "Person"});
    let (code, reply) = submit_as(app, client, &envelope(vec![event])).await;
    assert_eq!(code, 200, "{reply}");
    let job = finished_as(app, client, reply["jobId"].as_str().unwrap_or_default()).await;
    assert_eq!(job["state"], "completed", "{job}");
    job
}

/// The attack of one client on another's Caliper ids: B sends A's id first, then probes one that
/// only A holds. Each gets its own event and id; nothing tells either of the other.
async fn caliper_ids_are_each_clients_own(app: &App) {
    let (a, b) = ("client-a", "client-b");
    let shared = event_id();
    let b_first = send_as(app, b, &shared).await;
    let a_job = send_as(app, a, &shared).await;
    let (a_id, b_id) = (allocated_ids(&a_job), allocated_ids(&b_first));
    assert_ne!(a_id, b_id, "A's event is an event of its own");

    for (client, id) in [(a, &a_id), (b, &b_id)] {
        let (code, reply) = get_as(app, &shared, "", client, Scope::EventCreate).await;
        assert_eq!(code, 200, "{reply}");
        assert_eq!(reply["event"]["id"].to_string(), format!("{}", id[0]));
        assert_eq!(
            reply["event"]["actor"]["id"],
            format!("https://example.edu/users/{client}")
        );
        assert_eq!(listed_by(app, client).await, [shared.as_str()]);
    }

    // B probes an id that only A holds: a new event, a new id, nothing of A's.
    let only_a = event_id();
    let a_only = allocated_ids(&send_as(app, a, &only_a).await);
    let probe = allocated_ids(&send_as(app, b, &only_a).await);
    assert_ne!(probe, a_only, "no existence oracle across clients");
    let (code, _) = get_as(app, &only_a, "clientAppId=client-a", b, Scope::EventCreate).await;
    assert_eq!(code, 404, "a client cannot name another client");

    // An admin names the client, or is told which clients hold the id.
    let (code, reply) = get_as(app, &shared, "", "ops", Scope::Admin).await;
    assert_eq!(code, 409, "{reply}");
    let paths: Vec<&str> = reply["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["path"].as_str())
        .collect();
    assert_eq!(paths, ["/query/clientAppId", "/query/clientAppId"]);
    let message = reply["errors"].to_string();
    assert!(message.contains(a) && message.contains(b), "{reply}");
    let (code, reply) = get_as(app, &shared, "clientAppId=client-a", "ops", Scope::Admin).await;
    assert_eq!(
        (code, reply["event"]["clientAppId"].as_str()),
        (200, Some(a))
    );
    let lone = event_id();
    send_as(app, b, &lone).await;
    let (code, reply) = get_as(app, &lone, "", "ops", Scope::Admin).await;
    assert_eq!(
        (code, reply["event"]["clientAppId"].as_str()),
        (200, Some(b))
    );
    let (code, reply) = get_as(app, &lone, "sensor=x", "ops", Scope::Admin).await;
    assert_eq!(
        (code, reply["errors"][0]["path"].as_str()),
        (400, Some("/query/sensor"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_flow() {
    let (ports, queue, _dir) = embedded_world();
    let processor = Arc::new(processor(&ports));
    let worker = tokio::spawn(async move { queue.run(processor).await });
    let app = App::new(ports.clone(), Limits::default());
    accepted_events_are_stored_once(&app, &ports).await;
    caliper_ids_are_each_clients_own(&app).await;
    worker.abort();
}

/// Processes the world's queue in the background, as the Lambda trigger would.
fn spawn_poller(world: &AwsWorld, max_receives: u32) -> tokio::task::JoinHandle<()> {
    let processor = Arc::new(processor(&world.ports));
    let poller = caliper_aws::SqsPoller::new(&world.sdk, world.queue_url.clone(), max_receives);
    tokio::spawn(async move { poller.run(processor).await })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn aws_flow() {
    let world = aws_world(5).await;
    let worker = spawn_poller(&world, 5);
    let app = App::new(world.ports.clone(), Limits::default());
    accepted_events_are_stored_once(&app, &world.ports).await;
    caliper_ids_are_each_clients_own(&app).await;
    worker.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_envelope_over_one_message_is_split_not_truncated() {
    let world = aws_world(5).await;
    let worker = spawn_poller(&world, 5);
    let app = App::new(world.ports.clone(), Limits::default());

    // 12 events of ~200 KB: about 2.4 MB, more than two SQS messages hold.
    let ids: Vec<String> = (0..12).map(|_| event_id()).collect();
    let events: Vec<Value> = ids
        .iter()
        .map(|id| {
            let mut event = tool_use_event(id);
            // Four strings, each under the 64 KiB string limit.
            let part = "x".repeat(50_000);
            event["extensions"] = json!({"blob": [part.clone(), part.clone(), part.clone(), part]});
            event
        })
        .collect();
    let (code, reply) = submit(&app, &envelope(events)).await;
    assert_eq!(code, 200, "{reply}");
    let job = finished(&app, reply["jobId"].as_str().unwrap_or_default()).await;
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(external_ids(&job), ids);
    let stored = stored(&world.ports, CLIENT, &ids[11])
        .await
        .expect("stored");
    assert_eq!(
        stored
            .extensions
            .as_ref()
            .and_then(|e| e["blob"].as_array())
            .map(|parts| parts
                .iter()
                .filter_map(|p| p.as_str())
                .map(str::len)
                .sum::<usize>()),
        Some(200_000)
    );
    worker.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_that_keeps_failing_fails_its_job_and_reaches_the_dead_letter_queue() {
    let world = aws_world(2).await;
    let app = App::new(world.ports.clone(), Limits::default());
    let (code, reply) = submit(&app, &envelope(vec![tool_use_event(&event_id())])).await;
    assert_eq!(code, 200, "{reply}");
    let job_id = reply["jobId"].as_str().unwrap_or_default().to_owned();

    // Storage breaks after acceptance: every delivery fails until the last allowed one.
    let dynamo = aws_sdk_dynamodb::Client::new(&world.sdk);
    dynamo
        .delete_table()
        .table_name(&world.settings.events_table)
        .send()
        .await
        .expect("delete the events table");
    let worker = spawn_poller(&world, 2);

    let job = finished(&app, &job_id).await;
    assert_eq!(job["state"], "failed", "{job}");
    let reason = job["failedReason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("could not be stored") && reason.contains("ResourceNotFound"),
        "{reason}"
    );
    assert_eq!(job["returnValue"]["status"], "error");

    let sqs = aws_sdk_sqs::Client::new(&world.sdk);
    let dlq = sqs
        .get_queue_url()
        .queue_name(format!("{}-dlq", world.settings.queue_name))
        .send()
        .await
        .expect("dlq url");
    let mut moved = false;
    for _ in 0..100 {
        let received = sqs
            .receive_message()
            .queue_url(dlq.queue_url().unwrap_or_default())
            .send()
            .await
            .expect("receive");
        if let Some(message) = received.messages().first() {
            assert!(message.body().unwrap_or_default().contains(&job_id));
            moved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(moved, "the message never reached the dead-letter queue");
    worker.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_data_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (job_id, first) = {
        let (ports, queue) = caliper_embedded::ports(dir.path(), Default::default()).expect("open");
        let processor = Arc::new(processor(&ports));
        let worker = tokio::spawn(async move { queue.run(processor).await });
        let app = App::new(ports, Limits::default());
        let (_, reply) = submit(&app, &envelope(vec![tool_use_event(&event_id())])).await;
        let job_id = reply["jobId"].as_str().unwrap_or_default().to_owned();
        let job = finished(&app, &job_id).await;
        worker.abort();
        let _ = worker.await;
        (job_id, job)
    };
    let (ports, _queue) = caliper_embedded::ports(dir.path(), Default::default()).expect("reopen");
    let app = App::new(ports, Limits::default());
    let (code, reply) = status(&app, &job_id).await;
    assert_eq!(code, 200);
    assert_eq!(reply["job"], first);
}

#[tokio::test]
async fn a_queued_message_outlives_a_restart_before_processing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let job_id = {
        let (ports, _queue) =
            caliper_embedded::ports(dir.path(), Default::default()).expect("open");
        let app = App::new(ports, Limits::default());
        let (_, reply) = submit(&app, &envelope(vec![tool_use_event(&event_id())])).await;
        reply["jobId"].as_str().unwrap_or_default().to_owned()
    }; // no worker ran: the process "died" right after answering 200
    let (ports, queue) = caliper_embedded::ports(dir.path(), Default::default()).expect("reopen");
    let processor = Arc::new(processor(&ports));
    let worker = tokio::spawn(async move { queue.run(processor).await });
    let app = App::new(ports, Limits::default());
    assert_eq!(finished(&app, &job_id).await["state"], "completed");
    worker.abort();
}

/// The Lambda trigger's handling of an SQS batch, fed from `events/process-events.json`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sqs_trigger_reports_only_failed_records() {
    let world = aws_world(5).await;
    let app = App::new(world.ports.clone(), Limits::default());
    let (_, reply) = submit(&app, &envelope(vec![tool_use_event(&event_id())])).await;
    let job_id = reply["jobId"].as_str().unwrap_or_default().to_owned();
    let sqs = aws_sdk_sqs::Client::new(&world.sdk);
    let received = sqs
        .receive_message()
        .queue_url(&world.queue_url)
        .send()
        .await
        .expect("receive");
    let queued = received
        .messages()
        .first()
        .and_then(|m| m.body())
        .expect("the job's message is on the queue")
        .to_owned();

    let path = format!(
        "{}/../events/process-events.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let mut unknown_job = event["Records"][0].clone();
    event["Records"][0]["body"] = json!(queued);
    unknown_job["messageId"] = json!("for-a-job-never-recorded");
    event["Records"]
        .as_array_mut()
        .expect("records")
        .push(unknown_job);
    let batch: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_value(event).expect("an SQS event");

    let processor = processor(&world.ports);
    let redelivery = caliper_aws::Redelivery {
        client: aws_sdk_sqs::Client::new(&world.sdk),
        queue_url: world.queue_url.clone(),
    };
    let response = caliper_aws::process_sqs_event(&processor, batch, 5, &redelivery).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, vec!["for-a-job-never-recorded"]);
    assert_eq!(finished(&app, &job_id).await["state"], "completed");
}

/// The embedded queue's own retries: a message that cannot be processed is delivered again, then
/// moved to the dead letters after the last allowed receive, and the queue is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_embedded_queue_dead_letters_what_keeps_failing() {
    let (ports, queue, _dir) = embedded_world();
    let orphan = caliper_core::JobMessage {
        job_id: "never-recorded".into(),
        client_app_id: "example-client".into(),
        part: 0,
        parts: 1,
        sensor: "https://example.edu/sensors/1".into(),
        send_time: "2024-05-01T12:00:00.000Z".into(),
        data_version: caliper_validation::CALIPER_V1P2.into(),
        events: vec![tool_use_event(&event_id())],
        problems: Vec::new(),
        accepted_at: None,
        source: None,
    };
    ports.queue.send(&[orphan]).await.expect("send");
    assert_eq!(queue.depth().await.expect("depth"), (1, 0));
    let processor = Arc::new(processor(&ports));
    let worker = {
        let queue = queue.clone();
        tokio::spawn(async move { queue.run(processor).await })
    };
    let mut depth = (1, 0);
    for _ in 0..200 {
        depth = queue.depth().await.expect("depth");
        if depth == (0, 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(depth, (0, 1), "(waiting, dead letters)");
    worker.abort();
}

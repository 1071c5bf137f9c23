//! Webhook deliveries end to end, on the embedded store and queues and on DynamoDB and SQS (moto):
//! events submitted as a client would are processed, fanned out to the webhooks whose filters they
//! pass, and POSTed signed to a receiver on this machine; a receiver that fails twice gets the event
//! once more after each failure and then no more; a webhook whose filter fails gets nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use caliper_core::webhooks::{signature, DeliverySettings, TargetPolicy, WebhookService};
use caliper_core::{
    workers, Backoff, Caller, Consumer, Envelope, Ports, Scope, Submitter, Verdict,
};
use caliper_sender::GuardedSender;
use caliper_tests::{aws_world, envelope, event_id, processor, tool_use_event, CLIENT};
use serde_json::{json, Value};

const RETRY: Duration = Duration::from_millis(50);

/// What the receiver got: (path, headers, body) per request.
type Received = Arc<Mutex<Vec<(String, HeaderMap, String)>>>;

/// A receiver on 127.0.0.1: `/ok` answers 204; `/flaky` 500 twice, then 200.
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let record = received.clone();
    let app = axum::Router::new().route(
        "/{hook}",
        axum::routing::post(
            move |axum::extract::Path(hook): axum::extract::Path<String>,
                  headers: HeaderMap,
                  body: String| {
                let record = record.clone();
                async move {
                    let mut all = record.lock().unwrap_or_else(|e| e.into_inner());
                    all.push((hook.clone(), headers, body));
                    let tries = all.iter().filter(|(h, _, _)| *h == hook).count();
                    match hook.as_str() {
                        "flaky" if tries <= 2 => StatusCode::INTERNAL_SERVER_ERROR,
                        "flaky" => StatusCode::OK,
                        _ => StatusCode::NO_CONTENT,
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), received)
}

/// The delivery queue's worker as every runner builds it, retrying quickly, to receivers on
/// this machine.
fn dispatcher(ports: &Ports) -> Arc<dyn Consumer> {
    let policy = TargetPolicy {
        allow_private: true,
    };
    let settings = DeliverySettings {
        backoff: Backoff {
            base: RETRY,
            max: RETRY * 4,
        },
        timeout: Duration::from_secs(5),
    };
    let sender = GuardedSender::new(policy, settings.timeout).unwrap_or_else(|e| panic!("{e}"));
    Arc::new(workers::dispatcher(
        ports,
        &settings,
        policy,
        Arc::new(sender),
    ))
}

/// Subscribes three webhooks, submits two events (one from another client), and checks what the
/// receiver got. The workers run meanwhile.
async fn deliveries_reach_exactly_the_matching_webhooks(ports: &Ports, jobs: Submitter) {
    let (base, received) = receiver().await;
    let service = WebhookService::new(
        ports.records.clone(),
        ports.secrets.clone(),
        TargetPolicy {
            allow_private: true,
        },
    );
    let me = Caller::new(CLIENT, vec![Scope::WebhookCreate]);
    let mut ids = Vec::new();
    for (name, path, key, value) in [
        (
            "matching",
            "ok",
            "actor.id",
            "https://example.edu/users/554433",
        ),
        ("flaky", "flaky", "type", "ToolUseEvent"),
        (
            "filtered-out",
            "never",
            "actor.id",
            "https://example.edu/users/someone-else",
        ),
    ] {
        let body = json!({"name": name, "targetUrl": format!("{base}/{path}"), "secret": format!("{name}-secret-0123456789"), "active": true});
        let webhook = service
            .create(&me, &body)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let filter = json!({"webhookId": webhook.id, "filterKey": key, "filterValue": value,
                            "filterType": "string", "filterOperator": "eq", "active": true});
        service
            .create_filter(&me, &filter)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        ids.push(webhook.id);
    }
    let mine = event_id();
    jobs.submit(
        CLIENT,
        vec![Envelope::valid(envelope(vec![tool_use_event(&mine)]))],
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    jobs.submit(
        "other-client",
        vec![Envelope::valid(envelope(vec![tool_use_event(&event_id())]))],
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));

    // Wait for the three attempts at the flaky receiver, then a little for anything extra.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let done = received
            .lock()
            .map(|r| r.iter().filter(|(h, _, _)| h == "flaky").count() >= 3)
            .unwrap_or(false);
        if done || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(RETRY * 20).await;
    let received = received.lock().map(|r| r.clone()).unwrap_or_default();
    let at = |hook: &str| {
        received
            .iter()
            .filter(|(h, _, _)| h == hook)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        at("ok").len(),
        1,
        "one delivery to the matching webhook: {received:?}"
    );
    assert_eq!(
        at("flaky").len(),
        3,
        "two failures, one success, then no more"
    );
    assert!(
        at("never").is_empty(),
        "the filter keeps this webhook's events away"
    );

    for (hook, name, webhook_id) in [("ok", "matching", &ids[0]), ("flaky", "flaky", &ids[1])] {
        for (attempt, (_, headers, body)) in at(hook).iter().enumerate() {
            let header = |n: &str| {
                headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            let timestamp: i64 = header(signature::TIMESTAMP_HEADER)
                .parse()
                .unwrap_or_default();
            assert_eq!(
                header(signature::SIGNATURE_HEADER),
                signature::sign(&format!("{name}-secret-0123456789"), timestamp, body)
            );
            assert_eq!(&header(signature::WEBHOOK_HEADER), webhook_id);
            assert_eq!(header("X-Caliper-Attempt"), (attempt + 1).to_string());
            assert_eq!(header("content-type"), "application/json");
            let event: Value = serde_json::from_str(body).unwrap_or_default();
            assert_eq!(
                (event["externalId"].as_str(), event["clientAppId"].as_str()),
                (Some(mine.as_str()), Some(CLIENT))
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_deliveries() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary directory: {e}"));
    let settings = caliper_embedded::Settings {
        deliveries: caliper_embedded::QueueSettings {
            max_receives: 5,
            ..Default::default()
        },
        ..Default::default()
    };
    let caliper_embedded::Backend {
        ports,
        jobs,
        deliveries,
        ..
    } = caliper_embedded::open(dir.path(), &settings).unwrap_or_else(|e| panic!("{e}"));
    let processor: Arc<dyn Consumer> = Arc::new(processor(&ports));
    let dispatcher = dispatcher(&ports);
    let workers = [
        tokio::spawn(async move { jobs.run(processor).await }),
        tokio::spawn(async move { deliveries.run(dispatcher).await }),
    ];
    let submitter = Submitter::new(ports.jobs.clone(), ports.queue.clone());
    deliveries_reach_exactly_the_matching_webhooks(&ports, submitter).await;
    workers.iter().for_each(|w| w.abort());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn aws_deliveries() {
    let world = aws_world(5).await;
    let processor: Arc<dyn Consumer> = Arc::new(processor(&world.ports));
    let dispatcher = dispatcher(&world.ports);
    let jobs_poller = caliper_aws::SqsPoller::new(&world.sdk, world.queue_url.clone(), 5);
    let delivery_poller =
        caliper_aws::SqsPoller::new(&world.sdk, world.delivery_queue_url.clone(), 5);
    let workers = [
        tokio::spawn(async move { jobs_poller.run(processor).await }),
        tokio::spawn(async move { delivery_poller.run(dispatcher).await }),
    ];
    let jobs = Submitter::new(world.ports.jobs.clone(), world.ports.queue.clone());
    deliveries_reach_exactly_the_matching_webhooks(&world.ports, jobs).await;
    workers.iter().for_each(|w| w.abort());
}

/// A consumer that fails every message and asks for it back after `delay`.
struct AlwaysRetry(Duration);

#[async_trait::async_trait]
impl Consumer for AlwaysRetry {
    async fn consume(&self, _body: &str, _receives: u32, _max: u32) -> Verdict {
        Verdict::Retry
    }

    fn retry_delay(&self, _receives: u32) -> Duration {
        self.0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_lambda_trigger_hides_a_failed_message_for_the_consumers_delay() {
    use aws_sdk_sqs::types::MessageSystemAttributeName;
    let world = aws_world(5).await;
    let sqs = aws_sdk_sqs::Client::new(&world.sdk);
    let url = world.delivery_queue_url.clone();
    sqs.send_message()
        .queue_url(&url)
        .message_body("{}")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let receive = || async {
        sqs.receive_message()
            .queue_url(&url)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .messages
            .unwrap_or_default()
    };
    let received = receive().await;
    assert_eq!(received.len(), 1);
    let message = &received[0];
    let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(json!({"Records": [{
        "messageId": message.message_id(), "receiptHandle": message.receipt_handle(), "body": message.body(),
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:deliveries", "awsRegion": "us-east-1"
    }]}))
    .unwrap_or_else(|e| panic!("{e}"));

    // The queue would hide it for its visibility timeout (60 s); the consumer asks for none.
    let redelivery = caliper_aws::Redelivery {
        client: sqs.clone(),
        queue_url: url.clone(),
    };
    let response =
        caliper_aws::process_sqs_event(&AlwaysRetry(Duration::ZERO), event, 5, &redelivery).await;
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "the failure is reported"
    );
    let again = receive().await;
    assert_eq!(
        again.len(),
        1,
        "back at once, not after the visibility timeout"
    );
    assert_eq!(again[0].body(), message.body());
}

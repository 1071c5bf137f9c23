//! Shared set-up for the integration tests: AWS clients pointed at the moto_server that
//! `tests/run.sh` starts, fresh resources per test, and sample envelopes.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use caliper_aws::AwsSettings;
use std::time::Duration;

use caliper_core::{Backoff, Ports, Processor};
use serde_json::{json, Value};

mod api;
pub use api::{caller, Api, CLIENT};

/// The SDK configured for moto. Fails loudly when moto is not there: these tests never skip.
pub async fn moto_sdk() -> SdkConfig {
    let url = std::env::var("CALIPER_TEST_MOTO_URL")
        .expect("CALIPER_TEST_MOTO_URL is not set: run the tests with tests/run.sh, which starts moto_server");
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

/// Tables and queues of their own for one test, so that tests run in parallel on one moto.
pub struct AwsWorld {
    pub sdk: SdkConfig,
    pub settings: AwsSettings,
    pub queue_url: String,
    pub delivery_queue_url: String,
    pub ports: Ports,
}

pub async fn aws_world(max_receives: u32) -> AwsWorld {
    let sdk = moto_sdk().await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let mut settings = AwsSettings {
        jobs_table: format!("jobs-{suffix}"),
        events_table: format!("events-{suffix}"),
        queue_url: None,
        queue_name: format!("queue-{suffix}"),
        max_receives,
        job_ttl_days: 30,
        index_shards: 8,
        webhooks_table: format!("webhooks-{suffix}"),
        delivery_queue_url: None,
        delivery_queue_name: format!("deliveries-{suffix}"),
        cursor_key_ids: Vec::new(),
        secrets_key_id: None,
        replay_queue_url: None,
        delivery_attempts: max_receives,
        allow_private_webhooks: false,
        canvas_queue_url: None,
        canvas_client_app_id: None,
        export_queue_url: None,
        export_bucket: None,
        erasure_queue_url: None,
        retention_days: None,
        export_link_minutes: 60,
    };
    let queues = caliper_aws::create_resources(&sdk, &settings)
        .await
        .unwrap_or_else(|e| panic!("cannot create resources on moto: {e}"));
    settings.cursor_key_ids = vec![queues.cursor_key_id.clone()];
    settings.secrets_key_id = Some(queues.secrets_key_id.clone());
    settings.queue_url = Some(queues.queue_url.clone());
    settings.delivery_queue_url = Some(queues.delivery_queue_url.clone());
    settings.export_queue_url = Some(queues.export_queue_url.clone());
    settings.export_bucket = Some(queues.export_bucket.clone());
    settings.erasure_queue_url = Some(queues.erasure_queue_url.clone());
    let ports = caliper_aws::ports(&sdk, &settings).retained(None);
    AwsWorld {
        sdk,
        settings,
        queue_url: queues.queue_url,
        delivery_queue_url: queues.delivery_queue_url,
        ports,
    }
}

/// Embedded ports in a fresh temporary directory (kept alive by the returned guard).
pub fn embedded_world() -> (Ports, caliper_embedded::EmbeddedQueue, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary directory: {e}"));
    let (ports, queue) = caliper_embedded::ports(dir.path(), Default::default())
        .unwrap_or_else(|e| panic!("cannot open the embedded store: {e}"));
    (ports.retained(None), queue, dir)
}

/// Retries within tens of milliseconds, so that tests of retries do not wait.
pub const QUICK_RETRY: Backoff = Backoff {
    base: Duration::from_millis(20),
    max: Duration::from_millis(80),
};

/// The job queue's worker as every runner builds it, retrying quickly.
pub fn processor(ports: &Ports) -> Processor {
    caliper_core::workers::processor(ports).retrying(QUICK_RETRY)
}

pub fn event_id() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

/// A valid ToolUseEvent with the given Caliper id.
pub fn tool_use_event(id: &str) -> Value {
    json!({
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "id": id,
        "type": "ToolUseEvent",
        "profile": "ToolUseProfile",
        "actor": {"id": "https://example.edu/users/554433", "type": "Person"},
        "action": "Used",
        "object": {"id": "https://example.edu", "type": "SoftwareApplication"},
        "eventTime": "2016-11-15T10:15:00.000Z",
        "edApp": "https://example.edu"
    })
}

pub fn envelope(events: Vec<Value>) -> Value {
    json!({
        "sensor": "https://example.edu/sensors/1",
        "sendTime": "2024-05-01T12:00:00.000Z",
        "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "data": events,
    })
}

/// A payload of `events/` (by file stem) as JSON.
pub fn payload_json(name: &str) -> Value {
    let path = format!("{}/../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// A response's status and JSON body.
pub fn read_response(response: lambda_http::Response<lambda_http::Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = match response.body() {
        lambda_http::Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        lambda_http::Body::Binary(bytes) => serde_json::from_slice(bytes).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, body)
}

/// Runs each named `async fn case(ports: Ports)` of the calling test file against every storage
/// backend: a `#[tokio::test]` per case in `mod embedded` and in `mod dynamodb` (moto).
#[macro_export]
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let (ports, _queue, _dir) = $crate::embedded_world();
                    super::$case(ports).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let world = $crate::aws_world(5).await;
                    super::$case(world.ports).await;
                }
            )*
        }
    };
}

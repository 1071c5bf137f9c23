//! GET /caliper/events and GET /caliper/events/{externalId}: stored events, listed and fetched.

use caliper_http::{handlers, App};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    caliper_http::telemetry::init_lambda();
    let (ports, settings) = caliper_aws::from_env().await;
    if settings.cursor_key_ids.is_empty() {
        return Err(
            "CALIPER_CURSOR_KEY_IDS is not set: listing cursors are signed by a KMS HMAC key"
                .into(),
        );
    }
    let app = App::new(ports, caliper_http::Limits::from_env());
    run(service_fn(|request: Request| async {
        Ok::<_, Error>(handlers::query_events(&app, request).await)
    }))
    .await
}

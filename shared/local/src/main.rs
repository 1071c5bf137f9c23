//! caliper-local: the whole API on one port. Each HTTP request becomes the API Gateway (HTTP API v2)
//! event the Lambda would receive, and is served by the very same handler; the processor runs on
//! the queue in the background.

mod gateway;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use caliper_core::Processor;
use caliper_http::{App, Limits};
use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    /// A redb file under --data-dir and an in-process queue: no AWS, no emulator.
    Embedded,
    /// DynamoDB and SQS from the standard AWS environment (e.g. AWS_ENDPOINT_URL for moto).
    Aws,
}

/// Serves every route of the Caliper Events API on one port, and processes the queue.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "CALIPER_LISTEN", default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Directory of the embedded store; data survives restarts.
    #[arg(long, env = "CALIPER_DATA_DIR", default_value = "./.caliper-data")]
    data_dir: PathBuf,
    /// Where jobs, events and the queue live.
    #[arg(long, env = "CALIPER_BACKEND", value_enum, default_value = "embedded")]
    backend: Backend,
    /// With --backend aws: create the tables and queues if they are missing.
    #[arg(long)]
    create_resources: bool,
    /// The client id every request is attributed to (with every scope) until tokens are required.
    #[arg(long, env = "CALIPER_LOCAL_CLIENT_ID", default_value = "local-client")]
    client_id: String,
    /// Print the routes (method, path, function) as JSON and exit.
    #[arg(long)]
    routes: bool,
    /// Print the events table's global secondary indexes as JSON, in the template's terms, and exit.
    #[arg(long)]
    event_indexes: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    caliper_http::telemetry::init_local();
    let args = Args::parse();
    if args.routes {
        let routes: Vec<_> = caliper_http::ROUTES
            .iter()
            .map(|r| {
                let scopes: Vec<String> = r.scopes.iter().map(|s| s.uri()).collect();
                serde_json::json!({"method": r.method, "path": r.path, "function": r.function, "scopes": scopes})
            })
            .collect();
        println!("{}", serde_json::Value::Array(routes));
        return Ok(());
    }
    if args.event_indexes {
        println!("{}", caliper_aws::indexes::describe());
        return Ok(());
    }
    let limits = Limits::from_env();

    let (ports, worker) = match args.backend {
        Backend::Embedded => {
            let (ports, queue) =
                caliper_embedded::ports(&args.data_dir, caliper_embedded::QueueSettings::default())
                    .with_context(|| {
                        format!("cannot open the data directory {}", args.data_dir.display())
                    })?;
            let processor = Arc::new(Processor::new(ports.jobs.clone(), ports.events.clone()));
            let worker = tokio::spawn(async move { queue.run(processor).await });
            tracing::info!(data_dir = %args.data_dir.display(), "embedded backend");
            (ports, worker)
        }
        Backend::Aws => {
            let sdk = caliper_aws::load_sdk_config().await;
            let settings = caliper_aws::AwsSettings::from_env();
            let queue_url = if args.create_resources {
                Some(
                    caliper_aws::create_resources(&sdk, &settings)
                        .await
                        .context("cannot create the AWS resources")?,
                )
            } else {
                settings.queue_url.clone()
            };
            let queue_url =
                queue_url.context("set CALIPER_QUEUE_URL, or pass --create-resources")?;
            let ports = caliper_aws::ports(&sdk, &settings, Some(queue_url.clone()));
            let processor = Arc::new(Processor::new(ports.jobs.clone(), ports.events.clone()));
            let poller =
                caliper_aws::SqsPoller::new(&sdk, queue_url.clone(), settings.max_receives);
            let worker = tokio::spawn(async move { poller.run(processor).await });
            tracing::info!(
                jobs = settings.jobs_table,
                events = settings.events_table,
                queue = queue_url,
                "aws backend"
            );
            (ports, worker)
        }
    };

    let app = Arc::new(App::new(ports, limits));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    tracing::info!("caliper-local listening on http://{address}");
    tracing::info!("try: curl -s -X POST http://{address}/caliper/event -H 'Content-Type: application/json' -d @events/envelope.json");
    let router = gateway::router(app, args.client_id);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown())
        .await?;
    worker.abort();
    Ok(())
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}

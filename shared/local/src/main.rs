//! caliper-local: the whole API on one port. Each HTTP request becomes the API Gateway (HTTP API v2)
//! event the Lambda would receive, and is served by the very same handler; the processor runs on
//! the queue in the background.

mod budget;
mod gateway;
mod idp;
mod secrets;
mod server;
mod throttle;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use caliper_auth::{Authenticator, SignedBodies};
use caliper_core::webhooks::{DeliverySettings, TargetPolicy};
use caliper_core::{workers, Consumer, QueueRunner};
use caliper_http::App;
use caliper_sender::GuardedSender;
use clap::{Parser, ValueEnum};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    /// A fjall database under --data-dir and an in-process queue: no AWS, no emulator.
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
    /// MiB of the embedded database's blocks kept in memory: with its unwritten changes (bounded
    /// by its journal) and the process's own needs, what bounds its resident memory whatever the
    /// size of the data.
    #[arg(long, env = "CALIPER_CACHE_MIB", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    cache_mib: u64,
    /// Where jobs, events and the queue live.
    #[arg(long, env = "CALIPER_BACKEND", value_enum, default_value = "embedded")]
    backend: Backend,
    /// With --backend aws: create the tables and queues if they are missing.
    #[arg(long)]
    create_resources: bool,
    /// An app client of the local IdP, `ID:SECRET:scope,scope` (scope names or URIs); repeat the
    /// flag, or separate clients by spaces in the variable. None: one development client with
    /// every scope, its secret kept in the data directory and printed at start-up.
    #[arg(
        long = "client",
        env = "CALIPER_LOCAL_CLIENTS",
        value_delimiter = ' ',
        conflicts_with = "jwks_url"
    )]
    clients: Vec<idp::Client>,
    /// A file of app clients, one `ID:SECRET:scope,scope` a line, that only its owner may read
    /// (chmod 600): secrets given here are not seen in `ps`, as `--client` ones are.
    #[arg(long, env = "CALIPER_LOCAL_CLIENTS_FILE", conflicts_with = "jwks_url")]
    clients_file: Option<PathBuf>,
    /// Lifetime of the local IdP's access tokens, in seconds (Cognito's default is an hour).
    #[arg(long, env = "CALIPER_LOCAL_TOKEN_SECONDS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    token_seconds: u64,
    /// Verify tokens of this JWKS (a Cognito user pool's
    /// https://cognito-idp.REGION.amazonaws.com/POOL/.well-known/jwks.json) instead of being the IdP.
    #[arg(long, env = "CALIPER_LOCAL_JWKS_URL")]
    jwks_url: Option<String>,
    /// The tokens' `iss`. Default: this server's URL, or with --jwks-url, that URL without
    /// /.well-known/jwks.json (which is a Cognito pool's issuer).
    #[arg(long, env = "CALIPER_LOCAL_ISSUER")]
    issuer: Option<String>,
    /// Deliver webhooks to private, loopback and link-local addresses, and over plain http, and
    /// fetch connectors' key sets from them: for receivers and producers on this machine or
    /// network during development and tests.
    #[arg(long, env = "CALIPER_ALLOW_PRIVATE_WEBHOOKS")]
    allow_private_webhooks: bool,
    /// Days events are kept (by `eventTime`) for a client that sets no `retentionDays`; unset:
    /// for ever.
    #[arg(long, env = "CALIPER_RETENTION_DAYS",
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    retention_days: Option<u32>,
    /// Seconds between sweeps of the events retention no longer keeps (embedded store; DynamoDB's
    /// TTL does it in AWS).
    #[arg(long, env = "CALIPER_LOCAL_SWEEP_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    sweep_seconds: u64,
    /// Attempts of one webhook delivery before it goes to the dead letters.
    #[arg(long, env = "CALIPER_DELIVERY_ATTEMPTS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    webhook_attempts: u32,
    /// Delay before a failed delivery's first retry, in milliseconds; doubled (with jitter) each time.
    #[arg(long, env = "CALIPER_WEBHOOK_RETRY_MS", default_value_t = DeliverySettings::DEFAULT_RETRY_MS)]
    webhook_retry_ms: u64,
    /// The longest delay between two attempts, in milliseconds.
    #[arg(long, env = "CALIPER_WEBHOOK_RETRY_MAX_MS", default_value_t = DeliverySettings::DEFAULT_RETRY_MAX_MS)]
    webhook_retry_max_ms: u64,
    /// How long one delivery may take (connect, send, answer), in milliseconds.
    #[arg(long, env = "CALIPER_WEBHOOK_TIMEOUT_MS", default_value_t = DeliverySettings::DEFAULT_TIMEOUT_MS)]
    webhook_timeout_ms: u64,
    /// Connections served at once; more are answered 503 and closed.
    #[arg(long, env = "CALIPER_LOCAL_MAX_CONNECTIONS", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections: u32,
    /// Connections served at once from one address: no address takes every slot. Behind a
    /// reverse proxy every connection comes from the proxy: set it to --max-connections there.
    #[arg(long, env = "CALIPER_LOCAL_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections_per_address: u32,
    /// Seconds a connection may take to send a request's headers.
    #[arg(long, env = "CALIPER_LOCAL_HEADER_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout: u64,
    /// Seconds a request's whole body may take to arrive (408 after).
    #[arg(long, env = "CALIPER_LOCAL_BODY_TIMEOUT", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    body_timeout: u64,
    /// Seconds a connection may stay open with no request in flight and no bytes moving.
    #[arg(long, env = "CALIPER_LOCAL_IDLE_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    idle_timeout: u64,
    /// Seconds a connection is kept at most: then it is closed after its request in flight.
    #[arg(long, env = "CALIPER_LOCAL_MAX_CONNECTION_AGE", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    max_connection_age: u64,
    /// MiB of request bodies buffered at once, across every connection.
    #[arg(long, env = "CALIPER_LOCAL_BODY_BUDGET_MIB", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(8..=65_536))]
    body_budget_mib: u64,
    /// Of those, MiB buffered at once for one address: no address takes the budget others need.
    /// Behind a reverse proxy every body comes from the proxy: set it to --body-budget-mib there.
    #[arg(long, env = "CALIPER_LOCAL_BODY_BUDGET_PER_ADDRESS_MIB", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(8..=65_536))]
    body_budget_per_address_mib: u64,
    /// Failed authentications an address, or a client id or connector from an address, may have
    /// at once, and per minute after (429 with Retry-After beyond); 0: no limit.
    #[arg(
        long,
        env = "CALIPER_LOCAL_AUTH_FAILURES_PER_MINUTE",
        default_value_t = 10
    )]
    auth_failures_per_minute: u32,
    /// Print the routes (method, path, function, scopes) as JSON and exit.
    #[arg(long)]
    routes: bool,
    /// Print the events table's global secondary indexes as JSON, in the template's terms, and exit.
    #[arg(long)]
    event_indexes: bool,
}

/// Purges what retention no longer keeps, every `period`, in transactions of at most 500 events.
async fn sweep(store: caliper_embedded::Embedded, period: Duration) {
    let mut clock = tokio::time::interval(period);
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        clock.tick().await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        match store.sweep_expired(now, 500).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "events past their retention purged"),
            Err(error) => {
                tracing::warn!(%error, "the retention sweep failed; the next tries again")
            }
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    caliper_runtime::telemetry::init_local();
    let args = Args::parse();
    if args.routes {
        let routes: Vec<_> = caliper_http::ROUTES
            .iter()
            .map(|r| {
                let scopes: Vec<String> = r.scopes().iter().map(|s| s.uri()).collect();
                let access = match r.access {
                    caliper_http::routes::Access::Public => "public",
                    caliper_http::routes::Access::Signature => "signature",
                    caliper_http::routes::Access::Caller(_) => "caller",
                };
                serde_json::json!({"method": r.method, "path": r.path, "documentedPath": r.documented_path(), "function": r.function.name(), "access": access, "scopes": scopes, "body": r.body.name()})
            })
            .collect();
        println!("{}", serde_json::Value::Array(routes));
        return Ok(());
    }
    if args.event_indexes {
        println!("{}", caliper_aws::indexes::describe());
        return Ok(());
    }
    let limits = caliper_runtime::settings::limits()?;
    // Before anything reads them: no secret file of the data directory stays open to others.
    secrets::hold_private(&args.data_dir)?;

    let policy = TargetPolicy {
        allow_private: args.allow_private_webhooks,
    };
    let delivery = DeliverySettings::from_millis(
        args.webhook_retry_ms,
        args.webhook_retry_max_ms,
        args.webhook_timeout_ms,
    );
    let sender =
        Arc::new(GuardedSender::new(policy, delivery.timeout).map_err(anyhow::Error::msg)?);

    // The backend's ports, and the receiving ends of its queues.
    type Runner = Arc<dyn QueueRunner>;
    let (ports, jobs, deliveries, export_steps, erasure_steps): (
        _,
        Runner,
        Runner,
        Runner,
        Runner,
    ) = match args.backend {
        Backend::Embedded => {
            let settings = caliper_embedded::Settings {
                store: caliper_embedded::StoreSettings {
                    cache_bytes: usize::try_from(args.cache_mib << 20).unwrap_or(usize::MAX),
                },
                deliveries: caliper_embedded::QueueSettings {
                    max_receives: args.webhook_attempts,
                    ..Default::default()
                },
                ..Default::default()
            };
            let backend = caliper_embedded::open(&args.data_dir, &settings).with_context(|| {
                format!("cannot open the data directory {}", args.data_dir.display())
            })?;
            let caliper_embedded::Backend {
                ports,
                store,
                jobs,
                deliveries,
                exports,
                erasures,
            } = backend;
            if let (Ok((parts, failed_parts)), Ok((sends, failed_sends))) =
                (jobs.depth().await, deliveries.depth().await)
            {
                tracing::info!(
                    parts,
                    failed_parts,
                    sends,
                    failed_sends,
                    "queued job parts and webhook deliveries (with their dead letters)"
                );
            }
            tracing::info!(data_dir = %args.data_dir.display(), "embedded backend");
            tokio::spawn(sweep(store, Duration::from_secs(args.sweep_seconds)));
            (
                ports,
                Arc::new(jobs),
                Arc::new(deliveries),
                Arc::new(exports),
                Arc::new(erasures),
            )
        }
        Backend::Aws => {
            let sdk = caliper_aws::load_sdk_config().await;
            let mut settings = caliper_aws::AwsSettings::from_env()?;
            settings.delivery_attempts = args.webhook_attempts;
            if args.create_resources {
                let queues = caliper_aws::create_resources(&sdk, &settings)
                    .await
                    .context("cannot create the AWS resources")?;
                settings.queue_url = Some(queues.queue_url);
                settings.delivery_queue_url = Some(queues.delivery_queue_url);
                settings.cursor_key_ids = vec![queues.cursor_key_id];
                settings.secrets_key_id = Some(queues.secrets_key_id);
                settings.export_queue_url = Some(queues.export_queue_url);
                settings.export_bucket = Some(queues.export_bucket);
                settings.erasure_queue_url = Some(queues.erasure_queue_url);
            }
            let queue_url = settings
                .queue_url
                .clone()
                .context("set CALIPER_QUEUE_URL, or pass --create-resources")?;
            let delivery_queue_url = settings
                .delivery_queue_url
                .clone()
                .context("set CALIPER_DELIVERY_QUEUE_URL, or pass --create-resources")?;
            let export_queue_url = settings
                .export_queue_url
                .clone()
                .context("set CALIPER_EXPORT_QUEUE_URL, or pass --create-resources")?;
            let mut ports = caliper_aws::ports(&sdk, &settings);
            ports.files = Arc::new(caliper_aws::S3Files::new(
                &sdk,
                settings.export_bucket.clone(),
                Duration::from_secs(settings.export_link_minutes * 60),
            ));
            let jobs = caliper_aws::SqsPoller::new(&sdk, queue_url.clone(), settings.max_receives);
            let export_steps =
                caliper_aws::SqsPoller::new(&sdk, export_queue_url, settings.max_receives);
            let erasure_queue_url = settings
                .erasure_queue_url
                .clone()
                .context("set CALIPER_ERASURE_QUEUE_URL, or pass --create-resources")?;
            let erasure_steps =
                caliper_aws::SqsPoller::new(&sdk, erasure_queue_url, settings.max_receives);
            let sends = caliper_aws::SqsPoller::new(
                &sdk,
                delivery_queue_url.clone(),
                settings.delivery_attempts,
            );
            tracing::info!(
                jobs = settings.jobs_table,
                events = settings.events_table,
                webhooks = settings.webhooks_table,
                queue = queue_url,
                delivery_queue = delivery_queue_url,
                "aws backend"
            );
            (
                ports,
                Arc::new(jobs),
                Arc::new(sends),
                Arc::new(export_steps),
                Arc::new(erasure_steps),
            )
        }
    };
    let ports = ports.retained(args.retention_days);
    // A worker per queue, as a Lambda each in AWS: the processor on the job queue, the dispatcher
    // on the delivery queue, the exporter and the eraser on theirs.
    let processor: Arc<dyn Consumer> = Arc::new(workers::processor(&ports));
    let dispatcher: Arc<dyn Consumer> =
        Arc::new(workers::dispatcher(&ports, &delivery, policy, sender));
    let exporter: Arc<dyn Consumer> =
        Arc::new(workers::exporter(&ports, Arc::new(caliper_export::Files)));
    let eraser: Arc<dyn Consumer> = Arc::new(workers::eraser(&ports));
    let workers = [
        tokio::spawn(async move { jobs.run(processor).await }),
        tokio::spawn(async move { deliveries.run(dispatcher).await }),
        tokio::spawn(async move { export_steps.run(exporter).await }),
        tokio::spawn(async move { erasure_steps.run(eraser).await }),
    ];
    if args.allow_private_webhooks {
        tracing::warn!(
            "webhooks may target private addresses and plain http (--allow-private-webhooks)"
        );
    }

    let signatures = Arc::new(SignedBodies::new(policy).map_err(anyhow::Error::msg)?);
    let app = Arc::new(
        App::new(ports, limits)
            .with_target_policy(policy)
            .with_signatures(signatures),
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let mut address = listener.local_addr()?;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let url = format!("http://{address}");

    let failures = Arc::new(throttle::Throttle::new(args.auth_failures_per_minute));
    // Keys at rest are dropped every minute: the table holds only those still being slowed.
    tokio::spawn({
        let failures = failures.clone();
        async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                failures.sweep();
            }
        }
    });
    let gateway_limits = gateway::GatewayLimits {
        body_timeout: Duration::from_secs(args.body_timeout),
        body_budget: usize::try_from(args.body_budget_mib << 20).unwrap_or(usize::MAX),
        body_budget_per_address: usize::try_from(args.body_budget_per_address_mib << 20)
            .unwrap_or(usize::MAX),
    };
    let server_limits = server::ServerLimits {
        max_connections: args.max_connections as usize,
        max_connections_per_address: args.max_connections_per_address as usize,
        header_timeout: Duration::from_secs(args.header_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        max_age: Duration::from_secs(args.max_connection_age),
        linger: Duration::from_secs(2),
        drain: Duration::from_secs(10),
    };
    let router = match args.jwks_url {
        Some(jwks_url) => {
            let issuer = args.issuer.unwrap_or_else(|| {
                jwks_url
                    .trim_end_matches("/.well-known/jwks.json")
                    .to_owned()
            });
            let verifier = idp::Verifier::remote(jwks_url.clone(), issuer)
                .await
                .with_context(|| format!("cannot fetch the JWKS at {jwks_url}"))?;
            tracing::info!(
                jwks_url,
                issuer = verifier.issuer(),
                "verifying tokens of a remote IdP"
            );
            let authenticator = Authenticator::new(verifier).with_keys(app.keys.clone());
            gateway::router(app, authenticator, failures, gateway_limits)
        }
        None => {
            let mut clients = args.clients;
            if let Some(path) = &args.clients_file {
                clients.extend(idp::clients_from_file(path)?);
            }
            let idp = local_identity_provider(
                &args.data_dir,
                clients,
                args.issuer,
                &url,
                args.token_seconds,
                failures.clone(),
            )?
            .with_body_timeout(Duration::from_secs(args.body_timeout));
            let idp = Arc::new(idp);
            let verifier = idp.verifier()?;
            let authenticator = Authenticator::new(verifier).with_keys(app.keys.clone());
            idp.router().merge(gateway::router(
                app,
                authenticator,
                failures,
                gateway_limits,
            ))
        }
    };
    raise_open_files_limit(server_limits.max_connections);
    tracing::info!("caliper-local listening on {url}");
    server::serve(listener, router, server_limits, shutdown()).await;
    // The workers stop between two awaits; a message they held comes back to the queue (at
    // least once), and the store closes when its last piece of work is done.
    for worker in workers {
        worker.abort();
        let _ = worker.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Connections need file descriptors: the soft limit is raised to the hard one (often 1024 and
/// far more), and a warning says when the connection cap does not fit in it.
fn raise_open_files_limit(max_connections: usize) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < max_connections as u64 + 64 => tracing::warn!(
            limit,
            max_connections,
            "the open files limit is below the connection cap; lower --max-connections or raise the limit"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot raise the open files limit"),
    }
}

/// The IdP for these clients (or the development client), with its key kept in the data directory.
fn local_identity_provider(
    data_dir: &std::path::Path,
    mut clients: Vec<idp::Client>,
    issuer: Option<String>,
    url: &str,
    token_seconds: u64,
    failures: Arc<throttle::Throttle>,
) -> anyhow::Result<idp::IdentityProvider> {
    let key = idp::SigningKey::load_or_create(&data_dir.join("idp").join("signing-key.der"))?;
    if clients.is_empty() {
        let file = data_dir.join("idp").join("development-client.json");
        let made = !file.exists();
        let development = idp::DevelopmentCredentials::load_or_create(&file)?;
        // Its secret is shown once, when it is made; after that the log says where it is kept.
        if made {
            tracing::info!(
                client_id = development.client_id,
                client_secret = development.client_secret,
                "development client made (every scope); its secret is shown this once"
            );
        } else {
            tracing::info!(
                client_id = development.client_id,
                secret_in = %file.display(),
                "development client (every scope)"
            );
        }
        tracing::info!(
            "try: TOKEN=$(curl -s -u {}:$(jq -r .client_secret {}) -d grant_type=client_credentials {url}/oauth2/token | jq -r .access_token)",
            development.client_id,
            file.display()
        );
        tracing::info!("then: curl -s -X POST {url}/caliper/event -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d @events/envelope.json");
        clients.push(development.client());
    }
    for client in clients.iter().filter(|c| !c.unguessable()) {
        tracing::warn!(
            client_id = client.id,
            "this client's secret has fewer than {} characters: it could be guessed, so while its address has too many failed authentications it is refused unchecked like a guess; give it a longer one (openssl rand -hex 16)",
            idp::UNGUESSABLE_SECRET_CHARS
        );
    }
    let issuer = issuer.unwrap_or_else(|| url.to_owned());
    tracing::info!(
        issuer,
        token_url = format!("{url}/oauth2/token"),
        "local IdP"
    );
    Ok(idp::IdentityProvider::new(
        issuer,
        key,
        clients,
        token_seconds,
        failures,
    ))
}

/// Ctrl-C, or SIGTERM (as a service manager or container runtime stops a process).
async fn shutdown() {
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(|e| tracing::warn!(error = %e, "cannot watch for SIGTERM"))
                .ok();
        let terminated = async {
            match terminate.as_mut() {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminated => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down: no new connections; finishing the requests in flight");
}

//! `caliper-admin`: what an operator does beside deploying.
//!
//! - `clients create|list|remove`: the app clients of a stack's user pool (OAuth2 client
//!   credentials with some of the four scopes). The authorizer admits any client of the pool, so a
//!   new client calls the API at once, without a redeploy.
//! - `keys create|list|revoke`: API keys, for producers that cannot fetch tokens (Open edX, the
//!   IMS sensors), kept in the stack's records table as the API's `/keys` keeps them;
//! - `upgrade-events`: what an events table written by an earlier version lacks, added;
//! - `resources`: the tables, queues and keys the functions need, made in an emulator (moto) for
//!   `cargo lambda watch`, printed as the environment the functions read.
//!
//! AWS credentials, region and endpoint come from the usual variables (`AWS_PROFILE`,
//! `AWS_REGION`, `AWS_ENDPOINT_URL`, ...).

use anyhow::{bail, Context};
use aws_sdk_cognitoidentityprovider::types::OAuthFlowType;
use aws_sdk_cognitoidentityprovider::Client;
use std::sync::Arc;

use caliper_core::clients::{ClientError, Keys};
use caliper_core::{Caller, Records};
use caliper_http::Scope;
use clap::{Parser, Subcommand};
use serde_json::json;

#[derive(Parser)]
#[command(version, about = "Operator commands of the Caliper Events API")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The app clients of the stack's user pool (stack output `UserPoolId`).
    Clients {
        #[arg(long, env = "CALIPER_USER_POOL_ID")]
        user_pool_id: String,
        #[command(subcommand)]
        action: ClientAction,
    },
    /// API keys, in the stack's records table (stack output `WebhooksTableName`).
    Keys {
        #[arg(long, env = "CALIPER_WEBHOOKS_TABLE")]
        table: String,
        #[command(subcommand)]
        action: KeyAction,
    },
    /// Adds what an events table written by an earlier version lacks (the directory of clients,
    /// each email's actors), from its events: run once after deploying over such a table, before
    /// answering erasures by email. Running it again adds nothing.
    UpgradeEvents {
        /// The events table (stack output `EventsTableName`).
        #[arg(long, env = "CALIPER_EVENTS_TABLE")]
        table: String,
    },
    /// Makes the tables, queues, keys and a user pool in the emulator at AWS_ENDPOINT_URL where
    /// missing, and prints the functions' environment (KEY=value lines, for
    /// `cargo lambda watch --env-file`).
    Resources,
}

#[derive(Subcommand)]
enum ClientAction {
    /// A new client; prints its id and its secret (shown this once).
    Create {
        /// A name to know it by (the app's).
        #[arg(long)]
        name: String,
        /// A scope it may ask for: admin, event.create, webhook.create or webhook.readonly.
        /// Repeat for more.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// Every client, with its scopes (no secrets).
    List,
    /// Removes a client: it gets no new tokens; tokens it holds lapse within the hour.
    Remove {
        #[arg(long)]
        client_id: String,
    },
}

#[derive(Subcommand)]
enum KeyAction {
    /// A new key acting as a client; prints it and its secret (shown this once).
    Create {
        /// The client it acts as (the `clientAppId` its events are recorded with).
        #[arg(long)]
        client: String,
        /// A scope it has: admin, event.create, webhook.create or webhook.readonly. Repeat for
        /// more.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// The keys not revoked (no secrets), optionally one client's.
    List {
        #[arg(long)]
        client: Option<String>,
    },
    /// Revokes a key: the authorizer refuses it once its cached answer lapses (5 minutes).
    Revoke {
        #[arg(long)]
        id: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sdk = aws_config::load_from_env().await;
    match args.command {
        Command::Clients {
            user_pool_id,
            action,
        } => {
            let cognito = Client::new(&sdk);
            match action {
                ClientAction::Create { name, scopes } => {
                    let scopes = scope_uris(&scopes)?;
                    let created = create(&cognito, &user_pool_id, &name, &scopes).await?;
                    println!("{created:#}");
                }
                ClientAction::List => println!("{:#}", list(&cognito, &user_pool_id).await?),
                ClientAction::Remove { client_id } => {
                    cognito
                        .delete_user_pool_client()
                        .user_pool_id(&user_pool_id)
                        .client_id(&client_id)
                        .send()
                        .await
                        .with_context(|| format!("cannot remove the client {client_id}"))?;
                    println!("{:#}", json!({"removed": client_id}));
                }
            }
        }
        Command::Keys { table, action } => {
            let records =
                caliper_aws::DynamoRecords::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
            let keys = Keys::new(Records::new(Arc::new(records)));
            // The operator, with the AWS credentials that reach the table: an admin.
            let operator = Caller::new("caliper-admin", vec![Scope::Admin]);
            let answer = match action {
                KeyAction::Create {
                    client,
                    scopes,
                    name,
                } => {
                    let body = json!({"clientAppId": client, "scopes": scopes, "name": name});
                    let made = keys.create(&operator, &body).await.map_err(explain)?;
                    json!({"key": made.key, "secret": made.secret})
                }
                KeyAction::List { client } => {
                    json!({"keys": keys.list(&operator, client.as_deref()).await.map_err(explain)?})
                }
                KeyAction::Revoke { id } => {
                    keys.revoke(&operator, &id).await.map_err(explain)?;
                    json!({"revoked": id})
                }
            };
            println!("{answer:#}");
        }
        Command::UpgradeEvents { table } => {
            let events =
                caliper_aws::DynamoEvents::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
            let done = events
                .upgrade()
                .await
                .map_err(|e| anyhow::anyhow!("cannot upgrade the events table {table}: {e}"))?;
            println!(
                "{:#}",
                json!({"events": done.events, "withEmail": done.with_email})
            );
        }
        Command::Resources => {
            let settings = caliper_aws::AwsSettings::from_env()?;
            let made = caliper_aws::create_resources(&sdk, &settings)
                .await
                .map_err(|e| anyhow::anyhow!("cannot make the resources: {e}"))?;
            let pool = user_pool(&Client::new(&sdk)).await?;
            let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
            let region = sdk.region().map_or("us-east-1", |r| r.as_ref());
            let issuer = format!("https://cognito-idp.{region}.amazonaws.com/{pool}");
            // An emulator serves the pool's keys at its own address.
            let jwks = format!(
                "{}/{pool}/.well-known/jwks.json",
                endpoint.trim_end_matches('/')
            );
            for (name, value) in [
                ("CALIPER_USER_POOL_ID", pool.as_str()),
                ("CALIPER_TOKEN_ISSUER", &issuer),
                ("CALIPER_JWKS_URL", &jwks),
                ("CALIPER_JOBS_TABLE", settings.jobs_table.as_str()),
                ("CALIPER_EVENTS_TABLE", &settings.events_table),
                ("CALIPER_WEBHOOKS_TABLE", &settings.webhooks_table),
                ("CALIPER_QUEUE_URL", &made.queue_url),
                ("CALIPER_DELIVERY_QUEUE_URL", &made.delivery_queue_url),
                ("CALIPER_REPLAY_QUEUE_URL", &made.replay_queue_url),
                ("CALIPER_CURSOR_KEY_IDS", &made.cursor_key_id),
                ("CALIPER_SECRETS_KEY_ID", &made.secrets_key_id),
                ("CALIPER_EXPORT_QUEUE_URL", &made.export_queue_url),
                ("CALIPER_EXPORT_BUCKET", &made.export_bucket),
                ("CALIPER_ERASURE_QUEUE_URL", &made.erasure_queue_url),
            ] {
                println!("{name}={value}");
            }
        }
    }
    Ok(())
}

/// A refusal in words: each problem with its pointer.
fn explain(error: ClientError) -> anyhow::Error {
    match error {
        ClientError::Invalid(problems) => {
            let lines: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            anyhow::anyhow!("invalid: {}", lines.join("; "))
        }
        other => anyhow::anyhow!("{other}"),
    }
}

/// A user pool with the API's resource server and its four scopes, as the template makes it.
async fn user_pool(cognito: &Client) -> anyhow::Result<String> {
    let pool = cognito
        .create_user_pool()
        .pool_name("caliper-local")
        .send()
        .await
        .context("cannot create a user pool")?
        .user_pool
        .and_then(|p| p.id)
        .context("Cognito made a user pool without an id")?;
    let mut server = cognito
        .create_resource_server()
        .user_pool_id(&pool)
        .identifier(Scope::PREFIX.trim_end_matches('/'))
        .name("Caliper");
    for scope in Scope::ALL {
        server = server.scopes(
            aws_sdk_cognitoidentityprovider::types::ResourceServerScopeType::builder()
                .scope_name(scope.name())
                .scope_description(scope.name())
                .build()
                .context("a scope")?,
        );
    }
    server
        .send()
        .await
        .context("cannot create the resource server")?;
    Ok(pool)
}

/// Full scope URIs from their names (or the URIs themselves).
fn scope_uris(names: &[String]) -> anyhow::Result<Vec<String>> {
    names
        .iter()
        .map(|name| {
            Scope::ALL
                .into_iter()
                .find(|s| s.name() == name || s.uri() == *name)
                .map(Scope::uri)
                .with_context(|| {
                    let known: Vec<&str> = Scope::ALL.iter().map(|s| s.name()).collect();
                    format!("unknown scope {name:?}: use one of {}", known.join(", "))
                })
        })
        .collect()
}

async fn create(
    cognito: &Client,
    pool: &str,
    name: &str,
    scopes: &[String],
) -> anyhow::Result<serde_json::Value> {
    let created = cognito
        .create_user_pool_client()
        .user_pool_id(pool)
        .client_name(name)
        .generate_secret(true)
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
        .set_allowed_o_auth_scopes(Some(scopes.to_vec()))
        .send()
        .await
        .with_context(|| format!("cannot create the client {name:?} in the user pool {pool}"))?;
    let Some(client) = created.user_pool_client else {
        bail!("Cognito created the client {name:?} but did not return it");
    };
    Ok(json!({
        "clientId": client.client_id,
        "clientSecret": client.client_secret,
        "name": client.client_name,
        "scopes": client.allowed_o_auth_scopes.unwrap_or_default(),
    }))
}

async fn list(cognito: &Client, pool: &str) -> anyhow::Result<serde_json::Value> {
    let mut clients = Vec::new();
    let mut next = None;
    loop {
        let page = cognito
            .list_user_pool_clients()
            .user_pool_id(pool)
            .max_results(60)
            .set_next_token(next)
            .send()
            .await
            .with_context(|| format!("cannot list the clients of the user pool {pool}"))?;
        for summary in page.user_pool_clients.unwrap_or_default() {
            let Some(id) = summary.client_id else {
                continue;
            };
            let described = cognito
                .describe_user_pool_client()
                .user_pool_id(pool)
                .client_id(&id)
                .send()
                .await
                .with_context(|| format!("cannot read the client {id}"))?;
            let scopes = described
                .user_pool_client
                .and_then(|c| c.allowed_o_auth_scopes)
                .unwrap_or_default();
            clients.push(json!({"clientId": id, "name": summary.client_name, "scopes": scopes}));
        }
        next = page.next_token;
        if next.is_none() {
            break;
        }
    }
    Ok(serde_json::Value::Array(clients))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_named_or_given_in_full_and_nothing_else_is_one() {
        let uris = scope_uris(&["event.create".into(), Scope::Admin.uri()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(uris, [Scope::EventCreate.uri(), Scope::Admin.uri()]);
        let error = scope_uris(&["events.create".into()])
            .err()
            .map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("event.create, webhook.create")));
    }
}

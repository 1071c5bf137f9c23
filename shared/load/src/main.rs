//! caliper-load: many concurrent clients submit envelopes to a running API (caliper-local or a
//! deployed stack without auth in front), then every job is followed to its end and the results are
//! checked: each event stored exactly once, none lost. Prints throughput, submission latency
//! percentiles and the backlog the queue had left; with `--serve` it starts the server itself and
//! reports what that server spent (CPU, peak memory) and keeps (bytes on disk). In the same run it
//! measures the ceiling: parse-and-validate of the same envelopes in-process, on every core.
//! Exits non-zero if anything was lost, doubled or refused.

mod ceiling;
mod client;
mod events;
mod serve;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use futures::stream::{self, StreamExt};
use hyper::body::Bytes;
use hyper::Method;
use serde_json::Value;

use client::Api;
use events::Envelope;
use serve::Served;

#[derive(Parser, Debug)]
#[command(about = "Load-test the Caliper Events API and check that nothing is lost or duplicated")]
struct Args {
    /// Base URL of the API (not with --serve).
    #[arg(
        long,
        default_value = "http://127.0.0.1:8787",
        conflicts_with = "serve"
    )]
    url: String,
    /// Start this caliper-local binary with a fresh data directory and measure it too.
    #[arg(long)]
    serve: Option<PathBuf>,
    /// Arguments passed on to the served binary (e.g. `--serve-arg=--cache-mib=32`).
    #[arg(long = "serve-arg", requires = "serve", allow_hyphen_values = true)]
    serve_args: Vec<String>,
    /// Keep the served binary's data directory (its path is printed).
    #[arg(long, requires = "serve")]
    keep_data: bool,
    /// The process id of the server at --url, to report its CPU time and peak memory.
    #[arg(long, conflicts_with = "serve")]
    server_pid: Option<u32>,
    /// OAuth2 token endpoint (client credentials). Default: caliper-local's, at the API's URL.
    #[arg(long)]
    token_url: Option<String>,
    /// App client id; it needs the event.create (or admin) scope. With --serve: made up.
    #[arg(
        long,
        env = "CALIPER_LOAD_CLIENT_ID",
        required_unless_present = "serve"
    )]
    client_id: Option<String>,
    /// App client secret.
    #[arg(
        long,
        env = "CALIPER_LOAD_CLIENT_SECRET",
        hide_env_values = true,
        required_unless_present = "serve"
    )]
    client_secret: Option<String>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Envelopes in all, shared between the clients.
    #[arg(long, default_value_t = 1000)]
    envelopes: usize,
    /// Events in each envelope.
    #[arg(long, default_value_t = 10)]
    events_per_envelope: usize,
    /// How long to wait for every job to finish once all are submitted.
    #[arg(long, default_value_t = 600)]
    drain_timeout_secs: u64,
    /// Threads of the in-process ceiling. Default: one per core.
    #[arg(long)]
    ceiling_threads: Option<usize>,
    /// After the drain, seconds to wait idle; the server's CPU is measured over the second half
    /// (with --serve or --server-pid), when deliveries already due have been attempted.
    #[arg(long, default_value_t = 0)]
    idle_secs: u64,
    /// Subscribe a webhook to this URL before submitting, so that every event stored makes a
    /// delivery (with --serve: allowed to private addresses, retried after an hour; a URL
    /// nobody answers leaves a delivery waiting per event, as for the idle figure).
    #[arg(long)]
    webhook: Option<String>,
}

/// One accepted envelope: its job and the Caliper ids it carried, in order.
struct Accepted {
    job_id: String,
    ids: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let envelopes = events::envelopes(args.envelopes, args.events_per_envelope);
    let event_bytes: usize = envelopes.iter().map(|e| e.event_bytes).sum();
    let threads = args
        .ceiling_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let (ceiling, _) = ceiling::measure(&envelopes, threads)?;

    let secret = format!("s-{}", uuid::Uuid::new_v4().simple());
    let served = match &args.serve {
        Some(binary) => {
            let mut extra = args.serve_args.clone();
            if args.webhook.is_some() {
                extra.extend(
                    ["--allow-private-webhooks", "--webhook-retry-ms", "3600000"].map(String::from),
                );
                extra.extend(["--webhook-retry-max-ms", "3600000"].map(String::from));
            }
            Some(Served::start(
                binary,
                &format!("load-client:{secret}:event.create,webhook.create"),
                &extra,
                args.keep_data,
            )?)
        }
        None => None,
    };
    let url = served.as_ref().map_or(args.url.clone(), |s| s.url.clone());
    let (client_id, client_secret) = match (&args.client_id, &args.client_secret, &served) {
        (Some(id), Some(secret), _) => (id.clone(), secret.clone()),
        (_, _, Some(_)) => ("load-client".to_owned(), secret),
        _ => bail!("--client-id and --client-secret are needed without --serve"),
    };
    let pid = served.as_ref().map(|s| s.pid()).or(args.server_pid);
    let token_url = args
        .token_url
        .clone()
        .unwrap_or_else(|| format!("{}/oauth2/token", url.trim_end_matches('/')));
    let api = Api::connect(&url, &token_url, &client_id, &client_secret).await?;
    if let Some(target) = &args.webhook {
        let webhook = serde_json::json!({
            "name": "caliper-load", "targetUrl": target, "active": true,
            "secret": format!("whsec-{}", uuid::Uuid::new_v4().simple()),
        });
        let (status, body) = api
            .call(Method::POST, "/webhooks/", Bytes::from(webhook.to_string()))
            .await?;
        if status != 201 {
            bail!("creating the webhook answered {status}: {body}");
        }
    }
    let before = pid.map(serve::usage).transpose()?;

    let started = Instant::now();
    let submissions: Vec<Result<(Accepted, Duration)>> = stream::iter(&envelopes)
        .map(|envelope| submit(&api, envelope))
        .buffer_unordered(args.clients.max(1))
        .collect()
        .await;
    let submit_time = started.elapsed();

    let mut accepted = Vec::new();
    let mut latencies = Vec::new();
    let mut refused = 0usize;
    for submission in submissions {
        match submission {
            Ok((envelope, latency)) => {
                accepted.push(envelope);
                latencies.push(latency);
            }
            Err(error) => {
                refused += 1;
                eprintln!("submission failed: {error:#}");
            }
        }
    }

    // The backlog: until the newest jobs (one per client) finished; the queue is worked off in
    // the order it was filled. Then every job is checked; one still running at its first look
    // (counted) would mean the backlog figure is short.
    let drain_started = Instant::now();
    let deadline = drain_started + Duration::from_secs(args.drain_timeout_secs);
    let newest = accepted.len().saturating_sub(args.clients.max(1));
    let _: Vec<Result<(Value, bool)>> = stream::iter(&accepted[newest..])
        .map(|envelope| finished_job(&api, &envelope.job_id, deadline))
        .buffer_unordered(args.clients.max(1))
        .collect()
        .await;
    let drain_time = drain_started.elapsed();
    let total_time = started.elapsed();
    let after = pid.map(serve::usage).transpose()?;
    let checked: Vec<Result<(Value, bool)>> = stream::iter(&accepted)
        .map(|envelope| finished_job(&api, &envelope.job_id, deadline))
        .buffer_unordered(args.clients.max(1))
        .collect()
        .await;
    let late = checked
        .iter()
        .filter(|c| matches!(c, Ok((_, false))))
        .count();
    let finished: Vec<Result<Value>> = checked.into_iter().map(|c| c.map(|(job, _)| job)).collect();
    let idle = match (pid, args.idle_secs) {
        (Some(pid), secs) if secs > 0 => {
            let half = Duration::from_millis(secs * 500);
            tokio::time::sleep(half).await;
            let from = serve::usage(pid)?.cpu;
            tokio::time::sleep(half).await;
            Some((serve::usage(pid)?.cpu - from).as_secs_f64() / half.as_secs_f64())
        }
        _ => None,
    };

    let check = check_results(&accepted, &finished);
    let events_sent: usize = accepted.iter().map(|a| a.ids.len()).sum();
    latencies.sort_unstable();
    let percentile = |p: f64| -> f64 {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let end_to_end = events_sent as f64 / total_time.as_secs_f64();
    let line = |label: &str, value: String| println!("{label:<24}{value}");
    line("clients", args.clients.to_string());
    line(
        "envelopes accepted",
        format!("{} (refused or failed: {refused})", accepted.len()),
    );
    line("events accepted", events_sent.to_string());
    line(
        "event JSON",
        format!(
            "{:.0} bytes an event, compact",
            event_bytes as f64 / envelopes.iter().map(|e| e.ids.len()).sum::<usize>().max(1) as f64
        ),
    );
    line(
        "submission",
        format!(
            "{:.2} s, {:.0} events/s",
            submit_time.as_secs_f64(),
            events_sent as f64 / submit_time.as_secs_f64()
        ),
    );
    line(
        "submission latency",
        format!(
            "p50 {:.1} ms, p99 {:.1} ms",
            percentile(0.50),
            percentile(0.99)
        ),
    );
    line(
        "backlog after last 200",
        format!(
            "{:.2} s (jobs older than the newest still running then: {late})",
            drain_time.as_secs_f64()
        ),
    );
    line("end to end", format!("{end_to_end:.0} events/s"));
    line(
        "ceiling",
        format!("{ceiling:.0} events/s (parse and validate in-process, {threads} threads)"),
    );
    line(
        "end to end / ceiling",
        format!("{:.3}", end_to_end / ceiling),
    );
    if let (Some(before), Some(after)) = (before, after) {
        let cpu = (after.cpu - before.cpu).as_secs_f64();
        line(
            "server CPU",
            format!(
                "{cpu:.1} s ({:.0} µs an event, {:.2} cores busy)",
                cpu * 1e6 / events_sent.max(1) as f64,
                cpu / total_time.as_secs_f64()
            ),
        );
        line(
            "server peak memory",
            format!(
                "{:.0} MiB",
                after.peak_rss_bytes as f64 / f64::from(1 << 20)
            ),
        );
    }
    if let Some(idle) = idle {
        line(
            "server idle CPU",
            format!("{:.2} % of a core", idle * 100.0),
        );
    }
    if let Some(served) = &served {
        let disk = served.disk_bytes()?;
        line(
            "on disk",
            format!(
                "{:.1} MiB: {:.0} bytes an event, {:.2}x the event JSON",
                disk as f64 / f64::from(1 << 20),
                disk as f64 / events_sent.max(1) as f64,
                disk as f64 / event_bytes.max(1) as f64
            ),
        );
        if args.keep_data {
            line("data directory", served.data_dir.display().to_string());
        }
    }
    line("jobs not completed", check.unfinished.to_string());
    line("jobs not checked", check.unknown.to_string());
    line("events lost", check.lost.to_string());
    line("ids allocated twice", check.duplicated.to_string());

    if refused > 0 || check.unfinished > 0 || check.lost > 0 || check.duplicated > 0 {
        bail!("the run lost, duplicated or refused events");
    }
    if check.unknown > 0 {
        bail!(
            "the server never answered for some jobs: whether their events were stored is unknown"
        );
    }
    Ok(())
}

/// Submits one envelope; a non-200 answer is an error.
async fn submit(api: &Api, envelope: &Envelope) -> Result<(Accepted, Duration)> {
    let started = Instant::now();
    let (status, body) = api
        .call(Method::POST, "/caliper/event", envelope.body.clone())
        .await?;
    let latency = started.elapsed();
    match (status, body["jobId"].as_str()) {
        (200, Some(job_id)) => Ok((
            Accepted {
                job_id: job_id.to_owned(),
                ids: envelope.ids.clone(),
            },
            latency,
        )),
        _ => bail!("submission answered {status}: {body}"),
    }
}

/// Polls a job until it completes or fails, or the deadline passes; answers its last state and
/// whether it had finished at the first look.
async fn finished_job(api: &Api, job_id: &str, deadline: Instant) -> Result<(Value, bool)> {
    let mut first_look = true;
    loop {
        let answer = api
            .call(Method::GET, &format!("/jobs/{job_id}/status"), Bytes::new())
            .await;
        // No answer, or the server's 5xx: it may be restarting. Asked again until the deadline,
        // since a job not checked is not a job lost.
        let unreachable = match &answer {
            Ok((status, _)) => *status >= 500,
            Err(_) => true,
        };
        if unreachable && Instant::now() < deadline {
            first_look = false;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let (status, body) = answer.context("polling a job")?;
        if status != 200 {
            bail!("job {job_id} answered {status}: {body}");
        }
        let job = body["job"].clone();
        if matches!(job["state"].as_str(), Some("completed" | "failed"))
            || Instant::now() > deadline
        {
            return Ok((job, first_look));
        }
        first_look = false;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Check {
    unfinished: usize,
    /// Jobs that could not be checked at all (the server never answered for them): their events
    /// are neither counted lost nor known stored.
    unknown: usize,
    lost: usize,
    duplicated: usize,
}

/// Every job completed, every sent id in its results (in order), and no allocated id twice.
fn check_results(accepted: &[Accepted], finished: &[Result<Value>]) -> Check {
    let mut check = Check::default();
    let mut allocated = HashSet::new();
    // `finished` is in completion order: match it to its envelope by job id.
    let by_job: std::collections::HashMap<&str, &Value> = finished
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .filter_map(|job| job["id"].as_str().map(|id| (id, job)))
        .collect();
    for envelope in accepted {
        let Some(job) = by_job.get(envelope.job_id.as_str()) else {
            check.unknown += 1;
            continue;
        };
        if job["state"] != "completed" {
            check.unfinished += 1;
        }
        let results: Vec<&Value> = job["returnValue"]["results"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        let reported: Vec<&str> = results
            .iter()
            .filter_map(|r| r["externalId"].as_str())
            .collect();
        check.lost += envelope
            .ids
            .iter()
            .filter(|id| !reported.contains(&id.as_str()))
            .count();
        for result in results {
            if let Some(id) = result["allocatedId"].as_str() {
                if !allocated.insert(id.to_owned()) {
                    check.duplicated += 1;
                }
            }
        }
    }
    check
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn job(id: &str, state: &str, results: &[(&str, &str)]) -> Result<Value> {
        let results: Vec<Value> = results
            .iter()
            .map(|(a, e)| json!({"allocatedId": a, "externalId": e}))
            .collect();
        Ok(
            json!({"id": id, "state": state, "returnValue": {"status": "success", "results": results}}),
        )
    }

    #[test]
    fn the_check_counts_what_is_missing_or_doubled() {
        let accepted = vec![
            Accepted {
                job_id: "j1".into(),
                ids: vec!["a".into(), "b".into()],
            },
            Accepted {
                job_id: "j2".into(),
                ids: vec!["c".into()],
            },
            Accepted {
                job_id: "j3".into(),
                ids: vec!["d".into()],
            },
        ];
        let all_good = [
            job("j2", "completed", &[("3", "c")]),
            job("j1", "completed", &[("1", "a"), ("2", "b")]),
            job("j3", "completed", &[("4", "d")]),
        ];
        assert_eq!(check_results(&accepted, &all_good), Check::default());

        let broken = [
            job("j1", "completed", &[("1", "a")]),
            job("j2", "failed", &[("1", "c")]),
        ];
        assert_eq!(
            check_results(&accepted, &broken),
            Check {
                unfinished: 1,
                unknown: 1,
                lost: 1,
                duplicated: 1
            }
        );
    }
}

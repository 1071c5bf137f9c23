//! caliper-load: many concurrent clients submit envelopes to a running API (caliper-local or a
//! deployed stack without auth in front), then every job is followed to its end and the results are
//! checked: each event stored exactly once, none lost. Prints throughput, submission latency
//! percentiles and the time the queue took to drain; exits non-zero if anything was lost.

mod client;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::Parser;
use futures::stream::{self, StreamExt};
use hyper::Method;
use serde_json::{json, Value};

use client::Api;

#[derive(Parser, Debug)]
#[command(about = "Load-test the Caliper Events API and check that nothing is lost or duplicated")]
struct Args {
    /// Base URL of the API.
    #[arg(long, default_value = "http://127.0.0.1:8787")]
    url: String,
    /// OAuth2 token endpoint (client credentials). Default: caliper-local's, at the API's URL.
    #[arg(long)]
    token_url: Option<String>,
    /// App client id; it needs the event.create (or admin) scope.
    #[arg(long, env = "CALIPER_LOAD_CLIENT_ID")]
    client_id: String,
    /// App client secret.
    #[arg(long, env = "CALIPER_LOAD_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
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
}

/// One accepted envelope: its job and the Caliper ids it carried, in order.
struct Accepted {
    job_id: String,
    ids: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let token_url = args
        .token_url
        .clone()
        .unwrap_or_else(|| format!("{}/oauth2/token", args.url.trim_end_matches('/')));
    let api = Api::connect(&args.url, &token_url, &args.client_id, &args.client_secret).await?;

    let started = Instant::now();
    let submissions: Vec<Result<(Accepted, Duration)>> = stream::iter(0..args.envelopes)
        .map(|_| submit(&api, args.events_per_envelope))
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

    let drain_started = Instant::now();
    let deadline = drain_started + Duration::from_secs(args.drain_timeout_secs);
    let finished: Vec<Result<Value>> = stream::iter(&accepted)
        .map(|envelope| finished_job(&api, &envelope.job_id, deadline))
        .buffer_unordered(args.clients.max(1))
        .collect()
        .await;
    let drain_time = drain_started.elapsed();

    let check = check_results(&accepted, &finished);
    let events_sent = accepted.len() * args.events_per_envelope;
    latencies.sort_unstable();
    let percentile = |p: f64| -> f64 {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!("clients                 {}", args.clients);
    println!(
        "envelopes accepted      {} (refused or failed: {refused})",
        accepted.len()
    );
    println!("events accepted         {events_sent}");
    println!(
        "submission              {:.2} s, {:.0} events/s",
        submit_time.as_secs_f64(),
        events_sent as f64 / submit_time.as_secs_f64()
    );
    println!(
        "submission latency      p50 {:.1} ms, p99 {:.1} ms",
        percentile(0.50),
        percentile(0.99)
    );
    println!("drain after submission  {:.2} s", drain_time.as_secs_f64());
    println!(
        "end to end              {:.0} events/s",
        events_sent as f64 / started.elapsed().as_secs_f64()
    );
    println!("jobs not completed      {}", check.unfinished);
    println!("events lost             {}", check.lost);
    println!("ids allocated twice     {}", check.duplicated);

    if refused > 0 || check.unfinished > 0 || check.lost > 0 || check.duplicated > 0 {
        bail!("the run lost, duplicated or refused events");
    }
    Ok(())
}

/// Submits one envelope of fresh ToolUseEvents; a non-200 answer is an error.
async fn submit(api: &Api, events: usize) -> Result<(Accepted, Duration)> {
    let ids: Vec<String> = (0..events)
        .map(|_| format!("urn:uuid:{}", uuid::Uuid::new_v4()))
        .collect();
    let data: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
                "id": id, "type": "ToolUseEvent", "profile": "ToolUseProfile", "action": "Used",
                "actor": {"id": "https://example.edu/users/554433", "type": "Person"},
                "object": {"id": "https://example.edu/apps/load", "type": "SoftwareApplication"},
                "eventTime": "2024-05-01T12:00:00.000Z",
            })
        })
        .collect();
    let envelope = json!({
        "sensor": "https://example.edu/sensors/load", "sendTime": "2024-05-01T12:00:00.000Z",
        "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2", "data": data,
    });
    let started = Instant::now();
    let (status, body) = api
        .call(Method::POST, "/caliper/event", Some(&envelope))
        .await?;
    let latency = started.elapsed();
    match (status, body["jobId"].as_str()) {
        (200, Some(job_id)) => Ok((
            Accepted {
                job_id: job_id.to_owned(),
                ids,
            },
            latency,
        )),
        _ => bail!("submission answered {status}: {body}"),
    }
}

/// Polls a job until it completes or fails, or the deadline passes; answers its last state.
async fn finished_job(api: &Api, job_id: &str, deadline: Instant) -> Result<Value> {
    loop {
        let (status, body) = api
            .call(Method::GET, &format!("/jobs/{job_id}/status"), None)
            .await?;
        if status != 200 {
            bail!("job {job_id} answered {status}: {body}");
        }
        let job = body["job"].clone();
        if matches!(job["state"].as_str(), Some("completed" | "failed"))
            || Instant::now() > deadline
        {
            return Ok(job);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Check {
    unfinished: usize,
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
            check.unfinished += 1;
            check.lost += envelope.ids.len();
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
                unfinished: 2,
                lost: 2,
                duplicated: 1
            }
        );
    }
}

//! Webhook deliveries over HTTP(S), guarded against server-side request forgery. The client's DNS
//! resolver is ours: it resolves each host and hands the connector only addresses the
//! [`TargetPolicy`] admits, refusing the host when any answer is private, so the connection goes to
//! exactly the checked addresses (a second, different DNS answer cannot sneak in). Hosts written as
//! IP addresses are checked with the URL. No redirects are followed, no proxy is used, time is
//! bounded and at most [`MAX_RESPONSE_BYTES`] of the answer are read. One client serves every
//! delivery, so connections to a receiver are reused.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use caliper_core::webhooks::TargetPolicy;
use caliper_core::WebhookSender;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Receivers answer with a status; a body, if any, is read this far and dropped.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct GuardedSender {
    policy: TargetPolicy,
    client: reqwest::Client,
}

impl GuardedSender {
    /// `timeout` bounds a whole delivery: resolving, connecting, sending and reading the answer.
    pub fn new(policy: TargetPolicy, timeout: Duration) -> Result<Self, String> {
        let client = guarded_client(policy, timeout, "caliper-events-api-webhooks")?;
        Ok(Self { policy, client })
    }
}

/// An HTTP client that reaches only what `policy` admits, by the same resolver as deliveries,
/// with no redirects or proxy, and `timeout` for a whole request: for any fetch a client's
/// configuration points us at (a connector's JWKS as well as a webhook's target).
pub fn guarded_client(
    policy: TargetPolicy,
    timeout: Duration,
    user_agent: &str,
) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { policy }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(timeout.min(Duration::from_secs(3)))
        .timeout(timeout)
        .user_agent(user_agent.to_owned())
        .build()
        .map_err(|e| format!("cannot build a guarded HTTP client: {e}"))
}

/// Resolves hosts for the client, admitting only what the policy admits.
struct GuardedResolver {
    policy: TargetPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .collect();
            admit(&policy, &host, &addresses)?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// Every address a host resolves to must be admitted: one private answer among public ones is
/// enough to refuse (the connection could land on any of them).
fn admit(policy: &TargetPolicy, host: &str, addresses: &[SocketAddr]) -> Result<(), String> {
    if addresses.is_empty() {
        return Err(format!("{host} has no address"));
    }
    match addresses.iter().find(|a| !policy.admits(a.ip())) {
        Some(refused) => Err(format!(
            "{host} resolves to {}, a private, loopback, link-local or reserved address: refused",
            refused.ip()
        )),
        None => Ok(()),
    }
}

#[async_trait]
impl WebhookSender for GuardedSender {
    async fn post(
        &self,
        target_url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<u16, String> {
        // The scheme, credentials and an address written as the host, checked again (the
        // webhook was saved under the same policy, but a policy may have changed since).
        let url = self.policy.check_url(target_url)?;
        let mut request = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let mut response = request.send().await.map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let mut read = 0;
        while read < MAX_RESPONSE_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                // The status is the answer; a body cut short changes nothing.
                Ok(None) | Err(_) => break,
            }
        }
        Ok(status)
    }
}

/// The error in words, with its causes (the resolver's refusal among them).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "the receiver did not answer in time".into();
    }
    let mut text = if error.is_connect() {
        "cannot connect to the receiver".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A receiver on 127.0.0.1 that counts requests and answers `status` after `delay`.
    async fn receiver(
        status: u16,
        delay: Duration,
        body_bytes: usize,
    ) -> (String, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move || {
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    (
                        axum::http::StatusCode::from_u16(status)
                            .unwrap_or(axum::http::StatusCode::OK),
                        "x".repeat(body_bytes),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{address}/hook"), hits)
    }

    fn local() -> GuardedSender {
        GuardedSender::new(
            TargetPolicy {
                allow_private: true,
            },
            Duration::from_millis(500),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn private_targets_are_refused_before_any_connection() {
        let (url, hits) = receiver(200, Duration::ZERO, 0).await;
        let strict = GuardedSender::new(TargetPolicy::default(), Duration::from_secs(1))
            .unwrap_or_else(|e| panic!("{e}"));
        let refused = strict.post(&url, &[], "{}").await.err().unwrap_or_default();
        assert!(refused.contains("https"), "{refused}");
        let https = url.replace("http://", "https://");
        let refused = strict
            .post(&https, &[], "{}")
            .await
            .err()
            .unwrap_or_default();
        assert!(refused.contains("private"), "{refused}");
        // So is this machine's name (the resolver's own check is tested below).
        let named = https.replace("127.0.0.1", "localhost.");
        let refused = strict
            .post(&named, &[], "{}")
            .await
            .err()
            .unwrap_or_default();
        assert!(
            refused.contains("private") || refused.contains("loopback"),
            "{refused}"
        );
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "nothing reached the receiver"
        );
        assert_eq!(
            local().post(&url, &[], "{}").await,
            Ok(200),
            "allowed for local development"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_resolver_hands_over_only_admitted_addresses() {
        use std::str::FromStr;
        let name = || Name::from_str("localhost").unwrap_or_else(|e| panic!("{e}"));
        let strict = GuardedResolver {
            policy: TargetPolicy::default(),
        };
        let refused = strict
            .resolve(name())
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(refused.contains("refused"), "{refused}");
        let local = GuardedResolver {
            policy: TargetPolicy {
                allow_private: true,
            },
        };
        let found: Vec<SocketAddr> = local
            .resolve(name())
            .await
            .map(|a| a.collect())
            .unwrap_or_default();
        assert!(
            !found.is_empty() && found.iter().all(|a| a.ip().is_loopback()),
            "{found:?}"
        );
    }

    #[test]
    fn every_resolved_address_must_be_public() {
        let strict = TargetPolicy::default();
        let at = |ips: &[&str]| -> Vec<SocketAddr> {
            ips.iter()
                .map(|ip| SocketAddr::new(ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}")), 443))
                .collect()
        };
        assert!(admit(
            &strict,
            "hooks.example.com",
            &at(&["93.184.216.34", "2606:2800:220:1::1"])
        )
        .is_ok());
        for answer in [
            vec!["93.184.216.34", "127.0.0.1"], // rebinding: one private answer among public ones
            vec!["169.254.169.254"],
            vec!["::ffff:10.0.0.1"],
            vec!["fd00:ec2::254"],
        ] {
            let refused = admit(&strict, "hooks.example.com", &at(&answer))
                .err()
                .unwrap_or_default();
            assert!(refused.contains("refused"), "{answer:?}: {refused}");
        }
        assert!(admit(&strict, "hooks.example.com", &[]).is_err());
        assert!(admit(
            &TargetPolicy {
                allow_private: true
            },
            "localhost",
            &at(&["127.0.0.1"])
        )
        .is_ok());
    }

    #[tokio::test]
    async fn the_receivers_status_is_the_answer_and_slow_receivers_time_out() {
        let (failing, _) = receiver(503, Duration::ZERO, 0).await;
        assert_eq!(local().post(&failing, &[], "{}").await, Ok(503));
        let (chatty, _) = receiver(200, Duration::ZERO, 4 * MAX_RESPONSE_BYTES).await;
        assert_eq!(local().post(&chatty, &[], "{}").await, Ok(200));
        let (slow, hits) = receiver(200, Duration::from_secs(5), 0).await;
        let started = std::time::Instant::now();
        let error = local()
            .post(&slow, &[], "{}")
            .await
            .err()
            .unwrap_or_default();
        assert!(error.contains("in time"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }
}

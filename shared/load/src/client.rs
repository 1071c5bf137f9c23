//! A small JSON-over-HTTP client for the API under load.

use anyhow::{anyhow, Context, Result};
use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

#[derive(Clone)]
pub struct Api {
    base: String,
    http: Client<HttpConnector, Full<Bytes>>,
    /// `Bearer <access token>`, from the token endpoint at start.
    authorization: String,
}

impl Api {
    /// A client of the API at `base`, with an access token for these client credentials.
    pub async fn connect(
        base: &str,
        token_url: &str,
        client_id: &str,
        secret: &str,
    ) -> Result<Self> {
        let http = Client::builder(TokioExecutor::new()).build_http();
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
        let request = Request::builder()
            .method(Method::POST)
            .uri(token_url)
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from_static(
                b"grant_type=client_credentials",
            )))
            .context("building the token request")?;
        let response = http
            .request(request)
            .await
            .with_context(|| format!("calling {token_url}"))?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        let token: Value = serde_json::from_slice(&body).unwrap_or_default();
        let Some(access_token) = token["access_token"]
            .as_str()
            .filter(|_| status.is_success())
        else {
            return Err(anyhow!(
                "{token_url} gave no token ({status}): {}",
                String::from_utf8_lossy(&body)
            ));
        };
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            authorization: format!("Bearer {access_token}"),
            http,
        })
    }

    /// Sends a request (`body` empty for none) and answers the status and the JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Bytes) -> Result<(u16, Value)> {
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .header("authorization", &self.authorization)
            .body(Full::new(body))
            .context("building a request")?;
        let response = self
            .http
            .request(request)
            .await
            .with_context(|| format!("calling {path}"))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .context("reading a response")?
            .to_bytes();
        let json = serde_json::from_slice(&body)
            .map_err(|e| anyhow!("{path} answered {status} with non-JSON: {e}"))?;
        Ok((status, json))
    }
}

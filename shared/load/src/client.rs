//! A small JSON-over-HTTP client for the API under load.

use anyhow::{anyhow, Context, Result};
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
}

impl Api {
    pub fn new(base: &str) -> Self {
        let http = Client::builder(TokioExecutor::new()).build_http();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// Sends a request and answers the status and the JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value)> {
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(bytes)))
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

//! What letting a request in with an access token costs: verifying a token not seen before (the
//! RS256 signature and the claims: the baseline) against one verified before and kept for its
//! lifetime, in the same run. `cargo bench -p caliper-auth --bench verify`

use std::time::Instant;

use caliper_auth::{SigningKey, Verifier};
use serde_json::json;

const TOKENS: usize = 2000;

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let key = SigningKey::load_or_create(&dir.path().join("key.der"))?;
    let issuer = "http://127.0.0.1:8787";
    let verifier = Verifier::with_keys(issuer.into(), &json!({"keys": [key.jwk()]}), None)?;
    let now = jsonwebtoken_now();
    let bearers = (0..TOKENS)
        .map(|n| {
            let claims = json!({"iss": issuer, "client_id": "app", "token_use": "access",
                "scope": "https://purl.imsglobal.org/spec/caliper/v1p2/scope/event.create",
                "exp": now + 3600, "iat": now, "jti": n});
            key.sign(&claims).map(|token| format!("Bearer {token}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let mut per = Vec::new();
    for pass in ["first sight (baseline)", "kept"] {
        let started = Instant::now();
        for bearer in &bearers {
            runtime
                .block_on(verifier.verify(Some(bearer)))
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        let micros = started.elapsed().as_secs_f64() * 1e6 / TOKENS as f64;
        per.push(micros);
        println!(
            "{pass:24} {micros:7.2} µs a request ({:.3}x the baseline)",
            micros / per[0]
        );
    }
    Ok(())
}

fn jsonwebtoken_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

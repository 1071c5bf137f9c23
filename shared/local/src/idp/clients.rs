//! The local IdP's app clients: `ID:SECRET:scope,scope` from a file only its owner can read, the
//! command line or the environment, or one development client with every scope whose secret is
//! made once and kept.

use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use caliper_http::Scope;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The client the development defaults create.
pub const DEVELOPMENT_CLIENT_ID: &str = "local-client";

/// A secret this long is beyond guessing (16 random hex digits are 64 bits: centuries at a
/// thousand guesses a second), so its client is checked even while throttled and cannot be
/// locked out by others' failures; a shorter one is refused unchecked then, as guesses are.
pub const UNGUESSABLE_SECRET_CHARS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    secret_digest: [u8; 32],
    /// Whether the secret has [`UNGUESSABLE_SECRET_CHARS`].
    unguessable: bool,
    pub scopes: Vec<Scope>,
}

impl Client {
    pub fn new(id: &str, secret: &str, scopes: Vec<Scope>) -> Self {
        Self {
            id: id.to_owned(),
            secret_digest: Sha256::digest(secret.as_bytes()).into(),
            unguessable: secret.chars().count() >= UNGUESSABLE_SECRET_CHARS,
            scopes,
        }
    }

    /// Compares digests, so the time taken says nothing about the secret.
    pub fn has_secret(&self, secret: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        digest == self.secret_digest
    }

    /// Whether its secret is too long to guess (so it is checked even while throttled).
    pub fn unguessable(&self) -> bool {
        self.unguessable
    }
}

impl FromStr for Client {
    type Err = String;

    /// `ID:SECRET:scope,scope`; a scope is a name (`event.create`) or its full URI.
    fn from_str(spec: &str) -> Result<Self, String> {
        let mut parts = spec.splitn(3, ':');
        let (Some(id), Some(secret), Some(scopes)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!(
                "`{spec}` is not ID:SECRET:scope,scope (e.g. my-app:s3cret:event.create)"
            ));
        };
        if id.is_empty() || secret.is_empty() {
            return Err(format!(
                "`{spec}`: the client id and secret cannot be empty"
            ));
        }
        let scopes = scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                let name = s.strip_prefix(Scope::PREFIX).unwrap_or(s);
                Scope::ALL
                    .into_iter()
                    .find(|scope| scope.name() == name)
                    .ok_or_else(|| {
                        let names: Vec<&str> = Scope::ALL.iter().map(|s| s.name()).collect();
                        format!(
                            "`{spec}`: unknown scope `{s}`; scopes are {}",
                            names.join(", ")
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(id, secret, scopes))
    }
}

/// The clients of a file of `ID:SECRET:scope,scope` lines (blank lines and `#` comments aside).
/// The file holds secrets: one that others may read is refused, so that a secret is never kept
/// where `ps` or another user would see it.
pub fn from_file(path: &Path) -> anyhow::Result<Vec<Client>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("cannot read the clients file {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            anyhow::bail!(
                "the clients file {} holds secrets but others may read it (mode {:o}): chmod 600 it",
                path.display(),
                mode & 0o777
            );
        }
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the clients file {}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(n, line)| (n, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(n, line)| {
            line.parse::<Client>()
                .map_err(|why| anyhow::anyhow!("{}, line {}: {why}", path.display(), n + 1))
        })
        .collect()
}

/// Credentials of the development client, kept beside the data so that they survive restarts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevelopmentCredentials {
    pub client_id: String,
    pub client_secret: String,
}

impl DevelopmentCredentials {
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        if path.exists() {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            return serde_json::from_str(&text).with_context(|| {
                format!("{} is not the development client's file", path.display())
            });
        }
        let credentials = Self {
            client_id: DEVELOPMENT_CLIENT_ID.to_owned(),
            client_secret: B64.encode(uuid::Uuid::new_v4().as_bytes()),
        };
        caliper_auth::signing::write_private(
            path,
            serde_json::to_string(&credentials)?.as_bytes(),
        )?;
        Ok(credentials)
    }

    pub fn client(&self) -> Client {
        Client::new(&self.client_id, &self.client_secret, Scope::ALL.to_vec())
    }
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn a_clients_file_is_read_when_only_its_owner_can_read_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("clients");
        std::fs::write(
            &path,
            "# app clients\nmy-app:s3cret:event.create\n\nops:other:admin\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mode = |m| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m));
        mode(0o644).unwrap_or_else(|e| panic!("{e}"));
        let refused = from_file(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(refused.contains("chmod 600"), "{refused}");
        mode(0o600).unwrap_or_else(|e| panic!("{e}"));
        let clients = from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = clients.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["my-app", "ops"]);
        assert!(clients[0].has_secret("s3cret"));
        std::fs::write(&path, "my-app:s3cret:nonsense\n").unwrap_or_else(|e| panic!("{e}"));
        let bad = from_file(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            bad.contains("line 1") && bad.contains("unknown scope"),
            "{bad}"
        );
    }

    use super::*;

    #[test]
    fn a_client_spec_takes_names_or_uris_and_says_what_is_wrong() {
        let client: Client =
            "app:pa55:event.create,https://purl.imsglobal.org/spec/caliper/v1p1/scope/admin"
                .parse()
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(client.id, "app");
        assert!(client.has_secret("pa55") && !client.has_secret("pa5"));
        assert!(!client.unguessable());
        let long: Client = "app:0123456789abcdef:"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(long.unguessable());
        assert_eq!(client.scopes, vec![Scope::EventCreate, Scope::Admin]);

        let app: Client = "app:secret:".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(app.scopes.is_empty() && app.has_secret("secret"));

        for (spec, says) in [
            ("app:secret", "ID:SECRET:scope"),
            (":secret:admin", "cannot be empty"),
            ("app:secret:read", "unknown scope `read`"),
        ] {
            let error = spec.parse::<Client>().err().unwrap_or_default();
            assert!(error.contains(says), "{spec}: {error}");
        }
    }

    #[test]
    fn the_development_client_keeps_its_secret() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("development-client.json");
        let first = DevelopmentCredentials::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        let again = DevelopmentCredentials::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.client_secret, again.client_secret);
        assert!(first.client_secret.len() >= 20);
        assert_eq!(first.client().scopes, Scope::ALL.to_vec());
    }
}

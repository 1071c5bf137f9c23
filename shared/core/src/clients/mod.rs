//! What operators manage about each client: its settings ([`settings`]: how its submissions are
//! validated, how long its events are kept), the API keys it may send instead of OAuth2 tokens
//! ([`keys`]: for producers that cannot fetch tokens), and the connectors that submit as it
//! ([`connectors`]: for producers that send no credentials at all, as Canvas). Each is a record
//! of the record store, changed by admins only.

pub mod connectors;
pub mod keys;
pub mod settings;

pub use connectors::{Connector, ConnectorKind, ConnectorView, Connectors};
pub use keys::{ApiKey, Keys, NewKey};
pub use settings::{ClientSettings, Settings, ValidationPolicy};

use caliper_validation::Problem;

use crate::identity::Forbidden;
use crate::ports::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Missing, or revoked: both look the same.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the request is invalid")]
    Invalid(Vec<Problem>),
    #[error("the caller may not do this")]
    Forbidden(Forbidden),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Forbidden> for ClientError {
    fn from(forbidden: Forbidden) -> Self {
        Self::Forbidden(forbidden)
    }
}

/// The longest client id kept (Cognito's are 26 characters; local ones are the operator's).
pub const MAX_CLIENT_ID: usize = 128;

/// A client id as a path or a field gives it: 1 to [`MAX_CLIENT_ID`] visible ASCII characters
/// (Cognito's are letters and digits; a local one may not hold `:` or spaces either).
pub fn check_client_id(id: &str, path: &str, problems: &mut Vec<Problem>) {
    if id.is_empty() || id.len() > MAX_CLIENT_ID || !id.bytes().all(|b| b.is_ascii_graphic()) {
        problems.push(Problem::new(
            path,
            format!(
                "expected a client id of 1 to {MAX_CLIENT_ID} visible ASCII characters (no spaces)"
            ),
        ));
    }
}

/// A listing's `?clientAppId=` filter, when given, as [`check_client_id`] says.
pub fn check_client_filter(client_app_id: Option<&str>) -> Result<(), ClientError> {
    let mut problems = Vec::new();
    if let Some(client) = client_app_id {
        check_client_id(client, "/query/clientAppId", &mut problems);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ClientError::Invalid(problems))
    }
}

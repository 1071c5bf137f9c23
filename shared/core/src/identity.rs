//! Who is calling, and what that lets them do. Every way in (an access token today) ends in a
//! [`Caller`]; the domain's services decide from it what the caller may see and change, so that
//! the access rules live here and not in the handlers.

use crate::query::Visibility;

/// The scopes of the IdP's resource server, as full URIs in a token's `scope` claim (and by
/// their short names in stored records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Scope {
    #[serde(rename = "admin")]
    Admin,
    #[serde(rename = "event.create")]
    EventCreate,
    #[serde(rename = "webhook.create")]
    WebhookCreate,
    #[serde(rename = "webhook.readonly")]
    WebhookReadonly,
}

impl Scope {
    pub const PREFIX: &'static str = "https://purl.imsglobal.org/spec/caliper/v1p1/scope/";
    pub const ALL: [Scope; 4] = [
        Scope::Admin,
        Scope::EventCreate,
        Scope::WebhookCreate,
        Scope::WebhookReadonly,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::EventCreate => "event.create",
            Self::WebhookCreate => "webhook.create",
            Self::WebhookReadonly => "webhook.readonly",
        }
    }

    pub fn uri(self) -> String {
        format!("{}{}", Self::PREFIX, self.name())
    }

    pub fn from_uri(uri: &str) -> Option<Self> {
        let name = uri.strip_prefix(Self::PREFIX)?;
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// A scope by its short name (`event.create`) or its full URI.
    pub fn from_name_or_uri(name: &str) -> Option<Self> {
        let name = name.strip_prefix(Self::PREFIX).unwrap_or(name);
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The scopes named in a space-separated `scope` claim; unknown names are ignored.
    pub fn parse_list(claim: &str) -> Vec<Self> {
        claim
            .split_whitespace()
            .filter_map(Self::from_uri)
            .collect()
    }
}

/// An authenticated caller: the client it is (every stored event records it) and its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub client_id: String,
    pub scopes: Vec<Scope>,
}

/// A caller lacks every scope that would let it through: `accepted` names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    pub accepted: Vec<Scope>,
}

impl Caller {
    pub fn new(client_id: impl Into<String>, scopes: Vec<Scope>) -> Self {
        Self {
            client_id: client_id.into(),
            scopes,
        }
    }

    /// Admin sees and manages every client's data.
    pub fn is_admin(&self) -> bool {
        self.scopes.contains(&Scope::Admin)
    }

    /// Succeeds when the caller holds any one of `accepted`; admin is always accepted.
    pub fn require(&self, accepted: &[Scope]) -> Result<(), Forbidden> {
        if self.is_admin() || accepted.iter().any(|s| self.scopes.contains(s)) {
            return Ok(());
        }
        let mut accepted = accepted.to_vec();
        if !accepted.contains(&Scope::Admin) {
            accepted.push(Scope::Admin);
        }
        Err(Forbidden { accepted })
    }

    /// Whether the caller may see or change what `owner` (a client id) owns.
    pub fn may_see(&self, owner: &str) -> bool {
        self.is_admin() || self.client_id == owner
    }

    /// Which stored events the caller reads: its own, or (admin) everyone's.
    pub fn visibility(&self) -> Visibility {
        if self.is_admin() {
            Visibility::All
        } else {
            Visibility::Own(self.client_id.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_sees_everything_and_others_their_own() {
        let admin = Caller::new("a", vec![Scope::Admin]);
        let client = Caller::new("c1", vec![Scope::EventCreate]);
        assert!(admin.may_see("c1") && client.may_see("c1") && !client.may_see("c2"));
        assert_eq!(admin.visibility(), Visibility::All);
        assert_eq!(client.visibility(), Visibility::Own("c1".into()));
    }

    #[test]
    fn a_refusal_names_every_scope_that_would_do() {
        let client = Caller::new("c1", vec![Scope::WebhookReadonly]);
        assert_eq!(client.require(&[Scope::WebhookReadonly]), Ok(()));
        assert_eq!(
            client.require(&[Scope::EventCreate]),
            Err(Forbidden {
                accepted: vec![Scope::EventCreate, Scope::Admin]
            })
        );
        assert_eq!(
            Caller::new("a", vec![Scope::Admin]).require(&[Scope::EventCreate]),
            Ok(())
        );
    }

    #[test]
    fn scopes_are_full_uris() {
        let claim = format!("{} event.create other", Scope::EventCreate.uri());
        assert_eq!(Scope::parse_list(&claim), vec![Scope::EventCreate]);
    }
}

//! Letting callers in, for the two places that do it: the Lambda authorizer in AWS and
//! caliper-local's gateway.
//!
//! - [`authenticator`]: a request's credentials become a `caliper_core::Caller` (or a refusal in
//!   words); the one entry point for both places;
//! - [`verifier`]: checks a bearer access token as API Gateway's JWT authorizer would (RS256 by a
//!   key of the issuer's set, issuer, expiry, an access token with a client);
//! - [`signed`]: bodies that are their own credential (a connector's producer signs them with a
//!   key of a JWKS it publishes);
//! - [`jwks`]: a key set by `kid`, fixed or fetched by URL and refetched for an unknown `kid`;
//! - [`signing`]: the RSA key caliper-local signs its own tokens with, published as a JWK.

pub mod authenticator;
pub mod jwks;
pub mod signed;
pub mod signing;
pub mod verifier;

pub use authenticator::{Admitted, Authenticator, Refusal};
pub use jwks::KeySet;
pub use signed::SignedBodies;
pub use signing::SigningKey;
pub use verifier::{credentials, TokenError, Verifier};

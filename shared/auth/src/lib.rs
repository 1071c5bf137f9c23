//! Access tokens, for the two places that check them: the Lambda authorizer in AWS and
//! caliper-local's gateway.
//!
//! - [`verifier`]: checks a bearer token as API Gateway's JWT authorizer would (RS256 by a key of
//!   the issuer's JWKS, issuer, expiry, an access token with a client), fetching a Cognito pool's
//!   keys by URL.
//! - [`signing`]: the RSA key caliper-local signs its own tokens with, published as a JWK.

pub mod signing;
pub mod verifier;

pub use signing::SigningKey;
pub use verifier::{credentials, TokenError, Verifier};

//! The HTTP face of the API, shared by the Lambda binaries and caliper-local: one handler per
//! route, the error shape, the caller's identity and scopes, the route table, and the Lambda
//! authorizer's policy (which routes a token's scopes open).

pub mod app;
pub mod authorizer;
pub mod body;
pub mod caller;
pub mod cursor;
pub mod handlers;
pub mod response;
pub mod routes;

pub use app::App;
pub use caliper_validation::{Limits, Problem};
pub use caller::{Caller, Scope};
pub use response::ApiError;
pub use routes::{Route, ROUTES};

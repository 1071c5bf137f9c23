//! What every binary (each Lambda function, caliper-local) does at start, whatever it serves:
//!
//! - [`telemetry`]: logging, JSON lines in Lambda and text locally;
//! - [`settings`]: the process environment, read once into the typed settings of
//!   `caliper_core::settings` (a bad value stops the start, naming its variable).

pub mod settings;
pub mod telemetry;

//! The process environment, read once by each binary at start-up into typed settings
//! (`caliper_core::settings`); a bad value stops the start, naming its variable.

use caliper_core::settings::{self, SettingError, Vars};
use caliper_core::webhooks::DeliverySettings;
use caliper_validation::Limits;

/// The process environment as [`Vars`].
pub fn environment() -> Vars<'static> {
    Vars::new(|name| std::env::var(name).ok())
}

/// The request limits (`CALIPER_MAX_*`).
pub fn limits() -> Result<Limits, SettingError> {
    settings::limits(&environment())
}

/// How webhook deliveries are timed (`CALIPER_WEBHOOK_*_MS`).
pub fn delivery() -> Result<DeliverySettings, SettingError> {
    DeliverySettings::from_vars(&environment())
}

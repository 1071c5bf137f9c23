use caliper_validation::model::vocabulary::PROFILES;
use caliper_validation::{Limits, Version};
use serde_json::json;

use super::{Answer, Call};
use crate::response::ok;

/// GET `/caliper/event`: the endpoint configuration of Caliper 1.2 section 6.2, so that a sensor
/// can learn the version and limits before sending.
pub fn endpoint_config(limits: &Limits, _call: &Call) -> Answer {
    Ok(ok(&json!({
            "caliper_supported_versions": Version::ALL.map(Version::context),
            "caliper_maximum_payload_size": limits.max_body_bytes / 1024,
            "caliper_supported_extensions": {
                "endpoint_name": "Caliper Events API",
                "endpoint_version": env!("CARGO_PKG_VERSION"),
                "profiles": PROFILES,
                "max_events_per_envelope": limits.max_items,
                "max_event_bytes": limits.max_item_bytes,
                "max_nesting_depth": limits.max_depth,
                "max_string_bytes": limits.max_string_bytes,
            },
    })))
}

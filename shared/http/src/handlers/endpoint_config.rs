use caliper_validation::model::vocabulary::PROFILES;
use caliper_validation::{Limits, Version};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::respond;
use crate::caller::{authorize, Scope};
use crate::response::ok;

/// GET `/caliper/event`: the endpoint configuration of Caliper 1.2 section 6.2, so that a sensor
/// can learn the version and limits before sending.
pub async fn endpoint_config(limits: &Limits, request: Request) -> Response<Body> {
    respond(authorize(&request, &[Scope::EventCreate]).map(|_| {
        ok(&json!({
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
        }))
    }))
}

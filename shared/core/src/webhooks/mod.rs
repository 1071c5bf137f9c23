//! Webhooks: readers subscribe to stored events instead of polling. The subscriptions (webhooks and
//! their filters) and who may manage them, which events they match, how deliveries are signed, sent
//! and retried, and where they may go.

mod delivery;
mod filter;
mod input;
mod model;
mod service;
mod settings;
pub mod signature;
pub mod target;

pub use delivery::{DeliveryMessage, Dispatcher};
pub use filter::CompiledFilter;
pub use model::{FilterOperator, FilterType, Webhook, WebhookFilter};
pub use service::{Subscription, WebhookError, WebhookService};
pub use settings::DeliverySettings;
pub use target::TargetPolicy;

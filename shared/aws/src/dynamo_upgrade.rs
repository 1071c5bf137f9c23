//! What an events table written by an earlier version lacks, added from its events: the directory
//! of clients (a listing of every event reads it) and each email's actors (a listing or an
//! erasure of an email reads them). Run once after deploying over such a table
//! (`caliper-admin upgrade-events`); running it again adds nothing.

use caliper_core::StoreError;

use crate::dynamo_emails::EmailActor;
use crate::dynamo_events::DynamoEvents;
use crate::errors::store_error;
use crate::event_item::{text, ACTOR_EMAIL, ACTOR_ID, ALLOCATED_ID, CLIENT_APP_ID, EXPIRES_AT};

/// What an upgrade went through.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Upgraded {
    /// Events read.
    pub events: u64,
    /// Of those, events with an actor and an email.
    pub with_email: u64,
}

impl DynamoEvents {
    /// Reads every event of the table (a Scan of five attributes, a page at a time) and enters its
    /// client and its email's actor where missing.
    pub async fn upgrade(&self) -> Result<Upgraded, StoreError> {
        let mut upgraded = Upgraded::default();
        let mut resume = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .projection_expression("#c, #a, #m, #e, #i")
                .filter_expression("attribute_exists(#i)")
                .expression_attribute_names("#c", CLIENT_APP_ID)
                .expression_attribute_names("#a", ACTOR_ID)
                .expression_attribute_names("#m", ACTOR_EMAIL)
                .expression_attribute_names("#e", EXPIRES_AT)
                .expression_attribute_names("#i", ALLOCATED_ID)
                .set_exclusive_start_key(resume)
                .send()
                .await
                .map_err(|e| store_error("Scan (events)", e))?;
            let items = output.items();
            let clients: Vec<String> = items
                .iter()
                .filter_map(|i| text(i, CLIENT_APP_ID))
                .collect();
            self.enter_clients(&clients).await?;
            let emails: Vec<EmailActor> = items.iter().filter_map(EmailActor::of_item).collect();
            upgraded.events += items.len() as u64;
            upgraded.with_email += emails.len() as u64;
            self.enter_emails(emails).await?;
            resume = output.last_evaluated_key;
            if resume.is_none() {
                return Ok(upgraded);
            }
        }
    }
}

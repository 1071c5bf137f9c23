//! The body budget: bytes of request bodies buffered at once, in all and per address, charged by
//! the bytes actually buffered (tiny chunks take no more than they hold). A request takes its
//! address's share first, then the whole budget's, so that one address sending many bodies waits
//! on itself and leaves the rest of the budget to the others.
//!
//! Only addresses with a body being read have an entry, so the table is no larger than the
//! connections.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct BodyBudget {
    total: Arc<Semaphore>,
    total_bytes: u32,
    addresses: Mutex<HashMap<IpAddr, Arc<Semaphore>>>,
    share_bytes: u32,
}

/// Which part of the budget a request was waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// Its address's share: that address has as many bodies in flight as it may.
    Address,
    /// The whole budget: the server is reading as many bodies as it may.
    Total,
}

/// What one request's body holds of the budget, given back when dropped.
pub struct Held {
    budget: Arc<BodyBudget>,
    ip: IpAddr,
    address: Option<Arc<Semaphore>>,
    of_address: Option<OwnedSemaphorePermit>,
    of_total: Option<OwnedSemaphorePermit>,
    /// Set while a [`Held::take`] waits, so that a caller that gave up knows what for.
    pub waiting: Option<Waiting>,
}

impl BodyBudget {
    /// A budget of `total` bytes, of which one address may hold `share` at once.
    pub fn new(total: usize, share: usize) -> Arc<Self> {
        let total_bytes = u32::try_from(total).unwrap_or(u32::MAX);
        Arc::new(Self {
            total: Arc::new(Semaphore::new(total_bytes as usize)),
            total_bytes,
            addresses: Mutex::default(),
            share_bytes: u32::try_from(share).unwrap_or(u32::MAX).min(total_bytes),
        })
    }

    /// Nothing held yet, for a body from `ip`.
    pub fn hold(self: &Arc<Self>, ip: IpAddr) -> Held {
        let address = self.addresses.lock().ok().map(|mut addresses| {
            addresses
                .entry(ip)
                .or_insert_with(|| Arc::new(Semaphore::new(self.share_bytes as usize)))
                .clone()
        });
        Held {
            budget: self.clone(),
            ip,
            address,
            of_address: None,
            of_total: None,
            waiting: None,
        }
    }

    /// The share one address may hold, in bytes.
    pub fn share_bytes(&self) -> u32 {
        self.share_bytes
    }

    /// Addresses with a body being read now.
    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.addresses.lock().map_or(0, |a| a.len())
    }
}

impl Held {
    /// Takes `bytes` more, waiting for the address's share and then the whole budget's (a chunk
    /// larger than either waits for all of it).
    pub async fn take(&mut self, bytes: usize) -> Result<(), Waiting> {
        let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
        if let Some(address) = &self.address {
            self.waiting = Some(Waiting::Address);
            let permit = address
                .clone()
                .acquire_many_owned(bytes.min(self.budget.share_bytes))
                .await
                .map_err(|_| Waiting::Address)?;
            merge(&mut self.of_address, permit);
        }
        self.waiting = Some(Waiting::Total);
        let permit = self
            .budget
            .total
            .clone()
            .acquire_many_owned(bytes.min(self.budget.total_bytes))
            .await
            .map_err(|_| Waiting::Total)?;
        merge(&mut self.of_total, permit);
        self.waiting = None;
        Ok(())
    }
}

fn merge(held: &mut Option<OwnedSemaphorePermit>, permit: OwnedSemaphorePermit) {
    match held {
        Some(held) => held.merge(permit),
        None => *held = Some(permit),
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.of_address.take();
        self.of_total.take();
        // The address's entry goes with its last request (the table's is the only other handle).
        if self.address.take().is_some() {
            if let Ok(mut addresses) = self.budget.addresses.lock() {
                if addresses
                    .get(&self.ip)
                    .is_some_and(|share| Arc::strong_count(share) == 1)
                {
                    addresses.remove(&self.ip);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[tokio::test]
    async fn an_address_waits_on_its_share_and_leaves_the_rest_to_others() {
        let budget = BodyBudget::new(1000, 400);
        let mut first = budget.hold(ip(1));
        first.take(300).await.unwrap_or_else(|w| panic!("{w:?}"));
        let mut second = budget.hold(ip(1));
        // 300 + 200 is over the address's 400: it waits for its address, not the budget.
        let waited = tokio::time::timeout(Duration::from_millis(50), second.take(200)).await;
        assert!(waited.is_err());
        assert_eq!(second.waiting, Some(Waiting::Address));
        // Another address still gets its whole share at once.
        let mut other = budget.hold(ip(2));
        other.take(400).await.unwrap_or_else(|w| panic!("{w:?}"));
        // The first body answered, the second's share comes.
        drop(first);
        second.take(200).await.unwrap_or_else(|w| panic!("{w:?}"));
        assert_eq!(second.waiting, None);
        assert_eq!(budget.addresses(), 2);
        drop((second, other));
        assert_eq!(budget.addresses(), 0, "no entry outlives its bodies");
    }

    #[tokio::test]
    async fn the_whole_budget_bounds_every_address_together() {
        let budget = BodyBudget::new(1000, 400);
        let mut held = Vec::new();
        for n in 1..=2 {
            let mut body = budget.hold(ip(n));
            body.take(400).await.unwrap_or_else(|w| panic!("{w:?}"));
            held.push(body);
        }
        let mut third = budget.hold(ip(3));
        let waited = tokio::time::timeout(Duration::from_millis(50), third.take(300)).await;
        assert!(waited.is_err());
        assert_eq!(third.waiting, Some(Waiting::Total));
        // A chunk larger than the share waits for all of it, no more.
        let budget = BodyBudget::new(1000, 400);
        let mut big = budget.hold(ip(1));
        big.take(5000).await.unwrap_or_else(|w| panic!("{w:?}"));
    }
}

//! The notification channels one OAuth client may hold, shared by every pushed set
//! (docs/push.md, "The channel budget").
//!
//! Genesys allows an OAuth client 20 channels; creating one more silently removes the
//! least recently used (those without a connection first), which could be one of ours
//! in use. So every channel the exporter creates is created under a [`ChannelSlot`]
//! taken from the client's one [`ChannelBudget`], and the slot is given back only once
//! that channel is let go (its subscriptions deleted, its socket closed). Of the `limit`
//! slots, one is the handover spare: a channel told to go (`socket_closing`,
//! `no_longer_subscribed`) opens its replacement under the spare before letting the old
//! one go, so the sets together hold at most `limit - 1` channels and a handover never
//! makes a 21st. Handovers take the spare one at a time; a channel that cannot have it
//! soon lets the old channel go first and opens the new one under its own slot.
//!
//! With at most `limit` channels of ours existing, a creation evicts nothing of ours
//! that is connected: when the client is at 20, at least one of the 20 is not ours in
//! use (one we let go, or another program's), and Genesys removes those without a
//! connection first.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::telemetry::Telemetry;

/// Channels one OAuth client may hold; creating one more removes the least recently
/// used, which could be one of ours.
pub const MAX_CHANNELS: usize = 20;

/// The channels of one OAuth client, and the handover spare among them.
#[derive(Debug)]
pub struct ChannelBudget {
    limit: usize,
    /// `limit - 1` slots for the sets' channels.
    slots: Arc<Semaphore>,
    /// One slot for the replacement channel of a handover.
    spare: Arc<Semaphore>,
    /// Told whenever a slot is given back ([`ChannelBudget::until_free`] waits on it).
    given_back: Arc<Notify>,
    telemetry: Arc<Telemetry>,
}

/// A channel the client may hold: given back when dropped.
#[derive(Debug)]
pub struct ChannelSlot {
    /// Given back (dropped) before `given_back` is told, so a waiter finds it free.
    permit: Option<OwnedSemaphorePermit>,
    given_back: Arc<Notify>,
    telemetry: Arc<Telemetry>,
}

impl ChannelSlot {
    fn new(permit: OwnedSemaphorePermit, budget: &ChannelBudget) -> ChannelSlot {
        budget.telemetry.add_push_channel_slots(1);
        ChannelSlot {
            permit: Some(permit),
            given_back: Arc::clone(&budget.given_back),
            telemetry: Arc::clone(&budget.telemetry),
        }
    }
}

impl Drop for ChannelSlot {
    fn drop(&mut self) {
        self.telemetry.add_push_channel_slots(-1);
        drop(self.permit.take());
        self.given_back.notify_waiters();
    }
}

impl ChannelBudget {
    /// The fewest channels a budget may have: one for a set, one spare.
    pub const MIN_LIMIT: usize = 2;

    /// A budget of `limit` channels (kept within [`Self::MIN_LIMIT`] and Genesys' 20).
    pub fn new(limit: usize, telemetry: Arc<Telemetry>) -> ChannelBudget {
        let limit = limit.clamp(Self::MIN_LIMIT, MAX_CHANNELS);
        telemetry.set_push_channel_limit(limit);
        ChannelBudget {
            limit,
            slots: Arc::new(Semaphore::new(limit - 1)),
            spare: Arc::new(Semaphore::new(1)),
            given_back: Arc::new(Notify::new()),
            telemetry,
        }
    }

    /// The channels in all, the handover spare included.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The channels the sets may hold together: the limit less the spare.
    pub fn for_sets(&self) -> usize {
        self.limit - 1
    }

    /// A slot for a set's channel, if one is free now.
    pub fn try_slot(&self) -> Option<ChannelSlot> {
        let permit = Arc::clone(&self.slots).try_acquire_owned().ok()?;
        Some(ChannelSlot::new(permit, self))
    }

    /// A slot for a set's channel, waiting until one is given back.
    pub async fn slot(&self) -> ChannelSlot {
        loop {
            // The semaphore is never closed, so this only ever waits.
            if let Ok(permit) = Arc::clone(&self.slots).acquire_owned().await {
                return ChannelSlot::new(permit, self);
            }
        }
    }

    /// The sets' slots free now.
    pub fn free(&self) -> usize {
        self.slots.available_permits()
    }

    /// Waits until `wanted` of the sets' slots are free together, or `within` has
    /// passed: a set that lets its channels go to open others waits so for the slots
    /// the old ones give back once their subscriptions are deleted, rather than find
    /// its own old channels holding the budget. Nothing is held while waiting, so other
    /// sets may take the slots meanwhile.
    pub async fn until_free(&self, wanted: usize, within: Duration) {
        let wanted = wanted.min(self.for_sets());
        let deadline = tokio::time::Instant::now() + within;
        loop {
            // Listening before looking: a slot given back in between is not missed.
            let given_back = self.given_back.notified();
            tokio::pin!(given_back);
            given_back.as_mut().enable();
            if self.free() >= wanted || tokio::time::timeout_at(deadline, given_back).await.is_err()
            {
                return;
            }
        }
    }

    /// The handover spare, waiting at most `wait` for another handover to give it back.
    pub async fn spare(&self, wait: Duration) -> Option<ChannelSlot> {
        let permit = tokio::time::timeout(wait, Arc::clone(&self.spare).acquire_owned())
            .await
            .ok()?
            .ok()?;
        Some(ChannelSlot::new(permit, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(limit: usize) -> ChannelBudget {
        ChannelBudget::new(limit, Arc::new(Telemetry::new(60)))
    }

    #[tokio::test]
    async fn the_sets_share_all_but_the_spare() {
        let budget = budget(3);
        assert_eq!((budget.limit(), budget.for_sets()), (3, 2));
        let first = budget.try_slot().expect("a first slot");
        let _second = budget.try_slot().expect("a second slot");
        assert!(budget.try_slot().is_none(), "the spare is not a set's");
        let spare = budget.spare(Duration::ZERO).await.expect("the spare");
        assert!(budget.spare(Duration::from_millis(10)).await.is_none());
        drop(spare);
        assert!(budget.spare(Duration::ZERO).await.is_some());
        drop(first);
        assert!(
            budget.try_slot().is_some(),
            "a slot given back is free again"
        );
    }

    #[tokio::test]
    async fn a_waiting_slot_comes_when_one_is_given_back() {
        let budget = Arc::new(budget(2));
        let held = budget.try_slot().expect("the one slot");
        let waiter = tokio::spawn({
            let budget = Arc::clone(&budget);
            async move { budget.slot().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(held);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiter gets the slot")
            .expect("no panic");
    }

    #[tokio::test]
    async fn until_free_waits_for_slots_given_back_and_no_longer() {
        let budget = Arc::new(budget(3));
        let first = budget.try_slot().expect("a first slot");
        let second = budget.try_slot().expect("a second slot");
        let waiter = tokio::spawn({
            let budget = Arc::clone(&budget);
            async move { budget.until_free(2, Duration::from_secs(60)).await }
        });
        drop(first);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "one of the two slots is still held");
        let meanwhile = budget.try_slot();
        assert!(
            meanwhile.is_some(),
            "a wait holds no slot others could take"
        );
        drop(meanwhile);
        drop(second);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("both slots are free")
            .expect("no panic");
        assert_eq!(budget.free(), 2, "the wait took nothing");
        // Held elsewhere: the wait ends with `within`.
        let _held = budget.try_slot().expect("a slot");
        let started = std::time::Instant::now();
        budget.until_free(2, Duration::from_millis(50)).await;
        assert!(started.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn limits_stay_within_genesys() {
        assert_eq!(budget(0).limit(), 2);
        assert_eq!(budget(50).limit(), 20);
    }
}

//! The API budget: one rate limiter in front of every Genesys API call.
//!
//! Genesys allows 300 requests a minute per token, and a deployment often shares its OAuth
//! client with other tools, so the exporter keeps to its own, smaller budget
//! (`--genesys.requests-per-minute`), retries included. A 429 from the server pauses every
//! caller until its `Retry-After` has passed.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

/// A GCRA limiter sized so that no 60-second window ever holds more than the budget,
/// plus a pause that a 429 can impose on everyone.
#[derive(Debug)]
pub struct ApiBudget {
    limiter: DefaultDirectRateLimiter,
    paused_until: Mutex<Option<Instant>>,
}

impl ApiBudget {
    /// A budget of `requests_per_minute`, with a small burst so start-up is quick.
    ///
    /// GCRA admits a full burst at once and then one request per emission interval, so
    /// a window of 60 s holds at most `burst + 60 s / interval` requests. Replenishing at
    /// `requests_per_minute - burst` per minute keeps that at `requests_per_minute` even in
    /// the first minute after start-up.
    pub fn new(requests_per_minute: NonZeroU32) -> ApiBudget {
        ApiBudget {
            limiter: RateLimiter::direct(quota_for(requests_per_minute)),
            paused_until: Mutex::new(None),
        }
    }

    /// Waits until one more request fits in the budget and no 429 pause is in force;
    /// returns how long that took, so a poll can tell that it ran late.
    ///
    /// The pause is checked every time the caller wakes, not just once on the way in: a
    /// caller already waiting for its turn in the limiter when a 429 arrives would
    /// otherwise be let through in the middle of the pause, earn another 429 and restart
    /// it. A budget cell is taken only right after checking that no pause holds. Should
    /// a pause begin in that instant, the cell is given up and a new one taken after the
    /// pause: keeping it would send the request later than the limiter granted it, and
    /// such late requests, all sent at the pause's end on top of the cells granted after
    /// it, could put more than the budget into a 60-second window. A given-up cell only
    /// leaves the budget unused, never exceeded.
    pub async fn acquire(&self) -> Duration {
        let started = Instant::now();
        loop {
            if let Some(until) = self.pause_in_force() {
                tokio::time::sleep_until(until).await;
                continue;
            }
            match self.limiter.check() {
                Ok(()) if self.pause_in_force().is_none() => break,
                Ok(()) => {}
                Err(not_until) => {
                    let now = self.limiter.clock().now();
                    tokio::time::sleep(not_until.wait_time_from(now)).await;
                }
            }
        }
        started.elapsed()
    }

    /// Whether a 429 pause is in force now: checked once more right before a request
    /// is sent, after the waits that follow [`ApiBudget::acquire`] (see
    /// `GenesysClient::send`).
    pub fn is_paused(&self) -> bool {
        self.pause_in_force().is_some()
    }

    /// The end of the 429 pause, if it has not passed yet.
    fn pause_in_force(&self) -> Option<Instant> {
        let paused_until = *self
            .paused_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        paused_until.filter(|until| *until > Instant::now())
    }

    /// Stops every caller from sending anything for `wait` (a 429's `Retry-After`).
    pub fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self
            .paused_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }
}

/// The GCRA quota for a budget: see [`ApiBudget::new`]. A budget of 1 (no room left
/// after the burst) replenishes slightly slower than once a minute, so that even a
/// closed 60-second window never holds two requests.
fn quota_for(requests_per_minute: NonZeroU32) -> Quota {
    let budget = requests_per_minute.get();
    let burst = burst_for(budget);
    let period = match budget - burst {
        0 => Duration::from_secs(61),
        replenish_per_minute => Duration::from_secs(60) / replenish_per_minute,
    };
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

/// A burst of a tenth of the budget, between 1 and 5: enough for the first polls of a
/// few queries and the queue names, small enough not to spend the minute at once.
fn burst_for(requests_per_minute: u32) -> u32 {
    (requests_per_minute / 10)
        .clamp(1, 5)
        .min(requests_per_minute)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_is_a_tenth_of_the_budget_within_bounds() {
        assert_eq!(burst_for(1), 1);
        assert_eq!(burst_for(9), 1);
        assert_eq!(burst_for(30), 3);
        assert_eq!(burst_for(60), 5);
        assert_eq!(burst_for(300), 5);
    }

    /// Drives the real quota with a fake clock through three minutes of a caller that
    /// always wants more, and checks every closed 60-second window.
    #[test]
    fn no_minute_holds_more_than_the_budget() {
        use governor::clock::{Clock, FakeRelativeClock, Reference};
        for budget in [1u32, 2, 6, 30, 60, 300] {
            let clock = FakeRelativeClock::default();
            let limiter = RateLimiter::direct_with_clock(
                quota_for(NonZeroU32::new(budget).unwrap()),
                clock.clone(),
            );
            let start = clock.now();
            let mut sent = Vec::new();
            while clock.now().duration_since(start) < Duration::from_secs(180).into() {
                match limiter.check() {
                    Ok(()) => sent.push(Duration::from(clock.now().duration_since(start))),
                    Err(not_until) => clock.advance(not_until.wait_time_from(clock.now())),
                }
            }
            let most_in_a_minute = sent
                .iter()
                .enumerate()
                .map(|(i, first)| {
                    sent[i..]
                        .iter()
                        .take_while(|t| **t <= *first + Duration::from_secs(60))
                        .count()
                })
                .max()
                .unwrap();
            assert!(
                most_in_a_minute <= budget as usize,
                "budget {budget}: {most_in_a_minute} requests in one minute"
            );
            // And the budget is really usable: over three minutes all of it is spent but
            // the burst's head start.
            let burst = burst_for(budget);
            assert!(
                sent.len() as u32 + 1 >= 3 * (budget - burst) + burst,
                "budget {budget}: only {} requests in three minutes",
                sent.len()
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_caller_back() {
        let limiter = ApiBudget::new(NonZeroU32::new(300).unwrap());
        limiter.pause_for(Duration::from_secs(42));
        let waited = limiter.acquire().await;
        assert!(waited >= Duration::from_secs(42), "{waited:?}");
        // A shorter pause does not shorten a longer one.
        limiter.pause_for(Duration::from_secs(10));
        limiter.pause_for(Duration::from_secs(1));
        let waited = limiter.acquire().await;
        assert!(waited >= Duration::from_secs(10), "{waited:?}");
    }

    /// A caller already waiting for its turn in the limiter when a 429 arrives is not
    /// let through before the pause ends (real time: the limiter runs on the wall clock).
    #[tokio::test]
    async fn a_caller_queued_in_the_limiter_waits_out_a_pause_that_began_meanwhile() {
        // A budget of 60: a burst of 5, then one request every 1.09 s.
        let budget = std::sync::Arc::new(ApiBudget::new(NonZeroU32::new(60).unwrap()));
        for _ in 0..burst_for(60) {
            budget.acquire().await;
        }
        let queued = tokio::spawn({
            let budget = std::sync::Arc::clone(&budget);
            async move {
                budget.acquire().await;
                Instant::now()
            }
        });
        // On this single-threaded runtime the caller now runs until it waits for the
        // limiter's next cell.
        tokio::task::yield_now().await;
        let paused_at = Instant::now();
        budget.pause_for(Duration::from_secs(2));
        let released = queued.await.unwrap();
        assert!(
            released >= paused_at + Duration::from_secs(2),
            "released {:?} into a 2 s pause",
            released - paused_at
        );
    }
}

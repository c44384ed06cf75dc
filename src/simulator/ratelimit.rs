//! Per-token, per-minute rate limiting with the `inin-ratelimit-*` bookkeeping.
//!
//! Genesys documents a limit of 300 requests per minute per client-credentials
//! token. The simulator models it as a fixed one-minute window that starts with the
//! token's first request, which is enough to exercise a client's 429 handling.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::auth::lock;

const WINDOW: Duration = Duration::from_secs(60);

/// The state of one token's window after (or without) counting a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RateStatus {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// Requests counted in the current window (`inin-ratelimit-count`).
    pub count: u32,
    /// The per-window limit (`inin-ratelimit-allowed`).
    pub limit: u32,
    /// Whole seconds, rounded up, until the window resets (`inin-ratelimit-reset`).
    pub reset_secs: u64,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    count: u32,
}

/// Fixed windows keyed by bearer token.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: u32,
    windows: Mutex<HashMap<String, Window>>,
}

impl RateLimiter {
    pub(crate) fn new(limit: u32) -> Self {
        RateLimiter {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request for `token` and says whether it is within the limit.
    /// Rejected requests do not use up the allowance.
    pub(crate) fn acquire(&self, token: &str, now: Instant) -> RateStatus {
        let mut windows = lock(&self.windows);
        if windows.len() > 1024 {
            windows.retain(|_, w| now.duration_since(w.started) < WINDOW);
        }
        let window = windows.entry(token.to_string()).or_insert(Window {
            started: now,
            count: 0,
        });
        if now.duration_since(window.started) >= WINDOW {
            *window = Window {
                started: now,
                count: 0,
            };
        }
        let allowed = window.count < self.limit;
        if allowed {
            window.count += 1;
        }
        RateStatus {
            allowed,
            count: window.count,
            limit: self.limit,
            reset_secs: reset_secs(window.started, now),
        }
    }

    /// The window of `token` without counting anything: for responses that never
    /// reached the limiter (401, 404, injected faults) but still carry the headers.
    pub(crate) fn peek(&self, token: Option<&str>, now: Instant) -> RateStatus {
        let windows = lock(&self.windows);
        match token.and_then(|t| windows.get(t)) {
            Some(w) if now.duration_since(w.started) < WINDOW => RateStatus {
                allowed: w.count < self.limit,
                count: w.count,
                limit: self.limit,
                reset_secs: reset_secs(w.started, now),
            },
            _ => RateStatus {
                allowed: self.limit > 0,
                count: 0,
                limit: self.limit,
                reset_secs: WINDOW.as_secs(),
            },
        }
    }
}

fn reset_secs(started: Instant, now: Instant) -> u64 {
    let left = WINDOW.saturating_sub(now.duration_since(started));
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_token_and_resets_after_a_minute() {
        let limiter = RateLimiter::new(2);
        let t0 = Instant::now();
        let a1 = limiter.acquire("a", t0);
        assert_eq!((a1.allowed, a1.count, a1.reset_secs), (true, 1, 60));
        let a2 = limiter.acquire("a", t0 + Duration::from_millis(1500));
        assert_eq!((a2.allowed, a2.count, a2.reset_secs), (true, 2, 59));
        let a3 = limiter.acquire("a", t0 + Duration::from_secs(2));
        assert_eq!((a3.allowed, a3.count, a3.reset_secs), (false, 2, 58));
        // Another token has its own window.
        assert!(limiter.acquire("b", t0 + Duration::from_secs(2)).allowed);
        assert_eq!(
            limiter.peek(Some("a"), t0 + Duration::from_secs(2)).count,
            2
        );
        assert_eq!(limiter.peek(None, t0).count, 0);
        // A new window starts a minute later.
        let a4 = limiter.acquire("a", t0 + Duration::from_secs(60));
        assert_eq!((a4.allowed, a4.count, a4.reset_secs), (true, 1, 60));
    }
}

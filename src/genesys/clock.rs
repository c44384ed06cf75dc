//! Genesys' clock, as seen from here: the skew between the API's `Date` header and this
//! host's clock.
//!
//! Which interval is "completed" is a question about Genesys' data, so it must be
//! answered by Genesys' clock. If this host ran five minutes fast, polling by its own
//! clock would query an interval Genesys is still filling and, without a `refresh`,
//! export its partial values for good. So the scheduler asks [`ApiClock::now`]: this
//! host's time corrected by the skew measured on every API response. `Date` has a
//! one-second resolution and the network adds latency, so a skew within
//! [`TOLERANCE`] counts as none; settle delays (90 s by default) dwarf what remains.

use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// Measured skews this small are rounding and latency, not a wrong clock.
pub const TOLERANCE: TimeDelta = TimeDelta::seconds(2);

/// The skew in effect, shared by every caller.
#[derive(Debug, Default)]
pub struct ApiClock {
    skew: Mutex<TimeDelta>,
}

impl ApiClock {
    /// Genesys' time now: this host's time plus the skew in effect.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.skew()
    }

    /// The skew in effect (zero within the tolerance).
    pub fn skew(&self) -> TimeDelta {
        *self
            .skew
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes in the `Date` header of a response received at `received` (this host's
    /// clock); returns the measured skew in seconds, or `None` without a usable header.
    /// Logs when the skew in effect changes, so a drifting clock is visible.
    pub fn observe(&self, date: Option<&str>, received: DateTime<Utc>) -> Option<f64> {
        let server = DateTime::parse_from_rfc2822(date?.trim()).ok()?;
        let measured = server.with_timezone(&Utc) - received;
        let effective = if measured.abs() <= TOLERANCE {
            TimeDelta::zero()
        } else {
            measured
        };
        let mut skew = self
            .skew
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let changed =
            (effective - *skew).abs() > TOLERANCE || (effective.is_zero() != skew.is_zero());
        if changed {
            if effective.is_zero() {
                tracing::info!("the Genesys clock agrees with this host clock again");
            } else {
                tracing::warn!(
                    skew_seconds = effective.num_milliseconds() as f64 / 1000.0,
                    "the Genesys clock (Date header) differs from this host clock; choosing intervals by the Genesys clock. Check NTP on this host"
                );
            }
            *skew = effective;
        }
        Some(measured.num_milliseconds() as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_skew_within_the_tolerance_is_ignored() {
        let clock = ApiClock::default();
        let measured = clock.observe(
            Some("Wed, 25 Nov 2026 12:00:01 GMT"),
            at("2026-11-25T12:00:00.300Z"),
        );
        assert_eq!(measured, Some(0.7));
        assert_eq!(clock.skew(), TimeDelta::zero());
    }

    #[test]
    fn a_larger_skew_moves_now_and_can_go_away_again() {
        let clock = ApiClock::default();
        clock.observe(
            Some("Wed, 25 Nov 2026 11:55:00 GMT"),
            at("2026-11-25T12:00:00Z"),
        );
        assert_eq!(clock.skew(), TimeDelta::minutes(-5));
        let behind = Utc::now() - clock.now();
        assert!(behind >= TimeDelta::minutes(5) - TimeDelta::seconds(1));
        clock.observe(
            Some("Wed, 25 Nov 2026 12:00:00 GMT"),
            at("2026-11-25T12:00:00Z"),
        );
        assert_eq!(clock.skew(), TimeDelta::zero());
    }

    #[test]
    fn a_missing_or_garbled_date_changes_nothing() {
        let clock = ApiClock::default();
        clock.observe(
            Some("Wed, 25 Nov 2026 13:00:00 GMT"),
            at("2026-11-25T12:00:00Z"),
        );
        assert_eq!(clock.observe(None, Utc::now()), None);
        assert_eq!(clock.observe(Some("yesterday"), Utc::now()), None);
        assert_eq!(clock.skew(), TimeDelta::hours(1));
    }
}

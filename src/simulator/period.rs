//! The simulator's own ISO-8601 parser, separate from [`crate::interval`] on purpose: it
//! must accept what Genesys accepts (days, hours and minutes in any amount, such as `PT7M`
//! or `P1DT12H`), not only the bucket sizes the exporter supports, so the exporter is
//! tested against the API's rules rather than its own.
//!
//! Here: ISO-8601 intervals and durations, and cutting an interval into buckets.
//!
//! Buckets start at the interval start and step by the granularity. Day steps are
//! calendar days in the query's time zone (23 h or 25 h across a DST change), the way
//! Genesys aligns `P1D` buckets; hour and minute steps are fixed lengths.

use chrono::{DateTime, Days, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The longest interval the simulator answers, so one request cannot ask for years
/// of synthetic traffic. (Genesys has limits too; they are not published.)
pub(crate) const MAX_INTERVAL_DAYS: i64 = 31;
/// The most buckets one query may produce.
pub(crate) const MAX_BUCKETS: usize = 10_000;

/// A parsed `granularity`, as the step from one bucket to the next: whole calendar days
/// plus a fixed part. (The exporter's [`crate::interval::Granularity`] is the smaller set
/// it can poll.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BucketStep {
    pub days: u32,
    pub fixed_ms: i64,
}

/// Parses `start/end` into UTC milliseconds, requiring `end > start`.
pub(crate) fn parse_interval(text: &str) -> Result<(i64, i64), String> {
    let (start, end) = text
        .split_once('/')
        .ok_or_else(|| format!("invalid interval '{text}': expected ISO-8601 'start/end'"))?;
    let start = parse_instant(start).map_err(|e| format!("invalid interval '{text}': {e}"))?;
    let end = parse_instant(end).map_err(|e| format!("invalid interval '{text}': {e}"))?;
    if end <= start {
        return Err(format!(
            "invalid interval '{text}': the end must be after the start"
        ));
    }
    if end - start > MAX_INTERVAL_DAYS * 86_400_000 {
        return Err(format!(
            "invalid interval '{text}': longer than {MAX_INTERVAL_DAYS} days"
        ));
    }
    Ok((start, end))
}

/// Parses one ISO-8601 instant. With an offset (`Z`, `+01:00`) it is exact; without
/// one it is taken as UTC.
fn parse_instant(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc().timestamp_millis());
        }
    }
    Err(format!("'{text}' is not an ISO-8601 date-time"))
}

/// Parses a granularity such as `PT15M`, `PT1H`, `P1D` or `P1DT12H`. Years, months,
/// weeks, seconds and fractions are rejected.
pub(crate) fn parse_granularity(text: &str) -> Result<BucketStep, String> {
    let bad = || {
        format!(
            "invalid granularity '{text}': expected an ISO-8601 duration of days, hours \
             or minutes such as PT15M, PT1H or P1D"
        )
    };
    let rest = text.strip_prefix('P').ok_or_else(bad)?;
    let (date_part, time_part) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return Err(bad()),
        None => (rest, None),
    };
    let mut days: u32 = 0;
    if !date_part.is_empty() {
        let n = date_part.strip_suffix('D').ok_or_else(bad)?;
        days = parse_number(n).ok_or_else(bad)?;
    }
    let mut fixed_ms: i64 = 0;
    if let Some(mut t) = time_part {
        // Hours must come before minutes, each at most once.
        for (unit, ms) in [('H', 3_600_000i64), ('M', 60_000)] {
            if let Some(pos) = t.find(unit) {
                let n = parse_number(&t[..pos]).ok_or_else(bad)?;
                fixed_ms += i64::from(n) * ms;
                t = &t[pos + 1..];
            }
        }
        if !t.is_empty() {
            return Err(bad());
        }
    }
    if days == 0 && fixed_ms == 0 {
        return Err(format!(
            "invalid granularity '{text}': must be longer than zero"
        ));
    }
    Ok(BucketStep { days, fixed_ms })
}

fn parse_number(digits: &str) -> Option<u32> {
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Parses an IANA time zone name such as `Europe/London`.
pub(crate) fn parse_time_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("invalid timeZone '{name}': not an IANA time zone name"))
}

/// Bucket boundaries `[start, b1, ..., end]` in UTC ms. Without a granularity the whole
/// interval is one bucket. Fails when the granularity does not divide the interval.
pub(crate) fn bucket_boundaries(
    start: i64,
    end: i64,
    granularity: Option<(BucketStep, &str)>,
    tz: Tz,
) -> Result<Vec<i64>, String> {
    let Some((g, text)) = granularity else {
        return Ok(vec![start, end]);
    };
    let mut bounds = vec![start];
    let mut at = start;
    while at < end {
        at = step(at, g, tz).ok_or_else(|| format!("granularity '{text}' steps out of range"))?;
        bounds.push(at);
        if bounds.len() > MAX_BUCKETS + 1 {
            return Err(format!(
                "granularity '{text}' gives more than {MAX_BUCKETS} buckets for this interval"
            ));
        }
    }
    if at != end {
        return Err(format!(
            "granularity '{text}' does not divide the interval evenly"
        ));
    }
    Ok(bounds)
}

/// One granularity step from `at` (UTC ms): calendar days in `tz`, then the fixed part.
fn step(at: i64, g: BucketStep, tz: Tz) -> Option<i64> {
    let mut next = at;
    if g.days > 0 {
        let local = DateTime::<Utc>::from_timestamp_millis(next)?
            .with_timezone(&tz)
            .naive_local();
        let target = local.checked_add_days(Days::new(u64::from(g.days)))?;
        next = resolve_local(tz, target)?;
    }
    Some(next + g.fixed_ms)
}

/// The instant of a local time: the earlier one when the clock goes back, the first
/// valid minute after the gap when the clock goes forward.
fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<i64> {
    for skip in 0..=180 {
        let candidate = local + chrono::Duration::minutes(skip);
        match tz.from_local_datetime(&candidate) {
            LocalResult::Single(t) => return Some(t.timestamp_millis()),
            LocalResult::Ambiguous(early, _) => return Some(early.timestamp_millis()),
            LocalResult::None => continue,
        }
    }
    None
}

/// Formats UTC ms the way Genesys does: `2026-11-25T12:00:00.000Z`.
pub(crate) fn format_ms(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        parse_instant(text).unwrap_or(i64::MIN)
    }

    #[test]
    fn intervals() {
        let (s, e) =
            parse_interval("2026-11-25T12:00:00.000Z/2026-11-25T13:00:00.000Z").unwrap_or_default();
        assert_eq!(e - s, 3_600_000);
        assert_eq!(format_ms(s), "2026-11-25T12:00:00.000Z");
        assert_eq!(
            ms("2026-11-25T13:00:00+01:00"),
            ms("2026-11-25T12:00:00.000Z")
        );
        assert_eq!(ms("2026-11-25T12:00:00"), ms("2026-11-25T12:00:00Z"));
        assert!(parse_interval("2026-11-25T12:00:00Z").is_err());
        assert!(parse_interval("2026-11-25T13:00:00Z/2026-11-25T12:00:00Z").is_err());
        assert!(parse_interval("2026-11-25T12:00:00Z/2026-11-25T12:00:00Z").is_err());
        assert!(parse_interval("yesterday/today").is_err());
        assert!(parse_interval("2026-01-01T00:00:00Z/2026-03-01T00:00:00Z").is_err());
    }

    #[test]
    fn granularities() {
        let g = |t| parse_granularity(t);
        assert_eq!(
            g("PT15M"),
            Ok(BucketStep {
                days: 0,
                fixed_ms: 900_000
            })
        );
        assert_eq!(
            g("PT1H"),
            Ok(BucketStep {
                days: 0,
                fixed_ms: 3_600_000
            })
        );
        assert_eq!(
            g("P1D"),
            Ok(BucketStep {
                days: 1,
                fixed_ms: 0
            })
        );
        assert_eq!(
            g("P1DT12H"),
            Ok(BucketStep {
                days: 1,
                fixed_ms: 43_200_000
            })
        );
        assert_eq!(
            g("PT1H30M"),
            Ok(BucketStep {
                days: 0,
                fixed_ms: 5_400_000
            })
        );
        for bad in [
            "", "P", "PT", "15M", "PT15S", "P1M", "P1W", "P1Y", "PT0M", "PT1.5H", "PT30M1H", "PTM",
            "pt15m", "P1DT",
        ] {
            assert!(g(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn buckets_step_by_fixed_lengths_and_must_divide() {
        let g = parse_granularity("PT15M").unwrap_or(BucketStep {
            days: 0,
            fixed_ms: 1,
        });
        let start = ms("2026-11-25T12:00:00Z");
        let b = bucket_boundaries(start, start + 3_600_000, Some((g, "PT15M")), Tz::UTC);
        assert_eq!(b.map(|v| v.len()), Ok(5));
        assert!(bucket_boundaries(start, start + 3_000_000, Some((g, "PT15M")), Tz::UTC).is_err());
        assert_eq!(
            bucket_boundaries(start, start + 1, None, Tz::UTC),
            Ok(vec![start, start + 1])
        );
        let tiny = BucketStep {
            days: 0,
            fixed_ms: 60_000,
        };
        assert!(
            bucket_boundaries(start, start + 8 * 86_400_000, Some((tiny, "PT1M")), Tz::UTC)
                .is_err()
        );
    }

    #[test]
    fn day_buckets_follow_the_local_calendar_across_dst() {
        let london = parse_time_zone("Europe/London").unwrap_or(Tz::UTC);
        let day = BucketStep {
            days: 1,
            fixed_ms: 0,
        };
        // Local midnights: 25 Oct 00:00 BST, 26 Oct 00:00 GMT, 27 Oct 00:00 GMT.
        let start = ms("2026-10-24T23:00:00Z");
        let end = ms("2026-10-27T00:00:00Z");
        let b = bucket_boundaries(start, end, Some((day, "P1D")), london).unwrap_or_default();
        let text: Vec<String> = b.iter().map(|&v| format_ms(v)).collect();
        assert_eq!(
            text,
            [
                "2026-10-24T23:00:00.000Z",
                "2026-10-26T00:00:00.000Z",
                "2026-10-27T00:00:00.000Z"
            ]
        );
        // Spring forward: 29 Mar 2026 is 23 h long in London.
        let b = bucket_boundaries(
            ms("2026-03-29T00:00:00Z"),
            ms("2026-03-29T23:00:00Z"),
            Some((day, "P1D")),
            london,
        );
        assert_eq!(b.map(|v| v.len()), Ok(2));
        // In UTC the same 49 h are not whole days.
        assert!(bucket_boundaries(start, end, Some((day, "P1D")), Tz::UTC).is_err());
        assert!(parse_time_zone("Mars/Olympus").is_err());
    }
}

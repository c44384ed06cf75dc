//! The buckets of a date range, and how they are cut into requests. Pure: `now` is
//! always a parameter, so every case (time zones, DST, relative times) is unit-tested.
//!
//! `--from` and `--to` are read in the query's time zone and both aligned down to a
//! bucket start: `--from` names the first bucket included, `--to` the first one left
//! out. Only completed buckets (end + settle delay <= now) are kept, as the live
//! exporter only ever shows completed buckets.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::interval::{Granularity, Interval, latest_completed};

/// The longest interval one aggregates request asks for. Genesys publishes no interval
/// limit for conversation aggregates; its analytics queries document 7 days as the
/// limit of an unfiltered query (31 days with a filter), so 7 days is the span every
/// query is known to be accepted at.
pub const MAX_REQUEST_SPAN: TimeDelta = TimeDelta::days(7);

/// Why a `--from` or `--to` value was refused; the message names the flag.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RangeError {
    #[error(
        "{flag} {text:?} is not a time: give an RFC 3339 instant (2026-11-01T08:00:00Z), a local date or time in the query's time zone (2026-11-01, 2026-11-01T08:00) or a time relative to now (-24h, -7d)"
    )]
    Unreadable { flag: &'static str, text: String },
    #[error("{flag} {text:?} does not exist in time zone {zone} (the clocks skip it)")]
    Skipped {
        flag: &'static str,
        text: String,
        zone: Tz,
    },
    #[error("--from {from} is after --to {to}")]
    Reversed { from: String, to: String },
    #[error(
        "no completed {granularity} bucket of query {query} from --from {from} on: the latest completed one ends at {latest}"
    )]
    Future {
        from: String,
        granularity: Granularity,
        query: String,
        latest: String,
    },
    #[error(
        "--from {from} --to {to} holds no completed {granularity} bucket of query {query} (a bucket counts once its end and the settle delay have passed)"
    )]
    Empty {
        from: String,
        to: String,
        granularity: Granularity,
        query: String,
    },
}

/// Reads one `--from`/`--to` value: an RFC 3339 instant, a local date (its first
/// instant) or local date and time in `tz`, `now`, or `-DURATION` relative to `now`.
pub fn parse_time(
    flag: &'static str,
    text: &str,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, RangeError> {
    let text = text.trim();
    let unreadable = || RangeError::Unreadable {
        flag,
        text: text.to_string(),
    };
    if text == "now" {
        return Ok(now);
    }
    if let Some(ago) = text.strip_prefix('-') {
        let ago = humantime::parse_duration(ago).map_err(|_| unreadable())?;
        let ago = TimeDelta::from_std(ago).map_err(|_| unreadable())?;
        return now.checked_sub_signed(ago).ok_or_else(unreadable);
    }
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(instant.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        // The first instant of the local day, which is midnight unless the clocks skip
        // it: then the first bucket of the day starts it.
        let noon = date.and_hms_opt(12, 0, 0).ok_or_else(unreadable)?;
        let noon = local(tz, noon).ok_or_else(unreadable)?;
        return Ok(Granularity::Day.bucket_start(noon, tz));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return local(tz, time).ok_or_else(|| RangeError::Skipped {
                flag,
                text: text.to_string(),
                zone: tz,
            });
        }
    }
    Err(unreadable())
}

/// A local time in `tz`: the earlier instant when it occurs twice, none when skipped.
fn local(tz: Tz, time: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&time) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

/// What to fetch for one query: its completed buckets from `first` up to `stop`, never
/// held all at once (a range of centuries is only two instants); they are walked
/// request by request.
#[derive(Clone, Debug, PartialEq)]
pub struct Range {
    first: DateTime<Utc>,
    stop: DateTime<Utc>,
    granularity: Granularity,
    tz: Tz,
}

impl Range {
    /// The completed buckets from the bucket holding `from` up to (not including) the
    /// bucket holding `to`, for a query of `granularity` in `tz` with `settle` delay.
    pub fn new(
        query: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        granularity: Granularity,
        tz: Tz,
        settle: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<Range, RangeError> {
        let show = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        if from > to {
            return Err(RangeError::Reversed {
                from: show(from),
                to: show(to),
            });
        }
        let latest = latest_completed(now, granularity, tz, settle);
        let first = granularity.bucket_start(from, tz);
        if first >= latest.end {
            return Err(RangeError::Future {
                from: show(from),
                granularity,
                query: query.to_string(),
                latest: show(latest.end),
            });
        }
        let stop = granularity.bucket_start(to, tz).min(latest.end);
        if first >= stop {
            return Err(RangeError::Empty {
                from: show(from),
                to: show(to),
                granularity,
                query: query.to_string(),
            });
        }
        Ok(Range {
            first,
            stop,
            granularity,
            tz,
        })
    }

    /// The first bucket's start.
    pub fn first(&self) -> DateTime<Utc> {
        self.first
    }

    /// The last bucket's start.
    pub fn last(&self) -> DateTime<Utc> {
        self.granularity.previous_bucket_start(self.stop, self.tz)
    }

    /// About how many buckets the range holds, by arithmetic alone (its length over the
    /// bucket length, rounded up): exact but for DST changes, which move it by a few.
    /// What a range is checked against the limit with, before anything is walked.
    pub fn estimated_len(&self) -> u64 {
        let seconds = (self.stop - self.first).num_seconds().max(0) as u64;
        let bucket = self.granularity.nominal_length().as_secs().max(1);
        seconds.div_ceil(bucket)
    }

    /// [`Range::requests`] by arithmetic: the range's length over [`MAX_REQUEST_SPAN`],
    /// rounded up, or with `by_utc_day` the UTC days it touches.
    pub fn estimated_requests(&self, by_utc_day: bool) -> u64 {
        if by_utc_day {
            let days = next_utc_midnight(self.last()) - utc_midnight(self.first);
            return days.num_days().max(1) as u64;
        }
        let seconds = (self.stop - self.first).num_seconds().max(0) as u64;
        seconds.div_ceil(MAX_REQUEST_SPAN.num_seconds() as u64)
    }

    /// The buckets, in order, one at a time.
    pub fn buckets(&self) -> impl Iterator<Item = Interval> + '_ {
        self.buckets_from(self.first)
    }

    /// The buckets from the one starting at `start`.
    fn buckets_from(&self, start: DateTime<Utc>) -> impl Iterator<Item = Interval> + '_ {
        let next = move |start: DateTime<Utc>| Interval {
            start,
            end: self.granularity.next_bucket_start(start, self.tz),
        };
        std::iter::successors(Some(next(start)), move |bucket| Some(next(bucket.end)))
            .take_while(move |bucket| bucket.start < self.stop)
    }

    /// How many buckets the range holds, counted one by one: for a range already
    /// checked against the limit with [`Range::estimated_len`] (a range is never empty).
    pub fn bucket_count(&self) -> usize {
        self.buckets().count()
    }

    /// The buckets of the request that starts at bucket `start`: as many as fit in
    /// [`MAX_REQUEST_SPAN`], at most `limit`, and always at least one; none from the
    /// range's end on.
    pub fn request_at(&self, start: DateTime<Utc>, limit: usize) -> Vec<Interval> {
        self.span_at(start, limit, MAX_REQUEST_SPAN)
    }

    /// The buckets from bucket `start` that end within `span` of it, at most `limit`,
    /// and always at least one; none from the end of the range on.
    pub fn span_at(&self, start: DateTime<Utc>, limit: usize, span: TimeDelta) -> Vec<Interval> {
        let mut buckets = self.buckets_from(start);
        let Some(first) = buckets.next() else {
            return Vec::new();
        };
        std::iter::once(first)
            .chain(
                buckets
                    .take(limit.max(1) - 1)
                    .take_while(|bucket| bucket.end - start <= span),
            )
            .collect()
    }

    /// The requests the range takes (before a filter split multiplies them): the fewest,
    /// each of [`MAX_REQUEST_SPAN`], or with `by_utc_day` those of a walk a UTC day at a
    /// time (a file per day), where a request also ends before the first bucket that
    /// starts on the next UTC day.
    pub fn requests(&self, by_utc_day: bool) -> usize {
        self.windows(MAX_REQUEST_SPAN, by_utc_day)
    }

    /// The windows of at most `span` the range is walked in, cut at UTC midnights too
    /// with `by_utc_day`: a request's (7 days) or an asynchronous job's.
    pub fn windows(&self, span: TimeDelta, by_utc_day: bool) -> usize {
        let mut windows = 0;
        let mut start = self.first;
        loop {
            let mut buckets = self.span_at(start, usize::MAX, span);
            if by_utc_day {
                let cut = next_utc_midnight(start);
                buckets.retain(|bucket| bucket.start < cut);
            }
            let Some(last) = buckets.last() else {
                return windows;
            };
            start = last.end;
            windows += 1;
        }
    }
}

/// The first UTC midnight after `instant`.
pub fn next_utc_midnight(instant: DateTime<Utc>) -> DateTime<Utc> {
    utc_midnight(instant)
        .checked_add_signed(TimeDelta::days(1))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The UTC midnight that begins `instant`'s day.
fn utc_midnight(instant: DateTime<Utc>) -> DateTime<Utc> {
    instant
        .date_naive()
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    const SETTLE: Duration = Duration::from_secs(90);

    #[test]
    fn times_are_read_as_instants_local_dates_and_relative() {
        let now = at("2026-11-25T12:34:56Z");
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let read = |text: &str, tz| parse_time("--from", text, tz, now);
        assert_eq!(
            read("2026-11-01T08:00:00Z", berlin),
            Ok(at("2026-11-01T08:00:00Z"))
        );
        assert_eq!(
            read("2026-11-01T08:00:00+01:00", Tz::UTC),
            Ok(at("2026-11-01T07:00:00Z"))
        );
        assert_eq!(read("2026-11-01", berlin), Ok(at("2026-10-31T23:00:00Z")));
        assert_eq!(read("2026-07-01", berlin), Ok(at("2026-06-30T22:00:00Z")));
        assert_eq!(
            read("2026-11-01T08:00", berlin),
            Ok(at("2026-11-01T07:00:00Z"))
        );
        assert_eq!(read("-24h", berlin), Ok(at("2026-11-24T12:34:56Z")));
        assert_eq!(read("-7d", berlin), Ok(at("2026-11-18T12:34:56Z")));
        assert_eq!(read("now", berlin), Ok(now));
        // 02:30 on the last Sunday of March does not exist in Berlin.
        let skipped = read("2026-03-29T02:30", berlin).unwrap_err();
        assert!(skipped.to_string().contains("does not exist"), "{skipped}");
        for bad in ["yesterday", "-soon", "2026-13-01", "12:00"] {
            let err = read(bad, berlin).unwrap_err();
            assert!(err.to_string().starts_with("--from "), "{err}");
        }
    }

    #[test]
    fn a_range_keeps_completed_buckets_aligned_to_the_granularity() {
        let now = at("2026-11-25T12:01:00Z");
        let range = Range::new(
            "q",
            at("2026-11-25T09:20:00Z"),
            now,
            Granularity::Minutes(60),
            Tz::UTC,
            SETTLE,
            now,
        )
        .unwrap();
        let starts: Vec<String> = range.buckets().map(|b| b.start.to_rfc3339()).collect();
        // 11:00-12:00 ends at 12:00 and settles at 12:01:30: not complete yet.
        assert_eq!(
            starts,
            ["2026-11-25T09:00:00+00:00", "2026-11-25T10:00:00+00:00"]
        );
        assert_eq!(range.requests(false), 1);
    }

    #[test]
    fn requests_cover_at_most_seven_days() {
        let now = at("2026-12-01T00:00:00Z");
        let range = Range::new(
            "q",
            at("2026-11-01T00:00:00Z"),
            at("2026-12-01T00:00:00Z"),
            Granularity::Minutes(30),
            Tz::UTC,
            Duration::ZERO,
            now,
        )
        .unwrap();
        assert_eq!(range.bucket_count(), 30 * 48);
        assert_eq!(range.estimated_len(), 30 * 48);
        let first = range.first();
        assert_eq!(range.request_at(first, usize::MAX).len(), 7 * 48);
        let fifth = first + TimeDelta::days(28);
        assert_eq!(range.request_at(fifth, usize::MAX).len(), 2 * 48);
        assert_eq!(range.request_at(first, 10).len(), 10);
        assert_eq!(range.request_at(first, 0).len(), 1);
        assert!(range.request_at(at("2026-12-01T00:00:00Z"), 10).is_empty());
        assert_eq!(range.requests(false), 5);
        assert_eq!(range.estimated_requests(false), 5);
        assert_eq!(range.last(), at("2026-11-30T23:30:00Z"));
        let days = Range::new(
            "q",
            at("2026-11-01T00:00:00Z"),
            now,
            Granularity::Day,
            Tz::UTC,
            Duration::ZERO,
            now,
        )
        .unwrap();
        assert_eq!(days.request_at(days.first(), usize::MAX).len(), 7);
    }

    #[test]
    fn a_walk_by_utc_day_cuts_requests_at_every_midnight() {
        let now = at("2026-12-01T00:00:00Z");
        // 8 days from 06:00: 9 UTC days touched.
        let range = Range::new(
            "q",
            at("2026-11-01T06:00:00Z"),
            at("2026-11-09T06:00:00Z"),
            Granularity::Minutes(30),
            Tz::UTC,
            Duration::ZERO,
            now,
        )
        .unwrap();
        assert_eq!(range.requests(false), 2);
        assert_eq!(range.requests(true), 9);
        assert_eq!(range.estimated_requests(true), 9);
        // Daily buckets in Tokyo start at 15:00 UTC: each on a UTC day of its own.
        let days = Range::new(
            "q",
            at("2026-11-01T15:00:00Z"),
            at("2026-11-11T15:00:00Z"),
            Granularity::Day,
            "Asia/Tokyo".parse().unwrap(),
            Duration::ZERO,
            now,
        )
        .unwrap();
        assert_eq!(days.bucket_count(), 10);
        assert_eq!(days.requests(false), 2);
        assert_eq!(days.requests(true), 10);
    }

    #[test]
    fn dst_days_have_their_own_length() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let now = at("2026-12-01T00:00:00Z");
        let range = Range::new(
            "q",
            parse_time("--from", "2026-10-24", berlin, now).unwrap(),
            parse_time("--to", "2026-10-27", berlin, now).unwrap(),
            Granularity::Day,
            berlin,
            SETTLE,
            now,
        )
        .unwrap();
        let hours: Vec<i64> = range
            .buckets()
            .map(|b| (b.end - b.start).num_hours())
            .collect();
        assert_eq!(hours, [24, 25, 24]);
    }

    #[test]
    fn a_range_of_centuries_is_two_instants() {
        let now = at("2026-12-06T17:00:00Z");
        let range = Range::new(
            "queues",
            parse_time("--from", "0001-01-01", Tz::UTC, now).unwrap(),
            now,
            Granularity::Minutes(30),
            Tz::UTC,
            SETTLE,
            now,
        )
        .unwrap();
        assert_eq!(range.estimated_len(), 35_517_873);
        assert_eq!(range.estimated_requests(false), 105_708);
        assert_eq!(range.request_at(range.first(), 3).len(), 3);
    }

    #[test]
    fn reversed_future_and_empty_ranges_are_refused() {
        let now = at("2026-11-25T12:00:00Z");
        let new = |from: &str, to: &str| {
            Range::new(
                "q",
                at(from),
                at(to),
                Granularity::Minutes(60),
                Tz::UTC,
                SETTLE,
                now,
            )
        };
        let reversed = new("2026-11-25T10:00:00Z", "2026-11-25T09:00:00Z").unwrap_err();
        assert!(reversed.to_string().contains("--from"), "{reversed}");
        assert!(matches!(reversed, RangeError::Reversed { .. }));
        let future = new("2026-11-26T10:00:00Z", "2026-11-27T09:00:00Z").unwrap_err();
        assert!(matches!(future, RangeError::Future { .. }), "{future}");
        let empty = new("2026-11-25T09:10:00Z", "2026-11-25T09:50:00Z").unwrap_err();
        assert!(matches!(empty, RangeError::Empty { .. }), "{empty}");
    }
}

//! Interval arithmetic: which aggregation bucket to ask Genesys for, and when.
//!
//! Genesys Cloud aligns aggregate buckets in the query's `timeZone`: a `P1D` bucket runs
//! from local midnight to the next local midnight (23 h or 25 h on a DST change day) and a
//! `PT30M` bucket starts at :00 or :30 on the local wall clock. The exporter always queries
//! the **most recent completed bucket**, so everything here answers one of two questions:
//! "which bucket is that, now?" ([`latest_completed`]) and "when is the next one complete?"
//! ([`next_completion`]).
//!
//! Everything in this module is pure: no I/O and no clock reads (`now` is always a
//! parameter), so the scheduling logic can be tested exhaustively, DST changes included.
//!
//! # How buckets are laid out
//!
//! The time line is cut into consecutive half-open buckets `[start, end)`; every instant lies
//! in exactly one bucket. The cuts ("boundaries") are:
//!
//! * **Sub-day granularities** (`PT5M` ... `PT12H`): every instant at which the local wall
//!   clock, read with the UTC offset in force at that instant, shows a multiple of the
//!   bucket size since midnight; plus every instant at which the zone's UTC offset changes.
//!   Steps are absolute time, so across a DST change a `PT1H` bucket lasts one hour, never
//!   zero or two. When an offset change is not a multiple of the bucket size (a `PT2H`
//!   bucket across a one-hour change, or Lord Howe Island's 30-minute DST), the buckets next
//!   to the change are shorter than the granularity but never longer.
//! * **`P1D`**: the first instant of every local calendar day, which is local midnight, the
//!   earlier midnight when midnight occurs twice, or the first instant after the gap when a
//!   DST change skips midnight (America/Sao_Paulo until 2019, Asia/Beirut). A local day that
//!   does not exist at all (Pacific/Apia skipped 2011-12-30) has no bucket.
//!
//! Offset changes are found by probing the zone at least once an hour, which assumes a zone
//! never changes its offset and changes it back within the same hour; no real zone does.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// Minutes in a day: every sub-day granularity must divide it so that buckets tile a local
/// day exactly and line up with `P1D` buckets at local midnight.
const MINUTES_PER_DAY: u32 = 1440;
/// Finest granularity accepted. Finer buckets multiply API calls for little insight, and
/// Genesys posts some metrics late enough that a 1-minute bucket would be mostly noise.
const MIN_MINUTES: u32 = 5;
/// Longest sub-day granularity (half a day); anything longer that tiles a day is `P1D`.
const MAX_MINUTES: u32 = 720;
/// What to tell a user whose granularity was rejected.
const ALLOWED: &str = "allowed: P1D, or a whole number of minutes from 5 to 720 that divides \
    1440 so buckets tile a day (PT5M, PT10M, PT15M, PT20M, PT30M, PT1H, PT2H, PT3H, PT4H, \
    PT6H, PT8H, PT12H, ...)";

/// Size of one aggregation bucket.
///
/// Only sizes that tile a day evenly are allowed, so that buckets align to local midnight
/// the same way Genesys aligns them and a `PT30M` series never drifts against the day.
/// Build one with [`Granularity::parse`]; a `Minutes` value built by hand outside
/// `5..=720` or not dividing 1440 is still handled without panicking, but its buckets may
/// not line up with local midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Granularity {
    /// A sub-day bucket of this many minutes: 5..=720 and a divisor of 1440.
    Minutes(u32),
    /// One local calendar day, midnight to midnight in the query's time zone.
    Day,
}

/// Why a granularity string was rejected. Each message quotes the input and lists what is
/// allowed, so that it can be shown to the user as is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GranularityError {
    /// Not an ISO-8601 duration at all (or a form this exporter does not read).
    #[error("granularity {text:?} is not an ISO-8601 duration ({reason}); {ALLOWED}")]
    Syntax {
        /// The rejected input.
        text: String,
        /// What exactly is wrong with it.
        reason: String,
    },
    /// A duration of zero.
    #[error("granularity {text:?} is zero; {ALLOWED}")]
    Zero {
        /// The rejected input.
        text: String,
    },
    /// A duration that is not a whole number of minutes, such as `PT90S`.
    #[error("granularity {text:?} is not a whole number of minutes; {ALLOWED}")]
    NotWholeMinutes {
        /// The rejected input.
        text: String,
    },
    /// Shorter than the 5-minute minimum.
    #[error(
        "granularity {text:?} is too fine: {minutes} min is below the {MIN_MINUTES}-minute minimum; {ALLOWED}"
    )]
    TooFine {
        /// The rejected input.
        text: String,
        /// Its length in minutes.
        minutes: u64,
    },
    /// Longer than a day, or in calendar units (weeks, months, years).
    #[error("granularity {text:?} is longer than a day; {ALLOWED}")]
    TooCoarse {
        /// The rejected input.
        text: String,
    },
    /// Between 5 minutes and a day but not a divisor of 1440 minutes.
    #[error(
        "granularity {text:?} does not tile a day: {minutes} min does not divide 1440 min (nearest that do: {nearest}); {ALLOWED}"
    )]
    DoesNotTileDay {
        /// The rejected input.
        text: String,
        /// Its length in minutes.
        minutes: u64,
        /// The closest allowed granularities, for the message.
        nearest: String,
    },
}

impl Granularity {
    /// Every allowed granularity, finest first. Useful for documentation and exhaustive tests.
    pub fn all() -> Vec<Granularity> {
        (MIN_MINUTES..=MAX_MINUTES)
            .filter(|m| MINUTES_PER_DAY.is_multiple_of(*m))
            .map(Granularity::Minutes)
            .chain(std::iter::once(Granularity::Day))
            .collect()
    }

    /// Parses an ISO-8601 duration such as `PT15M`, `PT1H` or `P1D`.
    ///
    /// Equivalent spellings are accepted (`PT60M` is `PT1H`, `PT24H` is `P1D`, `PT1H30M`
    /// is `PT90M`, letters in either case) because what matters is the bucket length.
    /// Rejected, each with its own message: anything finer than 5 minutes, longer than a
    /// day, not a whole number of minutes, not dividing a day (`PT7M`), calendar units
    /// (`P1W`, `P1M`, `P1Y`), fractions, and anything that is not a duration.
    pub fn parse(text: &str) -> Result<Granularity, GranularityError> {
        let seconds = parse_iso8601_duration_seconds(text)?;
        if seconds == 0 {
            return Err(GranularityError::Zero { text: text.into() });
        }
        if seconds % 60 != 0 {
            return Err(GranularityError::NotWholeMinutes { text: text.into() });
        }
        let minutes = seconds / 60;
        let day = u64::from(MINUTES_PER_DAY);
        if minutes == day {
            return Ok(Granularity::Day);
        }
        if minutes > day {
            return Err(GranularityError::TooCoarse { text: text.into() });
        }
        if minutes < u64::from(MIN_MINUTES) {
            return Err(GranularityError::TooFine {
                text: text.into(),
                minutes,
            });
        }
        if day % minutes != 0 {
            return Err(GranularityError::DoesNotTileDay {
                text: text.into(),
                minutes,
                nearest: nearest_allowed(minutes),
            });
        }
        // 5 <= minutes < 1440 here, so it fits in a u32.
        match u32::try_from(minutes) {
            Ok(m) => Ok(Granularity::Minutes(m)),
            Err(_) => Err(GranularityError::TooCoarse { text: text.into() }),
        }
    }

    /// The canonical ISO-8601 form, as sent to Genesys and shown to users: `PT5M`,
    /// `PT30M`, `PT1H`, `PT2H`, `P1D` (whole hours are written in hours).
    pub fn as_iso8601(&self) -> String {
        match *self {
            Granularity::Day => "P1D".to_string(),
            Granularity::Minutes(m) if m != 0 && m % 60 == 0 => format!("PT{}H", m / 60),
            Granularity::Minutes(m) => format!("PT{m}M"),
        }
    }

    /// The bucket length, counting a day as 24 h (a local day at a DST change is 23 or
    /// 25 h): the normal time between two polls of a query, as its alerts see it.
    pub fn nominal_length(&self) -> Duration {
        match *self {
            Granularity::Day => Duration::from_secs(u64::from(MINUTES_PER_DAY) * 60),
            Granularity::Minutes(m) => Duration::from_secs(u64::from(m) * 60),
        }
    }

    /// Bucket length in seconds for sub-day granularities, `None` for `Day`. Hand-built
    /// values outside `1..=1440` minutes are clamped into that range.
    fn step_seconds(&self) -> Option<i64> {
        match *self {
            Granularity::Day => None,
            Granularity::Minutes(m) => Some(i64::from(m.clamp(1, MINUTES_PER_DAY)) * 60),
        }
    }

    /// The start of the bucket that contains `t`: the latest boundary at or before `t`.
    pub fn bucket_start(&self, t: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let secs = t.timestamp();
        let start = match self.step_seconds() {
            Some(step) => sub_day_bucket_start(tz, step, secs),
            None => day_bucket_start(tz, secs),
        };
        from_secs(start)
    }

    /// The start of the bucket after the one that starts at `start`: the earliest boundary
    /// strictly after `start`. Also the end of that bucket.
    pub fn next_bucket_start(&self, start: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let secs = start.timestamp();
        let next = match self.step_seconds() {
            Some(step) => sub_day_next_start(tz, step, secs),
            None => day_next_start(tz, secs),
        };
        from_secs(next)
    }

    /// The start of the bucket before the one that starts at `start`: the latest boundary
    /// strictly before `start`.
    pub fn previous_bucket_start(&self, start: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        // Boundaries are whole seconds, so the bucket holding the instant just before
        // `start` begins at the latest boundary before `start`.
        match start.checked_sub_signed(TimeDelta::nanoseconds(1)) {
            Some(just_before) => self.bucket_start(just_before, tz),
            None => start,
        }
    }
}

impl fmt::Display for Granularity {
    /// The canonical ISO-8601 form, see [`Granularity::as_iso8601`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_iso8601())
    }
}

impl FromStr for Granularity {
    type Err = GranularityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Granularity::parse(s)
    }
}

/// The allowed sub-day granularities closest to `minutes` (below and above), for messages.
fn nearest_allowed(minutes: u64) -> String {
    let allowed: Vec<u64> = (MIN_MINUTES..=MINUTES_PER_DAY)
        .filter(|m| MINUTES_PER_DAY.is_multiple_of(*m))
        .map(u64::from)
        .collect();
    let below = allowed.iter().rev().find(|&&m| m < minutes);
    let above = allowed.iter().find(|&&m| m > minutes);
    let name = |m: u64| {
        if m == u64::from(MINUTES_PER_DAY) {
            Granularity::Day.as_iso8601()
        } else {
            // m <= 720 here.
            Granularity::Minutes(u32::try_from(m).unwrap_or(MAX_MINUTES)).as_iso8601()
        }
    };
    match (below, above) {
        (Some(&b), Some(&a)) => format!("{} or {}", name(b), name(a)),
        (Some(&b), None) => name(b),
        (None, Some(&a)) => name(a),
        (None, None) => Granularity::Day.as_iso8601(),
    }
}

/// Reads an ISO-8601 duration `P[nY][nM][nW][nD][T[nH][nM][nS]]` into seconds.
///
/// Calendar units (years, months, weeks) with a non-zero value are rejected as longer than
/// a day: they have no fixed length and no use as a bucket size here.
fn parse_iso8601_duration_seconds(text: &str) -> Result<u64, GranularityError> {
    let syntax = |reason: &str| GranularityError::Syntax {
        text: text.into(),
        reason: reason.into(),
    };
    let upper = text.trim().to_ascii_uppercase();
    let Some(rest) = upper.strip_prefix('P') else {
        return Err(syntax("it must start with P, as in PT15M or P1D"));
    };
    if rest.is_empty() {
        return Err(syntax("no value after P"));
    }
    let (date_part, time_part) = match rest.split_once('T') {
        Some((d, t)) => {
            if t.is_empty() {
                return Err(syntax("no value after T"));
            }
            (d, Some(t))
        }
        None => (rest, None),
    };
    let mut seconds: u64 = 0;
    let mut calendar = false;
    let mut add = |value: u64, unit_seconds: u64| -> Result<(), GranularityError> {
        seconds = value
            .checked_mul(unit_seconds)
            .and_then(|v| seconds.checked_add(v))
            .ok_or_else(|| GranularityError::TooCoarse { text: text.into() })?;
        Ok(())
    };
    for (value, unit) in components(date_part, "YMWD").map_err(|r| syntax(&r))? {
        match unit {
            'D' => add(value, 86_400)?,
            _ if value != 0 => calendar = true,
            _ => {}
        }
    }
    if let Some(time_part) = time_part {
        for (value, unit) in components(time_part, "HMS").map_err(|r| syntax(&r))? {
            let unit_seconds = match unit {
                'H' => 3_600,
                'M' => 60,
                _ => 1,
            };
            add(value, unit_seconds)?;
        }
    }
    if calendar {
        return Err(GranularityError::TooCoarse { text: text.into() });
    }
    Ok(seconds)
}

/// Splits `12H30M` into `[(12, 'H'), (30, 'M')]`, requiring units in the order of `units`,
/// each at most once, every number followed by a unit.
fn components(part: &str, units: &str) -> Result<Vec<(u64, char)>, String> {
    let mut out = Vec::new();
    let mut number = String::new();
    let mut allowed = units;
    for c in part.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        if c == '.' || c == ',' {
            return Err("fractional values are not supported".into());
        }
        let Some(position) = allowed.find(c) else {
            return Err(if units.contains(c) {
                format!("unit {c} is repeated or out of order")
            } else {
                format!("unexpected character {c:?}")
            });
        };
        if number.is_empty() {
            return Err(format!("unit {c} has no number before it"));
        }
        let value = number
            .parse::<u64>()
            .map_err(|_| format!("number {number} is too large"))?;
        out.push((value, c));
        number.clear();
        allowed = &allowed[position + c.len_utf8()..];
    }
    if !number.is_empty() {
        return Err(format!("number {number} has no unit after it"));
    }
    if out.is_empty() && !part.is_empty() {
        return Err("no components".into());
    }
    Ok(out)
}

/// A half-open time range `[start, end)`, the way Genesys writes intervals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Interval {
    /// First instant inside the interval.
    pub start: DateTime<Utc>,
    /// First instant after the interval.
    pub end: DateTime<Utc>,
}

/// Why an interval string could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IntervalError {
    /// No `/` between start and end.
    #[error(
        "interval {text:?} is not of the form START/END, e.g. 2026-11-25T12:00:00.000Z/2026-11-25T13:00:00.000Z"
    )]
    NotAPair {
        /// The rejected input.
        text: String,
    },
    /// One side is not an RFC 3339 timestamp.
    #[error(
        "interval {text:?}: {which} {part:?} is not an RFC 3339 timestamp such as 2026-11-25T12:00:00.000Z or 2026-11-25T13:00:00+01:00 ({reason})"
    )]
    BadTimestamp {
        /// The rejected input.
        text: String,
        /// `"start"` or `"end"`.
        which: &'static str,
        /// The offending side.
        part: String,
        /// What the timestamp parser said.
        reason: String,
    },
    /// The end is not after the start.
    #[error("interval {text:?} is empty or reversed: its end is not after its start")]
    NotIncreasing {
        /// The rejected input.
        text: String,
    },
}

impl Interval {
    /// The interval in the exact form the aggregates API uses in requests and responses:
    /// `2026-11-25T12:00:00.000Z/2026-11-25T13:00:00.000Z` (UTC, milliseconds).
    pub fn to_iso8601(&self) -> String {
        const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";
        format!("{}/{}", self.start.format(FORMAT), self.end.format(FORMAT))
    }

    /// Reads `START/END` with two RFC 3339 timestamps, in UTC (`Z`) or with an offset
    /// (`+01:00`), as found in Genesys responses. The end must be after the start.
    pub fn parse_iso8601(text: &str) -> Result<Interval, IntervalError> {
        let Some((start, end)) = text.trim().split_once('/') else {
            return Err(IntervalError::NotAPair { text: text.into() });
        };
        let parse = |which: &'static str, part: &str| {
            DateTime::parse_from_rfc3339(part.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| IntervalError::BadTimestamp {
                    text: text.into(),
                    which,
                    part: part.into(),
                    reason: e.to_string(),
                })
        };
        let interval = Interval {
            start: parse("start", start)?,
            end: parse("end", end)?,
        };
        if interval.end <= interval.start {
            return Err(IntervalError::NotIncreasing { text: text.into() });
        }
        Ok(interval)
    }
}

impl fmt::Display for Interval {
    /// The Genesys form, see [`Interval::to_iso8601`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso8601())
    }
}

impl FromStr for Interval {
    type Err = IntervalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Interval::parse_iso8601(s)
    }
}

/// The latest bucket whose `end + settle_delay <= now`: the one to query now.
///
/// The settle delay exists because Genesys posts timers to the bucket in which the measured
/// thing ended and needs a little while to do so; querying the instant a bucket closes
/// would read it incomplete. A bucket whose `end + settle_delay` equals `now` exactly
/// counts as complete.
pub fn latest_completed(
    now: DateTime<Utc>,
    granularity: Granularity,
    tz: Tz,
    settle_delay: std::time::Duration,
) -> Interval {
    let settle = TimeDelta::from_std(settle_delay).unwrap_or(TimeDelta::MAX);
    let cutoff = now
        .checked_sub_signed(settle)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    // The latest boundary at or before the cutoff is the end of the latest complete bucket.
    let end = granularity.bucket_start(cutoff, tz);
    let start = granularity.previous_bucket_start(end, tz);
    Interval { start, end }
}

/// The bucket that contains `now`: the interval in progress (`period: current`).
pub fn in_progress(now: DateTime<Utc>, granularity: Granularity, tz: Tz) -> Interval {
    let start = granularity.bucket_start(now, tz);
    let end = granularity.next_bucket_start(start, tz);
    Interval { start, end }
}

/// The instant at which the bucket after `interval` becomes complete (its end plus
/// `settle_delay`): when to poll next. At that instant [`latest_completed`] returns the
/// bucket that follows `interval`.
pub fn next_completion(
    interval: &Interval,
    granularity: Granularity,
    tz: Tz,
    settle_delay: std::time::Duration,
) -> DateTime<Utc> {
    let settle = TimeDelta::from_std(settle_delay).unwrap_or(TimeDelta::MAX);
    let next_end = granularity.next_bucket_start(interval.end, tz);
    next_end
        .checked_add_signed(settle)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

// ---------------------------------------------------------------------------------------
// Boundary arithmetic on Unix seconds. Boundaries are always whole seconds (UTC offsets and
// offset changes are whole seconds), so sub-second parts of inputs can be dropped.

/// Longest stretch probed without looking at the zone's offset in between: offset changes
/// are assumed to be at least this far apart.
const PROBE_SECONDS: i64 = 3_600;

/// Smallest and largest Unix second chrono can represent.
fn secs_range() -> (i64, i64) {
    (
        DateTime::<Utc>::MIN_UTC.timestamp(),
        DateTime::<Utc>::MAX_UTC.timestamp(),
    )
}

/// The instant at Unix second `secs`, clamped to what chrono can represent.
fn from_secs(secs: i64) -> DateTime<Utc> {
    let (min, max) = secs_range();
    DateTime::<Utc>::from_timestamp(secs.clamp(min, max), 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The zone's UTC offset in seconds (local minus UTC) in force at Unix second `secs`.
fn offset_at(tz: Tz, secs: i64) -> i64 {
    let utc = from_secs(secs).naive_utc();
    i64::from(tz.offset_from_utc_datetime(&utc).fix().local_minus_utc())
}

/// The smallest `u` in `(lo, hi]` with `pred(u)`, given `!pred(lo)` and `pred(hi)` and a
/// single change of `pred` in between.
fn first_true(mut lo: i64, mut hi: i64, pred: impl Fn(i64) -> bool) -> i64 {
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The latest offset change in `(lo, hi]`, if any.
fn last_offset_change(tz: Tz, lo: i64, hi: i64) -> Option<i64> {
    let mut b = hi;
    let mut off_b = offset_at(tz, b);
    while b > lo {
        let a = (b - PROBE_SECONDS).max(lo);
        let off_a = offset_at(tz, a);
        if off_a != off_b {
            return Some(first_true(a, b, |u| offset_at(tz, u) == off_b));
        }
        b = a;
        off_b = off_a;
    }
    None
}

/// The earliest offset change in `(lo, hi]`, if any.
fn first_offset_change(tz: Tz, lo: i64, hi: i64) -> Option<i64> {
    let mut a = lo;
    let mut off_a = offset_at(tz, a);
    while a < hi {
        let b = (a + PROBE_SECONDS).min(hi);
        let off_b = offset_at(tz, b);
        if off_a != off_b {
            return Some(first_true(a, b, |u| offset_at(tz, u) != off_a));
        }
        a = b;
        off_a = off_b;
    }
    None
}

/// Latest sub-day boundary at or before `t`: the latest wall-clock-aligned instant under
/// `t`'s offset, unless the offset changed after it, in which case the change itself.
fn sub_day_bucket_start(tz: Tz, step: i64, t: i64) -> i64 {
    let off = offset_at(tz, t);
    let aligned = t - (t + off).rem_euclid(step);
    last_offset_change(tz, aligned, t).unwrap_or(aligned)
}

/// Earliest sub-day boundary strictly after `s`: the next wall-clock-aligned instant under
/// `s`'s offset, unless the offset changes before it, in which case the change itself.
fn sub_day_next_start(tz: Tz, step: i64, s: i64) -> i64 {
    let off = offset_at(tz, s);
    let aligned = s + step - (s + off).rem_euclid(step);
    first_offset_change(tz, s, aligned).unwrap_or(aligned)
}

/// The first instant of local calendar day `date`: local midnight, the earlier one if
/// midnight happens twice, or the end of the gap if a DST change skips midnight. `None`
/// only outside chrono's range.
fn day_start(tz: Tz, date: NaiveDate) -> Option<i64> {
    let midnight = date.and_time(NaiveTime::MIN);
    match tz.from_local_datetime(&midnight) {
        LocalResult::Single(t) => Some(t.timestamp()),
        LocalResult::Ambiguous(a, b) => Some(a.timestamp().min(b.timestamp())),
        LocalResult::None => {
            // Midnight falls in a gap: find the first instant whose wall clock reads
            // midnight or later. UTC offsets stay well within +-26 h, so the answer lies
            // within two days of midnight read as UTC.
            let m = midnight.and_utc().timestamp();
            let is_on_or_after = |u: i64| u + offset_at(tz, u) >= m;
            let (lo, hi) = (m - 2 * 86_400, m + 2 * 86_400);
            let (min, max) = secs_range();
            if lo < min || hi > max || is_on_or_after(lo) || !is_on_or_after(hi) {
                return None;
            }
            Some(first_true(lo, hi, is_on_or_after))
        }
    }
}

/// The local calendar date at Unix second `secs`.
fn local_date(tz: Tz, secs: i64) -> NaiveDate {
    from_secs(secs.saturating_add(offset_at(tz, secs))).date_naive()
}

/// Latest `P1D` boundary at or before `t`.
fn day_bucket_start(tz: Tz, t: i64) -> i64 {
    let date = local_date(tz, t);
    // `t`'s own date normally starts the bucket; its neighbours cover zones that set the
    // clock back across midnight, where the wall clock can show yesterday's date after
    // today's first instant.
    [date.pred_opt(), Some(date), date.succ_opt()]
        .into_iter()
        .flatten()
        .filter_map(|d| day_start(tz, d))
        .filter(|&s| s <= t)
        .max()
        .unwrap_or(t)
}

/// Earliest `P1D` boundary strictly after `s`.
fn day_next_start(tz: Tz, s: i64) -> i64 {
    let date = local_date(tz, s);
    // Two days ahead covers a skipped local day (Pacific/Apia, 2011-12-30).
    std::iter::successors(Some(date), |d| d.succ_opt())
        .take(4)
        .filter_map(|d| day_start(tz, d))
        .filter(|&n| n > s)
        .min()
        .unwrap_or_else(|| s.saturating_add(86_400))
}

#[cfg(test)]
mod tests;

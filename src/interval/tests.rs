//! Buckets and intervals across time zones, with the DST transitions as tables.

use super::*;
use chrono_tz::{America, Asia, Australia, Europe, Pacific};
use std::time::Duration;

fn utc(text: &str) -> DateTime<Utc> {
    match DateTime::parse_from_rfc3339(text) {
        Ok(t) => t.with_timezone(&Utc),
        Err(e) => panic!("bad test timestamp {text}: {e}"),
    }
}

fn g(text: &str) -> Granularity {
    match Granularity::parse(text) {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    }
}

fn iv(start: &str, end: &str) -> Interval {
    Interval {
        start: utc(start),
        end: utc(end),
    }
}

const UTC: Tz = Tz::UTC;
const LONDON: Tz = Europe::London;
const KOLKATA: Tz = Asia::Kolkata;

// ----- parsing and formatting -----

#[test]
fn parses_canonical_granularities() {
    assert_eq!(g("PT5M"), Granularity::Minutes(5));
    assert_eq!(g("PT15M"), Granularity::Minutes(15));
    assert_eq!(g("PT30M"), Granularity::Minutes(30));
    assert_eq!(g("PT1H"), Granularity::Minutes(60));
    assert_eq!(g("PT2H"), Granularity::Minutes(120));
    assert_eq!(g("PT12H"), Granularity::Minutes(720));
    assert_eq!(g("P1D"), Granularity::Day);
}

#[test]
fn parses_equivalent_spellings() {
    assert_eq!(g("PT60M"), Granularity::Minutes(60));
    assert_eq!(g("PT24H"), Granularity::Day);
    assert_eq!(g("PT1440M"), Granularity::Day);
    assert_eq!(g("PT1H30M"), Granularity::Minutes(90));
    assert_eq!(g("PT300S"), Granularity::Minutes(5));
    assert_eq!(g("P0DT1H"), Granularity::Minutes(60));
    assert_eq!(g("P0Y0M0W1D"), Granularity::Day);
    assert_eq!(g("pt15m"), Granularity::Minutes(15));
    assert_eq!(g(" PT15M "), Granularity::Minutes(15));
}

#[test]
fn ninety_minutes_tiles_a_day() {
    // 1440 / 90 = 16, so PT90M is an allowed granularity.
    assert_eq!(g("PT90M"), Granularity::Minutes(90));
    assert_eq!(g("PT90M").as_iso8601(), "PT90M");
}

#[test]
fn canonical_form() {
    let cases = [
        (Granularity::Minutes(5), "PT5M"),
        (Granularity::Minutes(30), "PT30M"),
        (Granularity::Minutes(45), "PT45M"),
        (Granularity::Minutes(60), "PT1H"),
        (Granularity::Minutes(120), "PT2H"),
        (Granularity::Minutes(720), "PT12H"),
        (Granularity::Day, "P1D"),
    ];
    for (granularity, text) in cases {
        assert_eq!(granularity.as_iso8601(), text);
        assert_eq!(granularity.to_string(), text);
        assert_eq!(text.parse::<Granularity>(), Ok(granularity));
    }
}

#[test]
fn every_allowed_granularity_round_trips() {
    let all = Granularity::all();
    assert_eq!(all.len(), 32);
    assert_eq!(all.first(), Some(&Granularity::Minutes(5)));
    assert_eq!(all.last(), Some(&Granularity::Day));
    for granularity in all {
        assert_eq!(g(&granularity.as_iso8601()), granularity);
        if let Granularity::Minutes(m) = granularity {
            assert_eq!(g(&format!("PT{m}M")), granularity);
            assert_eq!(1440 % m, 0);
        }
    }
    for m in 0..=3000u32 {
        let accepted = Granularity::parse(&format!("PT{m}M")).is_ok();
        let expected = m == 1440 || ((5..=720).contains(&m) && 1440 % m == 0);
        assert_eq!(accepted, expected, "PT{m}M");
    }
}

#[test]
fn rejects_every_bad_granularity_with_a_reason() {
    use GranularityError as E;
    type IsKind = fn(&GranularityError) -> bool;
    let cases: &[(&str, IsKind, &str)] = &[
        (
            "PT1M",
            |e| matches!(e, E::TooFine { minutes: 1, .. }),
            "too fine",
        ),
        (
            "PT4M",
            |e| matches!(e, E::TooFine { .. }),
            "below the 5-minute",
        ),
        (
            "PT7M",
            |e| matches!(e, E::DoesNotTileDay { minutes: 7, .. }),
            "PT6M or PT8M",
        ),
        (
            "PT25M",
            |e| matches!(e, E::DoesNotTileDay { .. }),
            "PT24M or PT30M",
        ),
        (
            "PT7H",
            |e| matches!(e, E::DoesNotTileDay { .. }),
            "PT6H or PT8H",
        ),
        (
            "PT13H",
            |e| matches!(e, E::DoesNotTileDay { .. }),
            "PT12H or P1D",
        ),
        (
            "PT23H",
            |e| matches!(e, E::DoesNotTileDay { .. }),
            "does not tile a day",
        ),
        (
            "P2D",
            |e| matches!(e, E::TooCoarse { .. }),
            "longer than a day",
        ),
        (
            "PT25H",
            |e| matches!(e, E::TooCoarse { .. }),
            "longer than a day",
        ),
        (
            "P1DT1H",
            |e| matches!(e, E::TooCoarse { .. }),
            "longer than a day",
        ),
        (
            "P1W",
            |e| matches!(e, E::TooCoarse { .. }),
            "longer than a day",
        ),
        (
            "P1M",
            |e| matches!(e, E::TooCoarse { .. }),
            "longer than a day",
        ),
        (
            "P1Y",
            |e| matches!(e, E::TooCoarse { .. }),
            "longer than a day",
        ),
        ("PT0M", |e| matches!(e, E::Zero { .. }), "is zero"),
        ("P0D", |e| matches!(e, E::Zero { .. }), "is zero"),
        (
            "PT90S",
            |e| matches!(e, E::NotWholeMinutes { .. }),
            "whole number",
        ),
        ("PT0.5H", |e| matches!(e, E::Syntax { .. }), "fractional"),
        ("PT1,5H", |e| matches!(e, E::Syntax { .. }), "fractional"),
        ("", |e| matches!(e, E::Syntax { .. }), "must start with P"),
        (
            "15m",
            |e| matches!(e, E::Syntax { .. }),
            "must start with P",
        ),
        (
            "30 minutes",
            |e| matches!(e, E::Syntax { .. }),
            "must start with P",
        ),
        ("P", |e| matches!(e, E::Syntax { .. }), "no value after P"),
        ("PT", |e| matches!(e, E::Syntax { .. }), "no value after T"),
        (
            "P1DT",
            |e| matches!(e, E::Syntax { .. }),
            "no value after T",
        ),
        ("PT15", |e| matches!(e, E::Syntax { .. }), "no unit"),
        ("PTM", |e| matches!(e, E::Syntax { .. }), "no number"),
        (
            "PT15X",
            |e| matches!(e, E::Syntax { .. }),
            "unexpected character",
        ),
        ("PT30M1H", |e| matches!(e, E::Syntax { .. }), "out of order"),
        (
            "PT15M15M",
            |e| matches!(e, E::Syntax { .. }),
            "out of order",
        ),
        (
            "P1H",
            |e| matches!(e, E::Syntax { .. }),
            "unexpected character 'H'",
        ),
        (
            "PT1D",
            |e| matches!(e, E::Syntax { .. }),
            "unexpected character 'D'",
        ),
        (
            "PT-15M",
            |e| matches!(e, E::Syntax { .. }),
            "unexpected character '-'",
        ),
        (
            "-PT15M",
            |e| matches!(e, E::Syntax { .. }),
            "must start with P",
        ),
        ("PT1H\n", |_| true, ""), // trimmed, accepted: checked below
        (
            "PT99999999999999999999M",
            |e| matches!(e, E::Syntax { .. }),
            "too large",
        ),
        (
            "PT9999999999999999999H",
            |e| matches!(e, E::TooCoarse { .. }),
            "longer than a day",
        ),
        (
            "PT15M\u{e9}",
            |e| matches!(e, E::Syntax { .. }),
            "unexpected character",
        ),
    ];
    for (text, is_kind, fragment) in cases {
        if *text == "PT1H\n" {
            assert_eq!(g(text), Granularity::Minutes(60));
            continue;
        }
        let err = match Granularity::parse(text) {
            Ok(g) => panic!("{text:?} was accepted as {g}"),
            Err(e) => e,
        };
        assert!(is_kind(&err), "{text:?}: unexpected kind {err:?}");
        let message = err.to_string();
        assert!(message.contains(fragment), "{text:?}: {message}");
        assert!(
            message.contains(&format!("{text:?}")),
            "{text:?}: {message}"
        );
        assert!(message.contains("allowed: P1D"), "{text:?}: {message}");
        assert!(!message.contains('\n'), "{text:?}: {message}");
    }
}

#[test]
fn interval_formats_like_genesys() {
    let interval = iv("2026-11-25T12:00:00Z", "2026-11-25T13:00:00Z");
    assert_eq!(
        interval.to_iso8601(),
        "2026-11-25T12:00:00.000Z/2026-11-25T13:00:00.000Z"
    );
    assert_eq!(interval.to_string(), interval.to_iso8601());
    let odd = iv("2026-11-25T12:00:00.123456Z", "2026-11-25T13:00:00.9Z");
    assert_eq!(
        odd.to_iso8601(),
        "2026-11-25T12:00:00.123Z/2026-11-25T13:00:00.900Z"
    );
}

#[test]
fn interval_parses_genesys_and_offset_forms() {
    let expected = iv("2026-11-25T12:00:00Z", "2026-11-25T13:00:00Z");
    for text in [
        "2026-11-25T12:00:00.000Z/2026-11-25T13:00:00.000Z",
        "2026-11-25T12:00:00Z/2026-11-25T13:00:00Z",
        "2026-11-25T13:00:00.000+01:00/2026-11-25T14:00:00+01:00",
        "2026-11-25T17:30:00+05:30/2026-11-25T08:00:00-05:00",
        " 2026-11-25T12:00:00.000Z/2026-11-25T13:00:00.000Z ",
    ] {
        assert_eq!(Interval::parse_iso8601(text), Ok(expected), "{text}");
        assert_eq!(text.parse::<Interval>(), Ok(expected), "{text}");
    }
    let round = Interval::parse_iso8601(&expected.to_iso8601());
    assert_eq!(round, Ok(expected));
}

#[test]
fn interval_rejects_garbage() {
    let cases = [
        ("", "START/END"),
        ("2026-11-25T12:00:00Z", "START/END"),
        ("2026-11-25T12:00:00Z/", "end \"\""),
        ("/2026-11-25T12:00:00Z", "start \"\""),
        ("2026-11-25/2026-11-26", "start \"2026-11-25\""),
        ("2026-11-25T12:00:00Z/PT1H", "end \"PT1H\""),
        ("2026-13-25T12:00:00Z/2026-11-25T13:00:00Z", "RFC 3339"),
        ("2026-11-25T13:00:00Z/2026-11-25T12:00:00Z", "reversed"),
        ("2026-11-25T13:00:00Z/2026-11-25T13:00:00.000Z", "empty"),
        ("2026-11-25T13:00:00Z/2026-11-25T14:00:00Z/x", "end"),
    ];
    for (text, fragment) in cases {
        match Interval::parse_iso8601(text) {
            Ok(i) => panic!("{text:?} accepted as {i}"),
            Err(e) => {
                let message = e.to_string();
                assert!(message.contains(fragment), "{text:?}: {message}");
                assert!(!message.contains('\n'));
            }
        }
    }
}

// ----- alignment -----

fn assert_bucket(granularity: &str, tz: Tz, at: &str, start: &str, end: &str) {
    let granularity = g(granularity);
    let s = granularity.bucket_start(utc(at), tz);
    assert_eq!(
        s,
        utc(start),
        "{granularity} {tz} start of bucket holding {at}"
    );
    let e = granularity.next_bucket_start(s, tz);
    assert_eq!(e, utc(end), "{granularity} {tz} end of bucket holding {at}");
    assert_eq!(granularity.previous_bucket_start(e, tz), s);
}

#[test]
fn aligns_in_utc() {
    assert_bucket(
        "PT15M",
        UTC,
        "2026-11-25T12:07:31.5Z",
        "2026-11-25T12:00:00Z",
        "2026-11-25T12:15:00Z",
    );
    assert_bucket(
        "PT15M",
        UTC,
        "2026-11-25T12:15:00Z",
        "2026-11-25T12:15:00Z",
        "2026-11-25T12:30:00Z",
    );
    assert_bucket(
        "PT15M",
        UTC,
        "2026-11-25T12:14:59.999Z",
        "2026-11-25T12:00:00Z",
        "2026-11-25T12:15:00Z",
    );
    assert_bucket(
        "PT1H",
        UTC,
        "2026-11-25T12:59:59Z",
        "2026-11-25T12:00:00Z",
        "2026-11-25T13:00:00Z",
    );
    assert_bucket(
        "PT1H",
        UTC,
        "2026-12-31T23:30:00Z",
        "2026-12-31T23:00:00Z",
        "2027-01-01T00:00:00Z",
    );
    assert_bucket(
        "P1D",
        UTC,
        "2026-11-25T00:00:00Z",
        "2026-11-25T00:00:00Z",
        "2026-11-26T00:00:00Z",
    );
    assert_bucket(
        "P1D",
        UTC,
        "2026-11-25T23:59:59.999Z",
        "2026-11-25T00:00:00Z",
        "2026-11-26T00:00:00Z",
    );
    assert_bucket(
        "P1D",
        UTC,
        "2028-02-29T12:00:00Z",
        "2028-02-29T00:00:00Z",
        "2028-03-01T00:00:00Z",
    );
    assert_bucket(
        "PT12H",
        UTC,
        "2026-11-25T12:00:00Z",
        "2026-11-25T12:00:00Z",
        "2026-11-26T00:00:00Z",
    );
    assert_bucket(
        "PT90M",
        UTC,
        "2026-11-25T01:29:00Z",
        "2026-11-25T00:00:00Z",
        "2026-11-25T01:30:00Z",
    );
    // Before the Unix epoch, alignment still floors rather than truncating toward zero.
    assert_bucket(
        "PT1H",
        UTC,
        "1969-12-31T23:30:00Z",
        "1969-12-31T23:00:00Z",
        "1970-01-01T00:00:00Z",
    );
}

#[test]
fn aligns_to_london_wall_clock() {
    // Summer (BST, UTC+1): local midnight is 23:00 UTC the day before.
    assert_bucket(
        "P1D",
        LONDON,
        "2026-07-01T22:59:59Z",
        "2026-06-30T23:00:00Z",
        "2026-07-01T23:00:00Z",
    );
    assert_bucket(
        "P1D",
        LONDON,
        "2026-07-01T23:00:00Z",
        "2026-07-01T23:00:00Z",
        "2026-07-02T23:00:00Z",
    );
    // Winter (GMT): same as UTC.
    assert_bucket(
        "P1D",
        LONDON,
        "2026-12-01T12:00:00Z",
        "2026-12-01T00:00:00Z",
        "2026-12-02T00:00:00Z",
    );
    assert_bucket(
        "PT1H",
        LONDON,
        "2026-07-01T12:34:00Z",
        "2026-07-01T12:00:00Z",
        "2026-07-01T13:00:00Z",
    );
    assert_bucket(
        "PT15M",
        LONDON,
        "2026-07-01T12:34:00Z",
        "2026-07-01T12:30:00Z",
        "2026-07-01T12:45:00Z",
    );
    // PT2H aligns to even local hours: 12:00 BST is 11:00 UTC.
    assert_bucket(
        "PT2H",
        LONDON,
        "2026-07-01T12:34:00Z",
        "2026-07-01T11:00:00Z",
        "2026-07-01T13:00:00Z",
    );
}

#[test]
fn london_spring_forward_2026() {
    // 2026-03-29 01:00 UTC: clocks go from 01:00 GMT to 02:00 BST; the day is 23 h.
    assert_bucket(
        "P1D",
        LONDON,
        "2026-03-29T12:00:00Z",
        "2026-03-29T00:00:00Z",
        "2026-03-29T23:00:00Z",
    );
    assert_bucket(
        "P1D",
        LONDON,
        "2026-03-28T12:00:00Z",
        "2026-03-28T00:00:00Z",
        "2026-03-29T00:00:00Z",
    );
    assert_bucket(
        "P1D",
        LONDON,
        "2026-03-30T12:00:00Z",
        "2026-03-29T23:00:00Z",
        "2026-03-30T23:00:00Z",
    );
    let day = g("P1D");
    let start = day.bucket_start(utc("2026-03-29T12:00:00Z"), LONDON);
    assert_eq!(
        day.next_bucket_start(start, LONDON) - start,
        TimeDelta::hours(23)
    );
    // Hour buckets stay one hour long: 00:00-01:00 GMT, then 02:00-03:00 BST.
    assert_bucket(
        "PT1H",
        LONDON,
        "2026-03-29T00:59:59Z",
        "2026-03-29T00:00:00Z",
        "2026-03-29T01:00:00Z",
    );
    assert_bucket(
        "PT1H",
        LONDON,
        "2026-03-29T01:00:00Z",
        "2026-03-29T01:00:00Z",
        "2026-03-29T02:00:00Z",
    );
    assert_bucket(
        "PT1H",
        LONDON,
        "2026-03-29T01:30:00Z",
        "2026-03-29T01:00:00Z",
        "2026-03-29T02:00:00Z",
    );
    assert_bucket(
        "PT15M",
        LONDON,
        "2026-03-29T00:50:00Z",
        "2026-03-29T00:45:00Z",
        "2026-03-29T01:00:00Z",
    );
    assert_bucket(
        "PT15M",
        LONDON,
        "2026-03-29T01:00:00Z",
        "2026-03-29T01:00:00Z",
        "2026-03-29T01:15:00Z",
    );
    // PT2H: the 00:00-02:00 local bucket lasts one hour because 01:00-02:00 never happens.
    assert_bucket(
        "PT2H",
        LONDON,
        "2026-03-29T00:30:00Z",
        "2026-03-29T00:00:00Z",
        "2026-03-29T01:00:00Z",
    );
    assert_bucket(
        "PT2H",
        LONDON,
        "2026-03-29T01:30:00Z",
        "2026-03-29T01:00:00Z",
        "2026-03-29T03:00:00Z",
    );
}

#[test]
fn london_fall_back_2026() {
    // 2026-10-25 01:00 UTC: clocks go from 02:00 BST back to 01:00 GMT; the day is 25 h.
    assert_bucket(
        "P1D",
        LONDON,
        "2026-10-25T12:00:00Z",
        "2026-10-24T23:00:00Z",
        "2026-10-26T00:00:00Z",
    );
    assert_bucket(
        "P1D",
        LONDON,
        "2026-10-24T22:59:59Z",
        "2026-10-23T23:00:00Z",
        "2026-10-24T23:00:00Z",
    );
    assert_bucket(
        "P1D",
        LONDON,
        "2026-10-26T00:00:00Z",
        "2026-10-26T00:00:00Z",
        "2026-10-27T00:00:00Z",
    );
    let day = g("P1D");
    let start = day.bucket_start(utc("2026-10-25T12:00:00Z"), LONDON);
    assert_eq!(
        day.next_bucket_start(start, LONDON) - start,
        TimeDelta::hours(25)
    );
    // 01:00-02:00 local happens twice; each is its own one-hour bucket.
    assert_bucket(
        "PT1H",
        LONDON,
        "2026-10-25T00:30:00Z",
        "2026-10-25T00:00:00Z",
        "2026-10-25T01:00:00Z",
    );
    assert_bucket(
        "PT1H",
        LONDON,
        "2026-10-25T01:30:00Z",
        "2026-10-25T01:00:00Z",
        "2026-10-25T02:00:00Z",
    );
    assert_bucket(
        "PT15M",
        LONDON,
        "2026-10-25T00:59:00Z",
        "2026-10-25T00:45:00Z",
        "2026-10-25T01:00:00Z",
    );
    assert_bucket(
        "PT15M",
        LONDON,
        "2026-10-25T01:00:00Z",
        "2026-10-25T01:00:00Z",
        "2026-10-25T01:15:00Z",
    );
    // PT2H: 00:00-02:00 BST, then the repeated 01:00-02:00 GMT hour, then 02:00-04:00 GMT.
    assert_bucket(
        "PT2H",
        LONDON,
        "2026-10-25T00:30:00Z",
        "2026-10-24T23:00:00Z",
        "2026-10-25T01:00:00Z",
    );
    assert_bucket(
        "PT2H",
        LONDON,
        "2026-10-25T01:30:00Z",
        "2026-10-25T01:00:00Z",
        "2026-10-25T02:00:00Z",
    );
    assert_bucket(
        "PT2H",
        LONDON,
        "2026-10-25T02:00:00Z",
        "2026-10-25T02:00:00Z",
        "2026-10-25T04:00:00Z",
    );
}

#[test]
fn london_hour_buckets_are_one_hour_through_both_changes() {
    let hour = g("PT1H");
    for (from, to) in [
        ("2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z"),
        ("2026-10-24T00:00:00Z", "2026-10-27T00:00:00Z"),
    ] {
        let mut s = hour.bucket_start(utc(from), LONDON);
        let mut count = 0;
        while s < utc(to) {
            let n = hour.next_bucket_start(s, LONDON);
            assert_eq!(n - s, TimeDelta::hours(1), "bucket at {s}");
            s = n;
            count += 1;
        }
        assert_eq!(count, 72);
    }
}

#[test]
fn kolkata_half_hour_offset() {
    // UTC+05:30: local :00 and :30 are UTC :30 and :00.
    assert_bucket(
        "PT30M",
        KOLKATA,
        "2026-11-25T12:10:00Z",
        "2026-11-25T12:00:00Z",
        "2026-11-25T12:30:00Z",
    );
    assert_bucket(
        "PT1H",
        KOLKATA,
        "2026-11-25T12:10:00Z",
        "2026-11-25T11:30:00Z",
        "2026-11-25T12:30:00Z",
    );
    assert_bucket(
        "PT1H",
        KOLKATA,
        "2026-11-25T12:30:00Z",
        "2026-11-25T12:30:00Z",
        "2026-11-25T13:30:00Z",
    );
    assert_bucket(
        "PT15M",
        KOLKATA,
        "2026-11-25T12:10:00Z",
        "2026-11-25T12:00:00Z",
        "2026-11-25T12:15:00Z",
    );
    // Local midnight is 18:30 UTC the day before.
    assert_bucket(
        "P1D",
        KOLKATA,
        "2026-11-25T12:10:00Z",
        "2026-11-24T18:30:00Z",
        "2026-11-25T18:30:00Z",
    );
    assert_bucket(
        "PT12H",
        KOLKATA,
        "2026-11-25T12:10:00Z",
        "2026-11-25T06:30:00Z",
        "2026-11-25T18:30:00Z",
    );
}

#[test]
fn kathmandu_and_chatham_quarter_hour_offsets() {
    // Asia/Kathmandu is UTC+05:45: a local hour starts at UTC :15.
    assert_bucket(
        "PT1H",
        Asia::Kathmandu,
        "2026-11-25T12:10:00Z",
        "2026-11-25T11:15:00Z",
        "2026-11-25T12:15:00Z",
    );
    // Pacific/Chatham is UTC+13:45 in (southern) summer.
    assert_bucket(
        "P1D",
        Pacific::Chatham,
        "2026-12-25T12:00:00Z",
        "2026-12-25T10:15:00Z",
        "2026-12-26T10:15:00Z",
    );
}

#[test]
fn new_york_days() {
    // 2026-03-08 spring forward at 07:00 UTC; 2026-11-01 fall back at 06:00 UTC.
    assert_bucket(
        "P1D",
        America::New_York,
        "2026-03-08T12:00:00Z",
        "2026-03-08T05:00:00Z",
        "2026-03-09T04:00:00Z",
    );
    assert_bucket(
        "P1D",
        America::New_York,
        "2026-11-01T12:00:00Z",
        "2026-11-01T04:00:00Z",
        "2026-11-02T05:00:00Z",
    );
}

#[test]
fn midnight_that_does_not_exist() {
    // Sao Paulo, 2018-11-04: 00:00 -03 jumped to 01:00 -02, so the day started at 01:00.
    assert_bucket(
        "P1D",
        America::Sao_Paulo,
        "2018-11-04T12:00:00Z",
        "2018-11-04T03:00:00Z",
        "2018-11-05T02:00:00Z",
    );
    assert_bucket(
        "P1D",
        America::Sao_Paulo,
        "2018-11-03T12:00:00Z",
        "2018-11-03T03:00:00Z",
        "2018-11-04T03:00:00Z",
    );
    // Sao Paulo, 2019-02-17: 00:00 -02 went back to 23:00 -03 on the 16th; the 16th was 25 h.
    assert_bucket(
        "P1D",
        America::Sao_Paulo,
        "2019-02-17T02:30:00Z",
        "2019-02-16T02:00:00Z",
        "2019-02-17T03:00:00Z",
    );
    // Beirut, 2026-03-29: 00:00 +02 jumps to 01:00 +03.
    assert_bucket(
        "P1D",
        Asia::Beirut,
        "2026-03-29T12:00:00Z",
        "2026-03-28T22:00:00Z",
        "2026-03-29T21:00:00Z",
    );
    // Sub-day buckets there start at the first valid instant too.
    assert_bucket(
        "PT30M",
        Asia::Beirut,
        "2026-03-28T22:10:00Z",
        "2026-03-28T22:00:00Z",
        "2026-03-28T22:30:00Z",
    );
    assert_bucket(
        "PT12H",
        Asia::Beirut,
        "2026-03-28T21:10:00Z",
        "2026-03-28T10:00:00Z",
        "2026-03-28T22:00:00Z",
    );
}

#[test]
fn midnight_that_happens_twice() {
    // Havana, 2026-11-01: 01:00 -04 goes back to 00:00 -05, so midnight happens at
    // 04:00Z and again at 05:00Z. The day starts at the first one and lasts 25 h.
    assert_bucket(
        "P1D",
        America::Havana,
        "2026-11-01T04:30:00Z",
        "2026-11-01T04:00:00Z",
        "2026-11-02T05:00:00Z",
    );
    assert_bucket(
        "P1D",
        America::Havana,
        "2026-11-01T05:30:00Z",
        "2026-11-01T04:00:00Z",
        "2026-11-02T05:00:00Z",
    );
    assert_bucket(
        "P1D",
        America::Havana,
        "2026-11-01T03:59:59Z",
        "2026-10-31T04:00:00Z",
        "2026-11-01T04:00:00Z",
    );
    // Spring, 2026-03-08: 00:00 -05 jumps to 01:00 -04, so that day starts at 05:00Z.
    assert_bucket(
        "P1D",
        America::Havana,
        "2026-03-08T12:00:00Z",
        "2026-03-08T05:00:00Z",
        "2026-03-09T04:00:00Z",
    );
}

#[test]
fn a_local_day_that_never_happened() {
    // Pacific/Apia skipped 2011-12-30: 2011-12-29 23:59:59 -10 was followed by
    // 2011-12-31 00:00:00 +14 (2011-12-30T10:00:00Z). The 29th's bucket runs until then.
    assert_bucket(
        "P1D",
        Pacific::Apia,
        "2011-12-30T09:00:00Z",
        "2011-12-29T10:00:00Z",
        "2011-12-30T10:00:00Z",
    );
    assert_bucket(
        "P1D",
        Pacific::Apia,
        "2011-12-30T10:00:00Z",
        "2011-12-30T10:00:00Z",
        "2011-12-31T10:00:00Z",
    );
    assert_bucket(
        "PT1H",
        Pacific::Apia,
        "2011-12-30T10:00:00Z",
        "2011-12-30T10:00:00Z",
        "2011-12-30T11:00:00Z",
    );
}

#[test]
fn lord_howe_half_hour_dst() {
    // Australia/Lord_Howe: +10:30 standard, +11:00 DST. 2026-04-05 02:00 +11 -> 01:30 +10:30
    // (2026-04-04T15:00:00Z). Hour buckets around it are never longer than an hour.
    let hour = g("PT1H");
    let tz = Australia::Lord_Howe;
    let mut s = hour.bucket_start(utc("2026-04-04T12:00:00Z"), tz);
    let mut lengths = Vec::new();
    while s < utc("2026-04-04T18:00:00Z") {
        let n = hour.next_bucket_start(s, tz);
        lengths.push((n - s).num_minutes());
        s = n;
    }
    assert_eq!(lengths, vec![60, 60, 60, 30, 60, 60, 60]);
}

// ----- latest_completed and next_completion -----

#[test]
fn latest_completed_settle_delay_boundary() {
    let hour = g("PT1H");
    let settle = Duration::from_secs(90);
    // Exactly end + settle: complete.
    assert_eq!(
        latest_completed(utc("2026-11-25T13:01:30Z"), hour, UTC, settle),
        iv("2026-11-25T12:00:00Z", "2026-11-25T13:00:00Z")
    );
    // One nanosecond earlier: not yet, so the bucket before.
    assert_eq!(
        latest_completed(utc("2026-11-25T13:01:29.999999999Z"), hour, UTC, settle),
        iv("2026-11-25T11:00:00Z", "2026-11-25T12:00:00Z")
    );
    // Zero settle delay: complete the instant it ends.
    assert_eq!(
        latest_completed(utc("2026-11-25T13:00:00Z"), hour, UTC, Duration::ZERO),
        iv("2026-11-25T12:00:00Z", "2026-11-25T13:00:00Z")
    );
    // Sub-second settle delays count.
    assert_eq!(
        latest_completed(
            utc("2026-11-25T13:00:00.4Z"),
            hour,
            UTC,
            Duration::from_millis(500)
        ),
        iv("2026-11-25T11:00:00Z", "2026-11-25T12:00:00Z")
    );
}

#[test]
fn latest_completed_examples() {
    let settle = Duration::from_secs(90);
    assert_eq!(
        latest_completed(utc("2026-11-25T12:47:00Z"), g("PT15M"), UTC, settle),
        iv("2026-11-25T12:30:00Z", "2026-11-25T12:45:00Z")
    );
    assert_eq!(
        latest_completed(utc("2026-11-25T12:46:00Z"), g("PT15M"), UTC, settle),
        iv("2026-11-25T12:15:00Z", "2026-11-25T12:30:00Z")
    );
    // Yesterday, London time, on the 25-hour day.
    assert_eq!(
        latest_completed(utc("2026-10-26T09:00:00Z"), g("P1D"), LONDON, settle),
        iv("2026-10-24T23:00:00Z", "2026-10-26T00:00:00Z")
    );
    // Just after London's midnight in summer, with the settle delay not yet over.
    assert_eq!(
        latest_completed(utc("2026-07-01T23:01:00Z"), g("P1D"), LONDON, settle),
        iv("2026-06-29T23:00:00Z", "2026-06-30T23:00:00Z")
    );
    assert_eq!(
        latest_completed(utc("2026-11-25T12:47:00Z"), g("PT30M"), KOLKATA, settle),
        iv("2026-11-25T12:00:00Z", "2026-11-25T12:30:00Z")
    );
    assert_eq!(
        latest_completed(utc("2026-11-25T12:47:00Z"), g("PT1H"), KOLKATA, settle),
        iv("2026-11-25T11:30:00Z", "2026-11-25T12:30:00Z")
    );
}

#[test]
fn next_completion_examples() {
    let settle = Duration::from_secs(90);
    let current = iv("2026-11-25T12:00:00Z", "2026-11-25T13:00:00Z");
    let next = next_completion(&current, g("PT1H"), UTC, settle);
    assert_eq!(next, utc("2026-11-25T14:01:30Z"));
    assert_eq!(
        latest_completed(next, g("PT1H"), UTC, settle),
        iv("2026-11-25T13:00:00Z", "2026-11-25T14:00:00Z")
    );
    // The 23-hour London day: the next day completes 23 h + settle after it starts.
    let day = iv("2026-03-28T00:00:00Z", "2026-03-29T00:00:00Z");
    assert_eq!(
        next_completion(&day, g("P1D"), LONDON, settle),
        utc("2026-03-29T23:01:30Z")
    );
}

#[test]
fn huge_settle_delays_do_not_panic() {
    for granularity in [g("PT5M"), g("P1D")] {
        let now = utc("2026-11-25T12:00:00Z");
        let i = latest_completed(now, granularity, LONDON, Duration::MAX);
        assert!(i.start <= i.end);
        let _ = next_completion(&i, granularity, LONDON, Duration::MAX);
        let i = latest_completed(now, granularity, LONDON, Duration::from_secs(u64::MAX / 4));
        assert!(i.start <= i.end);
    }
}

#[test]
fn extreme_instants_do_not_panic() {
    let instants = [
        DateTime::<Utc>::MIN_UTC,
        DateTime::<Utc>::MAX_UTC,
        DateTime::<Utc>::MIN_UTC + TimeDelta::days(3),
        DateTime::<Utc>::MAX_UTC - TimeDelta::days(3),
        DateTime::<Utc>::UNIX_EPOCH,
    ];
    let granularities = [
        Granularity::Minutes(0),
        Granularity::Minutes(7),
        Granularity::Minutes(1440),
        Granularity::Minutes(u32::MAX),
        g("PT5M"),
        g("PT12H"),
        Granularity::Day,
    ];
    for tz in [
        UTC,
        LONDON,
        KOLKATA,
        Pacific::Apia,
        Pacific::Kiritimati,
        America::Adak,
    ] {
        for granularity in granularities {
            for t in instants {
                let s = granularity.bucket_start(t, tz);
                let _ = granularity.next_bucket_start(s, tz);
                let _ = granularity.previous_bucket_start(s, tz);
                let i = latest_completed(t, granularity, tz, Duration::from_secs(90));
                let _ = next_completion(&i, granularity, tz, Duration::from_secs(90));
                let _ = i.to_iso8601();
            }
        }
    }
}

#[test]
fn hand_built_odd_granularities_still_partition_time() {
    // Not produced by `parse`, but must not panic and must still cut time consistently.
    for granularity in [Granularity::Minutes(0), Granularity::Minutes(7)] {
        let t = utc("2026-03-29T00:59:00Z");
        let s = granularity.bucket_start(t, LONDON);
        let n = granularity.next_bucket_start(s, LONDON);
        assert!(s <= t && t < n, "{granularity:?}");
        assert_eq!(granularity.previous_bucket_start(n, LONDON), s);
    }
    assert_eq!(Granularity::Minutes(0).as_iso8601(), "PT0M");
}

// ----- property-style sweeps -----

/// Zones with interesting offsets and changes, and a year in which to look at them.
fn sweep_zones() -> Vec<(Tz, i32)> {
    vec![
        (UTC, 2026),
        (LONDON, 2026),
        (KOLKATA, 2026),
        (America::New_York, 2026),
        (America::St_Johns, 2026),    // -03:30 / -02:30
        (Australia::Lord_Howe, 2026), // 30-minute DST
        (Pacific::Chatham, 2026),     // +12:45 / +13:45
        (Asia::Beirut, 2026),         // midnight does not exist in spring
        (America::Sao_Paulo, 2018),   // midnight did not exist in November
        (America::Havana, 2026),      // changes at midnight local
        (Pacific::Apia, 2011),        // a whole day skipped
        (Europe::Moscow, 2014),       // permanent offset change
    ]
}

/// Instants to test in `year`: a coarse sweep of the year (flagged `false`), plus a fine
/// sweep of the two days around every offset change found (flagged `true`).
fn sweep_instants(tz: Tz, year: i32) -> Vec<(DateTime<Utc>, bool)> {
    let begin = utc(&format!("{year}-01-01T00:00:00Z"));
    let end = utc(&format!("{}-01-01T00:00:00Z", year + 1));
    let coarse = TimeDelta::minutes(7 * 60 + 13) + TimeDelta::seconds(7);
    let fine = TimeDelta::minutes(13) + TimeDelta::seconds(17);
    let mut out = Vec::new();
    let mut t = begin;
    let mut previous_offset = offset_at(tz, t.timestamp());
    while t < end {
        out.push((t, false));
        let offset = offset_at(tz, t.timestamp());
        if offset != previous_offset {
            let mut u = t - TimeDelta::hours(36);
            while u < t + TimeDelta::hours(12) {
                out.push((u, true));
                u += fine;
            }
        }
        previous_offset = offset;
        t += coarse;
    }
    out
}

fn check_invariants(granularity: Granularity, tz: Tz, t: DateTime<Utc>) {
    let context = || format!("{granularity} {tz} at {t}");
    let s = granularity.bucket_start(t, tz);
    let n = granularity.next_bucket_start(s, tz);
    assert!(s <= t && t < n, "{}: bucket [{s}, {n})", context());
    assert_eq!(granularity.previous_bucket_start(n, tz), s, "{}", context());
    let p = granularity.previous_bucket_start(s, tz);
    assert!(p < s, "{}", context());
    assert_eq!(granularity.next_bucket_start(p, tz), s, "{}", context());
    assert_eq!(granularity.bucket_start(s, tz), s, "{}", context());
    assert_eq!(granularity.bucket_start(n, tz), n, "{}", context());
    assert_eq!(
        granularity.bucket_start(n - TimeDelta::nanoseconds(1), tz),
        s,
        "{}",
        context()
    );
    let length = n - s;
    let offset_s = offset_at(tz, s.timestamp());
    let offset_n = offset_at(tz, n.timestamp());
    let is_change =
        |u: DateTime<Utc>| offset_at(tz, u.timestamp()) != offset_at(tz, u.timestamp() - 1);
    let local_seconds = (s.timestamp() + offset_s).rem_euclid(86_400);
    match granularity {
        Granularity::Minutes(m) => {
            let step = TimeDelta::minutes(i64::from(m));
            assert!(length <= step, "{}: {length} long", context());
            // Only buckets next to an offset change may be shorter.
            if offset_s == offset_n && !is_change(s) && !is_change(n) {
                assert_eq!(length, step, "{}", context());
            }
            assert!(
                local_seconds % (i64::from(m) * 60) == 0 || is_change(s),
                "{}: start {s} is not aligned",
                context()
            );
        }
        Granularity::Day => {
            assert!(
                length >= TimeDelta::hours(20) && length <= TimeDelta::hours(28),
                "{}: {length} long",
                context()
            );
            assert!(
                local_seconds == 0 || is_change(s),
                "{}: start {s}",
                context()
            );
        }
    }
    // Completion: at `end + settle` the bucket is the latest complete one, and not before.
    let settle = Duration::from_secs(90);
    let settle_delta = TimeDelta::seconds(90);
    let done = Interval { start: s, end: n };
    assert_eq!(
        latest_completed(n + settle_delta, granularity, tz, settle),
        done
    );
    let before = latest_completed(
        n + settle_delta - TimeDelta::nanoseconds(1),
        granularity,
        tz,
        settle,
    );
    assert_eq!(before, Interval { start: p, end: s }, "{}", context());
    let previous = Interval { start: p, end: s };
    assert_eq!(
        next_completion(&previous, granularity, tz, settle),
        n + settle_delta
    );
    let now = t + settle_delta;
    let latest = latest_completed(now, granularity, tz, settle);
    assert!(latest.end + settle_delta <= now, "{}", context());
    assert!(
        next_completion(&latest, granularity, tz, settle) > now,
        "{}",
        context()
    );
}

#[test]
fn invariants_hold_for_every_granularity_and_zone() {
    let mut checked = 0usize;
    for (tz, year) in sweep_zones() {
        let instants = sweep_instants(tz, year);
        for (k, granularity) in Granularity::all().into_iter().enumerate() {
            // Near offset changes: every instant for the common granularities, every
            // other one for the rest. Elsewhere: every eighth, rotating.
            let common = matches!(granularity, Granularity::Day)
                || matches!(granularity, Granularity::Minutes(m) if m % 15 == 0);
            for (i, &(t, near_change)) in instants.iter().enumerate() {
                let take = if near_change {
                    common || (i + k) % 2 == 0
                } else {
                    (i + k) % 8 == 0
                };
                if take {
                    check_invariants(granularity, tz, t);
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100_000, "only {checked} checks");
}

#[test]
fn buckets_tile_the_london_days_around_both_changes() {
    for granularity in Granularity::all() {
        for (from, to) in [
            ("2026-03-28T00:00:00Z", "2026-03-29T23:00:00Z"),
            ("2026-10-24T23:00:00Z", "2026-10-27T00:00:00Z"),
        ] {
            let (from, to) = (utc(from), utc(to));
            let mut s = granularity.bucket_start(from, LONDON);
            assert_eq!(s, from, "{granularity}");
            let mut total = TimeDelta::zero();
            while s < to {
                let n = granularity.next_bucket_start(s, LONDON);
                total += n - s;
                s = n;
            }
            assert_eq!(s, to, "{granularity}: a bucket straddles local midnight");
            assert_eq!(total, to - from);
        }
    }
}

#[test]
fn the_day_in_progress_follows_london_across_the_dst_change() {
    let london: Tz = "Europe/London".parse().unwrap();
    let spring = in_progress(
        "2026-03-29T12:00:00Z".parse().unwrap(),
        Granularity::Day,
        london,
    );
    // Clocks go forward at 01:00 UTC: the day is 23 hours long.
    assert_eq!(
        spring.start,
        "2026-03-29T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(
        spring.end,
        "2026-03-28T23:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::hours(24)
    );
    let summer = in_progress(
        "2026-07-01T23:30:00Z".parse().unwrap(),
        Granularity::Day,
        london,
    );
    // 00:30 BST on 2 July: the day began at 23:00 UTC on 1 July.
    assert_eq!(
        summer.start,
        "2026-07-01T23:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    let quarter = in_progress(
        "2026-07-01T10:07:00Z".parse().unwrap(),
        Granularity::Minutes(15),
        chrono_tz::UTC,
    );
    assert_eq!(
        quarter.start,
        "2026-07-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(
        quarter.end,
        "2026-07-01T10:15:00Z".parse::<DateTime<Utc>>().unwrap()
    );
}

//! The synthetic traffic: repeatable, within its bounds, shaped like a contact centre.

use super::catalog::{Dim, METRIC_COUNT, Metric, MetricKind};
use super::conversation::{Conversation, Direction, Outcome, Transfer};
use super::random::{hash, poisson, unit};
use super::*;
use chrono::{DateTime, Utc};

// 2026-11-25 (a Wednesday) 00:00 UTC in ms.
const WEDNESDAY: i64 = 1_795_564_800_000;

fn collect(world: &World, from: i64, to: i64) -> Vec<Conversation> {
    let mut out = Vec::new();
    world.for_each_conversation(from, to, |_, _| true, |c| out.push(c.clone()));
    out
}

#[test]
fn generation_is_deterministic_and_seed_dependent() {
    let a = World::new(1, 8);
    let b = World::new(1, 8);
    let c = World::new(2, 8);
    let from = WEDNESDAY + 10 * 3_600_000;
    let to = from + 3_600_000;
    let ca = collect(&a, from, to);
    assert!(ca.len() > 100, "busy hour has {} conversations", ca.len());
    assert_eq!(ca, collect(&b, from, to));
    assert_ne!(ca, collect(&c, from, to));
    assert_eq!(a.queue_ids(), b.queue_ids());
    assert_ne!(a.queue_ids(), c.queue_ids());
}

#[test]
fn conversations_stay_within_max_span_and_the_window() {
    let world = World::new(7, 8);
    let from = WEDNESDAY + 9 * 3_600_000;
    let to = from + 6 * 3_600_000;
    let all = collect(&world, from, to);
    for c in &all {
        assert!((from..to).contains(&c.arrival_ms));
        assert!(c.last_event_ms() - c.arrival_ms <= MAX_SPAN_MS, "{c:?}");
    }
    // Every media type appears, abandons lack an agent, answered ones have one.
    for m in Media::ALL {
        assert!(all.iter().any(|c| c.media == m), "{m:?} missing");
    }
    let abandoned: Vec<_> = all
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Abandoned { .. }))
        .collect();
    assert!(!abandoned.is_empty());
    assert!(
        abandoned
            .iter()
            .all(|c| c.agent.is_none() && c.wrap_up.is_none())
    );
    let short = abandoned
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Abandoned { wait } if wait < SHORT_ABANDON_MS))
        .count();
    assert!(short > 0 && short < abandoned.len());
    assert!(all.iter().any(|c| c.direction == Direction::Outbound));
    let inbound = all
        .iter()
        .filter(|c| c.direction == Direction::Inbound)
        .count();
    assert!(inbound * 10 > all.len() * 7, "mostly inbound");
}

#[test]
fn voice_handle_time_is_realistic() {
    let world = World::new(1, 8);
    let from = WEDNESDAY + 8 * 3_600_000;
    let (mut sum, mut n) = (0i64, 0i64);
    for c in collect(&world, from, from + 8 * 3_600_000) {
        if c.media != Media::Voice {
            continue;
        }
        c.for_each_event(|e| {
            if e.metric == Metric::THandle {
                sum += e.value;
                n += 1;
            }
        });
    }
    let aht_min = sum as f64 / n as f64 / 60_000.0;
    assert!((4.0..9.0).contains(&aht_min), "voice AHT {aht_min} min");
}

#[test]
fn nights_and_weekends_are_quieter() {
    let world = World::new(1, 8);
    let hour = 3_600_000;
    let day = collect(&world, WEDNESDAY + 10 * hour, WEDNESDAY + 11 * hour).len();
    let night = collect(&world, WEDNESDAY + 3 * hour, WEDNESDAY + 4 * hour).len();
    let saturday = WEDNESDAY + 3 * 24 * hour;
    let weekend = collect(&world, saturday + 10 * hour, saturday + 11 * hour).len();
    assert!(night * 5 < day, "night {night} day {day}");
    assert!(weekend * 2 < day, "weekend {weekend} day {day}");
}

#[test]
fn answered_conversation_events_post_at_the_right_times() {
    let c = Conversation {
        queue: 0,
        media: Media::Voice,
        arrival_ms: 1_000,
        direction: Direction::Inbound,
        originating_direction: Direction::Inbound,
        agent: Some(3),
        wrap_up: Some(1),
        outcome: Outcome::Answered {
            wait: 30_000,
            alert: 5_000,
            talk: 100_000,
            held: 20_000,
            acw: 10_000,
            transfer: Some(Transfer::Consult),
        },
    };
    let mut events = Vec::new();
    c.for_each_event(|e| events.push((e.metric, e.at_ms, e.value)));
    let find = |m| {
        events
            .iter()
            .find(|(metric, _, _)| *metric == m)
            .map(|&(_, at, v)| (at, v))
    };
    assert_eq!(find(Metric::NOffered), Some((1_000, 1)));
    assert_eq!(find(Metric::TAnswered), Some((36_000, 35_000)));
    assert_eq!(find(Metric::TWait), Some((36_000, 30_000)));
    assert_eq!(find(Metric::OServiceLevel), Some((36_000, 0)));
    assert_eq!(find(Metric::NOverSla), Some((36_000, 1)));
    assert_eq!(find(Metric::TTalk), Some((156_000, 100_000)));
    assert_eq!(find(Metric::THeld), Some((156_000, 20_000)));
    assert_eq!(find(Metric::NConsultTransferred), Some((156_000, 1)));
    assert_eq!(find(Metric::NBlindTransferred), None);
    assert_eq!(find(Metric::TAcw), Some((166_000, 10_000)));
    assert_eq!(find(Metric::THandle), Some((166_000, 130_000)));
    assert_eq!(find(Metric::TAbandon), None);
}

#[test]
fn short_abandons_are_excluded_from_the_service_level() {
    let mut c = Conversation {
        queue: 0,
        media: Media::Voice,
        arrival_ms: 0,
        direction: Direction::Inbound,
        originating_direction: Direction::Inbound,
        agent: None,
        wrap_up: None,
        outcome: Outcome::Abandoned { wait: 4_000 },
    };
    let metrics = |c: &Conversation| {
        let mut v = Vec::new();
        c.for_each_event(|e| v.push(e.metric));
        v
    };
    let short = metrics(&c);
    assert!(short.contains(&Metric::TShortAbandon));
    assert!(short.contains(&Metric::TAbandon));
    assert!(!short.contains(&Metric::OServiceLevel));
    c.outcome = Outcome::Abandoned { wait: 40_000 };
    let long = metrics(&c);
    assert!(!long.contains(&Metric::TShortAbandon));
    assert!(long.contains(&Metric::OServiceLevel));
    assert!(long.contains(&Metric::NOverSla));
}

#[test]
fn dimension_codes_round_trip() {
    let world = World::new(3, 5);
    for d in Dim::ALL {
        let label = world.dim_label(d, 0).to_string();
        assert_eq!(world.dim_code(d, &label), Some(0), "{d:?}");
    }
    assert_eq!(world.dim_code(Dim::QueueId, "nope"), None);
    assert_eq!(world.agent_ids().len(), AGENT_POOL);
    assert_eq!(Metric::ALL.len(), METRIC_COUNT);
    for (i, m) in Metric::ALL.iter().enumerate() {
        assert_eq!(m.index(), i);
        assert_eq!(Metric::from_name(m.name()), Some(*m));
    }
    assert_eq!(Metric::TAbandon.kind(), MetricKind::Timer);
    assert_eq!(Metric::NOffered.kind(), MetricKind::Count);
}

#[test]
fn the_org_knobs_shape_the_traffic() {
    let org = Org {
        queues: 30,
        users: 3,
        media_types: 2,
        busy_all_day: true,
    };
    let world = World::with_org(1, org);
    assert_eq!(world.queue_ids().len(), 30);
    assert_eq!(world.agent_ids().len(), 3);
    // 03:00 on a Sunday: almost nothing happens in a default org, a busy one is at peak.
    let night = "2026-11-22T03:00:00Z".parse::<DateTime<Utc>>().unwrap();
    let (from, to) = (
        night.timestamp_millis(),
        night.timestamp_millis() + 1_800_000,
    );
    let count = |world: &World| {
        let mut media = Vec::new();
        let mut agents = Vec::new();
        let mut n = 0;
        world.for_each_conversation(
            from,
            to,
            |_, _| true,
            |c| {
                n += 1;
                media.push(c.media);
                agents.extend(c.agent);
            },
        );
        (n, media, agents)
    };
    let (busy, media, agents) = count(&world);
    assert!(
        media
            .iter()
            .all(|m| [Media::Voice, Media::Chat].contains(m))
    );
    assert!(agents.iter().all(|&a| a < 3));
    let quiet = World::with_org(
        1,
        Org {
            busy_all_day: false,
            ..org
        },
    );
    let (quiet, _, _) = count(&quiet);
    assert!(busy > quiet * 10, "busy {busy}, quiet {quiet}");
}

#[test]
fn poisson_mean_is_about_lambda() {
    let n = 20_000;
    let total: u32 = (0..n).map(|i| poisson(1.5, unit(hash(&[i])))).sum();
    let mean = f64::from(total) / f64::from(n as u32);
    assert!((mean - 1.5).abs() < 0.05, "{mean}");
}

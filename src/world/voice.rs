//! Voice quality of the world's calls: what Genesys measures on a call's audio streams
//! (`mediaStatsMinConversationMos`, the R-factor, the customer session's
//! `mediaEndpointStats`) and which edge and codec carried it.
//!
//! Every voice conversation gets its quality from its own random stream, so it is the
//! same in every answer. Most calls are good (MOS 4.0 to 4.4, hardly any loss, low
//! latency); a tail of bad calls (MOS 2.0 to 3.4) shows packet loss and high latency,
//! more of them on the last edge, so a per-edge view has something to show. The
//! R-factor is the E-model's inverse of the MOS (ITU-T G.107), so the two agree.

use super::World;
use super::conversation::Conversation;
use super::media::Media;
use super::random::{Draws, hash};

/// The org's edges (the media servers calls pass through), as `edgeId` values. Trunks
/// are modelled on these same edges.
pub(crate) const EDGE_IDS: [&str; 3] = [
    "5b1f2b0e-6f4c-4a52-9d3e-0c8a1e7d2f01",
    "9a7c3d21-1e55-4b8f-8c2a-5f6e0b4d3a02",
    "c4e8a6f3-7b2d-4e19-a0f5-2d9c8b1e6a03",
];
/// The share of calls each edge carries, in [`EDGE_IDS`] order.
const EDGE_SHARES: [f64; 3] = [0.45, 0.35, 0.20];
/// The share of bad calls on each edge: the last one is the troubled one.
const BAD_SHARES: [f64; 3] = [0.04, 0.04, 0.15];
/// Audio codecs (MIME types, as `mediaEndpointStats[].codecs` lists them) with their share.
const CODECS: [(&str, f64); 3] = [
    ("audio/opus", 0.55),
    ("audio/PCMU", 0.35),
    ("audio/PCMA", 0.10),
];
/// RTP packets a second of audio (20 ms frames).
const PACKETS_PER_SECOND: f64 = 50.0;
const TAG_VOICE: u64 = 2601;

/// The quality of one call's customer session (its `mediaEndpointStats`), and the call's
/// lowest MOS and R-factor (the customer session is the one measured, so they agree).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct VoiceQuality {
    pub mos: f64,
    pub r_factor: f64,
    pub codec: &'static str,
    pub edge_id: &'static str,
    pub received_packets: u64,
    /// Too late or too early; includes the overruns and underruns.
    pub discarded_packets: u64,
    pub invalid_packets: u64,
    pub duplicate_packets: u64,
    pub overrun_packets: u64,
    pub underrun_packets: u64,
    pub max_latency_ms: u64,
}

/// The voice quality of `conversation`, `None` unless it is a voice call. Packet counts
/// follow the customer session's length (queue wait included: music is audio too).
pub(crate) fn quality(world: &World, conversation: &Conversation) -> Option<VoiceQuality> {
    if conversation.media != Media::Voice {
        return None;
    }
    let mut d = draws(world, conversation);
    let edge = pick(&EDGE_SHARES, d.unit());
    let codec = CODECS[pick(&CODECS.map(|(_, share)| share), d.unit())].0;
    let bad = d.chance(BAD_SHARES[edge]);
    let (mos, loss, latency) = if bad {
        (
            2.0 + 1.4 * d.unit(),
            0.01 + 0.07 * d.unit(),
            d.range(150, 450),
        )
    } else {
        (4.0 + 0.4 * d.unit(), 0.002 * d.unit(), d.range(20, 90))
    };
    let seconds = (conversation.customer_end_ms() - conversation.arrival_ms).max(0) as f64 / 1000.0;
    let received = (seconds * PACKETS_PER_SECOND).round() as u64;
    let discarded = (received as f64 * loss).round() as u64;
    let share =
        |d: &mut Draws, lo: f64, hi: f64| (discarded as f64 * (lo + (hi - lo) * d.unit())) as u64;
    let overrun = share(&mut d, 0.2, 0.4);
    let underrun = share(&mut d, 0.2, 0.4);
    let invalid = if bad {
        (received as f64 * 0.002 * d.unit()) as u64
    } else {
        0
    };
    let duplicate = (received as f64 * 0.001 * d.unit()) as u64;
    let mos = (mos * 1e4).round() / 1e4;
    Some(VoiceQuality {
        mos,
        r_factor: (r_factor(mos) * 1e2).round() / 1e2,
        codec,
        edge_id: EDGE_IDS[edge],
        received_packets: received,
        discarded_packets: discarded,
        invalid_packets: invalid,
        duplicate_packets: duplicate,
        overrun_packets: overrun,
        underrun_packets: underrun,
        max_latency_ms: latency as u64,
    })
}

/// The conversation's own random stream for its voice quality.
fn draws(world: &World, c: &Conversation) -> Draws {
    Draws(hash(&[
        world.seed(),
        TAG_VOICE,
        u64::from(c.queue),
        c.media as u64,
        c.arrival_ms as u64,
    ]))
}

/// The index whose cumulative share first passes `u`.
fn pick(shares: &[f64], u: f64) -> usize {
    let mut total = 0.0;
    for (i, share) in shares.iter().enumerate() {
        total += share;
        if u < total {
            return i;
        }
    }
    shares.len() - 1
}

/// The E-model's MOS of an R-factor (ITU-T G.107, Annex B).
pub(crate) fn mos_of(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)
    }
}

/// The R-factor whose MOS is `mos` (the E-model's curve rises over 0..100): bisection.
fn r_factor(mos: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 100.0);
    for _ in 0..50 {
        let mid = (lo + hi) / 2.0;
        if mos_of(mid) < mos {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-25 (a Wednesday) 10:00 UTC in ms.
    const BUSY: i64 = 1_795_564_800_000 + 10 * 3_600_000;

    fn calls(world: &World) -> Vec<Conversation> {
        let mut out = Vec::new();
        world.for_each_conversation(
            BUSY,
            BUSY + 4 * 3_600_000,
            |_, m| m == Media::Voice,
            |c| out.push(c.clone()),
        );
        out
    }

    #[test]
    fn mostly_good_calls_with_a_bad_tail_that_loses_packets() {
        let world = World::new(3, 8);
        let all: Vec<VoiceQuality> = calls(&world)
            .iter()
            .filter_map(|c| quality(&world, c))
            .collect();
        assert!(all.len() > 500, "{} calls", all.len());
        let bad: Vec<&VoiceQuality> = all.iter().filter(|q| q.mos < 3.5).collect();
        let share = bad.len() as f64 / all.len() as f64;
        assert!((0.02..0.15).contains(&share), "bad share {share}");
        for q in &all {
            assert!((2.0..=4.4).contains(&q.mos), "{q:?}");
            assert!((mos_of(q.r_factor) - q.mos).abs() < 0.01, "{q:?}");
            assert!(
                q.overrun_packets + q.underrun_packets <= q.discarded_packets,
                "{q:?}"
            );
            assert!(q.received_packets > 0 && EDGE_IDS.contains(&q.edge_id));
        }
        let loss = |q: &&VoiceQuality| q.discarded_packets as f64 / q.received_packets as f64;
        assert!(
            bad.iter()
                .all(|q| loss(q) >= 0.009 && q.max_latency_ms >= 150)
        );
        // Good calls lose at most 0.2 % (rounded to whole packets).
        let good = all.iter().filter(|q| q.mos >= 3.5);
        let little = |q: &VoiceQuality| {
            q.discarded_packets as f64 <= q.received_packets as f64 * 0.002 + 0.5
        };
        assert!(good.into_iter().all(little));
        for edge in EDGE_IDS {
            assert!(
                all.iter().any(|q| q.edge_id == edge),
                "{edge} carries nothing"
            );
        }
    }

    #[test]
    fn quality_is_repeatable_and_only_for_voice() {
        let world = World::new(3, 8);
        let call = &calls(&world)[0];
        assert_eq!(quality(&world, call), quality(&world, call));
        for c in calls(&world) {
            assert_eq!(c.end_ms(), c.last_event_ms(), "{c:?}");
            assert!(c.customer_end_ms() <= c.end_ms());
        }
        let mut chat = call.clone();
        chat.media = Media::Chat;
        assert_eq!(quality(&world, &chat), None);
    }
}

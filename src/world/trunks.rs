//! The org's trunks: a few external trunks on the edges of the voice quality model
//! ([`super::voice::EDGE_IDS`]), carrying the voice calls of the traffic model, and one
//! that drops for a few minutes every hour.
//!
//! A voice conversation holds a trunk from its arrival (inbound) or dialling (outbound)
//! until the customer's leg ends: after an abandon's wait, or after talk and hold time
//! (after-call work is the agent's, with the customer gone). Each call is on one trunk,
//! picked by a hash of the conversation among the trunks connected at that moment, so
//! the calls on all trunks together are the voice calls in progress, and the calls of
//! the trunk that drops (the second, [`DROPPING_TRUNK`]) move to the others while it is
//! disconnected, minutes [`DROP_FROM_MINUTE`] to [`DROP_UNTIL_MINUTE`] of every hour.
//! A call on a trunk has a QoS mismatch (a codec or DTMF setting the far end does not
//! share) one time in [`MISMATCH_ONE_IN`].

use super::conversation::Direction;
use super::voice::EDGE_IDS;
use super::{Conversation, MAX_SPAN_MS, Media, Outcome, World, hash, stable_uuid};

/// The trunk that drops each hour (when the org has more than one).
pub(crate) const DROPPING_TRUNK: usize = 1;
/// Minute of the hour the dropping trunk disconnects.
pub(crate) const DROP_FROM_MINUTE: i64 = 20;
/// Minute of the hour it is connected again.
pub(crate) const DROP_UNTIL_MINUTE: i64 = 26;
/// One call in this many has a QoS mismatch.
pub(crate) const MISMATCH_ONE_IN: u64 = 25;
/// Names of the first trunks; later ones are numbered. One needs escaping.
const NAMES: [&str; 4] = [
    "PSTN Carrier A",
    "PSTN Carrier B",
    "BYOC \"Backup\" C",
    "SIP Carrier D",
];

const TAG_TRUNK_ID: u64 = 201;
const TAG_TRUNK_PICK: u64 = 202;
const TAG_MISMATCH: u64 = 203;

/// One trunk as the listing and the metrics show it at an instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TrunkNow {
    pub id: String,
    pub name: String,
    pub edge_id: String,
    pub connected: bool,
    /// When it last connected or disconnected (Unix milliseconds).
    pub connected_since_ms: i64,
    pub inbound_calls: u32,
    pub outbound_calls: u32,
    pub mismatches: u32,
}

/// The org's trunks: how many, and their ids.
#[derive(Clone, Debug)]
pub(crate) struct Trunks {
    ids: Vec<String>,
}

impl Trunks {
    /// `count` trunks of the org seeded `seed`.
    pub(crate) fn new(seed: u64, count: usize) -> Trunks {
        Trunks {
            ids: (0..count as u64)
                .map(|t| stable_uuid(seed, TAG_TRUNK_ID, t))
                .collect(),
        }
    }

    /// Whether trunk `trunk` is connected at `at_ms`.
    fn connected(&self, trunk: usize, at_ms: i64) -> bool {
        if trunk != DROPPING_TRUNK || self.ids.len() < 2 {
            return true;
        }
        let minute = at_ms.div_euclid(60_000).rem_euclid(60);
        !(DROP_FROM_MINUTE..DROP_UNTIL_MINUTE).contains(&minute)
    }

    /// When trunk `trunk` last connected or disconnected before `at_ms` (midnight UTC
    /// for one that never drops).
    fn connected_since(&self, trunk: usize, at_ms: i64) -> i64 {
        let day = at_ms - at_ms.rem_euclid(86_400_000);
        if trunk != DROPPING_TRUNK || self.ids.len() < 2 {
            return day;
        }
        let hour = at_ms - at_ms.rem_euclid(3_600_000);
        let dropped = hour + DROP_FROM_MINUTE * 60_000;
        let back = hour + DROP_UNTIL_MINUTE * 60_000;
        if at_ms >= back {
            back
        } else if at_ms >= dropped {
            dropped
        } else {
            // Back since the previous hour's drop ended.
            (back - 3_600_000).max(day)
        }
    }

    /// The trunk `conversation` is on at `at_ms`: one of the connected trunks, by a
    /// hash of the conversation; `None` when none is connected or there are none.
    fn trunk_of(&self, world: &World, conversation: &Conversation, at_ms: i64) -> Option<usize> {
        let connected: Vec<usize> = (0..self.ids.len())
            .filter(|&t| self.connected(t, at_ms))
            .collect();
        if connected.is_empty() {
            return None;
        }
        let key = hash(&[
            world.seed(),
            TAG_TRUNK_PICK,
            u64::from(conversation.queue),
            conversation.arrival_ms as u64,
        ]);
        Some(connected[(key % connected.len() as u64) as usize])
    }

    /// Every trunk at `at_ms`, with the voice calls on it then.
    pub(crate) fn at(&self, world: &World, at_ms: i64) -> Vec<TrunkNow> {
        let mut trunks: Vec<TrunkNow> = self
            .ids
            .iter()
            .enumerate()
            .map(|(t, id)| TrunkNow {
                id: id.clone(),
                name: NAMES
                    .get(t)
                    .map_or_else(|| format!("Trunk {}", t + 1), |n| n.to_string()),
                // Trunk `t` is on edge `t` modulo the edges: the details' `edgeId`s.
                edge_id: EDGE_IDS[t % EDGE_IDS.len()].to_string(),
                connected: self.connected(t, at_ms),
                connected_since_ms: self.connected_since(t, at_ms),
                inbound_calls: 0,
                outbound_calls: 0,
                mismatches: 0,
            })
            .collect();
        world.for_each_conversation(
            at_ms - MAX_SPAN_MS,
            at_ms + 1,
            |_, media| media == Media::Voice,
            |c| {
                if !on_a_trunk(c, at_ms) {
                    return;
                }
                let Some(t) = self.trunk_of(world, c, at_ms) else {
                    return;
                };
                let trunk = &mut trunks[t];
                match c.direction {
                    Direction::Inbound => trunk.inbound_calls += 1,
                    Direction::Outbound => trunk.outbound_calls += 1,
                }
                let mismatch = hash(&[world.seed(), TAG_MISMATCH, c.arrival_ms as u64]);
                if mismatch.is_multiple_of(MISMATCH_ONE_IN) {
                    trunk.mismatches += 1;
                }
            },
        );
        trunks
    }
}

/// Whether a voice `conversation`'s customer leg is up at `at_ms`: from arrival until
/// the customer leaves (an abandon's wait; talk and hold after answer or dialling).
pub(crate) fn on_a_trunk(conversation: &Conversation, at_ms: i64) -> bool {
    let t0 = conversation.arrival_ms;
    let leg = match conversation.outcome {
        Outcome::Abandoned { wait } => wait,
        Outcome::Answered {
            wait,
            alert,
            talk,
            held,
            ..
        } => wait + alert + talk + held,
        Outcome::Outbound {
            dial, talk, held, ..
        } => dial + talk + held,
    };
    conversation.media == Media::Voice && (t0..t0 + leg).contains(&at_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A busy weekday morning: 2026-11-24T10:20:30Z, inside the drop window.
    const DROPPED_AT: i64 = 1_795_515_630_000;

    #[test]
    fn the_calls_on_all_trunks_are_the_voice_calls_in_progress() {
        let world = World::new(1, 8);
        let trunks = Trunks::new(1, 4);
        for at in [DROPPED_AT - 10 * 60_000, DROPPED_AT] {
            let mut voice = (0u32, 0u32);
            world.for_each_conversation(
                at - MAX_SPAN_MS,
                at + 1,
                |_, m| m == Media::Voice,
                |c| {
                    if on_a_trunk(c, at) {
                        match c.direction {
                            Direction::Inbound => voice.0 += 1,
                            Direction::Outbound => voice.1 += 1,
                        }
                    }
                },
            );
            let now = trunks.at(&world, at);
            let inbound: u32 = now.iter().map(|t| t.inbound_calls).sum();
            let outbound: u32 = now.iter().map(|t| t.outbound_calls).sum();
            assert_eq!((inbound, outbound), voice);
            assert!(inbound > 10, "a busy morning has calls: {now:?}");
        }
    }

    #[test]
    fn one_trunk_drops_each_hour_and_its_calls_move_to_the_others() {
        let world = World::new(1, 8);
        let trunks = Trunks::new(1, 4);
        let dropped = trunks.at(&world, DROPPED_AT);
        assert!(!dropped[DROPPING_TRUNK].connected);
        assert_eq!(dropped[DROPPING_TRUNK].inbound_calls, 0);
        assert_eq!(dropped[DROPPING_TRUNK].outbound_calls, 0);
        let hour = DROPPED_AT - DROPPED_AT.rem_euclid(3_600_000);
        assert_eq!(
            dropped[DROPPING_TRUNK].connected_since_ms,
            hour + DROP_FROM_MINUTE * 60_000
        );
        assert!(dropped.iter().filter(|t| t.connected).count() == 3);
        let before = trunks.at(&world, DROPPED_AT - 10 * 60_000);
        assert!(before.iter().all(|t| t.connected));
        assert!(before[DROPPING_TRUNK].inbound_calls > 0, "{before:?}");
        let edges: Vec<&str> = before.iter().map(|t| t.edge_id.as_str()).collect();
        assert_eq!(
            edges[..3],
            EDGE_IDS,
            "one trunk on each of the details' edges"
        );
        assert_eq!(edges[3], edges[0]);
    }
}

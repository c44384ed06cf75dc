//! The simulated org (queues, agents, wrap-up codes, arrival rates) and the
//! conversations arriving in a window of time.

use std::collections::HashMap;

use super::catalog::Dim;
use super::conversation::{Conversation, Direction, Outcome, Purpose, Transfer};
use super::media::{MIN, Media, SEC};
use super::random::{Draws, hash, poisson, stable_uuid, unit};
use super::{DIVISIONS, HOME_DIVISION_ID, WRAP_UP_CODES};

/// Agents staffed on each queue (a window of the pool, overlapping between queues).
const AGENTS_PER_QUEUE: usize = 12;
const MINUTE_MS: i64 = 60_000;
const MAX_WAIT_MS: f64 = 60.0 * 60_000.0;

// Hash domain tags, so that different uses of the seed never collide.
const TAG_QUEUE_ID: u64 = 1;
const TAG_AGENT_ID: u64 = 2;
const TAG_WRAP_UP_ID: u64 = 3;
const TAG_CELL: u64 = 4;
const TAG_CONVERSATION: u64 = 5;
const TAG_QUEUE_SHAPE: u64 = 6;
const TAG_DIVISION_ID: u64 = 7;
const TAG_CONVERSATION_ID: u64 = 8;

/// The size and shape of a simulated org: what benchmarks turn to get workloads of
/// 10k to 500k series from one query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Org {
    pub queues: usize,
    /// Agents in the pool (at least 1); each queue is staffed from a window of it.
    pub users: usize,
    /// How many of the modelled media types (in [`Media::ALL`] order, 1 to 5) the org
    /// serves.
    pub media_types: usize,
    /// Every minute as busy as a weekday peak, so that the number of groups a query
    /// returns does not depend on the time of day a benchmark runs at.
    pub busy_all_day: bool,
}

/// The simulated org: its queues, agents and wrap-up codes, and the arrival rates.
#[derive(Debug)]
pub(crate) struct World {
    seed: u64,
    queue_ids: Vec<String>,
    /// Queue id to its code, so that a filter on thousands of queues resolves quickly.
    queue_codes: HashMap<String, u32>,
    agent_ids: Vec<String>,
    wrap_up_ids: Vec<String>,
    division_ids: Vec<String>,
    /// Peak arrivals per minute, per queue and media type (0 = not served).
    rates: Vec<[f64; 5]>,
    busy_all_day: bool,
}

impl World {
    /// A default-shaped org ([`AGENT_POOL`] agents, every media type) with
    /// `queue_count` queues.
    #[cfg(test)]
    pub(crate) fn new(seed: u64, queue_count: usize) -> World {
        World::with_org(
            seed,
            Org {
                queues: queue_count,
                users: super::AGENT_POOL,
                media_types: Media::ALL.len(),
                busy_all_day: false,
            },
        )
    }

    pub(crate) fn with_org(seed: u64, org: Org) -> World {
        let queue_count = org.queues;
        let media_types = org.media_types.clamp(1, Media::ALL.len());
        let queue_ids: Vec<String> = (0..queue_count as u64)
            .map(|q| stable_uuid(seed, TAG_QUEUE_ID, q))
            .collect();
        let queue_codes = queue_ids
            .iter()
            .enumerate()
            .map(|(code, id)| (id.clone(), code as u32))
            .collect();
        let agent_ids = (0..org.users.max(1) as u64)
            .map(|a| stable_uuid(seed, TAG_AGENT_ID, a))
            .collect();
        let wrap_up_ids = (0..WRAP_UP_CODES as u64)
            .map(|w| stable_uuid(seed, TAG_WRAP_UP_ID, w))
            .collect();
        let division_ids = (0..DIVISIONS as u64)
            .map(|d| match d {
                0 => HOME_DIVISION_ID.to_string(),
                d => stable_uuid(seed, TAG_DIVISION_ID, d),
            })
            .collect();
        let rates = (0..queue_count as u64)
            .map(|q| {
                let size = 0.4 + 1.2 * unit(hash(&[seed, TAG_QUEUE_SHAPE, q]));
                let mut rates = [0.0; 5];
                for (i, media) in Media::ALL.into_iter().enumerate().take(media_types) {
                    let p = media.profile();
                    // The first queue serves everything, so every media type has traffic.
                    let served =
                        q == 0 || unit(hash(&[seed, TAG_QUEUE_SHAPE, q, i as u64])) < p.served_by;
                    if served {
                        rates[i] = p.peak_per_minute * size;
                    }
                }
                rates
            })
            .collect();
        World {
            seed,
            queue_ids,
            queue_codes,
            agent_ids,
            wrap_up_ids,
            division_ids,
            rates,
            busy_all_day: org.busy_all_day,
        }
    }

    pub(crate) fn queue_ids(&self) -> &[String] {
        &self.queue_ids
    }

    pub(crate) fn agent_ids(&self) -> &[String] {
        &self.agent_ids
    }

    pub(crate) fn wrap_up_ids(&self) -> &[String] {
        &self.wrap_up_ids
    }

    pub(crate) fn division_ids(&self) -> &[String] {
        &self.division_ids
    }

    /// The division code of queue `queue`.
    pub(crate) fn division_of(queue: usize) -> usize {
        queue % DIVISIONS
    }

    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// The agents staffed on `queue` (pool indices, distinct): the window of the pool
    /// its conversations are handed to.
    pub(crate) fn queue_members(&self, queue: u32) -> Vec<u32> {
        let pool = self.agent_ids.len();
        let mut members: Vec<u32> = (0..AGENTS_PER_QUEUE)
            .map(|i| ((queue as usize * 7 + i) % pool) as u32)
            .collect();
        members.sort_unstable();
        members.dedup();
        members
    }

    /// How busy minute `minute` (since the epoch) is, 0 to 1: the daily pattern, or 1
    /// all day for a busy-all-day org.
    pub(crate) fn load_at(&self, minute: i64) -> f64 {
        if self.busy_all_day {
            1.0
        } else {
            load_factor(minute)
        }
    }

    /// The conversation's id, stable for a seed: what queue observations list in
    /// `observations[].conversationId`.
    pub(crate) fn conversation_id(&self, conversation: &Conversation) -> String {
        let key = hash(&[
            u64::from(conversation.queue),
            conversation.media as u64,
            conversation.arrival_ms as u64,
        ]);
        stable_uuid(self.seed, TAG_CONVERSATION_ID, key)
    }

    /// The code of a dimension value given as a string, `None` when the org has no
    /// such value (a filter on it then matches nothing).
    pub(crate) fn dim_code(&self, dim: Dim, value: &str) -> Option<u32> {
        let pos = match dim {
            Dim::QueueId => return self.queue_codes.get(value).copied(),
            Dim::MediaType => Media::ALL.iter().position(|m| m.name() == value),
            Dim::Direction | Dim::OriginatingDirection => {
                Direction::ALL.iter().position(|d| d.name() == value)
            }
            Dim::UserId => self.agent_ids.iter().position(|a| a == value),
            Dim::WrapUpCode => self.wrap_up_ids.iter().position(|w| w == value),
            Dim::Purpose => Purpose::ALL.iter().position(|p| p.name() == value),
            Dim::DivisionId => self.division_ids.iter().position(|d| d == value),
        };
        pos.map(|p| p as u32)
    }

    /// The string value of a dimension code (the inverse of [`World::dim_code`]).
    pub(crate) fn dim_label(&self, dim: Dim, code: u32) -> &str {
        let code = code as usize;
        let found = match dim {
            Dim::QueueId => self.queue_ids.get(code).map(String::as_str),
            Dim::MediaType => Media::ALL.get(code).map(|m| m.name()),
            Dim::Direction | Dim::OriginatingDirection => {
                Direction::ALL.get(code).map(|d| d.name())
            }
            Dim::UserId => self.agent_ids.get(code).map(String::as_str),
            Dim::WrapUpCode => self.wrap_up_ids.get(code).map(String::as_str),
            Dim::Purpose => Purpose::ALL.get(code).map(|p| p.name()),
            Dim::DivisionId => self.division_ids.get(code).map(String::as_str),
        };
        found.unwrap_or("")
    }

    /// Calls `f` for every conversation arriving in `[from_ms, to_ms)`, in a
    /// deterministic order. `wanted(queue, media)` lets the caller skip whole cells
    /// a filter rules out.
    pub(crate) fn for_each_conversation(
        &self,
        from_ms: i64,
        to_ms: i64,
        mut wanted: impl FnMut(u32, Media) -> bool,
        mut f: impl FnMut(&Conversation),
    ) {
        if to_ms <= from_ms {
            return;
        }
        let cells: Vec<(u32, usize, Media, f64)> = self
            .rates
            .iter()
            .enumerate()
            .flat_map(|(q, rates)| {
                Media::ALL
                    .into_iter()
                    .enumerate()
                    .map(move |(i, m)| (q as u32, i, m, rates[i]))
            })
            .filter(|&(q, _, m, rate)| rate > 0.0 && wanted(q, m))
            .collect();
        if cells.is_empty() {
            return;
        }
        let first_minute = from_ms.div_euclid(MINUTE_MS);
        let last_minute = (to_ms - 1).div_euclid(MINUTE_MS);
        for minute in first_minute..=last_minute {
            let load = self.load_at(minute);
            for &(queue, media_index, media, rate) in &cells {
                let cell = hash(&[
                    self.seed,
                    TAG_CELL,
                    u64::from(queue),
                    media_index as u64,
                    minute as u64,
                ]);
                let arrivals = poisson(rate * load, unit(cell));
                for index in 0..arrivals {
                    let conversation =
                        self.conversation(queue, media, media_index, minute, index, load);
                    if (from_ms..to_ms).contains(&conversation.arrival_ms) {
                        f(&conversation);
                    }
                }
            }
        }
    }

    /// Generates one conversation from its random stream.
    fn conversation(
        &self,
        queue: u32,
        media: Media,
        media_index: usize,
        minute: i64,
        index: u32,
        load: f64,
    ) -> Conversation {
        let p = media.profile();
        let mut d = Draws(hash(&[
            self.seed,
            TAG_CONVERSATION,
            u64::from(queue),
            media_index as u64,
            minute as u64,
            u64::from(index),
        ]));
        let arrival_ms = minute * MINUTE_MS + d.range(0, MINUTE_MS - 1);
        let outbound = d.chance(p.outbound_share);
        let (direction, originating_direction) = match media {
            Media::Callback => (Direction::Outbound, Direction::Inbound),
            _ if outbound => (Direction::Outbound, Direction::Outbound),
            _ => (Direction::Inbound, Direction::Inbound),
        };
        let agent = (queue as usize * 7 + d.index(AGENTS_PER_QUEUE)) % self.agent_ids.len();
        let wrap_up = d.index(WRAP_UP_CODES);
        let has_wrap_up = !d.chance(0.05);
        let talk = d
            .lognormal(p.talk_median, p.talk_sigma)
            .clamp(p.talk.0, p.talk.1) as i64;
        let held = if d.chance(p.hold_share) {
            d.lognormal(p.hold_median, 0.6).clamp(5.0 * SEC, 10.0 * MIN) as i64
        } else {
            0
        };
        let acw = d.range(p.acw.0, p.acw.1);
        let transfer = d.chance(p.transfer_share).then(|| {
            if d.chance(0.6) {
                Transfer::Blind
            } else {
                Transfer::Consult
            }
        });
        // Queues get slower when they are busy.
        let wait = d.exp(p.wait_mean * (0.5 + 0.8 * load)).min(MAX_WAIT_MS) as i64;
        let patience = d.lognormal(p.patience_median, 1.2);
        let alert = d.range(p.alert.0, p.alert.1);
        let dial = d.range(5_000, 25_000);

        let (outcome, agent, wrap_up) = if outbound {
            // Only calls are dialled; outbound emails and messages connect at once.
            let dial = if media == Media::Voice { dial } else { 0 };
            let outcome = Outcome::Outbound {
                dial,
                talk,
                held,
                acw,
            };
            (
                outcome,
                Some(agent as u32),
                has_wrap_up.then_some(wrap_up as u32),
            )
        } else if patience < wait as f64 {
            let wait = (patience as i64).max(500);
            (Outcome::Abandoned { wait }, None, None)
        } else {
            let outcome = Outcome::Answered {
                wait,
                alert,
                talk,
                held,
                acw,
                transfer,
            };
            (
                outcome,
                Some(agent as u32),
                has_wrap_up.then_some(wrap_up as u32),
            )
        };
        Conversation {
            queue,
            media,
            arrival_ms,
            direction,
            originating_direction,
            agent,
            wrap_up,
            outcome,
        }
    }
}

/// The daily pattern (in UTC): quiet at night, busy in business hours with a lunch
/// dip, a third of the weekday volume at weekends.
fn load_factor(minute: i64) -> f64 {
    const POINTS: [(f64, f64); 12] = [
        (0.0, 0.04),
        (6.0, 0.06),
        (8.0, 0.7),
        (9.0, 1.0),
        (12.0, 1.0),
        (13.0, 0.8),
        (14.0, 0.95),
        (17.0, 0.9),
        (18.0, 0.5),
        (20.0, 0.25),
        (22.0, 0.1),
        (24.0, 0.04),
    ];
    let day = minute.div_euclid(1440);
    let hour = minute.rem_euclid(1440) as f64 / 60.0;
    let mut level = POINTS[0].1;
    for pair in POINTS.windows(2) {
        let ((h0, v0), (h1, v1)) = (pair[0], pair[1]);
        if hour >= h0 && hour < h1 {
            level = v0 + (v1 - v0) * (hour - h0) / (h1 - h0);
            break;
        }
    }
    // 1970-01-01 (day 0) was a Thursday.
    let weekday = (day + 3).rem_euclid(7); // 0 = Monday, 5 = Saturday
    if weekday >= 5 { level * 0.3 } else { level }
}

//! Deterministic synthetic conversations.
//!
//! Traffic is a pure function of `(seed, time)`: nothing is stored, every query
//! regenerates the conversations it needs from hashes. That makes answers repeatable
//! (the same interval always gives the same numbers) and additive (finer buckets sum
//! to coarser ones), which is what an exporter's tests need to assert on.
//!
//! Model: for every queue × media type × minute, a hash-seeded Poisson draw gives the
//! number of conversations arriving in that minute, with a daily pattern (busy in
//! business hours, quiet at night and at weekends). Each conversation's attributes
//! come from a small random stream seeded by `(seed, queue, media, minute, index)`.
//! Its measurements post the way Genesys posts them: counts when the thing happens,
//! timers in the interval where the measured thing ended.

use std::collections::HashMap;

use super::codec::uuid_from_bits;

/// No conversation lasts longer than this from arrival to the end of after-call work,
/// so a query only needs arrivals from `bucket start - MAX_SPAN_MS` onwards.
pub(crate) const MAX_SPAN_MS: i64 = 3 * 3_600_000;
/// Answered within this counts towards the service level (`oServiceLevel`).
pub(crate) const SERVICE_LEVEL_MS: i64 = 20_000;
/// The Genesys service-level target reported with `oServiceLevel`.
pub(crate) const SERVICE_LEVEL_TARGET: f64 = 0.8;
/// Abandons quicker than this are short abandons (`tShortAbandon`).
pub(crate) const SHORT_ABANDON_MS: i64 = 10_000;
/// Size of the org's agent pool unless [`Org::users`] says otherwise.
pub(crate) const AGENT_POOL: usize = 40;
/// Agents staffed on each queue (a window of the pool, overlapping between queues).
pub(crate) const AGENTS_PER_QUEUE: usize = 12;
/// Number of wrap-up codes in the org.
pub(crate) const WRAP_UP_CODES: usize = 8;
const MINUTE_MS: i64 = 60_000;
const MAX_WAIT_MS: f64 = 60.0 * 60_000.0;

// Hash domain tags, so that different uses of the seed never collide.
const TAG_QUEUE_ID: u64 = 1;
const TAG_AGENT_ID: u64 = 2;
const TAG_WRAP_UP_ID: u64 = 3;
const TAG_CELL: u64 = 4;
const TAG_CONVERSATION: u64 = 5;
const TAG_QUEUE_SHAPE: u64 = 6;
const TAG_CONVERSATION_ID: u64 = 7;

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The splitmix64 finaliser: a cheap, well-mixed 64-bit permutation.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a tuple of integers to 64 well-mixed bits.
pub(crate) fn hash(parts: &[u64]) -> u64 {
    parts.iter().fold(0x243F_6A88_85A3_08D3, |h, &p| {
        mix(h.wrapping_add(GOLDEN) ^ p)
    })
}

fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// A deterministic id shaped like a UUID, derived from `(seed, tag, index)`.
pub(crate) fn stable_uuid(seed: u64, tag: u64, index: u64) -> String {
    let hi = u128::from(hash(&[seed, tag, index, 0]));
    let lo = u128::from(hash(&[seed, tag, index, 1]));
    uuid_from_bits((hi << 64) | lo)
}

/// The random stream of one conversation (splitmix64 seeded by a hash).
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }
    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        unit(self.next())
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Uniform integer in `[lo, hi]`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.unit() * (hi - lo + 1) as f64) as i64
    }
    fn index(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }
    /// Exponentially distributed with the given mean.
    fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
    /// Log-normal with the given median and shape.
    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        // Box-Muller: one standard normal from two uniforms.
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        median * (sigma * z).exp()
    }
}

/// Media types the simulator generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Media {
    Voice,
    Chat,
    Email,
    Message,
    Callback,
}

impl Media {
    pub(crate) const ALL: [Media; 5] = [
        Media::Voice,
        Media::Chat,
        Media::Email,
        Media::Message,
        Media::Callback,
    ];

    /// The Genesys `mediaType` value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Media::Voice => "voice",
            Media::Chat => "chat",
            Media::Email => "email",
            Media::Message => "message",
            Media::Callback => "callback",
        }
    }

    fn profile(self) -> &'static MediaProfile {
        match self {
            Media::Voice => &VOICE,
            Media::Chat => &CHAT,
            Media::Email => &EMAIL,
            Media::Message => &MESSAGE,
            Media::Callback => &CALLBACK,
        }
    }
}

/// How conversations of one media type behave. Durations in milliseconds.
struct MediaProfile {
    /// Arrivals per minute at peak for a queue of size 1.
    peak_per_minute: f64,
    /// Share of queues that serve this media type.
    served_by: f64,
    /// Share of agent-initiated outbound conversations (no queue wait).
    outbound_share: f64,
    /// Mean queue wait at an average load (exponentially distributed).
    wait_mean: f64,
    /// Median customer patience before abandoning (log-normal); infinite = never
    /// abandons.
    patience_median: f64,
    alert: (i64, i64),
    talk_median: f64,
    talk_sigma: f64,
    talk: (f64, f64),
    hold_share: f64,
    hold_median: f64,
    acw: (i64, i64),
    transfer_share: f64,
}

const SEC: f64 = 1000.0;
const MIN: f64 = 60_000.0;

static VOICE: MediaProfile = MediaProfile {
    peak_per_minute: 1.2,
    served_by: 1.0,
    outbound_share: 0.10,
    wait_mean: 10.0 * SEC,
    patience_median: 120.0 * SEC,
    alert: (2_000, 8_000),
    talk_median: 4.5 * MIN,
    talk_sigma: 0.5,
    talk: (20.0 * SEC, 60.0 * MIN),
    hold_share: 0.35,
    hold_median: 60.0 * SEC,
    acw: (15_000, 120_000),
    transfer_share: 0.06,
};
static CHAT: MediaProfile = MediaProfile {
    peak_per_minute: 0.5,
    served_by: 0.75,
    outbound_share: 0.0,
    wait_mean: 20.0 * SEC,
    patience_median: 180.0 * SEC,
    alert: (3_000, 15_000),
    talk_median: 10.0 * MIN,
    talk_sigma: 0.5,
    talk: (1.0 * MIN, 60.0 * MIN),
    hold_share: 0.05,
    hold_median: 60.0 * SEC,
    acw: (30_000, 180_000),
    transfer_share: 0.03,
};
static EMAIL: MediaProfile = MediaProfile {
    peak_per_minute: 0.25,
    served_by: 0.6,
    outbound_share: 0.15,
    wait_mean: 15.0 * MIN,
    patience_median: f64::INFINITY,
    alert: (5_000, 30_000),
    talk_median: 9.0 * MIN,
    talk_sigma: 0.6,
    talk: (1.0 * MIN, 60.0 * MIN),
    hold_share: 0.0,
    hold_median: 0.0,
    acw: (30_000, 120_000),
    transfer_share: 0.04,
};
static MESSAGE: MediaProfile = MediaProfile {
    peak_per_minute: 0.35,
    served_by: 0.5,
    outbound_share: 0.05,
    wait_mean: 40.0 * SEC,
    patience_median: 600.0 * SEC,
    alert: (3_000, 15_000),
    talk_median: 12.0 * MIN,
    talk_sigma: 0.6,
    talk: (1.0 * MIN, 60.0 * MIN),
    hold_share: 0.0,
    hold_median: 0.0,
    acw: (30_000, 120_000),
    transfer_share: 0.03,
};
static CALLBACK: MediaProfile = MediaProfile {
    peak_per_minute: 0.12,
    served_by: 0.4,
    outbound_share: 0.0,
    wait_mean: 5.0 * MIN,
    patience_median: f64::INFINITY,
    alert: (2_000, 10_000),
    talk_median: 4.0 * MIN,
    talk_sigma: 0.5,
    talk: (20.0 * SEC, 60.0 * MIN),
    hold_share: 0.3,
    hold_median: 45.0 * SEC,
    acw: (15_000, 90_000),
    transfer_share: 0.04,
};

/// Conversation direction (`direction` / `originatingDirection`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    const ALL: [Direction; 2] = [Direction::Inbound, Direction::Outbound];
    fn name(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// The participant a measurement belongs to (`purpose`): queue measurements are
/// `acd`, agent measurements `agent`, conversation counts `customer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    Customer,
    Acd,
    Agent,
}

impl Purpose {
    const ALL: [Purpose; 3] = [Purpose::Customer, Purpose::Acd, Purpose::Agent];
    fn name(self) -> &'static str {
        match self {
            Purpose::Customer => "customer",
            Purpose::Acd => "acd",
            Purpose::Agent => "agent",
        }
    }
}

/// Dimensions the model gives values to. Any other catalogue dimension is valid in a
/// query but has no value (group key absent, `matches` never true).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dim {
    QueueId,
    MediaType,
    Direction,
    OriginatingDirection,
    UserId,
    WrapUpCode,
    Purpose,
}

/// Number of modelled dimensions (length of a dimension-value vector).
pub(crate) const DIM_COUNT: usize = 7;

/// The value codes of one measurement, indexed by [`Dim::index`]; `None` = absent.
pub(crate) type DimValues = [Option<u32>; DIM_COUNT];

impl Dim {
    pub(crate) const ALL: [Dim; DIM_COUNT] = [
        Dim::QueueId,
        Dim::MediaType,
        Dim::Direction,
        Dim::OriginatingDirection,
        Dim::UserId,
        Dim::WrapUpCode,
        Dim::Purpose,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Dim::QueueId => "queueId",
            Dim::MediaType => "mediaType",
            Dim::Direction => "direction",
            Dim::OriginatingDirection => "originatingDirection",
            Dim::UserId => "userId",
            Dim::WrapUpCode => "wrapUpCode",
            Dim::Purpose => "purpose",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Dim> {
        Dim::ALL.into_iter().find(|d| d.name() == name)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// How a metric's stats are shaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MetricKind {
    /// `n…`: `{count}`.
    Count,
    /// `t…`: `{max, min, count, sum}` in milliseconds.
    Timer,
    /// `oServiceLevel`: `{ratio, numerator, denominator, target}`.
    ServiceLevel,
}

/// Metrics the model produces. Other catalogue metrics are valid but have no data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Metric {
    NOffered,
    NConnected,
    NTransferred,
    NBlindTransferred,
    NConsultTransferred,
    NOverSla,
    NConversations,
    NOutbound,
    THandle,
    TTalk,
    TTalkComplete,
    THeld,
    THeldComplete,
    TAcw,
    TAnswered,
    TWait,
    TAcd,
    TAlert,
    TAbandon,
    TShortAbandon,
    TDialing,
    OServiceLevel,
}

/// Number of modelled metrics.
pub(crate) const METRIC_COUNT: usize = 22;

impl Metric {
    pub(crate) const ALL: [Metric; METRIC_COUNT] = [
        Metric::NOffered,
        Metric::NConnected,
        Metric::NTransferred,
        Metric::NBlindTransferred,
        Metric::NConsultTransferred,
        Metric::NOverSla,
        Metric::NConversations,
        Metric::NOutbound,
        Metric::THandle,
        Metric::TTalk,
        Metric::TTalkComplete,
        Metric::THeld,
        Metric::THeldComplete,
        Metric::TAcw,
        Metric::TAnswered,
        Metric::TWait,
        Metric::TAcd,
        Metric::TAlert,
        Metric::TAbandon,
        Metric::TShortAbandon,
        Metric::TDialing,
        Metric::OServiceLevel,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Metric::NOffered => "nOffered",
            Metric::NConnected => "nConnected",
            Metric::NTransferred => "nTransferred",
            Metric::NBlindTransferred => "nBlindTransferred",
            Metric::NConsultTransferred => "nConsultTransferred",
            Metric::NOverSla => "nOverSla",
            Metric::NConversations => "nConversations",
            Metric::NOutbound => "nOutbound",
            Metric::THandle => "tHandle",
            Metric::TTalk => "tTalk",
            Metric::TTalkComplete => "tTalkComplete",
            Metric::THeld => "tHeld",
            Metric::THeldComplete => "tHeldComplete",
            Metric::TAcw => "tAcw",
            Metric::TAnswered => "tAnswered",
            Metric::TWait => "tWait",
            Metric::TAcd => "tAcd",
            Metric::TAlert => "tAlert",
            Metric::TAbandon => "tAbandon",
            Metric::TShortAbandon => "tShortAbandon",
            Metric::TDialing => "tDialing",
            Metric::OServiceLevel => "oServiceLevel",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn kind(self) -> MetricKind {
        match self {
            Metric::OServiceLevel => MetricKind::ServiceLevel,
            m if m.name().starts_with('t') => MetricKind::Timer,
            _ => MetricKind::Count,
        }
    }
}

/// One measurement posted by a conversation: `value` is 1 for counts, milliseconds
/// for timers, 1 (met) / 0 (missed) for the service level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    pub at_ms: i64,
    pub metric: Metric,
    pub value: i64,
    pub purpose: Purpose,
}

/// How a transferred conversation was transferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transfer {
    Blind,
    Consult,
}

/// What happened to a conversation. Durations in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Outcome {
    /// The customer hung up while queued, `wait` after arriving.
    Abandoned { wait: i64 },
    /// Queued for `wait`, alerted an agent for `alert`, then handled.
    Answered {
        wait: i64,
        alert: i64,
        talk: i64,
        held: i64,
        acw: i64,
        transfer: Option<Transfer>,
    },
    /// Agent-initiated on behalf of the queue: dialled for `dial` (0 unless voice),
    /// then handled.
    Outbound {
        dial: i64,
        talk: i64,
        held: i64,
        acw: i64,
    },
}

/// One synthetic conversation as seen by one queue.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Conversation {
    pub queue: u32,
    pub media: Media,
    pub arrival_ms: i64,
    pub direction: Direction,
    pub originating_direction: Direction,
    /// Index into the agent pool; `None` when no agent handled it.
    pub agent: Option<u32>,
    pub wrap_up: Option<u32>,
    pub outcome: Outcome,
}

impl Conversation {
    /// Calls `f` with every measurement this conversation posts, at the time it posts.
    pub(crate) fn for_each_event(&self, mut f: impl FnMut(Event)) {
        let t0 = self.arrival_ms;
        let mut post = |at_ms, metric, value, purpose| {
            f(Event {
                at_ms,
                metric,
                value,
                purpose,
            })
        };
        post(t0, Metric::NConversations, 1, Purpose::Customer);
        match self.outcome {
            Outcome::Abandoned { wait } => {
                let at = t0 + wait;
                post(t0, Metric::NOffered, 1, Purpose::Acd);
                post(at, Metric::TAbandon, wait, Purpose::Acd);
                post(at, Metric::TAcd, wait, Purpose::Acd);
                if wait < SHORT_ABANDON_MS {
                    post(at, Metric::TShortAbandon, wait, Purpose::Acd);
                } else {
                    post(at, Metric::OServiceLevel, 0, Purpose::Acd);
                    if wait > SERVICE_LEVEL_MS {
                        post(at, Metric::NOverSla, 1, Purpose::Acd);
                    }
                }
            }
            Outcome::Answered {
                wait,
                alert,
                talk,
                held,
                acw,
                transfer,
            } => {
                let answered = t0 + wait + alert;
                let to_answer = wait + alert;
                post(t0, Metric::NOffered, 1, Purpose::Acd);
                post(answered, Metric::TWait, wait, Purpose::Acd);
                post(answered, Metric::TAcd, to_answer, Purpose::Acd);
                post(answered, Metric::TAnswered, to_answer, Purpose::Acd);
                let met = to_answer <= SERVICE_LEVEL_MS;
                post(
                    answered,
                    Metric::OServiceLevel,
                    i64::from(met),
                    Purpose::Acd,
                );
                if !met {
                    post(answered, Metric::NOverSla, 1, Purpose::Acd);
                }
                post(answered, Metric::TAlert, alert, Purpose::Agent);
                post(answered, Metric::NConnected, 1, Purpose::Agent);
                let disconnected = answered + talk + held;
                if let Some(kind) = transfer {
                    post(disconnected, Metric::NTransferred, 1, Purpose::Agent);
                    let metric = match kind {
                        Transfer::Blind => Metric::NBlindTransferred,
                        Transfer::Consult => Metric::NConsultTransferred,
                    };
                    post(disconnected, metric, 1, Purpose::Agent);
                }
                Self::post_handling(disconnected, talk, held, acw, &mut post);
            }
            Outcome::Outbound {
                dial,
                talk,
                held,
                acw,
            } => {
                let connected = t0 + dial;
                post(t0, Metric::NOutbound, 1, Purpose::Agent);
                if dial > 0 {
                    post(connected, Metric::TDialing, dial, Purpose::Agent);
                }
                post(connected, Metric::NConnected, 1, Purpose::Agent);
                Self::post_handling(connected + talk + held, talk, held, acw, &mut post);
            }
        }
    }

    /// Talk and hold post when the customer disconnects; after-call work and the
    /// handle time when the agent finishes wrap-up.
    fn post_handling(
        disconnected: i64,
        talk: i64,
        held: i64,
        acw: i64,
        post: &mut impl FnMut(i64, Metric, i64, Purpose),
    ) {
        post(disconnected, Metric::TTalk, talk, Purpose::Agent);
        post(disconnected, Metric::TTalkComplete, talk, Purpose::Agent);
        if held > 0 {
            post(disconnected, Metric::THeld, held, Purpose::Agent);
            post(disconnected, Metric::THeldComplete, held, Purpose::Agent);
        }
        let finished = disconnected + acw;
        if acw > 0 {
            post(finished, Metric::TAcw, acw, Purpose::Agent);
        }
        post(finished, Metric::THandle, talk + held + acw, Purpose::Agent);
    }

    /// The dimension values of a measurement of this conversation with `purpose`.
    pub(crate) fn dim_values(&self, purpose: Purpose) -> DimValues {
        [
            Some(self.queue),
            Some(self.media as u32),
            Some(self.direction as u32),
            Some(self.originating_direction as u32),
            self.agent,
            self.wrap_up,
            Some(purpose as u32),
        ]
    }

    /// When the last measurement posts (for checking [`MAX_SPAN_MS`]).
    #[cfg(test)]
    fn last_event_ms(&self) -> i64 {
        let mut last = self.arrival_ms;
        self.for_each_event(|e| last = last.max(e.at_ms));
        last
    }
}

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
                users: AGENT_POOL,
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

/// Inverse-CDF Poisson sample for a small mean `lambda` from a uniform `u`.
fn poisson(lambda: f64, u: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    let mut p = (-lambda).exp();
    let mut cdf = p;
    let mut k = 0;
    while u > cdf && k < 100 {
        k += 1;
        p *= lambda / f64::from(k);
        cdf += p;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    // 2026-11-25 (a Wednesday) 00:00 UTC in ms.
    const WEDNESDAY: i64 = 1_795_564_800_000;

    #[test]
    fn every_modelled_name_is_in_the_catalogue() {
        use crate::genesys::catalog;
        for m in Metric::ALL {
            assert!(catalog::is_conversation_metric(m.name()), "{}", m.name());
        }
        for d in Dim::ALL {
            assert!(catalog::is_conversation_dimension(d.name()), "{}", d.name());
        }
    }

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
}

//! How conversations of each media type behave: volumes, waits, patience, talk, hold and
//! wrap-up, as distributions the world draws from.

/// Media types the simulator generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

    pub(super) fn profile(self) -> &'static MediaProfile {
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
pub(super) struct MediaProfile {
    /// Arrivals per minute at peak for a queue of size 1.
    pub(super) peak_per_minute: f64,
    /// Share of queues that serve this media type.
    pub(super) served_by: f64,
    /// Share of agent-initiated outbound conversations (no queue wait).
    pub(super) outbound_share: f64,
    /// Mean queue wait at an average load (exponentially distributed).
    pub(super) wait_mean: f64,
    /// Median customer patience before abandoning (log-normal); infinite = never
    /// abandons.
    pub(super) patience_median: f64,
    pub(super) alert: (i64, i64),
    pub(super) talk_median: f64,
    pub(super) talk_sigma: f64,
    pub(super) talk: (f64, f64),
    pub(super) hold_share: f64,
    pub(super) hold_median: f64,
    pub(super) acw: (i64, i64),
    pub(super) transfer_share: f64,
}

pub(super) const SEC: f64 = 1000.0;
pub(super) const MIN: f64 = 60_000.0;

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

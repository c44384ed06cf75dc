//! The exporter's own metrics (`genesys_exporter_*`): how its polls and API calls go.
//!
//! These change with every API request and poll, not with every scrape, so a scrape
//! reuses the last encoding (plain and gzipped) until something changes: every change
//! goes through a method here, which bumps a generation number.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::build;
use crate::gzip::Piece;

type Labels = Vec<(&'static str, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// The help text of `genesys_exporter_build_info`, shared with the backfill writer.
pub const BUILD_INFO_HELP: &str = "A metric with a constant 1 labeled by the exporter's version, git revision and branch, the rustc version and the target it was built for";

/// The labels of `genesys_exporter_build_info`: the live exporter and the backfill write
/// the same ones, so dashboards that join on them work on history too.
pub fn build_info_labels() -> Vec<(&'static str, String)> {
    vec![
        ("version", build::VERSION.to_string()),
        ("revision", build::REVISION.to_string()),
        ("branch", build::BRANCH.to_string()),
        ("rustversion", rust_version(build::RUSTC_VERSION)),
        ("target", build::TARGET.to_string()),
    ]
}

/// `1.95.0` from `rustc 1.95.0 (59807616e 2026-04-14)`, as `goversion` carries `go1.22.1`.
fn rust_version(rustc: &str) -> String {
    rustc.split_whitespace().nth(1).unwrap_or(rustc).to_string()
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Buckets for API request durations: Genesys answers in tens of milliseconds to a few
/// seconds; aggregate queries over busy orgs take the longest.
const API_DURATION_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Longest time one encoding of the self-metrics is reused.
const TAIL_MAX_AGE: Duration = Duration::from_secs(1);

/// Handles to every self-metric, shared by the client, the scheduler and the server.
#[derive(Debug)]
pub struct Telemetry {
    registry: Registry,
    api_requests: Family<Labels, Counter>,
    api_request_duration: Family<Labels, Histogram>,
    rate_limit_remaining: FloatGauge,
    rate_limit_allowed: FloatGauge,
    token_renewals: Counter,
    polls_delayed: Family<Labels, Counter>,
    query_up: Family<Labels, Gauge>,
    query_last_success: Family<Labels, FloatGauge>,
    query_duration: Family<Labels, FloatGauge>,
    response_warnings: Family<Labels, Counter>,
    api_clock_skew: FloatGauge,
    query_interval: Family<Labels, FloatGauge>,
    query_settle_delay: Family<Labels, FloatGauge>,
    query_requests_per_poll: Family<Labels, Gauge>,
    names_known: Family<Labels, Gauge>,
    /// The same counts, in the order first set, for the landing page.
    names_listed: Mutex<Vec<(&'static str, usize)>>,
    planned_requests_per_minute: Family<Labels, FloatGauge>,
    effective_refresh: Family<Labels, FloatGauge>,
    reload_successful: Gauge,
    reload_success_time: FloatGauge,
    push: PushMetrics,
    /// Bumped after every change to a self-metric.
    generation: AtomicU64,
    /// The last encoding in each format (text 0.0.4, OpenMetrics).
    encoded: Mutex<[Option<CachedTail>; 2]>,
}

/// The push transport's metrics (docs/push.md).
#[derive(Debug, Default)]
struct PushMetrics {
    channels: Gauge,
    channel_slots: Gauge,
    channel_limit: Gauge,
    topics: Family<Labels, Gauge>,
    events: Family<Labels, Counter>,
    seconds_since_event: FloatGauge,
    seconds_since_heartbeat: FloatGauge,
    reconnects: Family<Labels, Counter>,
    reconcile_differences: Family<Labels, Counter>,
    up: Family<Labels, Gauge>,
    /// When the last topic event and heartbeat arrived (the ages are set from these
    /// when the self-metrics are encoded).
    last_event: Mutex<Option<Instant>>,
    last_heartbeat: Mutex<Option<Instant>>,
    /// `up` by set, for the landing page.
    sets: Mutex<std::collections::BTreeMap<String, bool>>,
}

impl PushMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "genesys_exporter_push_channels",
            "Notification channels open (each up to 1,000 topics; Genesys allows 20 an OAuth client)",
            self.channels.clone(),
        );
        registry.register(
            "genesys_exporter_push_channel_slots",
            "Notification channels the exporter holds or is creating, the handover spare included, out of genesys_exporter_push_channel_limit",
            self.channel_slots.clone(),
        );
        registry.register(
            "genesys_exporter_push_channel_limit",
            "Notification channels the exporter may hold (--push.max-channels; Genesys allows 20 an OAuth client), one of them the handover spare",
            self.channel_limit.clone(),
        );
        registry.register(
            "genesys_exporter_push_topics",
            "Topics subscribed, by state: permitted, or rejected (a missing permission, logged once with the permission to grant)",
            self.topics.clone(),
        );
        for state in ["permitted", "rejected"] {
            let _ = self
                .topics
                .get_or_create(&vec![("state", state.to_string())]);
        }
        registry.register(
            "genesys_exporter_push_events",
            "Frames read off the notification sockets, by kind: queue_observations, user_activity, heartbeat, socket_closing, no_longer_subscribed, renewed (a subscription renewed), malformed (skipped), other",
            self.events.clone(),
        );
        registry.register(
            "genesys_exporter_push_seconds_since_event",
            "Seconds since the last topic event arrived on any socket, NaN before the first",
            self.seconds_since_event.clone(),
        );
        self.seconds_since_event.set(f64::NAN);
        registry.register(
            "genesys_exporter_push_seconds_since_heartbeat",
            "Seconds since the last heartbeat (or pong) arrived on any socket, NaN before the first",
            self.seconds_since_heartbeat.clone(),
        );
        self.seconds_since_heartbeat.set(f64::NAN);
        registry.register(
            "genesys_exporter_push_reconnects",
            "Notification sockets replaced or reopened, by reason: closed, error, heartbeat_missed, socket_closing, no_longer_subscribed, renewal_failed",
            self.reconnects.clone(),
        );
        registry.register(
            "genesys_exporter_push_reconcile_differences",
            "Series whose pushed value differed from the reconcile poll's (which is then adopted), by query",
            self.reconcile_differences.clone(),
        );
        registry.register(
            "genesys_exporter_push_up",
            "1 while a pushed set's state is trusted (every socket up and seeded by REST since), 0 while it is not (an auto set then polls every refresh)",
            self.up.clone(),
        );
    }

    /// Sets the ages from the last arrivals.
    fn refresh_ages(&self) {
        let age = |last: &Mutex<Option<Instant>>| {
            last.lock()
                .unwrap_or_else(|p| p.into_inner())
                .map_or(f64::NAN, |at| at.elapsed().as_secs_f64())
        };
        self.seconds_since_event.set(age(&self.last_event));
        self.seconds_since_heartbeat.set(age(&self.last_heartbeat));
    }
}

/// What the landing page shows of the push transport.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PushSummary {
    pub channels: i64,
    pub permitted: i64,
    pub rejected: i64,
    pub seconds_since_event: Option<f64>,
    pub seconds_since_heartbeat: Option<f64>,
    /// Each pushed set and whether its pushed state is trusted.
    pub sets: Vec<(String, bool)>,
}

/// An encoding of the self-metrics, with the generation and time it was made at.
type CachedTail = (u64, Instant, Arc<EncodedTail>);

/// The self-metrics as a scrape sends them after the conversation series: the
/// OpenMetrics encoding ends with `# EOF`.
#[derive(Debug)]
pub struct EncodedTail {
    pub plain: Bytes,
    /// `plain` compressed as the last piece of the gzip stream, after the snapshot's.
    pub gzip: Piece,
}

impl Telemetry {
    /// Registers every self-metric. `requests_per_minute` is the configured API budget,
    /// exported so dashboards can draw spend against it.
    pub fn new(requests_per_minute: u32) -> Telemetry {
        let mut registry = Registry::default();
        let api_requests = Family::<Labels, Counter>::default();
        registry.register(
            "genesys_exporter_api_requests",
            "Requests sent to the Genesys Cloud API and login server, by endpoint and HTTP status code (code=\"error\" when no response arrived)",
            api_requests.clone(),
        );
        let api_request_duration = Family::<Labels, Histogram>::new_with_constructor(
            new_api_duration_histogram as fn() -> Histogram,
        );
        registry.register(
            "genesys_exporter_api_request_duration_seconds",
            "Time from sending a Genesys API request to receiving its whole response, by endpoint",
            api_request_duration.clone(),
        );
        let rate_limit_remaining = FloatGauge::default();
        registry.register(
            "genesys_exporter_api_rate_limit_remaining",
            "Requests left in the current Genesys rate-limit window (inin-ratelimit-allowed minus inin-ratelimit-count of the last response), NaN until the first response",
            rate_limit_remaining.clone(),
        );
        rate_limit_remaining.set(f64::NAN);
        let rate_limit_allowed = FloatGauge::default();
        registry.register(
            "genesys_exporter_api_rate_limit_allowed",
            "Requests Genesys allows in one rate-limit window (inin-ratelimit-allowed of the last response), NaN until the first response",
            rate_limit_allowed.clone(),
        );
        rate_limit_allowed.set(f64::NAN);
        let api_clock_skew = FloatGauge::default();
        registry.register(
            "genesys_exporter_api_clock_skew_seconds",
            "Genesys' clock minus this host's, from the Date header of the last API response (1 s resolution); intervals are chosen by Genesys' clock",
            api_clock_skew.clone(),
        );
        let budget = Gauge::<i64>::default();
        budget.set(i64::from(requests_per_minute));
        registry.register(
            "genesys_exporter_api_budget_requests_per_minute",
            "The API budget the exporter keeps to (--genesys.requests-per-minute), retries included",
            budget,
        );
        let token_renewals = Counter::default();
        registry.register(
            "genesys_exporter_token_renewals",
            "OAuth access tokens obtained (the first one included), on expiry or after the API rejected a token",
            token_renewals.clone(),
        );
        let polls_delayed = Family::<Labels, Counter>::default();
        registry.register(
            "genesys_exporter_polls_delayed",
            "Polls that had to wait for the API budget (or a 429's Retry-After) before they could run",
            polls_delayed.clone(),
        );
        let query_up = Family::<Labels, Gauge>::default();
        registry.register(
            "genesys_exporter_query_up",
            "1 if the last poll of the query succeeded, 0 if it failed; the last good values stay exported while it is 0",
            query_up.clone(),
        );
        let query_last_success = Family::<Labels, FloatGauge>::default();
        registry.register(
            "genesys_exporter_query_last_success_timestamp_seconds",
            "Unix time of the query's last successful poll",
            query_last_success.clone(),
        );
        let query_duration = Family::<Labels, FloatGauge>::default();
        registry.register(
            "genesys_exporter_query_duration_seconds",
            "Wall time of the query's last poll, waiting for the budget and retries included",
            query_duration.clone(),
        );
        let response_warnings = Family::<Labels, Counter>::default();
        registry.register(
            "genesys_exporter_response_warnings",
            "Parts of API responses that were skipped (a stat that is not a number, a bucket for another interval), by query; for the name listings (an entity without id or name, a page over the size limit), by dimension",
            response_warnings.clone(),
        );
        // Each query's schedule, so that an alert can tell stale data from a long interval
        // (last success older than two intervals plus the settle delay) for any config.
        let query_interval = Family::<Labels, FloatGauge>::default();
        registry.register(
            "genesys_exporter_query_interval_seconds",
            "Length of the query's interval (its granularity; a day counts as 86400 s), the normal time between its polls",
            query_interval.clone(),
        );
        let query_settle_delay = Family::<Labels, FloatGauge>::default();
        registry.register(
            "genesys_exporter_query_settle_delay_seconds",
            "How long the query waits after an interval ends before polling it (settle_delay)",
            query_settle_delay.clone(),
        );
        let query_requests_per_poll = Family::<Labels, Gauge>::default();
        registry.register(
            "genesys_exporter_query_requests_per_poll",
            "Aggregates requests one poll of the query sends, retries not included: 1, or more when its filter is too large for one request body and is split",
            query_requests_per_poll.clone(),
        );
        let names_known = Family::<Labels, Gauge>::default();
        registry.register(
            "genesys_exporter_names",
            "Names known for the ids of a group_by dimension (queueId, userId, wrapUpCode, ...), read from its Genesys listing",
            names_known.clone(),
        );
        let planned_requests_per_minute = Family::<Labels, FloatGauge>::default();
        registry.register(
            "genesys_exporter_planned_requests_per_minute",
            "Requests a minute the request plan gives the query or observation set (retries not included); the name listings are query=\"(names)\"",
            planned_requests_per_minute.clone(),
        );
        let effective_refresh = Family::<Labels, FloatGauge>::default();
        registry.register(
            "genesys_exporter_query_effective_refresh_seconds",
            "Time between polls the request plan gives the query or observation set: its refresh, or longer when observations were stretched to fit the API budget",
            effective_refresh.clone(),
        );
        // Set at start-up as by Prometheus: the config in force was loaded successfully.
        let reload_successful = Gauge::<i64>::default();
        reload_successful.set(1);
        registry.register(
            "genesys_exporter_config_last_reload_successful",
            "1 if the last reload of --config.file and --web.config.file (SIGHUP or POST /-/reload) succeeded, 0 if it was refused and the previous config kept serving",
            reload_successful.clone(),
        );
        let reload_success_time = FloatGauge::default();
        reload_success_time.set(unix_now());
        registry.register(
            "genesys_exporter_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful config load (start-up or reload)",
            reload_success_time.clone(),
        );
        let push = PushMetrics::default();
        push.register(&mut registry);
        let build_info = Family::<Labels, Gauge>::default();
        build_info.get_or_create(&build_info_labels()).set(1);
        registry.register("genesys_exporter_build_info", BUILD_INFO_HELP, build_info);
        Telemetry {
            registry,
            api_requests,
            api_request_duration,
            rate_limit_remaining,
            rate_limit_allowed,
            api_clock_skew,
            token_renewals,
            polls_delayed,
            query_up,
            query_last_success,
            query_duration,
            response_warnings,
            query_interval,
            query_settle_delay,
            query_requests_per_poll,
            names_known,
            names_listed: Mutex::default(),
            planned_requests_per_minute,
            effective_refresh,
            reload_successful,
            reload_success_time,
            push,
            generation: AtomicU64::new(0),
            encoded: Mutex::new([None, None]),
        }
    }

    /// Exports a query's schedule and cost: its interval length, settle delay and
    /// requests per poll.
    pub fn describe_query(
        &self,
        query: &str,
        interval: Duration,
        settle_delay: Duration,
        requests_per_poll: usize,
    ) {
        let labels = query_labels(query);
        self.query_requests_per_poll
            .get_or_create(&labels)
            .set(i64::try_from(requests_per_poll).unwrap_or(i64::MAX));
        self.query_interval
            .get_or_create(&labels)
            .set(interval.as_secs_f64());
        self.query_settle_delay
            .get_or_create(&labels)
            .set(settle_delay.as_secs_f64());
        self.changed();
    }

    /// Exports one entry of the request plan.
    pub fn describe_plan(
        &self,
        query: &str,
        requests_per_minute: f64,
        effective_refresh: Duration,
    ) {
        let labels = query_labels(query);
        self.planned_requests_per_minute
            .get_or_create(&labels)
            .set(requests_per_minute);
        if !effective_refresh.is_zero() {
            self.effective_refresh
                .get_or_create(&labels)
                .set(effective_refresh.as_secs_f64());
        }
        self.changed();
    }

    /// Every method that changes a self-metric ends with this.
    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The self-metrics to append to a scrape, encoded again only if something changed
    /// since the last scrape in that format: encoding and gzipping them on every scrape
    /// was a measurable part of its cost (BENCHMARKS.md). An encoding is also never
    /// reused for longer than [`TAIL_MAX_AGE`], a bound on staleness should a change ever
    /// bypass [`Telemetry::changed`].
    pub fn scrape_tail(&self, openmetrics: bool) -> Arc<EncodedTail> {
        // Read before encoding: a change during the encoding bumps the generation
        // again, and the next scrape encodes afresh.
        let generation = self.generation.load(Ordering::Acquire);
        let now = Instant::now();
        let mut encoded = self.encoded.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut encoded[usize::from(openmetrics)];
        if let Some((at, made, tail)) = slot.as_ref()
            && *at == generation
            && now.duration_since(*made) < TAIL_MAX_AGE
        {
            return Arc::clone(tail);
        }
        self.push.refresh_ages();
        let mut text = String::new();
        // Writing to a String cannot fail.
        if openmetrics {
            let _ = self.encode_openmetrics(&mut text);
            text.push_str("# EOF\n");
        } else {
            let _ = self.encode_prometheus_text(&mut text);
        }
        let tail = Arc::new(EncodedTail {
            gzip: Piece::last(text.as_bytes()),
            plain: Bytes::from(text),
        });
        *slot = Some((generation, now, Arc::clone(&tail)));
        tail
    }

    /// Makes every per-query series exist from start-up (counters at 0, up at 0), so
    /// dashboards and alerts see them before the first poll ends.
    pub fn register_query(&self, query: &str) {
        let labels = query_labels(query);
        let _ = self.polls_delayed.get_or_create(&labels);
        let _ = self.query_up.get_or_create(&labels);
        let _ = self.response_warnings.get_or_create(&labels);
        self.changed();
    }

    /// Removes every per-query series of a query a reload removed, so that they
    /// disappear from the next scrape.
    pub fn forget_query(&self, query: &str) {
        let labels = query_labels(query);
        self.planned_requests_per_minute.remove(&labels);
        self.effective_refresh.remove(&labels);
        self.forget_polls(query);
    }

    /// Removes the series a name's poller made (up, last success, durations,
    /// warnings, its description) and keeps its plan's: for a name a reload gives to
    /// an entry of the other kind, whose plan the reload has just made and whose new
    /// poller registers afresh, so that the old kind's `query_up` and last success do
    /// not pass for the new entry's.
    pub fn forget_polls(&self, query: &str) {
        let labels = query_labels(query);
        self.polls_delayed.remove(&labels);
        self.query_up.remove(&labels);
        self.query_last_success.remove(&labels);
        self.query_duration.remove(&labels);
        self.response_warnings.remove(&labels);
        self.forget_push(query);
        self.query_interval.remove(&labels);
        self.query_settle_delay.remove(&labels);
        self.query_requests_per_poll.remove(&labels);
        self.changed();
    }

    /// Records the outcome of a reload.
    pub fn observe_reload(&self, success: bool) {
        self.reload_successful.set(i64::from(success));
        if success {
            self.reload_success_time.set(unix_now());
        }
        self.changed();
    }

    /// Counts one API exchange; `code` is the HTTP status or `error`.
    pub fn observe_api_request(&self, endpoint: &'static str, code: &str, seconds: f64) {
        self.api_requests
            .get_or_create(&vec![
                ("endpoint", endpoint.to_string()),
                ("code", code.to_string()),
            ])
            .inc();
        self.api_request_duration
            .get_or_create(&vec![("endpoint", endpoint.to_string())])
            .observe(seconds);
        self.changed();
    }

    /// Records the rate-limit headers of the last response.
    pub fn observe_rate_limit(&self, allowed: f64, count: f64) {
        self.rate_limit_allowed.set(allowed);
        self.rate_limit_remaining.set((allowed - count).max(0.0));
        self.changed();
    }

    /// Records how far Genesys' clock is from this host's.
    pub fn observe_clock_skew(&self, seconds: f64) {
        self.api_clock_skew.set(seconds);
    }

    pub fn count_token_renewal(&self) {
        self.token_renewals.inc();
        self.changed();
    }

    pub fn count_delayed_poll(&self, query: &str) {
        self.polls_delayed.get_or_create(&query_labels(query)).inc();
        self.changed();
    }

    /// Records how many names one dimension's listing gave.
    pub fn set_names_known(&self, dimension: &'static str, count: usize) {
        self.names_known
            .get_or_create(&dimension_labels(dimension))
            .set(i64::try_from(count).unwrap_or(i64::MAX));
        let mut listed = self.names_listed.lock().unwrap_or_else(|p| p.into_inner());
        match listed.iter_mut().find(|(d, _)| *d == dimension) {
            Some(entry) => entry.1 = count,
            None => listed.push((dimension, count)),
        }
        drop(listed);
        self.changed();
    }

    /// Drops a dimension no query groups by any more from `genesys_exporter_names` and
    /// the landing page.
    pub fn forget_names(&self, dimension: &'static str) {
        self.names_known.remove(&dimension_labels(dimension));
        self.names_listed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(d, _)| *d != dimension);
        self.changed();
    }

    /// The names known per dimension in use, for the landing page.
    pub fn names_known(&self) -> Vec<(&'static str, usize)> {
        self.names_listed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Counts the skipped parts of a name listing (entities without id or name, pages
    /// over the size limit), with a `dimension` label where a query's have `query`.
    pub fn count_name_warnings(&self, dimension: &'static str, warnings: u64) {
        self.response_warnings
            .get_or_create(&dimension_labels(dimension))
            .inc_by(warnings);
        self.changed();
    }

    pub fn count_response_warnings(&self, query: &str, warnings: u64) {
        self.response_warnings
            .get_or_create(&query_labels(query))
            .inc_by(warnings);
        self.changed();
    }

    /// Records the outcome of one poll.
    pub fn observe_poll(&self, query: &str, success_unix_time: Option<f64>, seconds: f64) {
        let labels = query_labels(query);
        self.query_up
            .get_or_create(&labels)
            .set(i64::from(success_unix_time.is_some()));
        if let Some(time) = success_unix_time {
            self.query_last_success.get_or_create(&labels).set(time);
        }
        self.query_duration.get_or_create(&labels).set(seconds);
        self.changed();
    }

    /// Adds `delta` (negative when closed) to the channels open.
    pub fn add_push_channels(&self, delta: i64) {
        self.push.channels.inc_by(delta);
        self.changed();
    }

    /// Adds `delta` (negative when given back) to the channel slots held.
    pub fn add_push_channel_slots(&self, delta: i64) {
        self.push.channel_slots.inc_by(delta);
        self.changed();
    }

    /// The channels the exporter may hold (its channel budget).
    pub fn set_push_channel_limit(&self, limit: usize) {
        self.push
            .channel_limit
            .set(i64::try_from(limit).unwrap_or(i64::MAX));
        self.changed();
    }

    /// Adds to the topics subscribed, permitted and rejected.
    pub fn add_push_topics(&self, permitted: i64, rejected: i64) {
        for (state, delta) in [("permitted", permitted), ("rejected", rejected)] {
            self.push
                .topics
                .get_or_create(&vec![("state", state.to_string())])
                .inc_by(delta);
        }
        self.changed();
    }

    /// Counts one frame of `kind`; a topic event also restarts the age of the last event.
    pub fn count_push_event(&self, kind: &'static str) {
        self.push
            .events
            .get_or_create(&vec![("kind", kind.to_string())])
            .inc();
        if matches!(kind, "queue_observations" | "user_activity" | "other") {
            *self
                .push
                .last_event
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        }
        self.changed();
    }

    /// Counts a heartbeat (or pong) and restarts its age.
    pub fn observe_push_heartbeat(&self) {
        *self
            .push
            .last_heartbeat
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        self.count_push_event("heartbeat");
    }

    /// Counts a socket replaced or reopened.
    pub fn count_push_reconnect(&self, reason: &'static str) {
        self.push
            .reconnects
            .get_or_create(&vec![("reason", reason.to_string())])
            .inc();
        self.changed();
    }

    /// Counts the series a reconcile poll found different from the pushed state.
    pub fn count_reconcile_differences(&self, query: &str, differences: u64) {
        self.push
            .reconcile_differences
            .get_or_create(&query_labels(query))
            .inc_by(differences);
        self.changed();
    }

    /// Whether a pushed set's state is trusted.
    pub fn set_push_up(&self, query: &str, up: bool) {
        self.push
            .up
            .get_or_create(&query_labels(query))
            .set(i64::from(up));
        self.push
            .sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(query.to_string(), up);
        let _ = self
            .push
            .reconcile_differences
            .get_or_create(&query_labels(query));
        self.changed();
    }

    /// Removes a set's push series (up, reconcile differences) and its line on the
    /// landing page: for a pushed set that stops, as when a reload makes it polled,
    /// so that it no longer passes for pushed. A new push poller registers it again.
    pub fn forget_push(&self, query: &str) {
        let labels = query_labels(query);
        self.push.up.remove(&labels);
        self.push
            .sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(query);
        self.push.reconcile_differences.remove(&labels);
        self.changed();
    }

    /// The push transport at a glance, for the landing page; `None` when nothing is
    /// pushed.
    pub fn push_summary(&self) -> Option<PushSummary> {
        let sets: Vec<(String, bool)> = self
            .push
            .sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(name, up)| (name.clone(), *up))
            .collect();
        if sets.is_empty() {
            return None;
        }
        let topics = |state: &str| {
            self.push
                .topics
                .get_or_create(&vec![("state", state.to_string())])
                .get()
        };
        self.push.refresh_ages();
        let age = |gauge: &FloatGauge| Some(gauge.get()).filter(|v| v.is_finite());
        Some(PushSummary {
            channels: self.push.channels.get(),
            permitted: topics("permitted"),
            rejected: topics("rejected"),
            seconds_since_event: age(&self.push.seconds_since_event),
            seconds_since_heartbeat: age(&self.push.seconds_since_heartbeat),
            sets,
        })
    }

    /// Encodes the self-metrics as OpenMetrics text, without the closing `# EOF`.
    pub fn encode_openmetrics(&self, out: &mut String) -> std::fmt::Result {
        text::encode_registry(out, &self.registry)
    }

    /// Encodes the self-metrics in the Prometheus text format 0.0.4.
    pub fn encode_prometheus_text(&self, out: &mut String) -> std::fmt::Result {
        prometheus_text::encode(out, &self.registry)
    }
}

fn new_api_duration_histogram() -> Histogram {
    Histogram::new(API_DURATION_BUCKETS)
}

fn query_labels(query: &str) -> Labels {
    vec![("query", query.to_string())]
}

fn dimension_labels(dimension: &str) -> Labels {
    vec![("dimension", dimension.to_string())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scrape_tail_is_reused_until_a_metric_changes() {
        let telemetry = Telemetry::new(60);
        let first = telemetry.scrape_tail(false);
        assert!(Arc::ptr_eq(&first, &telemetry.scrape_tail(false)));
        let openmetrics = telemetry.scrape_tail(true);
        assert!(openmetrics.plain.ends_with(b"# EOF\n"));
        assert!(!first.plain.ends_with(b"# EOF\n"));

        telemetry.observe_api_request("aggregates", "200", 0.2);
        let after = telemetry.scrape_tail(false);
        assert!(!Arc::ptr_eq(&first, &after));
        let text = std::str::from_utf8(&after.plain).unwrap();
        assert!(
            text.contains(
                r#"genesys_exporter_api_requests_total{endpoint="aggregates",code="200"} 1"#
            ),
            "{text}"
        );
        let mut gunzipped = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(
                &crate::gzip::member(&crate::gzip::Joined::default(), &after.gzip).concat()[..],
            ),
            &mut gunzipped,
        )
        .unwrap();
        assert_eq!(gunzipped, text);
        assert!(!Arc::ptr_eq(&openmetrics, &telemetry.scrape_tail(true)));
    }
}

//! The per-query poll loop: when to query which interval.
//!
//! Each query polls the most recent completed interval (see [`crate::interval`]) at
//! start-up and again each time a newer one completes, and, when `refresh` is set,
//! re-polls the same interval that often (late-posting timers and the nightly pipeline
//! revise recent data). A failed poll is retried with a growing delay, or, when asking
//! again cannot help (a 400 or 403), at the next regular time. One task per query polls
//! sequentially, so a query never has two polls in flight.
//!
//! Queries, queue sets and agents sets poll through one wrapper ([`execute`]): each kind
//! is only its requests and its mapping (a `Collect`), and reload starts every kind alike
//! as a [`Task`].

mod agents;
mod execute;
mod observations;
mod planner;
mod push;
mod push_agents;
mod push_state;
mod trunks;
mod voice;

pub use agents::AgentsPoller;
pub use observations::ObservationPoller;
pub use planner::Planner;
pub use push::PushPoller;
pub use push_agents::PushAgentsPoller;
pub use trunks::TrunksPoller;
pub use voice::VoicePoller;

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::config::{Period, QueryConfig};
use crate::genesys::bodies::AggregateResult;
use crate::genesys::names::{NameDirectory, Names};
use crate::genesys::notifications::PushSettings;
use crate::genesys::{ApiError, GenesysClient, ResultSink};
use crate::interval::{Granularity, Interval, in_progress, latest_completed, next_completion};
use crate::mapping::{GroupMapping, GroupMemory, add_data_until};
use crate::snapshot::SnapshotStore;
use crate::telemetry::Telemetry;
use execute::{Collect, Describes, Fetched, Mapped, execute};

/// What a poller needs from the rest of the process.
#[derive(Clone, Debug)]
pub struct PollContext {
    pub client: Arc<GenesysClient>,
    pub names: Arc<NameDirectory>,
    pub store: Arc<SnapshotStore>,
    pub telemetry: Arc<Telemetry>,
    /// First retry delay after a failed poll (`--poll.retry-delay`); doubles per
    /// failure, capped by the next regular poll.
    pub retry_delay: Duration,
    /// The request plan, which gives observation sets their effective refresh.
    pub planner: Arc<Planner>,
    /// How pushed sets keep their sockets (`--push.*`).
    pub push: PushSettings,
}

/// When an interval poller polls: what queries and voice quality sets share (the same
/// interval maths, settle delay, refresh and retries).
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub granularity: Granularity,
    pub time_zone: Tz,
    pub settle_delay: Duration,
    /// Re-poll the same interval this often, if set.
    pub refresh: Option<Duration>,
    pub period: Period,
}

impl Timing {
    /// A query's timing.
    fn of(query: &QueryConfig) -> Timing {
        Timing {
            granularity: query.granularity,
            time_zone: query.time_zone,
            settle_delay: query.settle_delay,
            refresh: query.refresh,
            period: query.period,
        }
    }
}

/// A kind of interval poll (a query, a voice quality set): its requests and mapping for
/// one interval, and when it polls.
pub trait Scheduled: Collect<Target = Interval> + Debug + Send + 'static {
    fn timing(&self) -> Timing;
}

/// One interval poller's loop (a query's, a voice quality set's) and the state it keeps
/// between polls.
#[derive(Debug)]
pub struct IntervalPoller<C> {
    collector: C,
    context: PollContext,
    /// Cleared when a reload retires this poller: a poll still encoding then publishes
    /// nothing (see [`SnapshotStore::publish_while`]).
    active: Arc<AtomicBool>,
}

/// The last poll, for deciding the next one.
#[derive(Clone, Copy, Debug)]
struct LastPoll {
    interval: Interval,
    /// When this interval should be polled again, if before the next one completes.
    again_at: Option<DateTime<Utc>>,
    consecutive_failures: u32,
}

/// One query's poll loop.
pub type Poller = IntervalPoller<QueryPoll>;

impl Poller {
    pub fn new(query: QueryConfig, context: PollContext) -> Poller {
        context.telemetry.register_query(&query.name);
        let requests = query.filter.as_ref().map_or(1, |f| f.requests().len());
        context.telemetry.describe_query(
            &query.name,
            query.granularity.nominal_length(),
            query.settle_delay,
            requests,
        );
        if let Some(dimension) = query.filter.as_ref().and_then(|f| f.split_on()) {
            tracing::info!(query = %query.name, requests_per_poll = requests, split_on = dimension, "the filter is too large for one request; each poll sends it in shares");
        }
        IntervalPoller::with(
            QueryPoll {
                query: Arc::new(query),
                memory: Arc::default(),
            },
            context,
        )
    }
}

impl<C: Scheduled> IntervalPoller<C> {
    /// A poller of `collector` (already registered with the telemetry).
    fn with(collector: C, context: PollContext) -> Self {
        IntervalPoller {
            collector,
            context,
            active: Arc::new(AtomicBool::new(true)),
        }
    }

    /// The flag that retires this poller when cleared.
    pub fn active(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.active)
    }

    /// The poller as a [`Task`].
    pub fn into_task(self) -> Task {
        Task {
            active: self.active(),
            run: Box::pin(self.run()),
        }
    }

    /// Polls forever; stop it by dropping (aborting) its task.
    pub async fn run(self) {
        let timing = self.collector.timing();
        let name = self.collector.name().to_string();
        let mut last: Option<LastPoll> = None;
        let retry_delay = TimeDelta::from_std(self.context.retry_delay).unwrap_or(TimeDelta::MAX);
        loop {
            // Which intervals have completed is for Genesys' clock to say (see
            // genesys::clock); this host's may be off.
            let now = self.context.client.api_now();
            let target = match timing.period {
                Period::Completed => latest_completed(
                    now,
                    timing.granularity,
                    timing.time_zone,
                    timing.settle_delay,
                ),
                // The bucket in progress, start to now; at its end the next one starts
                // (zero-filled by the group memory).
                Period::Current => in_progress(now, timing.granularity, timing.time_zone),
            };
            if is_due(target, last, now) {
                let failures = last
                    .filter(|l| l.interval == target)
                    .map_or(0, |l| l.consecutive_failures);
                let outcome = match self.poll(target).await {
                    Ok(()) => PollOutcome::Succeeded,
                    Err(err) if err.is_permanent() => PollOutcome::FailedPermanently,
                    Err(_) => PollOutcome::FailedTransiently,
                };
                let ended = self.context.client.api_now();
                last = Some(plan_after(
                    &timing,
                    target,
                    (now, ended),
                    outcome,
                    failures,
                    retry_delay,
                ));
            }
            let wake = next_wake(&timing, &target, last);
            self.context
                .store
                .update_status(&name, |s| s.next_poll = Some(wake));
            let sleep = (wake - self.context.client.api_now())
                .to_std()
                .unwrap_or(Duration::ZERO);
            tokio::time::sleep(sleep).await;
        }
    }

    /// One poll through the wrapper every kind shares ([`execute`]).
    async fn poll(&self, interval: Interval) -> Result<(), ApiError> {
        tracing::debug!(query = %self.collector.name(), interval = %interval.to_iso8601(), "polling");
        execute(&self.collector, &interval, &self.context, &self.active).await
    }
}

/// A query's requests and mapping, and the group memory it keeps between polls.
#[derive(Debug)]
pub struct QueryPoll {
    query: Arc<QueryConfig>,
    /// Taken by each poll's mapping only: polls of a query never overlap.
    memory: Arc<Mutex<GroupMemory>>,
}

impl Scheduled for QueryPoll {
    fn timing(&self) -> Timing {
        Timing::of(&self.query)
    }
}

impl Collect for QueryPoll {
    type Target = Interval;

    fn name(&self) -> &str {
        &self.query.name
    }

    fn endpoint(&self) -> &'static str {
        self.query.source.endpoint
    }

    /// One request per share of a split filter, one after the other, each through the
    /// budget, token and retries; the answers' results together are the answer, mapped
    /// group by group as they stream in ([`LiveResults`]), so no answer is held whole.
    async fn fetch(&self, interval: &Interval, context: &PollContext) -> Result<Fetched, ApiError> {
        let interval = *interval;
        let name = &self.query.name;
        let until = match self.query.period {
            Period::Completed => interval.end,
            Period::Current => context.client.api_now().min(interval.end),
        };
        let requests = self.query.requests_until(&interval, until);
        let count = requests.len();
        let expected = self
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .groups();
        let mut results = LiveResults::new(
            Arc::clone(&self.query),
            interval,
            &context.names.current(),
            expected,
        );
        let mut budget_wait = Duration::ZERO;
        for (index, request) in requests.iter().enumerate() {
            match context
                .client
                .stream_aggregates_into(self.query.source, request, results)
                .await
            {
                Ok(delivered) => {
                    budget_wait += delivered.budget_wait;
                    results = delivered.value;
                }
                Err(err) => {
                    if count > 1 {
                        tracing::warn!(query = %name, request = index + 1, requests = count, "a request of a split query failed; the poll fails whole");
                    }
                    return Err(err);
                }
            }
        }
        drop(requests);
        if !results.held.is_empty() {
            // Users are named on demand: look up the ones this answer brings first.
            let ids = results
                .held
                .iter()
                .filter_map(|result| result.group.get("userId"))
                .map(|value| value.0.as_str());
            context.names.look_up_users(&context.client, ids).await;
        }
        let query = Arc::clone(&self.query);
        let names = context.names.current();
        let memory = Arc::clone(&self.memory);
        Ok(Fetched {
            budget_wait,
            requests: count,
            describes: Describes::Interval(interval),
            map: Box::new(move || {
                let mapping = results.finish_with(&names);
                let mut memory = memory.lock().unwrap_or_else(|p| p.into_inner());
                let mut mapped = mapping.finish(&mut memory);
                add_data_until(&mut mapped.series, &query, until);
                Mapped {
                    series: mapped.series,
                    warnings: mapped.warnings,
                }
            }),
        })
    }

    fn log_failure(&self, interval: &Interval, err: &ApiError) {
        tracing::error!(query = %self.query.name, interval = %interval.to_iso8601(), error = %err, "poll failed; the last good values stay exported");
    }

    fn log_success(&self, interval: &Interval, samples: usize, requests: usize) {
        tracing::info!(query = %self.query.name, interval = %interval.to_iso8601(), samples, requests, "poll succeeded");
    }
}

/// A live poll's answer, mapped group by group on the parser's thread as it streams in.
/// A query by user holds back the groups of users without a name until the poll has
/// looked them up, so that a new agent is named in the poll that first sees them.
struct LiveResults {
    mapping: GroupMapping<Arc<QueryConfig>>,
    /// The users' names, when the query groups by user.
    users: Option<Arc<HashMap<String, String>>>,
    /// The results of users without a name, in the order they came.
    held: Vec<AggregateResult>,
    /// How many were held when the attempt at hand began.
    held_before: usize,
}

impl LiveResults {
    fn new(query: Arc<QueryConfig>, interval: Interval, names: &Names, expected: usize) -> Self {
        let users = query
            .group_by
            .iter()
            .any(|d| d == "userId")
            .then(|| names.table("userId"));
        LiveResults {
            mapping: GroupMapping::new(query, interval, names, expected),
            users,
            held: Vec::new(),
            held_before: 0,
        }
    }

    /// The mapping with the held results added, named by `names`.
    fn finish_with(self, names: &Names) -> GroupMapping<Arc<QueryConfig>> {
        let mut mapping = self.mapping;
        if !self.held.is_empty() {
            mapping.rename(names);
            for result in &self.held {
                mapping.add(result);
            }
        }
        mapping
    }
}

impl ResultSink for LiveResults {
    fn take(&mut self, result: AggregateResult) -> bool {
        let unnamed = self.users.as_ref().is_some_and(|users| {
            result
                .group
                .get("userId")
                .is_some_and(|id| !id.0.is_empty() && !users.contains_key(&id.0))
        });
        if unnamed {
            self.held.push(result);
        } else {
            self.mapping.add(&result);
        }
        true
    }

    fn begin_attempt(&mut self) {
        self.mapping.checkpoint();
        self.held_before = self.held.len();
    }

    /// Nothing is published before the whole poll succeeded: a failed attempt's groups
    /// are forgotten and the request sent again, as for an answer read whole.
    fn forget_attempt(&mut self) -> bool {
        self.mapping.rollback();
        self.held.truncate(self.held_before);
        true
    }
}

/// A poller ready to run, of any kind: what [`crate::reload`] starts and stops alike.
pub struct Task {
    /// The flag that retires the poller when cleared.
    pub active: Arc<AtomicBool>,
    /// Polls forever; stop it by dropping (aborting) its task.
    pub run: Pin<Box<dyn Future<Output = ()> + Send>>,
}

/// Whether `target` (the latest completed interval) should be polled at `now`: it has not
/// been polled yet, or its planned re-poll (refresh or retry) is due.
fn is_due(target: Interval, last: Option<LastPoll>, now: DateTime<Utc>) -> bool {
    match last {
        Some(last) if last.interval == target => last.again_at.is_some_and(|at| now >= at),
        _ => true,
    }
}

/// How a poll ended, as far as planning the next one is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PollOutcome {
    Succeeded,
    /// A server or network fault, which asking again soon may cure.
    FailedTransiently,
    /// The query or the credentials are wrong ([`ApiError::is_permanent`]): asking again
    /// soon cannot help.
    FailedPermanently,
}

/// What to remember after polling `interval` (from `started` to `ended`): when to poll
/// it again. A transient failure is
/// retried `retry_delay` after it ended (a poll's own retries can take longer than the
/// delay), doubled for each further consecutive one. Refreshes keep their cadence from
/// the start of the poll.
fn plan_after(
    query: &Timing,
    interval: Interval,
    (started, ended): (DateTime<Utc>, DateTime<Utc>),
    outcome: PollOutcome,
    failures_before: u32,
    retry_delay: TimeDelta,
) -> LastPoll {
    let refresh_at = query.refresh.and_then(|r| later(started, r));
    match outcome {
        PollOutcome::Succeeded => LastPoll {
            interval,
            again_at: refresh_at,
            consecutive_failures: 0,
        },
        PollOutcome::FailedTransiently | PollOutcome::FailedPermanently => {
            let failures = failures_before + 1;
            let again_at = if outcome == PollOutcome::FailedPermanently {
                // Asking again soon cannot help; try at the regular times only.
                refresh_at
            } else {
                let factor = 2i32.saturating_pow(failures.min(16) - 1);
                // Past the representable range means "not before the next regular poll".
                retry_delay
                    .checked_mul(factor)
                    .and_then(|delay| ended.checked_add_signed(delay))
            };
            LastPoll {
                interval,
                again_at,
                consecutive_failures: failures,
            }
        }
    }
}

/// When the loop should wake next: when the next interval completes, or earlier for a
/// planned re-poll of the current one.
fn next_wake(query: &Timing, target: &Interval, last: Option<LastPoll>) -> DateTime<Utc> {
    let next_regular = match query.period {
        Period::Completed => next_completion(
            target,
            query.granularity,
            query.time_zone,
            query.settle_delay,
        ),
        Period::Current => target.end,
    };
    last.and_then(|l| l.again_at)
        .map_or(next_regular, |again| again.min(next_regular))
}

fn later(from: DateTime<Utc>, after: Duration) -> Option<DateTime<Utc>> {
    TimeDelta::from_std(after).ok().map(|delta| from + delta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interval::Granularity;

    const RETRY: TimeDelta = TimeDelta::seconds(30);

    fn query(refresh: Option<u64>) -> Timing {
        Timing::of(&QueryConfig {
            name: "q".into(),
            source: crate::genesys::sources::CONVERSATIONS,
            granularity: Granularity::Minutes(30),
            time_zone: chrono_tz::UTC,
            settle_delay: Duration::from_secs(90),
            refresh: refresh.map(Duration::from_secs),
            group_by: vec![],
            metrics: vec!["nOffered".into()],
            filter: None,
            period: Default::default(),
            max_predicates_per_request: crate::config::filter::DEFAULT_MAX_PREDICATES,
            allow_unlisted: Vec::new(),
        })
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn target(q: &Timing, now: &str) -> Interval {
        latest_completed(at(now), q.granularity, q.time_zone, q.settle_delay)
    }

    #[test]
    fn the_first_poll_is_due_at_once_and_targets_the_last_completed_interval() {
        let q = query(None);
        let t = target(&q, "2026-11-25T12:01:00Z");
        // 11:30-12:00 settles only at 12:01:30, so the latest completed one is 11:00-11:30.
        assert_eq!(t.start, at("2026-11-25T11:00:00Z"));
        assert!(is_due(t, None, at("2026-11-25T12:01:00Z")));
        // It wakes when 11:30-12:00 has settled.
        assert_eq!(next_wake(&q, &t, None), at("2026-11-25T12:01:30Z"));
    }

    #[test]
    fn after_a_success_without_refresh_it_waits_for_the_next_interval() {
        let q = query(None);
        let now = at("2026-11-25T12:05:00Z");
        let t = target(&q, "2026-11-25T12:05:00Z");
        let last = plan_after(&q, t, (now, now), PollOutcome::Succeeded, 0, RETRY);
        assert!(!is_due(t, Some(last), at("2026-11-25T12:20:00Z")));
        assert_eq!(next_wake(&q, &t, Some(last)), at("2026-11-25T12:31:30Z"));
        // Once the next interval has completed, it is a new target and due.
        let next = target(&q, "2026-11-25T12:31:30Z");
        assert_ne!(next, t);
        assert!(is_due(next, Some(last), at("2026-11-25T12:31:30Z")));
    }

    #[test]
    fn refresh_re_polls_the_same_interval() {
        let q = query(Some(300));
        let now = at("2026-11-25T12:05:00Z");
        let t = target(&q, "2026-11-25T12:05:00Z");
        let last = plan_after(&q, t, (now, now), PollOutcome::Succeeded, 0, RETRY);
        assert_eq!(next_wake(&q, &t, Some(last)), at("2026-11-25T12:10:00Z"));
        assert!(!is_due(t, Some(last), at("2026-11-25T12:09:59Z")));
        assert!(is_due(t, Some(last), at("2026-11-25T12:10:00Z")));
        // A refresh never delays the next interval's first poll.
        let late = plan_after(
            &q,
            t,
            (at("2026-11-25T12:29:00Z"), at("2026-11-25T12:29:00Z")),
            PollOutcome::Succeeded,
            0,
            RETRY,
        );
        assert_eq!(next_wake(&q, &t, Some(late)), at("2026-11-25T12:31:30Z"));
    }

    #[test]
    fn transient_failures_retry_with_a_growing_delay_capped_by_the_next_interval() {
        let q = query(None);
        let now = at("2026-11-25T12:05:00Z");
        let t = target(&q, "2026-11-25T12:05:00Z");
        let first = plan_after(&q, t, (now, now), PollOutcome::FailedTransiently, 0, RETRY);
        assert_eq!(next_wake(&q, &t, Some(first)), at("2026-11-25T12:05:30Z"));
        let second = plan_after(
            &q,
            t,
            (now, now),
            PollOutcome::FailedTransiently,
            first.consecutive_failures,
            RETRY,
        );
        assert_eq!(next_wake(&q, &t, Some(second)), at("2026-11-25T12:06:00Z"));
        let sixth = plan_after(&q, t, (now, now), PollOutcome::FailedTransiently, 5, RETRY);
        // 30 s * 2^5 = 16 min, still before 12:31:30.
        assert_eq!(next_wake(&q, &t, Some(sixth)), at("2026-11-25T12:21:00Z"));
        let many = plan_after(&q, t, (now, now), PollOutcome::FailedTransiently, 20, RETRY);
        assert_eq!(next_wake(&q, &t, Some(many)), at("2026-11-25T12:31:30Z"));
    }

    #[test]
    fn a_retry_waits_its_delay_after_a_long_failed_poll() {
        let q = query(None);
        let started = at("2026-11-25T12:05:00Z");
        let t = target(&q, "2026-11-25T12:05:00Z");
        // The poll's own attempts took 40 s, longer than the retry delay.
        let ended = at("2026-11-25T12:05:40Z");
        let last = plan_after(
            &q,
            t,
            (started, ended),
            PollOutcome::FailedTransiently,
            0,
            RETRY,
        );
        assert_eq!(next_wake(&q, &t, Some(last)), at("2026-11-25T12:06:10Z"));
    }

    #[test]
    fn permanent_failures_wait_for_the_regular_times() {
        let q = query(None);
        let now = at("2026-11-25T12:05:00Z");
        let t = target(&q, "2026-11-25T12:05:00Z");
        let last = plan_after(&q, t, (now, now), PollOutcome::FailedPermanently, 0, RETRY);
        assert!(!is_due(t, Some(last), at("2026-11-25T12:30:00Z")));
        assert_eq!(next_wake(&q, &t, Some(last)), at("2026-11-25T12:31:30Z"));
        let with_refresh = query(Some(600));
        let last = plan_after(
            &with_refresh,
            t,
            (now, now),
            PollOutcome::FailedPermanently,
            0,
            RETRY,
        );
        assert_eq!(
            next_wake(&with_refresh, &t, Some(last)),
            at("2026-11-25T12:15:00Z")
        );
    }
}

//! A pushed queue observation set (`transport: push` or `auto`; docs/push.md).
//!
//! The set's queues are topics (`v2.analytics.queues.{id}.observations`), shared out
//! over channels of at most 1,000 ([`crate::genesys::notifications`]), one
//! [`ChannelRunner`] task each. The state ([`super::push_state`]) is the REST answer's
//! shape, one entry per (queue, media type) and (metric, qualifier):
//! - after every (re)connect it is seeded by REST (the set's usual observations
//!   requests), since nothing missed while disconnected is replayed; only from then on
//!   is it trusted (`genesys_exporter_push_up` 1);
//! - each event replaces the metrics it carries for its queue and media type (counts
//!   grouped by queue alone, such as `oOnQueueUsers`, by queue);
//! - changes are published at most every [`COALESCE`], mapped as a polled set's and
//!   through the same snapshot (compressed on one core, leaving the other to scrapes:
//!   [`crate::snapshot::SnapshotStore::publish_often_while`]), so the series are the
//!   polled set's exactly (names, labels, zero-fill); only the queues changed since the
//!   last publish are mapped again ([`super::push_state`]);
//! - every `reconcile` the set is read by REST anyway: the series whose pushed value
//!   differs are counted (`genesys_exporter_push_reconcile_differences_total`) and the
//!   polled state adopted, so a wrong or missed event cannot linger;
//! - `auto` also polls every `refresh` while the pushed state is not trusted (a socket
//!   down, a topic rejected); so does a set whose queues need more channels than
//!   Genesys allows, or than are left in the client's channel budget, which every
//!   pushed set shares ([`crate::genesys::channel_budget`]): each shard's runner is
//!   started under a slot of it, and the shards no slot is free for wait, polled, until
//!   one is (looked for at every such poll).
//!
//! Every REST read goes through [`execute`] like a polled set's (the status, `query_up`,
//! publishing). An event that arrives while a REST read is on its way is applied after
//! the read is adopted; should it be older than the read, the next event of that queue
//! or the next reconcile puts it right.

use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};

use super::execute::{Collect, Describes, Fetched, Mapped, execute};
use super::observations::{Observed, observe, observed_queues};
use super::push_state::{PushedState, differences};
use super::{PollContext, Task};
use crate::config::{ObservationConfig, Transport};
use crate::genesys::ApiError;
use crate::genesys::notifications::{
    ChannelNews, ChannelRunner, MAX_TOPICS_PER_CHANNEL, queue_topic, shard, topic_kind,
};
use crate::genesys::observations::QueueTopicStats;

/// How long a set replacing its channels waits for the old ones' slots: their release
/// deletes their subscriptions and closes their sockets, each bounded by 15 s.
const RELEASE_WAIT: Duration = Duration::from_secs(30);
/// Pushed changes are published at most this often.
pub const COALESCE: Duration = Duration::from_millis(250);
/// Shards that connect together are seeded by one REST read: the seed waits this long
/// after the first `Up`.
pub(super) const SEED_DEBOUNCE: Duration = Duration::from_millis(100);

/// Why a REST read of a pushed set (queue or agents) is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Purpose {
    /// After a (re)connect.
    Seed,
    /// Every `reconcile`; `trusted`: the pushed state was trusted, so differences count.
    Reconcile { trusted: bool },
    /// `auto` (or too many queues) while push is not trusted.
    Fallback,
}

/// One REST read of a pushed set.
struct Read {
    ids: Vec<String>,
    every: Duration,
    purpose: Purpose,
}

/// A pushed set's REST reads ([`Collect`]): adopted into the state, which is mapped.
#[derive(Debug)]
struct RestReads {
    config: Arc<ObservationConfig>,
    state: Arc<Mutex<PushedState>>,
}

/// A pushed set's state, whatever a panicking holder left.
pub(super) fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl Collect for RestReads {
    type Target = Read;

    fn name(&self) -> &str {
        &self.config.name
    }

    fn endpoint(&self) -> &'static str {
        "observations"
    }

    async fn fetch(&self, read: &Read, context: &PollContext) -> Result<Fetched, ApiError> {
        let Observed {
            responses,
            budget_wait,
            requests,
        } = observe(&self.config, &read.ids, read.every, context).await?;
        let polled = PushedState::from_responses(responses);
        {
            let mut state = lock(&self.state);
            if read.purpose == (Purpose::Reconcile { trusted: true }) {
                let found = differences(
                    &state.values(&self.config.metrics),
                    &polled.values(&self.config.metrics),
                );
                context
                    .telemetry
                    .count_reconcile_differences(&self.config.name, found);
                if found > 0 {
                    tracing::info!(query = %self.config.name, differences = found, "the reconcile poll found pushed values that differ; adopting the polled ones");
                }
            }
            *state = polled;
        }
        Ok(Fetched {
            budget_wait,
            requests,
            describes: Describes::ObservedAt(context.client.api_now()),
            map: mapping(&self.config, &self.state, &read.ids, context),
        })
    }

    fn log_failure(&self, read: &Read, err: &ApiError) {
        tracing::error!(query = %self.config.name, purpose = ?read.purpose, error = %err, "REST read of a pushed set failed; the last good values stay exported");
    }

    fn log_success(&self, read: &Read, samples: usize, requests: usize) {
        tracing::debug!(query = %self.config.name, purpose = ?read.purpose, requests, samples, "REST read of a pushed set succeeded");
    }
}

/// The mapping of the state as it is when it runs: the polled set's, exactly.
fn mapping(
    config: &Arc<ObservationConfig>,
    state: &Arc<Mutex<PushedState>>,
    ids: &[String],
    context: &PollContext,
) -> Box<dyn FnOnce() -> Mapped + Send> {
    let config = Arc::clone(config);
    let state = Arc::clone(state);
    let ids = ids.to_vec();
    let names = context.names.current().table("queueId");
    let observed_at = context.client.api_now();
    Box::new(move || {
        let (series, warnings) = lock(&state).series(&config, &ids, &names, observed_at);
        Mapped { series, warnings }
    })
}

/// Publishes what `map` makes (a pushed set's state as it is now) as entry `name`,
/// mapped on a blocking thread, unless a reload has retired the set (`active`).
pub(super) async fn publish(
    name: &str,
    map: Box<dyn FnOnce() -> Mapped + Send>,
    context: &PollContext,
    active: &Arc<AtomicBool>,
) {
    let store = Arc::clone(&context.store);
    let entry = name.to_string();
    let active = Arc::clone(active);
    let published = tokio::task::spawn_blocking(move || {
        let mapped = map();
        let samples = mapped.series.sample_count();
        store.publish_often_while(&entry, mapped.series, &active);
        samples
    })
    .await;
    if let Ok(samples) = published {
        let at = context.client.api_now();
        context.store.update_status(name, |s| {
            s.observed_at = Some(at);
            s.samples = samples;
        });
    }
}

/// A pushed queue observation set's task.
#[derive(Debug)]
pub struct PushPoller {
    reads: RestReads,
    context: PollContext,
    /// Cleared when a reload retires this set (see [`super::ObservationPoller`]).
    active: Arc<AtomicBool>,
}

impl Drop for PushPoller {
    /// A retired set is no longer pushed: its push series and landing-page line go
    /// (the poller of its next definition, pushed or not, registers what it has).
    fn drop(&mut self) {
        self.context.telemetry.forget_push(self.name());
    }
}

/// The channel runners of a pushed set's current topics (its queues, or its agents),
/// each under a slot of the client's channel budget; what queue and agents sets share.
pub(super) struct Channels {
    /// The ids (queues or agents) whose topics these runners push.
    pub(super) ids: Vec<String>,
    /// Whether each shard's channel is up with all its topics permitted.
    pub(super) up: Vec<bool>,
    /// Dropping it aborts the runners.
    runners: JoinSet<()>,
    /// What these runners (and only these) tell the set: news still queued from
    /// runners replaced when the ids changed goes with them, never to the new shards.
    pub(super) heard: mpsc::UnboundedReceiver<ChannelNews>,
    /// Where the runners send their news.
    news: mpsc::UnboundedSender<ChannelNews>,
    /// The shares of topics no runner pushes yet, by shard, for want of a slot in the
    /// client's channel budget: the set is polled every refresh while any is left.
    pub(super) waiting: Vec<(usize, Vec<String>)>,
    /// More topics than Genesys' channels could ever take: polled instead.
    pub(super) over_limit: bool,
}

impl Channels {
    /// Starts a runner per share of the topics of `ids` (`topic` of each), each under a
    /// slot of the client's channel budget (none past Genesys' channel limit); the
    /// shares no slot is left for wait in [`Channels::waiting`]. `set` names the set
    /// in the log.
    pub(super) fn open(
        context: &PollContext,
        set: &str,
        ids: Vec<String>,
        topic: fn(&str) -> String,
    ) -> Channels {
        let (news, heard) = mpsc::unbounded_channel();
        let topics: Vec<String> = ids.iter().map(|id| topic(id)).collect();
        let shares = shard(&topics);
        // The sets together hold the budget less its handover spare at most.
        let over_limit = shares.len() > context.client.channel_budget().for_sets();
        let mut channels = Channels {
            up: vec![false; if over_limit { 0 } else { shares.len() }],
            ids,
            runners: JoinSet::new(),
            heard,
            news,
            waiting: Vec::new(),
            over_limit,
        };
        if over_limit {
            tracing::error!(query = %set, topics = channels.ids.len(), limit = context.client.channel_budget().for_sets() * MAX_TOPICS_PER_CHANNEL, "more topics than the notification channels allow; this set is polled every refresh instead");
            return channels;
        }
        channels.waiting = shares.into_iter().enumerate().collect();
        channels.start_waiting(context, set);
        if !channels.waiting.is_empty() {
            let budget = context.client.channel_budget();
            tracing::error!(query = %set, channels_needed = channels.up.len(), channels_left = channels.up.len() - channels.waiting.len(), budget = budget.for_sets(), "the pushed sets together need more notification channels than the budget has (one of its channels is kept for handovers; a 21st would make Genesys remove one in use); the topics without a channel are polled every refresh until one is free");
        }
        channels
    }

    /// [`Channels::open`] of `ids` in place of these channels, which are let go first:
    /// their slots come back only once their subscriptions are deleted (a request), so
    /// the new ones wait for them for a while ([`RELEASE_WAIT`]) rather than find the
    /// set's own old channels holding the budget, and log it as over budget.
    pub(super) async fn reopen(
        mut self,
        context: &PollContext,
        set: &str,
        ids: Vec<String>,
        topic: fn(&str) -> String,
    ) -> Channels {
        let budget = context.client.channel_budget();
        // The runners still running hold a slot each (one that ended gave its back).
        while self.runners.try_join_next().is_some() {}
        let held = self.runners.len();
        let needed = shard(&ids.iter().map(|id| topic(id)).collect::<Vec<_>>()).len();
        // Past the budget the set is polled and takes no slot: nothing to wait for.
        let wanted = if needed > budget.for_sets() {
            0
        } else {
            needed.min(budget.free() + held)
        };
        drop(self);
        budget.until_free(wanted, RELEASE_WAIT).await;
        Channels::open(context, set, ids, topic)
    }

    /// Starts the runners of the waiting shares a slot of the channel budget is free
    /// for, in shard order.
    pub(super) fn start_waiting(&mut self, context: &PollContext, set: &str) {
        let budget = context.client.channel_budget();
        while let Some((index, _)) = self.waiting.first() {
            let index = *index;
            let Some(slot) = budget.try_slot() else {
                return;
            };
            let (_, topics) = self.waiting.remove(0);
            let runner = ChannelRunner::new(
                Arc::clone(&context.client),
                set,
                index,
                topics,
                context.push,
                self.news.clone(),
            )
            .with_slot(slot);
            self.runners.spawn(runner.run());
        }
    }

    /// Polled every refresh rather than pushed (in part or whole).
    pub(super) fn polled(&self) -> bool {
        self.over_limit || !self.waiting.is_empty()
    }

    /// Notes whether a runner's shard is up (all its topics permitted) or down.
    pub(super) fn hear(&mut self, shard: usize, up: bool) {
        if let Some(state) = self.up.get_mut(shard) {
            *state = up;
        }
    }

    /// Whether every shard is up (and there is one).
    pub(super) fn all_up(&self) -> bool {
        !self.up.is_empty() && self.up.iter().all(|u| *u)
    }
}

impl PushPoller {
    pub fn new(config: ObservationConfig, context: PollContext) -> PushPoller {
        context.telemetry.register_query(&config.name);
        context.telemetry.set_push_up(&config.name, false);
        PushPoller {
            reads: RestReads {
                config: Arc::new(config),
                state: Arc::default(),
            },
            context,
            active: Arc::new(AtomicBool::new(true)),
        }
    }

    /// The set as a [`Task`].
    pub fn into_task(self) -> Task {
        Task {
            active: Arc::clone(&self.active),
            run: Box::pin(self.run()),
        }
    }

    fn name(&self) -> &str {
        &self.reads.config.name
    }

    /// The runners of the topics of `ids` (queues).
    fn connect(&self, ids: Vec<String>) -> Channels {
        Channels::open(&self.context, self.name(), ids, queue_topic)
    }

    /// The set's reconcile period: the plan's (it may stretch it to fit the budget).
    fn reconcile_every(&self, queues: usize) -> Duration {
        let config = &self.reads.config;
        self.context
            .planner
            .refresh_for(&config.name, queues, &self.context.telemetry)
            .unwrap_or(config.reconcile)
    }

    /// One REST read, through [`execute`]; true if it succeeded.
    async fn read(&self, ids: &[String], purpose: Purpose) -> bool {
        let every = match purpose {
            Purpose::Fallback => self.reads.config.refresh,
            _ => self.reconcile_every(ids.len()),
        };
        let read = Read {
            ids: ids.to_vec(),
            every,
            purpose,
        };
        execute(&self.reads, &read, &self.context, &self.active)
            .await
            .is_ok()
    }

    /// Publishes the state as it is now.
    async fn publish(&self, ids: &[String]) {
        let map = mapping(&self.reads.config, &self.reads.state, ids, &self.context);
        publish(self.name(), map, &self.context, &self.active).await;
    }

    /// Runs forever; stop it by dropping (aborting) its task, which aborts the runners.
    pub async fn run(self) {
        let config = Arc::clone(&self.reads.config);
        let mut channels = self.connect(observed_queues(&config, &self.context));
        let mut queues: BTreeSet<String> = channels.ids.iter().cloned().collect();
        let mut trusted = false;
        let mut dirty = false;
        let mut publish_at = Instant::now();
        let mut seed_at: Option<Instant> = None;
        let mut reconcile_at = Instant::now() + self.reconcile_every(channels.ids.len());
        let mut fallback_at = Instant::now();
        loop {
            let falls_back = (config.transport == Transport::Auto || channels.polled()) && !trusted;
            tokio::select! {
                biased;
                Some(message) = channels.heard.recv() => match message {
                    ChannelNews::Up { shard, complete } => {
                        channels.hear(shard, complete);
                        seed_at.get_or_insert(Instant::now() + SEED_DEBOUNCE);
                    }
                    ChannelNews::Down(shard) => {
                        channels.hear(shard, false);
                        if trusted {
                            trusted = false;
                            self.context.telemetry.set_push_up(self.name(), false);
                            fallback_at = Instant::now();
                        }
                    }
                    ChannelNews::Event { topic, body } => {
                        match serde_json::from_str::<QueueTopicStats>(body.get()) {
                            Ok(event) => {
                                self.context.telemetry.count_push_event(topic_kind(&topic));
                                let now = self.context.client.api_now();
                                if lock(&self.reads.state).apply(event, &config, &queues, now) && !dirty {
                                    dirty = true;
                                    publish_at = publish_at.max(Instant::now());
                                }
                            }
                            Err(err) => {
                                self.context.telemetry.count_push_event("malformed");
                                tracing::debug!(query = %self.name(), %topic, error = %err, "skipped an event that is not the documented body");
                            }
                        }
                    }
                },
                () = sleep_until(publish_at), if dirty => {
                    dirty = false;
                    if lock(&self.reads.state).seeded {
                        self.publish(&channels.ids).await;
                    }
                    publish_at = Instant::now() + COALESCE;
                }
                () = sleep_until(seed_at.unwrap_or_else(Instant::now)), if seed_at.is_some() => {
                    seed_at = None;
                    let ok = self.read(&channels.ids, Purpose::Seed).await;
                    dirty = false;
                    trusted = ok && channels.all_up();
                    self.context.telemetry.set_push_up(self.name(), trusted);
                    if !ok {
                        // Try again after the usual retry delay.
                        seed_at = Some(Instant::now() + self.context.retry_delay);
                    }
                }
                () = sleep_until(reconcile_at) => {
                    let ids = observed_queues(&config, &self.context);
                    if !ids.is_empty() && ids != channels.ids {
                        tracing::info!(query = %self.name(), queues = ids.len(), "the set's queues changed; subscribing anew");
                        // No channel pushes until the new ones are up.
                        trusted = false;
                        self.context.telemetry.set_push_up(self.name(), false);
                        channels = channels.reopen(&self.context, self.name(), ids, queue_topic).await;
                        queues = channels.ids.iter().cloned().collect();
                    }
                    self.read(&channels.ids, Purpose::Reconcile { trusted }).await;
                    dirty = false;
                    reconcile_at = Instant::now() + self.reconcile_every(channels.ids.len());
                }
                () = sleep_until(fallback_at), if falls_back => {
                    if channels.ids.is_empty() {
                        channels = self.connect(observed_queues(&config, &self.context));
                        queues = channels.ids.iter().cloned().collect();
                    } else if !channels.waiting.is_empty() {
                        channels.start_waiting(&self.context, self.name());
                        if channels.waiting.is_empty() {
                            tracing::info!(query = %self.name(), "every share of the set's topics has its notification channel now");
                        }
                    }
                    self.read(&channels.ids, Purpose::Fallback).await;
                    dirty = false;
                    fallback_at = Instant::now() + config.refresh;
                }
            }
        }
    }
}

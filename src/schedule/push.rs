//! A pushed queue observation set (`transport: push` or `auto`; docs/push.md).
//!
//! The set's queues are topics (`v2.analytics.queues.{id}.observations`), shared out
//! over channels of at most 1,000 ([`crate::genesys::notifications`]), one
//! [`ChannelRunner`] task each. The state is the REST answer's shape, one entry per
//! (queue, media type) and (metric, qualifier):
//! - after every (re)connect it is seeded by REST (the set's usual observations
//!   requests), since nothing missed while disconnected is replayed; only from then on
//!   is it trusted (`genesys_exporter_push_up` 1);
//! - each event replaces the metrics it carries for its queue and media type (counts
//!   grouped by queue alone, such as `oOnQueueUsers`, by queue);
//! - changes are published at most every [`COALESCE`], through the same
//!   `map_observations` and [`crate::snapshot::SnapshotStore::publish_while`] as a
//!   polled set, so the series are the polled set's exactly (names, labels, zero-fill);
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

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};

use super::execute::{Collect, Describes, Fetched, Mapped, execute};
use super::observations::{Observed, observe, observed_queues};
use super::{PollContext, Task};
use crate::config::{ObservationConfig, Transport};
use crate::genesys::ApiError;
use crate::genesys::bodies::GroupValue;
use crate::genesys::notifications::{
    ChannelNews, ChannelRunner, MAX_TOPICS_PER_CHANNEL, queue_topic, shard, topic_kind,
};
use crate::genesys::observations::{
    ObservationMetric, ObservationResponse, ObservationResult, ObservationValue, QueueTopicStats,
};
use crate::mapping::observations::{CONVERSATION_METRICS, map_observations};

/// Pushed changes are published at most this often.
pub const COALESCE: Duration = Duration::from_millis(250);
/// Shards that connect together are seeded by one REST read: the seed waits this long
/// after the first `Up`.
pub(super) const SEED_DEBOUNCE: Duration = Duration::from_millis(100);

/// A queue and media type (`None` for the counts grouped by queue alone).
type GroupKey = (String, Option<String>);
/// A metric and its qualifier.
type MetricKey = (String, Option<String>);
/// One series' value: queue, media type, metric, qualifier.
type SeriesKey = (String, Option<String>, String, Option<String>);

/// A pushed set's state, in the REST answer's shape.
#[derive(Debug, Default)]
struct PushedState {
    groups: BTreeMap<GroupKey, BTreeMap<MetricKey, ObservationMetric>>,
    /// `systemToOrganizationMappings` of the last REST read.
    mappings: BTreeMap<String, Vec<String>>,
    /// A REST read has been adopted: until then there is nothing whole to publish.
    seeded: bool,
}

impl PushedState {
    /// The state a REST read describes.
    fn from_responses(responses: Vec<ObservationResponse>) -> PushedState {
        let mut state = PushedState {
            seeded: true,
            ..PushedState::default()
        };
        for response in responses {
            for (system, ids) in response.system_to_organization_mappings {
                state.mappings.entry(system).or_default().extend(ids);
            }
            for result in response.results {
                let Some(queue) = result.group.get("queueId").map(|v| v.0.clone()) else {
                    continue;
                };
                let media = result.group.get("mediaType").map(|v| v.0.clone());
                let group = state.groups.entry((queue, media)).or_default();
                for entry in result.data {
                    group
                        .entry((entry.metric.clone(), entry.qualifier.clone()))
                        .or_insert(entry);
                }
            }
        }
        state
    }

    /// Applies one event; false if it changed nothing (not a queue of the set, a
    /// media type it filters out, no metrics).
    fn apply(
        &mut self,
        event: QueueTopicStats,
        config: &ObservationConfig,
        queues: &BTreeSet<String>,
        now: DateTime<Utc>,
    ) -> bool {
        let Some(GroupValue(queue)) = event.group.get("queueId").cloned() else {
            return false;
        };
        if !queues.contains(&queue) {
            return false;
        }
        let media = event.group.get("mediaType").map(|v| v.0.clone());
        if let Some(media) = &media
            && !config.media_types.is_empty()
            && !config.media_types.contains(media)
        {
            return false;
        }
        // The latest interval's counts, by metric.
        let Some(latest) = event.data.into_iter().last() else {
            return false;
        };
        let mut by_metric: BTreeMap<String, Vec<ObservationMetric>> = BTreeMap::new();
        for entry in latest.metrics {
            if config.metrics.contains(&entry.metric) {
                by_metric
                    .entry(entry.metric.clone())
                    .or_default()
                    .push(entry);
            }
        }
        let changed = !by_metric.is_empty();
        for (metric, entries) in by_metric {
            let key = if CONVERSATION_METRICS.contains(&metric.as_str()) {
                match &media {
                    Some(_) => (queue.clone(), media.clone()),
                    None => continue,
                }
            } else {
                (queue.clone(), None)
            };
            let group = self.groups.entry(key).or_default();
            let keys: Vec<MetricKey> = group
                .keys()
                .filter(|(name, _)| *name == metric)
                .cloned()
                .collect();
            let before: BTreeMap<MetricKey, ObservationMetric> = keys
                .into_iter()
                .filter_map(|key| group.remove_entry(&key))
                .collect();
            let detail = config.detail_metrics.contains(&metric);
            for mut entry in entries {
                let key = (metric.clone(), entry.qualifier.clone());
                let waiting = entry.stats.get("count").unwrap_or(0.0) > 0.0;
                entry.observations = match before.get(&key) {
                    // The oldest conversation is most likely still there.
                    Some(old) if waiting && !old.observations.is_empty() => {
                        old.observations.clone()
                    }
                    // The first one arrived about now.
                    _ if waiting && detail => vec![ObservationValue {
                        observation_date: Some(now.to_rfc3339_opts(SecondsFormat::Millis, true)),
                    }],
                    _ => Vec::new(),
                };
                group.insert(key, entry);
            }
        }
        changed
    }

    /// The state as one REST answer, for the mapping.
    fn response(&self) -> ObservationResponse {
        let results = self
            .groups
            .iter()
            .map(|((queue, media), entries)| {
                let mut group = BTreeMap::new();
                group.insert("queueId".to_string(), GroupValue(queue.clone()));
                if let Some(media) = media {
                    group.insert("mediaType".to_string(), GroupValue(media.clone()));
                }
                ObservationResult {
                    group,
                    data: entries.values().cloned().collect(),
                }
            })
            .collect();
        ObservationResponse {
            system_to_organization_mappings: self.mappings.clone(),
            results,
        }
    }

    /// Every count of the set's metrics.
    fn values(&self, metrics: &[String]) -> BTreeMap<SeriesKey, f64> {
        let mut values = BTreeMap::new();
        for ((queue, media), entries) in &self.groups {
            for ((metric, qualifier), entry) in entries {
                if metrics.contains(metric) {
                    let key = (
                        queue.clone(),
                        media.clone(),
                        metric.clone(),
                        qualifier.clone(),
                    );
                    values.insert(key, entry.stats.get("count").unwrap_or(0.0));
                }
            }
        }
        values
    }
}

/// Series whose values differ between `a` and `b` (absent reads as 0, as zero-fill
/// exports it).
pub(super) fn differences<K: Ord>(a: &BTreeMap<K, f64>, b: &BTreeMap<K, f64>) -> u64 {
    let keys: BTreeSet<&K> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|key| a.get(*key).copied().unwrap_or(0.0) != b.get(*key).copied().unwrap_or(0.0))
        .count() as u64
}

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
        let responses = [lock(&state).response()];
        let mapped = map_observations(&config, &ids, &responses, &names, observed_at);
        Mapped {
            series: mapped.series,
            warnings: mapped.warnings,
        }
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
        store.publish_while(&entry, mapped.series, &active);
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
                        channels = self.connect(ids);
                        queues = channels.ids.iter().cloned().collect();
                        trusted = false;
                        self.context.telemetry.set_push_up(self.name(), false);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config() -> ObservationConfig {
        Config::from_yaml(
            "observations:\n  - {name: live, metrics: [oWaiting, oOnQueueUsers, oMemberUsers], detail_metrics: [oWaiting], transport: push}\n",
            "test.yaml",
        )
        .unwrap()
        .observations
        .remove(0)
    }

    /// A REST answer of one queue.
    const ANSWER: &str = r#"{"results": [
        {"group": {"queueId": "q1", "mediaType": "voice"}, "data": [
          {"metric": "oWaiting", "stats": {"count": 2},
           "observations": [{"observationDate": "2026-12-07T02:00:00.000Z"}]}]},
        {"group": {"queueId": "q1"}, "data": [
          {"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 4}},
          {"metric": "oOnQueueUsers", "qualifier": "INTERACTING", "stats": {"count": 1}},
          {"metric": "oMemberUsers", "stats": {"count": 9}}]}]}"#;

    fn seeded() -> PushedState {
        PushedState::from_responses(vec![serde_json::from_str(ANSWER).unwrap()])
    }

    fn event(body: &str) -> QueueTopicStats {
        serde_json::from_str(body).unwrap()
    }

    fn queues() -> BTreeSet<String> {
        ["q1".to_string()].into_iter().collect()
    }

    fn now() -> DateTime<Utc> {
        "2026-12-07T02:05:00Z".parse().unwrap()
    }

    fn key(media: Option<&str>, metric: &str, qualifier: Option<&str>) -> SeriesKey {
        (
            "q1".into(),
            media.map(str::to_string),
            metric.into(),
            qualifier.map(str::to_string),
        )
    }

    #[test]
    fn an_event_replaces_the_metrics_it_carries_and_nothing_else() {
        let config = config();
        let mut state = seeded();
        let changed = state.apply(
            event(
                r#"{"group": {"queueId": "q1", "mediaType": "voice"}, "data": [
                {"interval": "old", "metrics": [{"metric": "oWaiting", "stats": {"count": 7}}]},
                {"interval": "now", "metrics": [
                  {"metric": "oWaiting", "stats": {"count": 3}},
                  {"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 5}},
                  {"metric": "oServiceLevel", "stats": {"count": 1}}]}]}"#,
            ),
            &config,
            &queues(),
            now(),
        );
        assert!(changed);
        let values = state.values(&config.metrics);
        assert_eq!(values[&key(Some("voice"), "oWaiting", None)], 3.0);
        assert_eq!(values[&key(None, "oOnQueueUsers", Some("IDLE"))], 5.0);
        // The event's statuses are all of oOnQueueUsers now: INTERACTING is gone (0).
        assert!(!values.contains_key(&key(None, "oOnQueueUsers", Some("INTERACTING"))));
        assert_eq!(values[&key(None, "oMemberUsers", None)], 9.0);
        // Still waiting: the oldest conversation is kept.
        let waiting = &state.groups[&("q1".to_string(), Some("voice".to_string()))]
            [&("oWaiting".to_string(), None)];
        assert_eq!(
            waiting.observations[0].observation_date.as_deref(),
            Some("2026-12-07T02:00:00.000Z")
        );
    }

    #[test]
    fn the_oldest_wait_follows_the_counts() {
        let config = config();
        let mut state = seeded();
        let waiting = |state: &PushedState, media: &str| {
            state.groups[&("q1".to_string(), Some(media.to_string()))]
                [&("oWaiting".to_string(), None)]
                .observations
                .iter()
                .filter_map(|o| o.observation_date.clone())
                .collect::<Vec<_>>()
        };
        let set = |state: &mut PushedState, media: &str, count: u32| {
            state.apply(
                event(&format!(
                    r#"{{"group": {{"queueId": "q1", "mediaType": "{media}"}}, "data": [{{"metrics": [{{"metric": "oWaiting", "stats": {{"count": {count}}}}}]}}]}}"#
                )),
                &config,
                &queues(),
                now(),
            )
        };
        set(&mut state, "voice", 0);
        assert!(waiting(&state, "voice").is_empty());
        set(&mut state, "chat", 1);
        assert_eq!(waiting(&state, "chat"), ["2026-12-07T02:05:00.000Z"]);
    }

    #[test]
    fn events_of_other_queues_or_shapes_change_nothing() {
        let config = config();
        let mut state = seeded();
        let before = state.values(&config.metrics);
        for body in [
            r#"{"group": {"queueId": "other", "mediaType": "voice"}, "data": [{"metrics": [{"metric": "oWaiting", "stats": {"count": 1}}]}]}"#,
            r#"{"group": {"mediaType": "voice"}, "data": [{"metrics": [{"metric": "oWaiting", "stats": {"count": 1}}]}]}"#,
            r#"{"group": {"queueId": "q1", "mediaType": "voice"}, "data": []}"#,
            r#"{"group": {"queueId": "q1"}, "data": [{"metrics": [{"metric": "oWaiting", "stats": {"count": 1}}]}]}"#,
            r#"{}"#,
        ] {
            state.apply(event(body), &config, &queues(), now());
        }
        assert_eq!(state.values(&config.metrics), before);
    }

    #[test]
    fn differences_count_series_and_absent_is_zero() {
        let config = config();
        let pushed = seeded();
        let mut polled = seeded();
        assert_eq!(
            differences(
                &pushed.values(&config.metrics),
                &polled.values(&config.metrics)
            ),
            0
        );
        polled.apply(
            event(
                r#"{"group": {"queueId": "q1", "mediaType": "voice"}, "data": [{"metrics": [
                {"metric": "oWaiting", "stats": {"count": 5}},
                {"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 4}}]}]}"#,
            ),
            &config,
            &queues(),
            now(),
        );
        // oWaiting differs; oOnQueueUsers INTERACTING went from 1 to absent (0).
        assert_eq!(
            differences(
                &pushed.values(&config.metrics),
                &polled.values(&config.metrics)
            ),
            2
        );
    }

    #[test]
    fn the_state_maps_as_the_rest_answer_it_came_from() {
        let config = config();
        let ids = vec!["q1".to_string()];
        let names = std::collections::HashMap::new();
        let response = seeded().response();
        let original: ObservationResponse = serde_json::from_str(ANSWER).unwrap();
        let from_state = map_observations(&config, &ids, &[response], &names, now());
        let direct = map_observations(&config, &ids, &[original], &names, now());
        assert_eq!(from_state.series, direct.series);
    }
}

//! A pushed agents set (`source: agents`, `transport: push` or `auto`; docs/push.md,
//! "Agents").
//!
//! Each agent of the org is a topic (`v2.users.{id}.activity`), shared out over
//! channels of at most 1,000, each under a slot of the client's channel budget, by the
//! same [`Channels`] as a queue set's (the topics no slot is left for are read every
//! `refresh` until one is). The state is every agent's routing status, presence and
//! out of office ([`AgentStates`]), and with `per_queue` the queues each is active on,
//! read from the users listing and each of those queues' joined members
//! ([`crate::genesys::user_states`]):
//! - first to learn the agents (the topics), then after every (re)connect, since
//!   nothing missed while disconnected is replayed; only then is it trusted
//!   (`genesys_exporter_push_up` 1);
//! - each event replaces its agent's state; changes are published at most every
//!   [`COALESCE`], counted into the polled set's series by the polled set's mapping;
//! - every `reconcile` the listing is read anyway: the series whose pushed value
//!   differs are counted (`genesys_exporter_push_reconcile_differences_total`) and the
//!   listing adopted; agents who came or went are subscribed anew;
//! - `auto` also reads the listing every `refresh` while the pushed state is not
//!   trusted.
//!
//! The loop is the queue set's ([`super::push`]) in its events and timers; what differs
//! is the state, the REST read and that the topics come from the read.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::execute::{Collect, Describes, Fetched, Mapped, execute};
use super::push::{COALESCE, Channels, Purpose, SEED_DEBOUNCE, lock, publish};
use super::push_state::differences;
use super::{PollContext, Task};
use crate::config::{AgentSetConfig, Transport};
use crate::genesys::ApiError;
use crate::genesys::notifications::{ChannelNews, topic_kind};
use crate::genesys::sources::PRESENCE_NAMES;
use crate::genesys::user_states::{
    UserState, activity_topic, read_joined_members, read_user_states,
};
use crate::mapping::agent_states::{AgentStates, Names};

/// A pushed agents set's listing reads ([`Collect`]): the users listing and the joined
/// members of each queue of `per_queue`, adopted into the state, which is mapped.
#[derive(Debug)]
struct ListingReads {
    config: Arc<AgentSetConfig>,
    state: Arc<Mutex<AgentStates>>,
}

impl Collect for ListingReads {
    type Target = (Duration, Purpose);

    fn name(&self) -> &str {
        &self.config.name
    }

    fn endpoint(&self) -> &'static str {
        "user_states"
    }

    async fn fetch(
        &self,
        (every, purpose): &(Duration, Purpose),
        context: &PollContext,
    ) -> Result<Fetched, ApiError> {
        let (users, read) = read_user_states(&context.client).await?;
        let requests = read.requests as usize;
        let mut members = Vec::with_capacity(self.config.per_queue.len());
        let mut member_pages = 0;
        for queue in &self.config.per_queue {
            let (ids, read) = read_joined_members(&context.client, queue).await?;
            member_pages += read.requests as usize;
            members.push((queue.clone(), ids));
        }
        if !members.is_empty() {
            // The plan prices the members pages as this read took them.
            context
                .planner
                .read_pages(&self.config.name, member_pages, &context.telemetry);
        }
        let requests = requests + member_pages;
        context
            .telemetry
            .describe_query(&self.config.name, *every, Duration::ZERO, requests);
        let listed = AgentStates::from_users(users).with_members(members);
        {
            let mut state = lock(&self.state);
            if *purpose == (Purpose::Reconcile { trusted: true }) {
                let found = differences(&state.values(&self.config), &listed.values(&self.config));
                context
                    .telemetry
                    .count_reconcile_differences(&self.config.name, found);
                if found > 0 {
                    tracing::info!(query = %self.config.name, differences = found, "the reconcile read found pushed agent states that differ; adopting the listed ones");
                }
            }
            *state = listed;
        }
        Ok(Fetched {
            budget_wait: Duration::ZERO,
            requests,
            describes: Describes::ObservedAt(context.client.api_now()),
            map: mapping(&self.config, &self.state, context),
        })
    }

    fn log_failure(&self, (_, purpose): &(Duration, Purpose), err: &ApiError) {
        tracing::error!(query = %self.config.name, ?purpose, error = %err, "the users listing of a pushed agents set failed; the last good values stay exported");
    }

    fn log_success(&self, (_, purpose): &(Duration, Purpose), samples: usize, requests: usize) {
        tracing::debug!(query = %self.config.name, ?purpose, requests, samples, "the users listing of a pushed agents set succeeded");
    }
}

/// The mapping of the state as it is when it runs: the polled set's counts exactly.
fn mapping(
    config: &Arc<AgentSetConfig>,
    state: &Arc<Mutex<AgentStates>>,
    context: &PollContext,
) -> Box<dyn FnOnce() -> Mapped + Send> {
    let config = Arc::clone(config);
    let state = Arc::clone(state);
    let current = context.names.current();
    let names = Names {
        presences: current.table(PRESENCE_NAMES),
        queues: current.table("queueId"),
    };
    Box::new(move || {
        let mapped = lock(&state).map(&config, &names);
        Mapped {
            series: mapped.series,
            warnings: mapped.warnings,
        }
    })
}

/// A pushed agents set's task.
#[derive(Debug)]
pub struct PushAgentsPoller {
    reads: ListingReads,
    context: PollContext,
    /// Cleared when a reload retires this set.
    active: Arc<AtomicBool>,
}

impl Drop for PushAgentsPoller {
    /// A retired set is no longer pushed: its push series and landing-page line go.
    fn drop(&mut self) {
        self.context.telemetry.forget_push(&self.reads.config.name);
    }
}

impl PushAgentsPoller {
    pub fn new(config: AgentSetConfig, context: PollContext) -> PushAgentsPoller {
        context.telemetry.register_query(&config.name);
        context.telemetry.set_push_up(&config.name, false);
        PushAgentsPoller {
            reads: ListingReads {
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

    /// The runners of the topics of `ids` (agents).
    fn connect(&self, ids: Vec<String>) -> Channels {
        Channels::open(&self.context, self.name(), ids, activity_topic)
    }

    /// The set's reconcile period: the plan's (it may stretch it to fit the budget).
    fn reconcile_every(&self) -> Duration {
        let config = &self.reads.config;
        // The plan prices a pushed agents set whatever the org's size (see plan.rs).
        self.context
            .planner
            .refresh_for(&config.name, 0, &self.context.telemetry)
            .unwrap_or(config.reconcile)
    }

    /// One listing read, through [`execute`]; true if it succeeded.
    async fn read(&self, purpose: Purpose) -> bool {
        let every = match purpose {
            Purpose::Fallback => self.reads.config.refresh,
            _ => self.reconcile_every(),
        };
        execute(&self.reads, &(every, purpose), &self.context, &self.active)
            .await
            .is_ok()
    }

    /// The agents the state holds now.
    fn listed(&self) -> Vec<String> {
        lock(&self.reads.state).ids()
    }

    /// Runs forever; stop it by dropping (aborting) its task, which aborts the runners.
    pub async fn run(self) {
        let config = Arc::clone(&self.reads.config);
        // The agents (the topics) come from the listing: read it until it answers.
        while !self.read(Purpose::Seed).await {
            sleep_until(Instant::now() + self.context.retry_delay).await;
        }
        let mut channels = self.connect(self.listed());
        let mut trusted = false;
        let mut dirty = false;
        let mut publish_at = Instant::now();
        let mut seed_at: Option<Instant> = None;
        let mut reconcile_at = Instant::now() + self.reconcile_every();
        let mut fallback_at = Instant::now() + config.refresh;
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
                        match serde_json::from_str::<UserState>(body.get()) {
                            Ok(event) => {
                                self.context.telemetry.count_push_event(topic_kind(&topic));
                                if lock(&self.reads.state).apply(event) && !dirty {
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
                        let map = mapping(&config, &self.reads.state, &self.context);
                        publish(self.name(), map, &self.context, &self.active).await;
                    }
                    publish_at = Instant::now() + COALESCE;
                }
                () = sleep_until(seed_at.unwrap_or_else(Instant::now)), if seed_at.is_some() => {
                    seed_at = None;
                    let ok = self.read(Purpose::Seed).await;
                    dirty = false;
                    trusted = ok && channels.all_up();
                    self.context.telemetry.set_push_up(self.name(), trusted);
                    if !ok {
                        seed_at = Some(Instant::now() + self.context.retry_delay);
                    }
                }
                () = sleep_until(reconcile_at) => {
                    let ok = self.read(Purpose::Reconcile { trusted }).await;
                    dirty = false;
                    let ids = self.listed();
                    if ok && ids != channels.ids {
                        tracing::info!(query = %self.name(), agents = ids.len(), "the org's agents changed; subscribing anew");
                        // No channel pushes until the new ones are up.
                        trusted = false;
                        self.context.telemetry.set_push_up(self.name(), false);
                        channels = channels.reopen(&self.context, self.name(), ids, activity_topic).await;
                    }
                    reconcile_at = Instant::now() + self.reconcile_every();
                }
                () = sleep_until(fallback_at), if falls_back => {
                    if !channels.waiting.is_empty() {
                        channels.start_waiting(&self.context, self.name());
                    }
                    self.read(Purpose::Fallback).await;
                    dirty = false;
                    fallback_at = Instant::now() + config.refresh;
                }
            }
        }
    }
}

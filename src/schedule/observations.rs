//! The poll loop of one observation set, queue set or agents set alike: every
//! `refresh`.
//!
//! Beside the interval pollers: one task per observation set. Each refresh of a queue
//! set sends one
//! request per `max_queues_per_request` queues, one after the other, through the same
//! budget, token and retries as every API call, and publishes only when all succeeded
//! (a failure leaves the last good values exported and the set marked down). The next
//! refresh is due `refresh` after the last one started, whatever its outcome: a 400 or
//! 403 waits for it like anything else, and queries and other sets are not affected.
//! The refresh used is the effective one of the request plan ([`crate::plan`]), which
//! may be longer than the configured one so that everything fits the budget.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use super::execute::{Collect, Describes, Fetched, Mapped, execute};
use super::{PollContext, Task};
use crate::config::{ObservationConfig, QueueSelection};
use crate::genesys::ApiError;
use crate::genesys::observations::{ObservationQuery, ObservationResponse};
use crate::mapping::observations::map_observations;

/// A set's kind: its requests and mapping ([`Collect`]), and what each refresh covers.
pub trait Refresh: Collect + Debug + Send + 'static {
    /// What the next refresh covers (the queues of a queue set), and the time until
    /// the one after: the plan's effective refresh.
    fn next(&self, context: &PollContext) -> (Self::Target, Duration);
}

/// One observation set's poll loop: a queue set's ([`ObservationPoller`]) or an agents
/// set's ([`super::AgentsPoller`]).
#[derive(Debug)]
pub struct SetPoller<C> {
    collector: C,
    context: PollContext,
    /// Cleared when a reload retires this poller: a refresh still mapping then
    /// publishes nothing (see [`crate::snapshot::SnapshotStore::publish_while`]).
    active: Arc<AtomicBool>,
}

/// One queue observation set's poll loop.
pub type ObservationPoller = SetPoller<QueueSet>;

impl<C: Refresh> SetPoller<C> {
    /// A poller of `collector`'s set, registered under its name.
    pub(super) fn with(collector: C, context: PollContext) -> Self {
        context.telemetry.register_query(collector.name());
        SetPoller {
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

    /// Polls forever; stop it by dropping (aborting) its task. The next refresh is due
    /// `refresh` after the last one started, whatever its outcome.
    pub async fn run(self) {
        loop {
            let started = Instant::now();
            let (target, refresh) = self.collector.next(&self.context);
            let _ = execute(&self.collector, &target, &self.context, &self.active).await;
            let next = started + refresh;
            let wake = Utc::now()
                + chrono::TimeDelta::from_std(next.saturating_duration_since(Instant::now()))
                    .unwrap_or_default();
            self.context
                .store
                .update_status(self.collector.name(), |s| s.next_poll = Some(wake));
            tokio::time::sleep_until(next).await;
        }
    }
}

impl ObservationPoller {
    /// A poller refreshing as the plan says (every `refresh`, or longer when stretched).
    pub fn new(config: ObservationConfig, context: PollContext) -> Self {
        SetPoller::with(
            QueueSet {
                config: Arc::new(config),
            },
            context,
        )
    }
}

/// A queue set's requests and mapping.
#[derive(Debug)]
pub struct QueueSet {
    config: Arc<ObservationConfig>,
}

/// What one refresh of a queue set covers.
pub struct Queues {
    ids: Vec<String>,
    refresh: Duration,
}

/// The queues `config` observes now: its ids, or every queue listed so far.
pub(super) fn observed_queues(config: &ObservationConfig, context: &PollContext) -> Vec<String> {
    match &config.queues {
        QueueSelection::Ids(ids) => ids.clone(),
        QueueSelection::All => {
            let mut ids: Vec<String> = context
                .names
                .current()
                .table("queueId")
                .keys()
                .cloned()
                .collect();
            ids.sort_unstable();
            ids
        }
    }
}

/// What one REST read of a queue set brought.
pub(super) struct Observed {
    pub responses: Vec<ObservationResponse>,
    pub budget_wait: Duration,
    pub requests: usize,
}

/// Every request of one REST read of `ids` (at most `max_queues_per_request` queues
/// each), one after the other; described in the telemetry as a poll every `every`.
pub(super) async fn observe(
    config: &ObservationConfig,
    ids: &[String],
    every: Duration,
    context: &PollContext,
) -> Result<Observed, ApiError> {
    if ids.is_empty() {
        return Err(ApiError::BadResponse {
            endpoint: "queues",
            message: "no queues to observe yet: the queue list has not arrived or is empty".into(),
        });
    }
    let per_request = config.max_queues_per_request.max(1);
    let requests = ids.len().div_ceil(per_request);
    context
        .telemetry
        .describe_query(&config.name, every, Duration::ZERO, requests);
    let mut responses: Vec<ObservationResponse> = Vec::with_capacity(requests);
    let mut budget_wait = Duration::ZERO;
    for chunk in ids.chunks(per_request) {
        let request = ObservationQuery::new(
            chunk,
            &config.media_types,
            &config.metrics,
            &config.detail_metrics,
        );
        let delivered = context.client.query_observations(&request).await?;
        budget_wait += delivered.budget_wait;
        responses.push(delivered.value);
    }
    Ok(Observed {
        responses,
        budget_wait,
        requests,
    })
}

impl Refresh for QueueSet {
    /// The queues now, and the plan's effective refresh (the queues of a set over `all`
    /// are the org's, which the plan is made for).
    fn next(&self, context: &PollContext) -> (Queues, Duration) {
        let ids = observed_queues(&self.config, context);
        let refresh = context
            .planner
            .refresh_for(&self.config.name, ids.len(), &context.telemetry)
            .unwrap_or(self.config.refresh);
        (Queues { ids, refresh }, refresh)
    }
}

impl Collect for QueueSet {
    type Target = Queues;

    fn name(&self) -> &str {
        &self.config.name
    }

    fn endpoint(&self) -> &'static str {
        "observations"
    }

    /// Every request, at most `max_queues_per_request` queues each.
    async fn fetch(&self, queues: &Queues, context: &PollContext) -> Result<Fetched, ApiError> {
        let Observed {
            responses,
            budget_wait,
            requests,
        } = observe(&self.config, &queues.ids, queues.refresh, context).await?;
        let observed_at = context.client.api_now();
        let config = Arc::clone(&self.config);
        let names = context.names.current().table("queueId");
        let ids = queues.ids.clone();
        Ok(Fetched {
            budget_wait,
            requests,
            describes: Describes::ObservedAt(observed_at),
            map: Box::new(move || {
                let mapped = map_observations(&config, &ids, &responses, &names, observed_at);
                drop(responses);
                Mapped {
                    series: mapped.series,
                    warnings: mapped.warnings,
                }
            }),
        })
    }

    fn log_failure(&self, _: &Queues, err: &ApiError) {
        tracing::error!(query = %self.config.name, error = %err, "observation refresh failed; the last good values stay exported");
    }

    fn log_success(&self, _: &Queues, samples: usize, requests: usize) {
        tracing::debug!(query = %self.config.name, requests, samples, "observation refresh succeeded");
    }
}

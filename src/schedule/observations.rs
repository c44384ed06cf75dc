//! The poll loop of one observation set: every queue, every `refresh`.
//!
//! Beside the interval pollers: one task per observation set. Each refresh sends one
//! request per `max_queues_per_request` queues, one after the other, through the same
//! budget, token and retries as every API call, and publishes only when all succeeded
//! (a failure leaves the last good values exported and the set marked down). The next
//! refresh is due `refresh` after the last one started, whatever its outcome: a 400 or
//! 403 waits for it like anything else, and queries and other sets are not affected.
//! The refresh used is the effective one of the request plan ([`crate::plan`]), which
//! may be longer than the configured one so that everything fits the budget.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use super::{DELAYED_AFTER, PollContext, record_failed_poll};
use crate::config::{ObservationConfig, QueueSelection};
use crate::genesys::ApiError;
use crate::genesys::observations::{ObservationQuery, ObservationResponse};
use crate::mapping::observations::map_observations;

/// One observation set's poll loop.
#[derive(Debug)]
pub struct ObservationPoller {
    config: Arc<ObservationConfig>,
    context: PollContext,
    /// Cleared when a reload retires this poller: a refresh still mapping then
    /// publishes nothing (see [`crate::snapshot::SnapshotStore::publish_while`]).
    active: Arc<AtomicBool>,
}

impl ObservationPoller {
    /// A poller refreshing as the plan says (every `refresh`, or longer when stretched).
    pub fn new(config: ObservationConfig, context: PollContext) -> Self {
        context.telemetry.register_query(&config.name);
        ObservationPoller {
            config: Arc::new(config),
            context,
            active: Arc::new(AtomicBool::new(true)),
        }
    }

    /// The flag that retires this poller when cleared.
    pub fn active(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.active)
    }

    /// Polls forever; stop it by dropping (aborting) its task.
    pub async fn run(self) {
        loop {
            let started = Instant::now();
            let refresh = self.poll().await;
            let next = started + refresh;
            let wake = Utc::now()
                + chrono::TimeDelta::from_std(next.saturating_duration_since(Instant::now()))
                    .unwrap_or_default();
            self.context
                .store
                .update_status(&self.config.name, |s| s.next_poll = Some(wake));
            tokio::time::sleep_until(next).await;
        }
    }

    /// The queues to observe now: the configured ids, or every queue listed so far.
    fn queues(&self) -> Vec<String> {
        match &self.config.queues {
            QueueSelection::Ids(ids) => ids.clone(),
            QueueSelection::All => {
                let mut ids: Vec<String> = self
                    .context
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

    /// One refresh; returns the time until the next one (the plan's effective refresh;
    /// the queues of a set over `all` are the org's, which the plan is made for).
    async fn poll(&self) -> Duration {
        let started = Instant::now();
        let queues = self.queues();
        let refresh = self
            .context
            .planner
            .refresh_for(&self.config.name, queues.len(), &self.context.telemetry)
            .unwrap_or(self.config.refresh);
        let _ = self.refresh(started, queues, refresh).await;
        refresh
    }

    /// Every request, then mapping and publishing.
    async fn refresh(
        &self,
        started: Instant,
        queues: Vec<String>,
        refresh: Duration,
    ) -> Result<(), ApiError> {
        let name = &self.config.name;
        if queues.is_empty() {
            return Err(self.record_failure(
                started,
                ApiError::BadResponse {
                    endpoint: "queues",
                    message: "no queues to observe yet: the queue list has not arrived or is empty"
                        .into(),
                },
            ));
        }
        let per_request = self.config.max_queues_per_request.max(1);
        let requests = queues.len().div_ceil(per_request);
        self.context
            .telemetry
            .describe_query(name, refresh, Duration::ZERO, requests);
        let mut responses: Vec<ObservationResponse> = Vec::with_capacity(requests);
        let mut budget_wait = Duration::ZERO;
        for chunk in queues.chunks(per_request) {
            let request = ObservationQuery::new(
                chunk,
                &self.config.media_types,
                &self.config.metrics,
                &self.config.detail_metrics,
            );
            match self.context.client.query_observations(&request).await {
                Ok(delivered) => {
                    budget_wait += delivered.budget_wait;
                    responses.push(delivered.value);
                }
                Err(err) => return Err(self.record_failure(started, err)),
            }
        }
        let observed_at = self.context.client.api_now();
        if budget_wait > DELAYED_AFTER {
            self.context.telemetry.count_delayed_poll(name);
        }
        let config = Arc::clone(&self.config);
        let names = self.context.names.current().table("queueId");
        let store = Arc::clone(&self.context.store);
        let active = Arc::clone(&self.active);
        let outcome = tokio::task::spawn_blocking(move || {
            let mapped = map_observations(&config, &queues, &responses, &names, observed_at);
            drop(responses);
            let samples = mapped.series.sample_count();
            store.publish_while(&config.name, mapped.series, &active);
            (mapped.warnings, samples)
        })
        .await;
        let (warnings, samples) = match outcome {
            Ok(outcome) => outcome,
            Err(join_error) => {
                let err = ApiError::BadResponse {
                    endpoint: "observations",
                    message: format!("mapping the response failed: {join_error}"),
                };
                return Err(self.record_failure(started, err));
            }
        };
        let telemetry = &self.context.telemetry;
        if warnings > 0 {
            telemetry.count_response_warnings(name, warnings);
            tracing::warn!(query = %name, skipped = warnings, "parts of the observation response were not usable and were skipped");
        }
        let finished = Utc::now();
        telemetry.observe_poll(
            name,
            Some(finished.timestamp_millis() as f64 / 1000.0),
            started.elapsed().as_secs_f64(),
        );
        self.context.store.update_status(name, |s| {
            s.attempted = true;
            s.last_success = Some(finished);
            s.last_error = None;
            s.observed_at = Some(observed_at);
            s.samples = samples;
        });
        tracing::debug!(query = %name, requests, samples, "observation refresh succeeded");
        Ok(())
    }

    fn record_failure(&self, started: Instant, err: ApiError) -> ApiError {
        let name = &self.config.name;
        tracing::error!(query = %name, error = %err, "observation refresh failed; the last good values stay exported");
        record_failed_poll(&self.context, name, started, err)
    }
}

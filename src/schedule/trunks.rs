//! A trunk set's refreshes: the trunk listing's pages, then the trunks' metrics in
//! batches of 100 ids (see [`crate::genesys::trunks`]), through the same client, budget
//! and retries as every call, and the same loop and wrapper as the other sets
//! ([`super::observations::SetPoller`]). Published only when every request succeeded.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::PollContext;
use super::execute::{Collect, Describes, Fetched, Mapped};
use super::observations::{Refresh, SetPoller};
use crate::config::TrunkSetConfig;
use crate::genesys::ApiError;
use crate::mapping::trunks::map_trunks;

/// One trunk set's poll loop.
pub type TrunksPoller = SetPoller<TrunkSet>;

impl TrunksPoller {
    /// A poller refreshing as the plan says (every `refresh`, or longer when stretched).
    pub fn new(config: TrunkSetConfig, context: PollContext) -> Self {
        SetPoller::with(
            TrunkSet {
                config: Arc::new(config),
                listed: AtomicUsize::new(0),
            },
            context,
        )
    }
}

/// A trunk set's requests and mapping.
#[derive(Debug)]
pub struct TrunkSet {
    config: Arc<TrunkSetConfig>,
    /// Trunks the last refresh listed (0 before the first): what the planner is told.
    listed: AtomicUsize,
}

impl Refresh for TrunkSet {
    /// The plan's effective refresh, after telling the planner how many trunks the
    /// last refresh listed (the requests a refresh takes grow with them).
    fn next(&self, context: &PollContext) -> (Duration, Duration) {
        let refresh = context
            .planner
            .refresh_for_trunks(
                &self.config.name,
                self.listed.load(Ordering::Relaxed),
                &context.telemetry,
            )
            .unwrap_or(self.config.refresh);
        (refresh, refresh)
    }
}

impl Collect for TrunkSet {
    /// The refresh, for the self-metrics.
    type Target = Duration;

    fn name(&self) -> &str {
        &self.config.name
    }

    fn endpoint(&self) -> &'static str {
        "trunks"
    }

    async fn fetch(&self, refresh: &Duration, context: &PollContext) -> Result<Fetched, ApiError> {
        let answer = context.client.read_trunks().await?;
        self.listed.store(answer.trunks.len(), Ordering::Relaxed);
        let observed_at = context.client.api_now();
        context.telemetry.describe_query(
            &self.config.name,
            *refresh,
            Duration::ZERO,
            answer.requests,
        );
        let name = self.config.name.clone();
        Ok(Fetched {
            budget_wait: answer.budget_wait,
            requests: answer.requests,
            describes: Describes::ObservedAt(observed_at),
            map: Box::new(move || {
                let mapped = map_trunks(&name, &answer.trunks, &answer.metrics);
                Mapped {
                    series: mapped.series,
                    warnings: mapped.warnings + answer.warnings,
                }
            }),
        })
    }

    fn log_failure(&self, _: &Duration, err: &ApiError) {
        tracing::error!(query = %self.config.name, error = %err, "trunks refresh failed; the last good values stay exported");
    }

    fn log_success(&self, _: &Duration, samples: usize, requests: usize) {
        tracing::debug!(query = %self.config.name, requests, samples, "trunks refresh succeeded");
    }
}

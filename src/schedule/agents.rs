//! An agents set's refreshes: one `POST /api/v2/analytics/agents/status/counts` each,
//! whatever the org's size, through the same client, budget and retries as every call,
//! and the same loop and wrapper as queue sets ([`super::observations::SetPoller`]).

use std::sync::Arc;
use std::time::Duration;

use super::PollContext;
use super::execute::{Collect, Describes, Fetched, Mapped};
use super::observations::{Refresh, SetPoller};
use crate::config::AgentSetConfig;
use crate::genesys::ApiError;
use crate::genesys::agents::AgentCountsQuery;
use crate::genesys::sources::PRESENCE_NAMES;
use crate::mapping::agents::map_agent_counts;

/// One agents set's poll loop.
pub type AgentsPoller = SetPoller<AgentSet>;

impl AgentsPoller {
    /// A poller refreshing as the plan says (every `refresh`, or longer when stretched).
    pub fn new(config: AgentSetConfig, context: PollContext) -> Self {
        SetPoller::with(
            AgentSet {
                config: Arc::new(config),
            },
            context,
        )
    }
}

/// An agents set's request and mapping.
#[derive(Debug)]
pub struct AgentSet {
    config: Arc<AgentSetConfig>,
}

impl Refresh for AgentSet {
    fn next(&self, context: &PollContext) -> (Duration, Duration) {
        // One request whatever the org's size: no count changes the plan.
        let refresh = context
            .planner
            .refresh_for(&self.config.name, 0, &context.telemetry)
            .unwrap_or(self.config.refresh);
        (refresh, refresh)
    }
}

impl Collect for AgentSet {
    /// The refresh, for the self-metrics.
    type Target = Duration;

    fn name(&self) -> &str {
        &self.config.name
    }

    fn endpoint(&self) -> &'static str {
        "agents"
    }

    async fn fetch(&self, refresh: &Duration, context: &PollContext) -> Result<Fetched, ApiError> {
        let config = Arc::clone(&self.config);
        context
            .telemetry
            .describe_query(&config.name, *refresh, Duration::ZERO, 1);
        let request = AgentCountsQuery::new(&config.queues, &config.teams, &config.divisions);
        let delivered = context
            .client
            .query_agent_counts(&request, &config.group_by)
            .await?;
        let observed_at = context.client.api_now();
        let names = context.names.current().table(PRESENCE_NAMES);
        let answer = delivered.value;
        Ok(Fetched {
            budget_wait: delivered.budget_wait,
            requests: 1,
            describes: Describes::ObservedAt(observed_at),
            map: Box::new(move || {
                let mapped = map_agent_counts(&config, &answer, &names);
                Mapped {
                    series: mapped.series,
                    warnings: mapped.warnings,
                }
            }),
        })
    }

    fn log_failure(&self, _: &Duration, err: &ApiError) {
        tracing::error!(query = %self.config.name, error = %err, "agents refresh failed; the last good values stay exported");
    }

    fn log_success(&self, _: &Duration, samples: usize, _: usize) {
        tracing::debug!(query = %self.config.name, samples, "agents refresh succeeded");
    }
}

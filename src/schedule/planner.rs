//! The request plan at run time: made again whenever the number of queues changes, so
//! that observations over `queues: all` stretch (or relax) with the org.

use std::sync::Mutex;
use std::time::Duration;

use crate::config::{Config, QueryConfig};
use crate::plan::{self, OverBudget, Plan};
use crate::telemetry::Telemetry;

/// The plan in effect and what it was made from.
#[derive(Debug)]
pub struct Planner {
    config: Mutex<Config>,
    names_refresh: Duration,
    budget: u32,
    current: Mutex<Plan>,
}

impl Planner {
    /// The plan before the queues are listed; refused (exit status 2 at start-up) when
    /// the interval queries alone exceed the budget.
    pub fn new(
        config: &Config,
        names_refresh: Duration,
        budget: u32,
        telemetry: &Telemetry,
    ) -> Result<Planner, OverBudget> {
        let plan = plan::make(config, None, names_refresh, budget)?;
        let planner = Planner {
            config: Mutex::new(config.clone()),
            names_refresh,
            budget,
            current: Mutex::new(plan.clone()),
        };
        planner.adopt(plan, telemetry);
        Ok(planner)
    }

    /// The plan in effect.
    pub fn current(&self) -> Plan {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Makes the plan for `queues` listed queues if that count is new, and returns the
    /// effective refresh of `name`.
    pub fn refresh_for(
        &self,
        name: &str,
        queues: usize,
        telemetry: &Telemetry,
    ) -> Option<Duration> {
        let known = self.current().queues;
        if known != Some(queues) {
            let config = self
                .config
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            match plan::make(&config, Some(queues), self.names_refresh, self.budget) {
                Ok(plan) => self.adopt(plan, telemetry),
                // Queries did fit at start-up and do not depend on the queue count; only
                // the names pages grew. Keep the last plan and say so.
                Err(err) => {
                    tracing::error!(error = %err, "no request plan fits the budget with this many queues; keeping the last plan")
                }
            }
        }
        self.current().effective_refresh(name)
    }

    /// Makes the plan again for the queries of a reloaded config (observation sets stay
    /// as started); refused, with nothing changed, when those queries alone exceed the
    /// budget, so that the reload is refused whole.
    pub fn replan(&self, queries: &[QueryConfig], telemetry: &Telemetry) -> Result<(), OverBudget> {
        let mut config = self
            .config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        config.queries = queries.to_vec();
        let plan = plan::make(
            &config,
            self.current().queues,
            self.names_refresh,
            self.budget,
        )?;
        *self.config.lock().unwrap_or_else(|p| p.into_inner()) = config;
        self.adopt(plan, telemetry);
        Ok(())
    }

    fn adopt(&self, plan: Plan, telemetry: &Telemetry) {
        for entry in &plan.entries {
            telemetry.describe_plan(
                &entry.name,
                entry.requests_per_minute(),
                entry.effective_refresh,
            );
        }
        telemetry.describe_plan("(names)", plan.names_per_minute, Duration::ZERO);
        for entry in plan.stretched() {
            tracing::warn!(
                query = %entry.name,
                refresh = %humantime::format_duration(entry.refresh),
                effective_refresh = %humantime::format_duration(entry.effective_refresh),
                "observations stretched to fit the API budget"
            );
        }
        tracing::info!(
            total_per_minute = plan.total_per_minute(),
            budget = plan.budget,
            "request plan\n{plan}"
        );
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = plan;
    }
}

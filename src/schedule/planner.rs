//! The request plan at run time: made again whenever the org's number of queues changes
//! (as the sets over `queues: all` list them) and on every reload, so that observations
//! stretch (or relax) with the org and the config.

use std::sync::Mutex;
use std::time::Duration;

use crate::config::{Config, QueueSelection};
use crate::plan::{self, Counts, OverBudget, Plan};
use crate::telemetry::Telemetry;

/// The plan in effect and what it was made from.
#[derive(Debug)]
pub struct Planner {
    /// One lock for both, held from reading the config to adopting the plan made from
    /// it: a re-plan for a new queue count and a reload's re-plan run one after the
    /// other, so the plan in effect is always made from the config in effect (a poller
    /// that read the old config could otherwise adopt its plan after the reload's).
    state: Mutex<State>,
    names_refresh: Duration,
    budget: u32,
}

#[derive(Debug)]
struct State {
    config: Config,
    plan: Plan,
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
        let plan = plan::make(config, Counts::default(), names_refresh, budget)?;
        adopt(&plan, telemetry);
        Ok(Planner {
            state: Mutex::new(State {
                config: config.clone(),
                plan,
            }),
            names_refresh,
            budget,
        })
    }

    /// The plan in effect.
    pub fn current(&self) -> Plan {
        self.state().plan.clone()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The effective refresh of `name`, after making the plan again if `queues`, the
    /// queues that observation set covers now, tells a new org queue count.
    ///
    /// Only a set over `queues: all` covers the org's queues; a set of listed ids is
    /// priced at its list's length, which the plan knows from the config, so its count
    /// says nothing about the org and changes no plan (it used to be taken for the
    /// org's, and the plan flipped between the two counts on every refresh). No count
    /// (zero queues listed yet) keeps the plan as it is.
    pub fn refresh_for(
        &self,
        name: &str,
        queues: usize,
        telemetry: &Telemetry,
    ) -> Option<Duration> {
        let mut state = self.state();
        let new_count = queues > 0 && state.plan.counts.queues != Some(queues);
        let covers_the_org = state
            .config
            .observations
            .iter()
            .any(|o| o.name == name && o.queues == QueueSelection::All);
        if new_count && covers_the_org {
            let counts = Counts {
                queues: Some(queues),
                ..state.plan.counts.clone()
            };
            self.remake(&mut state, counts, telemetry);
        }
        state.plan.effective_refresh(name)
    }

    /// The effective refresh of the trunk set `name`, after making the plan again if
    /// `trunks`, the trunks its last refresh listed, is a new count (0, before the
    /// first refresh, keeps the plan as it is). Every trunk set lists every trunk the
    /// client can see, so any set's count is the org's.
    pub fn refresh_for_trunks(
        &self,
        name: &str,
        trunks: usize,
        telemetry: &Telemetry,
    ) -> Option<Duration> {
        let mut state = self.state();
        if trunks > 0 && state.plan.counts.trunks != Some(trunks) {
            let counts = Counts {
                trunks: Some(trunks),
                ..state.plan.counts.clone()
            };
            self.remake(&mut state, counts, telemetry);
        }
        state.plan.effective_refresh(name)
    }

    /// Makes the plan again when set `name` tells a new number of the pages the plan
    /// cannot know (those its last read took): a voice quality set's details requests, a
    /// pushed agents set's queue members pages.
    pub fn read_pages(&self, name: &str, pages: usize, telemetry: &Telemetry) {
        let mut state = self.state();
        if state.plan.counts.read_pages.get(name) == Some(&pages) {
            return;
        }
        let mut counts = state.plan.counts.clone();
        counts.read_pages.insert(name.to_string(), pages);
        self.remake(&mut state, counts, telemetry);
    }

    /// Makes and adopts the plan for new counts. Queries did fit at start-up and do not
    /// depend on the counts; only the names pages, observation sets, trunk sets and voice
    /// sets grew: when no plan fits, the last one is kept, and the log says so.
    fn remake(&self, state: &mut State, counts: Counts, telemetry: &Telemetry) {
        match plan::make(&state.config, counts, self.names_refresh, self.budget) {
            Ok(plan) => {
                adopt(&plan, telemetry);
                state.plan = plan;
            }
            Err(err) => {
                tracing::error!(error = %err, "no request plan fits the budget with the org's counts as last seen; keeping the last plan")
            }
        }
    }

    /// Makes the plan again for a reloaded config, queries and observation sets alike,
    /// at the org's queue count as last listed; refused, with nothing changed, when the
    /// interval queries and names alone exceed the budget, so that the reload is refused
    /// whole.
    ///
    /// The pages a voice quality set's polls (or a pushed agents set's reads) took carry
    /// over only to the same set unchanged (a changed `page_size` or `per_queue`, or a new
    /// set of the same name, is priced as at start-up until it reads), and they never
    /// refuse a reload: a config that fits at its start-up price is taken, as at
    /// start-up.
    pub fn replan(&self, config: &Config, telemetry: &Telemetry) -> Result<(), OverBudget> {
        let mut state = self.state();
        let mut counts = state.plan.counts.clone();
        let unchanged = |name: &str| {
            let voice = |c: &Config| c.voice_quality.iter().find(|v| v.name == name).cloned();
            let agents = |c: &Config| c.agents.iter().find(|a| a.name == name).cloned();
            voice(config).is_some_and(|new| voice(&state.config) == Some(new))
                || agents(config).is_some_and(|new| agents(&state.config) == Some(new))
        };
        counts.read_pages.retain(|name, _| unchanged(name));
        let plan = plan::make(config, counts.clone(), self.names_refresh, self.budget)
            .or_else(|err| {
                if counts.read_pages.is_empty() {
                    return Err(err);
                }
                tracing::warn!(error = %err, "the pages the sets' last reads took do not fit the budget; priced as at start-up until they read again");
                let at_start = plan::Counts {
                    read_pages: Default::default(),
                    ..counts
                };
                plan::make(config, at_start, self.names_refresh, self.budget)
            })?;
        adopt(&plan, telemetry);
        *state = State {
            config: config.clone(),
            plan,
        };
        Ok(())
    }
}

/// Publishes `plan` (its gauges, a warning per stretched set, the table in the log);
/// called under the state lock, so that plans are published in the order adopted.
fn adopt(plan: &Plan, telemetry: &Telemetry) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: [&str; 3] = [
        "11111111-1111-4111-8111-111111111111",
        "22222222-2222-4222-8222-222222222222",
        "33333333-3333-4333-8333-333333333333",
    ];

    /// A set of three listed queues and a set of every queue, both every 15 s.
    fn both_kinds() -> Config {
        let text = format!(
            "observations:\n  - {{name: listed, refresh: 15s, queues: [{}], metrics: [oWaiting]}}\n  \
             - {{name: every, refresh: 15s, metrics: [oWaiting]}}\n",
            IDS.join(", ")
        );
        Config::from_yaml(&text, "t.yaml").unwrap()
    }

    #[test]
    fn a_set_of_listed_queues_is_priced_at_its_list_and_never_moves_the_org_count() {
        let telemetry = Telemetry::new(300);
        let planner =
            Planner::new(&both_kinds(), Duration::from_secs(600), 300, &telemetry).unwrap();
        // The sets refresh in turn, as their pollers do; 1,000 queues in the org.
        let mut plans = vec![planner.current()];
        for _ in 0..3 {
            planner.refresh_for("every", 1000, &telemetry);
            plans.push(planner.current());
            planner.refresh_for("listed", IDS.len(), &telemetry);
            plans.push(planner.current());
        }
        plans.dedup();
        // The plan before the queues were listed, then one for 1,000 queues: no flip.
        assert_eq!(plans.len(), 2, "{plans:#?}");
        let plan = planner.current();
        assert_eq!(plan.counts.queues, Some(1000));
        let cost = |name: &str| {
            plan.entries
                .iter()
                .find(|e| e.name == name)
                .map(|e| e.requests_per_poll)
        };
        assert_eq!(cost("listed"), Some(1));
        assert_eq!(cost("every"), Some(10));
    }

    /// A voice quality set is priced at one page a poll until its first poll tells the
    /// pages its totalHits implies; the plan keeps that count through a reload.
    #[test]
    fn a_voice_set_is_priced_at_the_pages_its_last_poll_took() {
        let telemetry = Telemetry::new(300);
        let config = Config::from_yaml(
            "voice_quality:\n  - {name: voice, granularity: PT15M}\n",
            "t.yaml",
        )
        .unwrap();
        let planner = Planner::new(&config, Duration::from_secs(600), 300, &telemetry).unwrap();
        let pages = |planner: &Planner| {
            let plan = planner.current();
            let entry = plan.entries.iter().find(|e| e.name == "voice").cloned();
            entry.map(|e| (e.requests_per_poll, e.observation))
        };
        assert_eq!(pages(&planner), Some((1, false)));
        // 2,345 calls an interval: 24 pages of 100.
        planner.read_pages(
            "voice",
            crate::genesys::details::pages_for(2345, 100),
            &telemetry,
        );
        assert_eq!(pages(&planner), Some((24, false)));
        let entry = planner.current().entries[0].clone();
        assert!((entry.requests_per_minute() - 24.0 / 15.0).abs() < 1e-9);
        planner.replan(&config, &telemetry).unwrap();
        assert_eq!(pages(&planner), Some((24, false)));
        // Past the budget the last plan stays: 20,000 pages every 15 minutes are
        // 1,333 requests a minute, over the 300 of the budget.
        planner.read_pages("voice", 20_000, &telemetry);
        assert_eq!(pages(&planner), Some((24, false)));
        // A set whose config changed starts again at one page.
        let smaller_pages = Config::from_yaml(
            "voice_quality:\n  - {name: voice, granularity: PT15M, page_size: 25}\n",
            "t.yaml",
        )
        .unwrap();
        planner.replan(&smaller_pages, &telemetry).unwrap();
        assert_eq!(pages(&planner), Some((1, false)));
    }

    /// Pages learned from polls never refuse a reload of a config that fits at its
    /// start-up price: the sets are priced at one page again.
    #[test]
    fn learned_voice_pages_do_not_refuse_a_reload() {
        let telemetry = Telemetry::new(60);
        let config = Config::from_yaml(
            "voice_quality:\n  - {name: voice, granularity: PT15M}\n",
            "t.yaml",
        )
        .unwrap();
        let planner = Planner::new(&config, Duration::from_secs(600), 60, &telemetry).unwrap();
        // 900 requests a poll, 60 a minute: the budget whole. A plan made with it does not
        // fit, so the planner keeps the last one; force it in to test the reload.
        planner
            .state()
            .plan
            .counts
            .read_pages
            .insert("voice".into(), 1_200);
        planner.replan(&config, &telemetry).unwrap();
        let plan = planner.current();
        assert_eq!(plan.entries[0].requests_per_poll, 1);
        assert!(plan.counts.read_pages.is_empty());
    }
}
